#!/usr/bin/perl
# album_zip faults.  Before the headers: a missing first member is a 404,
# another failing member a 502, each with a text/plain message naming
# the member; a member outside album_zip_allow is a 403; an internal
# location is out of reach without an allow list; the limits are 413s;
# an invalid manifest is a 502 with the parser's message.  After the
# headers (album_zip_missing abort): the connection is closed short of
# Content-Length (or of the last chunk), also when a member is longer or
# shorter than declared.  With album_zip_missing skip the failed members
# are left out and MISSING.txt lists them.  Every failure is logged once,
# at error level, naming the member.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Edge::Nginx qw(parse_response);
use Edge::Zip qw(check_zip crc32_hex manifest_line);

my $t = Edge::Nginx->new(modules => ['album_zip']);

srand 13;
sub noise { join '', map { chr int rand 256 } 1 .. $_[0] }

my %file = (
    'a.jpg' => noise(40_000),
    'b.jpg' => noise(30_000),
    'c.jpg' => noise(20_000),
);
$t->write_file("html/media/$_", $file{$_}) for keys %file;
$t->write_file('html/internal/x.jpg', 'internal bytes');
$t->write_file('html/secret/s.jpg', 'secret bytes');

sub line {
    my ($uri, $name, %o) = @_;
    my ($f) = $uri =~ m{([^/]+)\z};
    my $data = $file{$f} // '';
    return manifest_line($o{crc} // crc32_hex($data),
        $o{size} // length $data, $uri, $name);
}

my %m = (
    'missing-first' => line('/media/nope.jpg', 'nope.jpg', size => 10,
        crc => '-') . line('/media/a.jpg', 'a.jpg'),
    'missing-second' => line('/media/a.jpg', 'a.jpg')
        . line('/media/nope.jpg', 'nope.jpg', size => 10, crc => '-')
        . line('/media/b.jpg', 'b.jpg'),
    'missing-second-chunked' => line('/media/a.jpg', 'a.jpg', size => '-')
        . line('/media/nope.jpg', 'nope.jpg', size => '-', crc => '-')
        . line('/media/b.jpg', 'b.jpg'),
    'missing-two' => line('/media/a.jpg', 'a.jpg')
        . line('/media/nope.jpg', 'nope.jpg', size => 10, crc => '-')
        . line('/media/b.jpg', 'b.jpg')
        . line('/files/500.jpg', 'err.jpg', size => 10, crc => '-')
        . line('/media/c.jpg', 'c.jpg'),
    'all-missing' => line('/media/nope.jpg', 'nope.jpg', size => 1,
        crc => '-') . line('/media/nope2.jpg', 'nope2.jpg', size => 1,
        crc => '-'),
    'error-first' => line('/files/500.jpg', 'err.jpg', size => 10,
        crc => '-') . line('/media/a.jpg', 'a.jpg'),
    'too-big-first' => line('/media/a.jpg', 'a.jpg',
        size => length($file{'a.jpg'}) + 1),
    'too-small-first' => line('/media/a.jpg', 'a.jpg',
        size => length($file{'a.jpg'}) - 1),
    'too-big-second' => line('/media/a.jpg', 'a.jpg')
        . line('/media/b.jpg', 'b.jpg', size => length($file{'b.jpg'}) + 1),
    'longer-second' => line('/media/a.jpg', 'a.jpg')
        . line('/files/long.jpg', 'long.jpg', size => 1000, crc => '-'),
    'shorter-second' => line('/media/a.jpg', 'a.jpg')
        . line('/files/short.jpg', 'short.jpg', size => 1000, crc => '-'),
    'outside' => line('/media/a.jpg', 'a.jpg')
        . line('/secret/s.jpg', 's.jpg', size => 12, crc => '-'),
    'internal' => line('/internal/x.jpg', 'x.jpg', size => 14, crc => '-'),
    'remote' => manifest_line('-', '-', 'https://cdn.example.com/a.jpg',
        'a.jpg'),
    'four' => join('', map { line("/media/$_", $_) } qw(a.jpg b.jpg c.jpg))
        . line('/media/a.jpg', 'again.jpg'),
    'big' => line('/media/a.jpg', 'a.jpg'),
    'small' => line('/media/c.jpg', 'c.jpg'),
    'two' => line('/media/a.jpg', 'a.jpg') . line('/media/b.jpg', 'b.jpg'),
    'long-manifest' => line('/media/a.jpg', 'a.jpg') x 40,
    'bad-size' => "- lots /media/a.jpg a.jpg\n",
    'bad-crc' => "xyz 10 /media/a.jpg a.jpg\n",
    'bad-traversal' => "- 10 /media/../secret/s.jpg s.jpg\n",
    'bad-scheme' => "- 10 ftp://example.com/a.jpg a.jpg\n",
    'empty' => '',
);
$t->write_file("html/m/$_.txt", $m{$_}) for keys %m;
$t->write_file('html/m/bad.json', '{"files": [{"url": "/media/a.jpg"}');
$t->write_file('html/m/nofiles.json', '{"name": "x.zip"}');

# members and manifests from an app
my $app = $t->backend(sub {
    my ($req) = @_;
    my $p = $req->{path};
    return [500, {}, 'broken'] if $p eq '/files/500.jpg';
    return [200, {}, ['x' x 700, 'y' x 800]] if $p eq '/files/long.jpg';
    return [200, {}, ['x' x 300, 'y' x 200]] if $p eq '/files/short.jpg';
    return [200, { 'X-Album-Zip' => 'zip' }, [($m{big}) x 60]]
        if $p eq '/app/big-chunked';
    return [200, { 'X-Album-Zip' => 'zip' }, $m{'long-manifest'}]
        if $p eq '/app/big';
    return [200, { 'X-Album-Zip' => 'zip' }, "not a manifest\n"]
        if $p eq '/app/bad';
    return [404, {}, 'no'];
});

$t->run(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        sendfile on;

        location /media/ { }
        location /secret/ { }
        location /internal/ { internal; }

        location /files/ {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_prefetch 0;
        }

        location /m2/ {
            alias %%PREFIX%%/html/m/;
            album_zip on;
            add_header X-Album-Zip zip;
        }

        location /skip/ {
            alias %%PREFIX%%/html/m/;
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_missing skip;
            album_zip_prefetch 2;
        }

        location /allow/ {
            alias %%PREFIX%%/html/m/;
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_allow /media/ /internal/;
        }

        location /limits/ {
            alias %%PREFIX%%/html/m/;
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_max_files 3;
            album_zip_max_size 35k;
            album_zip_max_manifest_size 1k;
        }

        location /app/ {
            album_zip on;
            album_zip_max_manifest_size 1k;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
EOF

sub get { $t->get($_[0], { timeout => 15 }) }

# module log lines naming $what, at error level (nginx's own "open()
# failed" lines are not ours)
sub logged {
    my ($what) = @_;
    return scalar grep { /\[error\].*album_zip: .*\Q$what\E/ }
        split /\n/, $t->error_log;
}

sub failure {
    my ($path, $status, $member, $reason, $name) = @_;
    my $before = logged($member);
    my $r = get($path);
    is $r->{status}, $status, "$name: $status";
    is $r->{headers}{'content-type'}, 'text/plain', "$name: text/plain";
    ok index($r->{content}, $member) >= 0,
        "$name: the message names the member";
    ok index($r->{content}, $reason) >= 0, "$name: ... and says why"
        or diag substr $r->{content}, 0, 200;
    is logged($member) - $before, 1, "$name: logged once at error level";
    return $r;
}

# raw GET: (response, body bytes after the headers, closed by the server)
sub raw_get {
    my ($path) = @_;
    my $raw = $t->raw("GET $path HTTP/1.1\r\nHost: x\r\nConnection: close"
        . "\r\n\r\n", timeout => 10);
    my $i = index $raw, "\r\n\r\n";
    return (parse_response($raw), $i < 0 ? 0 : length($raw) - $i - 4,
        !$t->raw_timed_out, $raw);
}

sub truncated {
    my ($path, $member, $name) = @_;
    my $before = logged($member);
    my ($r, $got, $closed, $raw) = raw_get($path);
    is $r->{status}, 200, "$name: the headers went out (200)";
    my $cl = $r->{headers}{'content-length'};
    if (defined $cl) {
        cmp_ok $got, '<', $cl, "$name: fewer bytes than Content-Length "
            . "($got < $cl)";
    } else {
        is $r->{headers}{'transfer-encoding'}, 'chunked', "$name: chunked";
        unlike $raw, qr/\r\n0\r\n\r\n\z/, "$name: no last chunk";
    }
    ok $closed, "$name: the connection was closed";
    is logged($member) - $before, 1, "$name: logged once at error level";
    like $t->error_log, qr/album_zip: member \d+ "\Q$member\E" failed: .*, archive aborted/,
        "$name: the log says the archive was aborted";
}

# ---- before the headers

failure('/m/missing-first.txt', 404, '/media/nope.jpg', 'not found',
    'missing first member');
failure('/m2/missing-first.txt', 404, '/media/nope.jpg', 'not found',
    'missing first member, prefetch 2');
failure('/m/error-first.txt', 502, '/files/500.jpg', 'status 500',
    'first member answering 500');
failure('/m/too-big-first.txt', 502, '/media/a.jpg', 'size',
    'first member smaller than declared');
failure('/m/too-small-first.txt', 502, '/media/a.jpg', 'size',
    'first member larger than declared');

# HEAD answers with a GET's status: the first member is asked for its
# headers; no body bytes either way
for my $c (['/m/missing-first.txt', 404, 'missing first member'],
    ['/m/error-first.txt', 502, 'first member answering 500'],
    ['/m/too-big-first.txt', 502, 'first member smaller than declared'],
    ['/m/missing-second.txt', 200, 'missing second member (not asked)'])
{
    my ($path, $status, $what) = @$c;
    my $raw = $t->raw("HEAD $path HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\n\r\n", timeout => 10);
    my $res = parse_response($raw, 1);
    is $res->{status}, $status, "HEAD, $what: $status, as GET";
    my $i = index $raw, "\r\n\r\n";
    ok $i > 0 && length($raw) == $i + 4, "HEAD, $what: no body bytes";
    ok !$t->raw_timed_out, "HEAD, $what: the connection ends";
}

# ---- after the headers: abort

truncated('/m/missing-second.txt', '/media/nope.jpg',
    'missing second member, prefetch 0');
truncated('/m2/missing-second.txt', '/media/nope.jpg',
    'missing second member, prefetch 2');
truncated('/m/missing-second-chunked.txt', '/media/nope.jpg',
    'missing second member, chunked archive');
truncated('/m/too-big-second.txt', '/media/b.jpg',
    'second member smaller than declared');
truncated('/m/longer-second.txt', '/files/long.jpg',
    'second member longer than declared (no Content-Length)');
truncated('/m/shorter-second.txt', '/files/short.jpg',
    'second member shorter than declared (no Content-Length)');
like $t->error_log, qr/"\/files\/long\.jpg" failed: longer than its size/,
    'longer: the reason';
like $t->error_log, qr/"\/files\/short\.jpg" failed: shorter than its size/,
    'shorter: the reason';

# nginx still serves after all these
is get('/media/c.jpg')->{status}, 200, 'nginx serves on';

# ---- skip: MISSING.txt

my $r = get('/skip/missing-two.txt');
is $r->{status}, 200, 'skip: 200';
ok !exists $r->{headers}{'content-length'}, 'skip: no Content-Length';
my $missing = "These files of the album could not be included:\n\n"
    . "nope.jpg: status 404\nerr.jpg: status 500\n";
check_zip($t, $r->{content}, ['a.jpg' => $file{'a.jpg'},
    'b.jpg' => $file{'b.jpg'}, 'c.jpg' => $file{'c.jpg'},
    'MISSING.txt' => $missing], label => 'skip, two missing');
like $t->error_log, qr/album_zip: member 2 "\/media\/nope\.jpg" skipped: not found/,
    'skip: the skipped member is logged';
is scalar(() = $t->error_log =~ /album_zip: member \d+ "[^"]*" skipped/g), 2,
    'skip: once per skipped member (not again for its error page)';

$r = get('/skip/missing-first.txt');
is $r->{status}, 200, 'skip, first missing: 200';
check_zip($t, $r->{content}, ['a.jpg' => $file{'a.jpg'},
    'MISSING.txt' => "These files of the album could not be included:\n\n"
        . "nope.jpg: status 404\n"], label => 'skip, first missing');

# HEAD under skip: a GET would answer 200 (MISSING.txt); no body bytes
for my $path ('/skip/missing-first.txt', '/skip/all-missing.txt') {
    my $raw = $t->raw("HEAD $path HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\n\r\n", timeout => 10);
    is parse_response($raw, 1)->{status}, 200, "HEAD $path: 200, as GET";
    my $i = index $raw, "\r\n\r\n";
    ok $i > 0 && length($raw) == $i + 4, "HEAD $path: no body bytes";
}

$r = get('/skip/all-missing.txt');
is $r->{status}, 200, 'skip, all missing: 200';
check_zip($t, $r->{content}, ['MISSING.txt' => "These files of the album "
    . "could not be included:\n\nnope.jpg: status 404\n"
    . "nope2.jpg: status 404\n"], label => 'skip, all missing');

$r = get('/skip/too-big-second.txt');
check_zip($t, $r->{content}, ['a.jpg' => $file{'a.jpg'},
    'MISSING.txt' => "These files of the album could not be included:\n\n"
        . "b.jpg: size differs from the manifest\n"],
    label => 'skip, a size mismatch up front');

# a member that fails once its bytes are going out cannot be left out
truncated('/skip/shorter-second.txt', '/files/short.jpg',
    'skip, but shorter than declared after its first bytes');

my $skip_big = get('/skip/big.txt');
check_zip($t, $skip_big->{content}, ['a.jpg' => $file{'a.jpg'}],
    label => 'skip, nothing missing: no MISSING.txt');

# ---- the allow list and internal locations

failure('/allow/outside.txt', 403, '/secret/s.jpg',
    'not under an album_zip_allow prefix', 'a member outside the allow list');
$r = get('/m/outside.txt');
is $r->{status}, 200, 'no allow list: any non-internal location';
check_zip($t, $r->{content}, ['a.jpg' => $file{'a.jpg'},
    's.jpg' => 'secret bytes'], label => 'no allow list');

failure('/m/internal.txt', 404, '/internal/x.jpg', 'not found',
    'an internal location without an allow list');
$r = get('/allow/internal.txt');
is $r->{status}, 200, 'an internal location under the allow list: 200';
check_zip($t, $r->{content}, ['x.jpg' => 'internal bytes'],
    label => 'internal, allowed');
is get('/internal/x.jpg')->{status}, 404, 'the internal location stays '
    . 'internal for clients';

$r = get('/m/remote.txt');
is $r->{status}, 403, 'a remote URL without album_zip_remote: 403';
like $r->{content}, qr/remote URL, but no album_zip_remote/, '... says so';

# ---- limits

$r = get('/limits/four.txt');
is $r->{status}, 413, 'more members than album_zip_max_files: 413';
like $r->{content}, qr/3/, '... the message gives the limit';
$r = get('/limits/two.txt');
is $r->{status}, 413, 'album_zip_max_size exceeded: 413';
$r = get('/limits/small.txt');
is $r->{status}, 200, 'within the limits: 200';
$r = get('/limits/long-manifest.txt');
is $r->{status}, 413, 'manifest over album_zip_max_manifest_size '
    . '(Content-Length): 413';
$r = get('/app/big-chunked');
is $r->{status}, 413, 'manifest over album_zip_max_manifest_size '
    . '(chunked): 413';
ok $r->{content} =~ /too large/ && length $r->{content} < 100,
    '... says so';
$r = get('/app/big');
is $r->{status}, 413, 'proxied manifest over the limit: 413';
like $t->error_log, qr/\[error\].*album_zip: manifest .*larger than album_zip_max_manifest_size/,
    'the manifest limit is logged';

# ---- invalid manifests: 502 with the parser's message

for my $case (['bad-size', qr/size/], ['bad-crc', qr/crc32/],
    ['bad-traversal', qr/url/], ['bad-scheme', qr/scheme/],
    ['empty', qr/./], ['bad.json', qr/JSON/], ['nofiles.json', qr/files/])
{
    my ($name, $re) = @$case;
    my $path = $name =~ /\./ ? "/m/$name" : "/m/$name.txt";
    $r = get($path);
    is $r->{status}, 502, "invalid manifest $name: 502";
    like $r->{content}, $re, "invalid manifest $name: the parser's message";
    my $msg = $r->{content};
    chomp $msg;
    like $t->error_log, qr/\[error\].*album_zip: invalid manifest: \Q$msg\E/,
        "invalid manifest $name: logged";
}
$r = get('/app/bad');
is $r->{status}, 502, 'invalid proxied manifest: 502';

$t->done;
