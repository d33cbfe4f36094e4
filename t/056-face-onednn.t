#!/usr/bin/perl
# The face engine on oneDNN (issue #18).  Descriptors: in the default mode
# (dlib chips; SSD on the photo's aspect ratio, libjpeg-turbo decode) the
# faces of demo/fixtures/sample1..6 are those of the XNNPACK engine before
# it (t/fixtures/face/engine-xnnpack.json): boxes within 0.01 px, each
# descriptor within 0.001 (Euclidean).  Threads: it runs oneDNN on the
# calling thread only:
# Debian's oneDNN is built on OpenMP, and without omp_set_num_threads(1)
# in each thread that runs a network libgomp starts a worker per such
# thread, which would take the core nginx's event loop needs.  faceenc
# (one thread, a JPEG: libjpeg-turbo, no libvips workers) is watched in
# /proc/PID/task while it encodes sample1 30 times; the oneDNN kernels and
# instruction set it reports are checked on the way; then sample1 as WebP
# 10 times (libwebp: no libvips workers either).  The nginx side (a
# face_jobs worker on a 2-thread pool) is t/054-face-load.t.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp ();
use JSON::PP ();
use List::Util qw(max);
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

# ------------------------------------------------ against the old engine

open my $rf, '<', "$FindBin::Bin/fixtures/face/engine-xnnpack.json"
    or die "engine-xnnpack.json: $!";
my $old = JSON::PP->new->decode(do { local $/; <$rf> });
close $rf;

my @photos = map { "$repo/demo/fixtures/sample$_.jpg" } 1 .. 6;
my %new;
for my $line (`$FACEENC --models $MODELS @photos`) {
    my $r = JSON::PP->new->decode($line);
    my ($name) = $r->{file} =~ m{([^/]+)\z};
    $new{$name} = $r->{faces};
}
is $? >> 8, 0, 'faceenc on sample1..6';

my ($worst, $box, $faces) = (0, 0, 0);
for my $name (sort keys %{ $old->{photos} }) {
    my ($o, $n) = ($old->{photos}{$name}, $new{$name} // []);
    is scalar @$n, scalar @$o, "$name: the same number of faces";
    for my $i (0 .. $#$o) {
        my $f = $n->[$i] or next;
        $faces++;
        $box = max $box, map { abs($f->{box}[$_] - $o->[$i]{box}[$_]) } 0 .. 3;
        my $d = 0;
        $d += ($f->{encoding}[$_] - $o->[$i]{encoding}[$_]) ** 2 for 0 .. 127;
        $worst = max $worst, sqrt $d;
    }
}
cmp_ok $faces, '==', 22, '22 faces compared';
cmp_ok $box, '<', 0.01, "boxes within 0.01 px of the XNNPACK engine's ($box)";
cmp_ok $worst, '<', 0.001,
    "descriptors within 0.001 of the XNNPACK engine's (worst $worst)";

# ------------------------------------------------------------- threads

# faceenc's most threads at once, sampled until it exits (bounded: 120 s)
sub watch {
    my ($name, @args) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', '/dev/null' or die "/dev/null: $!";
        open STDERR, '>', "$tmp/err" or die "$tmp/err: $!";
        exec $FACEENC, '--models', $MODELS, @args or exit 127;
    }

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
        fail "faceenc $name finished within 120 s";
    }
    is $? >> 8, 0, "faceenc $name succeeded";

    open my $fh, '<', "$tmp/err" or die "$tmp/err: $!";
    my $err = do { local $/; <$fh> };
    close $fh;

    cmp_ok $samples, '>', 10, "$name: the threads were counted ($samples "
        . 'samples)';
    return ($most, $err);
}

my ($most, $err) = watch('--repeat 30 sample1', '--repeat', 30, $PHOTO);
is $most, 1, 'one thread all along: no OpenMP worker';

# what ran: oneDNN's ISA and kernels, as bench/face prints them
like $err, qr/^faceenc:\ oneDNN\ ISA\ (avx2|avx512\w*|avx\w*),
              \ context\ [\d.]+\ MB;\ kernels:\ ssd\ 512x352:\ .*jit/mx,
    'oneDNN JIT kernels ran, SSD on 512x352 (sample1 is 3:2)'
    or diag $err;

# the same photo as WebP, the website's format: libwebp on the calling
# thread (libvips' WebP loader started threads of its own: faceenc had 4)
SKIP: {
    my $webp = "$tmp/sample1.webp";
    system('vips', 'copy', $PHOTO, "$webp\[Q=90]") == 0
        or skip 'no vips command (libvips-tools)', 3;
    my ($n) = watch('--repeat 10 sample1.webp', '--repeat', 10, $webp);
    is $n, 1, 'one thread all along for a WebP: no libvips worker';
}

done_testing;
