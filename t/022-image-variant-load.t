#!/usr/bin/perl
# image_variant under load, on one worker: renders run on the thread pool
# and a slow origin only holds connections, so a static file on the same
# worker keeps answering within a few milliseconds while 20 variants wait
# for their origin and 20 more (10-megapixel JPEGs) are being rendered;
# and the worker's memory does not grow with the number of variants made
# (RSS after 100, 200... 500 of them, in JPEG, WebP and AVIF, 4 at a time).
#
# The sources are photo-sized: the worker itself reads a local source into
# memory (the renders only start from bytes), so 20 sources of many
# megabytes at once do hold the event loop for a while.
#
# IMAGE_VARIANT_LOAD_REQUESTS (default 500) sets the number of variants
# made for the memory check.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Image qw(have_vips create convert image_type sample_photo);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $repo = Edge::Nginx->repo;
my $N = $ENV{IMAGE_VARIANT_LOAD_REQUESTS} // 500;


# a pool no larger than the machine: renders run at the event loop's own
# priority, so more busy threads than cores would take CPU time from it
my $cpus = () = (Edge::Nginx->read_file('/proc/cpuinfo') // '')
    =~ /^processor\s*:/mg;
my $threads = $cpus < 1 ? 1 : $cpus > 4 ? 4 : $cpus;
my $t = Edge::Nginx->new(modules => ['image_variant'],
    worker_processes => 1, thread_pools => { default => "threads=$threads" });

my $photo = sample_photo();
$t->write_file('html/img/photo.jpg', $photo);
# 3840x2560: a large camera photo
$t->write_file('html/img/big.jpg',
    convert($photo, '.jpg[Q=90]', 'resize', 2));
$t->write_file('html/ping.txt', "pong\n");

# an origin that takes a second to answer
$t->backend(sub { [200, { 'Content-Type' => 'image/jpeg' }, $photo] },
    delay => 1);

$t->run(<<'EOF');
    image_variant_preset thumb width=256 height=256 fit=cover format=jpeg
                               quality=80;
    image_variant_preset auto  width=256 height=256 fit=cover format=auto
                               quality=80;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /ping.txt { root %%PREFIX%%/html; }

        location /v/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
        }

        location /auto/ {
            alias %%PREFIX%%/html/img/;
            image_variant auto;
        }

        location /slow/ {
            proxy_pass http://127.0.0.1:%%BACKEND%%/;
            image_variant thumb;
        }
    }
EOF

# Fork a client per path; each exits 0 on a 200 with an image.
sub clients {
    my (@paths) = @_;
    my @pids;
    for my $p (@paths) {
        my ($path, $accept) = ref $p ? @$p : ($p);
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $r = $t->get($path, { timeout => 60,
                $accept ? (headers => { Accept => $accept }) : () });
            POSIX::_exit($r->{status} == 200 && image_type($r->{content})
                ? 0 : 1);
        }
        push @pids, $pid;
    }
    return @pids;
}

sub failures {
    my $bad = 0;
    for (@_) {
        waitpid $_, 0;
        $bad++ if $?;
    }
    return $bad;
}

# ---- the event loop stays free

# One process holds the 40 variant requests (40 Perl processes would
# compete for the CPU with what is measured), sent 10 ms apart as real
# traffic comes; it exits 0 when every answer was a 200 with an image.
# (All at the same instant, the worker reads the 20 local sources, 30 MB,
# in one go before it gets to anything else: tens of milliseconds.)
sub load {
    my (@paths) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my %buf;
    my $sel = IO::Select->new;
    for my $path (@paths) {
        my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
            PeerPort => $t->port) or POSIX::_exit(2);
        syswrite $s, "GET $path HTTP/1.0\r\nHost: x\r\n\r\n";
        $sel->add($s);
        $buf{$s} = '';
        Time::HiRes::sleep(0.01);
    }
    my $deadline = time + 60;
    while ($sel->count && time < $deadline) {
        for my $s ($sel->can_read(1)) {
            next if sysread($s, $buf{$s}, 65536, length $buf{$s});
            $sel->remove($s);
            close $s;
        }
    }
    my $ok = grep { m{\AHTTP/1\.1 200 .*?\r\n\r\n\xff\xd8}s } values %buf;
    POSIX::_exit($ok == @paths ? 0 : 1);
}

# one static request on a new connection: milliseconds
sub probe {
    my $t0 = time;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    syswrite $s, "GET /ping.txt HTTP/1.0\r\n\r\n";
    my $buf = '';
    1 while sysread $s, $buf, 4096, length $buf;
    return $buf =~ /pong/ ? (time - $t0) * 1000 : 1e9;
}

my $worker = ($t->worker_pids)[0];
is($t->get('/v/photo.jpg')->{status}, 200, 'warm-up');

# A round: the 40 requests, and a static request every 20 ms meanwhile.
# On a shared machine another process can take the CPU for a moment: up
# to three rounds, the first that meets every bound counts (an event loop
# that waits for renders fails them all).
my @sorted;
for my $round (1 .. 3) {
    my $loader = load((('/slow/photo.jpg') x 20), (('/v/big.jpg') x 20));
    my @lat;
    while (waitpid($loader, POSIX::WNOHANG()) == 0) {
        push @lat, probe();
        Time::HiRes::sleep(0.02);
    }
    is($?, 0, "round $round: 40 concurrent variants, all 200");
    @sorted = sort { $a <=> $b } @lat;
    push @sorted, 1e9 while @sorted < 20;    # too few probes: fails
    diag sprintf 'static file during 40 variant requests (%d render '
        . 'threads): %d probes, median %.1f ms, 90%% %.1f ms, max %.1f ms',
        $threads, scalar @lat, $sorted[@sorted / 2],
        $sorted[@sorted * 0.9], $sorted[-1];
    last if $sorted[@sorted / 2] < 10 && $sorted[@sorted * 0.9] < 20
        && $sorted[-1] < 50;
}
cmp_ok($sorted[@sorted / 2], '<', 10, 'static file: median under 10 ms');
cmp_ok($sorted[@sorted * 0.9], '<', 20, 'static file: 90% under 20 ms');
cmp_ok($sorted[-1], '<', 50, 'static file: never 50 ms');

# ---- memory: RSS after 100, 200... variants

my @rss = ($t->rss_kb($worker));
my @kinds = ('/v/photo.jpg', ['/auto/photo.jpg', 'image/webp'],
             ['/auto/photo.jpg', 'image/avif']);
my ($made, $bad) = (0, 0);
while ($made < $N) {
    my @batch;
    for (1 .. 100) {
        push @batch, $kinds[$made++ % @kinds];
        last if $made >= $N;
    }
    while (my @four = splice @batch, 0, 4) {
        $bad += failures(clients(@four));
    }
    push @rss, $t->rss_kb($worker);
}
is($bad, 0, "$made variants (JPEG, WebP, AVIF), all 200");
diag 'worker RSS (kB) at 0, 100, 200... variants: ' . join ' ', @rss;
# allocators keep some memory; what matters is no steady growth: the
# second half of the run adds little over the first
if (@rss >= 5) {
    my $mid = $rss[int(@rss / 2)];
    cmp_ok($rss[-1] - $mid, '<', 8 * 1024,
           'RSS flat after the first half (under 8 MB more)')
        or diag "from $mid to $rss[-1] kB";
}
is($t->get('/ping.txt')->{content}, "pong\n", 'still serving');

$t->done;
