#!/usr/bin/perl
# album_zip_directory names only albums strictly below its location: a
# final "." or ".." segment made by cutting ".zip" off the URI, in every
# spelling (plain, percent-encoded, upper case), is a 404 and logged, in
# root and alias locations, in "location /" and in a location whose name
# has no trailing slash (whose own directory "/pics.zip" is an album).  A symlinked album leading out of the location's
# directory is refused, one leading to another album inside it is not.
# Nothing of the site's other files, nor of an internal location, is
# ever zipped.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Edge::Nginx;
use Edge::Zip qw(check_zip);

my $t = Edge::Nginx->new(modules => ['album_zip']);
my $prefix = $t->prefix;

# the site: albums, an internal media directory, a secret at the root
$t->write_file('site/albums/demo/a.jpg', 'demo photo');
$t->write_file('site/albums/trip/b.jpg', 'trip photo');
$t->write_file('site/media/private.txt', 'internal only');
$t->write_file('site/app.env', 'SECRET=1');
symlink 'trip', "$prefix/site/albums/best" or die;
symlink '/etc', "$prefix/site/albums/trip/link-to-etc" or die;
symlink '../../media', "$prefix/site/albums/trip/link-to-media" or die;
symlink "$prefix/site", "$prefix/site/albums/demo/link-to-site" or die;

$t->run(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/site;

        location /albums/ {
            album_zip_directory on;
        }

        location /gallery/ {
            alias %%PREFIX%%/site/albums/;
            album_zip_directory on;
        }

        location /pics {
            alias %%PREFIX%%/site/albums;
            album_zip_directory on;
        }

        location /media/ {
            internal;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        root %%PREFIX%%/site/albums;

        location / {
            album_zip_directory on;
        }
    }
EOF

my $root_port = $t->port(2);

# ---- albums below the location: still zipped

for my $uri ('/albums/demo.zip', '/gallery/demo.zip', '/pics/demo.zip') {
    my $r = $t->get($uri);
    is $r->{status}, 200, "$uri: 200";
    check_zip($t, $r->{content}, ['a.jpg' => 'demo photo'], label => $uri,
        response => $r);
}

my $r = $t->get('/albums/best.zip');
is $r->{status}, 200, 'a symlinked album inside the location: 200';
check_zip($t, $r->{content}, ['b.jpg' => 'trip photo'],
    label => 'symlinked album', response => $r);

$r = $t->request('GET', '/demo.zip', { port => $root_port });
is $r->{status}, 200, 'location /: an album below the root: 200';

# ---- every spelling of a final "." or ".." segment

my @dots = (
    '...zip', '%2E%2E.zip', '..%2ezip', '%2e%2e%2ezip', '.%2E.zip',
    '%2E%2E%2E%7A%69%70', '...ZIP', '%2E%2E.ZiP', '..zip', '%2e.zip',
    '.%2Ezip', '%2E%2Ezip',
);

for my $loc ('/albums/', '/gallery/', '/pics/', '/albums/demo/',
    '/gallery/demo/', '/albums/demo/b/../')
{
    for my $d (@dots) {
        my $uri = "$loc$d";
        $r = $t->get($uri);
        is $r->{status}, 404, "$uri: 404";
        unlike $r->{content}, qr/\APK/, "$uri: no archive";
    }
}

for my $d (@dots) {
    $r = $t->request('GET', "/$d", { port => $root_port });
    is $r->{status}, 404, "location /: /$d: 404";
    unlike $r->{content}, qr/\APK/, "location /: /$d: no archive";
}

like $t->error_log,
    qr/\[error\].*album_zip: "\/albums\/\.\.\.zip" names no album below the location/,
    'the refusal is logged';

# ---- the location's own directory, and what only looks like it

$r = $t->get('/pics.zip');
is $r->{status}, 200, '/pics.zip in "location /pics": its own directory';
check_zip($t, $r->{content}, ['demo/a.jpg' => 'demo photo',
    'trip/b.jpg' => 'trip photo'], label => '/pics.zip', response => $r);
$r = $t->get('/pics/.zip');
is $r->{status}, 404, '/pics/.zip: 404';
$r = $t->get('/picsX.zip');
is $r->{status}, 404, '/picsX.zip (not below "/pics"): 404';

# ---- symlinked albums leading out of the location

for my $uri ('/albums/trip/link-to-etc.zip', '/gallery/trip/link-to-etc.zip',
    '/albums/trip/link-to-media.zip', '/albums/demo/link-to-site.zip')
{
    $r = $t->get($uri);
    is $r->{status}, 404, "$uri: 404";
    unlike $r->{content}, qr/\APK/, "$uri: no archive";
}

like $t->error_log,
    qr/\[error\].*album_zip: "[^"]*link-to-etc" leads to "\/etc", outside "[^"]*site\/albums\/"/,
    'a symlinked album leaving the location is logged';

# ---- the access log agrees: no dotted request was ever answered 200

unlike $t->access_log, qr/"GET [^"]*(?:\.\.|%2e)[^"]*" 200 /i,
    'no request with dots or "%2e" answered 200';

$t->done;
