#!/usr/bin/perl
# face_jobs: the old facedetection function's contract.  A fake site on
# 127.0.0.1 serves the sample photos as WebP and records the callbacks:
# every source is called back with 128 floats per face (each number a
# JSON float), face counts as expected, a one-face reference gives one
# encoding; bad payloads are 400 naming the field; an unreachable photo
# fails only its source (the job goes to failed/ with the reason); a
# callback answered 500 then 200 is delivered once, after a retry; a 4xx
# is not retried; RequestResponse and DryRun.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;

use Edge::Nginx qw(alloc_port);
use Edge::Face qw(have_samples expected_faces site_handler callbacks
    wait_callbacks raw_floats_ok payload job_path);

plan skip_all => 'sample photos or models missing (make models)'
    unless have_samples();

my $json = JSON::PP->new->canonical;
my $JOB = job_path();

my $t = Edge::Nginx->new(modules => ['face'], worker_processes => 2,
    thread_pools => { face => 'threads=2' });
my $prefix = $t->prefix;

# pk 77's first callback is answered 500 (the state is a file: the
# backend forks per connection); pk 88's callbacks always 400
my $site = $t->backend(site_handler(callback => sub {
    my ($req) = @_;
    if ($req->{path} =~ m{/77/\z} && !-e "$prefix/77.seen") {
        open my $fh, '>', "$prefix/77.seen" or die;
        close $fh;
        return [500, {}, 'try later'];
    }
    return [400, {}, '{"detail": "not processing"}']
        if $req->{path} =~ m{/88/\z};
    return [201, { 'Content-Type' => 'application/json' }, '{}'];
}));

my $dead = alloc_port();
my $S = "http://127.0.0.1:$site";

$t->run(<<'EOF');
    face_models  %%REPO%%/models;
    face_thread_pool  face;
    face_allow_private  on;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /2015-03-31/functions/facedetection/invocations {
            face_jobs;
            face_spool  %%PREFIX%%/spool;
            face_parallel  2;
        }
    }
EOF

# Event unless told otherwise, as the site invokes it
sub job {
    my ($body, %h) = @_;
    my $r = $t->request('POST', $JOB, { content => $body, timeout => 120,
        headers => { 'Content-Type' => 'application/json',
                     'X-Amz-Invocation-Type' => 'Event', %h } });
    $r->{json} = eval { $json->decode($r->{content}) };
    return $r;
}

sub spool_files {
    my ($sub) = @_;
    opendir my $dh, "$prefix/spool" . ($sub ? "/$sub" : '') or return ();
    return sort grep { /\.(?:job|reason)\z/ } readdir $dh;
}

# ---- a batch: six photos and a reference, as the site sends them

my @sources = ((map { [100 + $_, 'photo', "$S/photos/$_.webp", "tok-$_"] }
    1 .. 6), [200, 'reference', "$S/photos/ref.webp", 'tok-ref']);

my $r = job(payload($S, @sources));
is $r->{status}, 202, 'a batch: 202';
is $r->{content}, '', 'an empty body, as Lambda';
is $r->{headers}{'x-amz-executed-version'}, '$LATEST',
    'X-Amz-Executed-Version: $LATEST';
ok $r->{headers}{'x-amzn-requestid'}, 'X-Amzn-RequestId';

my @cb = wait_callbacks($t, $site, 7, 120);
is scalar @cb, 7, 'a callback for every source';

my %by = map { ("$_->{type}/$_->{pk}" => $_) } @cb;
for my $n (1 .. 6) {
    my $c = $by{"photo/" . (100 + $n)} // {};
    is $c->{token}, "tok-$n", "photo $n: its token";
    is scalar @{ $c->{encodings} // [] }, expected_faces($n),
        "photo $n: one encoding per face";
    is_deeply [map { scalar @$_ } @{ $c->{encodings} // [] }],
        [(128) x expected_faces($n)], "photo $n: 128 floats each";
    ok raw_floats_ok($c->{raw} // ''), "photo $n: every number a float";
    like $c->{headers}{'content-type'} // '', qr{^application/json},
        "photo $n: JSON";
}
is scalar @{ $by{'reference/200'}{encodings} // [] }, 1,
    'the reference photo: one encoding';

$t->wait_for(sub { !spool_files() }, 10);
is_deeply [spool_files()], [], 'the job file is gone once all delivered';
is_deeply [spool_files('failed')], [], 'nothing failed';

my $log = $t->error_log;
is scalar(() = $log =~ /: photo 101: delivered 3 encodings/g), 1,
    'each outcome logged once, with type and pk';

# ---- without X-Amz-Invocation-Type: RequestResponse, as Lambda (it was
# Event: the client got 202 and no result); and an empty batch

$r = $t->request('POST', $JOB, { timeout => 120,
    content => payload($S, [300, 'photo', "$S/photos/2.webp", 't']) });
is $r->{status}, 200, 'no invocation type: RequestResponse, 200';
is_deeply eval { $json->decode($r->{content}) }, { results => [ { pk => 300,
    type => 'photo', status => 'delivered', encodings => expected_faces(2) }
    ] }, '... with the result';
ok wait_callbacks($t, $site, 8, 60) >= 8, 'called back';

$r = job('{"api_url": "http://x", "sources": []}');
is $r->{status}, 202, 'no sources: 202';
is $r->{content}, '', '... empty';

# ---- bad payloads: 400 naming the field, nothing runs

my @bad = (
    ['{', 'payload: not valid JSON'],
    ['[]', 'payload: must be a JSON object'],
    ['{"sources": []}', 'api_url: is required'],
    [payload('ftp://x', [1, 'photo', "$S/p", 't']),
        'api_url: must be an http or https URL'],
    [payload($S, [1, 'photo', "$S/p", 't'], [2, 'photo', "$S/p", 't'],
        ['x', 'photo', "$S/p", 't']), 'sources[2].pk: must be an integer'],
    [payload($S, [1, 'face', "$S/p", 't']),
        'sources[0].type: must be "photo" or "reference"'],
    [payload($S, [1, 'photo', 'file:///etc/passwd', 't']),
        'sources[0].photo_url: must be an http or https URL'],
    ['{"api_url": "http://x", "sources": [{"pk": 1, "type": "photo", '
        . '"photo_url": "http://x/", "token": 5}]}',
        'sources[0].token: must be a string'],
);

for my $b (@bad) {
    $r = job($b->[0]);
    is $r->{status}, 400, "400: $b->[1]";
    is $r->{headers}{'x-amzn-errortype'}, 'InvalidRequestContentException',
        '... InvalidRequestContentException';
    is $r->{json}{message}, ($b->[1] eq 'payload: not valid JSON'
        ? 'Could not parse request body into json: ' : '') . $b->[1],
        '... naming the field';
}

# under RequestResponse an invalid payload is an error of the function
$r = job($bad[4][0], 'X-Amz-Invocation-Type' => 'RequestResponse');
is $r->{status}, 200, 'RequestResponse, invalid payload: 200';
is $r->{headers}{'x-amz-function-error'}, 'Unhandled',
    '... X-Amz-Function-Error: Unhandled';
is_deeply $r->{json}, { errorMessage => 'sources[2].pk: must be an integer',
    errorType => 'ValueError' }, '... Lambda\'s error payload';

$r = job(payload($S), 'X-Amz-Invocation-Type' => 'Sometimes');
is $r->{status}, 400, 'an unknown invocation type: 400';

$r = job(payload($S, [1, 'photo', "$S/photos/1.webp", 't']),
    'X-Amz-Invocation-Type' => 'DryRun');
is $r->{status}, 204, 'DryRun: 204, nothing runs';

is $t->get($JOB)->{status}, 405, 'GET: 405';

# ---- one failing source does not stop the others; 500 then 200; 400

my $before = () = callbacks($t, $site);
$r = job(payload($S,
    [401, 'photo', "$S/photos/3.webp", 'a'],
    [402, 'photo', "$S/photos/missing.webp", 'b'],
    [403, 'photo', "http://127.0.0.1:$dead/x.webp", 'c'],
    [77, 'photo', "$S/photos/4.webp", 'd'],
    [88, 'reference', "$S/photos/ref.webp", 'e']));
is $r->{status}, 202, 'a batch with bad sources: 202';

$t->wait_for(sub { (() = spool_files('failed')) >= 2 }, 60);
my @after = callbacks($t, $site);
splice @after, 0, $before;

my %n;
$n{"$_->{type}/$_->{pk}"}++ for @after;
is $n{'photo/401'}, 1, 'the good source is called back once';
ok !$n{'photo/402'}, 'a 404 photo: no callback';
ok !$n{'photo/403'}, 'an unreachable photo: no callback';
is $n{'photo/77'}, 2, 'callback 500, then retried';
is $n{'reference/88'}, 1, 'callback 400: not retried';
is scalar(@{ (grep { $_->{pk} == 77 } @after)[-1]{encodings} // [] }),
    expected_faces(4), 'the retried callback carries the encodings';

$log = $t->error_log;
is scalar(() = $log =~ /: photo 77: delivered/g), 1,
    'pk 77: delivered, logged once';
like $log, qr/: photo 77: callback: HTTP 500, attempt 1 of 4, again in/,
    'the retry is logged';
like $log, qr/: photo 402: failed: download: HTTP 404/, '404 logged';
like $log, qr/: photo 403: failed: download: /, 'unreachable logged';
like $log, qr/: reference 88: failed: callback: HTTP 400/, '400 logged';

my @failed = spool_files('failed');
is scalar @failed, 2, 'the job is in failed/ with a .reason';
my ($reason) = grep { /\.reason\z/ } @failed;
my $text = $t->read_file("spool/failed/$reason") // '';
like $text, qr/^sources\[1\]: photo 402: download: HTTP 404$/m,
    'the reason names the 404 source';
like $text, qr/^sources\[2\]: photo 403: download: /m,
    '... and the unreachable one';
like $text, qr/^sources\[4\]: reference 88: callback: HTTP 400$/m,
    '... and the refused callback';
unlike $text, qr/ 401: | 77: /, 'not the delivered ones';
is_deeply [spool_files()], [], 'the spool itself is empty';

# ---- RequestResponse: the results, when done

$r = job(payload($S, [501, 'photo', "$S/photos/1.webp", 'x'],
    [502, 'photo', "$S/photos/none.webp", 'y']),
    'X-Amz-Invocation-Type' => 'RequestResponse');
is $r->{status}, 200, 'RequestResponse: 200 when done';
is_deeply $r->{json}, { results => [
    { pk => 501, type => 'photo', status => 'delivered',
      encodings => expected_faces(1) },
    { pk => 502, type => 'photo', status => 'failed',
      error => 'download: HTTP 404' } ] }, 'one result per source';

$t->done;
