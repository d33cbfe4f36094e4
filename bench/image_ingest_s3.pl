#!/usr/bin/perl
# Upload time into a bucket against a local directory: the 1920x1280
# sample photo (demo/fixtures/sample1.jpg), made distinct per upload by
# bytes after its end, rendered to two variants (256x256 cover JPEG,
# 320x320 WebP) and stored by image_ingest, N sequential uploads each
# (default 20, N=...), twice; then N duplicates of one image (nothing
# rendered: the existence checks only).  The bucket is the tests' Ceph
# RADOS Gateway (t/lib/Edge/Ceph.pm: TEST_S3_ENDPOINT's, or one started
# for the run, about 15 s), on the same machine.
#
#   perl bench/image_ingest_s3.pl        (after make build)
#
# Prints the CPU and, per case, the median and p90 in ms.  One client,
# one nginx worker: latency, not throughput.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Time::HiRes qw(time);

use Edge::Ceph qw(s3_server);
use Edge::Nginx;
use Edge::Image qw(sample_photo);

my $N = $ENV{N} // 20;

my $s3 = s3_server();
my $bucket = $s3->bucket("bench-ingest-$$");
my $t = Edge::Nginx->new(modules => [qw(s3 image_variant)]);

$t->write_file('s3.cred', sprintf "aws_access_key_id = %s\n"
    . "aws_secret_access_key = %s\n", $s3->key_id, $s3->secret);
$t->var(ENDPOINT => $s3->endpoint);
$t->var(BUCKET => $bucket);

$t->run(<<'EOF_CONF');
    image_variant_preset avatar width=256 height=256 fit=cover format=auto;
    image_variant_preset thumb width=320 height=320 fit=inside format=webp;

    s3_bucket photos {
        endpoint     %%ENDPOINT%%;
        region       us-east-1;
        bucket       %%BUCKET%%;
        style        path;
        credentials  %%PREFIX%%/s3.cred;
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 30m;

        location = /local {
            image_ingest;
            image_ingest_store     %%PREFIX%%/store;
            image_ingest_variants  avatar thumb;
        }

        location = /s3 {
            image_ingest;
            image_ingest_store     s3://photos/img/;
            image_ingest_variants  avatar thumb;
        }
    }
EOF_CONF

my ($cpu) = (`cat /proc/cpuinfo` =~ /^model name\s*:\s*(.*)$/m);
chomp(my $cores = `nproc`);
chomp(my $load = `cat /proc/loadavg`);
printf "CPU: %s, %s cores; load average at start: %s\n", $cpu // '?',
    $cores, join ' ', (split ' ', $load)[0 .. 2];

my $photo = sample_photo();

sub upload {
    my ($loc, $body, $want) = @_;
    my $t0 = time;
    my $r = $t->request('PUT', "/$loc", { content => $body, timeout => 60 });
    die "$loc: $r->{status} $r->{content}\n" unless $r->{status} == $want;
    return (time - $t0) * 1000;
}

sub report {
    my ($what, @ms) = @_;
    @ms = sort { $a <=> $b } @ms;
    printf "| %-28s | %6.1f | %6.1f |\n", $what, $ms[@ms / 2],
        $ms[int(@ms * 0.9)];
}

print "| case | median ms | p90 ms |\n| --- | --- | --- |\n";

for my $round (1, 2) {
    for my $loc (qw(local s3)) {
        report("new image, $loc ($round)",
               map { upload($loc, "$photo$loc-$round-$_-$$", 201) } 1 .. $N);
    }
}

for my $loc (qw(local s3)) {
    my $body = "${photo}dup-$loc-$$";
    upload($loc, $body, 201);
    report("duplicate, $loc", map { upload($loc, $body, 200) } 1 .. $N);
}

$t->stop;
