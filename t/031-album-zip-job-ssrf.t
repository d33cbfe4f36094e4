#!/usr/bin/perl
# album_zip_job: the SSRF guard.  With the default (album_zip_job_allow_private
# off) no source and no upload_url may reach a loopback, private,
# link-local or otherwise internal address, in any spelling: address
# literals are refused with 400 before the job starts, names when libcurl
# connects (the open-socket callback).  Every receiver here listens on
# loopback and counts what it gets: refused jobs must leave it at zero.
# Addresses outside loopback are only ever given to DryRun, which never
# connects, so no test sends traffic anywhere else whatever the code does.
#
# With album_zip_allow (and allow_private on, to reach the loopback
# backends), an encoded slash, an encoded backslash or a dot segment never
# matches a prefix, for sources and for redirects; and no proxy from the
# environment is used.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;

use Edge::Nginx;

my $JOB = '/2015-03-31/functions/zipper/invocations';
my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => ['album_zip'], worker_processes => 1);

# the receiver of the default location's jobs: sources and uploads
my $recv = $t->backend(sub { [200, {}, 'internal bytes'] });

# the allow-list's origin: /photos/ is allowed, /secret.txt is not
my $origin = $t->backend(sub {
    my ($req) = @_;
    my $p = $req->{path};
    return [200, {}, 'photo bytes'] if $p eq '/photos/a.jpg';
    return [302, { Location => '/photos/..%2fsecret.txt' }, 'moved']
        if $p eq '/photos/enc-redirect';
    return [302, { Location => '/photos/%2e%2e/secret.txt' }, 'moved']
        if $p eq '/photos/dot-redirect';
    return [302, { Location => 'file:///etc/passwd' }, 'moved']
        if $p eq '/photos/file-redirect';
    # a chain: /photos/hop/N redirects to /photos/hop/N-1, 0 answers
    if ($p =~ m{^/photos/hop/(\d+)$}) {
        return [200, {}, 'end of the chain'] if $1 == 0;
        return [302, { Location => '/photos/hop/' . ($1 - 1) },
            'a redirect body that must not reach the archive'];
    }
    return [200, {}, 'secret'];
});

my $up = $t->backend(sub { [201, {}, 'stored'] });

my $O = "http://127.0.0.1:$origin";
my $U = "http://127.0.0.1:$up";

$t->run(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT%%;

        location = $JOB { album_zip_job; }

        # an allow-list naming loopback does not lift the address policy
        location = /allow-off {
            album_zip_job;
            album_zip_allow $O/photos/ $U/;
        }

        location = /allow {
            album_zip_job;
            album_zip_job_allow_private on;
            album_zip_allow $O/photos/ $U/;
        }
    }
EOF

sub job {
    my ($path, %p) = @_;
    my $type = delete $p{type} // 'RequestResponse';
    my $n = delete $p{nginx} // $t;
    my $r = $n->request('POST', $path, {
        content => $json->encode({ token => 't', %p }), timeout => 30,
        headers => { 'Content-Type' => 'application/json',
            'X-Amz-Invocation-Type' => $type } });
    $r->{json} = eval { $json->decode($r->{content}) } // {};

    # Lambda's shapes (t/030 checks them) as the two outcomes checked
    # here: 400, refused before it ran (an error of the function,
    # ValueError, under RequestResponse; InvalidRequestContentException
    # otherwise); 502, failed while it ran (HTTPError)
    if (($r->{headers}{'x-amz-function-error'} // '') eq 'Unhandled') {
        $r->{status} = $r->{json}{errorType} eq 'ValueError' ? 400 : 502;
        $r->{json} = { error => $r->{json}{errorMessage} };
    } elsif ($r->{headers}{'x-amzn-errortype'}) {
        $r->{json} = { error => $r->{json}{message} };
    }
    return $r;
}

sub count {
    my ($port, $n) = @_;
    return scalar(my @r = ($n // $t)->backend_requests($port));
}

my $OFF = '(album_zip_job_allow_private is off)';

# ---- address literals, every spelling: 400 before anything starts

my @literals = (
    ['127.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['2130706433', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['127.000.000.001', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['[::1]', 'loopback'],
    ['[0:0:0:0:0:0:0:1]', 'loopback'],
    ['[64:ff9b::127.0.0.1]', 'loopback'],
    ['0', 'unspecified'],
    ['0.0.0.0', 'unspecified'],
    ['[::]', 'unspecified'],
);

for my $l (@literals) {
    my ($host, $class) = @$l;
    my $r = job($JOB, sources => ["http://$host:$recv/a.jpg"],
        upload_url => "http://127.0.0.1:$recv/upload");
    is $r->{status}, 400, "source $host: 400";
    is_deeply $r->{json},
        { error => "sources[0]: refused: $class address $OFF" },
        "source $host: says why";
}
is count($recv), 0, 'literal sources: the receiver got no request';

# upload_url on loopback, the sources being names (the sources on the
# receiver: on the old code both the download and the upload arrived)
for my $host ('127.0.0.1', '127.1', '2130706433', '[::ffff:127.0.0.1]') {
    my $r = job($JOB, sources => ["http://localhost:$recv/a.jpg"],
        upload_url => "http://$host:$recv/upload");
    is $r->{status}, 400, "upload_url $host: 400";
    is_deeply $r->{json},
        { error => "upload_url: refused: loopback address $OFF" },
        "upload_url $host: says why";
}
is count($recv), 0, 'upload_url literals: the receiver got no request';

like $t->error_log,
    qr/\[warn\].*album_zip job: sources\[0\]: refused: loopback address/,
    'a refusal is logged at warn';

# ---- addresses elsewhere: DryRun only validates, it never connects

my @dry = (
    ['169.254.169.254', 'link-local'],
    ['[::ffff:169.254.169.254]', 'link-local'],
    ['[fd00:ec2::254]', 'private'],
    ['[fe80::1]', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['[64:ff9b::a9fe:a9fe]', 'link-local'],
    ['[2002:a9fe:a9fe::1]', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
);

for my $d (@dry) {
    my ($host, $class) = @$d;
    my $r = job($JOB, type => 'DryRun',
        sources => ["http://$host/latest/meta-data/"],
        upload_url => 'https://uploads.example.com/u');
    is $r->{status}, 400, "DryRun: source $host: 400";
    is_deeply $r->{json},
        { error => "sources[0]: refused: $class address $OFF" },
        "DryRun: source $host: says why";

    $r = job($JOB, type => 'DryRun',
        sources => ['https://photos.example.com/a.jpg'],
        upload_url => "http://$host/u");
    is $r->{status}, 400, "DryRun: upload_url $host: 400";
    is_deeply $r->{json},
        { error => "upload_url: refused: $class address $OFF" },
        "DryRun: upload_url $host: says why";
}

# a public address and names pass validation
my $r = job($JOB, type => 'DryRun',
    sources => ['http://93.184.216.34/a.jpg', 'https://photos.example.com/b'],
    upload_url => 'https://[2606:4700::1111]/u');
is $r->{status}, 204, 'DryRun: public addresses and names pass';

# ---- names: refused when libcurl connects, whatever they resolve to

$r = job($JOB, sources => ["http://localhost:$recv/a.jpg"],
    upload_url => "http://localhost:$recv/upload");
is $r->{status}, 502, 'source localhost: 502';
is_deeply $r->{json},
    { error => "sources[0]: refused: the host resolves to a loopback "
        . "address $OFF" },
    'source localhost: says why';

$r = job($JOB, type => 'Event', sources => ["http://localhost:$recv/e.jpg"],
    upload_url => "http://localhost:$recv/upload");
is $r->{status}, 202, 'Event with localhost: accepted';
ok $t->wait_for(sub { $t->error_log =~
    /album_zip job: failed: sources\[0\]: refused: the host resolves to/ },
    10), 'Event with localhost: the refusal is logged';

is count($recv), 0, 'names: the receiver got no request';

# ---- an allow-list does not lift the address policy

$r = job('/allow-off', sources => ["$O/photos/a.jpg"],
    upload_url => "$U/u");
is $r->{status}, 400, 'allow-listed loopback source, private off: 400';
is_deeply $r->{json},
    { error => "sources[0]: refused: loopback address $OFF" },
    '... says why';

# ---- the allow-list (loopback allowed): escapes from the prefix

$r = job('/allow', sources => ["$O/photos/a.jpg"], upload_url => "$U/u1");
is $r->{status}, 200, 'allow: a source under the prefix: 200';
is count($origin), 1, 'allow: the origin served it';
is count($up), 1, 'allow: the upload arrived';

my $seen = count($origin);

for my $path ('/photos/..%2fsecret.txt', '/photos/..%2Fsecret.txt',
    '/photos/..%5csecret.txt', '/photos/%2e%2e/secret.txt',
    '/photos/%2E%2e%2Fsecret.txt', '/photos/./../secret.txt',
    '/photos/../secret.txt', '/photos/..;/secret.txt')
{
    $r = job('/allow', sources => ["$O/photos/a.jpg", "$O$path"],
        upload_url => "$U/u2");
    is $r->{status}, 400, "allow: $path: 400";
    is_deeply $r->{json},
        { error => 'sources[1]: not allowed by album_zip_allow' },
        "allow: $path: says so";
}

$r = job('/allow', sources => ["$O/photos/a.jpg"],
    upload_url => "$U/..%2fu3");
is $r->{status}, 400, 'allow: upload_url with an encoded slash: 400';

is count($origin), $seen, 'allow: the origin saw none of those';
is count($up), 1, 'allow: nothing more was uploaded';

# redirects: the Location is checked before libcurl follows it
for my $from ('enc-redirect', 'dot-redirect') {
    $r = job('/allow', sources => ["$O/photos/$from"],
        upload_url => "$U/u4");
    is $r->{status}, 502, "allow: $from: 502";
    is_deeply $r->{json}, { error => 'sources[0]: redirected to a URL not '
        . 'allowed by album_zip_allow' }, "allow: $from: says so";
}
ok !(grep { $_->{path} =~ /secret/ } $t->backend_requests($origin)),
    'allow: the origin never saw a request for the secret';
is count($up), 1, 'allow: no upload after a refused redirect';

# the shared client's redirect policy: at most 5, http(s) only, every hop
# checked before it is requested; a redirect's own body is dropped

$r = job('/allow', sources => ["$O/photos/hop/5"], upload_url => "$U/u5");
is $r->{status}, 200, 'allow: 5 redirects followed';
my @ups = $t->backend_requests($up);
unlike $ups[-1]{body}, qr/a redirect body/,
    'allow: no redirect body in the uploaded archive';
like $ups[-1]{body}, qr/end of the chain/, 'allow: the final body is';

$seen = count($origin);
$r = job('/allow', sources => ["$O/photos/hop/6"], upload_url => "$U/u6");
is $r->{status}, 502, 'allow: 6 redirects: 502';
is_deeply $r->{json}, { error => 'sources[0]: more than 5 redirects' },
    'allow: 6 redirects: says so';
is count($origin) - $seen, 6, 'allow: the 7th hop was never requested';

$r = job('/allow', sources => ["$O/photos/file-redirect"],
    upload_url => "$U/u7");
is $r->{status}, 502, 'allow: a redirect to file://: 502';
is_deeply $r->{json},
    { error => 'sources[0]: refused: not an http or https URL' },
    'allow: a redirect to file://: says so';
is count($up), 2, 'allow: no upload after those';

is count($recv), 0, 'the default location\'s receiver got no request at all';

$t->finish;
$t->cleanup;

# ---- no proxy from the environment: http_proxy names a proxy that
# answers everything (libcurl would use it even for 127.0.0.1)

my $n = Edge::Nginx->new(modules => ['album_zip'], worker_processes => 1,
    main => 'env http_proxy=http://127.0.0.1:%%BACKEND%%;');

my $proxy = $n->backend(sub { [200, {}, 'proxied bytes'] });
my $src = $n->backend(sub { [200, {}, 'direct bytes'] });
my $dst = $n->backend(sub { [201, {}, 'stored'] });

$n->run(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT%%;

        location = $JOB {
            album_zip_job;
            album_zip_job_allow_private on;
        }
    }
EOF

$r = job($JOB, nginx => $n, sources => ["http://127.0.0.1:$src/a.jpg"],
    upload_url => "http://127.0.0.1:$dst/u");
is $r->{status}, 200, 'http_proxy set: the job succeeds';
is count($src, $n), 1, 'http_proxy set: the source was fetched directly';
is count($dst, $n), 1, 'http_proxy set: the upload went directly';
is count($proxy, $n), 0, 'http_proxy set: the proxy got no request';

$n->done;
