#!/usr/bin/perl
# album_zip defects of issue 17, one block each: a remote member's origin
# gets none of the client's headers (only album_zip_pass_headers); a
# directory album's ETag changes when a file is replaced by one of the
# same size within the same second, so a stale If-Range gets 200; a
# range deep inside a remote member asks its origin for those bytes only
# and checks the 206 it gets; a member without mtime is 1980-01-01 in the
# DOS and the extended timestamp fields; the manifest response's
# Content-Disposition names the archive; a file named as a folder
# ("Day1" next to "Day1/a.jpg") is renamed; a local member whose name
# holds "\" or a tab; If-None-Match answered 304 for a manifest archive;
# a client that goes away is logged at info, not as an error.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use Test::More;
use Time::HiRes ();

use Edge::Nginx;
use Edge::Zip qw(check_zip crc32_hex manifest_line parse_zip);

my $t = Edge::Nginx->new(modules => ['album_zip'], log_level => 'info');

srand 1917;
sub noise { join '', map { chr int rand 256 } 1 .. $_[0] }

my $big = noise(3_000_000);
my $small = noise(20_000);

# the origin: Range honoured under /p/, a wrong Content-Range under
# /wrong/, Range ignored under /norange/
sub origin {
    my ($req) = @_;
    my ($dir, $file) = $req->{path} =~ m{^/(\w+)/(.*)$} or return [404];
    my $data = $file eq 'big.bin' ? $big : $file eq 'a.jpg' ? $small
        : return [404, {}, 'no'];
    my $range = $req->{headers}{range};
    if ($range && $dir ne 'norange') {
        my ($a, $b) = $range =~ /^bytes=(\d+)-(\d+)$/ or return [416];
        ($a, $b) = (0, 99_999) if $dir eq 'wrong';
        return [206, { 'Content-Range' => "bytes $a-$b/" . length $data },
            substr($data, $a, $b - $a + 1)];
    }
    return [200, {}, $data];
}
my $origin = $t->backend(\&origin);
my $O = "http://127.0.0.1:$origin";

my %m = (
    'remote' => manifest_line(crc32_hex($small), length $small, "$O/p/a.jpg",
        'a.jpg'),
    'big' => manifest_line(crc32_hex($small), length $small, "$O/p/a.jpg",
        'a.jpg')
        . manifest_line(crc32_hex($big), length $big, "$O/p/big.bin",
            'big.bin'),
    'wrong' => manifest_line(crc32_hex($big), length $big,
        "$O/wrong/big.bin", 'big.bin'),
    'norange' => manifest_line(crc32_hex($big), length $big,
        "$O/norange/big.bin", 'big.bin'),
    'local' => manifest_line(crc32_hex('one'), 3, '/media/one.txt', 'one.txt')
        . manifest_line(crc32_hex('two!'), 4, '/media/two.txt', 'two.txt'),
    'odd' => manifest_line('-', 5, '/media/a%5Cb.txt', 'ab.txt')
        . manifest_line('-', 6, '/media/t%09ab.txt', 'tab.txt'),
);
$t->write_file("html/m/$_.txt", $m{$_}) for keys %m;
$t->write_file('html/media/one.txt', 'one');
$t->write_file('html/media/two.txt', 'two!');
$t->write_file("html/media/a\\b.txt", 'back!');
$t->write_file("html/media/t\tab.txt", 'tabbed');

$t->run(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        album_zip_crc_cache crcs:1m;

        location /media/ { }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_remote /_remote;
        }

        location /pass/ {
            alias %%PREFIX%%/html/m/;
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_remote /_remote;
            album_zip_pass_headers Authorization X-Trace;
        }

        location /named/ {
            alias %%PREFIX%%/html/m/;
            album_zip on;
            add_header X-Album-Zip zip;
            add_header Content-Disposition
                'attachment; filename="Summer 2024.zip"';
        }

        location /_remote {
            internal;
            proxy_pass $album_zip_url;
            proxy_set_header Accept-Encoding "";
        }

        location /albums/ {
            album_zip_directory on;
        }
    }
EOF

sub get {
    my ($path, %h) = @_;
    return $t->get($path, { headers => \%h, timeout => 30 });
}

# ---- 1. the client's headers never reach a remote member's origin

my %client = (Cookie => 'session=secret', Authorization => 'Bearer tok',
    'User-Agent' => 'client-agent/1.0', 'X-Trace' => 'abc',
    Referer => 'http://app.example/album');
my $r = get('/m/remote.txt', %client);
is $r->{status}, 200, 'remote: 200';
check_zip($t, $r->{content}, ['a.jpg' => $small], label => 'remote',
    response => $r);
my @req = $t->backend_requests($origin);
is scalar @req, 1, 'remote: one origin request';
my $h = $req[-1]{headers};
ok !exists $h->{$_}, "remote: no $_ at the origin"
    for qw(cookie authorization user-agent x-trace referer);

$r = get('/pass/remote.txt', %client);
is $r->{status}, 200, 'pass: 200';
@req = $t->backend_requests($origin);
$h = $req[-1]{headers};
is $h->{authorization}, 'Bearer tok', 'pass: Authorization passed';
is $h->{'x-trace'}, 'abc', 'pass: X-Trace passed';
ok !exists $h->{$_}, "pass: still no $_" for qw(cookie user-agent referer);

# ---- 2. a directory album's ETag pins inode and nanoseconds

my $sec = time - 100;
$t->write_file('html/albums/d2/a.bin', noise(10_000));
$t->write_file('html/albums/d2/b.bin', noise(5_000));
Time::HiRes::utime($sec + 0.25, $sec + 0.25,
    $t->prefix . '/html/albums/d2/a.bin') or die;

$r = get('/albums/d2.zip');
is $r->{status}, 200, 'etag: first download 200';
my $etag1 = $r->{headers}{etag};
like $etag1, qr/^"[0-9a-f]{32}"$/, 'etag: strong';

# the same size, the same second: a new inode and new nanoseconds
my $new = noise(10_000);
$t->write_file('html/albums/d2/.a.tmp', $new);
rename $t->prefix . '/html/albums/d2/.a.tmp',
    $t->prefix . '/html/albums/d2/a.bin' or die;
Time::HiRes::utime($sec + 0.75, $sec + 0.75,
    $t->prefix . '/html/albums/d2/a.bin') or die;

$r = get('/albums/d2.zip');
is $r->{status}, 200, 'etag: after the change 200';
my $etag2 = $r->{headers}{etag};
isnt $etag2, $etag1, 'etag: another ETag for another file';
my $full2 = $r->{content};

$r = get('/albums/d2.zip', Range => 'bytes=100-', 'If-Range' => $etag1);
is $r->{status}, 200, 'etag: a stale If-Range gets the whole archive';
is $r->{content}, $full2, 'etag: the new archive';

# the same inode, rewritten in place, same second: new nanoseconds only
open my $fh, '+<:raw', $t->prefix . '/html/albums/d2/a.bin' or die;
print {$fh} 'X';
close $fh;
Time::HiRes::utime($sec + 0.5, $sec + 0.5,
    $t->prefix . '/html/albums/d2/a.bin') or die;
$r = get('/albums/d2.zip', Range => 'bytes=100-', 'If-Range' => $etag2);
is $r->{status}, 200, 'etag: in place, same second: 200';
isnt $r->{headers}{etag}, $etag2, 'etag: in place: another ETag';

# ---- 3. a range deep inside a remote member: only those bytes

$r = get('/m/big.txt');
is $r->{status}, 200, 'range: full 200';
my $full = $r->{content};
my $z = parse_zip($full);
my $data = $z->{entries}[1]{data_offset};
ok $data, 'range: big.bin located';

# the origin's requests since the last call, by path
my $seen = scalar $t->backend_requests($origin);
sub since {
    my @all = $t->backend_requests($origin);
    my @new = @all[$seen .. $#all];
    $seen = @all;
    return { map { ($_->{path} => $_) } @new }, scalar @new;
}
my ($got, $n);

my ($from, $to) = ($data + 2_000_000, $data + 2_099_999);
$r = get('/m/big.txt', Range => "bytes=$from-$to");
is $r->{status}, 206, 'range: 206';
is $r->{content}, substr($full, $from, 100_000), 'range: the right bytes';
($got, $n) = since();
is $n, 1, 'range: one member fetched';
is $got->{'/p/big.bin'}{headers}{range}, 'bytes=2000000-2099999',
    'range: the origin asked for those bytes only';

# a range over the end of a.jpg and the start of big.bin
($from, $to) = ($data - 500, $data + 9);
$r = get('/m/big.txt', Range => "bytes=$from-$to");
is $r->{status}, 206, 'range: across two members 206';
is $r->{content}, substr($full, $from, $to - $from + 1),
    'range: across two members, the right bytes';
($got, $n) = since();
is $got->{'/p/big.bin'}{headers}{range}, 'bytes=0-9', 'range: big.bin from 0';
like $got->{'/p/a.jpg'}{headers}{range}, qr/^bytes=\d+-19999$/,
    'range: a.jpg to its end';

# an origin answering another range: refused
$r = $t->get('/m/wrong.txt', { headers => { Range => 'bytes=2000000-2000099' },
    timeout => 30 });
is $r->{status}, 502, 'range: another Content-Range is a 502';
like $t->error_log, qr/origin answered another range/,
    'range: logged';

# an origin ignoring Range: the bytes are still right
$r = get('/m/norange.txt', Range => 'bytes=2000000-2000099');
is $r->{status}, 206, 'range: Range ignored, 206';
my $zn = parse_zip(get('/m/norange.txt')->{content});
my $dn = $zn->{entries}[0]{data_offset};
is $r->{content}, substr($big, 2_000_000 - $dn, 100),
    'range: Range ignored, the right bytes';

# ---- 4. no mtime: 1980-01-01 in both fields

$r = get('/m/local.txt');
$z = parse_zip($r->{content});
my $e = $z->{entries}[0];
is sprintf('%04x %04x', $e->{local}{date}, $e->{local}{time}), '0021 0000',
    'no mtime: DOS date 1980-01-01 00:00';
my ($flags, $ut) = unpack 'CV', $e->{local}{extra}{0x5455} // '';
is $ut, 315532800, 'no mtime: extended timestamp 1980-01-01 too';

# ---- 5. the manifest response's Content-Disposition names the archive

$r = get('/named/local.txt');
is $r->{status}, 200, 'named: 200';
like $r->{headers}{'content-disposition'}, qr/filename="Summer 2024\.zip"/,
    'named: the app\'s file name';
$r = get('/m/local.txt');
like $r->{headers}{'content-disposition'}, qr/filename="album\.zip"/,
    'named: without one, the default';

# ---- 6. a file named as a folder

# "Day1" the file, "Day1/a.jpg" in a folder of the same name: a folder
# and a file cannot share a name on disk, so the album comes from a
# manifest instead
$t->write_file('html/media/day1-file', 'a file');
$t->write_file('html/media/day1-a', 'photo a');
$t->write_file('html/m/day1.txt',
    manifest_line(crc32_hex('a file'), 6, '/media/day1-file', 'Day1')
    . manifest_line(crc32_hex('photo a'), 7, '/media/day1-a', 'Day1/a.jpg'));
$r = get('/m/day1.txt');
is $r->{status}, 200, 'folder: 200';
check_zip($t, $r->{content}, ['Day1 (2)' => 'a file',
    'Day1/a.jpg' => 'photo a'], label => 'folder', response => $r);

# ---- 7. "\" and a tab in a local member's name; If-None-Match; aborts

$r = get('/m/odd.txt');
is $r->{status}, 200, 'odd names: 200';
check_zip($t, $r->{content}, ['ab.txt' => 'back!', 'tab.txt' => 'tabbed'],
    label => 'odd names', response => $r)
    if $r->{status} == 200;

$r = get('/m/local.txt');
my $etag = $r->{headers}{etag};
like $etag, qr/^"/, 'inm: a strong ETag';
$r = get('/m/local.txt', 'If-None-Match' => $etag);
is $r->{status}, 304, 'inm: 304';
is $r->{content}, '', 'inm: no body';
is $r->{headers}{etag}, $etag, 'inm: the ETag';
$r = get('/m/local.txt', 'If-None-Match' => "\"x\", W/$etag");
is $r->{status}, 304, 'inm: in a list, weak: 304';
$r = get('/m/local.txt', 'If-None-Match' => '"other"');
is $r->{status}, 200, 'inm: another tag: 200';

# a client that reads a little and goes away
$t->write_file("html/albums/big/$_.bin", noise(1_000) x 2_000) for 1 .. 3;
$t->write_file('html/m/bigs.txt', join '', map {
    manifest_line('-', 2_000_000, "/albums/big/$_.bin", "$_.bin") } 1 .. 3);
my @abort = ('/albums/big.zip') x 3;
push @abort, ('/m/big.txt') x 3, ('/m/bigs.txt') x 3;
for my $path (@abort) {
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die;
    print {$s} "GET $path HTTP/1.1\r\nHost: x\r\n\r\n";
    my $buf;
    sysread $s, $buf, 10_000;
    close $s;
}
$t->wait_for(sub { $t->access_log =~ /(?:bigs\.txt.*\n.*){3}/ }, 10);
Time::HiRes::sleep(0.5);
my @errors = grep { /\[error\]/ && !/another range/ && !/odd|wrong/ }
    split /\n/, $t->error_log;
is_deeply \@errors, [], 'abort: no [error] line';
like $t->error_log, qr/\[info\].*album_zip: .*client/,
    'abort: said at info';

$t->done;
