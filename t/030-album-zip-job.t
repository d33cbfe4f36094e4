#!/usr/bin/perl
# album_zip_job: the serverless "zipper" contract.  POST {"upload_url",
# "token", "sources"} downloads the sources, zips them and uploads the zip
# as the multipart field "file"; the zip is checked with unzip, Python's
# zipfile and bsdtar.  Bad payloads, failing sources and uploads, the
# background mode, the allow-list, the limits, a full queue, a client
# that goes away, and that a slow job never blocks the event loop.  The
# backends are on loopback, so album_zip_job_allow_private is on here;
# t/031 checks the SSRF guard with the default.
#
# ALBUM_ZIP_JOB_BIG_MB (default 64) sets the size of the album whose
# upload is watched for the worker's memory; 0 skips that part.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Path ();
use IO::Select;
use IO::Socket::IP;
use JSON::PP ();
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx qw(parse_response alloc_port);
use Edge::Nginx::Backend qw(write_all);

my $JOB = '/2015-03-31/functions/zipper/invocations';
my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => ['album_zip'], worker_processes => 1,
    thread_pools => { tiny => 'threads=1 max_queue=1' });

my $prefix = $t->prefix;

# ---- fixtures: three photos, two with the same basename

srand 30;
my %src = (
    '/p/a.jpg'     => join('', map { chr int rand 256 } 1 .. 70_000),
    '/q/a.jpg'     => join('', map { chr int rand 256 } 1 .. 50_001),
    '/c%20d.png'   => "\x89PNG\r\n\x1a\n" . ('png!' x 5000),
);
my $big = 'B' x (2 * 1024 * 1024);
$t->write_file('html/static.txt', "static\n");

# the upload receiver: /fail answers 500, /big keeps the zip in a file
my $up = $t->backend(sub {
    my ($req) = @_;
    return [500, {}, 'no'] if $req->{path} eq '/fail';
    return [201, { 'Content-Type' => 'text/plain' }, 'stored'];
});

my $big_up = $t->backend(sub {
    my ($req) = @_;
    my $zip = multipart_file($req->{body});
    open my $fh, '>:raw', "$prefix/big.zip" or die;
    print {$fh} $zip->{data};
    close $fh;
    open $fh, '>', "$prefix/big.done" or die;
    print {$fh} length $req->{body};
    close $fh;
    return [200, {}, 'ok'];
}, record => 0);

# the sources; /ok/redirect leaves the allow-list's prefix
my $origin;
$origin = $t->backend(sub {
    my ($req) = @_;
    my $p = $req->{path};
    return [200, { 'Last-Modified' => 'Wed, 01 May 2024 12:00:00 GMT' },
        $src{$p}] if $p eq '/p/a.jpg';
    return [200, {}, $src{$p}] if exists $src{$p};
    return [200, {}, 'ok-bytes'] if $p eq '/ok/x.jpg';
    return [302, { Location => '/secret/x.jpg' }, 'moved']
        if $p eq '/ok/redirect';
    return [302, { Location => '/ok/x.jpg' }, 'moved']
        if $p eq '/ok/redirect-ok';
    return [200, {}, 'secret'] if $p eq '/secret/x.jpg';
    return [200, {}, $big] if $p eq '/big.bin';
    return [200, {}, [($big) x 1]] if $p eq '/big-chunked.bin';
    if ($p =~ m{^/gen/(\d+)/(\d+)\z}) {
        return [200, {}, pack('N', $1) x ($2 / 4)];
    }
    return [404, {}, 'not found'];
});

my $slow = $t->backend([200, {}, 'slow bytes'], delay => 2);
my $dead = alloc_port();    # nothing listens there

my $S = "http://127.0.0.1:$origin";
my $U = "http://127.0.0.1:$up";

$t->run(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT%%;

        # every backend here is on loopback (t/031 checks the default)
        album_zip_job_allow_private on;

        location = /static.txt { root %%PREFIX%%/html; }

        location = $JOB { album_zip_job; }

        location = /allow {
            album_zip_job;
            album_zip_allow http://127.0.0.1:$origin/ok/;
            album_zip_allow http://127.0.0.1:$up;
        }

        location = /small {
            album_zip_job;
            album_zip_max_size 1m;
            album_zip_max_files 2;
            client_max_body_size 1k;
        }

        location = /file-body {
            album_zip_job;
            client_body_buffer_size 1k;
        }

        location = /tiny {
            album_zip_job;
            album_zip_thread_pool tiny;
        }

        location = /watchdog {
            album_zip_job;
            album_zip_thread_timeout 300ms;
        }
    }
EOF

# ---- helpers

sub payload {
    my (%p) = @_;
    return $json->encode({ api_url => 'https://api.example/unused',
        upload_url => "$U/upload", token => 'tok-1', %p });
}

sub job {
    my ($body, %opt) = @_;
    my $r = $t->request('POST', $opt{path} // $JOB, {
        content => $body, timeout => 30,
        headers => { 'Content-Type' => 'application/json',
            %{ $opt{headers} // {} } } });
    $r->{json} = eval { $json->decode($r->{content}) };
    return $r;
}

# an error of the function: 200 with X-Amz-Function-Error; its message
sub fn_error {
    my ($r) = @_;
    return undef unless $r->{status} == 200
        && ($r->{headers}{'x-amz-function-error'} // '') eq 'Unhandled';
    return $r->{json}{errorMessage};
}

sub uploads {
    my ($path) = @_;
    return grep { $_->{path} eq $path } $t->backend_requests($up);
}

# the "file" part of a multipart/form-data body
sub multipart_file {
    my ($body, $ctype) = @_;
    my ($boundary) = $body =~ /\A--([^\r\n]+)\r\n/ or return;
    my %part;
    my $pos = 0;
    while ((my $start = index $body, "--$boundary\r\n", $pos) >= 0) {
        my $hend = index $body, "\r\n\r\n", $start;
        my $head = substr $body, $start, $hend - $start;
        my $end = index $body, "\r\n--$boundary", $hend + 4;
        my $data = substr $body, $hend + 4, $end - $hend - 4;
        $pos = $end + 2;
        next unless $head =~ /name="file"/;
        my ($fn) = $head =~ /filename="([^"]*)"/;
        my ($ct) = $head =~ /Content-Type: *([^\r\n]+)/i;
        %part = (filename => $fn, type => $ct, data => $data,
            head => $head);
    }
    $part{last} = substr($body, $pos) eq "--$boundary--\r\n";
    return \%part;
}

sub error_log_count {
    my ($re) = @_;
    return scalar(() = $t->error_log =~ /$re/g);
}

# a request on its own connection, answered later
sub send_job {
    my ($body, %h) = @_;
    my $path = delete $h{path} // $JOB;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    write_all($sock, "POST $path HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Type: application/json\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h)
        . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
    return $sock;
}

sub read_all {
    my ($sock, $timeout) = @_;
    my ($out, $sel) = ('', IO::Select->new($sock));
    my $deadline = time + $timeout;
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        last unless sysread $sock, $out, 65536, length $out;
    }
    return parse_response($out);
}

# ---- success: three sources, two named a.jpg

my $r = job(payload(sources => ["$S/p/a.jpg", "$S/q/a.jpg?v=2",
    "$S/c%20d.png#frag"]));
is $r->{status}, 200, 'job: 200';
is_deeply $r->{json}, { statusCode => 200,
    body => '{"message": "Images zipped and uploaded"}' },
    'job: the old function\'s payload';
is $r->{headers}{'x-amz-executed-version'}, '$LATEST',
    'job: X-Amz-Executed-Version';
ok $r->{headers}{'x-amzn-requestid'}, 'job: X-Amzn-RequestId';
like $r->{headers}{'content-type'}, qr{^application/json}, 'job: JSON';

my @up = uploads('/upload');
is scalar @up, 1, 'one upload';
my $req = $up[0];
is $req->{method}, 'POST', 'upload: POST';
like $req->{headers}{'content-type'}, qr{^multipart/form-data; boundary=},
    'upload: multipart/form-data';
ok !exists $req->{headers}{expect}, 'upload: no Expect: 100-continue';
my $part = multipart_file($req->{body});
ok $part->{data}, 'upload: a "file" field' or diag $req->{body};
is $part->{filename}, 'tok-1.zip', 'upload: filename from the token';
is $part->{type}, 'application/zip', 'upload: application/zip';
ok $part->{last}, 'upload: the multipart body is complete';

$t->write_file('upload.zip', $part->{data} // '');
my $zip = "$prefix/upload.zip";

my $out = `unzip -t $zip 2>&1`;
is $?, 0, 'unzip -t' or diag $out;
like $out, qr/No errors detected/, 'unzip: no errors';

$out = `python3 -c 'import sys, zipfile, json
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps([[i.filename, list(i.date_time), i.compress_type,
                   i.file_size] for i in z.infolist()]))' $zip 2>&1`;
is $?, 0, 'python zipfile: testzip' or diag $out;
my $info = eval { $json->decode($out) } // [];
is_deeply [map { $_->[0] } @$info], ['a.jpg', 'a (2).jpg', 'c d.png'],
    'members: names from the URLs, de-duplicated, in order';
is_deeply $info->[0][1], [2024, 5, 1, 12, 0, 0],
    'member time from Last-Modified';
is_deeply $info->[1][1], [1980, 1, 1, 0, 0, 0],
    'no Last-Modified: 1980-01-01';
is_deeply [map { $_->[2] } @$info], [0, 0, 0], 'stored members';

$out = `bsdtar -tf $zip 2>&1`;
is $?, 0, 'bsdtar -tf' or diag $out;
is $out, "a.jpg\na (2).jpg\nc d.png\n", 'bsdtar lists the members';

File::Path::make_path("$prefix/x");
$out = `cd $prefix/x && bsdtar -xf $zip 2>&1`;
is $?, 0, 'bsdtar -xf' or diag $out;
ok $t->read_file('x/a.jpg') eq $src{'/p/a.jpg'}, 'a.jpg: the bytes';
ok $t->read_file('x/a (2).jpg') eq $src{'/q/a.jpg'}, 'a (2).jpg: the bytes';
ok $t->read_file('x/c d.png') eq $src{'/c%20d.png'}, 'c d.png: the bytes';

my $size = length $part->{data};
like $t->error_log,
    qr/album_zip job: uploaded 3 files \($size bytes\) to 127\.0\.0\.1:$up,/,
    'the outcome is logged';

# no temporary file is left
opendir my $dh, "$prefix/tmp/client_body" or die;
is_deeply [grep { /album_zip/ } readdir $dh], [], 'no temporary file left';

# a token that is no file name, and none
job(payload(token => '../x"y', sources => ["$S/p/a.jpg"],
    upload_url => "$U/upload2"));
job(payload(token => undef, sources => ["$S/p/a.jpg"],
    upload_url => "$U/upload3"));
is multipart_file((uploads('/upload2'))[0]{body} // '')->{filename},
    '.._x_y.zip', 'token sanitised into the file name';
is multipart_file((uploads('/upload3'))[0]{body} // '')->{filename},
    'album.zip', 'no token: album.zip';

# a payload that nginx kept in a temporary file
$r = job(payload(sources => [map { "$S/ok/x.jpg?n=$_" } 1 .. 100],
    upload_url => "$U/file-body"), path => '/file-body');
is $r->{status}, 200, 'a payload in a temporary file: 200';
like $t->error_log, qr/a client request body is buffered to a temporary/,
    '... it was in a file';
is scalar(uploads('/file-body')), 1, '... and the zip was uploaded';

# ---- bad payloads: not JSON is 400 InvalidRequestContentException; an
# invalid one an error of the function naming the field (RequestResponse)

my @bad = (
    ['not json', 'payload: not valid JSON', 'not JSON'],
    ['[]', 'payload: must be a JSON object', 'an array'],
    [payload(sources => undef),
        'sources: must be a non-empty array of strings', 'sources null'],
    [$json->encode({ upload_url => "$U/u" }),
        'sources: must be a non-empty array of strings', 'no sources'],
    [payload(sources => []),
        'sources: must be a non-empty array of strings', 'empty sources'],
    [payload(sources => "$S/p/a.jpg"),
        'sources: must be a non-empty array of strings', 'sources a string'],
    [payload(sources => ["$S/p/a.jpg", 7]), 'sources[1]: must be a string',
        'a non-string source'],
    [payload(sources => ['file:///etc/passwd']),
        'sources[0]: must be an http or https URL', 'a file: source'],
    [payload(sources => ["$S/p/a.jpg"], token => 5),
        'token: must be a string', 'a non-string token'],
    [payload(sources => ["$S/p/a.jpg"], upload_url => ['x']),
        'upload_url: must be a string', 'a non-string upload_url'],
    [payload(sources => ["$S/p/a.jpg"], upload_url => undef),
        'upload_url: is required', 'no upload_url'],
);
for my $b (@bad) {
    my ($body, $msg, $name) = @$b;
    my $r = job($body);
    if ($msg eq 'payload: not valid JSON') {
        is $r->{status}, 400, "400: $name";
        is_deeply $r->{json}, { Type => 'User', message =>
            "Could not parse request body into json: $msg" },
            "400: $name: the message";
        is $r->{headers}{'x-amzn-errortype'},
            'InvalidRequestContentException', "400: $name: the type";
        next;
    }
    is fn_error($r), $msg, "function error: $name: the message";
    is $r->{json}{errorType}, 'ValueError', "function error: $name: type";
}

# under Event the same payload is refused at once (nothing would say so)
$r = job(payload(sources => ["$S/p/a.jpg", 7]),
    headers => { 'X-Amz-Invocation-Type' => 'Event' });
is $r->{status}, 400, 'Event, invalid payload: 400';
is $r->{headers}{'x-amzn-errortype'}, 'InvalidRequestContentException',
    '... InvalidRequestContentException';
is $r->{json}{message}, 'sources[1]: must be a string', '... the field';
is scalar(uploads('/u')), 0, 'nothing uploaded for bad payloads';

$r = job(payload(sources => ["$S/p/a.jpg"]),
    headers => { 'X-Amz-Invocation-Type' => 'Sometimes' });
is $r->{status}, 400, 'bad X-Amz-Invocation-Type: 400';

$r = $t->get($JOB);
is $r->{status}, 405, 'GET: 405';
is $r->{headers}{allow}, 'POST', '405: Allow: POST';
ok $r->{headers}{'x-amzn-requestid'}, '405: X-Amzn-RequestId too';

$r = job(payload(sources => ["$S/p/a.jpg"], token => 'x' x 2000),
    path => '/small');
is $r->{status}, 413, 'body over client_max_body_size: 413';

$r = job(payload(sources => ["$S/p/a.jpg"], upload_url => "$U/dry"),
    headers => { 'X-Amz-Invocation-Type' => 'DryRun' });
is $r->{status}, 204, 'DryRun: 204';
is scalar(uploads('/dry')), 0, 'DryRun: nothing uploaded';

# ---- failures: errors of the function, never a 5xx (an SDK retries those)

my $before = scalar $t->backend_requests($up);
$r = job(payload(sources => ["$S/p/a.jpg", "$S/missing.jpg"]));
is fn_error($r), 'sources[1]: HTTP 404',
    'source 404: the index and the status';
is $r->{json}{errorType}, 'HTTPError', 'source 404: HTTPError';
is scalar $t->backend_requests($up), $before, 'source 404: no upload';

$r = job(payload(sources => ["http://127.0.0.1:$dead/a.jpg"]));
like fn_error($r), qr/^sources\[0\]: .*connect/i,
    'connection error: the index and what failed';

$r = job(payload(sources => ["$S/p/a.jpg"], upload_url => "$U/fail"));
is fn_error($r), 'upload: HTTP 500', 'upload 500: the status';
is scalar(uploads('/fail')), 1, 'upload 500: the upload was tried';

like $t->error_log, qr/album_zip job: failed: sources\[1\]: HTTP 404/,
    'the failure is logged';

# ---- limits

$r = job(payload(sources => ["$S/big.bin"]), path => '/small');
like fn_error($r), qr/^sources\[0\]: .*album_zip_max_size/,
    'max_size: says so';

$r = job(payload(sources => ["$S/big-chunked.bin"]), path => '/small');
like fn_error($r), qr/album_zip_max_size/,
    'chunked source over album_zip_max_size: a function error';

$r = job(payload(sources => ["$S/p/a.jpg", "$S/q/a.jpg", "$S/big.bin"]),
    path => '/small');
is fn_error($r), 'sources: more than 2 sources',
    'more sources than album_zip_max_files: says so';

# ---- the allow-list

$r = job(payload(sources => ["$S/ok/x.jpg"], upload_url => "$U/allowed"),
    path => '/allow');
is $r->{status}, 200, 'allow: allowed source and upload: 200';

$r = job(payload(sources => ["$S/ok/x.jpg", "$S/p/a.jpg"]),
    path => '/allow');
is fn_error($r), 'sources[1]: not allowed by album_zip_allow',
    'allow: a source outside: names the source';

$r = job(payload(sources => ["$S/ok/../p/a.jpg"]), path => '/allow');
like fn_error($r), qr/not allowed/, 'allow: dot segments never match';

$r = job(payload(sources => ["$S/ok/x.jpg"],
    upload_url => "http://127.0.0.1:${up}0/u"), path => '/allow');
is fn_error($r), 'upload_url: not allowed by album_zip_allow',
    'allow: upload_url outside: names upload_url';

$r = job(payload(sources => ["$S/ok/redirect-ok"],
    upload_url => "$U/allowed2"), path => '/allow');
is $r->{status}, 200, 'allow: a redirect inside the list is followed';

$r = job(payload(sources => ["$S/ok/redirect"]), path => '/allow');
like fn_error($r), qr/^sources\[0\]: redirected .*album_zip_allow/,
    'allow: says so';
ok !(grep { $_->{path} eq '/secret/x.jpg' } $t->backend_requests($origin)),
    'allow: the redirect target was never requested';

# ---- background: 202 at once, the upload follows

my $t0 = time;
$r = job(payload(sources => ["http://127.0.0.1:$slow/e.jpg"],
    upload_url => "$U/event"),
    headers => { 'X-Amz-Invocation-Type' => 'Event' });
my $took = time - $t0;
is $r->{status}, 202, 'Event: 202';
is $r->{content}, '', 'Event: an empty body, as Lambda';
cmp_ok $took, '<', 1, 'Event: answered before the work';
ok $t->wait_for(sub { uploads('/event') }, 15), 'Event: the upload arrives';
ok $t->wait_for(sub {
    $t->error_log =~ /uploaded 1 files \(\d+ bytes\) to 127\.0\.0\.1:$up$/m
}, 5), 'Event: the outcome is logged';
like multipart_file((uploads('/event'))[0]{body})->{data}, qr/slow bytes/,
    'Event: the zip holds the source';

$r = job(payload(sources => ["$S/missing.jpg"], upload_url => "$U/event2"),
    headers => { 'X-Amz-Invocation-Type' => 'Event' });
is $r->{status}, 202, 'Event with a failing source: still 202';
ok $t->wait_for(sub { $t->error_log =~ /failed: sources\[0\]: HTTP 404/ },
    10), 'Event: the failure is logged';

# ---- a slow source does not block the event loop

my $sock = send_job(payload(sources => ["http://127.0.0.1:$slow/s.jpg"],
    upload_url => "$U/slow"));
ok $t->wait_for(sub { grep { $_->{path} eq '/s.jpg' }
    $t->backend_requests($slow) }, 5), 'slow: the job is running';
$t0 = time;
$r = $t->get('/static.txt');
$took = time - $t0;
is $r->{content}, "static\n", 'slow: a static file meanwhile';
cmp_ok $took, '<', 0.2, 'slow: ... answered within 200 ms';
$r = read_all($sock, 10);
is $r->{status}, 200, 'slow: the job then succeeds';
close $sock;

# ---- the client goes away during a synchronous job

my $done = error_log_count(qr/album_zip job: uploaded/);
$sock = send_job(payload(sources => ["http://127.0.0.1:$slow/gone.jpg"],
    upload_url => "$U/gone"));
ok $t->wait_for(sub { grep { $_->{path} eq '/gone.jpg' }
    $t->backend_requests($slow) }, 5), 'gone: the job is running';
close $sock;
ok $t->wait_for(sub { error_log_count(qr/album_zip job: uploaded/) > $done },
    10), 'gone: the job completes';
is $t->get('/static.txt')->{status}, 200, 'gone: nginx still serves';

# ---- the watchdog: a job still running after album_zip_thread_timeout

$t->allow_log(qr/\[alert\].*album_zip job: upload of "127\.0\.0\.1:$up" still running after 300ms/);

my $uploaded = error_log_count(qr/album_zip job: uploaded/);
$t0 = time;
$r = job(payload(sources => ["http://127.0.0.1:$slow/wd.jpg"],
    upload_url => "$U/wd"), path => '/watchdog');
$took = time - $t0;
like fn_error($r), qr/^Task timed out: the job is still running/,
    'watchdog: a function error (no 5xx: an SDK would run it again)';
is $r->{json}{errorType}, 'Sandbox.Timedout', 'watchdog: Sandbox.Timedout';
cmp_ok $took, '<', 1.5, 'watchdog: answered before the job ended';
like $t->error_log, qr/\[alert\].*album_zip job: upload of "127\.0\.0\.1:$up" still running after 300ms/,
    'watchdog: an [alert] names the module, the work and the host';
ok $t->wait_for(sub { uploads('/wd') }, 10),
    'watchdog: the job goes on in its thread';
ok $t->wait_for(sub { $t->error_log =~ /album_zip job: upload of "[^"]+" ended after its watchdog/ }, 10),
    'watchdog: the late completion is logged';
is error_log_count(qr/album_zip job: uploaded/), $uploaded + 1,
    'watchdog: ... with the outcome';

$r = job(payload(sources => ["http://127.0.0.1:$slow/wd2.jpg"],
    upload_url => "$U/wd-event"), path => '/watchdog',
    headers => { 'X-Amz-Invocation-Type' => 'Event' });
is $r->{status}, 202, 'watchdog, Event: 202';
ok $t->wait_for(sub { error_log_count(qr/\[alert\].*still running/) == 2 },
    5), 'watchdog, Event: an [alert] too';
ok $t->wait_for(sub { uploads('/wd-event') }, 10),
    'watchdog, Event: the job goes on';
ok $t->wait_for(sub { error_log_count(qr/ended after its watchdog/) == 2 },
    5), 'watchdog, Event: and ends';
is $t->get('/static.txt')->{content}, "static\n", 'watchdog: nginx serves';

# ---- a full queue: 429 TooManyRequestsException

# one thread, one waiting task: the third job finds the queue full
my %event = ('X-Amz-Invocation-Type' => 'Event');
$r = read_all(send_job(payload(sources => ["http://127.0.0.1:$slow/q1.jpg"],
    upload_url => "$U/queue"), path => '/tiny', %event), 5);
is $r->{status}, 202, 'queue: the first job is accepted';
ok $t->wait_for(sub { grep { $_->{path} eq '/q1.jpg' }
    $t->backend_requests($slow) }, 5), 'queue: ... and runs';
$r = read_all(send_job(payload(sources => ["http://127.0.0.1:$slow/q2.jpg"],
    upload_url => "$U/queue"), path => '/tiny', %event), 5);
is $r->{status}, 202, 'queue: the second job waits';
$r = job(payload(sources => ["$S/p/a.jpg"]), path => '/tiny',
    headers => \%event);
is $r->{status}, 429, 'queue full: 429';
is $r->{headers}{'x-amzn-errortype'}, 'TooManyRequestsException',
    'queue full: TooManyRequestsException';
is $r->{headers}{'retry-after'}, '1', 'queue full: Retry-After';
like $json->decode($r->{content})->{message}, qr/^Rate exceeded/,
    'queue full: says so';
ok $t->wait_for(sub { uploads('/queue') == 2 }, 15),
    'queue: the accepted jobs complete';
$t->allow_log(qr/thread pool "tiny" queue overflow/);

# ---- a big album: the worker's memory does not grow with it

my $mb = $ENV{ALBUM_ZIP_JOB_BIG_MB} // 64;
SKIP: {
    skip 'ALBUM_ZIP_JOB_BIG_MB=0', 6 unless $mb;

    my $n = 20;
    my $each = int($mb * 1024 * 1024 / $n / 4) * 4;
    my ($worker) = $t->worker_pids;
    my $rss0 = $t->rss_kb($worker);
    my $peak = $rss0;

    $r = job(payload(sources => [map { "$S/gen/$_/$each" } 1 .. $n],
        upload_url => "http://127.0.0.1:$big_up/big"),
        headers => { 'X-Amz-Invocation-Type' => 'Event' });
    is $r->{status}, 202, "big album ($mb MB): accepted";
    # sampled every 5 ms (wait_for backs off to 100 ms)
    $t0 = time;
    my $samples = 0;
    until (-e "$prefix/big.done" || time - $t0 > 300) {
        my $kb = $t->rss_kb($worker) // 0;
        $peak = $kb if $kb > $peak;
        $samples++;
        Time::HiRes::sleep(0.005);
    }
    my $secs = time - $t0;
    ok -e "$prefix/big.done", 'big album: uploaded';
    ok $t->wait_for(sub { $t->error_log =~ /uploaded $n files/ }, 5),
        'big album: logged';
    my $grew = $peak - $rss0;
    diag sprintf "big album: %d MB in %.1f s, worker RSS %d kB -> peak "
        . "%d kB (+%d kB, %d samples)", $mb, $secs, $rss0, $peak, $grew,
        $samples;
    cmp_ok $grew, '<', 16 * 1024,
        'big album: worker RSS grew by less than 16 MB';

    my $zip = "$prefix/big.zip";
    my ($logged) = $t->error_log =~ /uploaded $n files \((\d+) bytes\)/;
    is -s $zip, $logged, 'big album: the zip has the logged size';
    $out = `unzip -tq $zip 2>&1`;
    is $?, 0, 'big album: unzip -t' or diag $out;
}

$t->done;
