#!/usr/bin/perl
# The face engine runs oneDNN on the calling thread only (issue #18):
# Debian's oneDNN is built on OpenMP, and without omp_set_num_threads(1)
# in each thread that runs a network libgomp starts a worker per such
# thread, which would take the core nginx's event loop needs.  faceenc
# (one thread, a JPEG: libjpeg-turbo, no libvips workers) is watched in
# /proc/PID/task while it encodes sample1 30 times; the oneDNN kernels and
# instruction set it reports are checked on the way.  The nginx side (a
# face_jobs worker on a 2-thread pool) is t/054-face-load.t.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp ();
use Test::More;
use Time::HiRes qw(sleep);

use Edge::Nginx;

my $repo    = Edge::Nginx->repo;
my $FACEENC = $ENV{TEST_FACEENC} // "$repo/build/faceenc";
my $MODELS  = $ENV{TEST_FACE_MODELS} // "$repo/models";
my $PHOTO   = "$repo/demo/fixtures/sample1.jpg";

plan skip_all => "no face models in $MODELS (make models fetches them)"
    unless -d $MODELS && -f $PHOTO;

my $tmp = File::Temp->newdir;

my $pid = fork // die "fork: $!";
if (!$pid) {
    open STDOUT, '>', '/dev/null' or die "/dev/null: $!";
    open STDERR, '>', "$tmp/err" or die "$tmp/err: $!";
    exec $FACEENC, '--models', $MODELS, '--repeat', 30, $PHOTO or exit 127;
}

# sample the thread count until it exits (bounded: 120 s)
my ($most, $samples) = (0, 0);
for (1 .. 12000) {
    last if waitpid($pid, 1) == $pid;    # WNOHANG
    my $n = () = glob "/proc/$pid/task/*";
    if ($n) {
        $samples++;
        $most = $n if $n > $most;
    }
    sleep 0.01;
}
if (kill 0, $pid) {
    kill 'KILL', $pid;
    waitpid $pid, 0;
    fail 'faceenc finished within 120 s';
}
is $? >> 8, 0, 'faceenc --repeat 30 sample1 succeeded';

open my $fh, '<', "$tmp/err" or die "$tmp/err: $!";
my $err = do { local $/; <$fh> };
close $fh;

cmp_ok $samples, '>', 10, "the threads were counted ($samples samples)";
is $most, 1, 'one thread all along: no OpenMP worker';

# what ran: oneDNN's ISA and kernels, as bench/face prints them
like $err, qr/^faceenc: oneDNN ISA (avx2|avx512\w*|avx\w*), context [\d.]+ MB; kernels: ssd 512x352: .*jit/m,
    'oneDNN JIT kernels ran, SSD on 512x352 (sample1 is 3:2)'
    or diag $err;

done_testing;
