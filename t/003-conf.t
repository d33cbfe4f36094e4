#!/usr/bin/perl
# conf/: the demo nginx.conf and every feature snippet are loaded and
# served, so that the examples in the repository never rot.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Edge::Nginx;
use Edge::Image ();

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
    my $t = Edge::Nginx->new(modules => [qw(album_zip image_variant face)],
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
    is($r->{status}, 400, 'the facedetection function answers');

    $t->finish;
    $t->cleanup;
}

# conf/album-zip.conf: a directory album and an app-made manifest
{
    my $http = slurp("$repo/conf/album-zip.conf");
    $http =~ s/127\.0\.0\.1:8081/127.0.0.1:%%PORT%%/g;
    $http =~ s/127\.0\.0\.1:8000/127.0.0.1:%%BACKEND%%/g;
    $http =~ s{/srv/photos}{%%PREFIX%%/photos}g;

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
    is($r->{status}, 400, 'the zipper job location answers');

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
                                  . ' "sources": []}' });
    is($r->{status}, 202, 'face.conf: the function accepts a job');

    $t->finish;
    $t->cleanup;
}

done_testing;
