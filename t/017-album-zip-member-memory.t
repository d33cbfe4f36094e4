#!/usr/bin/perl
# album_zip memory per member: the worker's RSS must not grow with the
# number of members, however the archive goes out.  A 3,000-member album
# is downloaded with curl from a server that paces it (limit_rate, so that
# the archive takes a second or two and the pump's back-pressure holds the
# members back), while the worker's RSS is sampled against the bytes the
# client has received.  The growth between 20% and the end of the download,
# divided by the members sent in between, must stay under 1 kB a member
# (a member's subrequest, kept until the end, costs about 5 kB), in each
# mode: a fixed layout with Content-Length (sendfile, and CRCs computed
# through memory) and a dynamic one (sizes unknown: chunked over HTTP/1.1),
# over HTTP/1.1 and HTTP/2.  Every archive is checked by the three readers.
#
# ALBUM_ZIP_MEMORY_FILES (default 3000) sets the album size.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Zip qw(check_zip crc32_hex manifest_line);

my $t = Edge::Nginx->new(modules => ['album_zip']);

my $N = $ENV{ALBUM_ZIP_MEMORY_FILES} // 3000;
srand 17;

my (@expect, $manifest);
for my $i (1 .. $N) {
    my $data = join '', map { chr int rand 256 } 1 .. 500 + int rand 5000;
    my $name = sprintf 'day%02d/img%05d.jpg', $i % 23, $i;
    (my $file = $name) =~ tr{/}{_};
    $t->write_file("html/media/$file", $data);
    $manifest .= manifest_line(crc32_hex($data), length $data,
        "/media/$file", $name);
    push @expect, $name => $data;
}
$t->write_file('html/m/known.txt', $manifest);
(my $nocrc = $manifest) =~ s/^[0-9a-f]{8} /- /mg;
$t->write_file('html/m/nocrc.txt', $nocrc);
(my $nosize = $manifest) =~ s/^([0-9a-f]{8}) \d+ /$1 - /mg;
$t->write_file('html/m/nosize.txt', $nosize);

# the same locations over HTTP/1.1 and (cleartext, prior knowledge) HTTP/2
my $server = <<'EOF';
        root %%PREFIX%%/html;
        sendfile on;
        limit_rate 3m;

        location /media/ { }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
        }
EOF

$t->run(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT%%;
$server
    }

    server {
        listen 127.0.0.1:%%PORT2%% http2;
$server
    }
EOF

my ($worker) = $t->worker_pids;
my $http2 = `curl --version` =~ /\bHTTP2\b/;

my @cases = (['/m/known.txt', 'Content-Length, sendfile'],
    ['/m/nocrc.txt', 'Content-Length, CRCs computed'],
    ['/m/nosize.txt', 'sizes unknown (dynamic layout)']);

for my $proto ('1.1', '2') {
    SKIP: {
        skip 'curl without HTTP/2', 4 * @cases if $proto eq '2' && !$http2;

        # warm-up: the worker's pools, buffers and the page cache
        fetch($proto, $_->[0]) for @cases;

        for my $case (@cases) {
            my ($path, $what) = @$case;
            $what = "HTTP/$proto, $what";
            my $s = fetch($proto, $path);
            is $s->{exit}, 0, "$what: curl succeeded";
            my $per = per_member($s);
            diag sprintf '%s: %d bytes in %.1f s, %d samples; RSS %d..%d '
                . 'kB; %.2f kB per member from 20%% to the end', $what,
                length $s->{body}, $s->{secs}, scalar @{ $s->{samples} },
                $s->{rss_min}, $s->{rss_max}, $per // -1;
            ok defined $per, "$what: enough samples to measure"
                or diag 'samples: ' . scalar @{ $s->{samples} };
            SKIP: {
                # AddressSanitizer keeps freed memory in quarantine
                skip 'RSS is not the module\'s under a sanitizer or '
                    . 'valgrind', 1
                    if $ENV{TEST_NGINX_PRELOAD} || $ENV{TEST_NGINX_VALGRIND};
                cmp_ok $per // 1e9, '<', 1.0,
                    "$what: RSS grows by less than 1 kB a member";
            }
            check_zip($t, $s->{body}, \@expect, label => $what);
        }
    }
}

is $t->get('/media/' . ($expect[0] =~ tr{/}{_}r))->{status}, 200,
    'nginx serves on';

$t->done;

# curl into a file, sampling [bytes received, worker RSS] every 5 ms
sub fetch {
    my ($proto, $path) = @_;
    my $out = $t->prefix . '/tmp/download.zip';
    unlink $out;
    my $url = sprintf 'http://127.0.0.1:%d%s', $t->port($proto eq '2' ? 2
        : 1), $path;
    my @opt = $proto eq '2' ? ('--http2-prior-knowledge') : ('--http1.1');
    my $t0 = time;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec('curl', '-sS', '--max-time', '120', @opt, '-o', $out, $url)
            or POSIX::_exit(127);
    }
    my %s = (samples => [], rss_min => 1e12, rss_max => 0);
    for (;;) {
        my $done = waitpid($pid, WNOHANG) == $pid;
        $s{exit} = $? >> 8 if $done;
        my $rss = $t->rss_kb($worker) // 0;
        push @{ $s{samples} }, [-s $out // 0, $rss] unless $done;
        $s{rss_min} = $rss if $rss < $s{rss_min};
        $s{rss_max} = $rss if $rss > $s{rss_max};
        last if $done;
        Time::HiRes::sleep(0.005);
    }
    $s{secs} = time - $t0;
    $s{body} = $t->read_file('tmp/download.zip') // '';
    return \%s;
}

# RSS growth per member from the first sample at 20% of the archive to the
# largest one after it; undef without samples spread over the download
sub per_member {
    my ($s) = @_;
    my $total = length $s->{body} or return undef;
    my @in = grep { $_->[0] >= 0.2 * $total } @{ $s->{samples} };
    return undef if @in < 10 || $in[-1][0] < 0.8 * $total;
    my ($bytes0, $rss0) = @{ $in[0] };
    my $max = $rss0;
    for (@in) { $max = $_->[1] if $_->[1] > $max }
    my $members = $N * ($in[-1][0] - $bytes0) / $total;
    return ($max - $rss0) / $members;
}
