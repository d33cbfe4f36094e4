#!/usr/bin/perl
# face_jobs' spool answers 202 once the rename has succeeded: when the
# fsync of the spool directory fails afterwards, the job is spooled and
# runs, so that is logged ([crit]) and not answered 500, which boto3
# (legacy retries) would send again up to 4 times, running the job again.
# The failure is injected with an LD_PRELOAD shim built here, whose
# fsync() fails with EIO on a directory named "spool-nofsync" only.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp ();
use Test::More;
use Time::HiRes ();

use Edge::Nginx;
use Edge::Face qw(have_samples site_handler callbacks wait_callbacks
    payload);
use Edge::Lambda qw(boto3 have_boto3);

plan skip_all => 'sample photos or models missing (make models)'
    unless have_samples();
plan skip_all => 'no boto3 (apt install python3-boto3)' unless have_boto3();

my $shim_dir = File::Temp::tempdir('edge-fsync-shim.XXXXXX', TMPDIR => 1,
    CLEANUP => 1);

open my $fh, '>', "$shim_dir/shim.c" or die;
print {$fh} <<'EOF';
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
fsync(int fd)
{
    char         link[64], path[4096];
    ssize_t      n;
    struct stat  st;
    static int (*real)(int);

    if (real == NULL) {
        real = (int (*)(int)) dlsym(RTLD_NEXT, "fsync");
    }

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);

    if (n > 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        path[n] = '\0';

        if (n >= 14 && strcmp(path + n - 14, "/spool-nofsync") == 0) {
            errno = EIO;
            return -1;
        }
    }

    return real(fd);
}
EOF
close $fh;

system('cc', '-shared', '-fPIC', '-O1', '-o', "$shim_dir/shim.so",
    "$shim_dir/shim.c", '-ldl') == 0 or BAIL_OUT('cannot build the shim');

$ENV{TEST_NGINX_PRELOAD} = join ' ', grep { defined && length }
    $ENV{TEST_NGINX_PRELOAD}, "$shim_dir/shim.so";

my $t = Edge::Nginx->new(modules => [qw(face lambda)],
    thread_pools => { face => 'threads=2' });
my $prefix = $t->prefix;

my $site = $t->backend(site_handler());
my $S = "http://127.0.0.1:$site";

$t->run(<<'EOF');
    face_models  %%REPO%%/models;
    face_thread_pool  face;
    face_allow_private  on;

    server {
        listen 127.0.0.1:%%PORT%%;

        location /2015-03-31/functions/ {
            lambda_function  facedetection  @faces;
        }

        location @faces {
            face_jobs;
            face_spool  %%PREFIX%%/spool-nofsync;
        }
    }
EOF

$t->allow_log(qr/\[crit\].*fsync of the directory .*spool-nofsync/);
$t->allow_log(qr/\[crit\].*spool-nofsync.*\(5: Input\/output error\)/);

my $endpoint = $t->url('');
$endpoint =~ s{/\z}{};

my $r = boto3(endpoint => $endpoint, function => 'facedetection',
    type => 'Event', retry_mode => 'legacy',
    payload => payload($S, [7, 'photo', "$S/photos/2.webp", 'tok-7']));
is $r->{status}, 202, 'the directory fsync fails after the rename: 202'
    or diag explain $r;
is $r->{attempts}, 1, '... boto3 sent it once';

like $t->error_log, qr/\[crit\].*face job: spool: fsync of the directory "[^"]*spool-nofsync" failed after "[^"]+" was renamed into it: the job is accepted/,
    'the failure is logged';

my @cb = wait_callbacks($t, $site, 1, 60);
Time::HiRes::sleep(2);
@cb = callbacks($t, $site);
is scalar @cb, 1, 'the job ran once: one callback';

$t->done;
