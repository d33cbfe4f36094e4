#!/usr/bin/perl
# make deb: one Debian package per .so plus the face models, laid out like
# Debian's libnginx-mod-http-* (the .so in /usr/lib/nginx/modules, a
# load_module snippet in modules-available, enabled through
# modules-enabled), Depends on the exact nginx ABI; lintian finds no
# error; installed into a scratch root with dpkg, the enabled snippets
# pass "nginx -t" with the stock nginx; removal disables them, a reinstall
# enables them again, purge leaves nothing behind.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use FindBin;
use Cwd ();

my $repo = Cwd::abs_path("$FindBin::Bin/..");
my $so = $ENV{TEST_NGINX_MODULES} // "$repo/build/nginx";

plan skip_all => 'not root (dpkg --root needs it)' if $> != 0;
plan skip_all => 'sanitizer build: packages are made from make build'
    if $ENV{TEST_NGINX_PRELOAD};
plan skip_all => "modules not built in $so" unless -f
    "$so/ngx_http_album_zip_module.so";
plan skip_all => 'models missing (make models)' unless -f
    "$repo/models/face_recognition_model.bin";

my $out = tempdir(CLEANUP => 1);

my $log = `$repo/scripts/make-deb $so $repo/models $out 2>&1`;
is $?, 0, 'make-deb succeeds' or diag $log;
unlike $log, qr/warning|error/i, 'make-deb: no warning' or diag $log;

my @debs = sort glob "$out/*.deb";
my %pkg = map { (`dpkg-deb -f $_ Package` =~ /(\S+)/)[0] => $_ } @debs;
my @modules = qw(libnginx-mod-http-album-zip libnginx-mod-http-edge-metrics
    libnginx-mod-http-face libnginx-mod-http-image-variant
    libnginx-mod-http-lambda libnginx-mod-http-s3);
is_deeply [sort keys %pkg], [@modules, 'photo-edge-face-models'],
    'one package per .so, and the models';

my ($abi) = `dpkg-query -W -f '\${Provides}' nginx` =~ /(nginx-abi-[^\s,]+)/;
ok $abi, "nginx provides $abi";

for my $m (@modules) {
    my $deps = `dpkg-deb -f $pkg{$m} Depends`;
    like $deps, qr/(^|, )\Q$abi\E(,|$)/m, "$m: Depends on $abi";
    unlike $deps, qr/-dev\b|valgrind|clang|perl/, "$m: runtime libraries only";
    my @files = map { (split)[-1] } `dpkg-deb -c $pkg{$m}`;
    ok((grep { m{^\./usr/lib/nginx/modules/ngx_http_\w+\.so$} } @files),
        "$m: the .so in /usr/lib/nginx/modules");
    ok((grep { m{^\./usr/share/nginx/modules-available/mod-http-[\w-]+\.conf$} }
        @files), "$m: a snippet in modules-available");
}
like `dpkg-deb -f $pkg{'libnginx-mod-http-face'} Depends`,
    qr/photo-edge-face-models \(= /, 'the face module depends on its models';
unlike `dpkg-deb -f $pkg{'libnginx-mod-http-album-zip'} Depends`,
    qr/libvips|libdnnl/, 'album zip: no libvips, no oneDNN';
unlike `dpkg-deb -f $pkg{'libnginx-mod-http-lambda'} Depends`,
    qr/libvips|libdnnl|libcurl/, 'lambda: libcrypto, no libvips or libcurl';
unlike `dpkg-deb -f $pkg{'libnginx-mod-http-edge-metrics'} Depends`,
    qr/libvips|libdnnl|libcurl|libssl|libcrypto|libdeflate/,
    'edge metrics: libc only';
unlike `dpkg-deb -f $pkg{'libnginx-mod-http-s3'} Depends`,
    qr/libvips|libxnnpack|libcurl|libcjson|libdeflate/,
    's3: libcrypto, nothing heavy';

SKIP: {
    skip 'lintian not installed', 1 unless -x '/usr/bin/lintian';
    my $l = `lintian --tag-display-limit 0 @debs 2>&1`;
    unlike $l, qr/^E: /m, 'lintian: no error' or diag $l;
}

# ---- a scratch root: dpkg's database and nothing else

my $root = tempdir(CLEANUP => 1);
make_path("$root/var/lib/dpkg/$_") for qw(info updates triggers);
for my $f (qw(status available)) {
    open my $fh, '>', "$root/var/lib/dpkg/$f" or die $!;
    close $fh;
}
make_path("$root/usr/share/nginx", "$root/etc/nginx");
symlink '../../lib/nginx/modules', "$root/usr/share/nginx/modules" or die $!;

# the scripts run outside a chroot, with DPKG_ROOT; nginx and the
# libraries are this machine's, not the scratch root's
my $dpkg = "dpkg --root=$root --force-script-chrootless --force-depends "
    . "--force-not-root --log=$root/dpkg.log";

sub dpkg_ok {
    my ($args, $what) = @_;
    my $o = `$dpkg $args 2>&1`;
    is $?, 0, $what or diag $o;
}

sub enabled {
    return sort map { m{/([^/]+)$} } glob "$root/etc/nginx/modules-enabled/*";
}

sub nginx_t {
    my $conf = "$root/test.conf";
    open my $fh, '>', $conf or die $!;
    print $fh "pid $root/nginx.pid;\nerror_log $root/error.log;\n";
    for my $link (glob "$root/etc/nginx/modules-enabled/*.conf") {
        # the links name the installed path; read it under the root
        print $fh "include $root" . readlink($link) . ";\n";
    }
    print $fh "events {}\nhttp {\n    access_log off;\n}\n";
    close $fh;
    my $o = `/usr/sbin/nginx -t -p $root/usr/share/nginx/ -c $conf 2>&1`;
    return ($? >> 8, $o);
}

dpkg_ok("-i @debs", 'dpkg -i: the seven packages install');

my @want = map { "50-mod-http-$_.conf" } qw(album-zip edge-metrics face
    image-variant lambda s3);
is_deeply [enabled()], \@want, 'postinst: every module enabled';

my ($rc, $o) = nginx_t();
is $rc, 0, 'nginx -t with the enabled snippets' or diag $o;
is scalar(() = $o =~ /load_module|emerg/g), 0, 'nginx -t: nothing refused';

dpkg_ok('-r libnginx-mod-http-face', 'dpkg -r: the face module');
is_deeply [enabled()],
    [sort((grep { !/face/ } @want), '50-mod-http-face.conf.removed')],
    'postrm remove: the link set aside';
($rc, $o) = nginx_t();
is $rc, 0, 'nginx -t without the face module' or diag $o;

dpkg_ok("-i $pkg{'libnginx-mod-http-face'}", 'the face module reinstalled');
is_deeply [enabled()], \@want, 'postinst: the link restored';

unlink "$root/etc/nginx/modules-enabled/50-mod-http-album-zip.conf";
dpkg_ok("-i $pkg{'libnginx-mod-http-album-zip'}", 'album zip upgraded');
ok !-e "$root/etc/nginx/modules-enabled/50-mod-http-album-zip.conf",
    'an upgrade keeps the administrator\'s disabling';

dpkg_ok('--purge ' . join(' ', sort keys %pkg), 'dpkg --purge: all seven');
is_deeply [enabled()], [], 'purge: no snippet left in modules-enabled';
my @left = grep { -f } map { glob "$root$_" } '/usr/lib/nginx/modules/*',
    '/usr/share/nginx/modules-available/*', '/usr/share/photo-edge/*/*',
    '/usr/share/doc/*/*';
is_deeply \@left, [], 'purge: no file of ours left';

done_testing;
