#!/usr/bin/perl
# album_zip_remote: http(s) members are fetched by a subrequest to an
# internal location that proxies to $album_zip_url.  A backend on
# 127.0.0.1 stands in for the CDN.  The members arrive in order and
# intact, mixed with local ones; prefetching overlaps slow members (10
# members of 200 ms each with album_zip_prefetch 2 take well under 2 s);
# the CDN sees no client Range, conditionals or Accept-Encoding; a 404
# there is a 404 before the headers, other statuses a 502; the allow list
# takes URL prefixes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Zip qw(check_zip crc32_hex manifest_line);

my $t = Edge::Nginx->new(modules => ['album_zip']);

srand 15;
sub noise { join '', map { chr int rand 256 } 1 .. $_[0] }

my %cdn = map { ("/p/$_.jpg" => noise(5_000 + $_ * 1_000)) } 1 .. 10;
$cdn{'/ok/a.jpg'} = noise(20_000);
$cdn{'/other/b.jpg'} = noise(10_000);
$cdn{'/a b.jpg'} = noise(3_000);
$cdn{'/big.bin'} = noise(3_000_000);

# the CDN: Content-Length, Last-Modified; /nolength/ without a length
sub cdn_handler {
    my ($req) = @_;
    (my $p = $req->{path}) =~ s/%([0-9A-F]{2})/chr hex $1/ge;
    return [302, { Location => '/p/1.jpg' }, ''] if $p eq '/moved.jpg';
    return [500, {}, 'oops'] if $p eq '/broken.jpg';
    return [200, {}, [$cdn{'/ok/a.jpg'}]] if $p eq '/nolength/a.jpg';
    return [404, {}, 'no such photo'] unless exists $cdn{$p};
    return [200, { 'Last-Modified' => 'Wed, 01 May 2024 12:00:00 GMT',
        'Content-Type' => 'image/jpeg' }, $cdn{$p}];
}
my $fast = $t->backend(\&cdn_handler);
my $slow = $t->backend(\&cdn_handler, delay => 0.2);

my $F = "http://127.0.0.1:$fast";
my $S = "http://127.0.0.1:$slow";

$t->write_file('html/media/local.jpg', 'local bytes');

sub rline {
    my ($base, $path, $name, %o) = @_;
    my $data = $cdn{$path};
    return manifest_line($o{crc} // ($data ? crc32_hex($data) : '-'),
        $o{size} // ($data ? length $data : '-'), "$base$path", $name);
}

my %m = (
    'mixed' => rline($F, '/p/1.jpg', 'one.jpg')
        . manifest_line('-', 11, '/media/local.jpg', 'local.jpg')
        . rline($F, '/p/2.jpg', 'two.jpg', crc => '-', size => '-')
        . rline($F, '/a%20b.jpg', 'a b.jpg')
        . rline($F, '/big.bin', 'big.bin', crc => '-'),
    'slow' => join('', map { rline($S, "/p/$_.jpg", "p$_.jpg") } 1 .. 10),
    'slow-nosize' => join('', map {
        rline($S, "/p/$_.jpg", "p$_.jpg", crc => '-', size => '-') } 1 .. 10),
    'missing' => rline($F, '/nope.jpg', 'nope.jpg', size => 10)
        . rline($F, '/p/1.jpg', 'one.jpg'),
    # the second member answers first: its 200 must not send the headers
    'missing-slow' => rline($S, '/nope.jpg', 'nope.jpg', size => 10)
        . rline($F, '/p/1.jpg', 'one.jpg'),
    'broken' => rline($F, '/broken.jpg', 'broken.jpg', size => 10),
    'moved' => rline($F, '/moved.jpg', 'moved.jpg', size => 10),
    'nolength' => rline($F, '/nolength/a.jpg', 'a.jpg', crc => '-',
        size => '-'),
    'nolength-sized' => manifest_line('-', length $cdn{'/ok/a.jpg'},
        "$F/nolength/a.jpg", 'a.jpg'),
    'allowed' => rline($F, '/ok/a.jpg', 'a.jpg'),
    'refused' => rline($F, '/ok/a.jpg', 'a.jpg')
        . rline($F, '/other/b.jpg', 'b.jpg'),
    'refused-host' => rline("http://127.0.0.1:$slow", '/ok/a.jpg', 'a.jpg'),
    'query' => manifest_line(crc32_hex($cdn{'/p/3.jpg'}),
        length $cdn{'/p/3.jpg'}, "$F/p/3.jpg?v=2&w=100", 'q.jpg'),
);
$t->write_file("html/m/$_.txt", $m{$_}) for keys %m;
$t->write_file('html/m/remote.json', JSON::PP->new->encode({
    name => 'cdn.zip', files => [{ url => "$F/p/4.jpg", name => 'x/4.jpg',
        size => length $cdn{'/p/4.jpg'}, crc32 => crc32_hex($cdn{'/p/4.jpg'}),
        mtime => '2024-05-01T12:00:00Z' }] }));

$t->run(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;

        location /media/ { }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_remote /_remote;
            album_zip_prefetch 2;
        }

        location /m0/ {
            alias %%PREFIX%%/html/m/;
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_remote /_remote;
            album_zip_prefetch 0;
        }

        location /allow/ {
            alias %%PREFIX%%/html/m/;
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_remote /_remote;
            album_zip_allow $F/ok/;
        }

        location /_remote {
            internal;
            proxy_pass \$album_zip_url;
            proxy_set_header Accept-Encoding "";
        }
    }
EOF

sub get {
    my ($path, %h) = @_;
    return $t->get($path, { headers => \%h, timeout => 30 });
}

# ---- mixed remote and local members

my $r = get('/m/mixed.txt', Range => 'bytes=0-10', 'If-Range' => '"x"',
    'If-None-Match' => '"y"', 'If-Modified-Since' => 'Mon, 01 Jan 2024 '
    . '00:00:00 GMT', 'Accept-Encoding' => 'gzip');
is $r->{status}, 200, 'mixed: 200';
check_zip($t, $r->{content}, ['one.jpg' => $cdn{'/p/1.jpg'},
    'local.jpg' => 'local bytes', 'two.jpg' => $cdn{'/p/2.jpg'},
    'a b.jpg' => $cdn{'/a b.jpg'}, 'big.bin' => $cdn{'/big.bin'}],
    label => 'mixed', response => $r);

my @reqs = $t->backend_requests($fast);
is_deeply [sort map { $_->{target} } @reqs],
    [sort '/p/1.jpg', '/p/2.jpg', '/a%20b.jpg', '/big.bin'],
    'the CDN got each URL once, as written';
is_deeply [grep { $_ } map { my $q = $_; map { exists $q->{headers}{$_}
    ? "$q->{target}: $_" : () } qw(range if-range if-none-match
    if-modified-since accept-encoding) } @reqs], [],
    'no Range, conditionals or Accept-Encoding reach the CDN';
is $reqs[0]{headers}{host}, "127.0.0.1:$fast", 'Host: the URL\'s';
is $reqs[0]{method}, 'GET', 'GET';

$r = get('/m/query.txt');
check_zip($t, $r->{content}, ['q.jpg' => $cdn{'/p/3.jpg'}],
    label => 'a URL with a query', response => $r);
is((grep { $_->{target} eq '/p/3.jpg?v=2&w=100' }
    $t->backend_requests($fast)), 1, 'the query reaches the CDN');

# HEAD: the first member is asked with HEAD for a GET's status, no more
my $n0 = () = $t->backend_requests($fast);
my $h = $t->head('/m/query.txt');
is $h->{status}, 200, 'HEAD: 200';
is $h->{headers}{'content-length'}, length $r->{content},
    'HEAD: the archive\'s Content-Length';
my @new = grep { defined } ($t->backend_requests($fast))[$n0 .. $n0 + 9];
is_deeply [map { "$_->{method} $_->{target}" } @new],
    ['HEAD /p/3.jpg?v=2&w=100'], 'HEAD: the CDN got one HEAD, for the'
    . ' member';

$r = get('/m/remote.json');
is $r->{status}, 200, 'JSON with a remote member: 200';
check_zip($t, $r->{content}, ['x/4.jpg' => $cdn{'/p/4.jpg'}],
    label => 'JSON, remote', response => $r, descriptor => 0,
    mtimes => { 'x/4.jpg' => 1714564800 });

# ---- prefetch: ten members of 200 ms each

my $t0 = time;
$r = get('/m/slow.txt');
my $took = time - $t0;
is $r->{status}, 200, 'slow CDN: 200';
check_zip($t, $r->{content}, [map { ("p$_.jpg" => $cdn{"/p/$_.jpg"}) }
    1 .. 10], label => 'slow CDN', response => $r);
diag sprintf 'ten 200 ms members, album_zip_prefetch 2: %.3f s', $took;

my @slow = grep { $_->{path} =~ m{^/p/} } $t->backend_requests($slow);
my %conns = map { $_->{conn} => 1 } @slow;
cmp_ok scalar(keys %conns), '>', 1, 'prefetch: several connections at once';

$t0 = time;
$r = get('/m0/slow.txt');
my $took0 = time - $t0;
check_zip($t, $r->{content}, [map { ("p$_.jpg" => $cdn{"/p/$_.jpg"}) }
    1 .. 10], label => 'slow CDN, prefetch 0', response => $r);
diag sprintf 'ten 200 ms members, album_zip_prefetch 0: %.3f s', $took0;
cmp_ok $took0, '>=', 1.9, 'prefetch 0: one after the other (>= 2 s)';

# relative to the serial run, so a loaded machine slows both alike: three
# members in flight take ~0.4 of it
cmp_ok $took, '<', 0.7 * $took0,
    'prefetch 2: well under the serial time (< 0.7 x prefetch 0)';

# sizes unknown: the layout needs each offset, one member at a time
$t0 = time;
$r = get('/m/slow-nosize.txt');
my $took_dyn = time - $t0;
is $r->{status}, 200, 'slow CDN, sizes unknown: 200';
check_zip($t, $r->{content}, [map { ("p$_.jpg" => $cdn{"/p/$_.jpg"}) }
    1 .. 10], label => 'slow CDN, sizes unknown', descriptor => 1);
diag sprintf 'ten 200 ms members, sizes unknown: %.3f s', $took_dyn;

# ---- failures

$r = get('/m/missing.txt');
is $r->{status}, 404, 'remote 404: 404';
is $r->{headers}{'content-type'}, 'text/plain', 'remote 404: text/plain';
like $r->{content}, qr/\Q$F\E\/nope\.jpg/, 'remote 404: names the URL';
{
    my @lines = grep { /\[error\].*album_zip: .*\Q$F\E\/nope\.jpg/ }
        split /\n/, $t->error_log;
    is scalar @lines, 1, 'remote 404: logged once'
        or diag join "\n", @lines;
}
is $t->head('/m/missing.txt')->{status}, 404,
    'remote 404, HEAD: 404, as GET';

$r = get('/m/missing-slow.txt');
is $r->{status}, 404, 'remote 404 answering after the second member: 404'
    . ' (the headers wait for the first member)';
like $r->{content} =~ s/[^ -~\n]/./gr, qr/\Q$S\E\/nope\.jpg/,
    'remote 404 answering after the second member: names the URL';

$r = get('/m/broken.txt');
is $r->{status}, 502, 'remote 500: 502';
like $r->{content}, qr/broken\.jpg/, 'remote 500: names the URL';

$r = get('/m/moved.txt');
is $r->{status}, 502, 'remote redirect: 502 (redirects are not followed)';

$r = get('/m/nolength-sized.txt');
is $r->{status}, 200, 'no Content-Length, size in the manifest: 200';
check_zip($t, $r->{content}, ['a.jpg' => $cdn{'/ok/a.jpg'}],
    label => 'no Content-Length, size known', response => $r);

$r = get('/m/nolength.txt');
is $r->{status}, 502, 'no Content-Length, no size: 502';
like $r->{content}, qr/size unknown/, '... says why';

# ---- the allow list with a URL prefix

$r = get('/allow/allowed.txt');
is $r->{status}, 200, 'allow: a URL under the prefix: 200';
check_zip($t, $r->{content}, ['a.jpg' => $cdn{'/ok/a.jpg'}],
    label => 'allowed URL', response => $r);

$r = get('/allow/refused.txt');
is $r->{status}, 403, 'allow: a URL outside the prefix: 403';
like $r->{content}, qr/other\/b\.jpg/, 'allow: names the URL';
$r = get('/allow/refused-host.txt');
is $r->{status}, 403, 'allow: another host: 403';
my $n = grep { $_->{path} eq '/other/b.jpg' } $t->backend_requests($fast);
is $n, 0, 'allow: the refused URL was never fetched';

$t->done;
