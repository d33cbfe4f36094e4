#!/usr/bin/perl
# s3_proxy against a real Ceph RADOS Gateway (t/lib/Edge/Ceph.pm): signed
# GET, HEAD, Range and conditional requests of a private bucket; keys with
# spaces, "+", "'", "%", unicode; a missing object is a 404; a wrong
# secret is a 502 with the store's SignatureDoesNotMatch logged once and
# no secret in any log; credentials rotated by rewriting the file, with
# no reload; a bad file keeps the credentials read last; subrequests sign
# too; what the store receives (a fake one records it): the key encoded
# once, only the client's Range and conditional headers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep);

use Edge::Nginx qw(alloc_port);
use Edge::Ceph qw(s3_server);

my $s3 = s3_server();
my $bucket = $s3->bucket;

my %objects = (
    'a.txt'                  => "hello world 0123456789\n",
    'dir/sp ace.txt'         => "space\n",
    'plus+sign.txt'          => "plus\n",
    "it's.txt"               => "quote\n",
    'per%cent.txt'           => "percent\n",
    "uni-\xc3\xa9\xe2\x82\xac.txt" => "unicode\n",
    "all of+them'%\xc3\xa9 (1).txt" => "all\n",
);
$s3->put($bucket, $_, $objects{$_}, 'text/plain') for sort keys %objects;

my $t = Edge::Nginx->new(modules => ['s3']);
my $ep = $s3->endpoint;
my $cred = sub {
    my ($secret) = @_;
    return "[default]\naws_access_key_id = " . $s3->key_id
        . "\naws_secret_access_key = $secret\n";
};
$t->write_file('good.cred', $cred->($s3->secret));
$t->write_file('wrong.cred', $cred->('wrong' . $s3->secret));
$t->write_file('rot.cred', $cred->('not-yet-' . $s3->secret));
my $dead = alloc_port();

# a fake store: records what it is sent, answers one object
my $fake = $t->backend(sub {
    my ($req) = @_;
    return [403, { 'Content-Type' => 'application/xml' },
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>'
        . 'RequestTimeTooSkewed</Code><Message>The difference between the '
        . 'request time and the current time is too large.</Message></Error>']
        if $req->{path} =~ /skew/;
    return [503, { 'Content-Type' => 'application/xml' },
        '<Error><Code>SlowDown</Code></Error>'] if $req->{path} =~ /busy/;
    return [200, { 'Content-Type' => 'text/plain', ETag => '"fake"' },
        "fake\n"];
});
$t->write_file('token.cred', $cred->($s3->secret)
    . "aws_session_token = FQoGZXIvYXdzEXAMPLE/TOKEN+1=\n");

$t->var(BUCKET => $bucket);
$t->var(EP => $ep);
$t->var(DEAD => $dead);
(my $rgw = $ep) =~ s{^http://}{};
$t->var(RGW => $rgw);
(my $epname = $ep) =~ s{^http://127\.0\.0\.1:}{http://localhost:};
$t->var(EPNAME => $epname);

my $conf = <<'EOF';
    s3_bucket photos {
        endpoint     %%EP%%;
        bucket       %%BUCKET%%;
        credentials  %%PREFIX%%/good.cred;
    }
    s3_bucket wrong {
        endpoint     %%EP%%/;
        bucket       %%BUCKET%%;
        style        path;
        region       us-east-1;
        credentials  %%PREFIX%%/wrong.cred;
    }
    s3_bucket rot {
        endpoint     %%EP%%;
        bucket       %%BUCKET%%;
        credentials  %%PREFIX%%/rot.cred;
    }
    s3_bucket dead {
        endpoint     http://127.0.0.1:%%DEAD%%;
        bucket       %%BUCKET%%;
        credentials  %%PREFIX%%/good.cred;
    }
    s3_bucket fake {
        endpoint     http://127.0.0.1:%%BACKEND%%;
        bucket       fakebucket;
        credentials  %%PREFIX%%/good.cred;
    }
    s3_bucket token {
        endpoint     http://127.0.0.1:%%BACKEND%%;
        bucket       tokenbucket;
        style        virtual;
        region       eu-west-1;
        credentials  %%PREFIX%%/token.cred;
    }

    proxy_cache_path %%PREFIX%%/cache keys_zone=s3cache:1m;

    s3_bucket named {
        endpoint     %%EPNAME%%;
        bucket       %%BUCKET%%;
        credentials  %%PREFIX%%/good.cred;
    }

    upstream rgw {
        server  %%RGW%%;
        keepalive 4;
    }
    s3_bucket kept {
        endpoint     %%EP%%;
        bucket       %%BUCKET%%;
        upstream     rgw;
        credentials  %%PREFIX%%/good.cred;
    }

    server {
        listen 127.0.0.1:%%PORT%%;

        location /orig/  { s3_proxy photos; }
        location /wrong/ { s3_proxy wrong; }
        location /rot/   { s3_proxy rot; }
        location /dead/  { s3_proxy dead; proxy_connect_timeout 2s; }
        location /fake/  { s3_proxy fake; }
        location /token/ { s3_proxy token; }
        location /kept/  { s3_proxy kept; }
        location /named/ { s3_proxy named; }
        location /cached/ {
            s3_proxy photos;
            proxy_cache s3cache;
            proxy_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status;
        }
        location ~ ^/byid/(\d+)$ { s3_proxy photos "dir/sp ace.txt"; }

        location /internal/ { internal; s3_proxy photos; }
        location = /fakepage {
            ssi on;
            default_type text/html;
            return 200 '<!--# include virtual="/fake/sub.jpg" -->';
        }
        location = /page {
            ssi on;
            default_type text/html;
            return 200 '[<!--# include virtual="/internal/a.txt" -->]';
        }
    }
EOF
$t->run($conf);

# percent-encode a key for the client's URL (nginx decodes it into $uri)
sub url_key {
    my ($k) = @_;
    $k =~ s{([^A-Za-z0-9/._~-])}{sprintf '%%%02X', ord $1}ge;
    return $k;
}

# --- signed GET, HEAD, Range, conditionals

my $r = $t->get('/orig/a.txt');
is $r->{status}, 200, 'GET through s3_proxy: 200';
is $r->{content}, $objects{'a.txt'}, '... the object';
my $etag = $r->{headers}{etag};
like $etag, qr/^"[0-9a-f]{32}"$/, '... the store\'s ETag';

$r = $t->head('/orig/a.txt');
is $r->{status}, 200, 'HEAD: 200';
is $r->{headers}{'content-length'}, length $objects{'a.txt'},
    '... Content-Length of the object';
is $r->{content}, '', '... no body';

$r = $t->get('/orig/a.txt', { headers => { Range => 'bytes=6-10' } });
is $r->{status}, 206, 'Range: 206';
is $r->{content}, 'world', '... the range';
like $r->{headers}{'content-range'}, qr{^bytes 6-10/23$},
    '... Content-Range';

$r = $t->get('/orig/a.txt', { headers => { 'If-None-Match' => $etag } });
is $r->{status}, 304, 'If-None-Match with the ETag: 304';

$r = $t->get('/orig/a.txt',
    { headers => { 'If-Modified-Since' => 'Fri, 01 Jan 2100 00:00:00 GMT' }});
is $r->{status}, 304, 'If-Modified-Since in the future: 304';

$r = $t->get('/orig/a.txt', { headers => { 'If-Match' => '"nope"' } });
is $r->{status}, 502, 'If-Match that fails: the store\'s 412 is a 502';

# the client's credentials and cookies never matter (nor reach the store)
$r = $t->get('/orig/a.txt', { headers => {
    Authorization => 'AWS4-HMAC-SHA256 Credential=EVIL/20200101/us-east-1/'
        . 's3/aws4_request, SignedHeaders=host, Signature=' . ('0' x 64),
    Cookie => 'session=1', 'X-Amz-Date' => '20000101T000000Z',
    'X-Amz-Security-Token' => 'evil' } });
is $r->{status}, 200, 'client Authorization, cookie, x-amz-*: still 200';

# --- keys

for my $k (sort keys %objects) {
    $r = $t->get('/orig/' . url_key($k));
    is $r->{status}, 200, "key \"$k\": 200";
    is $r->{content}, $objects{$k}, "... its object";
}

$r = $t->get('/byid/7');
is $r->{content}, $objects{'dir/sp ace.txt'}, 'a key given to s3_proxy';

$r = $t->get('/orig/missing.txt');
is $r->{status}, 404, 'a missing object: 404';
unlike $r->{content}, qr/NoSuchKey|<\?xml/, '... not the store\'s XML';

$r = $t->head('/orig/missing.txt');
is $r->{status}, 404, 'HEAD of a missing object: 404';

$r = $t->get('/orig/');
is $r->{status}, 404, 'no key: 404, never a listing';

$r = $t->request('POST', '/orig/a.txt', { content => 'x' });
is $r->{status}, 405, 'POST: 405';
is $r->{headers}{allow}, 'GET, HEAD', '... Allow: GET, HEAD';

# --- subrequests sign too

$r = $t->get('/page');
is $r->{content}, '[' . $objects{'a.txt'} . ']',
    'an SSI subrequest through s3_proxy';

# --- errors

$r = $t->get('/wrong/a.txt');
is $r->{status}, 502, 'a wrong secret: 502';
unlike $r->{content}, qr/SignatureDoesNotMatch/, '... no store XML';
my @lines = grep { /s3_proxy: bucket "wrong"/ } split /\n/, $t->error_log;
is scalar @lines, 1, '... one line logged';
like $lines[0] // '', qr/\[error\].*key "a\.txt".*403 SignatureDoesNotMatch/,
    '... an [error] with the key and SignatureDoesNotMatch';

$r = $t->head('/wrong/a.txt');
is $r->{status}, 502, 'HEAD with a wrong secret: 502';

$r = $t->get('/dead/a.txt');
is $r->{status}, 502, 'the store unreachable: 502';
like $t->error_log, qr/\[error\].*connect\(\) failed.*\/\Q$bucket\E\/a\.txt/,
    '... logged with the bucket and the key';

# --- rotation: rewriting the file, no reload

$r = $t->get('/rot/a.txt');
is $r->{status}, 502, 'rot: the first credentials are wrong: 502';
sleep 1.1;
$t->write_file('rot.cred', $cred->($s3->secret));
my $ok = $t->wait_for(sub { $t->get('/rot/a.txt')->{status} == 200 }, 5);
ok $ok, 'the file rewritten: 200 without a reload';
like $t->error_log, qr/\[notice\].*s3 bucket "rot": credentials re-read/,
    '... a notice says so';

sleep 1.1;
$t->write_file('rot.cred', "garbage\n");
sleep 1.1;
is $t->get('/rot/a.txt')->{status}, 200,
    'a bad file after a good one: the old credentials still sign';
is $t->get('/rot/a.txt')->{status}, 200, '... again';
my @bad = grep { /s3 bucket "rot": credentials file/ }
    split /\n/, $t->error_log;
is scalar @bad, 1, '... one line logged for the bad file';
like $bad[0] // '', qr/\[error\].*not "name = value".*kept/,
    '... an [error] saying the old ones are kept';

unlike $t->error_log, qr/\Q${\ $s3->secret }\E/, 'no secret in the log';
unlike $t->access_log, qr/\Q${\ $s3->secret }\E/, '... nor the access log';

# --- keepalive through an upstream{} block

for (1 .. 3) {
    $r = $t->get('/kept/a.txt');
    is $r->{status}, 200, "through upstream rgw (keepalive), request $_";
    is $r->{content}, $objects{'a.txt'}, '... the object';
}

# --- an endpoint by name: resolved when the configuration is read

$r = $t->get('/named/a.txt');
is $r->{status}, 200, 'an endpoint named "localhost": 200';
is $r->{content}, $objects{'a.txt'}, '... the object';

# --- proxy_cache: a HEAD becomes a GET, and the GET is what is signed

$r = $t->head('/cached/a.txt');
is $r->{status}, 200, 'proxy_cache: a HEAD that misses, sent as GET: 200';
is $r->{headers}{'x-cache'}, 'MISS', '... a miss';
$r = $t->get('/cached/a.txt');
is $r->{status}, 200, '... then a GET';
is $r->{headers}{'x-cache'}, 'HIT', '... from the cache';
is $r->{content}, $objects{'a.txt'}, '... the object';

# --- the store's other errors

$r = $t->get('/fake/skew.jpg');
is $r->{status}, 502, 'RequestTimeTooSkewed: 502';
like $t->error_log, qr/\[error\].*s3_proxy: bucket "fake" key "skew\.jpg": (?#
    )the store answered 403 RequestTimeTooSkewed/, '... logged with its code';
$r = $t->get('/fake/busy.jpg');
is $r->{status}, 502, 'a 503 of the store: 502';
like $t->error_log, qr/\[error\].*bucket "fake" key "busy\.jpg".*503 SlowDown/,
    '... logged';

# --- a session token, virtual-hosted style, another region

$r = $t->get('/token/t.jpg');
is $r->{status}, 200, 'token: the fake store answers';
my ($treq) = grep { $_->{path} eq '/t.jpg' } $t->backend_requests($fake);
is $treq->{headers}{host}, "tokenbucket.127.0.0.1:$fake",
    'virtual-hosted style: the bucket in Host';
is $treq->{headers}{'x-amz-security-token'}, 'FQoGZXIvYXdzEXAMPLE/TOKEN+1=',
    'the session token sent';
like $treq->{headers}{authorization}, qr{/eu-west-1/s3/aws4_request,
    \ SignedHeaders=host;x-amz-content-sha256;x-amz-date;
    x-amz-security-token,}x, '... and signed, in the region\'s scope';

# --- what the store is sent

$r = $t->get('/fake/' . url_key("x y+z'%\xc3\xa9.jpg"),
    { headers => { Range => 'bytes=0-1', Cookie => 'c=1',
                   Authorization => 'Bearer nope', 'X-Amz-Meta-A' => 'b',
                   'If-None-Match' => '"e"', 'User-Agent' => 'ua' } });
is $r->{status}, 200, 'the fake store answers';
my ($req) = grep { $_->{path} =~ m{^/fakebucket/x} }
    $t->backend_requests($fake);
is $req->{method}, 'GET', 'store: GET';
is $req->{path}, '/fakebucket/x%20y%2Bz%27%25%C3%A9.jpg',
    'store: the key encoded once, path style';
my $h = $req->{headers};
is $h->{host}, "127.0.0.1:$fake", 'store: Host of the endpoint';
my $kid = $s3->key_id;
like $h->{authorization}, qr{^AWS4-HMAC-SHA256\ Credential=\Q$kid\E/\d{8}/
    us-east-1/s3/aws4_request,\ SignedHeaders=host;
    x-amz-content-sha256;x-amz-date,\ Signature=[0-9a-f]{64}$}x,
    'store: our Authorization';
is $h->{'x-amz-content-sha256'}, 'UNSIGNED-PAYLOAD', 'store: UNSIGNED-PAYLOAD';
like $h->{'x-amz-date'}, qr/^\d{8}T\d{6}Z$/, 'store: X-Amz-Date';
is $h->{range}, 'bytes=0-1', 'store: the client\'s Range';
is $h->{'if-none-match'}, '"e"', 'store: the client\'s If-None-Match';
ok !exists $h->{cookie}, 'store: no cookie';
ok !exists $h->{'x-amz-meta-a'}, 'store: no client x-amz-*';
ok !exists $h->{'user-agent'}, 'store: no other client header';
ok !exists $h->{'x-amz-security-token'}, 'store: no token without one';

# a subrequest's headers are its parent's: none of them is for the store
$r = $t->get('/fakepage', { headers => { Range => 'bytes=0-1',
    'If-None-Match' => '"e"', 'If-Modified-Since' => 'Fri, 01 Jan 2100 '
    . '00:00:00 GMT' } });
is $r->{content}, "fake\n", 'a subrequest to the fake store';
($req) = grep { $_->{path} eq '/fakebucket/sub.jpg' }
    $t->backend_requests($fake);
ok $req && $req->{headers}{authorization}, '... signed';
ok $req && !exists $req->{headers}{range}, '... without the client\'s Range';
ok $req && !exists $req->{headers}{'if-none-match'}
    && !exists $req->{headers}{'if-modified-since'},
    '... nor its conditionals';

# --- configuration errors: nginx -t says what is wrong

my $ok_bucket = "s3_bucket photos { endpoint $ep; credentials "
    . $t->prefix . "/good.cred; }";
for my $c (
    ["server { location /x/ { s3_proxy nope; } }",
     qr/no s3_bucket "nope" in the http block/, 'an unknown bucket'],
    ["s3_bucket bkt { credentials %%PREFIX%%/good.cred; }",
     qr/s3_bucket "bkt" has no endpoint/, 'no endpoint'],
    ["s3_bucket bkt { endpoint ftp://x; credentials %%PREFIX%%/good.cred; }",
     qr/must start with http:\/\/ or https:\/\//, 'a bad endpoint'],
    ["s3_bucket bkt { endpoint http://h/path; credentials x; }",
     qr/with no path/, 'an endpoint with a path'],
    ["s3_bucket bkt { endpoint $ep; }", qr/has no credentials file/,
     'no credentials'],
    ["s3_bucket bkt { endpoint $ep; credentials %%PREFIX%%/none.cred; }",
     qr/\[emerg\].*cannot stat the credentials file/, 'a missing file'],
    ["s3_bucket bkt { endpoint $ep; credentials %%PREFIX%%/conf/nginx.conf; }",
     qr/\[emerg\].*credentials file .*: line \d+: not "name = value"/,
     'a file that is not credentials'],
    ["s3_bucket B_ad { endpoint $ep; credentials %%PREFIX%%/good.cred; }",
     qr/"B_ad" is not a bucket name/, 'a bad bucket name'],
    ["s3_bucket bkt { endpoint $ep; style diagonal; credentials x; }",
     qr/invalid value "diagonal"/, 'a bad style'],
    ["s3_bucket bkt { endpoint $ep; colour red; }",
     qr/unknown directive "colour" in s3_bucket/, 'an unknown directive'],
    ["$ok_bucket $ok_bucket", qr/duplicate s3_bucket "photos"/,
     'a bucket twice'],
    ["$ok_bucket server { location ~ ^/x/ { s3_proxy photos; } }",
     qr/needs the key as its second argument/, 'a regex location, no key'],
    ["$ok_bucket server { location /x/ { s3_proxy photos; "
     . "proxy_pass http://127.0.0.1:1; } }", qr/"proxy_pass" directive is duplicate/,
     'proxy_pass next to s3_proxy'],
) {
    my ($conf, $re, $what) = @$c;
    my ($okc, $out) = $t->check_config($conf);
    ok !$okc, "nginx -t fails: $what";
    like $out, $re, "... and says why" or diag $out;
}

$t->done;
