#!/usr/bin/perl
# image_ingest_store s3://<bucket>/<prefix>: uploads stored in a real
# S3 bucket (Ceph RADOS Gateway, t/lib/Edge/Ceph.pm) shared by two nginx
# instances on 127.0.0.1.  An upload to node A is served by node B; a
# duplicate is 200 on either node; the same bytes stored on A and B at
# once: one 201, one 200 (the original's "If-None-Match: *" PUT got a
# 412), one original, one notification; a worker killed mid-upload
# leaves variants without an original, which
# scripts/image-ingest-s3-sweep removes (and nothing else); an archive
# stored into the bucket; a wrong secret and an unreachable store: 502
# with one [error] naming the S3 error code, never the secret; a flagged
# upload (image_ingest_moderation flag) only under <prefix>quarantine/,
# its original last, left alone by the sweep and not served; a JWT
# refused before the body is read.
#
# Node A reaches the bucket through t/lib/s3_hold_proxy.py, which can
# hold the original's PUT (the commit) to make the races deterministic.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use IO::Select;
use IO::Socket::IP;
use IO::Compress::Zip qw($ZipError);
use JSON::PP ();
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes ();

use Edge::Ceph qw(s3_server);
use Edge::Nginx qw(alloc_port pid_alive);
use Edge::Image qw(have_vips png info image_type sample_photo);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $PY = '/usr/bin/python3';
my $json = JSON::PP->new->canonical;

my $s3 = s3_server();
my $bucket = $s3->bucket;
my $upstream_port = ($s3->endpoint =~ /:(\d+)\z/)[0];

my @modules = qw(s3 image_variant edge_metrics);
my $a = Edge::Nginx->new(modules => \@modules);
my $b = Edge::Nginx->new(modules => \@modules);

# ---- the hold proxy in front of the bucket, for node A

my $hold_dir = $a->prefix . '/hold';
mkdir $hold_dir or die "mkdir $hold_dir: $!";
my $proxy_port = alloc_port();
my $proxy_pid = fork // die "fork: $!";
if (!$proxy_pid) {
    open STDIN, '<', '/dev/null';
    exec $PY, "$FindBin::Bin/lib/s3_hold_proxy.py", $proxy_port,
        $upstream_port, $hold_dir or POSIX::_exit(127);
}
END { if ($proxy_pid) { kill 'KILL', $proxy_pid; waitpid $proxy_pid, 0 } }
$a->wait_for(sub { -e "$hold_dir/ready" }, 10) or BAIL_OUT('no hold proxy');

# ---- both nodes: the same bucket; B also a wrong secret and a dead port

my $cred = sprintf "[default]\naws_access_key_id = %s\n"
    . "aws_secret_access_key = %s\n", $s3->key_id, $s3->secret;
my $wrong_secret = 'WRONGsecretWRONGsecretWRONGsecret0123456';
(my $bad_cred = $cred) =~ s/(aws_secret_access_key = ).*/$1$wrong_secret/;

my $dead_port = alloc_port();    # allocated, never listened on

# moderation's weights (make models), and image_ingest_jwt's HS256 secret
my $MODELS = $ENV{TEST_FACE_MODELS} // "$FindBin::Bin/../models";
-e "$MODELS/nsfwjs_mobilenet_v2-weights_manifest.json"
    or BAIL_OUT("no moderation weights in $MODELS (make models)");
my $jwt_secret = 'bucket-store-jwt-secret-0123456789abcdef';

for my $n ($a, $b) {
    $n->write_file('s3.cred', $cred);
    $n->write_file('bad.cred', $bad_cred);
    $n->var(BUCKET => $bucket);
    $n->var(ENDPOINT => $n == $a ? "http://127.0.0.1:$proxy_port"
                                 : $s3->endpoint);
    $n->var(DEAD => $dead_port);
    $n->var(LONG => join '/', ('abcdefghij' x 6) x 7);    # 426 bytes
    $n->var(MODELS => $MODELS);
    $n->write_file('hs.secret', "$jwt_secret\n");
    $n->backend(sub { [204, [], ''] });    # the app's hook
}

my $conf = <<'EOF';
    edge_metrics_zone  64k;

    image_variant_preset avatar width=64 height=64 fit=cover format=auto;
    image_variant_preset thumb width=96 height=96 fit=inside format=webp;

    s3_bucket photos {
        endpoint     %%ENDPOINT%%;
        region       us-east-1;
        bucket       %%BUCKET%%;
        style        path;
        credentials  %%PREFIX%%/s3.cred;
    }

    s3_bucket wrong {
        endpoint     %%ENDPOINT%%;
        region       us-east-1;
        bucket       %%BUCKET%%;
        style        path;
        credentials  %%PREFIX%%/bad.cred;
    }

    s3_bucket dead {
        endpoint     http://127.0.0.1:%%DEAD%%;
        region       us-east-1;
        bucket       %%BUCKET%%;
        style        path;
        credentials  %%PREFIX%%/s3.cred;
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 30m;

        location = /upload {
            image_ingest;
            image_ingest_store     s3://photos/img/;
            image_ingest_variants  avatar thumb;
            image_ingest_uri       /img/;
            image_ingest_archive   on;
            image_ingest_notify    http://127.0.0.1:%%BACKEND%%/hook;
            image_ingest_s3_timeout 20s;
        }

        location = /upload-wrong {
            image_ingest;
            image_ingest_store     s3://wrong/img/;
            image_ingest_variants  avatar;
        }

        location = /upload-dead {
            image_ingest;
            image_ingest_store     s3://dead/img/;
            image_ingest_s3_timeout 2s;
        }

        location = /upload-long {
            image_ingest;
            image_ingest_store     s3://dead/%%LONG%%/;
            image_ingest_s3_timeout 2s;
        }

        # every upload flagged: the five scores sum to 1
        location = /upload-mod {
            image_ingest;
            image_ingest_store     s3://photos/img/;
            image_ingest_variants  avatar thumb;
            image_ingest_uri       /img/;
            image_ingest_notify    http://127.0.0.1:%%BACKEND%%/modhook;
            image_moderation_models  %%MODELS%%;
            image_ingest_moderation  flag;
            image_ingest_moderation_threshold drawing=0.2 hentai=0.2
                neutral=0.2 porn=0.2 sexy=0.2;
            image_ingest_s3_timeout 20s;
        }

        location = /upload-jwt {
            image_ingest;
            image_ingest_store     s3://photos/img/;
            image_ingest_jwt       hs256:%%PREFIX%%/hs.secret;
        }

        location = /metrics { edge_metrics; }

        # variants, served from the bucket (not quarantine/: docs say so)
        location ~ "^/img/((?!quarantine/)\w+/[0-9a-f]{32}\.(?:jpg|png|webp))$" {
            s3_proxy photos img/$1;
        }
    }
EOF

$a->run($conf);
$b->run($conf);

# ---- helpers

sub py {
    my ($code, @args) = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec $PY, '-c', $code, @args or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    return $out;
}

# every key under img/ with its Content-Type
sub objects {
    my $out = py(<<'PY', $s3->endpoint, $s3->key_id, $s3->secret, $bucket);
import boto3, botocore.config, json, sys
e, k, s, b = sys.argv[1:5]
c = boto3.client('s3', endpoint_url=e, aws_access_key_id=k,
                 aws_secret_access_key=s, region_name='us-east-1',
                 config=botocore.config.Config(s3={'addressing_style': 'path'}))
out = {}
for page in c.get_paginator('list_objects_v2').paginate(Bucket=b,
                                                         Prefix='img/'):
    for o in page.get('Contents', []):
        out[o['Key']] = o['Size']
print(json.dumps(out))
PY
    my $r = eval { $json->decode($out) };
    BAIL_OUT("listing the bucket failed: $out") unless $r;
    return $r;
}

sub object {
    my ($key) = @_;
    my $r = $s3->client('get', $bucket, $key);
    return $r->{ok} ? pack('H*', $r->{body_hex}) : undef;
}

sub keys_of {
    my ($md5) = @_;
    return [ sort grep { /\Q$md5\E/ } keys %{ objects() } ];
}

sub upload {
    my ($node, $body, $path) = @_;
    my $r = $node->request('PUT', $path // '/upload',
                           { content => $body, timeout => 30 });
    $r->{json} = eval { $json->decode($r->{content}) } // {};
    return $r;
}

# an upload in a child process: its status and body land in a file
sub upload_bg {
    my ($node, $body, $file, $path) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = $node->request('PUT', $path // '/upload',
                               { content => $body, timeout => 30 });
        open my $fh, '>', $file or POSIX::_exit(1);
        print {$fh} "$r->{status}\n$r->{content}";
        close $fh;
        POSIX::_exit(0);
    }
    return $pid;
}

sub finish_bg {
    my ($pid, $file) = @_;
    my $done = $a->wait_for(sub { waitpid($pid, WNOHANG) == $pid }, 30);
    if (!$done) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    open my $fh, '<', $file or return { status => 0, content => '' };
    local $/;
    my ($status, $content) = split /\n/, scalar <$fh>, 2;
    return { status => $status, content => $content // '',
             json => eval { $json->decode($content // '') } // {} };
}

sub metrics {
    my ($node) = @_;
    my %m;
    for (split /\n/, $node->get('/metrics')->{content}) {
        my ($k, $v) = /^([a-z]\S*) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return \%m;
}

my $OUT_STATUS = 'photo_edge_outbound_errors_total{reason="status"}';

sub hooks {
    my ($node, $path) = @_;
    return grep { $_->{path} eq ($path // '/hook') } $node->backend_requests;
}

sub photo {
    my ($r, $g, $bl) = @_;
    return png(width => 120, height => 80, fill => [$r, $g, $bl],
               rects => [[10, 10, 30, 20, [255 - $r, 255 - $g, 255 - $bl]]]);
}

sub hold    { open my $fh, '>', "$hold_dir/hold" or die $!; close $fh;
              unlink "$hold_dir/held" }
sub release { unlink "$hold_dir/hold" }
sub held    { $a->wait_for(sub { -e "$hold_dir/held" }, 20) }

# ---- an upload to A, stored in the bucket, served by B

my $photo = sample_photo();
my $key = md5_hex($photo);

my $r = upload($a, $photo);
is($r->{status}, 201, 'A: 201') or diag $r->{content};
is($r->{json}{key}, $key, 'the key is the MD5');
is_deeply($r->{json}{variants}, { avatar => "/img/avatar/$key.jpg",
                                  thumb => "/img/thumb/$key.webp" },
          'the variant URIs');

is_deeply(keys_of($key), [ "img/$key.jpg", "img/$key.json",
                           "img/avatar/$key.jpg", "img/thumb/$key.webp" ],
          'the bucket: original, metadata, variants under the prefix');
is(object("img/$key.jpg"), $photo, 'the original, byte for byte');

my $meta = eval { $json->decode(object("img/$key.json")) } // {};
is_deeply([ @{$meta}{qw(key width height format bytes)} ],
          [ $key, 1920, 1280, 'jpeg', length $photo ], 'the metadata');

my $v = $b->get("/img/avatar/$key.jpg");
is($v->{status}, 200, 'B serves the variant A stored');
is($v->{content}, object("img/avatar/$key.jpg"), '... the same bytes');
is(image_type($v->{content}) . ' ' . info($v->{content})->{width},
   'jpeg 64', '... a 64 px JPEG');
is($b->get("/img/thumb/$key.webp")->{status}, 200, 'and the WebP one');

ok($a->wait_for(sub { hooks($a) >= 1 }, 5), 'A notified the app');

# ---- duplicates: on either node, 200 and nothing written

$r = upload($b, $photo);
is($r->{status}, 200, 'the same bytes on B: 200 (a duplicate)');
is($r->{json}{key}, $key, '... the same key');
$r = upload($a, $photo);
is($r->{status}, 200, 'again on A: 200');
is(scalar(@{ keys_of($key) }), 4, 'still one of each object');

# ---- the same bytes on A and B at once: one 201, one 200, one original

my $p2 = photo(200, 30, 40);
my $k2 = md5_hex($p2);
my $hooks_a = () = hooks($a);
my $hooks_b = () = hooks($b);

hold();
my $bg = upload_bg($a, $p2, $a->prefix . '/race.out');
ok(held(), "A's commit (the original's PUT) is held at the proxy");
is_deeply(keys_of($k2), [ "img/$k2.json", "img/avatar/$k2.jpg",
                          "img/thumb/$k2.webp" ],
          '... its variants and metadata are in, the original is not');

$r = upload($b, $p2);
is($r->{status}, 201, 'B stores the same bytes meanwhile: 201');

release();
my $ra = finish_bg($bg, $a->prefix . '/race.out');
is($ra->{status}, 200, "A's commit then gets a 412: 200, a duplicate")
    or diag $ra->{content};
is($ra->{json}{key}, $k2, '... with the key');
is_deeply(keys_of($k2), [ "img/$k2.json", "img/$k2.png",
                          "img/avatar/$k2.jpg", "img/thumb/$k2.webp" ],
          'one original, its variants, its metadata');
is(object("img/$k2.png"), $p2, 'the original is complete');
like($a->error_log, qr/image_ingest: duplicate \Q$k2\E\.png/,
     'A logged a duplicate');

ok($b->wait_for(sub { hooks($b) > $hooks_b }, 5), 'B notified the app');
Time::HiRes::sleep(0.3);
is(scalar(() = hooks($a)), $hooks_a, 'A did not: one notification');

# ---- a worker killed mid-upload: no original, the sweep removes the rest

my $p3 = photo(10, 220, 90);
my $k3 = md5_hex($p3);
my ($worker) = $a->worker_pids;

hold();
$bg = upload_bg($a, $p3, $a->prefix . '/kill.out');
ok(held(), "A's commit is held");
kill 'KILL', $worker;
my $rk = finish_bg($bg, $a->prefix . '/kill.out');
isnt($rk->{status}, 201, 'the client of the killed worker got no 201');
release();
ok($a->wait_for(sub { my @w = $a->worker_pids; @w && $w[0] != $worker }, 10),
   'the master started another worker');
$a->allow_log(qr/worker process $worker exited on signal 9/);

Time::HiRes::sleep(0.5);    # a dropped request would have arrived
is_deeply(keys_of($k3), [ "img/$k3.json", "img/avatar/$k3.jpg",
                          "img/thumb/$k3.webp" ],
          'the interrupted upload left variants and metadata, no original');

my $sweep = $a->repo . '/scripts/image-ingest-s3-sweep';
my @sweep = ($PY, $sweep, '--endpoint', $s3->endpoint, '--bucket', $bucket,
             '--prefix', 'img/', '--credentials', $a->prefix . '/s3.cred');

my $out = `@sweep 2>&1`;
is($?, 0, 'sweep with the default --min-age: runs') or diag $out;
like($out, qr/^0 interrupted uploads, 0 objects removed/m,
     '... and leaves a young upload alone (it may be in progress)');
is(scalar(@{ keys_of($k3) }), 3, '... its objects are all there');

$out = `@sweep --min-age 0 --dry-run 2>&1`;
like($out, qr{would remove img/avatar/\Q$k3\E\.jpg}, 'a dry run names them');
is(scalar(@{ keys_of($k3) }), 3, '... and removes nothing');

my $before = objects();
$out = `@sweep --min-age 0 2>&1`;
is($?, 0, 'sweep --min-age 0') or diag $out;
like($out, qr/^1 interrupted upload, 3 objects removed/m, '... its summary');
is_deeply(keys_of($k3), [], 'the orphans are gone');
delete @{$before}{ grep { /\Q$k3\E/ } keys %$before };
is_deeply(objects(), $before, 'nothing else was touched');

$r = upload($b, $p3);
is($r->{status}, 201, 'the same bytes uploaded again: 201');
is(scalar(@{ keys_of($k3) }), 4, '... complete this time');

# ---- an archive upload into the bucket

my $p4 = photo(90, 90, 250);
my $k4 = md5_hex($p4);
my $zip;
{
    my $z = IO::Compress::Zip->new(\$zip, Name => 'trip/new.png', Minimal => 1)
        or die $ZipError;
    $z->print($p4);
    $z->newStream(Name => 'trip/known.png', Minimal => 1);
    $z->print($p2);
    $z->close;
}
my $m0 = metrics($b);
$r = upload($b, $zip);
my $m1 = metrics($b);
is($r->{status}, 201, 'a zip on B: 201') or diag $r->{content};
is_deeply([ @{ $r->{json} }{qw(stored duplicates)} ], [1, 1],
          '... one stored, one duplicate');
is_deeply(keys_of($k4), [ "img/$k4.json", "img/$k4.png",
                          "img/avatar/$k4.jpg", "img/thumb/$k4.webp" ],
          '... its new image is in the bucket');
$meta = eval { $json->decode(object("img/$k4.json")) } // {};
is($meta->{meta}{entry_name}, 'trip/new.png', '... with its entry name');
is($a->get("/img/avatar/$k4.jpg")->{status}, 200, '... and A serves it');
is(($m1->{$OUT_STATUS} // 0) - ($m0->{$OUT_STATUS} // 0), 0,
   "metrics: the new image's HEAD 404 is no outbound error");

# ---- credentials rotated by rewriting the file, no reload: an archive's
# next entry is signed with the new ones

my ($p6, $p7) = (photo(33, 66, 99), photo(99, 66, 33));
my ($k6, $k7) = (md5_hex($p6), md5_hex($p7));
{
    my $z = IO::Compress::Zip->new(\$zip, Name => 'one.png', Minimal => 1)
        or die $ZipError;
    $z->print($p6);
    $z->newStream(Name => 'two.png', Minimal => 1);
    $z->print($p7);
    $z->close;
}
hold();
$bg = upload_bg($a, $zip, $a->prefix . '/rotate.out');
ok(held(), "the first entry's commit is held");
Time::HiRes::sleep(1.1);    # the file is looked at once a second at most
$a->write_file('s3.cred', $bad_cred);
release();
$r = finish_bg($bg, $a->prefix . '/rotate.out');
is($r->{status}, 502, 'the secret rotated mid-archive: 502');
is_deeply([ map { $_->{status} } @{ $r->{json}{entries} // [] } ],
          [ 'stored', 'refused' ],
          '... the first entry stored, the next signed with the new secret')
    or diag $r->{content};
is(scalar(@{ keys_of($k6) }), 4, '... the first one complete');
is(scalar(@{ keys_of($k7) }), 0, '... nothing of the second');
like($a->error_log,
     qr/entry "two\.png": store: GET \S+\Q$k7\E\S+ HTTP 403 SignatureDoes/,
     '... logged with its code');

Time::HiRes::sleep(1.1);
$a->write_file('s3.cred', $cred);
$r = upload($a, $p7);
is($r->{status}, 201, 'the file rewritten again: uploads work, no reload');

# ---- a wrong secret, an unreachable store: 502, the code logged once

my $p5 = photo(1, 2, 3);
my $k5 = md5_hex($p5);
$b->allow_log(qr/image_ingest: store: .*SignatureDoesNotMatch/);
$m0 = metrics($b);
$r = upload($b, $p5, '/upload-wrong');
$m1 = metrics($b);
is($r->{status}, 502, 'a wrong secret: 502');
is(($m1->{$OUT_STATUS} // 0) - ($m0->{$OUT_STATUS} // 0), 2,
   "metrics: its HEAD's and GET's 403s are outbound errors");
is($r->{json}{error}, 'bad gateway: the image store failed',
   '... a JSON error without details');
my @lines = grep { /SignatureDoesNotMatch/ } split /\n/, $b->error_log;
is(scalar @lines, 1, 'one log line names SignatureDoesNotMatch');
like($lines[0] // '', qr{\[error\].*s3://wrong/img/\Q$k5\E\.png},
     '... at error, with the bucket and key');
unlike($b->error_log, qr/\Q$wrong_secret\E|\Q${\ $s3->secret }\E/,
       'no secret in the log');
is_deeply(keys_of($k5), [], 'nothing stored');

$b->allow_log(qr/image_ingest: store: .*s3:\/\/dead\//);
$r = upload($b, $p5, '/upload-dead');
is($r->{status}, 502, 'the store unreachable: 502');
like($b->error_log, qr{\[error\].*store: HEAD s3://dead/img/\Q$k5\E\.png: },
     '... logged with the bucket and key');

# the store overloaded (503 SlowDown from the proxy): 502, the code logged

{
    open my $fh, '>', "$hold_dir/fail" or die $!;
    close $fh;
}
my $p8 = photo(5, 6, 7);
my $k8 = md5_hex($p8);
$r = upload($a, $p8);
unlink "$hold_dir/fail";
is($r->{status}, 502, 'a 503 from the store: 502');
like($a->error_log,
     qr{\[error\].*store: GET s3://photos/img/\Q$k8\E\.png: HTTP 503 SlowDown},
     '... logged once with the key and the code (the HEAD asked again)');
is(scalar(() = $a->error_log =~ /\Q$k8\E/g), 1, '... one line');
$r = upload($a, $p8);
is($r->{status}, 201, 'the store back: 201');

# a message longer than its buffer: cut, and still ended (it ran on into
# the upload's key before)
$r = upload($b, $p5, '/upload-long');
is($r->{status}, 502, 'a prefix of 426 bytes, the store unreachable: 502');
my ($long) = grep { m{store: HEAD s3://dead/abcdefghij} } split /\n/,
    $b->error_log;
my ($msg) = ($long // '') =~ /image_ingest: (store: .*?), client: /;
ok(defined $msg && length($msg) == 255, '... its message cut at 255 bytes')
    or diag $long;
unlike($msg // '', qr/\Q$k5\E|[^\x20-\x7e]/, '... and nothing after it');

# ---- moderation into the bucket: a flagged upload under quarantine/ only

my $pm = photo(77, 140, 210);
my $km = md5_hex($pm);
my @quarantined = sort "img/quarantine/$km.json", "img/quarantine/$km.png",
                       "img/quarantine/avatar/$km.jpg",
                       "img/quarantine/thumb/$km.webp";

hold();
$bg = upload_bg($a, $pm, $a->prefix . '/mod.out', '/upload-mod');
ok(held(), "a flagged upload's commit is held: a conditional PUT");
is_deeply(keys_of($km), [ grep { !/\Q$km\E\.png$/ } @quarantined ],
          '... its variants and metadata are in quarantine/, the original '
          . 'not yet');
release();
$r = finish_bg($bg, $a->prefix . '/mod.out');
is($r->{status}, 202, 'flag: a flagged upload into the bucket: 202')
    or diag $r->{content};
is($r->{json}{moderation}{flagged}, JSON::PP::true, '... flagged: true');
is_deeply($r->{json}{variants}, {}, '... no public URI');
is_deeply(keys_of($km), \@quarantined,
          'the original, metadata and variants under img/quarantine/, '
          . 'nothing under the public prefix');
is(object("img/quarantine/$km.png"), $pm, '... the original, byte for byte');
$meta = eval { $json->decode(object("img/quarantine/$km.json")) } // {};
is($meta->{moderation}{flagged}, JSON::PP::true,
   '... its metadata says flagged');
like($a->error_log, qr/image_ingest: stored in quarantine \Q$km\E\.png/,
     '... logged as stored in quarantine');
ok($a->wait_for(sub { hooks($a, '/modhook') == 1 }, 5),
   '... the app notified once');

is($b->get("/img/quarantine/$km.png")->{status}, 404,
   "s3_proxy's location leaves quarantine/ out: 404");

$r = upload($b, $pm, '/upload-mod');
is($r->{status}, 202, 'the same flagged bytes on B: 202 again');
is_deeply(keys_of($km), \@quarantined, '... nothing more stored');
Time::HiRes::sleep(0.3);
is(scalar(() = hooks($b, '/modhook')), 0, '... and no notification');

# the sweep: quarantine/ is a store of its own (a quarantined original
# looked like a variant of a preset "quarantine" whose public original is
# missing: it was removed as an orphan)
$out = `@sweep --min-age 0 2>&1`;
is($?, 0, 'sweep --min-age 0 with a quarantined image') or diag $out;
like($out, qr/^0 interrupted uploads, 0 objects removed/m,
     '... removes nothing');
is_deeply(keys_of($km), \@quarantined, '... the quarantined image whole');

# an interrupted flagged upload: its quarantine/ orphans are swept
my $pq = photo(140, 77, 210);
my $kq = md5_hex($pq);
($worker) = $a->worker_pids;
hold();
$bg = upload_bg($a, $pq, $a->prefix . '/modkill.out', '/upload-mod');
ok(held(), "a flagged upload's commit is held");
kill 'KILL', $worker;
finish_bg($bg, $a->prefix . '/modkill.out');
release();
ok($a->wait_for(sub { my @w = $a->worker_pids; @w && $w[0] != $worker }, 10),
   'the master started another worker');
$a->allow_log(qr/worker process $worker exited on signal 9/);
Time::HiRes::sleep(0.5);
is(scalar(@{ keys_of($kq) }), 3, 'it left 3 objects in quarantine/');
$out = `@sweep --min-age 0 2>&1`;
like($out, qr/^1 interrupted upload, 3 objects removed/m,
     'the sweep removes them');
is_deeply(keys_of($kq), [], '... all of them');
is_deeply(keys_of($km), \@quarantined, '... and not the committed one');

# ---- image_ingest_jwt in front of a bucket store: 401 before the body

my $pj = photo(60, 61, 62);
my $kj = md5_hex($pj);
$r = upload($a, $pj, '/upload-jwt');
is($r->{status}, 401, 'JWT: no token, a bucket store: 401');
is_deeply(keys_of($kj), [], '... nothing stored');

{
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
                                PeerPort => $a->port, Timeout => 5)
        or die "connect: $@";
    print {$s} "PUT /upload-jwt HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Length: 10000000\r\nExpect: 100-continue\r\n\r\n";
    my ($got, $sel) = ('', IO::Select->new($s));
    my $deadline = Time::HiRes::time() + 3;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        last unless $sel->can_read($left);
        last unless sysread($s, $got, 65536, length $got);
        last if $got =~ /\r\n\r\n/ && $got !~ m{^HTTP/1\.1 100 };
    }
    close $s;
    like($got, qr{^HTTP/1\.1 401 }, '... at once, without 100 Continue, '
         . 'no body sent');
}

my $token = py(<<'PY', $jwt_secret, time + 600);
import jwt, sys
print(jwt.encode({'sub': 'bucket-user', 'exp': int(sys.argv[2])},
                 sys.argv[1], algorithm='HS256'))
PY
chomp $token;
$r = $a->request('PUT', '/upload-jwt', { content => $pj, timeout => 30,
                 headers => { Authorization => "Bearer $token" } });
is($r->{status}, 201, 'a good token: 201') or diag $r->{content};
is_deeply(keys_of($kj), [ "img/$kj.json", "img/$kj.png" ],
          '... stored in the bucket');

# ---- configuration errors, named by nginx -t

my $c = Edge::Nginx->new(modules => \@modules);
$c->write_file('s3.cred', $cred);

sub check_store {
    my ($lines) = @_;
    return $c->check_config(<<"EOF");
    s3_bucket photos {
        endpoint     ${\ $s3->endpoint };
        region       us-east-1;
        bucket       $bucket;
        style        path;
        credentials  ${\ $c->prefix }/s3.cred;
    }
    server {
        listen 127.0.0.1:${\ $c->port };
        location = /upload { image_ingest; $lines }
    }
EOF
}

for my $case (
    [ 's3://nosuch/img/', qr/no s3_bucket "nosuch"/, 'an unknown bucket' ],
    [ 's3://photos/../img/',
      qr{image_ingest_store "s3://photos/\.\./img/": the prefix is not},
      'a ".." segment' ],
    [ 's3://photos/img//a/', qr/the prefix is not/, 'an empty segment' ],
    [ '"s3://photos/a b/"', qr/the prefix is not/, 'a space' ],
    [ 's3:///img/', qr/no s3_bucket name/, 'no bucket name' ],
) {
    my ($store, $re, $what) = @$case;
    my ($ok, $out) = check_store("image_ingest_store $store;");
    ok(!$ok, "nginx -t refuses $what");
    like($out, $re, '... and says why');
}

my $ok;
($ok, $out) = check_store('image_ingest_store s3://photos; '
                             . 'image_ingest_s3_timeout 0;');
ok(!$ok, 'nginx -t refuses image_ingest_s3_timeout 0');
like($out, qr/image_ingest_s3_timeout must be positive/, '... and says why');
($ok, $out) = check_store('image_ingest_store s3://photos;');
ok($ok, 'the bucket\'s root as the store: accepted') or diag $out;
$c->cleanup;

# the proxy holds files of A's prefix open: stopped first
kill 'KILL', $proxy_pid;
waitpid $proxy_pid, 0;
$proxy_pid = 0;

$b->finish;
$a->finish;
done_testing();
