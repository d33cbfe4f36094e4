#!/usr/bin/perl
# face_jobs and the network: with face_allow_private off, loopback in
# every spelling (127.0.0.1, 0x7f000001, 2130706433, [::1], localhost)
# is refused and the target sees no request; face_allow_hosts is checked
# on every redirect hop; at most 5 redirects; no other schemes; the
# download is capped by face_max_input.  Traffic to loopback only.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;

use Edge::Nginx;
use Edge::Face qw(have_samples site_handler payload job_path);

plan skip_all => 'sample photos or models missing (make models)'
    unless have_samples();

my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => ['face'],
    thread_pools => { face => 'threads=2' });

my $big = 'x' x (3 * 1024 * 1024);
# (the backend runs in a child forked before its port is known here: the
# redirect to localhost names no port, it is refused before any request)
my $site = $t->backend(site_handler(extra => {
    '/photos/to-localhost' =>
        [302, { Location => 'http://localhost/photos/1.webp' }, ''],
    '/photos/to-file' => [302, { Location => 'file:///etc/passwd' }, ''],
    '/photos/big' => [200, {}, $big],
    map({ my $n = $_; ("/photos/r$n" =>
        [302, { Location => '/photos/r' . ($n + 1) }, '']) } 0 .. 5),
    '/photos/r6' => sub { site_handler()->({ path => '/photos/2.webp' }) },
    # each hop well inside face_fetch_timeout, all of them together not
    map({ my $n = $_; ("/photos/slow$n" => sub {
        select(undef, undef, undef, 0.8);
        [302, { Location => '/photos/slow' . ($n + 1) }, ''] }) } 0 .. 3),
    '/photos/slow4' => sub {
        site_handler()->({ path => '/photos/2.webp' }) },
}));

$t->run(<<'EOF');
    face_models  %%REPO%%/models;
    face_thread_pool  face;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /private-off {
            face_jobs;
            face_spool  %%PREFIX%%/spool1;
        }

        location = /hosts {
            face_jobs;
            face_spool  %%PREFIX%%/spool2;
            face_allow_private  on;
            face_allow_hosts  127.0.0.1;
            face_max_input  2m;
        }

        location = /slow {
            face_jobs;
            face_spool  %%PREFIX%%/spool3;
            face_allow_private  on;
            face_fetch_timeout  2s;
        }
    }
EOF

sub sync_job {
    my ($path, $api, @sources) = @_;
    my $r = $t->request('POST', $path, { timeout => 60,
        content => payload($api, @sources),
        headers => { 'Content-Type' => 'application/json',
                     'X-Amz-Invocation-Type' => 'RequestResponse' } });
    my $j = eval { $json->decode($r->{content}) } // {};
    return ($r->{status}, map { $_->{error} // $_->{status} }
        @{ $j->{results} // [] });
}

# ---- face_allow_private off: every loopback spelling refused

my $p = $site;
my ($status, @err) = sync_job('/private-off', "http://127.0.0.1:$p",
    [1, 'photo', "http://127.0.0.1:$p/photos/1.webp", 't'],
    [2, 'photo', "http://0x7f000001:$p/photos/1.webp", 't'],
    [3, 'photo', "http://2130706433:$p/photos/1.webp", 't'],
    [4, 'photo', "http://[::1]:$p/photos/1.webp", 't'],
    [5, 'photo', "http://[::ffff:127.0.0.1]:$p/photos/1.webp", 't'],
    [6, 'photo', "http://localhost:$p/photos/1.webp", 't'],
    [7, 'photo', "http://0177.0.0.1:$p/photos/1.webp", 't']);

is $status, 200, 'RequestResponse: 200';
like $err[0], qr/^download: refused: loopback address "127\.0\.0\.1"/,
    '127.0.0.1 refused';
like $err[1], qr/^download: refused: loopback address "0x7f000001"/,
    '0x7f000001 refused';
like $err[2], qr/^download: refused: loopback/, '2130706433 refused';
like $err[3], qr/^download: refused: loopback address "::1"/,
    '[::1] refused';
like $err[4], qr/^download: refused: loopback/,
    '[::ffff:127.0.0.1] refused';
like $err[5], qr/^download: refused: the host resolves to a loopback/,
    'localhost refused at connect time';
like $err[6], qr/^download: refused: loopback/, '0177.0.0.1 refused';
is scalar(() = $t->backend_requests($site)), 0,
    'the site saw no request at all';

# ---- face_allow_hosts, redirects, schemes, size

($status, @err) = sync_job('/hosts', "http://127.0.0.1:$p",
    [11, 'photo', "http://localhost:$p/photos/1.webp", 't'],
    [12, 'photo', "http://127.0.0.1:$p/photos/to-localhost", 't'],
    [13, 'photo', "http://127.0.0.1:$p/photos/to-file", 't'],
    [14, 'photo', "http://127.0.0.1:$p/photos/r1", 't'],
    [15, 'photo', "http://127.0.0.1:$p/photos/r0", 't'],
    [16, 'photo', "http://127.0.0.1:$p/photos/big", 't'],
    [17, 'photo', "http://127.0.0.1:$p/photos/2.webp", 't']);

is $status, 200, 'RequestResponse: 200';
like $err[0], qr/^download: refused: host "localhost" is not in face_allow_hosts/,
    'a host not allowed: refused';
like $err[1], qr/^download: refused: host "localhost" is not in/,
    'a redirect to a host not allowed: refused';
like $err[2], qr/^download: refused: not an http or https URL/,
    'a redirect to file://: refused';
is $err[3], 'delivered', '5 redirects: followed';
like $err[4], qr/^download: more than 5 redirects/, '6 redirects: refused';
like $err[5], qr/^download: larger than face_max_input/,
    'over face_max_input: refused';
is $err[6], 'delivered', 'an allowed photo: delivered';

my @seen = map { $_->{path} } $t->backend_requests($site);
ok !(grep { $_ eq '/photos/1.webp' } @seen),
    'the refused targets were never requested';
is scalar(grep { m{^/photos/r} } @seen), 6 + 6,
    'redirect hops: 5 followed, the 6th not';

# ---- face_fetch_timeout covers the whole download, redirects included

($status, @err) = sync_job('/slow', "http://127.0.0.1:$p",
    [21, 'photo', "http://127.0.0.1:$p/photos/slow0", 't']);
is $status, 200, 'slow redirects: RequestResponse 200';
like $err[0], qr/^download: .*(timed out|Timeout)/i,
    'slow redirects: 4 hops of 0.8 s are over a 2 s face_fetch_timeout';
@seen = map { $_->{path} } $t->backend_requests($site);
ok !(grep { $_ eq '/photos/slow4' } @seen),
    'slow redirects: the last hop was never requested';

$t->done;
