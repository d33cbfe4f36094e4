#!/usr/bin/perl
# The zipper (album_zip_job) behind ngx_http_lambda_module, invoked with
# Debian's boto3 as the site would: RequestResponse by default with the
# real function's success payload; Event 202 and DryRun 204 with empty
# bodies; a refused payload and a failed upload as errors of the
# function (200, X-Amz-Function-Error), so that whatever the SDK's retry
# mode (legacy, standard) the site receives exactly one upload per
# invocation; JSON that does not parse as InvalidRequestContentException;
# a full queue as 429 TooManyRequestsException with Retry-After.  The
# fake site receives the zip as its view does: a multipart field "file".

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;

use Edge::Nginx qw(parse_response);
use Edge::Lambda qw(boto3 have_boto3);

plan skip_all => 'no boto3 (apt install python3-boto3)' unless have_boto3();

my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => [qw(album_zip lambda)],
    thread_pools => { tiny => 'threads=1 max_queue=1' });

# the site: /upload/ok stores, /upload/fail answers 500; only a multipart
# body with a "file" field is accepted (400 otherwise), as the view does
my $site = $t->backend(sub {
    my ($req) = @_;
    my $p = $req->{path};
    return [200, {}, 'photo-bytes-' . $p] if $p =~ m{^/photos/};
    return [404, {}, 'no'] unless $p =~ m{^/upload/};
    return [400, {}, 'no file'] unless ($req->{headers}{'content-type'} // '')
        =~ m{^multipart/form-data; boundary=}
        && $req->{body} =~ /Content-Disposition: form-data; name="file"/;
    return [500, {}, 'storage down'] if $p =~ m{/fail};
    return [201, {}, 'stored'];
});
my $slow = $t->backend([200, {}, 'slow'], delay => 2);

$t->run(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;

        album_zip_job_allow_private on;

        location /2015-03-31/functions/ {
            lambda_function  zipper      @zips;
            lambda_function  zipper-one  @tiny;
        }

        location @zips { album_zip_job; }

        location @tiny {
            album_zip_job;
            album_zip_thread_pool tiny;
        }
    }
EOF

my $endpoint = $t->url('');
$endpoint =~ s{/\z}{};
my $S = "http://127.0.0.1:$site";

sub payload {
    my ($upload, @src) = @_;
    @src = ("$S/photos/a.jpg") unless @src;
    return $json->encode({ api_url => "$S/api", upload_url => "$S$upload",
        token => 'album-1', sources => \@src });
}

sub uploads {
    my ($path) = @_;
    return grep { $_->{path} eq $path } $t->backend_requests($site);
}

# ---- success, the default invocation type

my $r = boto3(endpoint => $endpoint, function => 'zipper',
    payload => payload('/upload/ok1'));
is $r->{status}, 200, 'RequestResponse by default: 200' or diag explain $r;
is $r->{function_error}, undef, '... no FunctionError';
is $r->{version}, '$LATEST', '... ExecutedVersion $LATEST';
is_deeply $json->decode($r->{payload}), { statusCode => 200,
    body => '{"message": "Images zipped and uploaded"}' },
    '... the real function\'s payload';
is scalar(uploads('/upload/ok1')), 1, '... one upload';

$r = boto3(endpoint => $endpoint, function => 'zipper', type => 'Event',
    payload => payload('/upload/event'));
is $r->{status}, 202, 'Event: 202';
is $r->{payload}, '', '... an empty payload';
ok $t->wait_for(sub { uploads('/upload/event') }, 10), '... uploaded later';

$r = boto3(endpoint => $endpoint, function => 'zipper', type => 'DryRun',
    payload => payload('/upload/dry'));
is $r->{status}, 204, 'DryRun: 204';
is scalar(uploads('/upload/dry')), 0, '... nothing uploaded';

# ---- a failed upload: one upload whatever the SDK's retry mode

for my $mode (qw(legacy standard)) {
    my $path = "/upload/fail-$mode";
    $r = boto3(endpoint => $endpoint, function => 'zipper',
        retry_mode => $mode, payload => payload($path));
    is $r->{status}, 200, "upload 500, $mode retries: 200" or diag explain $r;
    is $r->{function_error}, 'Unhandled', '... FunctionError Unhandled';
    is_deeply $json->decode($r->{payload}),
        { errorMessage => 'upload: HTTP 500', errorType => 'HTTPError' },
        '... the error payload';
    is $r->{attempts}, 1, '... sent once';
    is scalar(uploads($path)), 1, '... the site received exactly one upload';
}

# a missing source under the abort policy: the same, and nothing uploaded
$r = boto3(endpoint => $endpoint, function => 'zipper',
    payload => payload('/upload/missing', "$S/nothere.jpg"));
is $r->{function_error}, 'Unhandled', 'a missing source: FunctionError';
like $json->decode($r->{payload})->{errorMessage}, qr/^sources\[0\]: HTTP 404/,
    '... naming the source';
is scalar(uploads('/upload/missing')), 0, '... no upload';

# ---- refused payloads

$r = boto3(endpoint => $endpoint, function => 'zipper',
    payload => '{"upload_url": "x"');
is $r->{error}{code}, 'InvalidRequestContentException',
    'JSON that does not parse: InvalidRequestContentException'
    or diag explain $r;
is $r->{error}{status}, 400, '... 400';
is $r->{error}{message},
    'Could not parse request body into json: payload: not valid JSON',
    '... with its message';

my $bad = $json->encode({ upload_url => "$S/upload/bad",
    sources => ["$S/photos/a.jpg", 7] });
$r = boto3(endpoint => $endpoint, function => 'zipper', payload => $bad);
is $r->{function_error}, 'Unhandled',
    'an invalid payload, RequestResponse: FunctionError';
is_deeply $json->decode($r->{payload}), { errorMessage =>
    'sources[1]: must be a string', errorType => 'ValueError' },
    '... naming the field';

$r = boto3(endpoint => $endpoint, function => 'zipper', type => 'Event',
    payload => $bad);
is $r->{error}{code}, 'InvalidRequestContentException',
    'an invalid payload, Event: InvalidRequestContentException';
is $r->{error}{message}, 'sources[1]: must be a string', '... naming it';

# ---- a full queue: 429 TooManyRequestsException, nothing queued

sub send_raw {
    my ($upload) = @_;
    my $body = payload($upload, "http://127.0.0.1:$slow/s.jpg");
    my $sock = IO::Socket::IP->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port, Timeout => 5) or die "connect: $!";
    print {$sock} "POST /2015-03-31/functions/zipper-one/invocations "
        . "HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "X-Amz-Invocation-Type: Event\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    local $/;
    return parse_response(scalar <$sock>);
}
use IO::Socket::IP;

is send_raw('/upload/q1')->{status}, 202, 'queue: the first job runs';
ok $t->wait_for(sub { $t->backend_requests($slow) >= 1 }, 5),
    '... and downloads';
is send_raw('/upload/q2')->{status}, 202, 'queue: the second waits';

$r = boto3(endpoint => $endpoint, function => 'zipper-one', type => 'Event',
    attempts => 1, payload => payload('/upload/q3'));
is $r->{error}{status}, 429, 'queue full: 429' or diag explain $r;
is $r->{error}{code}, 'TooManyRequestsException',
    '... TooManyRequestsException';
like $r->{error}{message}, qr/^Rate exceeded/, '... Rate exceeded';

my $raw = $t->request('POST', '/2015-03-31/functions/zipper-one/invocations',
    { content => payload('/upload/q4'),
      headers => { 'X-Amz-Invocation-Type' => 'Event' } });
is $raw->{status}, 429, 'queue full, raw: 429';
is $raw->{headers}{'retry-after'}, '1', '... Retry-After: 1';

ok $t->wait_for(sub { uploads('/upload/q1') && uploads('/upload/q2') }, 20),
    'queue: the accepted jobs complete';
is scalar(uploads('/upload/q3')) + scalar(uploads('/upload/q4')), 0,
    'queue: the refused ones never ran';
$t->allow_log(qr/thread pool "tiny" queue overflow/);

$t->done;
