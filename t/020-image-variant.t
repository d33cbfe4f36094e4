#!/usr/bin/perl
# image_variant: the location's response becomes a resized variant.  The
# four fit modes and gravity; EXIF orientation; CMYK, 16-bit and alpha
# sources; metadata stripped, progressive JPEG, quality; AVIF/WebP/JPEG/PNG
# negotiation with Vary; the ETag (304 without decoding, a new tag when the
# source changes); Last-Modified and Cache-Control carried; upstream errors
# passed through; presets by variable; signed free-form parameters;
# configuration errors; a proxy_cache tier; conf/image-variant.conf.
# Every image is made at test time and every result is read by libvips'
# own vipsheader/getpoint (Edge::Image).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Image qw(have_vips png create convert info pixel deviation image_type
    with_orientation sign signed_url colour_is slurp sample_photo);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $repo = Edge::Nginx->repo;
my $KEY = 'test-key-0123456789abcdef';

my $RED   = [255, 0, 0];
my $GREEN = [0, 255, 0];
my $BLUE  = [0, 0, 255];
my $WHITE = [255, 255, 255];


my $t = Edge::Nginx->new(modules => ['image_variant'],
    thread_pools => { default => 'threads=4' });

# ---- fixtures

my $photo = sample_photo();

# 400x300, left half red, right half blue: sizes and where things went
my $halves = png(width => 400, height => 300, fill => $BLUE,
    rects => [[0, 0, 200, 300, $RED]]);

# a red square at the top left of the stored pixels, for EXIF orientation
my $marked = convert(png(width => 400, height => 200, fill => $WHITE,
    rects => [[0, 0, 80, 80, $RED]]), '.jpg[Q=95,strip]');

# CMYK JPEGs with and without their ICC profile (libvips then assumes
# its built-in CMYK profile, as browsers do)
my $cmyk = convert($halves, '.jpg[Q=95]', 'icc_transform', 'cmyk',
    '--input-profile', 'srgb');
my $cmyk_bare = convert($cmyk, '.jpg[Q=95,strip]');

# 16 bits per channel
my $deep = png(width => 300, height => 200, depth => 16,
    fill => [65535, 0, 0], rects => [[150, 0, 150, 200, [0, 0, 65535]]]);

# transparent, with an opaque blue square at the top left
my $alpha = png(width => 100, height => 100, alpha => 1,
    fill => [0, 0, 0, 0], rects => [[0, 0, 50, 50, [0, 0, 255, 255]]]);

# flat grey with a noisy strip on the right: where entropy looks
srand 20;
my $strip = png(width => 400, height => 100, fill => [128, 128, 128],
    rects => [map { my $x = 300 + $_ % 100; my $y = int($_ / 100);
        [$x, $y, 1, 1, [map { int rand 256 } 1 .. 3]] } 0 .. 9999]);

my %img = (
    'photo.jpg'  => $photo,
    'halves.png' => $halves,
    'cmyk.jpg'   => $cmyk,
    'cmyk-bare.jpg' => $cmyk_bare,
    'deep.png'   => $deep,
    'alpha.png'  => $alpha,
    'strip.png'  => $strip,
    'a b.png'    => $halves,
    (map { ("o$_.jpg" => with_orientation($marked, $_)) } 1, 3, 6, 8),
);

is(info($cmyk)->{interpretation}, 'cmyk', 'fixture: CMYK JPEG');
is(info($deep)->{format}, 'ushort', 'fixture: 16-bit PNG');
is(info($img{'o6.jpg'})->{orientation}, 6, 'fixture: EXIF orientation 6');

my $T = 1700000000;    # the originals' time: Last-Modified
for (sort keys %img) {
    my $path = $t->write_file("html/img/$_", $img{$_});
    utime $T, $T, $path or die "utime $path: $!";
}
$t->write_file('html/ping.txt', "pong\n");

# the origin behind proxy_pass
my $origin = $t->backend(sub {
    my ($req) = @_;
    my $p = $req->{path};
    return [200, { 'Content-Type' => 'image/jpeg',
                   'Cache-Control' => 'public, max-age=600',
                   'Last-Modified' => 'Tue, 14 Nov 2023 22:13:20 GMT',
                   'ETag' => '"origin-v1"' }, $photo]
        if $p eq '/photo.jpg';
    # no Content-Length: the module grows its buffer as bytes come
    return [200, { 'Content-Type' => 'image/png' },
            [unpack '(a4000)*', $halves]] if $p eq '/chunked.png';
    return [200, { 'Content-Type' => 'text/plain' }, "just text\n"]
        if $p eq '/text.jpg';
    return [500, { 'Content-Type' => 'text/plain' }, "origin broke\n"]
        if $p eq '/broken.jpg';
    return [404, { 'Content-Type' => 'text/plain' }, "no such photo\n"];
});

$t->var(KEY => $KEY);
$t->run(<<'EOF');
    image_variant_preset cover   width=200 height=200 fit=cover
                                 format=jpeg;
    image_variant_preset contain width=200 height=200 fit=contain
                                 format=png background=#00ff00;
    image_variant_preset inside  width=200 height=200 fit=inside
                                 format=jpeg;
    image_variant_preset fill    width=200 height=200 fit=fill
                                 format=jpeg;
    image_variant_preset wide    width=100 format=jpeg;
    image_variant_preset tall    height=100 format=jpeg;
    image_variant_preset upright width=100 height=200 fit=inside
                                 format=png;
    image_variant_preset upcover width=100 height=150 fit=cover
                                 format=png;
    image_variant_preset auto    width=64 height=64 fit=cover format=auto;
    image_variant_preset onred   width=50 height=50 fit=fill format=jpeg
                                 background=#ff0000;
    image_variant_preset centre  width=100 height=100 fit=cover
                                 format=png;
    image_variant_preset entropy width=100 height=100 fit=cover
                                 gravity=entropy format=png;
    image_variant_preset attention width=100 height=100 fit=cover
                                 gravity=attention format=jpeg;
    image_variant_preset q90     width=400 format=jpeg quality=90;
    image_variant_preset q20     width=400 format=jpeg quality=20;
    image_variant_preset webp    width=64 format=webp;
    image_variant_preset avif    width=64 format=avif;
    image_variant_preset png     width=64 format=png;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /ping.txt { root %%PREFIX%%/html; }

        # /v/<preset>/<file>: the preset from a variable
        location ~ ^/v/(?<preset>\w+)/(?<file>.+)$ {
            alias %%PREFIX%%/html/img/$file;
            image_variant $preset;
            expires 1h;
        }

        # the same originals, a preset that would refuse any decoding:
        # a 304 from here proves nothing was decoded
        location ~ ^/nodecode/(?<file>.+)$ {
            alias %%PREFIX%%/html/img/$file;
            image_variant cover;
            image_variant_max_pixels 1;
        }

        location /o/ {
            proxy_pass http://127.0.0.1:%%BACKEND%%/;
            image_variant cover;
        }

        location /oauto/ {
            proxy_pass http://127.0.0.1:%%BACKEND%%/;
            image_variant auto;
        }

        # free-form parameters, signed
        location /s/ {
            alias %%PREFIX%%/html/img/;
            image_variant cover;
            image_variant_params on;
            image_variant_sign_key %%KEY%%;
        }
    }
EOF

sub variant {
    my ($path, $accept) = @_;
    return $t->get($path, $accept ? { headers => { Accept => $accept } }
        : undef);
}

# status, type and pixel size of a variant in one test
sub size_is {
    my ($path, $w, $h, $type, $name) = @_;
    my $r = variant($path);
    my $i = $r->{status} == 200 ? info($r->{content}) : {};
    my $got = "$r->{status} " . image_type($r->{content})
        . " $i->{width}x$i->{height}";
    is($got, "200 $type ${w}x$h", $name) or diag $r->{content};
    return $r;
}

# ---- fit modes: 400x300 into 200x200

size_is('/v/cover/halves.png',   200, 200, 'jpeg', 'cover: fills, crops');
size_is('/v/inside/halves.png',  200, 150, 'jpeg', 'inside: fits');
size_is('/v/fill/halves.png',    200, 200, 'jpeg', 'fill: stretches');
size_is('/v/wide/halves.png',    100,  75, 'jpeg', 'width only');
size_is('/v/tall/halves.png',    133, 100, 'jpeg', 'height only');
my $r = size_is('/v/contain/halves.png', 200, 200, 'png',
    'contain: fits, padded');
ok(colour_is([pixel($r->{content}, 100, 5)], $GREEN, 5),
   'contain: the padding has the background colour');
ok(colour_is([pixel($r->{content}, 50, 100)], $RED, 5)
   && colour_is([pixel($r->{content}, 150, 100)], $BLUE, 5),
   'contain: the picture in the middle');

# cover keeps proportions (a centre crop): red and blue still halves;
# fill squeezes them the same way, but nothing is cut off either side
$r = variant('/v/cover/halves.png');
ok(colour_is([pixel($r->{content}, 20, 100)], $RED)
   && colour_is([pixel($r->{content}, 180, 100)], $BLUE),
   'cover: centre crop');

# gravity: a 100x100 crop of 400x100 at the centre is flat grey; entropy
# finds the noisy strip on the right
$r = size_is('/v/centre/strip.png', 100, 100, 'png', 'gravity centre');
cmp_ok(deviation($r->{content}), '<', 5, 'centre crop: flat');
$r = size_is('/v/entropy/strip.png', 100, 100, 'png', 'gravity entropy');
cmp_ok(deviation($r->{content}), '>', 30, 'entropy crop: the detail');
size_is('/v/attention/photo.jpg', 100, 100, 'jpeg', 'gravity attention');

# ---- EXIF orientation: stored 400x200 with the square at the top left

my %corner = (    # where the square must be once upright, and the size
    1 => [5, 5, 100, 50],     3 => [94, 44, 100, 50],
    6 => [94, 5, 100, 200],   8 => [5, 194, 100, 200],
);
for my $o (sort keys %corner) {
    my ($x, $y, $w, $h) = @{ $corner{$o} };
    $r = size_is("/v/upright/o$o.jpg", $w, $h, 'png',
        "orientation $o: upright size");
    ok(colour_is([pixel($r->{content}, $x, $y)], $RED)
       && colour_is([pixel($r->{content}, $w - 1 - $x, $h - 1 - $y)],
                    $WHITE),
       "orientation $o: the marker in its corner");
    is(info($r->{content})->{orientation} // 1, 1,
       "orientation $o: no orientation left in the output");
}

# a centred cover crop is cut before resampling, in the stored pixels:
# upright 200x400, scaled to 100x200, rows 25 to 175 kept; the square
# (rows 0 to 40 once scaled) shows in the top or bottom 15 rows
my %cover_corner = (6 => [94, 5], 8 => [5, 144]);
for my $o (sort keys %cover_corner) {
    my ($x, $y) = @{ $cover_corner{$o} };
    $r = size_is("/v/upcover/o$o.jpg", 100, 150, 'png',
        "orientation $o, cover: size");
    ok(colour_is([pixel($r->{content}, $x, $y)], $RED)
       && colour_is([pixel($r->{content}, 99 - $x, 149 - $y)], $WHITE),
       "orientation $o, cover: the marker in its corner, cut at its edge");
}

# ---- colour: CMYK, 16 bits, alpha

# Saturated sRGB blue is outside the CMYK gamut: the reference is what the
# vips command makes of the same CMYK file, and red must stay red-ish
# (an inverted or uncorrected CMYK gives cyan, black or pink instead).
my $cmyk_ref = convert($cmyk, '.png', 'thumbnail_image', 200);
for my $f (qw(cmyk.jpg cmyk-bare.jpg)) {
    $r = size_is("/v/inside/$f", 200, 150, 'jpeg', "$f: converted");
    my $i = info($r->{content});
    is("$i->{interpretation} $i->{bands}", 'srgb 3', "$f: to sRGB");
    my @red = pixel($r->{content}, 30, 75);
    my @blue = pixel($r->{content}, 170, 75);
    ok(colour_is(\@red, [pixel($cmyk_ref, 30, 75)], 25)
       && colour_is(\@blue, [pixel($cmyk_ref, 170, 75)], 25)
       && $red[0] > 180 && $red[1] < 80 && $red[2] < 80,
       "$f: red stays red, blue stays blue")
        or diag "got @red and @blue, vips makes "
            . join(',', pixel($cmyk_ref, 30, 75)) . ' and '
            . join(',', pixel($cmyk_ref, 170, 75));
}

$r = size_is('/v/contain/deep.png', 200, 200, 'png', '16-bit PNG');
is(info($r->{content})->{format}, 'uchar', '16-bit: 8-bit output');
ok(colour_is([pixel($r->{content}, 50, 100)], $RED, 5)
   && colour_is([pixel($r->{content}, 150, 100)], $BLUE, 5),
   '16-bit: colours scaled, not truncated');

$r = size_is('/v/onred/alpha.png', 50, 50, 'jpeg', 'alpha PNG to JPEG');
ok(colour_is([pixel($r->{content}, 40, 40)], $RED)
   && colour_is([pixel($r->{content}, 8, 8)], $BLUE),
   'alpha: flattened onto the background');
$r = variant('/v/png/alpha.png');
is(info($r->{content})->{bands}, 4, 'alpha kept in a PNG output');

# ---- what comes out: metadata, progressive, quality

$r = variant('/v/q90/photo.jpg');
my $i = info($r->{content});
ok(!grep({ /^exif|^icc|^xmp|^iptc/ } keys %$i), 'metadata stripped')
    or diag join ' ', grep { /^exif|^icc|^xmp|^iptc/ } keys %$i;
is($i->{'jpeg-multiscan'}, 1, 'progressive JPEG');
cmp_ok(length variant('/v/q20/photo.jpg')->{content}, '<',
       length($r->{content}) * 0.7, 'quality=20 is smaller than 90');

size_is('/v/webp/photo.jpg', 64, 43, 'webp', 'format=webp');
size_is('/v/avif/photo.jpg', 64, 43, 'avif', 'format=avif');
size_is('/v/png/photo.jpg',  64, 43, 'png',  'format=png');

# ---- format=auto: Accept, Vary, one ETag per class

my %etag;
for (
    ['image/avif,image/webp,*/*',   'avif', 'image/avif', 'avif'],
    ['image/webp,*/*',              'webp', 'image/webp', 'webp'],
    ['text/html,image/webp;q=0.9',  'webp', 'image/webp', 'webp 2'],
    ['image/avif;q=0,image/webp',   'webp', 'image/webp', 'avif q=0'],
    ['image/*',                     'jpeg', 'image/jpeg', 'image/*'],
    ['*/*',                         'jpeg', 'image/jpeg', '*/*'],
    [undef,                         'jpeg', 'image/jpeg', 'no Accept'],
) {
    my ($accept, $type, $mime, $name) = @$_;
    $r = variant('/v/auto/photo.jpg', $accept);
    is(image_type($r->{content}) . ' ' . $r->{headers}{'content-type'},
       "$type $mime", "auto, Accept $name");
    is($r->{headers}{vary}, 'Accept', "auto, Accept $name: Vary");
    push @{ $etag{$type} }, $r->{headers}{etag};
}
like($etag{jpeg}[0], qr/^"[0-9a-f]{32}"\z/, 'a strong ETag');
is(scalar(keys %{{ map { $_->[0] => 1 } values %etag }}), 3,
   'one ETag per Accept class');
ok(!grep({ $_ ne $etag{webp}[0] } @{ $etag{webp} })
   && !grep({ $_ ne $etag{jpeg}[0] } @{ $etag{jpeg} }),
   'the same ETag for the same class');

$r = variant('/v/auto/alpha.png', '*/*');
is(image_type($r->{content}), 'png', 'auto: PNG for an alpha source');
is(image_type(variant('/v/auto/alpha.png', 'image/webp')->{content}),
   'webp', 'auto: WebP keeps alpha too');
ok(!exists variant('/v/cover/photo.jpg', 'image/webp')->{headers}{vary},
   'no Vary for a fixed format');

# ---- the ETag and 304

$r = variant('/v/cover/photo.jpg');
my $tag = $r->{headers}{etag};
is($r->{headers}{'last-modified'}, 'Tue, 14 Nov 2023 22:13:20 GMT',
   'Last-Modified: the original\'s');
like($r->{headers}{'cache-control'} // '', qr/max-age=3600/,
     'Cache-Control kept');
is(variant('/v/cover/photo.jpg')->{headers}{etag}, $tag, 'stable ETag');

my $t0 = time;
$r = $t->get('/nodecode/photo.jpg',
    { headers => { 'If-None-Match' => $tag } });
my $dt = time - $t0;
is($r->{status}, 304, 'If-None-Match: 304');
is($r->{headers}{etag}, $tag, '304: the ETag');
is($r->{content}, '', '304: no body');
diag sprintf '304 in %.1f ms', $dt * 1000;
is($t->get('/nodecode/photo.jpg')->{status}, 413,
   'without it, the same location would have decoded (and refused)');
is($t->get('/nodecode/photo.jpg',
    { headers => { 'If-None-Match' => "\"x\", W/$tag" } })->{status}, 304,
   'a weak tag in a list matches');
is($t->get('/nodecode/photo.jpg',
    { headers => { 'If-None-Match' => '*' } })->{status}, 304,
   'If-None-Match: *');
is($t->get('/v/contain/photo.jpg',
    { headers => { 'If-None-Match' => $tag } })->{status}, 200,
   'another preset: another tag');
is($t->get('/v/cover/photo.jpg', { headers => {
    'If-Modified-Since' => 'Tue, 14 Nov 2023 22:13:20 GMT' } })->{status},
   304, 'If-Modified-Since: 304');

# the source changes: a new tag, the old one no longer matches
utime $T + 60, $T + 60, $t->prefix . '/html/img/photo.jpg' or die;
$r = $t->get('/v/cover/photo.jpg',
    { headers => { 'If-None-Match' => $tag } });
is($r->{status}, 200, 'changed source: 200 for the old tag');
isnt($r->{headers}{etag}, $tag, 'changed source: a new tag');

# HEAD: no rendering needed for the headers
$r = $t->head('/v/cover/photo.jpg');
is($r->{status}, 200, 'HEAD');
like($r->{headers}{etag} // '', qr/^"[0-9a-f]{32}"\z/, 'HEAD: the ETag');
is($r->{headers}{'content-type'}, 'image/jpeg', 'HEAD: the variant type');
# a PNG made into a JPEG: HEAD has the headers GET has
$r = $t->head('/v/cover/halves.png');
my $g = variant('/v/cover/halves.png');
is(join(' ', map { $_ // '-' } @{ $r->{headers} }{qw(content-type
       content-length etag)}),
   join(' ', @{ $g->{headers} }{qw(content-type content-length etag)}),
   'HEAD: the headers of GET, for a PNG made into a JPEG');

# Range is not applied to a variant: the whole image
$r = $t->get('/v/cover/photo.jpg', { headers => { Range => 'bytes=0-9' } });
is("$r->{status} " . image_type($r->{content}), '200 jpeg',
   'Range: the whole variant');

# ---- proxied sources

$r = size_is('/o/photo.jpg', 200, 200, 'jpeg', 'proxied source');
is($r->{headers}{'cache-control'}, 'public, max-age=600',
   'proxied: Cache-Control carried');
is($r->{headers}{'last-modified'}, 'Tue, 14 Nov 2023 22:13:20 GMT',
   'proxied: Last-Modified carried');
my $otag = $r->{headers}{etag};
isnt($otag, '"origin-v1"', 'proxied: the variant\'s own ETag');
is($t->get('/o/photo.jpg',
    { headers => { 'If-None-Match' => $otag } })->{status}, 304,
   'proxied: 304');
size_is('/o/chunked.png', 200, 200, 'jpeg', 'chunked source');

$r = $t->get('/o/missing.jpg');
is("$r->{status} $r->{content}", "404 no such photo\n",
   'origin 404 passes through with its body');
$r = $t->get('/o/broken.jpg');
is("$r->{status} $r->{content}", "500 origin broke\n",
   'origin 500 passes through with its body');
is($t->get('/o/text.jpg')->{status}, 415, 'text from the origin: 415');
is($t->get('/v/cover/nothere.jpg')->{status}, 404, 'no such file: 404');
is($t->get('/v/nosuch/photo.jpg')->{status}, 404,
   'unknown preset from a variable: 404');

# Accept classes through a proxied origin: the origin sees the request
$r = variant('/oauto/photo.jpg', 'image/webp');
is(image_type($r->{content}), 'webp', 'proxied, auto: WebP');

# ---- signed free-form parameters (location /s/, preset cover 200x200)

sub signed {
    my ($path, $q, $name, $status, $w, $h) = @_;
    my $r = $t->get($path . (defined $q ? "?$q" : ''));
    my $got = $r->{status};
    $got .= ' ' . join 'x', @{ info($r->{content}) }{qw(width height)}
        if $got == 200;
    is($got, $status . ($w ? " ${w}x$h" : ''), $name);
}

my $u = signed_url($KEY, '/s/halves.png', 'w=120&h=80&fit=fill');
signed('/s/halves.png', undef, 'no parameters: the preset', 200, 200, 200);
signed(split(/\?/, $u), 'signed parameters', 200, 120, 80);
(my $tampered = $u) =~ s/h=80/h=81/;
signed(split(/\?/, $tampered), 'tampered: 403', 403);
signed('/s/halves.png', 'w=120&h=80&fit=fill', 'unsigned: 403', 403);
signed('/s/halves.png', 'w=120&h=80&fit=fill&s=', 'empty s: 403', 403);
signed('/s/halves.png', 'w=120&h=80&fit=fill&s=' . ('A' x 43),
       'wrong s: 403', 403);
signed('/s/halves.png', 'w=120&h=80&fit=fill&s='
       . sign('another-key-0123456789', '/s/halves.png',
              'w=120&h=80&fit=fill'), 'another key: 403', 403);
signed('/s/a%20b.png', 'w=120&h=80&fit=fill&s='
       . sign($KEY, '/s/halves.png', 'w=120&h=80&fit=fill'),
       'another path: 403', 403);
signed('/s/a%20b.png', 'w=120&h=80&fit=fill&s='
       . sign($KEY, '/s/a%20b.png', 'w=120&h=80&fit=fill'),
       'the path as sent (percent-encoded)', 200, 120, 80);
signed(split(/\?/, signed_url($KEY, '/s/halves.png', 'fit=fill&h=80&w=120')),
       'any order', 200, 120, 80);
signed(split(/\?/, signed_url($KEY, '/s/halves.png', 'v=7&w=120&h=80')),
       'other arguments are ignored', 200, 120, 80);
signed('/s/halves.png', 'v=8&' . (split /\?/, signed_url($KEY,
       '/s/halves.png', 'v=7&w=120&h=80'))[1],
       'other arguments are not signed', 200, 120, 80);
signed(split(/\?/, signed_url($KEY, '/s/halves.png', 'w=60&h=40&fit=fill'
       . '&dpr=2')), 'dpr=2 doubles the size', 200, 120, 80);
signed(split(/\?/, signed_url($KEY, '/s/halves.png', 'w=120&w=4000')),
       'a repeated parameter: 403 (it has no canonical form)', 403);
signed(split(/\?/, signed_url($KEY, '/s/halves.png', 'w=abc')),
       'a bad value: 400', 400);
signed(split(/\?/, signed_url($KEY, '/s/halves.png', 'w=9000')),
       'too wide: 400', 400);
$r = $t->get(signed_url($KEY, '/s/halves.png', 'w=50&format=webp&q=50'));
is(image_type($r->{content}), 'webp', 'signed format and q');
size_is('/v/cover/halves.png?w=10&h=10', 200, 200, 'jpeg',
        'parameters off: the query is ignored');

SKIP: {
    my $script = "$repo/scripts/sign-variant-url";
    skip 'no scripts/sign-variant-url', 1 unless -x $script;
    chomp(my $out = `$script $KEY /s/halves.png 'w=120&h=80&fit=fill'`);
    is($out, $u, 'scripts/sign-variant-url signs the same way');
}

# ---- configuration errors

for (
    ['image_variant_params on; image_variant cover;', 'params, no key'],
    ['image_variant_params on; image_variant_sign_key short;',
     'a key under 16 bytes'],
    ['image_variant_preset p fit=stretch;', 'an unknown fit'],
    ['image_variant_preset p width=0;', 'width 0'],
    ['image_variant_preset p width=x;', 'a width that is no number'],
    ['image_variant_preset p quality=101;', 'quality over 100'],
    ['image_variant_preset p background=red;', 'a colour name'],
    ['image_variant_preset p size=3;', 'an unknown key'],
    ['image_variant_preset p; image_variant_preset p;', 'a preset twice'],
    ['image_variant cover; image_variant_thread_pool nope;',
     'an unknown thread pool'],
    ['image_variant_max_pixels 0;', 'max_pixels 0'],
) {
    my ($conf, $name) = @$_;
    my ($ok, $out) = $t->check_config(
        "server { listen 127.0.0.1:%%PORT%%; location / { $conf } }");
    ok(!$ok, "nginx -t refuses $name") or diag $out;
}

# ---- a proxy_cache tier in front: the variant rendered once, then a HIT

{
    my $front = Edge::Nginx->new(modules => ['image_variant']);
    $front->var(BACK => $t->port);
    $front->run(<<'EOF');
        proxy_cache_path %%PREFIX%%/cache keys_zone=variants:1m;
        server {
            listen 127.0.0.1:%%PORT%%;
            location / {
                proxy_pass http://127.0.0.1:%%BACK%%;
                proxy_cache variants;
                proxy_cache_valid 200 1h;
                add_header X-Cache-Status $upstream_cache_status;
            }
        }
EOF
    my @seen;
    for ([undef, 'jpeg'], [undef, 'jpeg'], ['image/webp', 'webp'],
         ['image/webp', 'webp'], [undef, 'jpeg'])
    {
        my ($accept, $type) = @$_;
        my $r = $front->get('/v/auto/halves.png',
            { $accept ? (headers => { Accept => $accept }) : () });
        push @seen, ($r->{headers}{'x-cache-status'} // '-') . ' '
            . image_type($r->{content});
    }
    is($seen[0], 'MISS jpeg', 'cache tier: first request renders');
    is($seen[1], 'HIT jpeg', 'cache tier: second one is a HIT');
    is(join(' ', map { (split)[1] } @seen), 'jpeg jpeg webp webp jpeg',
       'cache tier: Vary respected, each client gets its format')
        or diag explain \@seen;
    is($seen[3], 'HIT webp', 'cache tier: the WebP one cached too');
    $front->finish;
    $front->cleanup;
}

# ---- conf/image-variant.conf, as shipped

{
    my $http = slurp("$repo/conf/image-variant.conf");
    $http =~ s/127\.0\.0\.1:8082/127.0.0.1:%%PORT%%/g;
    $http =~ s/127\.0\.0\.1:8083/127.0.0.1:%%PORT2%%/g;
    $http =~ s/127\.0\.0\.1:9000/127.0.0.1:%%BACKEND%%/g;
    $http =~ s{/srv/photos}{%%PREFIX%%/photos}g;
    $http =~ s{/var/cache/nginx}{%%PREFIX%%/cache}g;
    my ($key) = $http =~ /image_variant_sign_key\s+"([^"]+)"/
        or die 'no key in conf/image-variant.conf';

    my $c = Edge::Nginx->new(modules => ['image_variant'],
        thread_pools => { image_variant => 'threads=2' });
    mkdir $c->prefix . '/cache' or die "mkdir: $!";
    $c->write_file('photos/originals/2024/beach.jpg', $photo);
    $c->write_file('photos/originals/2024/halves.png', $halves);
    $c->backend(sub {
        my ($req) = @_;
        return [200, { 'Content-Type' => 'image/jpeg' }, $photo]
            if $req->{path} eq '/photos-originals/2024/beach.jpg';
        return [404, { 'Content-Type' => 'application/xml' },
            '<Error><Code>NoSuchKey</Code></Error>'];
    });
    $c->run($http);

    my $get = sub {
        my ($path, $accept) = @_;
        my $r = $c->get($path,
            { headers => { Accept => $accept // 'image/webp,*/*' } });
        my $i = $r->{status} == 200 ? info($r->{content}) : {};
        return join ' ', $r->{status}, image_type($r->{content}),
            ($r->{status} == 200 ? "$i->{width}x$i->{height}" : ()),
            $r->{headers}{'x-cache-status'} // '-';
    };
    is($get->('/v/avatar/2024/beach.jpg'), '200 webp 256x256 MISS',
       'conf: avatar');
    is($get->('/v/avatar/2024/beach.jpg'), '200 webp 256x256 HIT',
       'conf: avatar from the cache');
    is($get->('/v/avatar/2024/beach.jpg', 'image/avif,image/webp'),
       '200 avif 256x256 MISS', 'conf: avatar in AVIF');
    is($get->('/v/avatar/2024/beach.jpg', 'text/html,image/webp;q=0.8'),
       '200 webp 256x256 HIT', 'conf: another WebP Accept, same entry');
    is($get->('/v/avatar/2024/beach.jpg', 'image/avif;q=0,image/webp'),
       '200 webp 256x256 HIT', 'conf: AVIF refused with q=0, WebP');
    is($get->('/v/avatar/2024/beach.jpg',
              'image/avif; q=0.0, image/webp;q=0, */*'),
       '200 jpeg 256x256 MISS', 'conf: AVIF and WebP refused, JPEG');
    is($get->('/v/avatar/2024/beach.jpg', 'image/avif;q=0.5,*/*'),
       '200 avif 256x256 HIT', 'conf: AVIF at q=0.5 is AVIF');
    is($get->('/v/banner/2024/beach.jpg', '*/*'), '200 jpeg 1500x500 MISS',
       'conf: banner');
    is($get->('/v/thumb/2024/beach.jpg', '*/*'), '200 jpeg 320x213 MISS',
       'conf: thumb');
    is($get->('/v/thumb/2024/halves.png', '*/*'), '200 jpeg 320x240 MISS',
       'conf: thumb of a PNG');
    is($get->('/v/s3/thumb/2024/beach.jpg', '*/*'),
       '200 jpeg 320x213 MISS', 'conf: original from the bucket');
    is($get->('/v/s3/thumb/2024/nothere.jpg'), '404  MISS',
       'conf: missing in the bucket');
    is($get->('/v/huge/2024/beach.jpg'), '404  MISS',
       'conf: unknown preset');
    is($get->('/v/custom/2024/beach.jpg', '*/*'), '200 jpeg 320x213 MISS',
       'conf: custom without parameters');
    is($get->(signed_url($key, '/v/custom/2024/beach.jpg',
                         'w=600&h=400&fit=cover'), '*/*'),
       '200 jpeg 600x400 MISS', 'conf: custom, signed');
    is($get->('/v/custom/2024/beach.jpg?w=600&h=400&fit=cover', '*/*'),
       '403  MISS', 'conf: custom, unsigned');
    $c->finish;
    $c->cleanup;
}

$t->done;
