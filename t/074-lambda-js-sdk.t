#!/usr/bin/perl
# The same contract through the AWS SDK for JavaScript v3
# (@aws-sdk/client-lambda, pinned in t/sdk/package-lock.json): routing by
# name, partial and full ARN and Qualifier; RequestResponse by default,
# Event, DryRun; every error class as a named exception with Lambda's
# message (ResourceNotFoundException, InvalidRequestContentException,
# TooManyRequestsException, MissingAuthenticationTokenException,
# UnrecognizedClientException, InvalidSignatureException); a failed
# upload as FunctionError, uploaded exactly once under the SDK's retries.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use JSON::PP ();
use Test::More;

use Edge::Nginx qw(parse_response);
use Edge::Lambda qw(js_sdk have_js_sdk KEY_ID SECRET);

plan skip_all => 'no @aws-sdk/client-lambda (make sdk)'
    unless have_js_sdk();

my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => [qw(album_zip lambda)],
    thread_pools => { tiny => 'threads=1 max_queue=1' });
$t->write_file('lambda.keys', KEY_ID . ' ' . SECRET . "\n");

my $site = $t->backend(sub {
    my ($req) = @_;
    my $p = $req->{path};
    return [200, {}, "bytes of $p"] if $p =~ m{^/photos/};
    return [400, {}, 'no file'] unless $p =~ m{^/upload/}
        && $req->{body} =~ /Content-Disposition: form-data; name="file"/;
    return [500, {}, 'storage down'] if $p =~ m{/fail};
    return [201, {}, 'stored'];
});
my $slow = $t->backend([200, {}, 'slow'], delay => 2);
my $S = "http://127.0.0.1:$site";

$t->run(<<'EOF');
    album_zip_job_allow_private on;

    server {
        listen 127.0.0.1:%%PORT%%;

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

    server {
        listen 127.0.0.1:%%PORT2%%;

        location /2015-03-31/functions/ {
            lambda_credentials  %%PREFIX%%/lambda.keys;
            lambda_function     zipper  @zips;
        }

        location @zips { album_zip_job; }
    }
EOF

my ($open, $auth) = map { my $u = $t->url('', $_); $u =~ s{/\z}{}; $u }
    $t->port, $t->port(2);

sub payload {
    my ($upload, @src) = @_;
    @src = ("$S/photos/a.jpg") unless @src;
    return $json->encode({ upload_url => "$S$upload", token => 'js',
        sources => \@src });
}

sub uploads {
    my ($path) = @_;
    return grep { $_->{path} eq $path } $t->backend_requests($site);
}

# ---- routing and the invocation types

my $i = 0;
for my $name ('zipper', 'zipper:$LATEST', '627002765486:function:zipper',
              'arn:aws:lambda:eu-west-1:627002765486:function:zipper:live')
{
    my $path = '/upload/route' . ++$i;
    my $r = js_sdk(endpoint => $open, function => $name,
        payload => payload($path));
    is $r->{status}, 200, "FunctionName $name: 200" or diag explain $r;
    is scalar(uploads($path)), 1, '... the job ran';
}

my $r = js_sdk(endpoint => $open, function => 'zipper',
    qualifier => '$LATEST', payload => payload('/upload/default'));
is $r->{status}, 200, 'Qualifier, no InvocationType: RequestResponse, 200';
is $r->{version}, '$LATEST', '... ExecutedVersion';
is_deeply $json->decode($r->{payload}), { statusCode => 200,
    body => '{"message": "Images zipped and uploaded"}' },
    '... the function\'s payload';
like $r->{request_id}, qr/^[0-9a-f-]{36}\z/, '... a request id';

$r = js_sdk(endpoint => $open, function => 'zipper', type => 'Event',
    payload => payload('/upload/event'));
is $r->{status}, 202, 'Event: 202';
ok $t->wait_for(sub { uploads('/upload/event') }, 10), '... uploaded';

$r = js_sdk(endpoint => $open, function => 'zipper', type => 'DryRun',
    payload => payload('/upload/dry'));
is $r->{status}, 204, 'DryRun: 204';

# ---- errors, as named exceptions

$r = js_sdk(endpoint => $open, function => 'nothere');
is $r->{error}{code}, 'ResourceNotFoundException',
    'an unknown function: ResourceNotFoundException' or diag explain $r;
is $r->{error}{message}, 'Function not found: nothere', '... its message';
is $r->{error}{status}, 404, '... 404';

$r = js_sdk(endpoint => $open, function => 'zipper', payload => '{"a":');
is $r->{error}{code}, 'InvalidRequestContentException',
    'not JSON: InvalidRequestContentException' or diag explain $r;
is $r->{error}{message},
    'Could not parse request body into json: payload: not valid JSON',
    '... its message';

$r = js_sdk(endpoint => $open, function => 'zipper', type => 'Event',
    payload => $json->encode({ upload_url => "$S/u", sources => [1] }));
is $r->{error}{code}, 'InvalidRequestContentException',
    'Event, an invalid payload: InvalidRequestContentException';
is $r->{error}{message}, 'sources[0]: must be a string', '... naming it';

$r = js_sdk(endpoint => $open, function => 'zipper',
    payload => $json->encode({ upload_url => "$S/u", sources => [1] }));
is $r->{function_error}, 'Unhandled',
    'RequestResponse, an invalid payload: FunctionError';
is $json->decode($r->{payload})->{errorMessage},
    'sources[0]: must be a string', '... naming it';

for my $try (1, 2) {
    $r = js_sdk(endpoint => $open, function => 'zipper',
        payload => payload("/upload/fail$try"));
    is $r->{function_error}, 'Unhandled', "upload 500 ($try): FunctionError";
    is $r->{attempts}, 1, '... sent once';
    is scalar(uploads("/upload/fail$try")), 1, '... uploaded exactly once';
}

# a full queue: one running, one waiting, the third refused

sub send_event {
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

is send_event('/upload/q1')->{status}, 202, 'queue: the first job runs';
ok $t->wait_for(sub { $t->backend_requests($slow) >= 1 }, 5), '... started';
is send_event('/upload/q2')->{status}, 202, 'queue: the second waits';
$r = js_sdk(endpoint => $open, function => 'zipper-one', type => 'Event',
    attempts => 1, payload => payload('/upload/q3'));
is $r->{error}{code}, 'TooManyRequestsException',
    'queue full: TooManyRequestsException' or diag explain $r;
is $r->{error}{status}, 429, '... 429';
$t->allow_log(qr/thread pool "tiny" queue overflow/);
ok $t->wait_for(sub { uploads('/upload/q2') }, 20), 'queue: drained';

# ---- SigV4 as the JS SDK signs

my %signed = (endpoint => $auth, function => 'zipper', key => KEY_ID,
    secret => SECRET, attempts => 1);

$r = js_sdk(%signed, payload => payload('/upload/signed'));
is $r->{status}, 200, 'signed by the JS SDK: 200' or diag explain $r;

$r = js_sdk(%signed, function => 'arn:aws:lambda:eu-west-1:627002765486:'
    . 'function:zipper', payload => payload('/upload/signed-arn'));
is $r->{status}, 200, 'signed by the JS SDK, a full ARN: 200'
    or diag explain $r;

$r = js_sdk(%signed, key => 'AKIDUNKNOWN');
is $r->{error}{code}, 'UnrecognizedClientException',
    'an unknown key: UnrecognizedClientException' or diag explain $r;
is $r->{error}{status}, 403, '... 403';

$r = js_sdk(%signed, secret => 'wrong');
is $r->{error}{code}, 'InvalidSignatureException',
    'a wrong secret: InvalidSignatureException';
like $r->{error}{message}, qr/^The request signature we calculated does not match/,
    '... its message';

$r = js_sdk(%signed, function => 'zipper', payload => '{}',
    region => 'us-east-1', key => KEY_ID);
is $r->{status}, 200, 'any region without lambda_region' or diag explain $r;

my $raw = $t->request('POST', '/2015-03-31/functions/zipper/invocations',
    { port => $t->port(2), content => '{}' });
is $raw->{headers}{'x-amzn-errortype'}, 'MissingAuthenticationTokenException',
    'unsigned: MissingAuthenticationTokenException';

$t->done;
