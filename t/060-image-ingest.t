#!/usr/bin/perl
# image_ingest: raw (PUT, POST) and base64 JSON uploads stored under the
# MD5 of their bytes with metadata; the variants rendered eagerly, with
# the right sizes and formats, served afterwards by a plain static
# location; a duplicate upload answered 200 with the same body and no
# second write; image_ingest_formats; bad JSON and base64; methods.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Test::More;

use Edge::Nginx;
use Edge::Image qw(have_vips png convert info image_type sample_photo);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => ['image_variant']);
my $store = $t->prefix . '/store';

$t->run(<<'EOF');
    image_variant_preset avatar width=256 height=256 fit=cover format=auto;
    image_variant_preset thumb width=320 height=320 fit=inside format=webp;
    image_variant_preset small width=64 height=64 fit=cover;

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 30m;

        location = /upload {
            image_ingest;
            image_ingest_store     %%PREFIX%%/store;
            image_ingest_variants  avatar thumb;
            image_ingest_uri       /img/;
            image_ingest_meta      user $http_x_user  source upload;
        }

        location = /plain {
            image_ingest;
            image_ingest_store     %%PREFIX%%/plain;
        }

        location = /formats {
            image_ingest;
            image_ingest_store     %%PREFIX%%/formats;
            image_ingest_variants  small;
            image_ingest_formats   jpeg webp avif;
            image_ingest_uri       /f/;
        }

        # the variants, by a plain static location: only
        # /img/<preset>/<md5>.<ext>, never the originals or metadata
        location ~ "^/img/(\w+)/([0-9a-f]{32}\.(?:jpg|png|webp|avif))$" {
            alias %%PREFIX%%/store/$1/$2;
        }
    }
EOF

sub upload {
    my ($method, $path, $body, %h) = @_;
    my $r = $t->request($method, $path,
                        { content => $body, headers => \%h });
    my $doc = eval { $json->decode($r->{content}) } // {};
    return ($r, $doc);
}

sub files {
    my ($dir) = @_;
    my @f;
    my $walk;
    $walk = sub {
        my ($d, $rel) = @_;
        opendir my $dh, $d or return;
        for (sort grep { !/^\.\.?\z/ } readdir $dh) {
            my $p = "$d/$_";
            if (-d $p) { $walk->($p, "$rel$_/") } else { push @f, "$rel$_" }
        }
    };
    $walk->($dir, '');
    return @f;
}

# ---- a raw JPEG, PUT

my $photo = sample_photo();
my $key = md5_hex($photo);

my ($r, $doc) = upload('PUT', '/upload', $photo, 'X-User' => 'u-42',
                       'Content-Type' => 'image/jpeg');
is($r->{status}, 201, 'raw PUT: 201') or diag $r->{content};
is($r->{headers}{'content-type'}, 'application/json', 'JSON answer');
is_deeply($doc, {
    key => $key, width => 1920, height => 1280, format => 'jpeg',
    bytes => length $photo,
    variants => { avatar => "/img/avatar/$key.jpg",
                  thumb => "/img/thumb/$key.webp" },
}, 'the answer: key is the MD5, size, format, variant URIs');

is($t->read_file("$store/$key.jpg"), $photo, 'original stored as is');

my $meta = eval { $json->decode($t->read_file("$store/$key.json")) } // {};
is_deeply([ @{$meta}{qw(key width height format bytes)} ],
          [ $key, 1920, 1280, 'jpeg', length $photo ],
          'metadata: key, size, format, bytes');
is_deeply($meta->{meta}, { user => 'u-42', source => 'upload' },
          'metadata: image_ingest_meta values');
like($meta->{uploaded} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\z/,
     'metadata: upload time');

my $avatar = $t->read_file("$store/avatar/$key.jpg") // '';
my $i = info($avatar);
is(image_type($avatar) . " $i->{width}x$i->{height}", 'jpeg 256x256',
   'avatar variant: 256x256 JPEG');
my $thumb = $t->read_file("$store/thumb/$key.webp") // '';
$i = info($thumb);
is(image_type($thumb) . " $i->{width}x$i->{height}", 'webp 320x213',
   'thumb variant: 320x213 WebP');

$r = $t->get("/img/avatar/$key.jpg");
is($r->{status}, 200, 'variant served by a static location');
is($r->{content}, $avatar, '... the stored bytes');
is($t->get("/img/x/$key.json")->{status}, 404,
   'metadata not under the variant URIs');

# ---- the same bytes again: 200, the same body, nothing written

my @before = (stat "$store/$key.jpg")[1, 9];
my @vbefore = (stat "$store/avatar/$key.jpg")[1, 9];
my ($r2, $doc2) = upload('POST', '/upload', $photo, 'X-User' => 'u-43');
is($r2->{status}, 200, 'duplicate: 200');
is_deeply($doc2, $doc, 'duplicate: the same body');
is_deeply([ (stat "$store/$key.jpg")[1, 9] ], \@before,
          'duplicate: original not rewritten (same inode and mtime)');
is_deeply([ (stat "$store/avatar/$key.jpg")[1, 9] ], \@vbefore,
          'duplicate: variant not rewritten');
$meta = eval { $json->decode($t->read_file("$store/$key.json")) } // {};
is($meta->{meta}{user}, 'u-42', 'duplicate: the first metadata stays');

# ---- base64 in JSON, POST

my $alpha = png(width => 300, height => 200, alpha => 1,
                fill => [0, 0, 255, 128]);
my $akey = md5_hex($alpha);
($r, $doc) = upload('POST', '/upload',
                    $json->encode({ data => { image => encode_base64($alpha,
                                                                    '') },
                                    token => 'ignored' }),
                    'Content-Type' => 'application/json');
is($r->{status}, 201, 'base64 JSON: 201') or diag $r->{content};
is("$doc->{key} $doc->{format} $doc->{width}x$doc->{height} $doc->{bytes}",
   "$akey png 300x200 " . length $alpha, 'base64 JSON: decoded image');
is($doc->{variants}{avatar}, "/img/avatar/$akey.png",
   'format=auto with alpha: PNG avatar');
is($t->read_file("$store/$akey.png"), $alpha, 'decoded bytes stored');
$i = info($t->read_file("$store/avatar/$akey.png") // '');
is("$i->{width}x$i->{height} $i->{bands}", '256x256 4',
   'alpha avatar keeps its alpha');

# escaped slashes, MIME line breaks and a data URL, as some encoders write
my $small = png(width => 40, height => 30, fill => [10, 200, 10]);
my $b64 = encode_base64($small);            # lines of 76 + "\n"
(my $esc = $b64) =~ s{/}{\\/}g;
$esc =~ s/\n/\\n/g;
($r, $doc) = upload('POST', '/upload',
    qq({"data": {"image": "data:image/png;base64,$esc"}}));
is($r->{status}, 201, 'JSON escapes and a data URL') or diag $r->{content};
is($doc->{key}, md5_hex($small), '... decoded exactly');

# ---- without variants

($r, $doc) = upload('PUT', '/plain', $small);
is($r->{status}, 201, 'no variants configured: 201');
is_deeply($doc->{variants}, {}, 'no variants configured: none listed');
is_deeply([ files($t->prefix . '/plain') ],
          [ "$doc->{key}.json", "$doc->{key}.png" ],
          'only the original and its metadata');

# ---- image_ingest_formats

($r, $doc) = upload('PUT', '/formats', $photo);
is($r->{status}, 201, 'formats: 201') or diag $r->{content};
is_deeply($doc->{formats}, [qw(jpeg webp avif)], 'formats listed');
is($doc->{variants}{small}, "/f/small/$key.jpg", 'the first format named');
for my $f ([jpg => 'jpeg'], [webp => 'webp'], [avif => 'avif']) {
    my $v = $t->read_file($t->prefix . "/formats/small/$key.$f->[0]") // '';
    $i = length $v ? info($v) : {};
    is(image_type($v) . ' ' . ($i->{width} // '-') . 'x'
       . ($i->{height} // '-'), "$f->[1] 64x64", "formats: $f->[1] 64x64");
}

# ---- bad bodies: 400, nothing stored

my @bad = (
    ['{"data": {"image": "not base64!"}}', qr/not base64/],
    ['{"data": {"image": "QUJD="}}', qr/base64/],
    ['{"data": {"image": ""}}', qr/empty/],
    ['{"data": {"img": "QUJD"}}', qr/data\.image: missing/],
    ['{"data": "QUJD"}', qr/data: must be an object/],
    ['{"data": {"image": 5}}', qr/must be a string/],
    ['{"data": {"image": "QUJD"}', qr/malformed/],
    ['{"data": {"image": "QUJD"}} x', qr/after/],
);
my $n = () = files($store);
for my $b (@bad) {
    ($r, $doc) = upload('POST', '/upload', $b->[0]);
    is($r->{status}, 400, "400 for $b->[0]");
    like($doc->{error} // '', $b->[1], '... saying why');
}
is(scalar(() = files($store)), $n, 'bad bodies: nothing stored');

($r, $doc) = upload('POST', '/upload', '');
is($r->{status}, 400, 'empty body: 400');

# ---- methods

$r = $t->get('/upload');
is($r->{status}, 405, 'GET: 405');
is($r->{headers}{allow}, 'PUT, POST', 'Allow: PUT, POST');

is_deeply([ files("$store/.tmp") ], [], 'no temporary file left');

# ---- configuration errors stop nginx -t

for my $c (
    ['image_ingest_variants nope;', qr/no image_variant_preset "nope"/],
    ['image_ingest_formats jpeg gif;', qr/unknown format "gif"/],
    ['image_ingest_formats jpeg jpeg;', qr/lists a format twice/],
    ['image_ingest_meta a;', qr/invalid number of arguments/],
    ['image_ingest_meta a 1 b;', qr/takes name and value pairs/],
    ['image_ingest_meta a 1 a 2;', qr/duplicate image_ingest_meta "a"/],
    ['image_ingest_sign_key short;', qr/at least 16 bytes/],
    ['image_ingest_notify ftp://x/;', qr/http or https URL/],
    ['image_ingest_notify_backoff 2s 1s;', qr/invalid longest wait/],
    ['', qr/image_ingest needs image_ingest_store/, 1],
) {
    my $store_line = $c->[2] ? '' : 'image_ingest_store /tmp/x;';
    my ($ok, $out) = $t->check_config(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT2%%;
        location / { image_ingest; $store_line $c->[0] }
    }
EOF
    ok(!$ok, "nginx -t fails: " . ($c->[0] || 'no store'));
    like($out, $c->[1], '... saying why');
}

$t->done;
