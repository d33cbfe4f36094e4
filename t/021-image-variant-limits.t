#!/usr/bin/perl
# image_variant's limits and bad input: decompression bombs (a PNG and a
# JPEG whose headers promise billions of pixels) refused with 413 before
# any decoding; image_variant_max_pixels and image_variant_max_input (from
# Content-Length and from a chunked body); truncated, empty, text and
# HTML sources and formats whose loaders are not allowed (SVG, PPM, the
# vips format) refused with 415; the allowed ones (GIF, TIFF, WebP, AVIF)
# accepted; image_variant_timeout stopping a render with 503; a full
# thread pool answering 503; a client leaving in the middle of a render.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Image qw(have_vips png create convert info image_type
    png_set_size jpeg_set_size sample_photo);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $repo = Edge::Nginx->repo;


my $t = Edge::Nginx->new(modules => ['image_variant'],
    thread_pools => { tiny => 'threads=1 max_queue=1' });

# ---- fixtures

my $photo = sample_photo();
my $small = png(width => 100, height => 100, fill => [200, 30, 30]);
my $wider = png(width => 101, height => 100, fill => [200, 30, 30]);

# PNG cannot be decoded at a reduced size: the slowest honest source,
# 3840x2560, some 100-300 ms of work
my $big = convert($photo, '.png[compression=1]', 'resize', 2);

my %img = (
    'photo.jpg'     => $photo,
    'small.png'     => $small,
    'wider.png'     => $wider,
    'big.png'       => $big,
    # the headers promise 900 and 3600 megapixels; the data is tiny
    'bomb.png'      => png_set_size($small, 30000, 30000),
    'bomb.jpg'      => jpeg_set_size(convert($small, '.jpg'), 60000, 60000),
    'truncated.jpg' => substr($photo, 0, int(length($photo) * 0.6)),
    'text.jpg'      => "just some text\n" x 20,
    'page.jpg'      => "<!DOCTYPE html><html><body>404</body></html>\n",
    'empty.jpg'     => '',
    'zeros.jpg'     => "\xff\xd8\xff" . ("\0" x 5000),
    'vector.svg'    => '<svg xmlns="http://www.w3.org/2000/svg" '
                       . 'width="100" height="100"><rect width="100" '
                       . 'height="100" fill="red"/></svg>',
    'image.ppm'     => "P6\n10 10\n255\n" . ("\xff\0\0" x 100),
    'image.v'       => create('.v', 'black', 10, 10),
    'image.gif'     => convert($small, '.gif'),
    'image.tif'     => convert($small, '.tif'),
    'image.webp'    => convert($small, '.webp'),
    'image.avif'    => convert($small, '.avif'),
);
$t->write_file("html/img/$_", $img{$_}) for keys %img;
$t->write_file('html/ping.txt', "pong\n");

# a source without Content-Length, in chunks
$t->backend(sub {
    return [200, { 'Content-Type' => 'image/jpeg' },
            [unpack '(a16384)*', $photo]];
});

$t->run(<<'EOF');
    image_variant_preset thumb width=64 height=64 fit=cover format=jpeg;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /ping.txt { root %%PREFIX%%/html; }

        location /v/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
        }

        location /pixels/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
            image_variant_max_pixels 10000;
        }

        location /input/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
            image_variant_max_input 100k;
        }

        location /chunked/ {
            proxy_pass http://127.0.0.1:%%BACKEND%%/;
            image_variant thumb;
            image_variant_max_input 100k;
        }

        location /chunked-ok/ {
            proxy_pass http://127.0.0.1:%%BACKEND%%/;
            image_variant thumb;
        }

        location /quick/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
            image_variant_timeout 1ms;
        }

        location /tiny/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
            image_variant_thread_pool tiny;
        }
    }
EOF

sub status_in {
    my ($path) = @_;
    my $t0 = time;
    my $r = $t->get($path);
    return ($r, time - $t0);
}

# ---- bombs and pixel limits

# the first render sets libvips up: not part of what is timed
is($t->get('/v/small.png')->{status}, 200, 'warm-up');
my $slow = $ENV{TEST_NGINX_VALGRIND} ? 10 : 1;

for my $f (qw(bomb.png bomb.jpg)) {
    my ($r, $dt) = status_in("/v/$f");
    is($r->{status}, 413, "$f: 413");
    cmp_ok($dt, '<', 0.5 * $slow, "$f: refused at once")
        or diag sprintf '%.0f ms', $dt * 1000;
}
is($t->get('/pixels/small.png')->{status}, 200,
   'max_pixels 10000: 100x100 is allowed');
is($t->get('/pixels/wider.png')->{status}, 413,
   'max_pixels 10000: 101x100 is not');

# ---- input size

is($t->get('/input/small.png')->{status}, 200, 'max_input: a small one');
is($t->get('/input/photo.jpg')->{status}, 413,
   'max_input: Content-Length over the limit');
is($t->get('/chunked/photo.jpg')->{status}, 413,
   'max_input: chunked body over the limit');
my $r = $t->get('/chunked-ok/photo.jpg');
is("$r->{status} " . image_type($r->{content}), '200 jpeg',
   'chunked body within the limit');

# ---- what is not an image, or not an allowed one

for my $f (qw(truncated.jpg text.jpg page.jpg empty.jpg zeros.jpg
              vector.svg image.ppm image.v))
{
    my $r = $t->get("/v/$f");
    is($r->{status}, 415, "$f: 415")
        or diag "$r->{status} " . image_type($r->{content});
}
for my $f (qw(image.gif image.tif image.webp image.avif)) {
    my $r = $t->get("/v/$f");
    my $i = $r->{status} == 200 ? info($r->{content}) : {};
    is(join(' ', $r->{status}, image_type($r->{content}),
            $i->{width} // '-'), '200 jpeg 64', "$f: allowed");
}

# ---- time limit

my $dt;
($r, $dt) = status_in('/quick/big.png');
is($r->{status}, 503, 'image_variant_timeout 1ms: 503');
cmp_ok($dt, '<', 2 * $slow, 'stopped, not finished')
    or diag sprintf '%.0f ms', $dt * 1000;
($r, $dt) = status_in('/v/big.png');
is($r->{status}, 200, 'the same image without the limit');
diag sprintf 'a 3840x2560 PNG takes %.0f ms', $dt * 1000;

# ---- a full thread pool: 1 thread, a queue of 1

{
    my @kids;
    for (1 .. 4) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $r = $t->get('/tiny/big.png');
            POSIX::_exit($r->{status} == 200 ? 0 : $r->{status} == 503
                ? 1 : 2);
        }
        push @kids, $pid;
    }
    my %got;
    for (@kids) {
        waitpid $_, 0;
        $got{ ($? >> 8) == 0 ? 200 : ($? >> 8) == 1 ? 503 : 'other' }++;
    }
    ok($got{200} && $got{503} && !$got{other},
       'a full thread pool: some rendered, the rest 503')
        or diag explain \%got;
}

# ---- a client that leaves while its variant is being made

for (1 .. 3) {
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    print {$s} "GET /v/big.png HTTP/1.1\r\nHost: x\r\n\r\n";
    Time::HiRes::sleep(0.05);
    close $s;
}
Time::HiRes::sleep(1);
$r = $t->get('/v/small.png');
is("$r->{status} " . image_type($r->{content}), '200 jpeg',
   'clients gone mid-render: the worker carries on');
is($t->get('/ping.txt')->{content}, "pong\n", 'static still served');

$t->done;
