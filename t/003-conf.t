#!/usr/bin/perl
# conf/: the demo nginx.conf and every feature snippet are loaded and
# served, so that the examples in the repository never rot.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use Digest::SHA qw(hmac_sha256);
use JSON::PP ();
use MIME::Base64 qw(encode_base64 encode_base64url);
use Test::More;
use Edge::Nginx;
use Edge::Image qw(info image_type sample_photo);

my $repo = Edge::Nginx->repo;

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return <$fh>;
}

# the http { } block of a full configuration file
sub http_block {
    my ($text) = @_;
    $text =~ /^http\s*\{\n(.*)^\}/ms or die 'no http block';
    return $1;
}

my @photos = map { "sample$_.jpg" } 1 .. 6;

SKIP: {
    skip 'sample photos not fetched (make models)', 1
        unless -f "$repo/demo/fixtures/sample1.jpg";

    # the demo: its relative paths are relative to the repository
    my $http = http_block(slurp("$repo/conf/nginx.conf"));

    # the harness writes its own logs, types and temporary paths
    $http =~ s/^\s*(?:include|default_type|access_log|\w+_temp_path)\s.*;\n//mg;
    $http =~ s/127\.0\.0\.1:8080/127.0.0.1:%%PORT%%/g;
    $http =~ s{(\s)demo/}{$1%%REPO%%/demo/}g;
    $http =~ s{(face_models\s+)models;}{$1%%REPO%%/models;};
    $http =~ s{(face_spool\s+)build/run/}{$1%%PREFIX%%/};

    # the main context's thread_pool, as the harness writes it
    my $t = Edge::Nginx->new(
        modules => [qw(album_zip image_variant face edge_metrics)],
        thread_pools => { face => 'threads=2 max_queue=64' });
    $t->run($http);

    like($t->get('/')->{content}, qr{/albums/demo\.zip}, 'demo index');

    my $r = $t->get('/albums/demo/sample1.jpg');
    is($r->{status}, 200, 'a demo photo');
    is(length $r->{content}, -s "$repo/demo/fixtures/sample1.jpg",
       'its bytes');

    $r = $t->get('/albums/demo.zip');
    is($r->{status}, 200, 'the demo album as a zip');
    is($r->{headers}{'content-type'}, 'application/zip', 'zip type');
    like($r->{headers}{'content-disposition'}, qr/filename="demo\.zip"/,
         'named after the album');

    my $zip = $t->write_file('tmp/demo.zip', $r->{content});
    my $list = `unzip -Z1 $zip 2>&1`;
    is_deeply([ split /\n/, $list ], \@photos, 'the six sample photos');
    like(`unzip -t $zip 2>&1`, qr/No errors detected/, 'unzip -t');

    $r = $t->get('/avatars/sample1.jpg');
    is($r->{status}, 200, 'an avatar of a demo photo');
    is($r->{headers}{'content-type'}, 'image/jpeg', 'JPEG for curl');
    my $avatar = $t->write_file('tmp/avatar.jpg', $r->{content});
    like(`vipsheader $avatar 2>&1`, qr/ 256x256 /, '256x256');

    $r = $t->get('/avatars/sample1.jpg',
                 { headers => { Accept => 'image/avif,image/webp,*/*' } });
    is($r->{headers}{'content-type'}, 'image/avif', 'AVIF for a browser');

    $r = $t->get('/thumbs/sample1.jpg');
    my $thumb = $t->write_file('tmp/thumb.jpg', $r->{content});
    like(`vipsheader $thumb 2>&1`, qr/ 320x\d+ | \d+x320 /,
         'a thumbnail inside 320x320');

    $r = $t->request('POST', '/faces', { content =>
        Edge::Image::slurp("$repo/demo/fixtures/sample1.jpg") });
    is($r->{status}, 200, 'the faces of a demo photo');
    like($r->{content}, qr/"encoding":\s*\[/, 'with encodings');

    $r = $t->request('POST',
                     '/2015-03-31/functions/facedetection/invocations',
                     { content => '{}' });
    is($r->{status}, 200, 'the facedetection function answers');
    is($r->{headers}{'x-amz-function-error'}, 'Unhandled',
       '... {} under RequestResponse: an error of the function');

    # the demo's metrics counted what came before (at the log phase,
    # which may trail the answer a little)
    my $counted = qr/^photo_edge_requests_total\{module="face",[^}]*\} [1-9]/m;
    ok($t->wait_for(sub { $t->get('/metrics')->{content} =~ $counted }, 5),
       'the demo\'s /metrics counts the face requests made above');

    $t->finish;
    $t->cleanup;
}

# conf/album-zip.conf: a directory album and an app-made manifest
{
    my $http = slurp("$repo/conf/album-zip.conf");
    $http =~ s/127\.0\.0\.1:8081/127.0.0.1:%%PORT%%/g;
    $http =~ s/127\.0\.0\.1:8000/127.0.0.1:%%BACKEND%%/g;
    $http =~ s{/srv/photos}{%%PREFIX%%/photos}g;
    $http =~ s{/var/cache/nginx/album_zip_crc}{%%PREFIX%%/crc}g;

    my $t = Edge::Nginx->new(modules => ['album_zip']);
    $t->write_file('photos/albums/summer/a.jpg', 'a' x 100);
    $t->write_file('photos/albums/summer/b.jpg', 'b' x 200);
    $t->write_file('photos/media/c.jpg', 'c' x 300);

    $t->backend(sub {
        return [200, { 'X-Album-Zip' => 'zip',
                       'Content-Type' => 'text/plain' },
                "- 300 /media/c.jpg Trip/c.jpg\n"];
    });

    $t->run($http);

    my $r = $t->get('/albums/summer.zip');
    is($r->{status}, 200, 'album-zip.conf: directory album');
    my $zip = $t->write_file('tmp/summer.zip', $r->{content});
    is(`unzip -Z1 $zip`, "a.jpg\nb.jpg\n", 'its members');

    $r = $t->get('/download/trip');
    is($r->{status}, 200, 'album-zip.conf: manifest from the app');
    $zip = $t->write_file('tmp/trip.zip', $r->{content});
    is(`unzip -p $zip Trip/c.jpg`, 'c' x 300, 'an internal member');

    is($t->get('/media/c.jpg')->{status}, 404,
       'members are not reachable directly');

    $r = $t->request('POST', '/2015-03-31/functions/zipper/invocations',
                     { content => '{}',
                       headers => { 'Content-Type' => 'application/json' } });
    is($r->{status}, 200, 'the zipper job location answers');
    is($r->{headers}{'x-amz-function-error'}, 'Unhandled',
       '... a payload without sources: an error of the function');

    $t->finish;
    $t->cleanup;
}

# conf/image-ingest.conf: both auth styles, the variants served afterwards
{
    my $http = slurp("$repo/conf/image-ingest.conf");
    $http =~ s/127\.0\.0\.1:8084/127.0.0.1:%%PORT%%/g;
    $http =~ s/127\.0\.0\.1:8000/127.0.0.1:%%BACKEND%%/g;
    $http =~ s{/srv/www}{%%PREFIX%%/www}g;
    my ($key) = $http =~ /image_ingest_sign_key\s+"([^"]+)"/;

    my $t = Edge::Nginx->new(modules => ['image_variant'],
        thread_pools => { image_variant => 'threads=2' });

    # the app: verifies a token, takes notifications
    $t->backend(sub {
        my ($req) = @_;
        if ($req->{path} eq '/auth/verify') {
            return ($req->{headers}{authorization} // '') eq 'Bearer jwt'
                ? [204, { 'X-User-Id' => 'user-1' }, '']
                : [401, {}, ''];
        }
        return [200, {}, 'ok'];
    });

    $t->write_file('www/index.html', '');   # the store's parent
    $t->run($http);
    my $json = JSON::PP->new;

    my $photo = sample_photo();
    my $md5 = md5_hex($photo);
    my $exp = time + 300;
    my $s = encode_base64url(hmac_sha256("PUT\n/upload/me\n$exp", $key));

    my $r = $t->request('PUT', '/upload/me', { content => $photo });
    is($r->{status}, 403, 'image-ingest.conf: unsigned upload refused');
    $r = $t->request('PUT', "/upload/me?expires=$exp&s=$s",
                     { content => $photo });
    is($r->{status}, 201, 'image-ingest.conf: presigned upload stored');
    my $doc = eval { $json->decode($r->{content}) } // {};
    is($doc->{variants}{avatar}, "/img/avatar/$md5.jpg", 'its avatar URI');

    $r = $t->get($doc->{variants}{avatar} // '/none');
    is("$r->{status} " . image_type($r->{content}), '200 jpeg',
       'the avatar, a static file');
    my $i = info($r->{content});
    is("$i->{width}x$i->{height}", '256x256', '256x256');
    $r = $t->get("/img/thumb/$md5.avif");
    is("$r->{status} $r->{headers}{'content-type'}", '200 image/avif',
       'the thumb as AVIF');
    $r = $t->get("/img/avatar/$md5",
                 { headers => { Accept => 'image/webp,*/*' } });
    is("$r->{status} $r->{headers}{'content-type'}", '200 image/webp',
       'negotiated: WebP for a browser that takes it');
    is($t->get("/img/$md5.jpg")->{status}, 404, 'the original is not public');
    is($t->get("/img/$md5.json")->{status}, 404, 'nor its metadata');
    $r = $t->get("/v/banner/$md5.jpg");
    $i = $r->{status} == 200 ? info($r->{content}) : {};
    is("$r->{status} " . ($i->{width} // '') . 'x' . ($i->{height} // ''),
       '200 1500x500', 'another preset from the original by image_variant');

    my $body = $json->encode({ data => { image => encode_base64(
        Edge::Image::png(width => 8, height => 8, fill => [1, 2, 3]), '') } });
    $r = $t->request('POST', '/api/images', { content => $body });
    is($r->{status}, 401, 'image-ingest.conf: no JWT, 401');
    $r = $t->request('POST', '/api/images', { content => $body,
        headers => { Authorization => 'Bearer jwt' } });
    is($r->{status}, 201, 'image-ingest.conf: JWT checked by the app, 201');
    $doc = eval { $json->decode($r->{content}) } // {};
    my $meta = eval { $json->decode($t->read_file("www/img/$doc->{key}.json")) }
        // {};
    is($meta->{meta}{user}, 'user-1', 'the user id from auth_request');

    ok($t->wait_for(sub {
           2 == grep { $_->{path} eq '/hooks/image-stored' }
                $t->backend_requests }, 5),
       'the app heard of both images');

    $t->finish;
    $t->cleanup;
}

# conf/face.conf: both face endpoints
SKIP: {
    skip 'models not fetched (make models)', 3
        unless -f "$repo/models/face_recognition_model.bin";

    my $http = slurp("$repo/conf/face.conf");
    $http =~ s/127\.0\.0\.1:8082/127.0.0.1:%%PORT%%/g;
    $http =~ s{(face_models\s+)models;}{$1%%REPO%%/models;};
    $http =~ s{/var/lib/nginx/}{%%PREFIX%%/};

    my $t = Edge::Nginx->new(modules => ['face'],
        thread_pools => { face => 'threads=2 max_queue=64' });
    $t->run($http);

    my $r = $t->request('POST', '/faces', { content => 'not an image' });
    is($r->{status}, 415, 'face.conf: /faces answers');

    $r = $t->request('POST',
                     '/2015-03-31/functions/facedetection/invocations',
                     { content => '{"api_url": "https://photos.example.com",'
                                  . ' "sources": []}',
                       headers => { 'X-Amz-Invocation-Type' => 'Event' } });
    is($r->{status}, 202, 'face.conf: the function accepts a job');

    $t->finish;
    $t->cleanup;
}

# conf/lambda.conf: the Invoke API in front of both functions
SKIP: {
    skip 'models not fetched (make models)', 4
        unless -f "$repo/models/face_recognition_model.bin";

    my $http = slurp("$repo/conf/lambda.conf");
    $http =~ s/127\.0\.0\.1:8083/127.0.0.1:%%PORT%%/g;
    $http =~ s{(face_models\s+)models;}{$1%%REPO%%/models;};
    $http =~ s{/var/lib/nginx/}{%%PREFIX%%/};
    $http =~ s{/etc/nginx/}{%%PREFIX%%/};

    my $t = Edge::Nginx->new(modules => [qw(face album_zip lambda)],
        thread_pools => { face => 'threads=2 max_queue=64' });
    $t->write_file('lambda.keys', "AKIDEXAMPLE0000000001 a-secret\n");
    $t->run($http);

    my $r = $t->request('POST', '/2015-03-31/functions/arn%3Aaws%3Alambda'
        . '%3Aeu-west-1%3A627002765486%3Afunction%3Aconcrexit-production-'
        . 'zipper/invocations', { content => '{}' });
    is($r->{status}, 403, 'lambda.conf: unsigned is refused');
    is($r->{headers}{'x-amzn-errortype'},
       'MissingAuthenticationTokenException', '... as Lambda does');
    ok($r->{headers}{'x-amzn-requestid'}, '... with a request id');

    $r = $t->get('/2015-03-31/functions/nothere/invocations');
    is($r->{status}, 403, 'lambda.conf: authentication first');

    $t->finish;
    $t->cleanup;
}

done_testing;
