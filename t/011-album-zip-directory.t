#!/usr/bin/perl
# album_zip_directory: GET /<dir>.zip of a static location streams every
# regular file under <dir>, recursively, sorted byte-wise, hidden files
# and directories skipped, symlinks inside the album kept and symlinks
# leaving it refused.  A missing directory is a 404, the files themselves
# are still served statically, HEAD gives the same headers, the archive
# is the same bytes every time (with or without remembered CRCs), framed
# without data descriptors, and it answers Range and If-None-Match.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Edge::Nginx;
use Edge::Zip qw(check_zip);

my $t = Edge::Nginx->new(modules => ['album_zip'],
    thread_pools => { walk => 'threads=1' });
my $prefix = $t->prefix;

srand 11;
sub noise { join '', map { chr int rand 256 } 1 .. $_[0] }

# ---- the album "trip", the file outside it, and a second album

my %file = (
    'a.jpg'            => noise(50_000),
    'B.jpg'            => noise(1_000),
    'b.jpg'            => noise(2_000),
    'b/c.jpg'          => noise(3_000),
    'b/d/e.jpg'        => noise(4_000),
    "b/\xc3\xa9t\xc3\xa9.jpg" => noise(5_000),    # b/été.jpg
    'z z.jpg'          => noise(6_000),
    'empty.txt'        => '',
);
my $T = 1700000000;
for my $n (sort keys %file) {
    my $p = $t->write_file("html/albums/trip/$n", $file{$n});
    utime $T, $T + length $n, $p or die;    # a different time for each
}
$t->write_file('html/albums/trip/.hidden.jpg', 'hidden');
$t->write_file('html/albums/trip/.git/config', 'hidden dir');
$t->write_file('html/albums/trip/b/.DS_Store', 'hidden in a sub-directory');
$t->write_file('html/albums/secret.txt', 'outside the album');
$t->write_file('html/secret2.txt', 'far outside the album');
mkdir "$prefix/html/albums/trip/empty-dir" or die;

# symlinks: to a file inside (kept, under its own name), to files outside,
# to a directory inside (not followed), dangling
my $d = "$prefix/html/albums/trip";
symlink 'b/c.jpg', "$d/link.jpg" or die;
symlink '../secret.txt', "$d/out.jpg" or die;
symlink "$prefix/html/secret2.txt", "$d/b/abs-out.jpg" or die;
symlink 'b', "$d/dirlink" or die;
symlink 'nowhere.jpg', "$d/dangling.jpg" or die;

# what the archive holds, in order: byte-wise sorted paths
my @names = sort(keys %file, 'link.jpg');
my @expect = map { $_ => ($_ eq 'link.jpg' ? $file{'b/c.jpg'} : $file{$_}) }
    @names;

$t->write_file('html/albums/solo/only.jpg', 'just one');
mkdir "$prefix/html/albums/void" or die;

$t->run(<<'EOF');
    album_zip_crc_cache dir_crc:1m;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        sendfile on;

        location /albums/ {
            album_zip_directory on;
        }

        location /nocache/ {
            alias %%PREFIX%%/html/albums/;
            album_zip_directory on;
            album_zip_crc_cache off;
        }

        location /plain/ {
            alias %%PREFIX%%/html/albums/;
        }

        location /few/ {
            alias %%PREFIX%%/html/albums/;
            album_zip_directory on;
            album_zip_max_files 3;
            album_zip_thread_pool walk;
        }
    }
EOF

# ---- the album

my $r = $t->get('/nocache/trip.zip');
is $r->{status}, 200, 'directory: 200';
is $r->{headers}{'content-type'}, 'application/zip', 'application/zip';
is $r->{headers}{'content-disposition'},
    q{attachment; filename="trip.zip"; filename*=UTF-8''trip.zip},
    'named after the directory';
ok defined $r->{headers}{'content-length'}, 'Content-Length';
is $r->{headers}{'accept-ranges'}, 'bytes',
    'Accept-Ranges from the first download (CRCs computed ahead)';
like $r->{headers}{etag} // '', qr/^"[0-9a-f]{32}"\z/, 'a strong ETag';
is $r->{headers}{'last-modified'},
    gmtime_http($T + (sort { $b <=> $a } map { length } keys %file)[0]),
    'Last-Modified: the newest file';
check_zip($t, $r->{content}, \@expect, label => 'directory',
    response => $r, descriptor => 0,
    mtimes => { map { $_ => $T + length($_ eq 'link.jpg' ? 'b/c.jpg' : $_) }
        grep { $_ ne 'link.jpg' } @names });
my $zip = $r->{content};
my $etag = $r->{headers}{etag};

my $log = $t->error_log;
like $log, qr/album_zip: "[^"]*trip": 4 links leaving the album or too deep/,
    'the refused links are logged (out, abs-out, dirlink, dangling)';

# ---- the same album again: the same bytes

$r = $t->get('/nocache/trip.zip');
is $r->{content}, $zip, 'again: byte-identical';
is $r->{headers}{etag}, $etag, 'again: the same ETag';

# ---- HEAD

my $h = $t->head('/nocache/trip.zip');
is $h->{status}, 200, 'HEAD: 200';
is $h->{headers}{'content-length'}, length $zip, 'HEAD: the Content-Length';
is $h->{headers}{etag}, $etag, 'HEAD: the ETag';
my $raw = $t->raw("HEAD /nocache/trip.zip HTTP/1.1\r\nHost: x\r\n"
    . "Connection: close\r\n\r\n");
my $i = index $raw, "\r\n\r\n";
ok $i > 0 && length($raw) == $i + 4, 'HEAD: no body';

# ---- the files are still served as files

$r = $t->get('/albums/trip/a.jpg');
is $r->{status}, 200, 'a file of the album: 200';
ok $r->{content} eq $file{'a.jpg'}, '... its bytes';
is $r->{headers}{'content-type'}, 'image/jpeg', '... as image/jpeg';
$r = $t->get('/albums/trip/b/d/e.jpg');
ok $r->{content} eq $file{'b/d/e.jpg'}, 'a nested file: its bytes';
$r = $t->get('/albums/trip/a.jpg', { headers => { Range => 'bytes=0-9' } });
is $r->{status}, 206, 'a file of the album: Range still works';
is $r->{content}, substr($file{'a.jpg'}, 0, 10), '... the bytes';
$r = $t->get('/plain/trip.zip');
is $r->{status}, 404, 'without album_zip_directory: no archive (404)';

# ---- missing, empty, not a directory

$r = $t->get('/albums/nope.zip');
is $r->{status}, 404, 'a missing directory: 404';
$r = $t->get('/albums/void.zip');
is $r->{status}, 404, 'a directory without files: 404';
$r = $t->get('/albums/secret.txt.zip');
is $r->{status}, 404, 'a file, not a directory: 404';
$r = $t->get('/albums/.zip');
is $r->{status}, 404, '"/albums/.zip": 404';
$r = $t->request('POST', '/albums/trip.zip', { content => 'x' });
is $r->{status}, 405, 'POST: 405';

# ---- album_zip_max_files, album_zip_thread_pool

$r = $t->get('/few/trip.zip');
is $r->{status}, 413, 'more files than album_zip_max_files: 413';
like $t->error_log, qr/\[error\].*album_zip: "[^"]*trip" has more than album_zip_max_files 3 files/,
    '... logged';
$r = $t->get('/few/solo.zip');
is $r->{status}, 200, 'album_zip_thread_pool walk: 200';
check_zip($t, $r->{content}, ['only.jpg' => 'just one'],
    label => 'walked on another pool', response => $r);

# ---- a one-file album; traversal in the URI

$r = $t->get('/albums/solo.zip');
check_zip($t, $r->{content}, ['only.jpg' => 'just one'], label => 'solo',
    response => $r);
$r = $t->get('/albums/../secret2.txt.zip');
isnt $r->{status}, 200, 'dot segments: no archive outside the root';

# ---- the CRC cache: the same bytes, then Range and If-None-Match

$r = $t->get('/albums/trip.zip');
is $r->{status}, 200, 'cached: 200';
ok $r->{content} eq $zip, 'cached, first time: the same bytes';
$r = $t->get('/albums/trip.zip');
ok $r->{content} eq $zip, 'cached, CRCs remembered: the same bytes';
is $r->{headers}{etag}, $etag, 'cached: the same ETag';
is $r->{headers}{'accept-ranges'}, 'bytes',
    'CRCs remembered: Accept-Ranges';
$r = $t->get('/albums/trip.zip', { headers => { Range => 'bytes=100-50099' } });
is $r->{status}, 206, 'CRCs remembered: Range: 206';
ok $r->{content} eq substr($zip, 100, 50_000), '... the bytes';
is $r->{headers}{'content-range'}, 'bytes 100-50099/' . length $zip,
    '... Content-Range';
$r = $t->get('/albums/trip.zip',
    { headers => { Range => 'bytes=' . length($zip) . '-' } });
is $r->{status}, 416, 'CRCs remembered: a range past the end: 416';
is $r->{headers}{'content-range'}, 'bytes */' . length $zip,
    '... Content-Range: bytes */N';
$r = $t->get('/albums/trip.zip', { headers => { 'If-None-Match' => $etag } });
is $r->{status}, 304, 'If-None-Match with the ETag: 304';

# a file changes: other bytes, another ETag
$t->write_file('html/albums/trip/b/c.jpg', 'changed');
$r = $t->get('/albums/trip.zip');
isnt $r->{headers}{etag}, $etag, 'a file changed: another ETag';
my %changed = @expect;
$changed{'b/c.jpg'} = $changed{'link.jpg'} = 'changed';
check_zip($t, $r->{content}, [map { $_ => $changed{$_} } @names],
    label => 'changed album', response => $r);

$t->done;

sub gmtime_http {
    my @g = gmtime shift;
    return sprintf '%s, %02d %s %d %02d:%02d:%02d GMT',
        (qw(Sun Mon Tue Wed Thu Fri Sat))[$g[6]], $g[3],
        (qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec))[$g[4]],
        $g[5] + 1900, @g[2, 1, 0];
}
