#!/usr/bin/perl
# Archives over every transport: HTTP/1.1 and HTTP/2, in the clear and over
# TLS, under "sendfile on; tcp_nopush on;" (a download server's
# configuration).
#   - Fast clients: the socket stays corked (full segments only, as for a
#     static file) and no member waits for the client's delayed ACK.  A
#     wait of that kind costs about 40 ms a member (60 members: over 2 s);
#     every layout of a 60-member album must arrive within a second:
#     sizes and CRCs known (sendfile), CRCs computed, sizes unknown
#     (dynamic), a directory, and remote members through album_zip_remote
#     (nginx itself plays the CDN).
#   - Slow clients over TLS (curl --limit-rate): the writer waits for the
#     client, never for a TLS record that nginx keeps back until more data
#     comes (that wait lasted until send_timeout), and member files are
#     closed once their bytes are out, also when TLS sends them from
#     memory: the download finishes at the client's pace, with few
#     descriptors.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use List::Util qw(max);
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

# a self-signed certificate for the TLS listener
my $conf = $t->prefix . '/conf';
system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
    . " -keyout $conf/key.pem -out $conf/cert.pem 2>/dev/null") == 0
    or BAIL_OUT('openssl could not make a certificate');

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
        listen 127.0.0.1:%%PORT4%% ssl http2;
        ssl_certificate     %%PREFIX%%/conf/cert.pem;
        ssl_certificate_key %%PREFIX%%/conf/key.pem;
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

for my $proto ('1.1', '2', 'TLS 1.1', 'TLS 2') {
    SKIP: {
        skip 'curl without HTTP/2', 3 * @cases if $proto =~ /2/ && !$http2;

        # warm-up: the page cache, and the directory's CRCs remembered
        fetch($proto, $_->[0]) for @cases;

        for my $case (@cases) {
            my ($path, $what) = @$case;
            $what = ($proto =~ /^TLS (.*)/ ? "HTTPS/$1" : "HTTP/$proto")
                . ", $what";
            my $s = fetch($proto, $path);
            is $s->{exit}, 0, "$what: curl succeeded";
            cmp_ok $s->{secs}, '<', $LIMIT, sprintf '%s: %.3f s (under %s s:'
                . ' no member waits for a delayed ACK)', $what, $s->{secs},
                $LIMIT;
            check_zip($t, $s->{body}, \@expect, label => $what);
        }
    }
}

# ---- slow clients over TLS, and over HTTP/2 in the clear

my ($worker) = $t->worker_pids;
my $fd0 = $t->fd_count($worker);

for my $proto ('TLS 1.1', 'TLS 2', '2') {
    SKIP: {
        skip 'curl without HTTP/2', 4 * 3 if $proto =~ /2/ && !$http2;

        for my $path ('/m/known.txt', '/m/nocrc.txt', '/m/nosize.txt') {
            my $what = ($proto =~ /^TLS (.*)/ ? "HTTPS/$1" : "HTTP/$proto")
                . ", 6 MB/s, $path";
            my $s = fetch($proto, $path, '--limit-rate', '6M',
                sub { $_[0]{fd_max} = max($_[0]{fd_max} // 0,
                    $t->fd_count($worker) // 0) });
            is $s->{exit}, 0, "$what: curl succeeded";
            cmp_ok $s->{secs}, '<', 10, sprintf '%s: %.2f s (at the'
                . ' client\'s pace, under 10 s)', $what, $s->{secs};
            cmp_ok $s->{fd_max}, '<', $fd0 + 20, "$what: at most"
                . " $s->{fd_max} descriptors (idle: $fd0)";
            check_zip($t, $s->{body}, \@expect, label => $what);
        }
    }
}

$t->done;

# curl: exit code, seconds and body; $probe runs every 10 ms meanwhile
sub fetch {
    my ($proto, $path, @more) = @_;
    my $probe = ref $more[-1] eq 'CODE' ? pop @more : undef;
    my $out = $t->prefix . '/tmp/download.zip';
    unlink $out;
    my $tls = $proto =~ /TLS/;
    my $url = sprintf '%s://127.0.0.1:%d%s', $tls ? 'https' : 'http',
        $t->port($tls ? 4 : $proto eq '2' ? 2 : 1), $path;
    my @opt = $proto eq '2' ? ('--http2-prior-knowledge')
        : $proto eq 'TLS 2' ? ('--http2', '-k') : $tls ? ('--http1.1', '-k')
        : ('--http1.1');
    my %s;
    my $t0 = time;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        exec('curl', '-sS', '--max-time', '30', @opt, @more, '-o', $out,
            $url) or POSIX::_exit(127);
    }
    until (waitpid($pid, POSIX::WNOHANG()) == $pid) {
        $probe->(\%s) if $probe;
        Time::HiRes::sleep(0.01);
    }
    $s{exit} = $? >> 8;
    $s{secs} = time - $t0;
    $s{body} = $t->read_file('tmp/download.zip') // '';
    return \%s;
}
