package Edge::Lambda;
# Helpers for the Lambda tests: invoke a function through nginx with the
# real SDKs (Debian's boto3 through t/lib/lambda_client.py, and
# @aws-sdk/client-lambda through t/sdk/invoke.mjs), and a credentials
# file.  Each call returns the client's JSON answer as a hash.
use strict;
use warnings;

use Exporter 'import';
use JSON::PP ();

use Edge::Nginx;

our @EXPORT_OK = qw(boto3 js_sdk have_boto3 have_js_sdk KEY_ID SECRET);

my $REPO = Edge::Nginx->repo;
my $PY = '/usr/bin/python3';

use constant KEY_ID => 'AKIDPHOTOEDGETEST01';
use constant SECRET => 'd2hhdC1hLXNlY3JldC9mb3IrdGVzdHM9PQ';

sub have_boto3 {
    return system("$PY -c 'import boto3' >/dev/null 2>&1") == 0;
}

sub have_js_sdk {
    return -d "$REPO/t/sdk/node_modules/\@aws-sdk/client-lambda"
        && system('node -e 1 >/dev/null 2>&1') == 0;
}

sub _run {
    my (@cmd) = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    my ($line) = $out =~ /^(\{.*\})\s*\z/ms;
    my $r = eval { JSON::PP->new->decode($line // '') };
    return $r // { crashed => $out };
}

# boto3(endpoint => URL, function => F, type, payload, qualifier, key,
#       secret, region, retry_mode, attempts, clock_offset, tamper_body)
sub boto3 {
    my (%o) = @_;
    my @cmd = ($PY, "$REPO/t/lib/lambda_client.py",
        '--endpoint', $o{endpoint}, '--function', $o{function});
    for my $k (qw(type payload qualifier key secret region retry_mode
                  attempts clock_offset timeout)) {
        next unless defined $o{$k};
        (my $flag = $k) =~ tr/_/-/;
        push @cmd, "--$flag", $o{$k};
    }
    push @cmd, '--tamper-body' if $o{tamper_body};
    return _run(@cmd);
}

# the same through @aws-sdk/client-lambda (node t/sdk/invoke.mjs)
sub js_sdk {
    my (%o) = @_;
    my @cmd = ('node', "$REPO/t/sdk/invoke.mjs",
        '--endpoint', $o{endpoint}, '--function', $o{function});
    for my $k (qw(type payload qualifier key secret region attempts)) {
        next unless defined $o{$k};
        push @cmd, "--$k", $o{$k};
    }
    return _run(@cmd);
}

1;
