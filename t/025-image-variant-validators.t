#!/usr/bin/perl
# image_variant as a CDN origin caches can trust: the variant's validators
# are the only ones any 304 uses.  A source without ETag or Last-Modified
# (chunked, or with a length only) gets its variant's ETag from its bytes;
# a 304 has no Content-Type, and has the variant's ETag and Vary;
# If-Modified-Since alone, or the source's own ETag, never gets nginx's
# 304 with the source's ETag.  Refusals: one log line (at error, or
# image_variant_log_level) with the source and the reason, and a short
# text/plain body saying it; an encoded (gzip) source is refused naming its
# Content-Encoding.  A Range request gets the whole variant (200).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Compress::Zlib ();
use Test::More;

use Edge::Nginx;
use Edge::Image qw(have_vips png convert info image_type);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $t = Edge::Nginx->new(modules => ['image_variant'],
    thread_pools => { default => 'threads=2' });

# two different photos of the same size and byte length
my $red = png(width => 300, height => 200, fill => [200, 30, 30],
    rects => [[0, 0, 100, 100, [255, 255, 255]]]);
my $blue = png(width => 300, height => 200, fill => [30, 30, 200],
    rects => [[200, 100, 100, 100, [255, 255, 255]]]);
# bytes after IEND are ignored by decoders: pad to one length
my $n = length $red > length $blue ? length $red : length $blue;
$red .= "\0" x ($n - length $red);
$blue .= "\0" x ($n - length $blue);
my $jpeg = convert($red, '.jpg[Q=90]');

my $T = 1700000000;
for (['red.png', $red], ['photo.jpg', $jpeg]) {
    my $path = $t->write_file("html/img/$_->[0]", $_->[1]);
    utime $T, $T, $path or die "utime $path: $!";
}
$t->write_file('html/img/text.jpg', "not a picture at all\n");

my %bodies = (red => $red, blue => $blue);
my $origin = $t->backend(sub {
    my ($req) = @_;
    # chunked, no ETag, no Last-Modified
    return [200, { 'Content-Type' => 'image/png' },
            [unpack '(a1000)*', $bodies{$1}]]
        if $req->{path} =~ m{^/chunked/(red|blue)\.png$};
    # a length, no validator
    return [200, { 'Content-Type' => 'image/png' }, $bodies{$1}]
        if $req->{path} =~ m{^/sized/(red|blue)\.png$};
    return [200, { 'Content-Type' => 'image/jpeg',
                   'Content-Encoding' => 'gzip' },
            Compress::Zlib::memGzip($jpeg)]
        if $req->{path} eq '/gzip.jpg';
    return [404, { 'Content-Type' => 'text/plain' }, "no\n"];
});

$t->run(<<'EOF');
    image_variant_preset small width=64 height=64 fit=cover format=jpeg;
    image_variant_preset webp  width=64 height=64 fit=cover format=webp;
    image_variant_preset auto  width=64 height=64 fit=cover format=auto;

    server {
        listen 127.0.0.1:%%PORT%%;

        location ~ ^/v/(?<preset>\w+)/(?<file>.+)$ {
            alias %%PREFIX%%/html/img/$file;
            image_variant $preset;
        }

        location ~ ^/quiet/(?<file>.+)$ {
            alias %%PREFIX%%/html/img/$file;
            image_variant small;
            image_variant_log_level warn;
        }

        location /o/ {
            proxy_pass http://127.0.0.1:%%BACKEND%%/;
            image_variant small;
        }

        location ~ ^/thumbnail/(?<file>.+)$ {
            alias %%PREFIX%%/html/img/$file;
            image_variant small;
            image_variant_shrink_on_load thumbnail;
        }
    }
EOF

sub get {
    my ($path, %h) = @_;
    return $t->get($path, { headers => \%h });
}

# ---- 1: sources without validators

for my $kind (qw(chunked sized)) {
    my $a = get("/o/$kind/red.png");
    my $b = get("/o/$kind/blue.png");
    is("$a->{status} $b->{status}", '200 200', "$kind: both rendered");
    like($a->{headers}{etag} // '', qr/^"[0-9a-f]{32}"\z/,
         "$kind: an ETag");
    isnt($a->{headers}{etag}, $b->{headers}{etag},
         "$kind: two different photos, two ETags");
    is(get("/o/$kind/blue.png", 'If-None-Match' => $a->{headers}{etag})
           ->{status}, 200,
       "$kind: the first one's ETag is no 304 for the second");
    my $again = get("/o/$kind/red.png",
                    'If-None-Match' => $a->{headers}{etag});
    is($again->{status}, 304, "$kind: its own ETag is a 304");
    is($again->{headers}{etag}, $a->{headers}{etag},
       "$kind: the 304 has the same ETag");
}

# ---- 2: a 304 without Content-Type

my $w = get('/v/webp/photo.jpg');
is($w->{headers}{'content-type'}, 'image/webp', 'webp: 200 is image/webp');
my $nm = get('/v/webp/photo.jpg', 'If-None-Match' => $w->{headers}{etag});
is($nm->{status}, 304, 'webp: 304');
ok(!exists $nm->{headers}{'content-type'}, 'webp: 304 has no Content-Type')
    or diag "Content-Type: $nm->{headers}{'content-type'}";
is($nm->{headers}{etag}, $w->{headers}{etag}, 'webp: 304 has its ETag');

my $au = get('/v/auto/photo.jpg', Accept => 'image/webp');
$nm = get('/v/auto/photo.jpg', Accept => 'image/webp',
          'If-None-Match' => $au->{headers}{etag});
is(join(' ', $nm->{status}, $nm->{headers}{vary} // '-',
        $nm->{headers}{'content-type'} // '-'),
   '304 Accept -', 'auto: 304 with Vary, without Content-Type');

# ---- 5: If-Modified-Since alone, and the source's ETag

my $lm = $au->{headers}{'last-modified'};
ok($lm, 'the variant carries the source\'s Last-Modified');
my $ims = get('/v/auto/photo.jpg', Accept => 'image/webp',
              'If-Modified-Since' => $lm);
is($ims->{status}, 304, 'If-Modified-Since alone: 304');
is($ims->{headers}{etag}, $au->{headers}{etag},
   'If-Modified-Since alone: the variant\'s ETag, not the source\'s');
is($ims->{headers}{vary} // '-', 'Accept', 'If-Modified-Since alone: Vary');
ok(!exists $ims->{headers}{'content-type'},
   'If-Modified-Since alone: no Content-Type');
is(get('/v/auto/photo.jpg', 'If-Modified-Since' =>
       'Mon, 01 Jan 2001 00:00:00 GMT')->{status}, 200,
   'If-Modified-Since before the source: 200');

# nginx's own ETag of the static file ("%xT-%xO")
my $source_etag = sprintf '"%x-%x"', $T, length $jpeg;
is(get('/v/auto/photo.jpg', 'If-None-Match' => $source_etag)->{status},
   200, 'the source\'s ETag is no 304 for a variant');

# ---- 6: refusals say why, once

my $before = () = $t->error_log =~ /image_variant: /g;
my $r = get('/v/small/text.jpg');
is($r->{status}, 415, 'not an image: 415');
is($r->{headers}{'content-type'}, 'text/plain', 'refusal: text/plain');
like($r->{content}, qr/^not an image/, 'refusal: the body says why');
ok(!exists $r->{headers}{etag}, 'refusal: no ETag');
$r = get('/v/nosuch/photo.jpg');
is($r->{status} . ' ' . $r->{content}, qq{404 no preset "nosuch"\n},
   'unknown preset: 404 saying so');

my @lines = grep { /image_variant: / } split /\n/, $t->error_log;
splice @lines, 0, $before;
is(scalar @lines, 2, 'one log line per refusal') or diag join "\n", @lines;
my $src = qr{"/v/small/text\.jpg"};
like($lines[0] // '',
     qr{\[error\] .*image_variant: 415 for source $src: not an image},
     'logged at error with the source and the reason');

$r = get('/quiet/text.jpg');
is($r->{status}, 415, 'image_variant_log_level warn: 415');
like($t->error_log,
     qr{\[warn\] .*image_variant: 415 for source "/quiet/text\.jpg"},
     'image_variant_log_level warn: at warn');

# ---- 8: an encoded source

$r = get('/o/gzip.jpg');
is($r->{status}, 415, 'gzip source: 415');
like($r->{content}, qr/Content-Encoding: gzip/,
     'gzip source: the body names the encoding');
my $enc = qr{the source is encoded \(Content-Encoding: gzip\)};
like($t->error_log, qr{415 for source "/o/gzip\.jpg": $enc},
     'gzip source: logged so');

# ---- image_variant_shrink_on_load thumbnail (fast is the default):
# other variants, another ETag

$r = get('/thumbnail/photo.jpg');
is(join(' ', $r->{status}, image_type($r->{content})), '200 jpeg',
   'shrink_on_load thumbnail: a variant');
my $fast = get('/v/small/photo.jpg');
isnt($r->{headers}{etag}, $fast->{headers}{etag},
     'shrink_on_load thumbnail: its own ETag');

# ---- Range: the whole variant, 200

my $full = get('/v/small/photo.jpg');
$r = get('/v/small/photo.jpg', Range => 'bytes=0-9');
is(join(' ', $r->{status}, length $r->{content}),
   join(' ', 200, length $full->{content}),
   'Range on a variant: the whole variant, 200');
ok(!exists $r->{headers}{'accept-ranges'}, 'no Accept-Ranges');

$t->done;
