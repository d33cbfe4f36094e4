package Edge::Nginx;

# Integration-test harness: runs stock nginx with our dynamic modules in
# a fresh prefix, talks HTTP to it, fakes origins, checks the logs.
# Core Perl only.  Documentation: POD at the end of this file.

use strict;
use warnings;

use Carp qw(croak);
use Cwd ();
use Exporter 'import';
use Fcntl qw(:flock O_RDONLY O_CREAT);
use File::Path ();
use File::Spec;
use File::Temp ();
use HTTP::Tiny;
use IO::Select;
use IO::Socket::IP;
use JSON::PP ();
use POSIX qw(WNOHANG);
use Scalar::Util qw(weaken);
use Socket qw(SOL_SOCKET SO_REUSEADDR);
use Test::More ();
use Time::HiRes qw(time);

use Edge::Nginx::Backend qw(write_all);

our $VERSION = '0.01';
our @EXPORT_OK = qw(parse_response scan_logs alloc_port pid_alive);

# The repository root, from this file's place: <repo>/t/lib/Edge/Nginx.pm
our $REPO = Cwd::abs_path(__FILE__);
$REPO =~ s{/t/lib/Edge/Nginx\.pm\z}{} or die "unexpected path $REPO";

my %LIVE;    # instances to clean up at exit (weak references)

# Each check is one test in check_logs(); a matching line fails it.
our @LOG_CHECKS = (
    ['[alert]'          => qr/\[alert\]/],
    ['[emerg]'          => qr/\[emerg\]/],
    ['[crit]'           => qr/\[crit\]/],
    ['crashed process'  => qr/exited on signal/],
    ['leaked socket'    => qr/open socket #\d+ left/],
    ['sanitizer report' => qr/Sanitizer|runtime\ error:|^==\d+==\ (?:Invalid
        |Conditional\ jump|Use\ of\ uninitialised|Syscall\ param
        |Mismatched|Source\ and\ destination)/x],
);

# ---------------------------------------------------------------- setup

sub new {
    my ($class, %opt) = @_;
    my $keep = $ENV{TEST_KEEP};
    my $self = bless {
        modules          => $opt{modules} // [],
        worker_processes => $opt{worker_processes} // 1,
        master_process   => $opt{master_process} // 'on',
        main             => $opt{main} // '',
        thread_pools     => $opt{thread_pools} // {},
        events           => $opt{events} // 'worker_connections 1024;',
        log_level        => $opt{log_level} // $ENV{TEST_NGINX_LOG_LEVEL}
                            // 'info',
        # valgrind's own exit can take seconds on a loaded machine
        stop_timeout     => $opt{stop_timeout}
                            // ($ENV{TEST_NGINX_VALGRIND} ? 30 : 10),
        binary           => $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx',
        valgrind         => $ENV{TEST_NGINX_VALGRIND},
        preload          => $ENV{TEST_NGINX_PRELOAD},
        prefix => File::Temp::tempdir('edge-nginx-XXXXXX', TMPDIR => 1),
        keep => $keep, owner => $$, ports => [], backends => [],
        vars => {}, allow => [], problems => [],
    }, $class;
    croak 'TEST_NGINX_VALGRIND and TEST_NGINX_PRELOAD do not mix'
        if $self->{valgrind} && $self->{preload};
    # valgrind follows one process best: run nginx without a master.
    $self->{master_process} = 'off' if $self->{valgrind};
    # A missing module must fail the run loudly, never skip it.
    $self->{module_paths} = [map { File::Spec->rel2abs(module_path($_)) }
        @{ $self->{modules} }];
    -f $_ or croak "module $_ not found (run 'make build' first)"
        for @{ $self->{module_paths} };
    File::Path::make_path(map { "$self->{prefix}/$_" }
        qw(conf html logs tmp));
    $LIVE{"$self"} = $self;
    weaken $LIVE{"$self"};
    return $self;
}

sub prefix { $_[0]{prefix} }
sub repo   { $REPO }

# Path of a module .so: a path, a file name in TEST_NGINX_MODULES
# (default <repo>/build/nginx), or a short name such as 'face'.
sub module_path {
    my $m = pop;
    return $m if $m =~ m{/};
    my $dir = $ENV{TEST_NGINX_MODULES} // "$REPO/build/nginx";
    $m = "ngx_http_${m}_module.so" unless $m =~ /\.so\z/;
    return "$dir/$m";
}

sub write_file {
    my ($self, $rel, $data) = @_;
    my $path = "$self->{prefix}/$rel";
    (my $dir = $path) =~ s{/[^/]*\z}{};
    File::Path::make_path($dir);
    open my $fh, '>:raw', $path or croak "open $path: $!";
    print {$fh} $data;
    close $fh or croak "close $path: $!";
    return $path;
}

sub read_file {
    my ($self, $rel) = @_;
    my $path = $rel =~ m{^/} ? $rel : "$self->{prefix}/$rel";
    open my $fh, '<:raw', $path or return undef;
    local $/;
    return scalar <$fh>;
}

sub error_log  { $_[0]->read_file('logs/error.log') // '' }
sub access_log { $_[0]->read_file('logs/access.log') // '' }

# ---------------------------------------------------------------- ports

# Ports come from a range below the kernel's ephemeral range: a port the
# kernel hands out for bind(0) may meanwhile become the source port of
# any outgoing connection, making nginx's bind fail.  A random candidate
# is taken only if its lock file in <tmpdir>/edge-nginx-ports can be
# flock()ed (held until cleanup, so parallel test files never share a
# port; the kernel drops the lock if we die) and it is free to bind.
my %PORT_LOCK;

sub alloc_port {
    my $dir = File::Spec->catdir(File::Spec->tmpdir, 'edge-nginx-ports');
    mkdir $dir and chmod 01777, $dir;
    my ($lo, $hi) = (20000, 32768);
    if (open my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range') {
        my ($elo, $ehi) = split ' ', scalar <$fh>;
        ($lo, $hi) = $elo > 21000 ? (20000, $elo) : ($ehi + 1, 65536);
    }
    for (1 .. 500) {
        my $port = $lo + int rand($hi - $lo);
        next if $PORT_LOCK{$port};
        sysopen(my $fh, "$dir/$port", O_RDONLY | O_CREAT, 0666) or next;
        flock($fh, LOCK_EX | LOCK_NB) or next;
        socket(my $s, Socket::PF_INET, Socket::SOCK_STREAM, 0) or next;
        setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);    # as nginx does
        bind($s, Socket::pack_sockaddr_in($port, Socket::INADDR_LOOPBACK))
            or next;
        $PORT_LOCK{$port} = $fh;
        return $port;
    }
    croak 'no free port found';
}

# The n-th port of this instance (default 1), allocated on first use.
sub port {
    my ($self, $n) = @_;
    $n //= 1;
    return $self->{ports}[$n - 1] //= alloc_port();
}

# A named value for %%NAME%% placeholders in configuration text.
sub var { $_[0]{vars}{ $_[1] } = $_[2] }

sub _subst {
    my ($self, $text) = @_;
    $text =~ s{%%([A-Z][A-Z0-9_]*)%%}{$self->_placeholder($1)}ge;
    return $text;
}

sub _placeholder {
    my ($self, $name) = @_;
    return $self->{prefix} if $name eq 'PREFIX';
    return $REPO if $name eq 'REPO';
    return $self->port($1 || 1) if $name =~ /^PORT(\d*)\z/;
    if ($name =~ /^BACKEND(\d*)\z/) {
        my $b = $self->{backends}[($1 || 1) - 1] or croak "no %%$name%%";
        return $b->{port};
    }
    return $self->{vars}{$name} // croak "unknown placeholder %%$name%%";
}

# ---------------------------------------------------------------- config

sub conf_text {
    my ($self, $body) = @_;
    my $p = $self->{prefix};
    my @main = (
        '# generated by Edge::Nginx',
        'daemon off;',
        "master_process $self->{master_process};",
        "worker_processes $self->{worker_processes};",
        "pid $p/logs/nginx.pid;",
        "error_log $p/logs/error.log $self->{log_level};",
    );
    # As root (CI), nginx would run workers as "nobody", who can neither
    # read the private 0700 prefix nor write sanitizer logs into it.  The
    # tests exercise module code, not privilege dropping: stay root.
    push @main, 'user root root;' if $> == 0;
    push @main, "load_module $_;" for @{ $self->{module_paths} };
    # nginx clears the workers' environment except for "env" variables.
    push @main, map { "env $_;" } qw(LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS)
        if $self->{preload};
    # libvips' run-time generated vector code is not something valgrind
    # can follow (SIGILL): plain C paths under valgrind
    push @main, 'env VIPS_NOVECTOR=1;' if $self->{valgrind};
    push @main, "thread_pool $_ $self->{thread_pools}{$_};"
        for sort keys %{ $self->{thread_pools} };
    push @main, $self->{main}, "events { $self->{events} }";
    my $http = join "\n", map { "    $_" }
        "access_log $p/logs/access.log;",
        map({ "${_}_temp_path $p/tmp/$_;" }
            qw(client_body proxy fastcgi uwsgi scgi)),
        'types { text/html html; text/plain txt; application/json json;',
        '    image/jpeg jpg jpeg; image/png png; image/webp webp;',
        '    image/avif avif; application/zip zip; }',
        'default_type application/octet-stream;';
    return $self->_subst(join("\n", @main) . "\nhttp {\n$http\n"
        . ($body // '') . "\n}\n");
}

# Environment for nginx: sanitizer runtime and where it should report.
# Every dynamic module exports its own ngx_modules, ngx_module_names and
# ngx_module_order (nginx's design), which ASan's ODR check reports as soon
# as two instrumented modules are loaded: that check is off.
sub _env {
    my $self = shift;
    return () unless $self->{preload};
    my $logs = "$self->{prefix}/logs";
    my $opts = sub { join ':', grep { defined && length } @_ };
    return (
        LD_PRELOAD    => $self->{preload},
        ASAN_OPTIONS  => $opts->($ENV{ASAN_OPTIONS},
            "log_path=$logs/asan", 'detect_leaks=0',
            'detect_odr_violation=0'),
        UBSAN_OPTIONS => $opts->($ENV{UBSAN_OPTIONS},
            'print_stacktrace=1', "log_path=$logs/ubsan"),
    );
}

sub _nginx_args {
    my ($self, $conf, $log) = @_;
    my $p = $self->{prefix};
    return ($self->{binary}, '-p', "$p/", '-c', $conf, '-e', $log);
}

# Run a command with the nginx environment; return (exit code, output).
sub _capture {
    my ($self, @cmd) = @_;
    my %env = $self->_env;
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if (!$pid) {
        @ENV{ keys %env } = values %env;
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

# nginx -t on a configuration; returns (success, output).  Its own error
# log keeps provoked [emerg]s out of the checked logs/error.log.
sub check_config {
    my ($self, $body) = @_;
    my $conf = $self->write_file('conf/check.conf', $self->conf_text($body));
    return $self->_test_conf($conf);
}

sub _test_conf {
    my ($self, $conf) = @_;
    my ($rc, $out) = $self->_capture($self->_nginx_args($conf,
        "$self->{prefix}/logs/nginx-t.log"), '-t');
    return ($rc == 0, $out);
}

# ---------------------------------------------------------------- control

sub run {
    my ($self, $body) = @_;
    croak 'nginx is already running; use reload' if $self->{pid};
    my $text = $self->conf_text($body);
    my $conf = $self->write_file('conf/nginx.conf', $text);
    my ($ok, $out) = $self->_test_conf($conf);
    croak "nginx -t failed:\n$out" unless $ok;
    $self->{listen} = [_listens($text)];

    my @cmd = $self->_nginx_args($conf, "$self->{prefix}/logs/error.log");
    unshift @cmd, 'valgrind', '-q', '--error-exitcode=66',
        '--leak-check=no', '--num-callers=30',
        "--log-file=$self->{prefix}/logs/valgrind.%p" if $self->{valgrind};
    my %env = $self->_env;
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        @ENV{ keys %env } = values %env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{prefix}/logs/stderr.log";
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    my $limit = $self->{valgrind} ? 60 : 10;
    my $up = $self->wait_for(sub {
        return 'died' if waitpid($pid, WNOHANG) == $pid;
        return 0 if grep { !_can_connect(@$_) } @{ $self->{listen} };
        return 1 if $self->{master_process} eq 'off';
        return $self->worker_pids >= $self->{worker_processes};
    }, $limit);
    return $self if $up && $up ne 'died';
    my $why = $up ? "exited with status $?" : "not ready after ${limit}s";
    delete $self->{pid} if $up;
    $self->stop;
    croak "nginx $why\n" . $self->_tail('logs/stderr.log')
        . $self->_tail('logs/error.log');
}

# [host, port] of each TCP listen directive in configuration text.
sub _listens {
    my ($text) = @_;
    my @l;
    while ($text =~ /(?:^|[\s;{])listen\s+(\[[^\]]+\]:|[\w.]+:)?(\d+)\b/g) {
        my ($host, $port) = ($1 // "127.0.0.1:", $2);
        $host =~ s/:\z//;
        $host =~ tr/[]//d;
        $host = '127.0.0.1' if $host =~ /^(?:\*|0\.0\.0\.0|localhost)\z/;
        push @l, [$host, $port];
    }
    return @l;
}

sub _can_connect {
    my ($host, $port) = @_;
    return IO::Socket::IP->new(PeerHost => $host, PeerPort => $port,
        Timeout => 1) ? 1 : 0;
}

sub _tail {
    my ($self, $rel) = @_;
    my @lines = split /\n/, $self->read_file($rel) // '';
    splice @lines, 0, @lines - 30 if @lines > 30;
    return join '', "--- $rel\n", map { "$_\n" } @lines;
}

# Reload (HUP), optionally with a new http{} body, and wait until only
# workers of the new configuration are left.
sub reload {
    my ($self, $body) = @_;
    croak 'nginx is not running' unless $self->{pid};
    # Without a master, nginx 1.22 mixes up descriptors on reconfigure.
    croak 'reload needs master_process on'
        if $self->{master_process} ne 'on';
    if (defined $body) {
        my $text = $self->conf_text($body);
        $self->write_file('conf/nginx.conf', $text);
        $self->{listen} = [_listens($text)];
    }
    my ($ok, $out) = $self->_test_conf("$self->{prefix}/conf/nginx.conf");
    croak "nginx -t failed:\n$out" unless $ok;
    my @old = $self->worker_pids;
    kill 'HUP', $self->{pid};
    my $done = $self->wait_for(sub {
        my %new = map { $_ => 1 } $self->worker_pids;
        return 0 if grep { $new{$_} || pid_alive($_) } @old;
        return keys(%new) >= $self->{worker_processes};
    }, 10);
    croak 'reload did not complete' unless $done;
    return $self;
}

# What went wrong while stopping (checked by finish()).
sub problems { @{ $_[0]{problems} } }

# Graceful stop: QUIT, then TERM and KILL after timeouts.  Anything but
# a clean exit on QUIT is noted and fails the checks in finish().
sub stop {
    my $self = shift;
    my $pid = delete $self->{pid} or return;
    my ($status, $how);
    for (['QUIT', $self->{stop_timeout}], ['TERM', 5], ['KILL', 5]) {
        ($how, my $limit) = @$_;
        kill $how, $pid;
        my $sent = time;
        $status = $self->wait_for(sub {
            my $r = waitpid($pid, WNOHANG);
            return $r == $pid ? [$?] : $r < 0 ? [0] : undef
                if $r != 0;
            # under valgrind a QUIT was seen lost now and then on a busy
            # machine: say it again (nginx takes it as often as it comes)
            if ($how eq 'QUIT' && $self->{valgrind} && time - $sent > 3) {
                kill 'QUIT', $pid;
                $sent = time;
            }
            return undef;
        }, $limit);
        last if $status;
    }
    push @{ $self->{problems} }, "nginx needed SIG$how to stop"
        if $how ne 'QUIT';
    push @{ $self->{problems} }, "nginx exit status $status->[0]"
        if $status && $status->[0];
    # Workers outlive a killed master (and are no longer its children):
    # find them by the prefix files they hold open.
    my @orphans = grep { (_slurp("/proc/$_/cmdline") // '') =~ /^nginx: /
        } $self->leftover_pids;
    if (@orphans) {
        kill 'KILL', @orphans;
        $self->wait_for(sub { !grep { pid_alive($_) } @orphans }, 5);
        push @{ $self->{problems} }, "workers @orphans outlived master";
    }
    return $self;
}

sub stop_backends {
    my $self = shift;
    for my $b (@{ $self->{backends} }) {
        my $pid = delete $b->{pid} or next;
        kill 'TERM', -$pid, $pid;
        next if $self->wait_for(sub { waitpid($pid, WNOHANG) == $pid }, 5);
        kill 'KILL', -$pid, $pid;
        waitpid $pid, 0;
    }
}

# ---------------------------------------------------------------- clients

sub url {
    my ($self, $path, $port) = @_;
    return 'http://127.0.0.1:' . ($port // $self->port) . ($path // '/');
}

# HTTP::Tiny request; options are HTTP::Tiny's (headers, content...)
# plus port, timeout and host (sets Host: goes through raw()).
sub request {
    my ($self, $method, $path, $opt) = @_;
    my %o = %{ $opt // {} };
    my ($port, $host, $timeout) = delete @o{qw(port host timeout)};
    $timeout //= 10;
    return $self->_host_request($method, $path, $host, $port, $timeout,
        %o) if defined $host;
    my $ua = HTTP::Tiny->new(keep_alive => 0, max_redirect => 0,
        timeout => $timeout, agent => 'edge-nginx-test');
    my $res = $ua->request($method, $self->url($path, $port), \%o);
    $res->{content} //= '';    # HEAD
    return $res;
}

sub get  { $_[0]->request('GET',  $_[1], $_[2]) }
sub head { $_[0]->request('HEAD', $_[1], $_[2]) }

sub _host_request {
    my ($self, $method, $path, $host, $port, $timeout, %o) = @_;
    my $h = $o{headers} // {};
    my $body = $o{content} // '';
    my $req = "$method $path HTTP/1.1\r\nHost: $host\r\n"
        . "Connection: close\r\n"
        . join('', map { "$_: $h->{$_}\r\n" } sort keys %$h)
        . (length $body ? 'Content-Length: ' . length($body) . "\r\n" : '')
        . "\r\n$body";
    my $raw = $self->raw($req, port => $port, timeout => $timeout);
    return parse_response($raw, $method eq 'HEAD');
}

# Send bytes on a new connection (an array of pieces is sent with
# `delay` seconds between them) and return everything read until the
# server closes or `timeout` (default 5 s) passes.
sub raw {
    my ($self, $data, %opt) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $sock = IO::Socket::IP->new(PeerHost => $opt{host} // '127.0.0.1',
        PeerPort => $opt{port} // $self->port, Timeout => 5)
        or croak "connect: $@";
    my @pieces = ref $data eq 'ARRAY' ? @$data : ($data);
    for my $i (0 .. $#pieces) {
        Time::HiRes::sleep($opt{delay} // 0.1) if $i;
        write_all($sock, $pieces[$i]) or last;
    }
    my ($out, $sel) = ('', IO::Select->new($sock));
    my $deadline = time + ($opt{timeout} // 5);
    $self->{raw_timed_out} = 1;
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        next if sysread($sock, $out, 65536, length $out);
        $self->{raw_timed_out} = 0;    # EOF (or reset): the server closed
        last;
    }
    return $out;
}

# True if the last raw() ended by its timeout, not by the server closing.
sub raw_timed_out { $_[0]{raw_timed_out} }

# Parse a raw HTTP/1.x response into an HTTP::Tiny-like hash.
sub parse_response {
    my ($raw, $is_head) = @_;
    my $orig = $raw;
    my ($head, $rest);
    do {
        my $i = index $raw, "\r\n\r\n";
        return { status => 599, success => "", content => $orig,
            headers => {} } if $i < 0;
        ($head, $rest) = (substr($raw, 0, $i), substr($raw, $i + 4));
        $raw = $rest;
    } while ($head =~ m{^HTTP/\d\.\d 1\d\d});    # skip 100 Continue
    my ($status_line, @lines) = split /\r\n/, $head;
    my ($proto, $status, $reason)
        = $status_line =~ m{^(HTTP/\d\.\d) (\d{3}) ?(.*)$}
        or return { status => 599, success => '', content => $orig,
            headers => {} };
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k}
            ? [ref $h{$k} ? @{ $h{$k} } : $h{$k}, $v] : $v;
    }
    my $body = $rest;
    if ($is_head || $status == 204 || $status == 304) {
        $body = '';
    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        $body = '';
        while ($rest =~ s/^([0-9a-fA-F]+)[^\r]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $body .= substr($rest, 0, $n);
            substr($rest, 0, $n + 2, '');
        }
    } elsif (defined $h{'content-length'}) {
        $body = substr($rest, 0, $h{'content-length'});
    }
    return { protocol => $proto, status => $status, reason => $reason,
        headers => \%h, content => $body,
        success => $status =~ /^2/ ? 1 : '' };
}

# Start a fake HTTP server (see Edge::Nginx::Backend); returns its port,
# also available as %%BACKEND%%, %%BACKEND2%%... in creation order.
sub backend {
    my ($self, $handler, %opt) = @_;
    if (ref $handler eq 'ARRAY') {
        my $fixed = $handler;
        $handler = sub { $fixed };
    }
    my $port = alloc_port();
    my $listen = IO::Socket::IP->new(LocalHost => '127.0.0.1',
        LocalPort => $port, Listen => 128, ReuseAddr => 1)
        or croak "backend listen on $port: $@";
    my $pid = Edge::Nginx::Backend::start(%opt, listen => $listen,
        handler => $handler, name => "$port $self->{prefix}",
        record => ($opt{record} // 1)
            ? "$self->{prefix}/logs/backend-$port.jsonl" : undef);
    close $listen;    # only the server holds it: nginx must not inherit
    push @{ $self->{backends} }, { port => $port, pid => $pid };
    return $port;
}

sub backend_pids { map { $_->{pid} // () } @{ $_[0]{backends} } }

# Requests a backend received (default: the first backend), in order.
sub backend_requests {
    my ($self, $port) = @_;
    $port //= $self->{backends}[0]{port};
    my $text = $self->read_file("logs/backend-$port.jsonl") // '';
    my $json = JSON::PP->new;
    # a line the backend is still writing is not a request yet
    $text =~ s/[^\n]+\z//;
    return map { $json->decode($_) } split /\n/, $text;
}

# ---------------------------------------------------------------- /proc

# Poll $code until it returns true (returned) or $timeout seconds pass.
sub wait_for {
    my ($self, $code, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    my $nap = 0.005;
    while (1) {
        my $v = $code->();
        return $v if $v;
        return $v if time > $deadline;
        Time::HiRes::sleep($nap);
        $nap *= 2 if $nap < 0.1;
    }
}

sub master_pid { $_[0]{pid} }

# Processes serving requests: the workers, or nginx itself without a
# master process.  Workers that are shutting down are left out.
sub worker_pids {
    my $self = shift;
    my $master = $self->{pid} or return;
    return ($master) if $self->{master_process} eq 'off';
    my @pids;
    for my $pid (map { m{(\d+)\z} } glob '/proc/[0-9]*') {
        my $stat = _slurp("/proc/$pid/stat") // next;
        my ($state, $ppid) = substr($stat, rindex($stat, ')') + 2)
            =~ /^(\S) (\d+)/;
        next if $ppid != $master || $state eq 'Z';
        my $cmd = _slurp("/proc/$pid/cmdline") // next;
        push @pids, $pid if $cmd =~ /worker process\0*\z/;
    }
    @pids = sort { $a <=> $b } @pids;
    return @pids;    # a count in scalar context
}

sub rss_kb {
    my ($self, $pid) = @_;
    my ($kb) = (_slurp("/proc/$pid/status") // '') =~ /^VmRSS:\s*(\d+)/m;
    return $kb;
}

sub fd_count {
    my ($self, $pid) = @_;
    opendir my $dh, "/proc/$pid/fd" or return undef;
    return scalar grep { !/^\.\.?\z/ } readdir $dh;
}

# Pids of processes other than us that mention the prefix in their
# command line or hold a file under it open (nginx, workers, backends).
sub leftover_pids {
    my $self = shift;
    my $p = $self->{prefix};
    my @left;
    for my $pid (map { m{(\d+)\z} } glob '/proc/[0-9]*') {
        next if $pid == $$;
        my $cmd = _slurp("/proc/$pid/cmdline") // next;
        my $stat = _slurp("/proc/$pid/stat") // next;
        next if $stat =~ /\) Z /;
        push @left, $pid if index($cmd, $p) >= 0
            || grep { index(readlink($_) // '', $p) == 0 }
                glob "/proc/$pid/fd/*";
    }
    return @left;
}

# True if $pid runs and is not a zombie (init may reap orphans late).
sub pid_alive {
    my $stat = _slurp("/proc/$_[0]/stat") // return 0;
    return $stat !~ /\) Z /;
}

sub _slurp {
    open my $fh, '<', $_[0] or return undef;
    local $/;
    return scalar <$fh>;
}

# ---------------------------------------------------------------- checks

# Log lines matching this pattern are not reported (provoked on purpose).
sub allow_log { push @{ $_[0]{allow} }, $_[1]; $_[0] }

# Scan files for @LOG_CHECKS; returns ([name, [offending lines]], ...),
# one entry per check, in order.  Lines matching an @$allow are skipped.
sub scan_logs {
    my ($files, $allow) = @_;
    my @found = map { [$_->[0], []] } @LOG_CHECKS;
    for my $file (@$files) {
        open my $fh, '<', $file or next;
        while (my $line = <$fh>) {
            chomp $line;
            next if grep { $line =~ $_ } @{ $allow // [] };
            for my $i (0 .. $#LOG_CHECKS) {
                push @{ $found[$i][1] }, "$file:$.: $line"
                    if $line =~ $LOG_CHECKS[$i][1];
            }
        }
    }
    return @found;
}

sub log_files {
    my $l = "$_[0]{prefix}/logs";
    opendir my $dh, $l or return;
    return grep { -f } "$l/error.log",
        map { "$l/$_" } sort grep { /^(?:asan|ubsan|valgrind)\./ } readdir $dh;
}

# One test per log check.
sub check_logs {
    my $self = shift;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    for (scan_logs([$self->log_files], $self->{allow})) {
        my ($name, $lines) = @$_;
        Test::More::ok(!@$lines, "no $name in logs")
            or Test::More::diag(join "\n", scalar(@$lines) . ' line(s):',
                grep { defined } @$lines[0 .. 19]);
    }
}

# Stop everything, then test: graceful stop, no leftovers, clean logs.
sub finish {
    my $self = shift;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    $self->stop;
    $self->stop_backends;
    Test::More::ok(!@{ $self->{problems} }, 'nginx stopped gracefully')
        or Test::More::diag(join "\n", @{ $self->{problems} });
    my @left;    # killed backend connections may take a moment to go
    $self->wait_for(sub { !(@left = $self->leftover_pids) }, 3);
    Test::More::ok(!@left, 'no process left behind')
        or Test::More::diag("left: @left");
    $self->check_logs;
    return $self;
}

sub done {
    my $self = shift;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    $self->finish;
    Test::More::done_testing() unless Test::More->builder->has_plan;
    $self->cleanup;
}

# Kill what is still running, free the ports, remove the prefix.  Only
# the process that created the instance does it (not forked children).
sub cleanup {
    my $self = shift;
    return if $self->{cleaned} || $$ != $self->{owner};
    $self->{cleaned} = 1;
    local ($?, $@, $!);
    $self->{stop_timeout} = 2 if $self->{pid};    # test died mid-way
    $self->stop;
    $self->stop_backends;
    delete @PORT_LOCK{ @{ $self->{ports} },
        map { $_->{port} } @{ $self->{backends} } };
    if ($self->{keep}) {
        Test::More::diag("kept prefix $self->{prefix}");
    } else {
        File::Path::remove_tree($self->{prefix});
    }
    delete $LIVE{"$self"};
}

sub DESTROY { $_[0]->cleanup }

END {
    local $?;    # keep the test's exit status
    $_->cleanup for grep { defined } values %LIVE;
}

# A test killed by a signal (^C, TERM, a closed pipe or terminal) still
# runs END, so that nothing is left over.
for my $sig (qw(INT TERM PIPE HUP)) {
    my $code = 128 + POSIX->can("SIG$sig")->();
    $SIG{$sig} //= sub { exit $code };
}

1;

__END__

=head1 NAME

Edge::Nginx - run nginx with our dynamic modules in integration tests

=head1 SYNOPSIS

    use FindBin;
    use lib "$FindBin::Bin/lib";
    use Test::More;
    use Edge::Nginx;

    my $t = Edge::Nginx->new(modules => ['album_zip']);
    $t->write_file('html/a.txt', "hello");
    my $origin = $t->backend(sub { [200, {}, "from origin"] });
    $t->run(<<'EOF');
        server {
            listen 127.0.0.1:%%PORT%%;
            location / { root %%PREFIX%%/html; }
            location /o { proxy_pass http://127.0.0.1:%%BACKEND%%; }
        }
    EOF
    is $t->get('/a.txt')->{content}, 'hello', 'static file';
    $t->done;    # stop, check logs, done_testing

=head1 DESCRIPTION

Each instance owns a fresh temporary prefix (C<conf/ html/ logs/ tmp/>),
removed at the end unless C<TEST_KEEP=1>.  C<run> writes
C<conf/nginx.conf> (C<daemon off>, a master and one worker by default,
C<error_log logs/error.log info>, C<load_module> lines, C<events>, and an
C<http> block with access log, temp paths, a few MIME types and your
body), runs C<nginx -t>, starts nginx in the foreground and polls until
every C<listen> port accepts and the workers are up (10 s limit).  As
root, workers run as root too (C<user root root>), because "nobody"
could not use the private prefix.

Cleanup happens in C<done>, in C<DESTROY>, in an C<END> block and on
SIGINT/SIGTERM: nginx (QUIT, then TERM, then KILL), leftover workers and
backends are killed, ports released, the prefix removed.

=head1 ENVIRONMENT

C<TEST_NGINX_BINARY> (default F</usr/sbin/nginx>); C<TEST_NGINX_MODULES>
(directory of the .so files, default F<build/nginx> in the repository);
C<TEST_NGINX_LOG_LEVEL> (default C<info>; C<debug> works, nginx is built
with debug); C<TEST_KEEP=1> keeps the prefix; C<TEST_NGINX_PRELOAD>
(e.g. the path of libasan.so) sets C<LD_PRELOAD>, C<ASAN_OPTIONS>
(C<log_path=logs/asan>, C<detect_odr_violation=0>: each dynamic module
exports nginx's ngx_module_names, C<detect_leaks=0>: nginx frees by pools, not
before exit) and C<UBSAN_OPTIONS> (C<log_path=logs/ubsan>) for nginx and
adds C<env> directives so workers keep them; C<TEST_NGINX_VALGRIND=1>
runs nginx under valgrind memcheck with C<master_process off> (logs in
F<logs/valgrind.PID>, no leak check, 60 s start limit).

=head1 CONSTRUCTOR

C<new(%opt)>: C<modules> (short names like C<face>, file names or paths;
a missing file dies; listed twice means loaded twice), C<worker_processes>
(1), C<master_process> (C<on>), C<main> (extra main-context text),
C<thread_pools> (C<< { name => 'threads=2' } >>), C<events>
(C<worker_connections 1024;>), C<log_level>, C<stop_timeout> (seconds
to wait after QUIT, 10; 30 under valgrind).

=head1 CONFIGURATION AND CONTROL

C<run($http_body)>, C<reload([$http_body])> (waits until only new
workers are left; needs a master process, so not under valgrind),
C<stop>, C<check_config($http_body)> (nginx -t on a separate file,
returns C<($ok, $output)>), C<conf_text($body)>.
Placeholders in all configuration text: C<%%PORT%%>, C<%%PORT2%%>...,
C<%%BACKEND%%>, C<%%BACKEND2%%>..., C<%%PREFIX%%>, C<%%REPO%%> and any
C<%%NAME%%> set with C<var(NAME =E<gt> $value)>; an unknown one dies.

=head1 FILES AND PORTS

C<prefix>, C<repo>, C<module_path($name)>, C<write_file($rel, $bytes)>
(returns the absolute path), C<read_file($rel_or_abs)>, C<error_log>,
C<access_log>, C<port([$n])>; C<alloc_port()> gives a loopback port
locked for this process: random, below the ephemeral range, reserved by
an flock()ed file in F<$TMPDIR/edge-nginx-ports/> so that test files
running in parallel never share one.

=head1 CLIENTS

C<get($path, \%opt)>, C<head>, C<request($method, $path, \%opt)>: an
HTTP::Tiny response hash.  C<%opt> takes HTTP::Tiny's request options
(C<headers>, C<content>) plus C<port>, C<timeout> and C<host> (a Host
header; such requests go through C<raw> and C<parse_response>).
C<url($path, [$port])>.  C<raw($bytes_or_pieces, %opt)> with C<port>,
C<host>, C<timeout> (5 s), C<delay> (between pieces, 0.1 s) returns all
bytes until the server closes; C<raw_timed_out> tells if it did not.
C<parse_response($raw, $is_head)> is exportable.

=head1 BACKENDS

C<backend($handler_or_fixed_response, %opt)> starts an
L<Edge::Nginx::Backend> on a new port and returns the port; C<%opt>:
C<delay>, C<chunk_delay>, C<timeout>, C<record> (default on).
C<backend_requests([$port])> returns the recorded request hashes.
C<backend_pids>, C<stop_backends>.

=head1 PROCESSES

C<wait_for($code, [$timeout = 5])> polls until C<$code> returns true
and returns its value (false on timeout).  C<master_pid>,
C<worker_pids>, C<rss_kb($pid)>, C<fd_count($pid)>, C<leftover_pids>;
C<pid_alive($pid)> (exportable; zombies count as dead).

=head1 CHECKS

C<done> = C<finish> + C<done_testing> (unless a plan was declared) +
C<cleanup>.  C<finish> stops everything and runs these tests: nginx
stopped gracefully on QUIT with status 0, no process left behind, and
one test per C<@LOG_CHECKS> entry ([alert], [emerg], [crit], "exited on
signal", "open socket #N left", sanitizer or valgrind reports) over
F<logs/error.log> and the sanitizer/valgrind logs; offending lines are
shown with diag.  C<allow_log(qr/.../)> exempts lines a test provokes on
purpose.  C<problems> lists what went wrong in C<stop> so far.
C<scan_logs(\@files, \@allow)> is the checker itself, exportable for
testing it; C<log_files> lists the files it reads.

=cut
