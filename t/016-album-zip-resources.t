#!/usr/bin/perl
# album_zip resources: a 3,000-member album downloaded by a slow client
# (64 kB every few ms) while the worker's descriptors and memory are
# sampled.  Each member's file is closed once sent, so the descriptor
# count stays flat (< 50) whether the members go out with sendfile (CRCs
# known) or through memory (CRCs computed, a directory album); RSS
# growth is printed, per member too, and must stay under 2 MB plus 1 kB a
# member (t/017 measures it per member, over HTTP/2 too), also over
# HTTP/2 read at 20 MB/s.  A client that goes away mid-archive leaves no
# descriptor behind and no [error] line (info, as nginx's), and the archive
# is complete and valid for the slow client.
#
# ALBUM_ZIP_RESOURCE_FILES (default 3000) sets the album size.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use POSIX ();
use IO::Socket::IP;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx qw(parse_response);
use Edge::Nginx::Backend qw(write_all);
use Edge::Zip qw(check_zip crc32_hex manifest_line);

my $t = Edge::Nginx->new(modules => ['album_zip']);

my $N = $ENV{ALBUM_ZIP_RESOURCE_FILES} // 3000;
srand 16;

my (@expect, $manifest);
for my $i (1 .. $N) {
    my $data = join '', map { chr int rand 256 } 1 .. 2000 + int rand 20_000;
    my $name = sprintf 'roll%02d/img%05d.jpg', $i % 37, $i;
    (my $file = $name) =~ tr{/}{_};
    $t->write_file("html/media/$file", $data);
    $t->write_file("html/albums/big/$name", $data);
    $manifest .= manifest_line(crc32_hex($data), length $data,
        "/media/$file", $name);
    push @expect, $name => $data;
}
$t->write_file('html/m/big.txt', $manifest);
(my $nocrc = $manifest) =~ s/^[0-9a-f]{8} /- /mg;
$t->write_file('html/m/nocrc.txt', $nocrc);
(my $nosize = $manifest) =~ s/^([0-9a-f]{8}) \d+ /$1 - /mg;
$t->write_file('html/m/nosize.txt', $nosize);

# the archive of a directory is sorted by name
my %bytes = @expect;
my @sorted = map { ($_ => $bytes{$_}) } sort keys %bytes;

my $server = <<'EOF';
        root %%PREFIX%%/html;
        sendfile on;

        location /media/ { }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
        }

        location /albums/ {
            album_zip_directory on;
        }
EOF

$t->run(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT%%;
$server
    }

    server {
        listen 127.0.0.1:%%PORT2%% http2;
$server
    }
EOF

my ($worker) = $t->worker_pids;

# warm up: the worker's pools, buffers and the page cache
$t->get('/m/big.txt', { timeout => 60 });
$t->get('/albums/big.zip', { timeout => 60 });
$t->get('/m/nosize.txt', { timeout => 60 });

my $fd0 = $t->fd_count($worker);
my $rss0 = $t->rss_kb($worker);
diag "worker $worker: $fd0 descriptors, RSS $rss0 kB after a warm-up "
    . "download of each kind";

for my $case (['/m/big.txt', 'CRCs known (sendfile)', \@expect],
    ['/m/nocrc.txt', 'CRCs computed (through memory)', \@expect],
    ['/m/nosize.txt', 'sizes unknown (chunked)', \@expect],
    ['/albums/big.zip', 'directory album', \@sorted])
{
    my ($path, $what, $exp) = @$case;
    my $s = slow_get($path);
    my $res = parse_response($s->{raw});
    is $res->{status}, 200, "$what: 200";
    my $grew = $s->{rss_max} - $s->{rss_min};
    diag sprintf '%s: %d bytes in %.1f s (%d reads); descriptors %d..%d '
        . '(before %d); RSS %d..%d kB (+%d kB, %.2f kB per member)',
        $what, length $res->{content}, $s->{secs}, $s->{reads},
        $s->{fd_min}, $s->{fd_max}, $fd0, $s->{rss_min}, $s->{rss_max},
        $grew, $grew / $N;
    cmp_ok $s->{fd_max}, '<', 50, "$what: fewer than 50 descriptors "
        . 'throughout';
    SKIP: {
        # AddressSanitizer keeps freed memory in quarantine (256 MB)
        skip 'RSS is not the module\'s under a sanitizer or valgrind', 1
            if $ENV{TEST_NGINX_PRELOAD} || $ENV{TEST_NGINX_VALGRIND};
        # buffers of the moment, plus under 1 kB a member (a member's
        # subrequest kept until the end costs about 5 kB)
        cmp_ok $grew, '<', 2048 + $N, sprintf '%s: RSS grew by less '
            . 'than %.1f MB', $what, (2048 + $N) / 1024;
    }
    check_zip($t, $res->{content}, $exp, label => $what, response => $res);
    ok $t->wait_for(sub { $t->fd_count($worker) <= $fd0 }, 5),
        "$what: descriptors back to $fd0 after the download"
        or diag 'now ' . $t->fd_count($worker);
}

# RSS after the downloads: pools given back
diag 'RSS after the downloads: ' . $t->rss_kb($worker) . ' kB';

# ---- the same over HTTP/2, read at 20 MB/s: the stream's flow control
# holds the writer back as a slow socket does

SKIP: {
    skip 'curl without HTTP/2', 9 unless `curl --version` =~ /\bHTTP2\b/;

    for my $case (['/m/big.txt', 'CRCs known (sendfile)'],
        ['/m/nocrc.txt', 'CRCs computed (through memory)'],
        ['/m/nosize.txt', 'sizes unknown (dynamic)'])
    {
        my ($path, $what) = @$case;
        $what = "HTTP/2, 20 MB/s, $what";
        my $out = $t->prefix . '/tmp/h2.zip';
        unlink $out;
        my %s = (fd_max => 0, rss_min => $t->rss_kb($worker) // 0);
        $s{rss_max} = $s{rss_min};
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            exec('curl', '-sS', '--http2-prior-knowledge', '--limit-rate',
                '20M', '--max-time', '60', '-o', $out,
                'http://127.0.0.1:' . $t->port(2) . $path)
                or POSIX::_exit(127);
        }
        while (waitpid($pid, POSIX::WNOHANG()) == 0) {
            my $fd = $t->fd_count($worker) // 0;
            my $rss = $t->rss_kb($worker) // 0;
            $s{fd_max} = $fd if $fd > $s{fd_max};
            $s{rss_max} = $rss if $rss > $s{rss_max};
            Time::HiRes::sleep(0.01);
        }
        is $? >> 8, 0, "$what: curl succeeded";
        my $grew = $s{rss_max} - $s{rss_min};
        diag sprintf '%s: descriptors up to %d; RSS +%d kB', $what,
            $s{fd_max}, $grew;
        cmp_ok $s{fd_max}, '<', 50, "$what: fewer than 50 descriptors";
        SKIP: {
            skip 'RSS is not the module\'s under a sanitizer or valgrind',
                1 if $ENV{TEST_NGINX_PRELOAD} || $ENV{TEST_NGINX_VALGRIND};
            cmp_ok $grew, '<', 2048 + $N, sprintf '%s: RSS grew by less '
                . 'than %.1f MB', $what, (2048 + $N) / 1024;
        }
    }
    check_zip($t, $t->read_file('tmp/h2.zip') // '', \@expect,
        label => 'HTTP/2, 20 MB/s, the last');
}

# ---- a client that goes away in the middle

for my $path ('/m/big.txt', '/m/nocrc.txt', '/albums/big.zip') {
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    write_all($sock, "GET $path HTTP/1.1\r\nHost: x\r\n\r\n");
    my $buf = '';
    my $sel = IO::Select->new($sock);
    while (length $buf < 3_000_000 && $sel->can_read(5)) {
        sysread($sock, $buf, 65536, length $buf) or last;
    }
    cmp_ok length $buf, '>=', 3_000_000, "$path: 3 MB received";
    ok $t->fd_count($worker) > $fd0, "$path: the download is under way";
    close $sock;
    my $t0 = time;
    ok $t->wait_for(sub { $t->fd_count($worker) <= $fd0 }, 5),
        "$path: client gone mid-archive: descriptors back to $fd0"
        or diag 'now ' . $t->fd_count($worker);
    diag sprintf '%s: client gone: descriptors back after %.2f s', $path,
        time - $t0;
}
unlike $t->error_log, qr/\[error\].*album_zip/,
    'clients gone mid-archive: no [error] (nginx logs them at info)';
is $t->get('/media/' . ($expect[0] =~ tr{/}{_}r))->{status}, 200,
    'nginx serves on';

$t->done;

# GET with a small receive buffer, reading 64 kB every 2 ms; samples the
# worker's descriptors and RSS at every read
sub slow_get {
    my ($path) = @_;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    setsockopt $sock, SOL_SOCKET, SO_RCVBUF, 65536;
    write_all($sock, "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close"
        . "\r\n\r\n");
    my $rss = $t->rss_kb($worker) // 0;
    my %s = (raw => '', reads => 0, fd_min => 1e9, fd_max => 0,
        rss_min => $rss, rss_max => $rss);
    my $sel = IO::Select->new($sock);
    my $t0 = time;
    while ($sel->can_read(30)) {
        my $n = sysread $sock, $s{raw}, 65536, length $s{raw};
        last unless $n;
        $s{reads}++;
        my $fd = $t->fd_count($worker) // 0;
        my $rss = $t->rss_kb($worker) // 0;
        $s{fd_min} = $fd if $fd < $s{fd_min};
        $s{fd_max} = $fd if $fd > $s{fd_max};
        $s{rss_min} = $rss if $rss < $s{rss_min};
        $s{rss_max} = $rss if $rss > $s{rss_max};
        Time::HiRes::sleep(0.002);
    }
    $s{secs} = time - $t0;
    return \%s;
}
