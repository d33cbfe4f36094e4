#!/usr/bin/perl
# The thread-task watchdog (src/edge/ngx_http_edge_task.c), seen through
# image_variant_thread_timeout: a render that outlives it is answered 503
# at once with an [alert] naming the module, the work and the URI; the
# render goes on in its thread, and its late completion only releases the
# request (a warning, no crash, no second answer).  The timer covers the
# wait in the queue too.  The same thread pool then serves the next
# renders as usual.  0 turns the watchdog off.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Image qw(have_vips png convert image_type sample_photo);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');


my $t = Edge::Nginx->new(modules => ['image_variant'],
    thread_pools => { one => 'threads=1 max_queue=16' });

# PNG cannot be decoded at a reduced size: 5760x3840 takes some 0.3-1.2 s
my $photo = sample_photo();
# big enough that a render outlasts the watchdogs below with room to
# spare, even on a fast machine (a 5760x3840 PNG: about 0.4 s idle)
my $big = convert($photo, '.png[compression=1]', 'resize', 3);
my $small = png(width => 100, height => 100, fill => [200, 30, 30]);

$t->write_file('html/img/big.png', $big);
$t->write_file('html/img/small.png', $small);

# the expected ones; any other [alert] fails the file
$t->allow_log(qr/\[alert\].*image_variant: render of "\/(wd|queue)\/\w+\.png" still running after \d+ms/);

$t->run(<<'EOF');
    image_variant_preset thumb width=64 height=64 fit=cover format=jpeg;

    server {
        listen 127.0.0.1:%%PORT%%;
        image_variant_max_input 200m;

        location /v/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
            image_variant_thread_pool one;
        }

        location /wd/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
            image_variant_thread_pool one;
            image_variant_thread_timeout 50ms;
        }

        location /off/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
            image_variant_thread_pool one;
            image_variant_thread_timeout 0;
        }

        location /queue/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
            image_variant_thread_pool one;
            image_variant_thread_timeout 100ms;
        }
    }
EOF

my $slow = $ENV{TEST_NGINX_VALGRIND} ? 10 : 1;

sub late_count {
    my @l = $t->error_log =~ /render of "[^"]+" ended after its watchdog/g;
    return scalar @l;
}

# the first render sets libvips up
my $r = $t->get('/v/small.png');
is("$r->{status} " . image_type($r->{content}), '200 jpeg', 'warm up');

my $t0 = time;
$r = $t->get('/v/big.png');
my $render = time - $t0;
is($r->{status}, 200, 'a big render without a watchdog of 50 ms');
diag sprintf 'a 5760x3840 PNG takes %.0f ms', $render * 1000;

$r = $t->get('/off/big.png');
is($r->{status}, 200, 'image_variant_thread_timeout 0: no watchdog');

# ---- the watchdog answers a render that outlives it

$t0 = time;
$r = $t->get('/wd/big.png');
my $dt = time - $t0;

is($r->{status}, 503, 'render past image_variant_thread_timeout: 503');
cmp_ok($dt, '<', $render * 0.8 + 0.5 * ($slow - 1), 'answered before the '
       . 'render ended') or diag sprintf '%.0f ms', $dt * 1000;

like($t->error_log,
     qr/\[alert\].*image_variant: render of "\/wd\/big\.png" still running after 50ms/,
     'an [alert] names the module, the work and the URI');

# a keep-alive client: told the connection closes (once the thread ends)
$r = Edge::Nginx::parse_response($t->raw(
    "GET /wd/big.png HTTP/1.1\r\nHost: x\r\n\r\n",
    timeout => 10 * $slow));
is($r->{status}, 503, 'keep-alive: 503');
is($r->{headers}{connection}, 'close', 'keep-alive: the connection closes');
ok(!$t->raw_timed_out, 'keep-alive: ... and is closed');

# the same pool's only thread is still rendering: this one waits for it
$r = $t->get('/v/small.png');
is("$r->{status} " . image_type($r->{content}), '200 jpeg',
   'the next render on the same pool, after the late one');

ok($t->wait_for(sub { late_count() >= 1 }, 10 * $slow),
   'the late completion is logged (a warning)');

# ---- the timer covers the wait in the queue

{
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = $t->get('/v/big.png');
        POSIX::_exit($r->{status} == 200 ? 0 : 1);
    }
    Time::HiRes::sleep(0.05);

    # a small render, quick itself, waits behind the big one
    $r = $t->get('/queue/small.png');
    is($r->{status}, 503, 'a task waiting in the queue past the watchdog: 503');

    waitpid $pid, 0;
    is($? >> 8, 0, 'the render ahead of it ends as usual');
}

ok($t->wait_for(sub { late_count() >= 3 }, 10 * $slow),
   'the queued task ends late, released quietly');

# ---- several at once, and clients that leave after the 503

{
    my @kids;
    for (1 .. 3) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $r = $t->get('/wd/big.png');
            POSIX::_exit($r->{status} == 503 ? 0 : 1);
        }
        push @kids, $pid;
    }
    my $bad = 0;
    for (@kids) {
        waitpid $_, 0;
        $bad++ if $?;
    }
    is($bad, 0, 'three renders past the watchdog at once: three 503s');
}

ok($t->wait_for(sub { late_count() >= 6 }, 20 * $slow),
   'all late completions arrive') or diag late_count();

$r = $t->get('/v/small.png');
is("$r->{status} " . image_type($r->{content}), '200 jpeg',
   'the worker carries on');

unlike($t->error_log, qr/exited on signal/, 'no worker crashed');

my @alerts = $t->error_log =~ /\[alert\]/g;
is(scalar @alerts, 6, 'one [alert] per task past its watchdog');

$t->done;
