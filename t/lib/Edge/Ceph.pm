package Edge::Ceph;

# A real S3 server for the tests: a Ceph RADOS Gateway (Debian's
# ceph-mon, ceph-osd and radosgw) with one monitor, one memstore OSD and
# radosgw on free loopback ports, no systemd, an S3 user with fixed keys.
# It starts in about 15 s, so one cluster serves a whole "prove" run:
# scripts/with-ceph starts it, exports TEST_S3_* and stops it afterwards;
# a test file run alone starts its own and stops it at exit.
# Documentation: POD at the end of this file.

use strict;
use warnings;

use Carp qw(croak);
use Exporter 'import';
use File::Path ();
use File::Spec ();
use File::Temp ();
use IO::Socket::IP ();
use JSON::PP ();
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);

use Edge::Nginx qw(alloc_port pid_alive);

our @EXPORT_OK = qw(s3_server have_ceph);

use constant KEY_ID => 'PHOTOEDGES3TESTKEY01';
use constant SECRET => 'cGhvdG8tZWRnZSBzMyB0ZXN0IHNlY3JldCBrZXkx';
use constant REGION => 'us-east-1';

my @BINARIES = qw(ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool);
my $PY = '/usr/bin/python3';
my $SERVER;    # the cluster this process started, stopped at exit

sub _which {
    my ($cmd) = @_;
    -x "$_/$cmd" and return "$_/$cmd" for split /:/, $ENV{PATH} // '';
    return;
}

# Why the cluster cannot run here, or undef.
sub have_ceph {
    my @missing = grep { !_which($_) } @BINARIES;
    return 'Ceph binaries missing (' . join(' ', @missing)
        . '): install ceph-mon ceph-osd radosgw (deps.txt)' if @missing;
    return "no $PY with boto3 (python3-boto3)"
        if system("$PY -c 'import boto3' >/dev/null 2>&1") != 0;
    return;
}

# The server of this run: from TEST_S3_* when scripts/with-ceph started
# one, else a cluster of this process's own (stopped at exit).  Calls
# plan skip_all when the binaries are absent.
sub s3_server {
    if ($ENV{TEST_S3_ENDPOINT}) {
        return bless {
            endpoint => $ENV{TEST_S3_ENDPOINT},
            key      => $ENV{TEST_S3_KEY} // KEY_ID,
            secret   => $ENV{TEST_S3_SECRET} // SECRET,
            region   => REGION,
        }, __PACKAGE__;
    }
    return $SERVER if $SERVER;
    if (my $why = have_ceph()) {
        Test::More::plan(skip_all => $why);
    }
    my $dir = File::Temp::tempdir('edge-ceph-XXXXXX', TMPDIR => 1);
    $SERVER = start($dir);
    $SERVER->{own_dir} = 1;
    return $SERVER;
}

sub endpoint { $_[0]{endpoint} }
sub key_id   { $_[0]{key} }
sub secret   { $_[0]{secret} }
sub region   { $_[0]{region} }

# Starts a cluster in $dir (emptied first); dies with the logs' tails on
# failure.  Returns the server object.
sub start {
    my ($dir) = @_;
    File::Path::remove_tree($dir);
    File::Path::make_path(map { "$dir/$_" } qw(run log mon.a osd.0 rgw));
    my ($mon2, $mon1, $rgw) = (alloc_port(), alloc_port(), alloc_port());
    chomp(my $fsid = `uuidgen`);
    my $mons = "[v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]";

    _write("$dir/ceph.conf", <<"CONF");
[global]
fsid = $fsid
mon host = $mons
public network = 127.0.0.1/32
auth cluster required = none
auth service required = none
auth client required = none
keyring = $dir/keyring
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
ms bind ipv6 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
[mon]
mon data = $dir/mon.\$id
mon cluster log file = $dir/log/cluster.log
[osd]
osd data = $dir/osd.\$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd memory target = 939524096
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw
rgw data = $dir/rgw
rgw dns name = localhost
rgw thread pool size = 32
# without it radosgw loops on "get_initial_auth_request returned -13"
ms mon client mode = crc secure
CONF
    _write("$dir/keyring", '');

    my $self = bless {
        dir => $dir, endpoint => "http://127.0.0.1:$rgw",
        key => KEY_ID, secret => SECRET, region => REGION, owner => $$,
    }, __PACKAGE__;

    my @c = ('-c', "$dir/ceph.conf");
    my $ok = eval {
        _sys('monmaptool', '--create', '--clobber', '--fsid', $fsid,
            '--addv', 'a', $mons, "$dir/monmap");
        _sys('ceph-mon', @c, '--mkfs', '-i', 'a', '--monmap',
            "$dir/monmap", '--keyring', "$dir/keyring");
        _sys('ceph-mon', @c, '-i', 'a');
        chomp(my $osd_uuid = `uuidgen`);
        my $id = _out('ceph', @c, 'osd', 'new', $osd_uuid);
        $id =~ /^(\d+)\s*\z/ or die "ceph osd new: $id\n";
        $id = $1;
        _sys('ceph-osd', @c, '-i', $id, '--mkfs', '--osd-uuid', $osd_uuid);
        _sys('ceph-osd', @c, '-i', $id);
        _wait(60, sub {
            _out('ceph', @c, 'osd', 'stat', '-f', 'json')
                =~ /"num_up_osds":1\b/;
        }) or die "the OSD did not come up in 60 s\n";
        _sys('radosgw', @c, '-n', 'client.rgw.a');
        _wait(120, sub {
            my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
                PeerPort => $rgw, Timeout => 1);
            return $s ? 1 : 0;
        }) or die "radosgw did not listen in 120 s\n";
        _sys('radosgw-admin', @c, 'user', 'create', '--uid=test',
            '--display-name=test', "--access-key=" . KEY_ID,
            "--secret-key=" . SECRET);
        1;
    };
    if (!$ok) {
        my $err = $@;
        my $tails = join '', map { _tail($_) } glob "$dir/log/*.log";
        $self->stop;
        croak "Ceph did not start: $err$tails";
    }
    return $self;
}

# Stops the daemons by their pid files: TERM, then KILL after 10 s.
sub stop {
    my ($self) = @_;
    return if !$self->{dir} || $self->{owner} != $$;
    my @pids;
    for my $f (glob "$self->{dir}/run/*.pid") {
        open my $fh, '<', $f or next;
        my ($pid) = (scalar <$fh> // '') =~ /(\d+)/;
        push @pids, $pid if $pid;
    }
    kill 'TERM', @pids;
    _wait(10, sub { !grep { pid_alive($_) } @pids })
        or kill 'KILL', @pids;
    _wait(5, sub { !grep { pid_alive($_) } @pids });
    File::Path::remove_tree($self->{dir})
        if $self->{own_dir} && !$ENV{TEST_KEEP};
    delete $self->{dir};
}

# ---------------------------------------------------------------- S3 calls

# Runs t/lib/s3_client.py: op and its arguments; returns its one JSON
# line as a hash.
sub client {
    my ($self, @args) = @_;
    my @cmd = ($PY, Edge::Nginx->repo . '/t/lib/s3_client.py',
        '--endpoint', $self->{endpoint}, '--key', $self->{key},
        '--secret', $self->{secret}, '--region', $self->{region}, @args);
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    my ($line) = $out =~ /^(\{.*\})\s*\z/ms;
    my $r = eval { JSON::PP->new->decode($line // '') };
    return $r // { crashed => $out };
}

# A bucket named after the test file and this process, made afresh.
sub bucket {
    my ($self, $name) = @_;
    $name //= 'edge-' . lc((File::Spec->splitpath($0))[2] =~ s/\W+/-/gr)
        . "-$$";
    $name =~ s/-+/-/g;
    $name = substr($name, 0, 63);
    my $r = $self->client('mkbucket', $name);
    croak "mkbucket $name: " . JSON::PP->new->encode($r) unless $r->{ok};
    return $name;
}

# put($bucket, $key, $bytes[, $content_type])
sub put {
    my ($self, $bucket, $key, $bytes, $type) = @_;
    my $tmp = File::Temp->new;
    binmode $tmp;
    print {$tmp} $bytes;
    close $tmp;
    my $r = $self->client('put', $bucket, $key, "$tmp",
        defined $type ? ('--content-type', $type) : ());
    croak "put $bucket/$key: " . JSON::PP->new->encode($r) unless $r->{ok};
    return $r;
}

# ---------------------------------------------------------------- helpers

sub _write {
    my ($path, $data) = @_;
    open my $fh, '>', $path or croak "open $path: $!";
    print {$fh} $data;
    close $fh or croak "close $path: $!";
}

sub _sys {
    my @cmd = @_;
    my $out = _out(@cmd);
    die "$cmd[0] failed (status $?): $out\n" if $?;
}

sub _out {
    my @cmd = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub _wait {
    my ($limit, $code) = @_;
    my $end = time + $limit;
    while (time < $end) {
        return 1 if $code->();
        sleep 0.3;
    }
    return 0;
}

sub _tail {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    my @l = <$fh>;
    splice @l, 0, @l - 15 if @l > 15;
    return "--- $f\n" . join '', @l;
}

END {
    local $?;
    $SERVER->stop if $SERVER;
}

for my $sig (qw(INT TERM)) {
    my $code = 128 + POSIX->can("SIG$sig")->();
    $SIG{$sig} //= sub { exit $code };
}

1;

__END__

=head1 NAME

Edge::Ceph - a real S3 server (Ceph RADOS Gateway) for the S3 tests

=head1 SYNOPSIS

    use Edge::Ceph qw(s3_server);
    my $s3 = s3_server();          # skip_all if Ceph is not installed
    my $bucket = $s3->bucket;      # a fresh bucket for this file
    $s3->put($bucket, 'a b.jpg', $bytes, 'image/jpeg');
    # $s3->endpoint, key_id, secret, region

=head1 DESCRIPTION

C<s3_server> returns the server named by C<TEST_S3_ENDPOINT> (with
C<TEST_S3_KEY>, C<TEST_S3_SECRET>), as F<scripts/with-ceph> exports it
around a whole C<prove> run, or starts a cluster of this process's own
in a temporary directory, stopped by its pid files at exit.  Without the
Ceph binaries or Debian's boto3 it calls C<plan skip_all> with the
reason.

C<start($dir)> and C<stop> are the cluster itself: one monitor and one
memstore OSD (no authentication between the daemons), radosgw's beast
frontend on a loopback port from C<alloc_port>, the user C<test> with
fixed keys; about 110 MB.

C<client(@args)> runs F<t/lib/s3_client.py> (boto3) and returns its JSON
answer; C<bucket([$name])> makes a bucket (by default named after the
test file and the process); C<put($bucket, $key, $bytes, [$type])>.

=cut
