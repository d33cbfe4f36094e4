#!/usr/bin/perl
# face_jobs under faults.
#
# A spool temporary file left by a crash between its write and its
# rename (the client never got a 202) is removed when a worker starts,
# once it is old enough that no live worker can still be writing it; a
# fresh one is kept; the count is logged once.
#
# SIGTERM mid-job: the master kills a worker that has not left ~3 s
# after the signal, so a worker that is terminating starts no network
# step (no download, no callback): the source stays pending in the job
# file for the next worker.  The photo download and the callback
# receiver are slow, so that on SIGTERM a download is in flight and a
# second source waits in the pool's queue; no callback may start after
# the signal, and after a restart on the same spool every source is
# called back exactly once.  Then SIGTERM while a downloaded photo is
# being encoded: its callback does not start either.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx qw(pid_alive);
use Edge::Face qw(have_samples site_handler callbacks wait_callbacks
    payload job_path webp);

plan skip_all => 'sample photos or models missing (make models)'
    unless have_samples();

my $JOB = job_path();

my $t = Edge::Nginx->new(modules => ['face'], worker_processes => 1,
    thread_pools => { face => 'threads=1' });
my $prefix = $t->prefix;

# While the file "slow" exists, photos take 0.8 s and callbacks 6 s to
# be answered (the backend forks per connection: the switch is a file).
my $SLOW = "$prefix/slow";
my %photos = map {
    my $n = $_;
    ("/photos/$n.webp" => sub {
        Time::HiRes::sleep(0.8) if -e $SLOW;
        return [200, { 'Content-Type' => 'image/webp' }, webp($n)];
    })
} 1 .. 6;

my $site = $t->backend(site_handler(extra => \%photos, callback => sub {
    Time::HiRes::sleep(6) if -e $SLOW;
    return [201, { 'Content-Type' => 'application/json' }, '{}'];
}));
my $S = "http://127.0.0.1:$site";

my $conf = <<'EOF';
    face_models  %%REPO%%/models;
    face_thread_pool  face;
    face_allow_private  on;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /2015-03-31/functions/facedetection/invocations {
            face_jobs;
            face_spool  %%PREFIX%%/spool;
            face_parallel  2;
        }
    }
EOF

sub job_files {
    opendir my $dh, "$prefix/spool" or return ();
    return grep { /\.job\z/ } readdir $dh;
}

sub touch {
    my ($rel, $age) = @_;
    my $path = $t->write_file($rel, "face-job 1 1\n.\n{\"api_url\": \"x\"}");
    my $when = time - $age;
    utime $when, $when, $path or die "utime $path: $!";
    return $path;
}

# ---- stale temporary files

my $stale = touch('spool/tmp/0000000000001-1-1.job', 7200);
my $fresh = touch(sprintf('spool/tmp/%013d-1-2.job', int(time * 1000)), 0);
my $other = touch('spool/tmp/notes.txt', 7200);

$t->run($conf);

my $swept = $t->wait_for(sub {
    $t->error_log =~ /removed (\d+) stale temporary file/ && $1 }, 10);
is $swept, 1, 'one stale temporary file removed at start, count logged';
ok !-e $stale, 'the stale temporary job file is gone';
ok -e $fresh, 'a fresh one (a worker may be writing it) is kept';
ok -e $other, 'a file that is not a job file is left alone';
my @lines = $t->error_log =~ /(\[\w+\] .*stale temporary.*)/g;
is scalar @lines, 1, 'logged once';
like $lines[0] // '', qr/^\[notice\]/, 'at notice';
unlink $fresh, $other;

# ---- SIGTERM mid-job

open my $fh, '>', $SLOW or die;
close $fh;

my $r = $t->request('POST', $JOB, { timeout => 30,
    content => payload($S, map { [$_, 'photo', "$S/photos/$_.webp", "t$_"] }
        1 .. 3),
    headers => { 'Content-Type' => 'application/json',
                     'X-Amz-Invocation-Type' => 'Event' } });
is $r->{status}, 202, 'a job of three sources';

# the first photo is being downloaded, the second source is queued
ok $t->wait_for(sub { grep { $_->{path} =~ m{^/photos/} }
    $t->backend_requests($site) }, 30), 'a download is in flight';
Time::HiRes::sleep(0.3);

my $master = $t->master_pid;
my $mark = length $t->error_log;
my $signalled = time;
kill 'TERM', $master;
# a zombie until stop() reaps it: the pid cannot be reused meanwhile
my $gone = $t->wait_for(sub { !pid_alive($master) }, 15);
ok $gone, 'nginx exited on SIGTERM';
my $took = time - $signalled;

# what a killed worker left would arrive at most the callback's delay
# later: wait that long before counting
Time::HiRes::sleep(1) while time < $signalled + 7;

my @late = grep { $_->{time} >= $signalled }
    grep { $_->{method} eq 'POST' } $t->backend_requests($site);
is scalar @late, 0, 'no callback started after SIGTERM'
    or diag sprintf '%d callback(s), the first %.2f s after the signal',
        scalar @late, $late[0]{time} - $signalled;
my @photos_late = grep { $_->{time} >= $signalled + 0.05 }
    grep { $_->{path} =~ m{^/photos/} } $t->backend_requests($site);
is scalar @photos_late, 0, 'no download started after SIGTERM';
unlike substr($t->error_log, $mark), qr/exited on signal 9/,
    sprintf('the worker left by itself (%.2f s), not killed', $took);

my @left = job_files();
is scalar @left, 1, 'the job file stays in the spool';
my $file = $t->read_file("spool/$left[0]") // '';
my ($state) = $file =~ /\A[^\n]*\n([.DF]*)\n/;
is $state, '...', 'every source still pending in the job file';
ok !-d "$prefix/spool/failed", 'no failure recorded';

# ---- the next nginx on the same spool

unlink $SLOW;
$t->stop;    # reaps the master, checks its exit status
$t->run($conf);

wait_callbacks($t, $site, 3, 60);
$t->wait_for(sub { !job_files() }, 10);

my %n;
$n{ $_->{pk} }++ for callbacks($t, $site);
is_deeply \%n, { 1 => 1, 2 => 1, 3 => 1 },
    'after the restart: every source called back exactly once';
is scalar(job_files()), 0, 'the job is done';
like $t->error_log, qr/claimed, 3 sources, 0 done before/,
    'the next worker resumed the job';

# ---- SIGTERM mid-encode: the download is done, the callback not begun

$r = $t->request('POST', $JOB, { timeout => 30,
    content => payload($S, map { [$_, 'photo', "$S/photos/$_.webp", "t$_"] }
        4 .. 6),
    headers => { 'Content-Type' => 'application/json',
                     'X-Amz-Invocation-Type' => 'Event' } });
is $r->{status}, 202, 'a job of three more sources';

# the photo comes at once: the encode runs when the signal comes
ok $t->wait_for(sub { grep { $_->{path} eq '/photos/4.webp' }
    $t->backend_requests($site) }, 30), 'the first photo was fetched';
Time::HiRes::sleep(0.1);

$master = $t->master_pid;
$mark = length $t->error_log;
$signalled = time;
kill 'TERM', $master;
ok $t->wait_for(sub { !pid_alive($master) }, 15), 'nginx exited on SIGTERM';
$took = time - $signalled;
Time::HiRes::sleep(0.5);

my @cb = grep { $_->{path} =~ m{/[456]/\z} } grep { $_->{method} eq 'POST' }
    $t->backend_requests($site);
is scalar(grep { $_->{time} >= $signalled } @cb), 0,
    'an encoded source is not called back after SIGTERM';
unlike substr($t->error_log, $mark), qr/exited on signal 9/,
    sprintf('the worker left by itself (%.2f s), not killed', $took);
like substr($t->error_log, $mark), qr/photo 4: left for the next worker/,
    'the source was left for the next worker' if !@cb;

$t->stop;
$t->run($conf);
wait_callbacks($t, $site, 6, 60);
$t->wait_for(sub { !job_files() }, 10);

%n = ();
$n{ $_->{pk} }++ for callbacks($t, $site);
is_deeply [map { $n{$_} // 0 } 4 .. 6], [1, 1, 1],
    'after the restart: every source called back exactly once';

$t->done;
