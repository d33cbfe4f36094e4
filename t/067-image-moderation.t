#!/usr/bin/perl
# Moderation (issue #19 item 2): nsfwjs 4.4.0's MobileNetV2 in C.
#   - parity: build/moderate's five scores within 0.01 of nsfwjs itself
#     (tfjs 4.22.0, wasm backend, on the same decoded pixels:
#     t/fixtures/moderate/nsfwjs.json, made by scripts/moderate-reference/run)
#     for the six demo photos and the test images of t/fixtures/moderate
#     (a flat-coloured drawing, a photo-like landscape, a small crop that
#     the resize enlarges);
#   - image_ingest_moderation flag: a flagged upload is stored with its
#     variants under <store>/quarantine/ only (any file of its key under
#     the public prefix fails), answered 202 with the scores and no public
#     URI, its notification carries "moderation": {"flagged": true,
#     "scores"}; an upload under the thresholds is stored as usual (201),
#     the scores in its metadata and notification too;
#   - image_ingest_moderation reject: 422 with the scores, nothing stored;
#   - image_moderate: the five scores of a raw or base64 JSON body; 415 for
#     bytes that are no image, 405 for GET;
#   - nginx -t: moderation without image_moderation_models, a directory
#     without the weights, a bad threshold, an archive location.
# There are no explicit images here: thresholds on the "neutral" class
# force the flagged path (the drawing scores neutral 0.84, the landscape
# 0.94: neutral=0.9 flags the landscape and passes the drawing).
#
# TEST_MODERATE: the tool (default <repo>/build/moderate).
# TEST_FACE_MODELS: the weights (default <repo>/models).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use File::Temp ();
use JSON::PP ();
use List::Util qw(max);
use MIME::Base64 qw(encode_base64);
use Test::More;

use Edge::Nginx;
use Edge::Image qw(have_vips slurp);

my $repo     = Edge::Nginx->repo;
my $MODERATE = $ENV{TEST_MODERATE} // "$repo/build/moderate";
my $MODELS   = $ENV{TEST_FACE_MODELS} // "$repo/models";
my $FIX      = "$FindBin::Bin/fixtures/moderate";
my $PHOTOS   = "$repo/demo/fixtures";
my $PARITY   = 0.01;
my @CLASSES  = qw(drawing hentai neutral porn sexy);

plan skip_all => "no moderation weights in $MODELS (make models)"
    unless -f "$MODELS/nsfwjs_mobilenet_v2-weights_manifest.json";

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $json = JSON::PP->new->canonical;

# ---- parity with nsfwjs

my @ref = map { $json->decode($_) } grep { /\S/ }
    split /\n/, slurp("$FIX/nsfwjs.json");
my $versions = shift @ref;
is($versions->{versions}{nsfwjs}, '4.4.0', 'reference: nsfwjs 4.4.0');
is($versions->{versions}{backend}, 'wasm', 'reference: the wasm backend');
is(scalar(@ref), 9, 'reference: six demo photos and three test images');

my $worst = 0;

for my $ref (@ref) {
    my $file = $ref->{file} =~ /^sample/ ? "$PHOTOS/$ref->{file}"
                                         : "$FIX/$ref->{file}";
    my $out = `'$MODERATE' --models '$MODELS' '$file' 2>&1`;
    is($?, 0, "moderate $ref->{file}: exit 0") or diag $out;
    my $got = eval { $json->decode($out) } // {};
    is("$got->{width}x$got->{height}", "$ref->{width}x$ref->{height}",
       "$ref->{file}: the same pixels' size");
    my @d = map { abs(($got->{scores}{$_} // 9) - $ref->{scores}{$_}) }
        @CLASSES;
    my $d = max(@d);
    $worst = $d if $d > $worst;
    ok($d < $PARITY, sprintf("$ref->{file}: scores within %.2f of nsfwjs "
                             . "(worst %.6f)", $PARITY, $d))
        or diag $out;
}

note(sprintf('largest score difference to nsfwjs: %.6f', $worst));

# nsfwjs live, when scripts/moderate-reference/run has installed it: the
# fixtures still hold for the pixels this build decodes
SKIP: {
    my $nm = "$repo/build/moderate-reference/node_modules";
    skip 'nsfwjs not installed (scripts/moderate-reference/run)', 2
        unless -d "$nm/nsfwjs" && `node --version 2>/dev/null` =~ /^v/;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my @ppm;
    for my $f ('drawing.png', 'landscape.jpg') {
        system($MODERATE, '--models', $MODELS, '--ppm', "$dir/$f.ppm",
               "$FIX/$f") == 0 or die "moderate --ppm $f failed";
        push @ppm, "$dir/$f.ppm";
    }
    my $js = "$repo/scripts/moderate-reference/reference.js";
    my @live = map { $json->decode($_) } grep { /^\{"file"/ }
        split /\n/, `node '$js' --modules '$nm' @ppm 2>/dev/null`;
    my %want = map { $_->{file} => $_->{scores} } @ref;
    my $d = 9;
    if (@live == 2) {
        $d = max(map { my $l = $_; (my $f = $l->{file}) =~ s{.*/|\.ppm$}{}g;
                       map { abs($l->{scores}{$_} - $want{$f}{$_}) } @CLASSES }
                 @live);
    }
    is(scalar(@live), 2, 'nsfwjs live: scored both test images');
    ok($d < 1e-4, "nsfwjs live agrees with the fixtures (worst $d)");
}

my $out = `'$MODERATE' --models '$MODELS' '$FIX/nsfwjs.json' 2>&1`;
isnt($?, 0, 'moderate: a file that is no image fails');
like($out, qr/nsfwjs\.json: not a supported image/, '... naming it');

# the scores of the nginx side, from the reference
my %nsfwjs = map { $_->{file} => $_->{scores} } @ref;

# ---- nginx

my $t = Edge::Nginx->new(modules => ['image_variant']);
my $p = $t->prefix;
my $hook = $t->backend([200, { 'Content-Type' => 'application/json' },
                        '{}']);

$t->write_file('www/index.html', '');   # the store's parent
$t->run(<<"EOF");
    image_variant_preset thumb width=64 height=64 fit=cover format=jpeg;
    image_variant_preset web width=120 height=120 fit=inside format=webp;

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 20m;

        image_moderation_models $MODELS;
        image_ingest_variants   thumb web;
        image_ingest_uri        /img/;

        location = /flag {
            image_ingest;
            image_ingest_store  %%PREFIX%%/www/img;
            image_ingest_moderation flag;
            image_ingest_moderation_threshold neutral=0.9;
            image_ingest_notify http://127.0.0.1:%%BACKEND%%/hook;
        }

        location = /reject {
            image_ingest;
            image_ingest_store  %%PREFIX%%/rstore;
            image_ingest_moderation reject;
            image_ingest_moderation_threshold neutral=0.9;
            image_ingest_notify http://127.0.0.1:%%BACKEND%%/rhook;
        }

        location = /default {
            image_ingest;
            image_ingest_store  %%PREFIX%%/dstore;
            image_ingest_moderation flag;
        }

        location = /moderate {
            image_moderate;
        }

        # the public prefix, as conf/image-ingest.conf serves it
        location ~ "^/img/(?!quarantine/)\\w+/[0-9a-f]{32}\\.(?:jpg|png|webp)\$" {
            root %%PREFIX%%/www;
        }
    }
EOF

sub upload {
    my ($path, $body) = @_;
    my $r = $t->request('PUT', $path, { content => $body });
    $r->{json} = eval { $json->decode($r->{content}) } // {};
    return $r;
}

# every file of a directory tree, relative, .tmp left out
sub files {
    my ($dir) = @_;
    my @f;
    my $walk;
    $walk = sub {
        my ($d, $rel) = @_;
        opendir my $dh, $d or return;
        for (sort grep { !/^\.\.?\z/ && $_ ne '.tmp' } readdir $dh) {
            my $q = "$d/$_";
            if (-d $q) { $walk->($q, "$rel$_/") } else { push @f, "$rel$_" }
        }
    };
    $walk->($dir, '');
    return @f;
}

sub hooks {
    my ($path) = @_;
    return grep { $_->{path} eq $path } $t->backend_requests;
}

sub close_to {
    my ($got, $want, $name) = @_;
    my $d = max(map { abs(($got->{$_} // 9) - $want->{$_}) } @CLASSES);
    ok($d < $PARITY, "$name (worst difference $d)")
        or diag explain $got;
}

my $landscape = slurp("$FIX/landscape.jpg");
my $drawing = slurp("$FIX/drawing.png");
my $lkey = md5_hex($landscape);
my $dkey = md5_hex($drawing);

# -- flag: the landscape is flagged (neutral 0.94 >= 0.9)

my $r = upload('/flag', $landscape);
is($r->{status}, 202, 'flag: a flagged upload is 202') or diag $r->{content};
is($r->{json}{key}, $lkey, 'flag: its key');
is($r->{json}{moderation}{flagged}, JSON::PP::true, 'flag: flagged: true');
close_to($r->{json}{moderation}{scores}, $nsfwjs{'landscape.jpg'},
         'flag: the answer holds the scores');
is_deeply($r->{json}{variants}, {}, 'flag: no public URI in the answer');

my @public = grep { !m{^quarantine/} } files("$p/www/img");
is_deeply([ grep { /$lkey/ } @public ], [],
          'flag: nothing of the flagged image under the public prefix');
is_deeply([ grep { /$lkey/ } files("$p/www/img/quarantine") ],
          [ "$lkey.jpg", "$lkey.json", "thumb/$lkey.jpg",
            "web/$lkey.webp" ],
          'flag: the original, metadata and variants in quarantine/');
is($t->get("/img/thumb/$lkey.jpg")->{status}, 404,
   'flag: the public URI of its variant is 404');
is($t->get("/img/quarantine/$lkey.jpg")->{status}, 404,
   'flag: its original in quarantine/ is not served either');

my $meta = eval {
    $json->decode(slurp("$p/www/img/quarantine/$lkey.json"))
} // {};
is($meta->{moderation}{flagged}, JSON::PP::true,
   'flag: the metadata says flagged');
close_to($meta->{moderation}{scores}, $nsfwjs{'landscape.jpg'},
         'flag: the metadata holds the scores');

ok($t->wait_for(sub { hooks('/hook') >= 1 }, 5), 'flag: the app is notified');
my ($n) = hooks('/hook');
my $doc = eval { $json->decode($n->{body} // '') } // {};
is($doc->{key}, $lkey, 'flag: the notification names the key');
is($doc->{moderation}{flagged}, JSON::PP::true,
   'flag: the notification says "moderation": {"flagged": true}');
close_to($doc->{moderation}{scores}, $nsfwjs{'landscape.jpg'},
         'flag: the notification holds the scores');

$r = upload('/flag', $landscape);
is($r->{status}, 202, 'flag: the same image again: 202 again');
Time::HiRes::sleep(0.3);
is(scalar(hooks('/hook')), 1, 'flag: a duplicate notifies nothing');

# -- flag: the drawing passes (neutral 0.84 < 0.9)

$r = upload('/flag', $drawing);
is($r->{status}, 201, 'flag: an upload under the thresholds is 201')
    or diag $r->{content};
is($r->{json}{moderation}{flagged}, JSON::PP::false, 'flag: flagged: false');
close_to($r->{json}{moderation}{scores}, $nsfwjs{'drawing.png'},
         'flag: its scores');
is($r->{json}{variants}{thumb}, "/img/thumb/$dkey.jpg",
   'flag: its public URI');
is($t->get("/img/thumb/$dkey.jpg")->{status}, 200,
   'flag: its variant is public');
$meta = eval { $json->decode(slurp("$p/www/img/$dkey.json")) } // {};
close_to($meta->{moderation}{scores}, $nsfwjs{'drawing.png'},
         'flag: the scores in its metadata');
ok(!-e "$p/www/img/quarantine/$dkey.png", 'flag: nothing in quarantine');
ok($t->wait_for(sub { hooks('/hook') >= 2 }, 5),
   'flag: the app is notified of it');
$doc = eval { $json->decode((hooks('/hook'))[1]{body} // '') } // {};
is($doc->{moderation}{flagged}, JSON::PP::false,
   'flag: its notification says flagged: false');

# -- reject

$r = upload('/reject', $landscape);
is($r->{status}, 422, 'reject: a flagged upload is 422')
    or diag $r->{content};
like($r->{json}{error} // '', qr/moderation/, 'reject: the reason');
is($r->{json}{moderation}{flagged}, JSON::PP::true, 'reject: flagged');
close_to($r->{json}{moderation}{scores}, $nsfwjs{'landscape.jpg'},
         'reject: the answer holds the scores');
is_deeply([ files("$p/rstore") ], [], 'reject: nothing stored at all');

$r = upload('/reject', $drawing);
is($r->{status}, 201, 'reject: an upload under the thresholds is stored');
Time::HiRes::sleep(0.3);
is(scalar(hooks('/rhook')), 1, 'reject: only the stored one notified');

# -- the documented defaults flag neither

for my $f ([ 'landscape.jpg', $landscape ], [ 'drawing.png', $drawing ]) {
    $r = upload('/default', $f->[1]);
    is($r->{status}, 201, "defaults: $f->[0] is stored");
    is($r->{json}{moderation}{flagged}, JSON::PP::false,
       "defaults: $f->[0] is not flagged");
}

# -- image_moderate

$r = $t->request('POST', '/moderate', { content => $drawing });
is($r->{status}, 200, 'image_moderate: 200');
is($r->{headers}{'content-type'}, 'application/json', 'image_moderate: JSON');
$doc = eval { $json->decode($r->{content}) } // {};
is_deeply([ sort keys %{ $doc->{scores} // {} } ], \@CLASSES,
          'image_moderate: the five classes');
is("$doc->{width}x$doc->{height}", '640x480', 'image_moderate: the size');
close_to($doc->{scores}, $nsfwjs{'drawing.png'},
         'image_moderate: the scores of nsfwjs');

$r = $t->request('POST', '/moderate', { content => $json->encode(
    { data => { image => encode_base64($landscape, '') } }) });
is($r->{status}, 200, 'image_moderate: a base64 JSON body');
$doc = eval { $json->decode($r->{content}) } // {};
close_to($doc->{scores}, $nsfwjs{'landscape.jpg'},
         'image_moderate: its scores');

$r = $t->request('POST', '/moderate', { content => 'not an image' x 10 });
is($r->{status}, 415, 'image_moderate: no image is 415');
is($t->get('/moderate')->{status}, 405, 'image_moderate: GET is 405');

# ---- nginx -t

for my $c (
    [ "image_ingest; image_ingest_store /tmp/x; image_ingest_moderation "
      . "flag;", qr/needs image_moderation_models/ ],
    [ "image_moderate;", qr/image_moderate needs image_moderation_models/ ],
    [ "image_moderate; image_moderation_models $p;",
      qr/nsfwjs_mobilenet_v2-weights_manifest\.json/ ],
    [ "image_ingest; image_ingest_store /tmp/x; image_ingest_moderation "
      . "reject; image_moderation_models $MODELS; image_ingest_archive on;",
      qr/does not apply to archive uploads/ ],
    [ "image_ingest_moderation_threshold porn=1.5;",
      qr/not <class>=<score from 0 to 1>/ ],
    [ "image_ingest_moderation_threshold nude=0.5;", qr/unknown class/ ],
    [ "image_ingest_moderation maybe;", qr/invalid value "maybe"/ ],
) {
    my ($ok, $out) = $t->check_config(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT2%%;
        location / { $c->[0] }
    }
EOF
    ok(!$ok, "nginx -t fails: $c->[0]");
    like($out, $c->[1], '... saying why');
}

$t->done;
