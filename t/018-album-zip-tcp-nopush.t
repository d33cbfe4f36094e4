#!/usr/bin/perl
# Archives under "sendfile on; tcp_nopush on;", the configuration of a
# download server: the socket stays corked (full segments only, as for a
# static file) and no member waits for the client's delayed ACK.  A wait of
# that kind costs about 40 ms a member (60 members: over 2 s); here every
# layout of a 60-member album must arrive within a second, over HTTP/1.1
# and HTTP/2, and be a valid archive.  Layouts: sizes and CRCs known
# (sendfile), CRCs computed, sizes unknown (dynamic), a directory, and
# remote members through album_zip_remote (nginx itself plays the CDN).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Zip qw(check_zip crc32_hex manifest_line);

my $MEMBERS = 60;
my $LIMIT   = 1.0;    # seconds for one archive of about 9 MB

my $t = Edge::Nginx->new(modules => ['album_zip'],
    thread_pools => { walk => 'threads=1' });

srand 18;
sub noise { join '', map { chr int rand 256 } 1 .. $_[0] }

my (@expect, %m);
for my $i (1 .. $MEMBERS) {
    my $name = sprintf 'p%03d.jpg', $i;
    my $data = noise(150_000 + $i * 17);
    $t->write_file("html/album/$name", $data);
    push @expect, $name => $data;
    my ($crc, $size) = (crc32_hex($data), length $data);
    $m{known}  .= manifest_line($crc, $size, "/album/$name", $name);
    $m{nocrc}  .= manifest_line('-', $size, "/album/$name", $name);
    $m{nosize} .= manifest_line('-', '-', "/album/$name", $name);
    $m{remote} .= manifest_line($crc, $size,
        "http://127.0.0.1:%%CDN%%/album/$name", $name);
}

my $server = <<'EOF';
        root %%PREFIX%%/html;
        sendfile on;
        tcp_nopush on;

        location /album/ { }

        location /albums/ {
            alias %%PREFIX%%/html/;
            album_zip_directory on;
        }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_remote /_remote;
            album_zip_prefetch 4;
        }

        location /_remote {
            internal;
            proxy_pass $album_zip_url;
        }
EOF

$t->run(<<"EOF");
    album_zip_crc_cache nopush_crc:1m;

    server {
        listen 127.0.0.1:%%PORT%%;
$server
    }

    server {
        listen 127.0.0.1:%%PORT2%% http2;
$server
    }

    server {
        listen 127.0.0.1:%%PORT3%%;
        root %%PREFIX%%/html;
        sendfile on;
        tcp_nopush on;
    }
EOF

my $cdn = $t->port(3);
for my $k (keys %m) {
    (my $text = $m{$k}) =~ s/%%CDN%%/$cdn/g;
    $t->write_file("html/m/$k.txt", $text);
}

my $http2 = `curl --version` =~ /\bHTTP2\b/;

my @cases = (['/m/known.txt', 'sizes and CRCs known (sendfile)'],
    ['/m/nocrc.txt', 'CRCs computed'],
    ['/m/nosize.txt', 'sizes unknown (dynamic)'],
    ['/albums/album.zip', 'directory'],
    ['/m/remote.txt', 'remote members']);

for my $proto ('1.1', '2') {
    SKIP: {
        skip 'curl without HTTP/2', 3 * @cases if $proto eq '2' && !$http2;

        # warm-up: the page cache, and the directory's CRCs remembered
        fetch($proto, $_->[0]) for @cases;

        for my $case (@cases) {
            my ($path, $what) = @$case;
            $what = "HTTP/$proto, $what";
            my $s = fetch($proto, $path);
            is $s->{exit}, 0, "$what: curl succeeded";
            cmp_ok $s->{secs}, '<', $LIMIT, sprintf '%s: %.3f s (under %s s:'
                . ' no member waits for a delayed ACK)', $what, $s->{secs},
                $LIMIT;
            check_zip($t, $s->{body}, \@expect, label => $what);
        }
    }
}

$t->done;

sub fetch {
    my ($proto, $path) = @_;
    my $out = $t->prefix . '/tmp/download.zip';
    unlink $out;
    my $url = sprintf 'http://127.0.0.1:%d%s', $t->port($proto eq '2' ? 2
        : 1), $path;
    my @opt = $proto eq '2' ? ('--http2-prior-knowledge') : ('--http1.1');
    my $t0 = time;
    system('curl', '-sS', '--max-time', '30', @opt, '-o', $out, $url);
    my %s = (exit => $? >> 8, secs => time - $t0);
    $s{body} = $t->read_file('tmp/download.zip') // '';
    return \%s;
}
