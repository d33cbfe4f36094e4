#!/usr/bin/perl
# Album zips whose members are s3://<bucket>/<key> objects of a private
# bucket of a real Ceph RADOS Gateway, fetched through an internal
# s3_proxy location (album_zip_s3) and gated by album_zip_allow, served
# by two nginx instances on 127.0.0.1 sharing the bucket: the same bytes,
# the same ETag and Content-Length from both, a Range from each making up
# the whole; a valid zip with every member's bytes and CRC; members
# outside the allowed prefix, of an unmapped bucket or without an allow
# list refused (403); a missing object a 404; HEAD.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Edge::Nginx;
use Edge::Ceph qw(s3_server);
use Edge::Zip qw(check_zip crc32_hex manifest_line);

my $s3 = s3_server();
my $bucket = $s3->bucket;

# members with awkward keys; the URL in the manifest is percent-encoded
my @members = (
    ['albums/2024/a.jpg',            'Day 1/a.jpg',   'A' x 1000],
    ["albums/2024/b c+d'e.jpg",      'Day 1/b.jpg',   join('', map { chr } 0 .. 255) x 40],
    ["albums/2024/\xc3\xa9t\xc3\xa9 100%.jpg", "\xc3\xa9t\xc3\xa9.jpg", "summer\n" x 3000],
    ['albums/2024/empty.jpg',        'empty.jpg',     ''],
    ['albums/2024/big.bin',          'big.bin',       pack('N*', 0 .. 60000)],
);
$s3->put($bucket, $_->[0], $_->[2]) for @members;
$s3->put($bucket, 'private/secret.jpg', 'secret');

sub enc {
    my ($k) = @_;
    $k =~ s{([^A-Za-z0-9/._~-])}{sprintf '%%%02X', ord $1}ge;
    return $k;
}

my $manifest = join '', map {
    manifest_line(crc32_hex($_->[2]), length $_->[2],
                  's3://photos/' . enc($_->[0]), $_->[1])
} @members;
my $unknown_crc = join '', map {
    manifest_line(undef, length $_->[2], 's3://photos/' . enc($_->[0]),
                  $_->[1])
} @members[0, 1];

my %manifests = (
    'full.txt'     => $manifest,
    'nocrc.txt'    => $unknown_crc,
    'private.txt'  => manifest_line(undef, 6, 's3://photos/private/secret.jpg',
                                    's.jpg'),
    'dots.txt'     => manifest_line(undef, 6,
                          's3://photos/albums/../private/secret.jpg', 's.jpg'),
    'unmapped.txt' => manifest_line(undef, 1, 's3://other/albums/x.jpg', 'x'),
    'missing.txt'  => manifest_line(undef, 3, 's3://photos/albums/none.jpg',
                                    'none.jpg'),
);

my @nodes;
for my $n (1, 2) {
    my $t = Edge::Nginx->new(modules => [qw(s3 album_zip)]);
    $t->write_file("html/albums/$_", $manifests{$_}) for keys %manifests;
    $t->write_file("html/noallow/full.txt", $manifest);
    $t->write_file('s3.cred', "aws_access_key_id = " . $s3->key_id
        . "\naws_secret_access_key = " . $s3->secret . "\n");
    $t->var(EP => $s3->endpoint);
    $t->var(BUCKET => $bucket);
    $t->run(<<'EOF');
    s3_bucket photos {
        endpoint     %%EP%%;
        bucket       %%BUCKET%%;
        credentials  %%PREFIX%%/s3.cred;
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;

        location /_s3/photos/ { internal; s3_proxy photos; }

        location /albums/ {
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_allow s3://photos/albums/;
            album_zip_s3 photos /_s3/photos/;
        }

        location /noallow/ {
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_s3 photos /_s3/photos/;
        }
    }
EOF
    push @nodes, $t;
}
my ($a, $b) = @nodes;

sub dl {
    my ($t, $path, %h) = @_;
    return $t->get($path, { headers => \%h, timeout => 30 });
}

my $ra = dl($a, '/albums/full.txt');
my $rb = dl($b, '/albums/full.txt');
is $ra->{status}, 200, 'node A: the album of s3:// members';
is $rb->{status}, 200, 'node B: the same album';
ok length $ra->{content} > 0, '... not empty';
is $ra->{content}, $rb->{content}, 'the same bytes from both nodes';
is $ra->{headers}{etag}, $rb->{headers}{etag}, 'the same ETag';
ok $ra->{headers}{etag}, '... which exists';
is $ra->{headers}{'content-length'}, $rb->{headers}{'content-length'},
    'the same Content-Length';
is $ra->{headers}{'accept-ranges'}, 'bytes', 'ranges accepted';

check_zip($a, $ra->{content}, [map { ($_->[1] => $_->[2]) } @members],
    response => $ra);

# a range from each node, making up the whole
my $len = length $ra->{content};
my $cut = int($len / 2) + 17;
my $p1 = dl($a, '/albums/full.txt', Range => "bytes=0-" . ($cut - 1));
my $p2 = dl($b, '/albums/full.txt', Range => "bytes=$cut-");
is $p1->{status}, 206, 'node A: the first part, 206';
is $p2->{status}, 206, 'node B: the rest, 206';
is $p1->{content} . $p2->{content}, $ra->{content},
    'the two parts are the whole archive';

my $p3 = dl($b, '/albums/full.txt', Range => 'bytes=1000-1099',
    'If-Range' => $ra->{headers}{etag});
is $p3->{status}, 206, 'If-Range with node A\'s ETag on node B: 206';
is $p3->{content}, substr($ra->{content}, 1000, 100), '... those bytes';

is dl($b, '/albums/full.txt', 'If-None-Match' => $ra->{headers}{etag})
    ->{status}, 304, 'If-None-Match with node A\'s ETag on node B: 304';

my $h = $a->head('/albums/full.txt');
is $h->{status}, 200, 'HEAD: 200';
is $h->{headers}{'content-length'}, $len, '... the archive\'s length';

# CRCs computed on the way (no Range then)
my $nc = dl($b, '/albums/nocrc.txt');
is $nc->{status}, 200, 'members without CRCs: 200';
check_zip($b, $nc->{content},
    [map { ($_->[1] => $_->[2]) } @members[0, 1]], label => 'no CRCs');
is $nc->{content}, dl($a, '/albums/nocrc.txt')->{content},
    '... the same bytes from node A';

# refusals
is dl($a, '/albums/private.txt')->{status}, 403,
    'a member outside album_zip_allow: 403';
isnt dl($a, '/albums/dots.txt')->{status}, 200,
    '"..": refused';
is dl($a, '/albums/unmapped.txt')->{status}, 403,
    'a bucket without album_zip_s3: 403';
is dl($a, '/noallow/full.txt')->{status}, 403,
    's3:// members without album_zip_allow: 403';
is dl($a, '/albums/missing.txt')->{status}, 404, 'a missing object: 404';

# the internal location is not for clients
is $a->get('/_s3/photos/albums/2024/a.jpg')->{status}, 404,
    'the s3_proxy location is internal';

$a->finish;
$b->done;
