#!/usr/bin/perl
# ngx_http_lambda_module, as Debian's boto3 sees it: lambda_function
# routes a function's name, name:qualifier, partial and full ARN and
# ?Qualifier= to its named location; anything else is 404
# ResourceNotFoundException; every answer has a unique X-Amzn-RequestId.
# With lambda_credentials, SigV4: a request signed with a listed key
# passes, and each refusal is Lambda's error (code and message as boto3
# raises them): no Authorization, an unknown key, a wrong secret, a body
# changed after signing, a date 16 minutes old or ahead (the client's
# clock is moved, nginx's is not), another region or service, a session
# token.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;

use Edge::Nginx;
use Edge::Lambda qw(boto3 have_boto3 KEY_ID SECRET);

plan skip_all => 'no boto3 (apt install python3-boto3)' unless have_boto3();

my $FD = 'concrexit-production-facedetection-lambda';
my $ARN = "arn:aws:lambda:eu-west-1:627002765486:function:$FD";

my $t = Edge::Nginx->new(modules => ['lambda']);

$t->write_file('lambda.keys', "# the site\n" . KEY_ID . ' ' . SECRET
    . "\n\nAKIDOTHER0000000000 another-secret\n");

$t->run(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT%%;

        location /2015-03-31/functions/ {
            lambda_function  $FD  \@faces;
            lambda_function  zipper  \@zips;
        }

        location \@faces {
            default_type application/json;
            return 200 '{"function": "faces", "uri": "\$uri"}';
        }

        location \@zips {
            default_type application/json;
            return 200 '{"function": "zips"}';
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;

        lambda_credentials  %%PREFIX%%/lambda.keys;
        lambda_region       eu-west-1;

        location /2015-03-31/functions/ {
            lambda_function  zipper  \@zips;
        }

        location \@zips {
            default_type application/json;
            return 200 '{"function": "zips"}';
        }
    }
EOF

my $open = $t->url('', $t->port);
my $auth = $t->url('', $t->port(2));
$open =~ s{/\z}{};
$auth =~ s{/\z}{};

sub fn_of {
    my ($r) = @_;
    my $p = eval { JSON::PP->new->decode($r->{payload} // '') } // {};
    return $p->{function} // 'none';
}

# ---- routing

for my $name ($FD, "$FD:\$LATEST", "627002765486:function:$FD",
              "627002765486:function:$FD:live", $ARN, "$ARN:7")
{
    my $r = boto3(endpoint => $open, function => $name);
    is $r->{status}, 200, "FunctionName $name: 200" or diag explain $r;
    is fn_of($r), 'faces', "... routed to \@faces";
}

my $r = boto3(endpoint => $open, function => 'zipper', qualifier => '$LATEST');
is fn_of($r), 'zips', 'zipper with Qualifier=$LATEST: routed to @zips';
like $r->{request_id}, qr/\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\z/,
    '... with an X-Amzn-RequestId in UUID form';

my $r2 = boto3(endpoint => $open, function => 'zipper');
isnt $r2->{request_id}, $r->{request_id}, 'the next one has another';

$r = boto3(endpoint => $open, function => "$ARN:live", qualifier => 'other');
is $r->{error}{code}, 'InvalidParameterValueException',
    'a Qualifier other than the ARN\'s: InvalidParameterValueException'
    or diag explain $r;
is $r->{error}{status}, 400, '... 400';

for my $name ('unknown', 'arn:aws:lambda:eu-west-1:627002765486:function:x',
              "arn:aws:s3:eu-west-1:627002765486:function:$FD")
{
    $r = boto3(endpoint => $open, function => $name, attempts => 1);
    is $r->{error}{code}, 'ResourceNotFoundException',
        "$name: ResourceNotFoundException" or diag explain $r;
    is $r->{error}{status}, 404, '... 404';
    is $r->{error}{message}, "Function not found: $name", '... its message';
    ok $r->{error}{request_id}, '... with a request id';
}

# a path that is no invocation, and GET

$r = $t->request('POST', '/2015-03-31/functions/zipper/configuration',
    { content => '{}' });
is $r->{status}, 404, 'not /invocations: 404';
is $r->{headers}{'x-amzn-errortype'}, 'ResourceNotFoundException',
    '... ResourceNotFoundException';
ok $r->{headers}{'x-amzn-requestid'}, '... with X-Amzn-RequestId';

$r = $t->get('/2015-03-31/functions/zipper/invocations');
is $r->{status}, 405, 'GET an invocation: 405';

# ---- SigV4

my %signed = (endpoint => $auth, function => 'zipper', key => KEY_ID,
              secret => SECRET, attempts => 1, payload => '{"a": 1}');

$r = boto3(%signed);
is $r->{status}, 200, 'signed with a listed key: 200' or diag explain $r;
is fn_of($r), 'zips', '... routed';

$r = boto3(%signed, function => $ARN =~ s/$FD/zipper/r);
is $r->{status}, 200, 'signed, the full ARN (encoded twice in the '
    . 'canonical request): 200' or diag explain $r;

$r = boto3(%signed, key => 'AKIDOTHER0000000000', secret => 'another-secret');
is $r->{status}, 200, 'the file\'s second key: 200' or diag explain $r;

sub refused {
    my ($what, $r, $code, $msg) = @_;
    is $r->{error}{status}, 403, "$what: 403" or diag explain $r;
    is $r->{error}{code}, $code, "... $code";
    like $r->{error}{message}, $msg, '... and its message';
    is $r->{attempts}, 1, '... sent once';
}

refused('an unknown key', boto3(%signed, key => 'AKIDUNKNOWN'),
    'UnrecognizedClientException',
    qr/^The security token included in the request is invalid/);

refused('a wrong secret', boto3(%signed, secret => 'wrong'),
    'InvalidSignatureException',
    qr/^The request signature we calculated does not match/);

refused('a body changed after signing', boto3(%signed, tamper_body => 1),
    'InvalidSignatureException',
    qr/^The request signature we calculated does not match/);

refused('signed 16 minutes ago', boto3(%signed, clock_offset => -960),
    'InvalidSignatureException',
    qr/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);

refused('signed 16 minutes ahead', boto3(%signed, clock_offset => 960),
    'InvalidSignatureException', qr/^Signature not yet current: /);

$r = boto3(%signed, clock_offset => -600);
is $r->{status}, 200, 'signed 10 minutes ago: 200' or diag explain $r;

refused('signed for us-east-1', boto3(%signed, region => 'us-east-1'),
    'InvalidSignatureException',
    qr/^Credential should be scoped to a valid region/);

# without a signature, with a session token, or signed for another service

$r = $t->request('POST', '/2015-03-31/functions/zipper/invocations',
    { port => $t->port(2), content => '{}' });
is $r->{status}, 403, 'no Authorization: 403';
is $r->{headers}{'x-amzn-errortype'}, 'MissingAuthenticationTokenException',
    '... MissingAuthenticationTokenException';
is(JSON::PP->new->decode($r->{content})->{message},
    'Missing Authentication Token', '... Lambda\'s message');

$r = $t->request('POST', '/2015-03-31/functions/nothere/invocations',
    { port => $t->port(2), content => '{}' });
is $r->{status}, 403, 'no Authorization for an unknown function: 403 first';

$r = $t->request('POST', '/2015-03-31/functions/zipper/invocations',
    { port => $t->port(2), content => '{}',
      headers => { Authorization => 'AWS4-HMAC-SHA256 Credential=' . KEY_ID
          . '/20150830/eu-west-1/lambda/aws4_request, SignedHeaders=host;'
          . 'x-amz-date, Signature=' . ('0' x 64),
          'X-Amz-Date' => '20150830T123600Z',
          'X-Amz-Security-Token' => 'FQoGZXIvYXdzEBY' } });
is $r->{headers}{'x-amzn-errortype'}, 'UnrecognizedClientException',
    'a session token: UnrecognizedClientException';
like $r->{content}, qr/temporary credentials .* not supported/,
    '... saying temporary credentials are not supported';

$r = $t->request('POST', '/2015-03-31/functions/zipper/invocations',
    { port => $t->port(2), content => '{}',
      headers => { Authorization => 'AWS4-HMAC-SHA256 Credential=' . KEY_ID
          . '/20150830/eu-west-1/s3/aws4_request, SignedHeaders=host;'
          . 'x-amz-date, Signature=' . ('0' x 64),
          'X-Amz-Date' => '20150830T123600Z' } });
is $r->{headers}{'x-amzn-errortype'}, 'InvalidSignatureException',
    'signed for s3: InvalidSignatureException';

$r = $t->request('POST', '/2015-03-31/functions/zipper/invocations',
    { port => $t->port(2), content => '{}',
      headers => { Authorization => 'AWS4-HMAC-SHA256 Credential=' . KEY_ID
          . '/20150830/eu-west-1/lambda/aws4_request' } });
is $r->{status}, 403, 'a malformed Authorization: 403';
is $r->{headers}{'x-amzn-errortype'}, 'IncompleteSignatureException',
    '... IncompleteSignatureException';

my $log = $t->read_file('logs/error.log');
like $log, qr/lambda: refused: unknown access key "AKIDUNKNOWN"/,
    'an unknown key is logged';
unlike $log, qr/\Q${\ SECRET}\E/, 'the secret is never logged';

# configuration errors

my ($ok, $out) = $t->check_config(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { lambda_function  "a:b"  @x; }
    }
EOF
ok !$ok, 'lambda_function with a qualifier: nginx -t fails';
like $out, qr/is not a function name/, '... saying why';

$t->write_file('bad.keys', "AKID1 secret extra\n");
($ok, $out) = $t->check_config(<<'EOF');
    lambda_credentials %%PREFIX%%/bad.keys;
EOF
ok !$ok, 'a credentials line with three fields: nginx -t fails';
like $out, qr/bad\.keys", line 1: not "<access key id> <secret access key>"/,
    '... naming the line';

$t->done;
