#!/usr/bin/perl
# edge_metrics: the counters and histograms every module keeps in the one
# shared zone of ngx_http_edge_metrics_module, scraped in the text format
# 0.0.4.  Two workers share the zone: the counters move by exactly the
# requests made (avatar renders, 415s, album zips with the CRC cache,
# face_encode, a full thread-pool queue, a watchdog, uploads and a
# duplicate, a face job with failing downloads and callbacks), the
# histograms' _count and _sum follow, a reload keeps them, and promtool
# (Debian's prometheus package; skipped when absent) accepts a scrape
# taken at rest and scrapes taken under load.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use POSIX ();
use Test::More;

use Edge::Nginx qw(parse_response);
use JSON::PP ();
use Edge::Nginx::Backend qw(write_all);
use Edge::Image qw(sample_photo);
use Edge::Zip qw(check_zip crc32_hex manifest_line);
use Edge::Face qw(have_samples site_handler payload job_path);

plan skip_all => 'sample photos or models missing (make models)'
    unless have_samples();

my $PROMTOOL = $ENV{TEST_PROMTOOL} // '/usr/bin/promtool';
my $repo = Edge::Nginx->repo;

my $t = Edge::Nginx->new(
    modules => [qw(album_zip image_variant face lambda edge_metrics)],
    worker_processes => 2,
    thread_pools => { default => 'threads=2', face => 'threads=2',
                      tiny => 'threads=1 max_queue=1' });

# the site of the face job: 500 once for pk 77's callback, 400 for 88's
my $prefix = $t->prefix;
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

my $photo = sample_photo();
my $face_jpeg = do {
    open my $fh, '<:raw', "$repo/demo/fixtures/sample1.jpg" or die $!;
    local $/;
    <$fh>;
};

$t->write_file('html/img/photo.jpg', $photo);
$t->write_file('html/img/text.jpg', "not a photo at all\n");
$t->write_file('html/plain.txt', "plain\n");
$t->write_file('html/z/page.txt', "no manifest here\n");

srand 80;
my %file = map { ($_ => join '', map { chr int rand 256 } 1 .. 5000) }
    qw(a.jpg b.jpg);
$t->write_file("html/media/$_", $file{$_}) for keys %file;

$t->write_file("html/albums/trip/$_", $file{$_}) for keys %file;
$t->write_file('html/m/album.txt', join '', map {
    manifest_line(crc32_hex($file{$_}), length $file{$_}, "/media/$_", $_)
} sort keys %file);

$t->run(<<'EOF');
    edge_metrics_zone  64k;

    image_variant_preset avatar width=64 height=64 fit=cover format=jpeg;

    face_models  %%REPO%%/models;
    face_thread_pool  face;
    face_allow_private  on;
    client_max_body_size  30m;

    album_zip_crc_cache  crc:1m;

    log_format  pids  '$pid $status $uri';

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        access_log %%PREFIX%%/logs/pids.log pids;

        location = /metrics { edge_metrics; }

        location ~ ^/v/(?<file>.+)$ {
            alias %%PREFIX%%/html/img/$file;
            image_variant avatar;
        }

        location = /faces { face_encode; }

        location = /tiny {
            face_encode;
            face_thread_pool  tiny;
        }

        location = /watchdog {
            face_encode;
            face_thread_timeout  10ms;
        }

        location = /jobs {
            face_jobs;
            face_spool  %%PREFIX%%/spool;
        }

        location = /upload {
            image_ingest;
            image_ingest_store  %%PREFIX%%/store;
            image_ingest_variants  avatar;
        }

        location /media/ { }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
        }

        location /albums/ {
            album_zip_directory on;
        }

        location /z/ {
            album_zip on;
        }

        location = /plain.txt { }
    }
EOF


# ---- scraping

# { 'name{labels}' => value }, the raw text, the response
sub scrape {
    my $r = $t->get('/metrics', { timeout => 30 });
    my %m;
    for (split /\n/, $r->{content} // '') {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return (\%m, $r->{content} // '', $r);
}

sub req_key {
    my ($module, $code) = @_;
    return "photo_edge_requests_total{module=\"$module\",code=\"$code\"}";
}

# A response is counted when its request ends (the log phase), which
# may trail the client's reading of it by a moment (a lingering close):
# scrape until every expected value is there, for at most 10 s.
sub settle {
    my ($before, %want) = @_;
    my ($m, $text);
    for (1 .. 50) {
        ($m, $text) = scrape();
        last unless grep {
            ($m->{$_} // 0) - ($before->{$_} // 0) < $want{$_}
        } keys %want;
        select undef, undef, undef, 0.2;
    }
    return ($m, $text);
}

# Scrapes until a gauge reads the value (5 s at most). Under load (prove
# -j2, ASan) the face gauge read 1 for a moment after the requests were
# counted, once each; the cause is not understood yet. A gauge that
# stays off (a task counted in and never out) still fails the check.
sub gauge_settles {
    my ($key, $want) = @_;
    my ($m, $text);
    for (1 .. 25) {
        ($m, $text) = scrape();
        last if ($m->{$key} // -1) == $want;
        select undef, undef, undef, 0.2;
    }
    return ($m, $text);
}

# the difference of one series between two scrapes
sub moved {
    my ($before, $after, $key) = @_;
    return undef unless defined $after->{$key} && defined $before->{$key};
    return $after->{$key} - $before->{$key};
}

sub promtool_ok {
    my ($text, $name) = @_;
  SKIP: {
        skip 'promtool missing (Debian: apt-get install prometheus)', 1
            unless -x $PROMTOOL;
        my $in = $t->prefix . '/tmp/scrape.txt';
        open my $fh, '>', $in or die "$in: $!";
        print $fh $text;
        close $fh;
        my $out = `$PROMTOOL check metrics < $in 2>&1`;
        is $?, 0, "promtool check metrics: $name" or diag $out;
    }
}

# what promtool does not check: buckets cumulative, +Inf == _count
sub histograms_ok {
    my ($text) = @_;
    my %last;
    for (split /\n/, $text) {
        if (/^(\w+)_bucket\{le="([^"]+)"\} (\d+)$/) {
            return "$1 not cumulative at $2"
                if defined $last{$1} && $3 < $last{$1};
            $last{$1} = $3;
            $last{"$1+Inf"} = $3 if $2 eq '+Inf';
        } elsif (/^(\w+)_count (\d+)$/) {
            return "$1: _count $2, +Inf " . ($last{"$1+Inf"} // '-')
                unless defined $last{"$1+Inf"} && $last{"$1+Inf"} == $2;
        }
    }
    return '';
}


# ---- the endpoint

my ($m0, $text0, $r0) = scrape();
is $r0->{status}, 200, 'edge_metrics: 200';
is $r0->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8',
    'the text format 0.0.4';
is $m0->{req_key('image_variant', '2xx')}, 0, 'nothing counted yet';
is $m0->{'photo_edge_image_render_seconds_count'}, 0, 'no render yet';
like $text0, qr/^# TYPE photo_edge_image_render_seconds histogram$/m,
    'the render time is a histogram';
promtool_ok($text0, 'at rest, empty');
is histograms_ok($text0), '', 'histograms consistent, empty';

my $r = $t->head('/metrics');
is $r->{status}, 200, 'HEAD: 200';
$r = $t->request('POST', '/metrics', { content => 'x' });
is $r->{status}, 405, 'POST: 405';

# ---- image_variant: three avatars and a 415

for (1 .. 3) {
    $r = $t->get('/v/photo.jpg', { timeout => 60 });
    is $r->{status}, 200, "avatar $_: 200";
}
$r = $t->get('/v/text.jpg', { timeout => 60 });
is $r->{status}, 415, 'not an image: 415';

$r = $t->get('/plain.txt');
is $r->{status}, 200, 'a location of no module: 200';

my ($m1, $text1) = settle($m0, req_key('image_variant', '2xx') => 3,
    req_key('image_variant', '4xx') => 1);
is moved($m0, $m1, req_key('image_variant', '2xx')), 3,
    'image_variant 2xx: +3';
is moved($m0, $m1, req_key('image_variant', '4xx')), 1,
    'image_variant 4xx: +1 (the 415)';
is moved($m0, $m1, 'photo_edge_image_render_seconds_count'), 4,
    'render histogram: 4 renders timed (the 415 failed in one)';
ok $m1->{'photo_edge_image_render_seconds_sum'} > 0,
    'render histogram: a sum of seconds';
ok $m1->{'photo_edge_image_render_seconds_sum'} < 60, '... a plausible one';
is $m1->{'photo_edge_tasks_in_flight{module="image_variant"}'}, 0,
    'no render in flight';
is moved($m0, $m1, $_), 0, "$_ unmoved"
    for map({ req_key($_, '2xx') } qw(album_zip face lambda image_ingest)),
        'photo_edge_face_inference_seconds_count';

# ---- album zips: a manifest's, then a directory's twice: the CRC cache
# misses both files, then hits both

$r = $t->get('/m/album.txt', { timeout => 30 });
is $r->{status}, 200, 'manifest zip: 200';
check_zip($t, $r->{content}, \%file, label => 'manifest zip');
my $zip_bytes = length $r->{content};

for (1 .. 2) {
    $r = $t->get('/albums/trip.zip', { timeout => 30 });
    is $r->{status}, 200, "directory zip $_: 200";
    check_zip($t, $r->{content}, \%file, label => "directory zip $_");
    $zip_bytes += length $r->{content};
}

# album_zip on, but no manifest: the filter lets it pass
$r = $t->get('/z/page.txt');
is $r->{content}, "no manifest here\n", 'no manifest: the file as it is';

my ($m2, $text2) = settle($m1, req_key('album_zip', '2xx') => 4);
is moved($m1, $m2, req_key('album_zip', '2xx')), 4,
    'album_zip 2xx: +4 (three zips and a page of its location)';
is moved($m1, $m2, 'photo_edge_album_zip_sent_bytes_total'), $zip_bytes,
    "album zip bytes: the three zips' $zip_bytes, not the page";
is moved($m1, $m2, 'photo_edge_album_zip_crc_cache_misses_total'), 2,
    'CRC cache: two misses';
is moved($m1, $m2, 'photo_edge_album_zip_crc_cache_hits_total'), 2,
    'CRC cache: two hits';

# ---- face_encode: two photos, one body that is not an image

for (1 .. 2) {
    $r = $t->request('POST', '/faces', { content => $face_jpeg,
        timeout => 60,
        headers => { 'Content-Type' => 'application/octet-stream' } });
    is $r->{status}, 200, "face_encode $_: 200";
}
$r = $t->request('POST', '/faces', { content => "plain text\n" x 20,
    timeout => 60,
    headers => { 'Content-Type' => 'application/octet-stream' } });
is $r->{status}, 415, 'face_encode, not an image: 415';

my ($m3, $text3) = settle($m2, req_key('face', '2xx') => 2,
    req_key('face', '4xx') => 1);
is moved($m2, $m3, req_key('face', '2xx')), 2, 'face 2xx: +2';
is moved($m2, $m3, req_key('face', '4xx')), 1, 'face 4xx: +1';
is moved($m2, $m3, 'photo_edge_face_inference_seconds_count'), 3,
    'inference histogram: 3 encodings timed';
ok moved($m2, $m3, 'photo_edge_face_inference_seconds_sum') > 0,
    'inference histogram: the sum moved';
promtool_ok($text3, 'after the requests');

# ---- a full queue: one thread, one waiting task, the rest refused

my @socks = map {
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    write_all($s, "POST /tiny HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . 'Content-Length: ' . length($face_jpeg) . "\r\n\r\n$face_jpeg");
    $s;
} 1 .. 6;

my %status;
for my $s (@socks) {
    local $/;
    my $res = parse_response(scalar <$s>);
    $status{ $res->{status} }++;
}
ok $status{503}, 'a full queue: some 503' or diag explain \%status;

my ($m4, $text4) = settle($m3,
    req_key('face', '5xx') => $status{503} // 0,
    req_key('face', '2xx') => $status{200} // 0);
is moved($m3, $m4, 'photo_edge_task_rejections_total{module="face"}'),
    $status{503} // 0, 'face rejections: one per 503';
is moved($m3, $m4, req_key('face', '5xx')), $status{503} // 0,
    'face 5xx: the same';
is moved($m3, $m4, req_key('face', '2xx')), $status{200} // 0,
    'face 2xx: the others';
is moved($m3, $m4, 'photo_edge_face_inference_seconds_count'),
    $status{200} // 0, 'inference histogram: the accepted ones';
is $m4->{'photo_edge_tasks_in_flight{module="face"}'}, 0,
    'no face task in flight';
is $m4->{'photo_edge_task_watchdog_expiries_total{module="face"}'}, 0,
    'no watchdog expired';
is histograms_ok($text4), '', 'histograms consistent';
promtool_ok($text4, 'after a full queue');

# ---- the watchdog: 503 at once, the encoding ends later

$r = $t->request('POST', '/watchdog', { content => $face_jpeg,
    timeout => 60 });
is $r->{status}, 503, 'past face_thread_timeout: 503';
my ($m4w) = settle($m4, 'photo_edge_task_watchdog_expiries_total'
                        . '{module="face"}' => 1,
                   req_key('face', '5xx') => 1);
is moved($m4, $m4w,
         'photo_edge_task_watchdog_expiries_total{module="face"}'), 1,
    'face watchdog expiries: +1';
is moved($m4, $m4w, req_key('face', '5xx')), 1, 'face 5xx: +1';
$t->wait_for(sub { $t->error_log =~ /face_encode of "\/watchdog" ended/ },
             60);
($m4w) = gauge_settles('photo_edge_tasks_in_flight{module="face"}', 0);
is $m4w->{'photo_edge_tasks_in_flight{module="face"}'}, 0,
    'the expired task ended: no face task in flight';

# ---- uploads: one stored, the same again a duplicate

for my $want (201, 200) {
    $r = $t->request('PUT', '/upload', { content => $photo, timeout => 60,
        headers => { 'Content-Type' => 'image/jpeg' } });
    is $r->{status}, $want, "upload: $want";
}
my ($m4u) = settle($m4w, req_key('image_ingest', '2xx') => 2);
is moved($m4w, $m4u, req_key('image_ingest', '2xx')), 2,
    'image_ingest 2xx: +2';
is moved($m4w, $m4u, 'photo_edge_image_ingest_commits_total'), 1,
    'ingest commits: +1';
is moved($m4w, $m4u, 'photo_edge_image_ingest_duplicates_total'), 1,
    'ingest duplicates: +1';
is moved($m4w, $m4u, 'photo_edge_image_render_seconds_count'), 0,
    'ingest renders are not image_variant renders';

# ---- a face job: two delivered (one after a retried callback), a
# download answered 404 and a callback answered 400 failed

my $S = "http://127.0.0.1:$site";
$r = $t->request('POST', '/jobs', { timeout => 60,
    content => payload($S, [1, 'photo', "$S/photos/1.webp", 't'],
                           [2, 'photo', "$S/photos/none.webp", 't'],
                           [77, 'photo', "$S/photos/2.webp", 't'],
                           [88, 'photo', "$S/photos/3.webp", 't']),
    headers => { 'Content-Type' => 'application/json',
                 'X-Amz-Invocation-Type' => 'Event' } });
is $r->{status}, 202, 'face job: 202';

my ($m4j) = settle($m4u, 'photo_edge_face_jobs_delivered_total' => 2,
                   'photo_edge_face_jobs_failed_total' => 2);
is moved($m4u, $m4j, 'photo_edge_face_jobs_accepted_total'), 1,
    'face jobs accepted: +1';
is moved($m4u, $m4j, 'photo_edge_face_jobs_delivered_total'), 2,
    'face job sources delivered: +2';
is moved($m4u, $m4j, 'photo_edge_face_jobs_failed_total'), 2,
    'face job sources failed: +2';
is moved($m4u, $m4j, 'photo_edge_face_jobs_retried_total'), 1,
    'face job callbacks retried: +1';
is moved($m4u, $m4j, 'photo_edge_outbound_errors_total{reason="status"}'),
    3, 'outbound errors: the 404 download, the 500 and 400 callbacks';
is moved($m4u, $m4j, 'photo_edge_outbound_errors_total{reason="failed"}'),
    0, 'outbound errors: nothing unanswered';
is moved($m4u, $m4j, 'photo_edge_face_inference_seconds_count'), 3,
    'inference histogram: the three photos found';
is moved($m4u, $m4j, req_key('face', '2xx')), 1, 'face 2xx: the 202';
$m4 = $m4j;

# ---- scrapes under load: promtool accepts each, counters never go back

my @kids;
for my $k (1 .. 3) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        for my $i (1 .. 6) {
            if (($i + $k) % 2) {
                $t->get('/v/photo.jpg', { timeout => 60 });
            } else {
                $t->request('POST', '/faces', { content => $face_jpeg,
                    timeout => 60 });
            }
        }
        POSIX::_exit(0);
    }
    push @kids, $pid;
}

my ($prev, $bad_order, $bad_hist, $in_flight_seen) = ($m4, '', '', 0);
for my $n (1 .. 8) {
    my ($m, $text, $res) = scrape();
    is $res->{status}, 200, "scrape $n under load: 200";
    promtool_ok($text, "scrape $n under load");
    $bad_hist ||= histograms_ok($text);
    for my $k (grep { /_total|_count|_sum|_bucket/ } keys %$prev) {
        $bad_order ||= "$k went from $prev->{$k} to " . ($m->{$k} // '-')
            if ($m->{$k} // -1) < $prev->{$k};
    }
    $in_flight_seen ||= grep { /tasks_in_flight/ && $m->{$_} > 0 } keys %$m;
    $prev = $m;
    select undef, undef, undef, 0.2;
}
waitpid $_, 0 for @kids;
is $bad_hist, '', 'under load: every histogram consistent';
is $bad_order, '', 'under load: no counter went back';
diag 'a task was in flight during a scrape' if $in_flight_seen;

my ($m5) = settle($m4, req_key('image_variant', '2xx') => 9,
    req_key('face', '2xx') => 9);
is moved($m4, $m5, req_key('image_variant', '2xx'))
    + moved($m4, $m5, req_key('face', '2xx')), 18,
    'the 18 requests of the load: counted once each';
($m5) = gauge_settles('photo_edge_tasks_in_flight{module="face"}', 0);
is $m5->{'photo_edge_tasks_in_flight{module="face"}'}, 0,
    'after the load: no face task in flight';
is $m5->{'photo_edge_tasks_in_flight{module="image_variant"}'}, 0,
    'after the load: no render in flight';

# ---- a reload keeps the zone and its counters

$t->reload;
my ($m6, $text6) = scrape();
is $m6->{$_}, $m5->{$_}, "after a reload: $_ kept"
    for req_key('image_variant', '2xx'), req_key('face', '2xx'),
        'photo_edge_image_render_seconds_count',
        'photo_edge_album_zip_sent_bytes_total';
$r = $t->get('/v/photo.jpg', { timeout => 60 });
my ($m7) = settle($m6, req_key('image_variant', '2xx') => 1);
is moved($m6, $m7, req_key('image_variant', '2xx')), 1,
    'after a reload: the new workers count in the same zone';

my %pids = map { ((split / /)[0] => 1) } split /\n/,
    ($t->read_file('logs/pids.log') // '');
diag 'requests were answered by ' . keys(%pids) . ' worker(s)';

# ---- the zone's size: the slab allocator's pages and the layout

my $small = Edge::Nginx->new(modules => ['edge_metrics']);
my ($ok, $out) = $small->check_config("    edge_metrics_zone  16k;\n");
ok !$ok, 'edge_metrics_zone 16k: refused';
like $out, qr/edge_metrics_zone "16384" is too small, at least \d+/,
    '... saying the least size';
($ok, $out) = $small->check_config("    edge_metrics_zone  64k;\n");
ok $ok, 'edge_metrics_zone 64k: accepted' or diag $out;
$small->cleanup;

$t->allow_log(qr/queue is full|queue overflow|not an image|415/);
$t->allow_log(qr/\[alert\].*face_encode of "\/watchdog" still running/);
$t->done;
