#!/usr/bin/perl
# image_variant on an s3_proxy location: originals from a private bucket
# of a real Ceph RADOS Gateway, made into variants with the same bytes,
# ETag and 304 behaviour as the same originals on local disk: the
# variant's ETag, a 304 for it (and for If-Modified-Since) with the
# variant's validators, Range answered with the whole variant, never a
# 206 or a 304 of the store passed on; a changed object gets a new tag;
# a missing one is a 404, a wrong secret a 502.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Edge::Nginx;
use Edge::Ceph qw(s3_server);
use Edge::Image qw(have_vips png convert info sample_photo);

have_vips() or plan skip_all => 'the vips command is missing (libvips-tools)';

my $s3 = s3_server();
my $bucket = $s3->bucket;

my $photo = sample_photo();
my $other = convert(png(width => 400, height => 300, fill => [0, 0, 255]),
    '.jpg[Q=90]');
$s3->put($bucket, 'avatars/me 1.jpg', $photo, 'image/jpeg');
$s3->put($bucket, 'avatars/changing.jpg', $photo, 'image/jpeg');

my $t = Edge::Nginx->new(modules => [qw(s3 image_variant)],
    thread_pools => { default => 'threads=2' });
$t->write_file('html/avatars/me 1.jpg', $photo);
$t->write_file('s3.cred', "aws_access_key_id = " . $s3->key_id
    . "\naws_secret_access_key = " . $s3->secret . "\n");
$t->write_file('bad.cred', "aws_access_key_id = " . $s3->key_id
    . "\naws_secret_access_key = x" . $s3->secret . "\n");
$t->var(EP => $s3->endpoint);
$t->var(BUCKET => $bucket);

$t->run(<<'EOF');
    image_variant_preset  avatar  width=128 height=128 fit=cover format=auto;

    s3_bucket photos {
        endpoint     %%EP%%;
        bucket       %%BUCKET%%;
        credentials  %%PREFIX%%/s3.cred;
    }
    s3_bucket bad {
        endpoint     %%EP%%;
        bucket       %%BUCKET%%;
        credentials  %%PREFIX%%/bad.cred;
    }

    server {
        listen 127.0.0.1:%%PORT%%;

        location /s3/   { s3_proxy photos; image_variant avatar; }
        location /bad/  { s3_proxy bad; image_variant avatar; }
        location /local/ {
            alias %%PREFIX%%/html/;
            image_variant avatar;
        }
    }
EOF

sub get {
    my ($path, %h) = @_;
    return $t->get($path, { headers => { Accept => 'image/webp', %h } });
}

my $s = get('/s3/avatars/me%201.jpg');
my $l = get('/local/avatars/me%201.jpg');
is $s->{status}, 200, 'a variant of an object of the private bucket';
is $s->{headers}{'content-type'}, 'image/webp', '... WebP for Accept';
my $i = info($s->{content});
is "$i->{width}x$i->{height}", '128x128', '... 128x128';
is $s->{content}, $l->{content}, '... the same bytes as from local disk';
is $s->{headers}{vary}, 'Accept', '... Vary: Accept, as local';
my $etag = $s->{headers}{etag};
like $etag, qr/^"[0-9a-f]{32}"\z/, '... the variant\'s ETag';
isnt $etag, $l->{headers}{etag},
    '... (made from the store\'s ETag, not the file\'s)';
ok $s->{headers}{'last-modified'}, '... the object\'s Last-Modified';

is get('/s3/avatars/me%201.jpg')->{headers}{etag}, $etag,
    'the ETag is stable';

# 304s: the variant's, as for local files
my $nm = get('/s3/avatars/me%201.jpg', 'If-None-Match' => $etag);
is $nm->{status}, 304, 'If-None-Match with the variant\'s ETag: 304';
is $nm->{headers}{etag}, $etag, '... with the variant\'s ETag';
is $nm->{headers}{vary}, 'Accept', '... and Vary';
ok !exists $nm->{headers}{'content-type'}, '... no Content-Type';
my $lnm = get('/local/avatars/me%201.jpg',
    'If-None-Match' => $l->{headers}{etag});
is $lnm->{status}, 304, '(local: the same)';

my $ims = get('/s3/avatars/me%201.jpg',
    'If-Modified-Since' => $s->{headers}{'last-modified'});
is $ims->{status}, 304, 'If-Modified-Since: 304';
is $ims->{headers}{etag}, $etag, '... with the variant\'s ETag';

# the store's own validators and ranges never reach the client
my $se = $s3->client('get', $bucket, 'avatars/me 1.jpg')->{etag};
my $src = get('/s3/avatars/me%201.jpg', 'If-None-Match' => $se);
is $src->{status}, 200, 'the object\'s own ETag: no 304';
is $src->{content}, $s->{content}, '... the variant';

my $rg = get('/s3/avatars/me%201.jpg', Range => 'bytes=0-99');
is $rg->{status}, 200, 'Range: 200';
is $rg->{content}, $s->{content}, '... the whole variant, not the source\'s';

my $jpeg = $t->get('/s3/avatars/me%201.jpg');
is $jpeg->{headers}{'content-type'}, 'image/jpeg', 'no Accept: JPEG';
isnt $jpeg->{headers}{etag}, $etag, '... another ETag';

# a changed object: a new tag
my $c1 = get('/s3/avatars/changing.jpg');
$s3->put($bucket, 'avatars/changing.jpg', $other, 'image/jpeg');
my $c2 = get('/s3/avatars/changing.jpg');
is $c2->{status}, 200, 'the object replaced';
isnt $c2->{headers}{etag}, $c1->{headers}{etag}, '... a new ETag';
is get('/s3/avatars/changing.jpg', 'If-None-Match' => $c1->{headers}{etag})
    ->{status}, 200, '... the old one is no 304';

is get('/s3/avatars/none.jpg')->{status}, 404, 'a missing object: 404';
is get('/bad/avatars/me%201.jpg')->{status}, 502, 'a wrong secret: 502';
like $t->error_log, qr/\[error\].*s3_proxy: bucket "bad".*SignatureDoesNotMatch/,
    '... logged';

$t->done;
