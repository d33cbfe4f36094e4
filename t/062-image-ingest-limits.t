#!/usr/bin/perl
# image_ingest refuses before storing anything: non-images and blocked
# formats (415), bodies over image_ingest_max_size by Content-Length, by
# a chunked body and after base64 decoding (413), decompression bombs and
# image_variant_max_pixels (413, from the header), client_max_body_size
# (nginx's 413), a truncated JPEG whose variants cannot be made (415).
# And the store's crash safety: what an interrupted upload left (an
# orphan variant and metadata under final names, a temporary file) is
# rolled back when a worker starts, and by the next upload of the key.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use Time::HiRes ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Test::More;

use Edge::Nginx;
use Edge::Image qw(have_vips png convert png_set_size jpeg_set_size
    sample_photo);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => ['image_variant']);
my $p = $t->prefix;

# ---- an upload that crashed mid-commit, and one that had committed

my $lost = png(width => 50, height => 50, fill => [9, 9, 9]);
my $lkey = md5_hex($lost);
my $kept = png(width => 60, height => 50, fill => [8, 8, 8]);
my $kkey = md5_hex($kept);

$t->write_file("crash/.tmp/$lkey.lock",
               "$lkey.png\navatar/$lkey.jpg\n$lkey.json\n");
$t->write_file("crash/avatar/$lkey.jpg", 'orphan variant');
$t->write_file("crash/$lkey.json", '{}');
$t->write_file("crash/.tmp/$lkey.Xy12Zq", 'half a file');

$t->write_file("crash/.tmp/$kkey.lock", "$kkey.png\navatar/$kkey.jpg\n");
$t->write_file("crash/$kkey.png", $kept);
$t->write_file("crash/avatar/$kkey.jpg", 'committed variant');

$t->allow_log(qr/\[warn\].*(?:rolled back|interrupted upload)/);

$t->run(<<'EOF');
    image_variant_preset avatar width=32 height=32 fit=cover format=jpeg;

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 2m;
        client_body_buffer_size 16k;

        image_ingest_store     %%PREFIX%%/store;
        image_ingest_variants  avatar;

        location = /up { image_ingest; }

        location = /small {
            image_ingest;
            image_ingest_max_size 100k;
        }

        location = /pixels {
            image_ingest;
            image_variant_max_pixels 10000;
        }

        location = /nginx-limit {
            image_ingest;
            client_max_body_size 10k;
        }

        location = /crash {
            image_ingest;
            image_ingest_store     %%PREFIX%%/crash;
        }
    }
EOF

sub upload {
    my ($path, $body, %h) = @_;
    my $r = $t->request('PUT', $path, { content => $body, headers => \%h });
    $r->{json} = eval { $json->decode($r->{content}) } // {};
    return $r;
}

sub stored {
    my @f = grep { !m{/\.tmp(?:/|\z)} }
        map { s{^\Q$p\E/store/}{}r } glob("$p/store/* $p/store/*/*");
    return join ' ', sort @f;
}

# ---- the crash, rolled back when the worker started

ok(!-e "$p/crash/avatar/$lkey.jpg", 'startup: orphan variant removed');
ok(!-e "$p/crash/$lkey.json", 'startup: orphan metadata removed');
ok(!-e "$p/crash/.tmp/$lkey.Xy12Zq", 'startup: temporary file removed');
ok(!-e "$p/crash/.tmp/$lkey.lock", 'startup: its lock removed');
is($t->read_file("crash/avatar/$kkey.jpg"), 'committed variant',
   'startup: a committed upload untouched');
like($t->error_log, qr/\[warn\].*interrupted uploads in ".*crash" rolled/,
     'startup: logged');

my $r = upload('/crash', $lost);
is($r->{status}, 201, 'the lost upload again: 201, stored anew');

# the same state again, now with the worker running: the next upload of
# the key finds and rolls it back before anything else
my $again = png(width => 51, height => 50, fill => [9, 9, 9]);
my $akey = md5_hex($again);
$t->write_file("crash/.tmp/$akey.lock", "$akey.png\navatar/$akey.jpg\n");
$t->write_file("crash/avatar/$akey.jpg", 'orphan variant');
$r = upload('/crash', $again);
is($r->{status}, 201, 'upload over an interrupted one: 201');
isnt($t->read_file("crash/avatar/$akey.jpg"), 'orphan variant',
     '... its variant rendered anew');
like($t->error_log, qr/\[warn\].*files of an interrupted upload of $akey/,
     '... the roll-back logged');

# ---- not images: 415, nothing stored

my $photo = sample_photo();
my %bad = (
    'text'      => "hello, world\n" x 10,
    'html'      => "<!DOCTYPE html><html><body>hi</body></html>\n",
    'svg'       => '<svg xmlns="http://www.w3.org/2000/svg" width="10" '
                   . 'height="10"><rect width="10" height="10"/></svg>',
    'ppm'       => "P6\n10 10\n255\n" . ("\xff\0\0" x 100),
    'zeros'     => "\xff\xd8\xff" . ("\0" x 5000),
    'truncated' => substr($photo, 0, int(length($photo) * 0.5)),
);
for my $k (sort keys %bad) {
    $r = upload('/up', $bad{$k});
    is($r->{status}, 415, "$k: 415") or diag $r->{content};
    like($r->{json}{error} // '', qr/^(?:image|variant)/, "$k: JSON error");
}
$r = upload('/up', $json->encode({ data => { image =>
                                   encode_base64("not an image") } }));
is($r->{status}, 415, 'base64 of a non-image: 415');
is(stored(), '', 'not images: nothing stored');

# ---- sizes

# uncompressed PNGs: ~295 kB, and ~125 kB (within the limit of a JSON body
# holding its base64, over the limit once decoded)
my $big = convert($photo, '.png[compression=0]', 'resize', 0.2);
my $mid = convert($photo, '.png[compression=0]', 'resize', 0.13);
cmp_ok(length $big, '>', 200 * 1024, 'a PNG over 200k');
cmp_ok(length $mid, '>', 100 * 1024, 'a PNG over 100k');
$r = upload('/small', $big);
is($r->{status}, 413, 'image_ingest_max_size: Content-Length, 413');
like($r->{json}{error} // '', qr/image_ingest_max_size/, '... saying so');
$r = upload('/small', $mid);
is($r->{status}, 413, 'image_ingest_max_size: a raw body over it, 413');

my $raw = "PUT /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
          . "Transfer-Encoding: chunked\r\n\r\n"
          . join('', map { sprintf("%x\r\n%s\r\n", length, $_) }
                     unpack '(a8192)*', $big) . "0\r\n\r\n";
$r = Edge::Nginx::parse_response($t->raw($raw));
is($r->{status}, 413, 'image_ingest_max_size: chunked body, 413');

my $b64 = $json->encode({ data => { image => encode_base64($mid, '') } });
$r = upload('/small', $b64, 'Content-Type' => 'application/json');
is($r->{status}, 413, 'image_ingest_max_size: after base64 decoding, 413');

$r = upload('/nginx-limit', $big);
is($r->{status}, 413, 'client_max_body_size: 413 from nginx');

$r = upload('/up', $big);
is($r->{status}, 201, 'the same PNG where it fits: 201')
    or diag $r->{content};
my $bkey = md5_hex($big);
is(stored(), "$bkey.json $bkey.png avatar avatar/$bkey.jpg",
   'stored: original, metadata, variant');
unlink glob("$p/store/$bkey.* $p/store/avatar/*");

# ---- decompression bombs and the pixel limit: from the header

my $small = png(width => 100, height => 100, fill => [200, 30, 30]);
for my $bomb (['PNG', png_set_size($small, 30000, 30000)],
              ['JPEG', jpeg_set_size(convert($small, '.jpg'), 60000, 60000)])
{
    my $t0 = Time::HiRes::time();
    $r = upload('/up', $bomb->[1]);
    is($r->{status}, 413, "$bomb->[0] bomb: 413");
    like($r->{json}{error} // '', qr/pixels/, "$bomb->[0] bomb: why");
    cmp_ok(Time::HiRes::time() - $t0, '<', 2, "$bomb->[0] bomb: at once");
}

is(upload('/pixels', $small)->{status}, 201,
   'image_variant_max_pixels 10000: 100x100 accepted');
is(upload('/pixels', png(width => 101, height => 100))->{status}, 413,
   'image_variant_max_pixels 10000: 101x100 refused');
unlink glob("$p/store/*.* $p/store/avatar/*");

is(stored(), 'avatar', 'refused uploads left nothing stored');
is(join(' ', map { s{.*/}{}r } glob("$p/store/.tmp/*")), '',
   'nor any temporary file');

$t->done;
