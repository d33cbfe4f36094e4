#!/usr/bin/perl
# face_jobs behind ngx_http_lambda_module, invoked with Debian's boto3 as
# the site does (InvocationType Event, the production ARN), against a
# fake site that checks callbacks as its view does (the token, else 403;
# exactly 128 JSON floats per encoding, else 400) and throttles them:
# - every other callback is answered 429 with Retry-After: 2; all are
#   delivered once, each retry at least 2 s after its 429 (429 was final
#   before: those sources went to failed/);
# - face_callback_rate 60r/m spaces one worker's callbacks by 1 s;
# - 24 concurrent invocations on a one-thread pool whose queue fills:
#   some 429 TooManyRequestsException, and exactly one callback per
#   source of every accepted invocation, none for the refused ones.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes ();

use Edge::Nginx;
use Edge::Face qw(have_samples site_handler callbacks payload);
use Edge::Lambda qw(boto3 have_boto3);

plan skip_all => 'sample photos or models missing (make models)'
    unless have_samples();
plan skip_all => 'no boto3 (apt install python3-boto3)' unless have_boto3();

my $ARN = 'arn:aws:lambda:eu-west-1:627002765486:function:'
    . 'concrexit-production-facedetection-lambda';

my $t = Edge::Nginx->new(modules => [qw(face lambda)],
    thread_pools => { face => 'threads=2', tiny => 'threads=1 max_queue=2' });
my $prefix = $t->prefix;
my $json = JSON::PP->new;

# the view: the token must be the source's (403); every encoding 128
# floats (400).
# Every other callback (a counter in a file: the backend forks) is 429.
my $site = $t->backend(site_handler(
    extra => { '/photos/slow.webp' => sub {
        sleep 3;
        return [200, { 'Content-Type' => 'image/webp' },
                Edge::Face::webp(1)];
    } },
    callback => sub {
        my ($req) = @_;
        my ($pk) = $req->{path} =~ m{/(\d+)/\z};
        my $body = eval { $json->decode($req->{body}) } // {};
        return [403, {}, '{"detail": "bad token"}']
            unless ($body->{token} // '') eq "tok-$pk";
        for my $e (@{ $body->{encodings} // [] }) {
            return [400, {}, '{"detail": "bad encoding"}']
                unless ref $e eq 'ARRAY' && @$e == 128;
        }
        return [400, {}, '{"detail": "not floats"}']
            unless Edge::Face::raw_floats_ok($req->{body});
        if ($req->{path} =~ m{/encodings/photo/1\d\d/\z}) {
            open my $fh, '+>>', "$prefix/count" or die;
            flock $fh, 2;
            seek $fh, 0, 0;
            my $n = <$fh> // 0;
            truncate $fh, 0;
            print {$fh} $n + 1;
            close $fh;
            return [429, { 'Retry-After' => '2' },
                    '{"detail": "Request was throttled."}'] if $n % 2 == 0;
        }
        return [201, { 'Content-Type' => 'application/json' }, '{}'];
    }));
my $S = "http://127.0.0.1:$site";

$t->run(<<'EOF');
    face_models  %%REPO%%/models;
    face_thread_pool  face;
    face_allow_private  on;

    server {
        listen 127.0.0.1:%%PORT%%;

        location /2015-03-31/functions/ {
            lambda_function  concrexit-production-facedetection-lambda
                             @faces;
            lambda_function  ratelimited  @rate;
            lambda_function  tiny  @tiny;
        }

        location @faces {
            face_jobs;
            face_spool  %%PREFIX%%/spool;
        }

        location @rate {
            face_jobs;
            face_spool  %%PREFIX%%/spool-rate;
            face_callback_rate  60r/m;
            face_parallel  4;
        }

        location @tiny {
            face_jobs;
            face_spool  %%PREFIX%%/spool-tiny;
            face_thread_pool  tiny;
            face_parallel  1;
        }
    }
EOF

my $endpoint = $t->url('');
$endpoint =~ s{/\z}{};

sub invoke {
    my ($function, @sources) = @_;
    return boto3(endpoint => $endpoint, function => $function,
        type => 'Event', attempts => 1,
        payload => payload($S, map { [$_->[0], 'photo',
            "$S/photos/$_->[1].webp", "tok-$_->[0]"] } @sources));
}

sub by_pk {
    my %n;
    for my $req ($t->backend_requests($site)) {
        next unless $req->{path} =~ m{/encodings/photo/(\d+)/\z};
        push @{ $n{$1} }, $req;
    }
    return \%n;
}

# ---- 429 with Retry-After: 2 to every other callback

my $r = invoke($ARN, map { [100 + $_, $_] } 1 .. 6);
is $r->{status}, 202, 'the production ARN, Event: 202' or diag explain $r;

ok $t->wait_for(sub {
    my $n = by_pk();
    my $done = 0;
    for my $pk (101 .. 106) {
        $done++ if grep { $_->{path} } @{ $n->{$pk} // [] };
    }
    my @jobs = glob("$prefix/spool/*.job");
    my $delivered = () = $t->error_log =~ /: photo 10\d: delivered /g;
    $done == 6 && $delivered == 6 && !@jobs;
}, 90), 'every source called back, the job finished';

# the site alternates globally: a source may meet a 429 more than once
my $n = by_pk();
my $log = $t->error_log;
my $throttled = 0;
for my $pk (101 .. 106) {
    my @reqs = @{ $n->{$pk} // [] };
    ok @reqs >= 1, "photo $pk: called back";
    is scalar(() = $log =~ /: photo $pk: delivered /g), 1,
        "photo $pk: delivered once";
    $throttled += @reqs - 1;
    for my $k (1 .. $#reqs) {
        cmp_ok $reqs[$k]{time} - $reqs[$k - 1]{time}, '>=', 1.9,
            "photo $pk: retry $k at least 2 s after the 429";
    }
}
cmp_ok $throttled, '>=', 3, "$throttled callbacks were answered 429";
is_deeply [glob("$prefix/spool/failed/*.job")], [], 'nothing failed';
like $t->error_log, qr/callback: HTTP 429, Retry-After: 2 s, again in 2000 ms/,
    'the pause is logged';

# ---- face_callback_rate 60r/m: one second between callbacks

my $t0 = Time::HiRes::time();
$r = invoke('ratelimited', map { [200 + $_, $_] } 1 .. 4);
is $r->{status}, 202, 'rate limited: 202';
ok $t->wait_for(sub { my $n = by_pk(); 4 == grep { $n->{200 + $_} } 1 .. 4 },
    60), 'rate limited: all four called back';
my @times = sort { $a <=> $b }
    map { $_->{time} } map { @{ by_pk()->{200 + $_} } } 1 .. 4;
my @gaps = map { $times[$_] - $times[$_ - 1] } 1 .. $#times;
cmp_ok((sort { $a <=> $b } @gaps)[0], '>=', 0.9,
    'rate limited: at least 1 s between callbacks') or diag "@gaps";

# ---- a full queue: 24 concurrent invocations, one thread, a queue of 2

$r = invoke('tiny', [300, 'slow']);
is $r->{status}, 202, 'queue: a slow job occupies the thread';
ok $t->wait_for(sub { grep { $_->{path} eq '/photos/slow.webp' }
    $t->backend_requests($site) }, 20), '... downloading';

my %child;
for my $i (1 .. 24) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = invoke('tiny', [400 + $i, ($i % 6) + 1]);
        open my $fh, '>', "$prefix/res.$i" or die;
        print {$fh} JSON::PP->new->encode($r);
        close $fh;
        POSIX::_exit(0);
    }
    $child{$pid} = $i;
}
waitpid $_, 0 for keys %child;

my (@ok, @throttled);
for my $i (1 .. 24) {
    my $res = eval { $json->decode($t->read_file("res.$i")) } // {};
    if (($res->{status} // 0) == 202) {
        push @ok, 400 + $i;
    } elsif (($res->{error}{code} // '') eq 'TooManyRequestsException') {
        push @throttled, 400 + $i;
        is $res->{error}{status}, 429, "invocation $i: 429";
    } else {
        fail "invocation $i: neither 202 nor 429";
        diag explain $res;
    }
}
cmp_ok scalar @throttled, '>=', 1, scalar(@throttled)
    . ' of 24 refused with TooManyRequestsException';
cmp_ok scalar @ok, '>=', 1, scalar(@ok) . ' accepted';

ok $t->wait_for(sub { my $n = by_pk(); @ok == grep { $n->{$_} } @ok }, 120),
    'every accepted source is called back';
Time::HiRes::sleep(1);
$n = by_pk();
is_deeply [grep { @{ $n->{$_} // [] } != 1 } @ok], [],
    'exactly one callback per accepted source';
is_deeply [grep { $n->{$_} } @throttled], [],
    'none for the refused invocations';
$t->allow_log(qr/thread pool "tiny" queue overflow/);

$t->done;
