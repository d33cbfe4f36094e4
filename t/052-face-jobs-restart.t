#!/usr/bin/perl
# face_jobs and the spool: nginx stopped mid-job and started again, a
# reload mid-job, a worker killed mid-job: the job completes, and what
# was delivered before is not delivered again.  Two workers and several
# jobs: every source is called back exactly once (atomic claim).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;

use Edge::Nginx;
use Edge::Face qw(have_samples site_handler callbacks wait_callbacks
    payload job_path);

plan skip_all => 'sample photos or models missing (make models)'
    unless have_samples();

my $JOB = job_path();

my $t = Edge::Nginx->new(modules => ['face'], worker_processes => 1,
    thread_pools => { face => 'threads=2' });
my $prefix = $t->prefix;

# every answer of the site takes 0.3 s: jobs last long enough to be
# interrupted
my $site = $t->backend(site_handler(), delay => 0.3);
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
            face_parallel  1;
        }
    }
EOF

sub submit {
    my (@pks) = @_;
    my $r = $t->request('POST', $JOB, { timeout => 30,
        content => payload($S, map {
            [$_, 'photo', "$S/photos/" . ($_ % 6 + 1) . '.webp', "t$_"] }
            @pks),
        headers => { 'Content-Type' => 'application/json',
                     'X-Amz-Invocation-Type' => 'Event' } });
    return $r->{status};
}

sub counts {
    my %n;
    $n{ $_->{pk} }++ for callbacks($t, $site);
    return \%n;
}

sub job_files {
    opendir my $dh, "$prefix/spool" or return ();
    return grep { /\.job\z/ } readdir $dh;
}

# ---- stopped mid-job, started again

$t->run($conf);

is submit(1 .. 6), 202, 'a job of six sources';
wait_callbacks($t, $site, 2, 60);
$t->stop;

my @left = job_files();
is scalar @left, 1, 'stopped mid-job: the job file stays';
my $file = $t->read_file("spool/$left[0]") // '';
my ($state) = $file =~ /\A[^\n]*\n([.DF]*)\n/;
like $state // '', qr/^D+\.+$/, "its progress is recorded ($state)";
my $done = () = ($state // '') =~ /D/g;
is scalar(keys %{ counts() }), $done,
    'what is marked delivered is what the site got';

$t->run($conf);
wait_callbacks($t, $site, 6, 60);
$t->wait_for(sub { !job_files() }, 10);

is_deeply counts(), { map { ($_ => 1) } 1 .. 6 },
    'after the restart: every source once, nothing twice';
is scalar(job_files()), 0, 'the job is done';
like $t->error_log, qr/claimed, 6 sources, $done done before/,
    'the job was resumed, not restarted';

# ---- a reload mid-job

is submit(11 .. 14), 202, 'another job';
$t->wait_for(sub { grep { $_ > 10 } keys %{ counts() } }, 60);
$t->reload;
$t->wait_for(sub { (grep { $_ > 10 } keys %{ counts() }) >= 4 }, 60);
$t->wait_for(sub { !job_files() }, 10);
is_deeply [map { counts()->{$_} } 11 .. 14], [1, 1, 1, 1],
    'a reload mid-job: every source once';

# ---- a worker killed mid-job: its lock goes with it

is submit(21 .. 24), 202, 'a third job';
$t->wait_for(sub { grep { $_ > 20 } keys %{ counts() } }, 60);
my ($worker) = $t->worker_pids;
kill 'KILL', $worker;
$t->wait_for(sub { my ($w) = $t->worker_pids; $w && $w != $worker }, 10);
$t->wait_for(sub { (grep { $_ > 20 } keys %{ counts() }) >= 4 }, 60);
$t->wait_for(sub { !job_files() }, 10);

my @n = map { counts()->{$_} // 0 } 21 .. 24;
ok !(grep { $_ < 1 } @n), 'a killed worker: the job is reclaimed and done';
ok +(grep { $_ > 1 } @n) <= 1,
    'at most the source in flight is delivered twice' or diag "@n";
$t->allow_log(qr/exited on signal 9/);

$t->stop;

# ---- two workers, several jobs: each source once

my $t2 = $t;
$t2->{worker_processes} = 2;
$t2->run($conf);

is submit(31 .. 33), 202, 'job A';
is submit(34 .. 36), 202, 'job B';
is submit(37 .. 39), 202, 'job C';
$t->wait_for(sub { (grep { $_ > 30 } keys %{ counts() }) >= 9 }, 90);
$t->wait_for(sub { !job_files() }, 10);
is_deeply [map { counts()->{$_} // 0 } 31 .. 39], [(1) x 9],
    'two workers: every source of every job exactly once';

$t->done;
