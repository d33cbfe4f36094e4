#!/usr/bin/perl
# config: each library is checked, and a missing one stops configure with
# the Debian package to install (non-zero exit, clear message).

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use FindBin;
use Cwd ();

my $repo = "$FindBin::Bin/..";
my $kit = '/usr/share/nginx/src';

plan skip_all => "nginx-dev kit not installed ($kit)" unless -f "$kit/conf_flags";

# configure_with(<config text>) -> (exit status, output)
sub configure_with {
    my ($text) = @_;
    my $dir = tempdir(CLEANUP => 1);

    make_path("$dir/addon", "$dir/build");
    open my $fh, '>', "$dir/addon/config" or die $!;
    print $fh $text;
    close $fh;

    # the addon's sources are not compiled by configure; config lists the
    # face engine's files, so src/ is the repository's (a link)
    symlink(Cwd::abs_path("$repo/src"), "$dir/addon/src") or die $!;

    my $cmd = "cd $kit && bash -c '. ./conf_flags && ./configure "
        . "\"\${NGX_CONF_FLAGS[@]}\" --add-dynamic-module=$dir/addon "
        . "--builddir=$dir/build' 2>&1";
    my $out = `$cmd`;
    return ($? >> 8, $out);
}

open my $fh, '<', "$repo/config" or die "config: $!";
my $config = do { local $/; <$fh> };
close $fh;

my ($status, $out) = configure_with($config);
is($status, 0, 'configure succeeds with every library present')
    or diag $out;
for my $lib ('libdeflate', 'libcurl', 'cJSON', 'libvips',
             'OpenSSL libcrypto', 'oneDNN', 'libjpeg-turbo')
{
    like($out, qr/checking for \Q$lib\E \.\.\. found/, "$lib is checked");
}

# make one probe fail: its header does not exist
(my $broken = $config) =~ s{#include <dnnl\.h>}{#include <no_such_dnnl.h>}
    or die 'oneDNN probe not found in config';

($status, $out) = configure_with($broken);
isnt($status, 0, 'configure fails when a library is missing');
like($out, qr/checking for oneDNN \.\.\. not found/, 'the failing check');
like($out, qr/error: .*needs oneDNN/, 'names the missing library');
like($out, qr/libdnnl-dev/, 'names the Debian package to install');

done_testing();
