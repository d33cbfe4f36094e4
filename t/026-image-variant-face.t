#!/usr/bin/perl
# gravity=face: fit=cover's window around the faces the face engine's
# detector finds.  The demo photos cut to 256x256 squares and 1200x300
# banners: every face's box centre (face-api's reference boxes,
# t/fixtures/face) inside the window whenever their union fits in it, the
# largest face whole otherwise.  A photo with one face at the edge: the
# face whole with gravity=face, cut by centre and by attention.  The
# window is read back from the picture itself (its column or row profile
# against the covering image) and from the debug log; signed parameters
# take gravity=face too, and so do image_ingest's renderings; without
# image_variant_face_models, a preset with gravity=face stops nginx -t.
# Prints the detector's time.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use List::Util qw(max min sum);
use Test::More;
use Time::HiRes ();

use Edge::Nginx;
use Edge::Image qw(have_vips vips slurp info signed_url);

my $repo   = Edge::Nginx->repo;
my $MODELS = $ENV{TEST_FACE_MODELS} // "$repo/models";
my $PHOTOS = "$repo/demo/fixtures";
my $REF    = "$FindBin::Bin/fixtures/face";
my $KEY    = 'face-test-key-0123456789';

plan skip_all => "no face models in $MODELS (make models fetches them)"
    unless -d $MODELS;
have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');
-f "$PHOTOS/sample$_.jpg" or BAIL_OUT("$PHOTOS/sample$_.jpg is missing")
    for 1 .. 6;

my $json = JSON::PP->new;
my $t = Edge::Nginx->new(modules => ['image_variant'],
    thread_pools => { default => 'threads=1' });
my $tmp = $t->prefix . '/tmp';

# the edge photo: one face (sample2's first) at the right edge, where
# attention prefers the left (found by trying crops of the demo photos)
vips('crop', "$PHOTOS/sample2.jpg", $t->prefix . '/html/edge.jpg[Q=95]',
     1088, 101, 560, 347);
my @edge_face = (1447 - 1088, 153 - 101, 194, 242);

$t->var(MODELS => $MODELS);
$t->var(PHOTOS => $PHOTOS);

$t->run(<<"EOF");
    image_variant_face_models  %%MODELS%%;

    image_variant_preset sq     width=256 height=256 gravity=face format=png;
    image_variant_preset banner width=1200 height=300 gravity=face
                                format=png;
    image_variant_preset centre width=256 height=256 format=png;
    image_variant_preset attention width=256 height=256 gravity=attention
                                format=png;

    server {
        listen 127.0.0.1:%%PORT%%;

        location ~ ^/v/(?<preset>\\w+)/(?<file>sample\\d\\.jpg)\$ {
            alias %%PHOTOS%%/\$file;
            image_variant \$preset;
            error_log %%PREFIX%%/logs/face.log debug;
        }

        location ~ ^/v/(?<preset>\\w+)/edge\\.jpg\$ {
            alias %%PREFIX%%/html/edge.jpg;
            image_variant \$preset;
            error_log %%PREFIX%%/logs/face.log debug;
        }

        location = /up {
            image_ingest;
            image_ingest_store     %%PREFIX%%/store;
            image_ingest_variants  sq;
        }

        location /p/ {
            alias %%PHOTOS%%/;
            image_variant_params on;
            image_variant_sign_key "$KEY";
            error_log %%PREFIX%%/logs/face.log debug;
        }
    }
EOF

my $n = 0;

sub save {
    my ($bytes, $ext) = @_;
    my $f = "$tmp/img" . $n++ . $ext;
    open my $fh, '>:raw', $f or die "$f: $!";
    print {$fh} $bytes;
    close $fh;
    return $f;
}

# column (or row) sums of an image's grey values
sub profile {
    my ($file, $rows) = @_;
    my $g = "$tmp/g" . $n++ . '.v';
    vips('colourspace', $file, $g, 'b-w');
    my ($c, $r) = ("$tmp/c" . $n . '.csv', "$tmp/r" . $n++ . '.csv');
    vips('project', $g, $c, $r);
    my $text = slurp($rows ? $r : $c);
    return [grep { length } split /\s+/, $text];
}

# where an output of w x h lies in the covering image of cw x ch: the
# offset whose profile matches best (one axis is cut, the other is whole)
sub locate {
    my ($out, $src, $cw, $ch) = @_;
    my $cover = "$tmp/cover" . $n++ . '.png';
    vips('thumbnail', $src, $cover, $cw, '--height', $ch, '--size',
         'force');
    my $o = save($out, '.png');
    my $i = info($out);
    my $rows = $i->{height} < $ch;
    my $po = profile($o, $rows);
    my $pc = profile($cover, $rows);
    my ($best, $at) = (9**9**9, -1);
    for my $off (0 .. @$pc - @$po) {
        my $d = 0;
        $d += abs($po->[$_] - $pc->[$off + $_]) for 0 .. $#$po;
        ($best, $at) = ($d, $off) if $d < $best;
    }
    return $rows ? (0, $at) : ($at, 0);
}

# the last gravity=face debug line: faces, us, CPU us, left, top, width,
# height
sub last_window {
    my $re = qr/gravity=face: (\d+) faces, (\d+) us \(CPU (\d+) us\), /
        . qr/window at (-?\d+),(-?\d+) of (\d+)x(\d+)/;
    my @l = ($t->read_file('logs/face.log') // '') =~ /$re/g;
    return @l[-7 .. -1];
}

sub inside {
    my ($px, $py, $x, $y, $w, $h) = @_;
    return $px >= $x && $px <= $x + $w && $py >= $y && $py <= $y + $h;
}

sub whole {
    my ($b, $x, $y, $w, $h) = @_;
    return $b->[0] >= $x - 1 && $b->[1] >= $y - 1
        && $b->[0] + $b->[2] <= $x + $w + 1
        && $b->[1] + $b->[3] <= $y + $h + 1;
}

my (@us, @cpu, $matched, $checked);

for my $s (1 .. 6) {
    my $ref = $json->decode(slurp("$REF/sample$s.json"));
    for my $p (['sq', 256, 256], ['banner', 1200, 300]) {
        my ($preset, $w, $h) = @$p;
        my $r = $t->get("/v/$preset/sample$s.jpg");
        is($r->{status}, 200, "sample$s $preset: 200") or next;
        my $i = info($r->{content});
        is("$i->{width}x$i->{height}", "${w}x$h", "sample$s $preset: size");

        my ($faces, $us, $cpu, $x, $y, $cw, $ch) = last_window();
        ok($faces && $faces >= 1, "sample$s $preset: cropped by faces")
            or next;
        push @us, $us;
        push @cpu, $cpu;

        # the window, read back from the picture
        my ($lx, $ly) = locate($r->{content}, "$PHOTOS/sample$s.jpg",
                               $cw, $ch);
        $matched++ if abs($lx - $x) <= 2 && abs($ly - $y) <= 2;
        $checked++;

        my $sx = $cw / $ref->{width};
        my $sy = $ch / $ref->{height};
        my @b = map { [$_->{box}[0] * $sx, $_->{box}[1] * $sy,
                       $_->{box}[2] * $sx, $_->{box}[3] * $sy] }
                @{ $ref->{faces} };
        my $ux = max(map { $_->[0] + $_->[2] } @b) - min(map { $_->[0] } @b);
        my $uy = max(map { $_->[1] + $_->[3] } @b) - min(map { $_->[1] } @b);

        if ($ux <= $w && $uy <= $h) {
            my @out = grep { !inside($_->[0] + $_->[2] / 2,
                                     $_->[1] + $_->[3] / 2,
                                     $x, $y, $w, $h) } @b;
            is(scalar @out, 0, "sample$s $preset: the faces fit, every "
               . 'face centre is inside the crop');
        } else {
            my ($big) = sort { $b->[2] * $b->[3] <=> $a->[2] * $a->[3] } @b;
            ok(whole($big, $x, $y, $w, $h), "sample$s $preset: the faces "
               . 'do not fit, the largest is whole');
        }
    }
}

is($matched, $checked, 'the logged window is where the picture was cut '
   . '(profile match within 2 px)');

# ---- one face at the edge: face keeps it, centre and attention cut it

my $ei = info(slurp($t->prefix . '/html/edge.jpg'));
my $scale = max(256 / $ei->{width}, 256 / $ei->{height});
my ($cw, $ch) = (int($ei->{width} * $scale + 0.5),
                 int($ei->{height} * $scale + 0.5));
my @f = map { $_ * $scale } @edge_face;

my %at;
for my $preset (qw(sq centre attention)) {
    my $r = $t->get("/v/$preset/edge.jpg");
    is($r->{status}, 200, "edge photo $preset: 200");
    ($at{$preset}) = locate($r->{content}, $t->prefix . '/html/edge.jpg',
                            $cw, $ch);
}

ok(whole(\@f, $at{sq}, 0, 256, 256), 'edge photo, gravity=face: the face '
   . "whole (window at $at{sq} of $cw)");
ok(!whole(\@f, $at{centre}, 0, 256, 256), 'edge photo, centre: the face '
   . "cut (window at $at{centre})");
ok(!whole(\@f, $at{attention}, 0, 256, 256), 'edge photo, attention: the '
   . "face cut (window at $at{attention})");

# ---- image_ingest renders gravity=face presets the same way

my $edge = slurp($t->prefix . '/html/edge.jpg');
my $r = $t->request('PUT', '/up', { content => $edge });
is($r->{status}, 201, 'upload with a gravity=face preset: 201')
    or diag $r->{content};
my $key = eval { JSON::PP->new->decode($r->{content})->{key} } // '';
my $stored = $t->prefix . "/store/sq/$key.png";
ok(-f $stored, 'its variant stored');
my ($ix) = -f $stored ? locate(slurp($stored),
                               $t->prefix . '/html/edge.jpg', $cw, $ch)
                      : (-1);
ok(whole(\@f, $ix, 0, 256, 256), "... the face whole (window at $ix)");

# ---- signed parameters

my $url = signed_url($KEY, '/p/sample3.jpg',
                     'w=200&h=300&gravity=face&format=png');
$r = $t->get($url);
is($r->{status}, 200, 'signed gravity=face: 200') or diag $r->{content};
my ($faces) = last_window();
ok($faces >= 1, 'signed gravity=face: cropped by faces');

# ---- without the weights, nginx -t refuses gravity=face presets

my ($ok, $msg) = $t->check_config(<<'EOF');
    image_variant_preset sq width=256 height=256 gravity=face;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { image_variant sq; }
    }
EOF
ok(!$ok, 'gravity=face without image_variant_face_models: nginx -t fails');
like($msg, qr/preset "sq": gravity=face needs image_variant_face_models/,
     '... saying why');

($ok, $msg) = $t->check_config(<<'EOF');
    image_variant_face_models /nonexistent/models;
    server { listen 127.0.0.1:%%PORT%%; }
EOF
ok(!$ok, 'a models directory without weights: nginx -t fails');

# the first render of the pool's thread builds its runtime: left out
shift @us;
shift @cpu;
diag(sprintf 'detector: %d renders after the first, wall %.1f ms mean, '
     . '%.1f ms max; CPU %.1f ms mean, %.1f ms max (2 cores, shared)',
     scalar @us, sum(@us) / @us / 1000, max(@us) / 1000,
     sum(@cpu) / @cpu / 1000, max(@cpu) / 1000) if @us;

$t->done;
