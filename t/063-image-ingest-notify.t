#!/usr/bin/perl
# image_ingest_notify: the app (a fake on 127.0.0.1) receives the new
# image's JSON; a 500 is retried after the backoff; an app that is down
# is retried, then given up, logged, and the image stays stored; a 4xx is
# not retried; a duplicate notifies nothing.  Concurrent uploads of the
# same bytes store one file and answer one 201.  A full thread pool is a
# 503.  The event loop answers a static file at once while uploads render.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx qw(alloc_port);
use Edge::Image qw(have_vips png convert sample_photo);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => ['image_variant'],
    thread_pools => { ingest => 'threads=2', tiny => 'threads=1 max_queue=1' });
my $p = $t->prefix;

# the app: /hook says 200; /flaky 500 to its first call, then 200 (the
# backend forks per connection: the count lives in a file); /reject 400
$t->backend(sub {
    my ($req) = @_;
    return [400, {}, 'no'] if $req->{path} eq '/reject';
    if ($req->{path} eq '/flaky') {
        my $seen = -e "$p/flaky.seen";
        open my $fh, '>>', "$p/flaky.seen" or die;
        close $fh;
        return [500, {}, 'try again'] unless $seen;
    }
    return [200, { 'Content-Type' => 'application/json' }, '{}'];
});
my $dead = alloc_port();    # nothing listens there

$t->allow_log(qr/\[(?:warn|error)\].*image_ingest: notify/);
$t->allow_log(qr/\[error\].*thread pool "tiny" is full/);

$t->run(<<"EOF");
    image_variant_preset avatar width=64 height=64 fit=cover format=jpeg;
    image_variant_thread_pool ingest;

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 50m;

        image_ingest_store          %%PREFIX%%/store;
        image_ingest_variants       avatar;
        image_ingest_uri            /img/;
        image_ingest_notify_backoff 100ms 400ms;

        location = /ping { return 200 "pong\\n"; }

        location = /up {
            image_ingest;
            image_ingest_meta   user \$http_x_user;
            image_ingest_notify http://127.0.0.1:%%BACKEND%%/hook;
        }

        location = /flaky {
            image_ingest;
            image_ingest_notify http://127.0.0.1:%%BACKEND%%/flaky;
        }

        location = /down {
            image_ingest;
            image_ingest_notify http://127.0.0.1:$dead/hook;
            image_ingest_notify_retries 2;
        }

        location = /reject {
            image_ingest;
            image_ingest_notify http://127.0.0.1:%%BACKEND%%/reject;
        }

        location = /tiny {
            image_ingest;
            image_variant_thread_pool tiny;
        }
    }
EOF

sub upload {
    my ($path, $body, %h) = @_;
    my $r = $t->request('PUT', $path, { content => $body, headers => \%h });
    $r->{json} = eval { $json->decode($r->{content}) } // {};
    return $r;
}

sub hooks {
    my ($path) = @_;
    return grep { $_->{path} eq $path } $t->backend_requests;
}

sub img {
    my ($n) = @_;
    return png(width => 40 + $n, height => 30, fill => [$n, 100, 200]);
}

# ---- notified

my $r = upload('/up', img(1), 'X-User' => 'u-1');
is($r->{status}, 201, 'stored');
my $key = $r->{json}{key};
ok($t->wait_for(sub { hooks('/hook') >= 1 }, 5), 'the app was notified');
my ($hook) = hooks('/hook');
is($hook->{method}, 'POST', 'by POST');
is($hook->{headers}{'content-type'}, 'application/json', 'of JSON');
my $doc = eval { $json->decode($hook->{body}) } // {};
is_deeply([ @{$doc}{qw(key width height format)} ], [ $key, 41, 30, 'png' ],
          'key, size, format');
is_deeply($doc->{variants}, { avatar => "/img/avatar/$key.jpg" },
          'the variants');
is_deeply($doc->{meta}, { user => 'u-1' }, 'the metadata');

$r = upload('/up', img(1));
is($r->{status}, 200, 'a duplicate');
Time::HiRes::sleep(0.3);
is(scalar(hooks('/hook')), 1, 'a duplicate notifies nothing');

# ---- retried after a 500

$r = upload('/flaky', img(2));
is($r->{status}, 201, 'stored, whatever the app says');
ok($t->wait_for(sub { hooks('/flaky') >= 2 }, 5),
   'a 500 is retried') or diag scalar hooks('/flaky');
my @f = hooks('/flaky');
cmp_ok($f[1]{time} - $f[0]{time}, '>=', 0.09, 'after the backoff')
    if @f >= 2;
is($f[1]{body}, $f[0]{body}, 'the same notification');
like($t->error_log, qr/\[warn\].*notify .*\/flaky failed: HTTP 500, attempt 1/,
     'the failure logged');

# ---- the app is down: retried, given up, the image kept

$r = upload('/down', img(3));
is($r->{status}, 201, 'stored with the app down');
ok($t->wait_for(sub { $t->error_log =~ /gave up after 3 attempts/ }, 5),
   'retried twice, then given up (logged)');
ok(-s "$p/store/$r->{json}{key}.png", 'the image is still stored');

$r = upload('/reject', img(4));
ok($t->wait_for(sub { $t->error_log =~ /reject failed: HTTP 400, not retr/ },
                5), 'a 400 is not retried');
is(scalar(hooks('/reject')), 1, 'asked once');

# ---- the same bytes, concurrently: one file, one 201

my $photo = sample_photo();
my $pkey = md5_hex($photo);
my @kids;
for my $i (1 .. 6) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = upload('/up', $photo);
        POSIX::_exit($r->{status} == 201 ? 1 : $r->{status} == 200 ? 2 : 3);
    }
    push @kids, $pid;
}
my %got;
for (@kids) {
    waitpid $_, 0;
    $got{ { 1 => 201, 2 => 200 }->{ $? >> 8 } // 'other' }++;
}
is_deeply(\%got, { 201 => 1, 200 => 5 },
          'six concurrent uploads of the same bytes: one 201, five 200');
is(scalar(() = glob("$p/store/$pkey.*")), 2, 'one original, one metadata');
is($t->read_file("store/$pkey.jpg"), $photo, 'the original intact');
ok($t->wait_for(sub { (grep { index($_->{body}, $pkey) >= 0 }
                       hooks('/hook')) == 1 }, 5), 'notified once');

# ---- the event loop keeps answering while uploads render

my $big = convert($photo, '.png', 'resize', 2);     # 3840x2560
my @busy;
for my $i (1 .. 2) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = upload('/up', $i == 1 ? $big : $big . "\0");
        POSIX::_exit($r->{status} == 201 ? 0 : 1);
    }
    push @busy, $pid;
}
Time::HiRes::sleep(0.2);
my $worst = 0;
for (1 .. 10) {
    my $t0 = time;
    my $ok = $t->get('/ping')->{content} eq "pong\n";
    my $dt = $ok ? time - $t0 : 99;
    $worst = $dt if $dt > $worst;
    Time::HiRes::sleep(0.02);
}
my $fail = 0;
for (@busy) { waitpid $_, 0; $fail++ if $? }
is($fail, 0, 'two 3840x2560 uploads stored');
cmp_ok($worst, '<', 0.25, 'meanwhile a static answer within 250 ms')
    and diag sprintf 'slowest of 10: %.1f ms', $worst * 1000;

# ---- a full queue: 503

@kids = ();
for my $i (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = upload('/tiny', $big . ("\0" x (10 + $i)));
        POSIX::_exit($r->{status} == 201 ? 0 : $r->{status} == 503 ? 1 : 2);
    }
    push @kids, $pid;
}
%got = ();
for (@kids) {
    waitpid $_, 0;
    $got{ { 0 => 201, 1 => 503 }->{ $? >> 8 } // 'other' }++;
}
ok($got{201} && $got{503} && !$got{other},
   'a full thread pool: some stored, the rest 503') or diag explain \%got;

$t->done;
