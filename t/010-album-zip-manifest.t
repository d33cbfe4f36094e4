#!/usr/bin/perl
# album_zip: a manifest response becomes the zip.  Line and JSON
# manifests, from a static file marked with add_header and from a proxied
# app marked with X-Archive-Files; names (Unicode, spaces, "+", "%",
# duplicates, traversal, drive letters, absolute paths, directories); CRCs
# known or not, sizes known or not; determinism over time; the ETag,
# Last-Modified, Content-Disposition and HEAD; client headers never
# reaching the manifest upstream nor the members.  Every archive is read
# by unzip, Python's zipfile, bsdtar and Edge::Zip's parser.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;
use Time::HiRes ();

use Edge::Nginx qw(parse_response);
use Edge::Zip qw(check_zip crc32_hex manifest_line dos_datetime);

my $t = Edge::Nginx->new(modules => ['album_zip']);
my $json = JSON::PP->new->canonical;

# ---- fixtures

srand 10;
sub noise { join '', map { chr int rand 256 } 1 .. $_[0] }

my %file = (
    'a.jpg'              => noise(70_000),
    'b.jpg'              => noise(30_001),
    "\xc3\x89t\xc3\xa9/\xc3\xa7.jpg" => noise(4_000),    # Été/ç.jpg
    'with space.jpg'     => noise(1_234),
    'a+b.jpg'            => noise(2_345),
    '100%.jpg'           => noise(3_456),
    'empty.jpg'          => '',
);
# the files' own time: what a dynamic archive takes from Last-Modified
my $T = 1678000000;    # 2023-03-05T07:06:40Z
for (keys %file) {
    my $path = $t->write_file("html/media/$_", $file{$_});
    utime $T, $T, $path or die "utime $path: $!";
}

# what the manifests say, in order: [uri, name in the manifest, file]
my @lines = (
    ['/media/%C3%89t%C3%A9/%C3%A7.jpg', "\xc3\x89t\xc3\xa9/\xc3\xa7.jpg",
        "\xc3\x89t\xc3\xa9/\xc3\xa7.jpg"],
    ['/media/with%20space.jpg', 'with space.jpg', 'with space.jpg'],
    ['/media/a+b.jpg', 'a+b.jpg', 'a+b.jpg'],
    ['/media/100%25.jpg', '100%.jpg', '100%.jpg'],
    ['/media/a.jpg', 'dup.jpg', 'a.jpg'],
    ['/media/b.jpg', 'dup.jpg', 'b.jpg'],
    ['/media/a.jpg', '../../etc/passwd', 'a.jpg'],
    ['/media/b.jpg', 'C:\\x.jpg', 'b.jpg'],
    ['/media/a.jpg', '/abs.jpg', 'a.jpg'],
    ['/media/empty.jpg', 'empty.jpg', 'empty.jpg'],
    ['@directory', 'Empty', undef],
);

# the names in the zip, and their bytes
my @expect = (
    "\xc3\x89t\xc3\xa9/\xc3\xa7.jpg" => $file{"\xc3\x89t\xc3\xa9/\xc3\xa7.jpg"},
    'with space.jpg' => $file{'with space.jpg'},
    'a+b.jpg'        => $file{'a+b.jpg'},
    '100%.jpg'       => $file{'100%.jpg'},
    'dup.jpg'        => $file{'a.jpg'},
    'dup (2).jpg'    => $file{'b.jpg'},
    'etc/passwd'     => $file{'a.jpg'},
    'x.jpg'          => $file{'b.jpg'},
    'abs.jpg'        => $file{'a.jpg'},
    'empty.jpg'      => '',
    'Empty/'         => '',
);

# crc: 1 known, 0 '-'; size: 1 known, 0 '-'
sub lines_manifest {
    my (%o) = @_;
    my $text = '';
    for my $l (@lines) {
        my ($uri, $name, $f) = @$l;
        if (!defined $f) {
            $text .= "- 0 $uri $name\n";
            next;
        }
        $text .= manifest_line($o{crc} ? crc32_hex($file{$f}) : '-',
            $o{size} ? length $file{$f} : '-', $uri, $name);
    }
    return $text;
}

$t->write_file('html/m/full.txt', lines_manifest(crc => 1, size => 1));
$t->write_file('html/m/nocrc.txt', lines_manifest(crc => 0, size => 1));
$t->write_file('html/m/nosize.txt', lines_manifest(crc => 1, size => 0));
$t->write_file('html/m/none.txt', lines_manifest(crc => 0, size => 0));
$t->write_file('html/m/notzip.txt', "just a text file\n");

# only directories (one of them twice), and a file inside one of them
$t->write_file('html/m/dirs.txt', "- 0 \@directory Empty\n"
    . "- - \@directory Photos/2024\n" . "- 0 \@directory Empty\n");
$t->write_file('html/m/dirs-file.txt', "- 0 \@directory Photos\n"
    . manifest_line(crc32_hex($file{'a.jpg'}), length $file{'a.jpg'},
        '/media/a.jpg', 'Photos/a.jpg')
    . "- 0 \@directory Photos/\n");

# a JSON manifest with a download name and member times
my $may1 = 1714564800;    # 2024-05-01T12:00:00Z
my $jdoc = {
    name => "\xc3\x89t\xc3\xa9 2024.zip",
    files => [
        { url => '/media/a.jpg', name => 'Day 1/a.jpg',
          size => length $file{'a.jpg'}, crc32 => crc32_hex($file{'a.jpg'}),
          mtime => '2024-05-01T12:00:00Z' },
        { url => '/media/b.jpg', name => 'Day 2/b.jpg',
          size => length $file{'b.jpg'}, crc32 => crc32_hex($file{'b.jpg'}),
          mtime => '2024-05-02T08:30:10Z' },
        { name => 'Day 3/' },
    ],
};
my $JSON_TEXT = JSON::PP->new->canonical->encode($jdoc);   # UTF-8 bytes
$t->write_file('html/j/album.json', $JSON_TEXT);

# the app: manifests with X-Archive-Files, and members behind the proxy
my $app_manifest = join '',
    manifest_line(crc32_hex($file{'a.jpg'}), length $file{'a.jpg'},
        '/files/a.jpg?v=2&s=%2F', 'a.jpg'),
    manifest_line('-', '-', '/files/b.jpg', 'b.jpg');
my $app = $t->backend(sub {
    my ($req) = @_;
    my $p = $req->{path};
    return [200, { 'X-Archive-Files' => 'zip',
        'Content-Type' => 'text/plain', ETag => '"manifest-etag"',
        'Last-Modified' => 'Mon, 01 Jan 2024 00:00:00 GMT' },
        $app_manifest] if $p eq '/app/album';
    return [200, { 'X-Archive-Files' => 'zip',
        'Content-Type' => 'application/json; charset=utf-8' },
        $JSON_TEXT] if $p eq '/app/json';
    # a manifest whose body comes in pieces
    return [200, { 'X-Album-Zip' => 'zip' },
        [map { "$_\n" } split /\n/, $app_manifest]]
        if $p eq '/app/chunked';
    return [200, { 'Content-Type' => 'text/plain' }, "plain page\n"]
        if $p eq '/app/plain';
    return [200, { 'Last-Modified' => 'Wed, 01 May 2024 12:00:00 GMT' },
        $file{$1}] if $p =~ m{^/files/(a\.jpg|b\.jpg)\z};
    return [404, {}, 'not found'];
});

$t->run(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        sendfile on;

        location /media/ { }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
        }

        location /j/ {
            album_zip on;
            add_header X-Album-Zip zip;
        }

        location /app/ {
            album_zip on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /files/ {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /off/ {
            alias %%PREFIX%%/html/m/;
            add_header X-Album-Zip zip;
        }
    }
EOF

sub dl {
    my ($path, %h) = @_;
    return $t->get($path, { headers => \%h, timeout => 30 });
}

sub entry {
    my ($name) = @_;
    my ($e) = grep { $_->{name} eq $name } @{ $Edge::Zip::LAST->{entries} };
    return $e // {};
}

# ---- a line manifest from a static file, every CRC and size known

my $r = dl('/m/full.txt');
is $r->{status}, 200, 'lines, static: 200';
is $r->{headers}{'content-type'}, 'application/zip', 'application/zip';
is $r->{headers}{'content-disposition'},
    q{attachment; filename="album.zip"; filename*=UTF-8''album.zip},
    'Content-Disposition: album.zip by default';
is $r->{headers}{'accept-ranges'}, 'bytes', 'Accept-Ranges: bytes';
ok defined $r->{headers}{'content-length'}, 'Content-Length';
ok !exists $r->{headers}{'transfer-encoding'}, 'not chunked';
ok !exists $r->{headers}{'x-album-zip'}, 'no X-Album-Zip header leaks';
like $r->{headers}{etag} // '', qr/^"[0-9a-f]{32}"\z/,
    'a strong ETag: every CRC and size known';
ok !exists $r->{headers}{'last-modified'},
    'no Last-Modified: the manifest gives no times';
check_zip($t, $r->{content}, \@expect, label => 'lines, CRCs known',
    response => $r, descriptor => 0, zip64 => 0);
my $full = $r->{content};
my $full_etag = $r->{headers}{etag};

# the UTF-8 flag: set for the non-ASCII name only
is entry("\xc3\x89t\xc3\xa9/\xc3\xa7.jpg")->{flags} & 0x800, 0x800,
    'UTF-8 flag on the non-ASCII name';
is entry('with space.jpg')->{flags} & 0x800, 0, '... not on ASCII names';
is entry('Empty/')->{eattr} >> 16, 040755, 'directory entry: a directory';
is entry('a+b.jpg')->{eattr} >> 16, 0100644, 'file entry: a regular file';
is_deeply [entry('dup.jpg')->{date}, entry('dup.jpg')->{time}],
    [dos_datetime(0)], 'no time in the manifest: the DOS epoch, not now';

# ETag: the archive's, not the static manifest's
my $static = $t->get('/off/full.txt');
is $static->{status}, 200, 'the manifest itself, where album_zip is off';
is $static->{content}, lines_manifest(crc => 1, size => 1),
    '... is the manifest';
isnt $full_etag, $static->{headers}{etag}, 'ETag is not the manifest\'s';

# HEAD: the same headers, no body
my $h = $t->head('/m/full.txt');
is $h->{status}, 200, 'HEAD: 200';
is $h->{headers}{'content-length'}, length $full,
    'HEAD: the same Content-Length';
is $h->{headers}{etag}, $full_etag, 'HEAD: the same ETag';
is $h->{headers}{'content-type'}, 'application/zip', 'HEAD: application/zip';
my $raw = $t->raw("HEAD /m/full.txt HTTP/1.1\r\nHost: x\r\n"
    . "Connection: close\r\n\r\n");
my $i = index $raw, "\r\n\r\n";
ok $i > 0 && length($raw) == $i + 4, 'HEAD: no body bytes at all'
    or diag length($raw) - $i - 4, ' bytes after the headers';
ok !$t->raw_timed_out, 'HEAD: the connection ends';

# ---- the same album: byte-identical, ETag stable

$r = dl('/m/full.txt');
is $r->{content}, $full, 'twice: byte-identical';
is $r->{headers}{etag}, $full_etag, 'twice: the same ETag';

# ---- CRCs unknown: data descriptors; sizes known: Content-Length

$r = dl('/m/nocrc.txt');
is $r->{status}, 200, 'no CRCs: 200';
ok defined $r->{headers}{'content-length'},
    'no CRCs, sizes known: Content-Length';
ok !exists $r->{headers}{'accept-ranges'}, 'no CRCs: no Accept-Ranges';
check_zip($t, $r->{content}, \@expect, label => 'lines, no CRCs',
    response => $r, descriptor => 1);
isnt $r->{headers}{etag}, $full_etag,
    'no CRCs: another archive, another ETag';
like $r->{headers}{etag}, qr{^W/"[0-9a-f]{32}"\z},
    'no CRCs: a weak ETag (the bytes depend on the data)';

# ---- sizes unknown: chunked, the size learnt from the members

$r = dl('/m/nosize.txt');
is $r->{status}, 200, 'no sizes: 200';
ok !exists $r->{headers}{'content-length'}, 'no sizes: no Content-Length';
is $r->{headers}{'transfer-encoding'}, 'chunked', 'no sizes: chunked';
ok !exists $r->{headers}{'accept-ranges'}, 'no sizes: no Accept-Ranges';
like $r->{headers}{etag}, qr{^W/"[0-9a-f]{32}"\z}, 'no sizes: a weak ETag';
check_zip($t, $r->{content}, \@expect, label => 'lines, no sizes',
    mtimes => { map { $_ => $T } 'dup.jpg', 'with space.jpg', 'x.jpg' });
my $nosize = $r->{content};

$r = dl('/m/none.txt');
is $r->{status}, 200, 'no CRCs, no sizes: 200';
check_zip($t, $r->{content}, \@expect, label => 'lines, no CRCs, no sizes',
    descriptor => 1);
my $none = $r->{content};

# ---- directories only; a directory repeated

$r = dl('/m/dirs.txt');
is $r->{status}, 200, 'only directories: 200';
check_zip($t, $r->{content}, ['Empty/' => '', 'Photos/2024/' => ''],
    label => 'only directories, one repeated', response => $r);
$r = dl('/m/dirs.txt', Range => 'bytes=10-20');
is $r->{status}, 206, 'only directories: a range of it: 206';
$r = dl('/m/dirs-file.txt');
check_zip($t, $r->{content}, ['Photos/' => '', 'Photos/a.jpg' =>
    $file{'a.jpg'}], label => 'a directory and its file', response => $r);

# ---- JSON: the download name, member times, Last-Modified

$r = dl('/j/album.json');
is $r->{status}, 200, 'JSON, static: 200';
is $r->{headers}{'content-disposition'},
    q{attachment; filename="_t_ 2024.zip"; }
    . q{filename*=UTF-8''%C3%89t%C3%A9%202024.zip},
    'JSON name: Content-Disposition, ASCII fallback and UTF-8';
is $r->{headers}{'last-modified'}, 'Thu, 02 May 2024 08:30:10 GMT',
    'Last-Modified: the newest member';
check_zip($t, $r->{content}, ['Day 1/a.jpg' => $file{'a.jpg'},
    'Day 2/b.jpg' => $file{'b.jpg'}, 'Day 3/' => ''],
    label => 'JSON', response => $r, descriptor => 0,
    mtimes => { 'Day 1/a.jpg' => $may1, 'Day 2/b.jpg' => 1714638610 });
my $jzip = $r->{content};
my $jetag = $r->{headers}{etag};

# ---- a proxied app: X-Archive-Files, the client's headers held back

my %client = (
    Range => 'bytes=0-9', 'If-Range' => '"x"',
    'Accept-Encoding' => 'gzip, br', 'If-None-Match' => '"y"',
    'If-Modified-Since' => 'Mon, 01 Jan 2024 00:00:00 GMT',
    'If-Match' => '*', 'If-Unmodified-Since' => 'Mon, 01 Jan 2024 00:00:00 GMT',
    'X-Keep' => 'kept',
);
$r = dl('/app/album', %client);
is $r->{status}, 200, 'app: 200 (no partial answer to a Range of a '
    . 'dynamic archive)';
ok !exists $r->{headers}{'x-archive-files'},
    'app: no X-Archive-Files header leaks';
isnt $r->{headers}{etag}, '"manifest-etag"', 'app: not the manifest\'s ETag';
ok !exists $r->{headers}{'content-encoding'}, 'app: not encoded';
check_zip($t, $r->{content}, ['a.jpg' => $file{'a.jpg'},
    'b.jpg' => $file{'b.jpg'}], label => 'app, lines');

my @reqs = $t->backend_requests($app);
is scalar(grep { $_->{path} eq '/app/album' } @reqs), 1,
    'app: the manifest was fetched once';
is scalar(grep { $_->{path} =~ m{^/files/} } @reqs), 2,
    'app: each member once';
my @leaks;
for my $q (@reqs) {
    for my $k (qw(range if-range accept-encoding if-none-match
        if-modified-since if-match if-unmodified-since))
    {
        push @leaks, "$q->{path}: $k" if exists $q->{headers}{$k};
    }
}
is_deeply \@leaks, [], 'app: no Range, If-*, Accept-Encoding upstream';
is $reqs[0]{headers}{'x-keep'}, 'kept', 'app: other headers do pass';
is $reqs[0]{method}, 'GET', 'app: GET';
is((grep { $_->{target} eq '/files/a.jpg?v=2&s=%2F' } @reqs), 1,
    'app: a member\'s query string reaches its location as written');

# HEAD through the app: the manifest is fetched with GET
$h = $t->head('/app/album');
is $h->{status}, 200, 'app HEAD: 200';
is $h->{headers}{'content-type'}, 'application/zip', 'app HEAD: a zip';
my @heads = grep { $_->{path} eq '/app/album' } $t->backend_requests($app);
is $heads[-1]{method}, 'GET', 'app HEAD: the manifest fetched with GET';

$r = dl('/app/json');
is $r->{status}, 200, 'app JSON (application/json; charset=utf-8): 200';
is $r->{content}, $jzip, 'app JSON: the same bytes as the static one';
is $r->{headers}{etag}, $jetag, 'app JSON: the same ETag';

$r = dl('/app/chunked');
is $r->{status}, 200, 'app, chunked manifest with X-Album-Zip: 200';
check_zip($t, $r->{content}, ['a.jpg' => $file{'a.jpg'},
    'b.jpg' => $file{'b.jpg'}], label => 'app, chunked manifest');

$r = dl('/app/plain');
is $r->{content}, "plain page\n", 'app: an unmarked response passes';
is $r->{headers}{'content-type'}, 'text/plain', '... untouched';
$r = dl('/app/nothing');
is $r->{status}, 404, 'app: a 404 manifest response stays a 404';
$r = dl('/m/missing.txt');
is $r->{status}, 404, 'static: a missing manifest is a 404';

# ---- one connection: two archives in a row; HTTP/1.0

$raw = $t->raw(["GET /m/full.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /m/nosize.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
    timeout => 10);
my $first = parse_response($raw);
is $first->{status}, 200, 'keep-alive: the first archive';
ok $first->{content} eq $full, 'keep-alive: the first archive\'s bytes';
my $rest = substr $raw, index($raw, "\r\n\r\n") + 4 + length $full;
my $second = parse_response($rest);
is $second->{status}, 200, 'keep-alive: the second archive, same connection';
ok $second->{content} eq $nosize, 'keep-alive: the second archive\'s bytes';

$raw = $t->raw("GET /m/nosize.txt HTTP/1.0\r\nHost: x\r\n\r\n",
    timeout => 10);
my $old = parse_response($raw);
is $old->{status}, 200, 'HTTP/1.0, size unknown: 200';
ok !exists $old->{headers}{'transfer-encoding'}, 'HTTP/1.0: not chunked';
ok $old->{content} eq $nosize && !$t->raw_timed_out,
    'HTTP/1.0: the archive, ended by closing the connection';

# ---- the same albums two seconds later: byte-identical

Time::HiRes::sleep(2.1);
is dl('/m/full.txt')->{content}, $full, 'later: CRCs known, identical';
is dl('/m/nosize.txt')->{content}, $nosize, 'later: no sizes, identical';
is dl('/m/none.txt')->{content}, $none, 'later: no CRCs, no sizes, '
    . 'identical';
is dl('/j/album.json')->{content}, $jzip, 'later: JSON, identical';

# a member's time changes: a dynamic archive takes it (its tag is weak)
utime $T + 100, $T + 100, $t->prefix . '/html/media/b.jpg' or die;
$r = dl('/m/nosize.txt');
check_zip($t, $r->{content}, \@expect, label => 'touched member',
    mtimes => { 'dup (2).jpg' => $T + 100, 'dup.jpg' => $T });
is dl('/m/full.txt')->{content}, $full,
    'touched member: the manifest\'s archive without times is the same';

# ---- a size changes: the ETag changes

my $b2 = $file{'b.jpg'} . 'more';
$t->write_file('html/media/b.jpg', $b2);
$jdoc->{files}[1]{size} = length $b2;
$jdoc->{files}[1]{crc32} = crc32_hex($b2);
$t->write_file('html/j/album.json', $json->encode($jdoc));
$r = dl('/j/album.json');
is $r->{status}, 200, 'changed album: 200';
isnt $r->{headers}{etag}, $jetag, 'a size changed: another ETag';
check_zip($t, $r->{content}, ['Day 1/a.jpg' => $file{'a.jpg'},
    'Day 2/b.jpg' => $b2, 'Day 3/' => ''], label => 'changed JSON',
    response => $r);
my $etag2 = $r->{headers}{etag};
is dl('/j/album.json')->{headers}{etag}, $etag2, '... and it is stable';

# only a time changes: another ETag as well (the bytes differ)
$jdoc->{files}[0]{mtime} = '2024-05-01T12:00:02Z';
$t->write_file('html/j/album.json', $json->encode($jdoc));
isnt dl('/j/album.json')->{headers}{etag}, $etag2,
    'a time changed: another ETag';

$t->done;
