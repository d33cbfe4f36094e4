#!/usr/bin/perl
# The six built modules load into stock nginx, link what they should
# (and album_zip nothing heavy; image_variant the face engine's XNNPACK,
# for gravity=face), and nginx serves with all of them.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Cwd ();
use Test::More;

use Edge::Nginx;

my @modules = qw(album_zip image_variant face lambda edge_metrics s3);

# Shared libraries each module must (or must not) pull in.
my %needs = (
    album_zip     => [],
    image_variant => [qw(libvips libdnnl libgomp libjpeg)],
    face => [qw(libvips libdnnl libgomp libjpeg libcjson libcurl)],
    lambda        => [qw(libcrypto)],
    edge_metrics  => [],
    s3            => [qw(libcrypto)],
);
my %never = (album_zip => [qw(libvips libdnnl libXNNPACK)],
             lambda    => [qw(libvips libdnnl libcurl libcjson)],
             edge_metrics => [qw(libvips libdnnl libcurl libcjson
                                 libcrypto libdeflate)],
             s3 => [qw(libvips libdnnl libcurl libcjson libdeflate)]);

# Dies, failing the file, when a module has not been built.
my $t = Edge::Nginx->new(modules => \@modules);

for my $m (@modules) {
    my $so = Edge::Nginx->module_path($m);
    my $ldd = `ldd $so 2>&1`;
    is $?, 0, "ldd $m" or diag $ldd;
    unlike $ldd, qr/not found/, "$m: every library is found" or diag $ldd;
    like $ldd, qr/^\s*\Q$_\E[.-]/m, "$m links $_" for @{ $needs{$m} };
    unlike $ldd, qr/^\s*\Q$_\E[.-]/m, "$m does not link $_"
        for @{ $never{$m} // [] };

    # Every .so carries its own edge_* (and face_*) code and nginx loads
    # with RTLD_GLOBAL: each must call its own copy, never another
    # package's, so it is linked -Bsymbolic.
    my $dyn = `readelf -d $so 2>&1`;
    like $dyn, qr/\(SYMBOLIC\)|FLAGS\)\s+SYMBOLIC/,
        "$m binds its own symbols (-Bsymbolic)" or diag $dyn;
}

# Loading a module twice is refused: proof that load_module read our file.
for my $m (@modules) {
    my $twice = Edge::Nginx->new(modules => [$m, $m]);
    my ($ok, $out) = $twice->check_config('');
    ok !$ok, "$m loaded twice: nginx -t fails";
    like $out, qr/module "ngx_http_${m}_module" is already loaded/,
        "$m loaded twice: nginx says so";
    $twice->cleanup;
}

my $body = <<'EOF';
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "up\n"; }
    }
EOF
my ($ok, $out) = $t->check_config($body);
ok $ok, 'nginx -t with all six modules' or diag $out;

$t->run($body);
my $r = $t->get('/');
is $r->{status}, 200, 'nginx serves with the modules loaded';
is $r->{content}, "up\n", '... the expected body';

# The worker really has each module mapped.
my ($worker) = $t->worker_pids;
my $maps = $t->read_file("/proc/$worker/maps") // '';
for my $m (@modules) {
    my $so = Cwd::abs_path(Edge::Nginx->module_path($m));
    ok index($maps, $so) >= 0, "$m is mapped in the worker";
}

$t->done;
