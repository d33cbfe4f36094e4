#!/usr/bin/perl
# album_zip and Range: with every CRC and size known the archive is fixed
# before its first byte, so any single range of it is answered (206 and
# Content-Range), split anywhere (inside a local header, inside member
# data, inside the central directory and the end records), with sendfile
# on and off, and the pieces re-assemble into the full download, also
# later.  Suffix ("-n") and open ("a-") ranges, 416 with "bytes */N",
# several ranges answered with the whole archive, If-Range by ETag and by
# date; only the members a range touches are fetched.  Without CRCs:
# no Accept-Ranges and Range is ignored.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;
use Time::HiRes ();

use Edge::Nginx;
use Edge::Zip qw(check_zip crc32_hex manifest_line parse_zip);

my $t = Edge::Nginx->new(modules => ['album_zip']);

srand 12;
sub noise { join '', map { chr int rand 256 } 1 .. $_[0] }

# ---- fixtures: two big members and 200 small ones

my (@members, %bytes);
sub member {
    my ($name, $data) = @_;
    (my $file = $name) =~ tr{/}{_};
    $t->write_file("html/media/$file", $data);
    $t->write_file("html/remote/$file", $data);
    push @members, [$name, $file];
    $bytes{$name} = $data;
}
member('big1.bin', noise(300_000));
member(sprintf('pics/img%03d.jpg', $_), noise(1 + int rand 3000))
    for 1 .. 100;
member('Été/big2.bin', noise(200_000));
member(sprintf('pics/img%03d.jpg', $_), noise(1 + int rand 3000))
    for 101 .. 200;
member('empty.bin', '');

my @expect = map { $_->[0] => $bytes{ $_->[0] } } @members;

sub esc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

sub manifest {
    my (%o) = @_;
    return join '', map {
        my ($name, $file) = @$_;
        manifest_line($o{crc} ? crc32_hex($bytes{$name}) : '-',
            length $bytes{$name}, $o{base} . esc($file), $name)
    } @members;
}

$t->write_file('html/m/album.txt', manifest(crc => 1, base => '/media/'));
$t->write_file('html/m/nocrc.txt', manifest(crc => 0, base => '/media/'));
$t->write_file('html/p/album.txt', manifest(crc => 1, base => '/files/'));

my $mtime = '2024-06-01T10:00:00Z';
my $lm = 'Sat, 01 Jun 2024 10:00:00 GMT';
$t->write_file('html/j/album.json', JSON::PP->new->canonical->encode({
    files => [map { { url => '/media/' . esc($_->[1]), name => $_->[0],
        size => length $bytes{ $_->[0] },
        crc32 => crc32_hex($bytes{ $_->[0] }), mtime => $mtime } }
        @members[0 .. 9]] }));

# the members behind a proxy, to see which are fetched
my $origin = $t->backend(sub {
    my ($req) = @_;
    (my $file = substr $req->{path}, 7) =~ s/%([0-9A-F]{2})/chr hex $1/ge;
    my $data = $t->read_file("html/remote/$file");
    return defined $data ? [200, {}, $data] : [404, {}, 'no'];
});

$t->run(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        album_zip_buffer_size 4k;

        location /media/ { }

        location /files/ {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
            sendfile on;
        }

        location /nosendfile/ {
            alias %%PREFIX%%/html/m/;
            album_zip on;
            add_header X-Album-Zip zip;
            sendfile off;
            album_zip_prefetch 0;
        }

        location /p/ {
            album_zip on;
            add_header X-Album-Zip zip;
        }

        location /j/ {
            album_zip on;
            add_header X-Album-Zip zip;
        }
    }
EOF

sub get {
    my ($path, %h) = @_;
    return $t->get($path, { headers => \%h, timeout => 30 });
}

# ---- the whole archive

my $r = get('/m/album.txt');
is $r->{status}, 200, 'full: 200';
is $r->{headers}{'accept-ranges'}, 'bytes', 'full: Accept-Ranges: bytes';
check_zip($t, $r->{content}, \@expect, label => 'full', response => $r,
    descriptor => 0);
my $full = $r->{content};
my $N = length $full;
my $etag = $r->{headers}{etag};
my $z = parse_zip($full);

my @e = @{ $z->{entries} };
my $cd = $z->{end}{cd_offset};
my $eocd = $z->{end}{end_offset};

# ---- three pieces, split inside a header, inside data, inside the CD

my @cuts = ($e[101]{offset} + 10,    # inside big2's local header
    $e[101]{data_offset} + 12_345,   # inside big2's data
    $cd + 1_000);                    # inside the central directory
sub piece {
    my ($path, $from, $to, %h) = @_;
    my $r = get($path, Range => "bytes=$from-$to", %h);
    my $len = $to - $from + 1;
    my $ok = $r->{status} == 206
        && ($r->{headers}{'content-range'} // '') eq "bytes $from-$to/$N"
        && ($r->{headers}{'content-length'} // -1) == $len
        && length($r->{content}) == $len
        && $r->{content} eq substr($full, $from, $len);
    diag "range $from-$to of $path: status $r->{status}, "
        . ($r->{headers}{'content-range'} // 'no Content-Range') . ', '
        . length($r->{content}) . ' bytes' . ($r->{status} == 206
            && length($r->{content}) == $len ? ', other bytes' : '')
        unless $ok;
    return ($ok, $r->{content});
}

for my $path ('/m/album.txt', '/nosendfile/album.txt') {
    my @at = (0, @cuts, $N);
    my ($all, $good) = ('', 0);
    for my $k (0 .. $#at - 1) {
        my ($ok, $bytes) = piece($path, $at[$k], $at[$k + 1] - 1);
        $good += $ok;
        $all .= $bytes;
    }
    is $good, 4, "$path: four pieces, each 206 with its bytes";
    ok $all eq $full, "$path: the pieces re-assemble into the archive";
}

# every kind of boundary, +-1, with short and long ranges
my @points;
for my $k (0, 1, 2, 100, 101, 102, $#e) {
    push @points, map { $_ - 1, $_, $_ + 1 } $e[$k]{offset},
        $e[$k]{data_offset}, $e[$k]{data_offset} + $e[$k]{size};
}
push @points, map { $_ - 1, $_, $_ + 1 } $cd, $cd + 4096, $eocd;
@points = grep { $_ >= 0 && $_ < $N } @points;
my ($bad, $n) = (0, 0);
for my $p (@points) {
    for my $len (1, 7, 5000) {
        my $to = $p + $len - 1;
        $to = $N - 1 if $to >= $N;
        my ($ok) = piece($n++ % 2 ? '/m/album.txt' : '/nosendfile/album.txt',
            $p, $to);
        $bad++ unless $ok;
    }
}
is $bad, 0, "$n ranges starting at every kind of boundary +-1";

# later: the same pieces
Time::HiRes::sleep(1.1);
my $all = '';
my @at = (0, @cuts, $N);
for my $k (0 .. $#at - 1) {
    $all .= (piece('/m/album.txt', $at[$k], $at[$k + 1] - 1))[1];
}
ok $all eq $full, 'a second later: the pieces still re-assemble';

# ---- suffix, open, unsatisfiable, several

$r = get('/m/album.txt', Range => 'bytes=-100');
is $r->{status}, 206, '-100: 206';
is $r->{headers}{'content-range'}, sprintf('bytes %d-%d/%d', $N - 100,
    $N - 1, $N), '-100: Content-Range';
ok $r->{content} eq substr($full, -100), '-100: the last 100 bytes';

$r = get('/m/album.txt', Range => 'bytes=-' . ($N + 10));
ok(($r->{status} == 200 || $r->{status} == 206) && $r->{content} eq $full,
    'a suffix longer than the archive: all of it');

$r = get('/m/album.txt', Range => 'bytes=' . ($N - 50) . '-');
is $r->{status}, 206, 'a-: 206';
is $r->{headers}{'content-range'}, sprintf('bytes %d-%d/%d', $N - 50,
    $N - 1, $N), 'a-: Content-Range';
ok $r->{content} eq substr($full, -50), 'a-: the bytes';

$r = get('/m/album.txt', Range => 'bytes=' . ($cd + 10) . '-' . ($N + 500));
is $r->{status}, 206, 'a-b past the end: 206';
ok $r->{content} eq substr($full, $cd + 10), 'a-b past the end: to the end';

for my $range ("bytes=$N-", "bytes=$N-" . ($N + 5), 'bytes=-0') {
    $r = get('/m/album.txt', Range => $range);
    is $r->{status}, 416, "$range: 416";
    is $r->{headers}{'content-range'}, "bytes */$N",
        "$range: Content-Range: bytes */$N";
}

for my $range ('bytes=0-1,5-6', 'bytes=0-1, -3', 'bytes=abc', 'bytes=5-2',
    'pages=1-2')
{
    $r = get('/m/album.txt', Range => $range);
    is $r->{status}, 200, "$range: 200";
    ok $r->{content} eq $full, "$range: the whole archive";
}

# ---- If-Range

$r = get('/m/album.txt', Range => 'bytes=10-19', 'If-Range' => $etag);
is $r->{status}, 206, 'If-Range with the ETag: 206';
ok $r->{content} eq substr($full, 10, 10), '... the bytes';

$r = get('/m/album.txt', Range => 'bytes=10-19',
    'If-Range' => '"0123456789abcdef0123456789abcdef"');
is $r->{status}, 200, 'If-Range with a stale ETag: 200';
ok $r->{content} eq $full, '... the whole archive';

$r = get('/m/album.txt', Range => 'bytes=10-19', 'If-Range' => "W/$etag");
is $r->{status}, 200, 'If-Range with a weak ETag: 200';

$r = get('/j/album.json');
is $r->{headers}{'last-modified'}, $lm, 'JSON with times: Last-Modified';
my $jfull = $r->{content};
$r = get('/j/album.json', Range => 'bytes=5-9', 'If-Range' => $lm);
is $r->{status}, 206, 'If-Range with the Last-Modified date: 206';
is $r->{content}, substr($jfull, 5, 5), '... the bytes';
$r = get('/j/album.json', Range => 'bytes=5-9',
    'If-Range' => 'Sat, 01 Jun 2024 09:59:59 GMT');
is $r->{status}, 200, 'If-Range with another date: 200';
ok $r->{content} eq $jfull, '... the whole archive';

# ---- HEAD with a Range

$r = $t->head('/m/album.txt', { headers => { Range => 'bytes=0-99' } });
ok $r->{status} == 206 || $r->{status} == 200, 'HEAD with Range: '
    . $r->{status};
is $r->{headers}{'content-length'}, $r->{status} == 206 ? 100 : $N,
    'HEAD with Range: its Content-Length';

# ---- only the members a range touches are fetched

$r = get('/p/album.txt');
ok $r->{content} eq $full, 'proxied members: the same archive';
my $before = () = $t->backend_requests($origin);
is $before, scalar @members,
    'full: every member fetched once (the empty one too: it must exist)';

sub fetched_since {
    my ($k) = @_;
    my @all = $t->backend_requests($origin);
    return map { (my $f = substr $_->{path}, 7) =~ s/%([0-9A-F]{2})/chr hex $1/ge;
        $f } @all[$k .. $#all];
}
(my $ok) = piece('/p/album.txt', $cd + 5, $N - 1);
ok $ok, 'a range of the central directory';
is_deeply [fetched_since($before)], [], '... fetches no member';
$before = () = $t->backend_requests($origin);
($ok) = piece('/p/album.txt', $e[101]{data_offset} + 10,
    $e[101]{data_offset} + 20);
ok $ok, 'a range inside one member\'s data';
is_deeply [fetched_since($before)], [$members[101][1]],
    '... fetches that member only';
$before = () = $t->backend_requests($origin);
($ok) = piece('/p/album.txt', $e[1]{offset} - 2, $e[3]{offset} + 2);
ok $ok, 'a range across members 0 to 3';
# (fetched in parallel: the backend may log them in any order)
is_deeply [sort(fetched_since($before))],
    [sort map { $_->[1] } @members[0 .. 3]], '... fetches those four';
my @leak = grep { exists $_->{headers}{range}
    || exists $_->{headers}{'if-range'} } $t->backend_requests($origin);
is scalar @leak, 0, 'no member request carries Range or If-Range';

# ---- no CRCs: no ranges

$r = get('/m/nocrc.txt');
ok !exists $r->{headers}{'accept-ranges'}, 'no CRCs: no Accept-Ranges';
my $nocrc = $r->{content};
$r = get('/m/nocrc.txt', Range => 'bytes=0-99');
is $r->{status}, 200, 'no CRCs: Range ignored (200)';
ok $r->{content} eq $nocrc, 'no CRCs: the whole archive';
ok !exists $r->{headers}{'content-range'}, 'no CRCs: no Content-Range';

$t->done;
