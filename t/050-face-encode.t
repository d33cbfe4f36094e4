#!/usr/bin/perl
# face_encode: POST an image, get the engine's JSON (the same as the
# faceenc CLI prints for the file, without "file" and "ms"); 415 for a
# body that is not an image, 413 over face_max_input (Content-Length and
# chunked bodies) and over face_max_pixels, 405 for other methods, 503
# when the thread pool's queue is full or the encoding outlives
# face_thread_timeout.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use JSON::PP ();
use Test::More;

use Edge::Nginx qw(parse_response);
use Edge::Nginx::Backend qw(write_all);
use Edge::Image ();
use Edge::Face qw(have_samples webp expected_faces);

plan skip_all => 'sample photos or models missing (make models)'
    unless have_samples();

my $json = JSON::PP->new->canonical;
my $repo = Edge::Nginx->repo;

my $t = Edge::Nginx->new(modules => ['face'],
    thread_pools => { face => 'threads=2', tiny => 'threads=1 max_queue=1' });

$t->run(<<'EOF');
    face_models  %%REPO%%/models;
    face_thread_pool  face;
    client_max_body_size  30m;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /faces { face_encode; }

        location = /small {
            face_encode;
            face_max_input  100k;
        }

        location = /pixels {
            face_encode;
            face_max_pixels  1000000;
        }

        location = /flip {
            face_encode;
            face_flip  on;
        }

        location = /tiny {
            face_encode;
            face_thread_pool  tiny;
        }

        location = /watchdog {
            face_encode;
            face_thread_timeout  10ms;
        }
    }
EOF

sub encode {
    my ($body, %opt) = @_;
    my $r = $t->request('POST', $opt{path} // '/faces',
        { content => $body, timeout => 60,
          headers => { 'Content-Type' => 'application/octet-stream' } });
    $r->{json} = eval { $json->decode($r->{content}) };
    return $r;
}

# ---- the sample photos: JPEG as stored, and WebP as the site sends

my $jpeg = Edge::Image::slurp("$repo/demo/fixtures/sample1.jpg");
my $r = encode($jpeg);

is $r->{status}, 200, 'a JPEG photo: 200';
is $r->{headers}{'content-type'}, 'application/json', 'JSON';
is $r->{json}{width}, 1920, 'width';
is $r->{json}{height}, 1280, 'height';
is scalar @{ $r->{json}{faces} // [] }, expected_faces(1),
    'the faces of sample1';
is_deeply [sort keys %{ $r->{json}{faces}[0] // {} }],
    [qw(box encoding landmarks score)], 'box, score, landmarks, encoding';
is scalar @{ $r->{json}{faces}[0]{encoding} // [] }, 128, '128 floats';
is scalar @{ $r->{json}{faces}[0]{landmarks} // [] }, 68, '68 landmarks';
ok !exists $r->{json}{file} && !exists $r->{json}{ms}, 'no file, no ms';
(my $floats = $r->{content}) =~ s/"(?:width|height)":\s*\d+//g;
unlike $floats, qr/[\[ ,:]-?\d+[,\]}]/,
    'every other number has a decimal point or an exponent';

for my $n (2 .. 6) {
    $r = encode(webp($n));
    is $r->{status}, 200, "sample$n as WebP: 200";
    is scalar @{ $r->{json}{faces} // [] }, expected_faces($n),
        "sample$n: its faces";
}

# ---- the same as the CLI

SKIP: {
    my $cli = "$repo/build/faceenc";
    skip 'build/faceenc not built', 5 unless -x $cli;
    my $out = `$cli $repo/demo/fixtures/sample1.jpg 2>/dev/null`;
    is $?, 0, 'faceenc runs';
    my $ref = eval { $json->decode($out) } // {};
    delete @$ref{qw(file ms)};
    my $mine = encode($jpeg)->{json};
    is $json->encode($mine), $json->encode($ref),
        'face_encode gives what faceenc gives';

    # face_flip on: faceenc --flip on, and other numbers than flip off
    $out = `$cli --flip on $repo/demo/fixtures/sample1.jpg 2>/dev/null`;
    is $?, 0, 'faceenc --flip on runs';
    my $fref = eval { $json->decode($out) } // {};
    delete @$fref{qw(file ms)};
    my $flip = encode($jpeg, path => '/flip')->{json};
    is $json->encode($flip), $json->encode($fref),
        'face_flip on gives what faceenc --flip on gives';
    isnt $json->encode($flip->{faces}[0]{encoding} // []),
        $json->encode($mine->{faces}[0]{encoding} // []),
        'face_flip on changes the descriptors';
}

# ---- errors

$r = encode("this is not an image\n" x 10);
is $r->{status}, 415, 'text: 415';
like $r->{json}{error} // '', qr/\S/, 'with a JSON error';

$r = encode('');
is $r->{status}, 415, 'empty body: 415';

$r = encode(substr($jpeg, 0, 2000));
ok $r->{status} == 415 || $r->{status} == 200,
    'a truncated JPEG: 415 or what could be decoded, no crash';

$r = encode($jpeg, path => '/small');
is $r->{status}, 413, 'over face_max_input (Content-Length): 413';

# the same size, chunked: nginx reads it, the module counts
my $raw = $t->raw("POST /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    . "Transfer-Encoding: chunked\r\n\r\n"
    . join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) }
        unpack('(a65536)*', $jpeg)) . "0\r\n\r\n", timeout => 20);
is parse_response($raw)->{status}, 413,
    'over face_max_input (chunked): 413';

$r = encode($jpeg, path => '/pixels');
is $r->{status}, 413, 'over face_max_pixels: 413';

$r = $t->get('/faces');
is $r->{status}, 405, 'GET: 405';
is $r->{headers}{allow}, 'POST', 'Allow: POST';

# ---- a full queue: one thread, one waiting task, the rest 503

my @socks = map {
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    write_all($s, "POST /tiny HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . 'Content-Length: ' . length($jpeg) . "\r\n\r\n$jpeg");
    $s;
} 1 .. 5;

my %status;
for my $s (@socks) {
    local $/;
    my $res = parse_response(scalar <$s>);
    $status{ $res->{status} }++;
}

ok $status{503}, 'a full queue: 503' or diag explain \%status;
ok $status{200}, '... while the others are answered'
    or diag explain \%status;
is(($status{200} // 0) + ($status{503} // 0), 5, 'nothing else');

# ---- face_thread_timeout: 503 at once, the encoding goes on and is let go

$t->allow_log(qr/\[alert\].*face: face_encode of "\/watchdog" still running after 10ms/);

# the body is in a temporary file, which the thread reads after the 503
$r = encode($jpeg, path => '/watchdog');
is $r->{status}, 503, 'past face_thread_timeout: 503';
is $r->{json}{error}, 'the encoding is taking too long', '... says so';
like $t->error_log,
    qr/\[alert\].*face: face_encode of "\/watchdog" still running after 10ms/,
    '... with an [alert]';
ok $t->wait_for(sub {
    $t->error_log =~ /face: face_encode of "\/watchdog" ended after its watchdog/
}, 30), 'the late completion is let go';
$r = encode($jpeg);
is $r->{status}, 200, 'the next encoding as usual';
is $r->{json}{width}, 1920, '... all of it';

$t->allow_log(qr/queue is full|queue overflow/);
$t->done;
