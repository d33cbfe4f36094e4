#!/usr/bin/perl
# image_variant and the worker's C heap: glibc gives every thread that
# allocates a malloc arena of its own (a 64 MB reservation each, up to 8
# per core) and keeps what is freed in it, so render threads and libvips'
# own workers left a worker with hundreds of megabytes after a burst.
# image_variant_malloc_arenas (default 2) caps the arenas from the
# worker's start: after renders on 2 threads in JPEG, WebP and AVIF the
# worker has one arena besides the main one (one or two 64 MB heaps; with
# "off", glibc's own limit, it has an arena per thread that allocated,
# 3 or more: the check can see them), none with 1.
# image_variant_malloc_trim (default 10s) returns the free memory once
# the renders have been idle that long.  And the two directives' syntax.
#
# The heaps are counted in /proc/PID/maps: 64 MB-aligned anonymous
# mappings of 64 MB (read-write, the rest inaccessible).  Under a
# sanitizer (TEST_NGINX_PRELOAD) malloc is not glibc's: only the syntax
# and the renders are checked.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;

use Edge::Nginx;
use Edge::Image qw(have_vips image_type sample_photo convert);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $glibc = !$ENV{TEST_NGINX_PRELOAD} && !$ENV{TEST_NGINX_VALGRIND};

my $t = Edge::Nginx->new(modules => ['image_variant'],
    worker_processes => 1, thread_pools => { render => 'threads=2' });

# ---- syntax

my $loc = <<'EOF';
    image_variant_preset thumb width=256 height=256 fit=cover format=jpeg;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /v/ {
            alias %%PREFIX%%/html/img/;
            image_variant thumb;
            image_variant_thread_pool render;
            %%LOC%%
        }
    }
EOF

sub conf {
    my ($main, $in_loc) = @_;
    (my $c = $loc) =~ s/%%LOC%%/$in_loc \/\/ ''/e;
    return "$main\n$c";
}

for my $ok ('image_variant_malloc_arenas 1;',
            'image_variant_malloc_arenas 8;',
            'image_variant_malloc_arenas off;',
            'image_variant_malloc_trim off;',
            'image_variant_malloc_trim 500ms;',
            'image_variant_malloc_trim 10s;')
{
    my ($good, $out) = $t->check_config(conf($ok));
    ok($good, "accepted: $ok") or diag $out;
}

for my $bad (['image_variant_malloc_arenas 0;', qr/from 1 to 64/],
             ['image_variant_malloc_arenas 65;', qr/from 1 to 64/],
             ['image_variant_malloc_arenas two;', qr/from 1 to 64/],
             ['image_variant_malloc_trim 0;', qr/positive time/],
             ['image_variant_malloc_trim soon;', qr/positive time/],
             ["image_variant_malloc_arenas 2;\n"
              . 'image_variant_malloc_arenas 4;', qr/is duplicate/])
{
    my ($good, $out) = $t->check_config(conf($bad->[0]));
    (my $name = $bad->[0]) =~ s/\n/ /g;
    ok(!$good && $out =~ $bad->[1], "refused: $name") or diag $out;
}

{
    my ($good, $out) = $t->check_config(conf('',
        'image_variant_malloc_arenas 2;'));
    ok(!$good && $out =~ /not allowed here/, 'arenas: http level only')
        or diag $out;
}

# ---- the heaps after renders

my $photo = sample_photo();
$t->write_file('html/img/photo.jpg', $photo);
# 3840x2560: what a camera uploads
$t->write_file('html/img/big.jpg', convert($photo, '.jpg[Q=90]',
    'resize', 2));

my $variants = <<'EOF';
    image_variant_preset jpeg width=256 height=256 fit=cover format=jpeg;
    image_variant_preset webp width=640 height=640 fit=inside format=webp;
    image_variant_preset avif width=256 height=256 fit=cover format=avif;
    image_variant_preset large width=1600 height=1600 fit=inside format=webp;
    server {
        listen 127.0.0.1:%%PORT%%;
        location ~ ^/(?<p>\w+)/(?<f>\w+\.jpg)$ {
            alias %%PREFIX%%/html/img/$f;
            image_variant $p;
            image_variant_thread_pool render;
        }
    }
EOF

# 64 MB heaps of glibc's non-main arenas in the process
sub heaps {
    my ($pid) = @_;
    no warnings 'portable';    # 64-bit addresses
    my @maps;
    open my $fh, '<', "/proc/$pid/maps" or return -1;
    while (<$fh>) {
        my ($lo, $hi, $perm, $path) = /^(\w+)-(\w+) (\S+) \S+ \S+ \S+\s*(.*)/
            or next;
        push @maps, [hex $lo, hex $hi, $perm, $path];
    }
    my $heap = 64 << 20;
    my $n = 0;
    for my $i (0 .. $#maps) {
        my ($lo, $hi, $perm, $path) = @{ $maps[$i] };
        next if length $path || $lo % $heap || $perm !~ /^rw/;
        my $next = $maps[$i + 1];
        $hi = $next->[1] if $next && $next->[0] == $hi
            && !length $next->[3] && $next->[2] =~ /^---/;
        $n++ if $hi - $lo == $heap;
    }
    return $n;
}

# 24 variants, 4 at a time (the pool's 2 threads busy): JPEG, WebP, AVIF
# of the two photos, and any paths given; returns the number of answers
# that were no image
sub renders {
    my @paths = map { ("/jpeg/$_", "/webp/$_", "/avif/$_") }
        ('photo.jpg', 'big.jpg');
    @paths = ((@paths) x 4, @_);
    my $bad = 0;
    while (my @four = splice @paths, 0, 4) {
        my @pids;
        for my $path (@four) {
            my $pid = fork // die "fork: $!";
            if (!$pid) {
                my $r = $t->get($path, { timeout => 60 });
                POSIX::_exit($r->{status} == 200
                    && image_type($r->{content}) ? 0 : 1);
            }
            push @pids, $pid;
        }
        for (@pids) {
            waitpid $_, 0;
            $bad++ if $?;
        }
    }
    return $bad;
}

# glibc's own limit ("off") lets every thread that allocates have an
# arena: the 2 render threads, libvips' workers
my %check = (
    default => ['<=', 2, 'one arena besides the main one (2 heaps at most)'],
    off     => ['>=', 3, 'an arena per thread (3 or more heaps)'],
    1       => ['==', 0, 'the main heap only'],
);

for my $case (['default', ''],
              ['off', 'image_variant_malloc_arenas off;'],
              ['1', 'image_variant_malloc_arenas 1;'])
{
    my ($name, $directive) = @$case;
    if ($name eq 'default') {
        $t->run("$directive\n$variants");
    } else {
        $t->reload("$directive\n$variants");
    }
    my ($worker) = $t->worker_pids;
    is(renders(), 0, "arenas $name: 24 variants on 2 threads, all images");
    my $heaps = heaps($worker);
    diag "arenas $name: $heaps arena heaps, worker RSS "
        . $t->rss_kb($worker) . ' kB';
    SKIP: {
        skip 'malloc is not glibc\'s here', 1 unless $glibc;
        my ($op, $bound, $what) = @{ $check{$name} };
        cmp_ok($heaps, $op, $bound, "arenas $name: $what");
    }
}

# ---- trim: the free memory goes back once the renders are idle

$t->reload("image_variant_malloc_trim 1s;\n$variants");
my ($worker) = $t->worker_pids;
# and 4 large ones
is(renders(('/large/big.jpg') x 4), 0, 'trim: 28 variants, all images');
my $busy = $t->rss_kb($worker);
# the timer fires a second after the last render, the task runs at once
$t->wait_for(sub { $t->rss_kb($worker) < $busy - 16 * 1024 }, 4);
my $idle = $t->rss_kb($worker);
diag "trim 1s: worker RSS $busy kB after the renders, $idle kB idle";

SKIP: {
    skip 'malloc is not glibc\'s here', 1 unless $glibc;
    # these renders leave some 30 MB over the 20-odd MB of a fresh
    # worker (measured: 50-57 MB); the trim returns most of it (to 35)
    cmp_ok($busy - $idle, '>', 8 * 1024, 'trim: RSS down by over 8 MB');
}

# no trim: the same renders keep their memory for the next ones
$t->reload("image_variant_malloc_trim off;\n$variants");
($worker) = $t->worker_pids;
is(renders(('/large/big.jpg') x 4), 0, 'no trim: 28 variants, all images');
$busy = $t->rss_kb($worker);
sleep 2;
$idle = $t->rss_kb($worker);
diag "no trim: worker RSS $busy kB after the renders, $idle kB 2 s later";
SKIP: {
    skip 'malloc is not glibc\'s here', 1 unless $glibc;
    # the control: without the trim, glibc keeps it
    cmp_ok($busy - $idle, '<', 8 * 1024, 'no trim: RSS stays');
}

is($t->get('/jpeg/photo.jpg')->{status}, 200, 'still serving');

$t->done;
