#!/usr/bin/perl
# Tests of the test harness itself (t/lib/Edge/Nginx.pm): no modules.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Fcntl qw(:flock O_RDONLY);
use File::Spec;
use File::Temp ();
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx qw(parse_response scan_logs pid_alive);

# The self-test needs workers and reload, which valgrind mode has not;
# valgrind mode gets its own small test below.
delete $ENV{TEST_NGINX_VALGRIND};

my $t = Edge::Nginx->new(worker_processes => 2);

# ---- ports: distinct, and locked against other test processes
my @ports = map { $t->port($_) } 1 .. 3;
is scalar(keys %{ { map { $_ => 1 } @ports } }), 3, 'three distinct ports';
is $t->port(2), $ports[1], 'port(2) is stable';
my $lockdir = File::Spec->catdir(File::Spec->tmpdir, 'edge-nginx-ports');
my $locked = grep {
    my $fh;
    sysopen($fh, "$lockdir/$_", O_RDONLY) && !flock($fh, LOCK_EX | LOCK_NB);
} @ports;
is $locked, 3, 'every port is locked for this process';

# ---- configuration errors
$t->var(GREETING => 'hi');
like $t->conf_text('return 200 %%GREETING%%;'), qr/return 200 hi;/,
    'var() placeholder';
ok !eval { $t->conf_text('%%NOPE%%'); 1 }, 'unknown placeholder dies';
like $@, qr/unknown placeholder %%NOPE%%/, '... and says which';
my ($ok, $out) = $t->check_config('no_such_directive on;');
ok !$ok, 'check_config fails on a bad directive';
like $out, qr/unknown directive "no_such_directive"/, '... with output';
ok !eval { Edge::Nginx->new(modules => ['no_such']); 1 },
    'a missing module dies';
like $@, qr/ngx_http_no_such_module\.so not found/, '... naming the file';

is_deeply [Edge::Nginx::_listens(<<'EOF')],
    server { listen 127.0.0.1:81; listen [::1]:82 reuseport; }
    server {
        listen 83;
        # proxy_pass http://127.0.0.1:84;
    }
EOF
    [['127.0.0.1', 81], ['::1', 82], ['127.0.0.1', 83]],
    'listen ports are found for the start-up poll';

# ---- static files
my $blob = join '', map { chr($_ % 256) x 3 } 0 .. 40_000;   # 120003 B
$t->write_file('html/a.txt', "hello");
$t->write_file('html/sub/blob.bin', $blob);
my $origin = $t->backend(sub {
    my ($req) = @_;
    return [201, { 'X-Method' => $req->{method} },
        "echo:$req->{path}:" . ($req->{query} // '') . ":$req->{body}"];
});
my $slow = $t->backend([200, {}, ['a', 'b', 'c']],
    delay => 0.3, chunk_delay => 0.2);
my $mute = $t->backend(sub { undef });
$t->run(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { root %%PREFIX%%/html; }
        location /o/ { proxy_pass http://127.0.0.1:%%BACKEND%%; }
        location /slow { proxy_pass http://127.0.0.1:%%BACKEND2%%; }
        location /mute { proxy_pass http://127.0.0.1:%%BACKEND3%%; }
    }
    server {
        listen 127.0.0.1:%%PORT%%;
        server_name other.test;
        return 200 "other\n";
    }
EOF
is scalar(my @w = $t->worker_pids), 2, 'two workers';
ok $t->rss_kb($w[0]) > 100, 'rss_kb of a worker';
ok $t->fd_count($w[0]) >= 3, 'fd_count of a worker';

my $r = $t->get('/a.txt');
is $r->{status}, 200, 'GET status';
is $r->{content}, 'hello', 'GET body';
$r = $t->get('/sub/blob.bin');
is length $r->{content}, length $blob, 'binary file length';
is sha256_hex($r->{content}), sha256_hex($blob), 'binary file bytes';
is $r->{headers}{'content-length'}, length $blob, 'Content-Length';
$r = $t->head('/sub/blob.bin');
is $r->{status}, 200, 'HEAD status';
is $r->{content}, '', 'HEAD has no body';
is $r->{headers}{'content-length'}, length $blob, 'HEAD Content-Length';
is $t->get('/missing')->{status}, 404, 'missing file: 404';
is $t->get('/', { host => 'other.test' })->{content}, "other\n",
    'Host option reaches another server';

# ---- raw
my $raw = $t->raw("GET /a.txt HTTP/1.0\r\n\r\n");
like $raw, qr{^HTTP/1\.1 200 OK\r\n.*\r\n\r\nhello\z}s, 'raw()';
ok !$t->raw_timed_out, '... ended by the server closing';
$r = parse_response($raw);
is_deeply [@$r{qw(status content)}], [200, 'hello'], 'parse_response';
$raw = $t->raw(["GET /a.txt HT", "TP/1.1\r\nHost: x\r\n",
    "Connection: close\r\n\r\n"], delay => 0.05);
like $raw, qr/\r\n\r\nhello\z/, 'raw() in pieces';
my $t0 = time;
$raw = $t->raw("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", timeout => 0.3);
ok $t->raw_timed_out && time - $t0 >= 0.29, 'raw() timeout on keepalive';
like $raw, qr/hello\z/, '... returns what came';

# ---- backends
$r = $t->request('POST', '/o/x?q=1',
    { content => "body\0bytes\xff", headers => { 'X-Test' => 'yes' } });
is $r->{status}, 201, 'proxied to backend';
is $r->{content}, "echo:/o/x:q=1:body\0bytes\xff", 'request body round trip';
is $r->{headers}{'x-method'}, 'POST', 'backend headers';
my @chunks = ('first,', 'second,', 'third');
$r = $t->request('PUT', '/', { port => $origin,
    content => sub { shift @chunks } });    # HTTP::Tiny sends it chunked
is $r->{content}, 'echo:/::first,second,third', 'chunked request body';
$r = parse_response($t->raw("POST /raw HTTP/1.1\r\nHost: x\r\n"
    . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    . "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n",
    port => $origin));
is $r->{content}, 'echo:/raw::abcde', 'chunked body with ext and trailer';

my @req = $t->backend_requests($origin);
is scalar @req, 3, 'three requests recorded';
is_deeply [map { $_->{method} } @req], [qw(POST PUT POST)], '... in order';
is $req[0]{path}, '/o/x', 'recorded path';
is $req[0]{query}, 'q=1', 'recorded query';
is $req[0]{body}, "body\0bytes\xff", 'recorded binary body';
is $req[0]{headers}{'x-test'}, 'yes', 'recorded header';
is $req[0]{version}, '1.0', 'nginx proxies with HTTP/1.0';
ok !$req[0]{chunked} && $req[1]{chunked}, 'recorded chunked flag';

$t0 = time;
$r = $t->get('/', { port => $slow });
my $took = time - $t0;
is $r->{content}, 'abc', 'slow backend: chunked reply';
is $r->{headers}{'transfer-encoding'}, 'chunked', '... really chunked';
ok $took >= 0.65, sprintf('... delay and chunk delays (%.2fs)', $took);
is $t->get('/slow')->{content}, 'abc', 'slow backend via nginx (HTTP/1.0)';
$t0 = time;
my @socks = map {
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $slow)
        or die "connect: $@";
    print {$s} "GET /$_ HTTP/1.0\r\n\r\n";
    $s;
} 1 .. 3;
my @bodies = map { local $/; my $x = readline($_); $x =~ s/.*\r\n\r\n//s; $x }
    @socks;
$took = time - $t0;
is_deeply \@bodies, [('abc') x 3], 'concurrent slow requests';
ok $took < 1.5, sprintf('... served in parallel (%.2fs)', $took);
is $t->get('/mute')->{status}, 502, 'backend closing without reply: 502';

# ---- reload
my @old = $t->worker_pids;
$t->reload(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "reloaded\n"; }
    }
EOF
is $t->get('/a.txt')->{content}, "reloaded\n", 'reload applies new config';
my %old = map { $_ => 1 } @old;
is scalar(grep { !$old{$_} } $t->worker_pids), 2, '... with new workers';

# ---- wait_for
is $t->wait_for(sub { 42 }), 42, 'wait_for returns the value';
$t0 = time;
ok !$t->wait_for(sub { 0 }, 0.2), 'wait_for gives up';
ok time - $t0 >= 0.2, '... after the timeout';

# ---- log checker
my $tmp = File::Temp->new;
print {$tmp} "2026/01/01 00:00:00 [notice] 1#1: fine\n",
    "2026/01/01 00:00:00 [alert] 1#1: planted alert\n",
    "==7==ERROR: AddressSanitizer: heap-buffer-overflow\n",
    "x.c:1:2: runtime error: signed integer overflow\n",
    "2026/01/01 00:00:00 [alert] 1#1: open socket #3 left in connection 1\n",
    "2026/01/01 00:00:00 [alert] 1#1: worker process 9 exited on signal 11\n";
close $tmp;
my %found = map { $_->[0] => $_->[1] } scan_logs([$tmp->filename]);
is scalar @{ $found{'[alert]'} }, 3, 'checker finds planted [alert]s';
like $found{'[alert]'}[0], qr/^\Q$tmp\E:2: .*planted alert$/,
    '... reporting file, line number and text';
is scalar @{ $found{'sanitizer report'} }, 2, 'checker finds sanitizers';
is scalar @{ $found{'leaked socket'} }, 1, 'checker finds leaked socket';
is scalar @{ $found{'crashed process'} }, 1, 'checker finds crash';
is scalar @{ $found{'[crit]'} }, 0, 'no false [crit]';
%found = map { $_->[0] => $_->[1] }
    scan_logs([$tmp->filename], [qr/planted|open socket|on signal/]);
is scalar @{ $found{'[alert]'} }, 0, 'allow patterns exempt lines';

# A planted but allowed line in the live log: done() must still pass.
$t->allow_log(qr/planted on purpose/);
open my $log, '>>', "${\ $t->prefix}/logs/error.log" or die $!;
print {$log} "2026/01/01 00:00:00 [alert] 1#1: planted on purpose\n";
close $log;

# ---- sanitizer and valgrind modes
SKIP: {
    chomp(my $asan = `gcc -print-file-name=libasan.so 2>/dev/null` // '');
    $asan = $ENV{TEST_NGINX_PRELOAD} if $ENV{TEST_NGINX_PRELOAD};
    skip 'no libasan.so', 4 unless $asan =~ m{/};
    local $ENV{TEST_NGINX_PRELOAD} = $asan;
    my $s = Edge::Nginx->new;
    $s->run("server { listen 127.0.0.1:%%PORT%%; return 200 asan; }");
    like $s->read_file('conf/nginx.conf'), qr/^env ASAN_OPTIONS;$/m,
        'preload: workers keep the sanitizer environment';
    is $s->get('/')->{content}, 'asan', 'preload: nginx serves';
    my ($w) = $s->worker_pids;
    like $s->read_file("/proc/$w/maps"), qr/libasan/,
        'preload: the worker has libasan';
    $s->stop;
    my %found = map { $_->[0] => $_->[1] } scan_logs([$s->log_files]);
    is_deeply $found{'sanitizer report'}, [], 'preload: no report';
    $s->cleanup;
}
SKIP: {
    skip 'no valgrind', 4 unless `valgrind --version 2>/dev/null`;
    local $ENV{TEST_NGINX_VALGRIND} = 1;
    delete local $ENV{TEST_NGINX_PRELOAD};    # the two do not mix
    my $v = Edge::Nginx->new;
    $v->run("server { listen 127.0.0.1:%%PORT%%; return 200 vg; }");
    is $v->get('/')->{content}, 'vg', 'valgrind: nginx serves';
    like $v->read_file('/proc/' . $v->master_pid . '/cmdline'),
        qr/memcheck|valgrind/, 'valgrind: runs under memcheck';
    $v->stop;
    ok((grep { m{/valgrind\.\d+$} } $v->log_files), 'valgrind: log file');
    is_deeply [$v->problems], [], 'valgrind: clean exit, no errors';
    $v->cleanup;
}

# ---- nothing is left behind: after stop(), and when a test dies
my $u = Edge::Nginx->new;
$u->backend([200, {}, 'x']);
$u->run("server { listen 127.0.0.1:%%PORT%%; return 204; }");
my @pids = ($u->master_pid, $u->worker_pids, $u->backend_pids);
is $u->get('/')->{status}, 204, 'second instance serves';
$u->stop;
$u->stop_backends;
ok !(grep { pid_alive($_) } @pids), 'stop: nginx and backend are gone';
is `pgrep -f ${\ $u->prefix}`, '', '... pgrep finds nothing';
is_deeply [$u->leftover_pids], [], '... leftover_pids is empty';
my $uprefix = $u->prefix;
$u->cleanup;
ok !-e $uprefix, 'cleanup removes the prefix';

# A master killed hard leaves its workers running: stop() must get them.
my $k = Edge::Nginx->new;
$k->run("server { listen 127.0.0.1:%%PORT%%; return 204; }");
my @kw = $k->worker_pids;
kill 'KILL', $k->master_pid;
$k->stop;
like join(' ', $k->problems), qr/exit status 9.*outlived master/,
    'killed master: stop() notes the status and orphaned workers';
ok !(grep { pid_alive($_) } @kw), 'killed master: orphaned workers are gone';
$k->cleanup;

for my $how (qw(die TERM)) {
    my $code = <<'EOF';
        use Edge::Nginx;
        open STDERR, '>', '/dev/null';    # the planned death is no news
        my $t = Edge::Nginx->new;
        $t->backend([200, {}, 'x']);
        $t->run("server { listen 127.0.0.1:%%PORT%%; return 204; }");
        $| = 1;
        print join(' ', $t->prefix, $t->master_pid, $t->worker_pids,
            $t->backend_pids), "\n";
        die "planned death\n" if $ARGV[0] eq 'die';
        sleep 30;
EOF
    my $pid = open(my $fh, '-|', $^X, "-I$FindBin::Bin/lib", '-e', $code,
        $how) or die "fork: $!";
    my ($prefix, @p) = split ' ', scalar(<$fh>) // '';
    ok defined $prefix && -d $prefix && @p == 3,
        "child ($how) started nginx";
    kill 'TERM', $pid if $how eq 'TERM';
    close $fh;
    isnt $?, 0, "child ($how) exited with failure";
    ok !(grep { pid_alive($_) } @p), "child ($how): no process left";
    ok !-e $prefix, "child ($how): prefix removed";
}

$t->done;
