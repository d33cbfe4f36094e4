#!/usr/bin/perl
# While the face thread pool is saturated with jobs, a static location on
# the same server keeps answering: p99 < 10 ms.  No thread but the pool's
# appears in the worker meanwhile (issue #18): /proc/PID/task holds the
# main thread and the pool's 2, whatever their names.  oneDNN runs on
# OpenMP, whose workers would take the event loop's core; the photos are
# WebP, which libvips decoded on up to 6 "libvips worker" threads of its
# own (even with vips_concurrency_set(1)): the engine decodes them with
# libwebp on the pool's thread.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(sleep time);

use Edge::Nginx;
use Edge::Nginx::Backend qw(write_all);
use Edge::Face qw(have_samples site_handler callbacks payload job_path);

plan skip_all => 'sample photos or models missing (make models)'
    unless have_samples();

my $t = Edge::Nginx->new(modules => ['face'],
    thread_pools => { face => 'threads=2' });

my $site = $t->backend(site_handler());
my $S = "http://127.0.0.1:$site";
$t->write_file('html/static.txt', "static\n");

$t->run(<<'EOF');
    face_models  %%REPO%%/models;
    face_thread_pool  face;
    face_allow_private  on;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /static.txt { root %%PREFIX%%/html; }

        location = /2015-03-31/functions/facedetection/invocations {
            face_jobs;
            face_spool  %%PREFIX%%/spool;
            face_parallel  4;
        }
    }
EOF

my $r = $t->request('POST', job_path(), {
    content => payload($S, map { [$_, 'photo',
        "$S/photos/" . ($_ % 6 + 1) . '.webp', "t$_"] } 1 .. 12),
    headers => { 'Content-Type' => 'application/json',
                     'X-Amz-Invocation-Type' => 'Event' } });
is $r->{status}, 202, 'a 12-source job';

# wait for the first download: the pool is busy from then on
$t->wait_for(sub { grep { $_->{path} =~ m{^/photos/} }
    $t->backend_requests($site) }, 20);

# one keep-alive connection, 300 requests, one at a time
my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1',
    PeerPort => $t->port) or die "connect: $@";
my @ms;
my $busy = 0;
my ($worker) = $t->worker_pids;
my %threads;    # count => times seen
my %extra;      # a thread's name => most of them seen at once beyond 3

# The names of the worker's threads.
sub threads_of {
    my ($pid) = @_;
    my @names;
    for my $task (glob "/proc/$pid/task/*") {
        open my $fh, '<', "$task/comm" or next;    # a thread just ended
        my $name = <$fh> // '';
        chomp $name;
        push @names, $name;
    }
    return @names;
}

for my $i (1 .. 300) {
    if ($i % 10 == 0) {
        my @names = threads_of($worker);
        $threads{scalar @names}++;
        if (@names > 3) {
            my %n;
            $n{$_}++ for @names;
            $n{nginx} -= 3;    # the main thread and the pool's
            for (grep { $n{$_} > 0 } keys %n) {
                $extra{$_} = $n{$_} if $n{$_} > ($extra{$_} // 0);
            }
        }
    }

    my $t0 = time;
    write_all($sock, "GET /static.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    my $buf = '';
    while ($buf !~ /\r\n\r\nstatic\n\z/) {
        sysread($sock, $buf, 4096, length $buf) or last;
    }
    push @ms, (time - $t0) * 1000;
    $busy++ if callbacks($t, $site) < 12;
}

# the main thread and the pool's 2: oneDNN runs on the calling thread
# (omp_set_num_threads(1) in every job), OpenMP's workers would be "nginx";
# the WebP photos are decoded on it too (libvips' were "libvips worker",
# or "nginx" for a moment after they started)
my ($most) = sort { $b <=> $a } keys %threads;
ok $worker && $most, "the worker's threads were counted";
cmp_ok $most, '<=', 3, 'no thread beyond the pool\'s in the worker: '
    . join(', ', map { "$_ threads $threads{$_}x" } sort keys %threads)
    . (%extra ? ' (beyond them: '
        . join(', ', map { "$extra{$_} \"$_\"" } sort keys %extra) . ')'
        : '');

@ms = sort { $a <=> $b } @ms;
my $p99 = $ms[int(0.99 * @ms) - 1];
ok $busy > 250, "the pool was busy during the measurement ($busy/300)";
cmp_ok $p99, '<', 10, sprintf('static p99 %.2f ms (p50 %.2f ms)', $p99,
    $ms[@ms / 2]);

$t->wait_for(sub { callbacks($t, $site) >= 12 }, 120);
is scalar(() = callbacks($t, $site)), 12, 'the job completes';

$t->done;
