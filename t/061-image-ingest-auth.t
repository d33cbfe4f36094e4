#!/usr/bin/perl
# image_ingest's two auth styles.  Presigned URLs (image_ingest_sign_key):
# valid, expired, tampered (signature, path, expiry, method), missing,
# signed for longer than image_ingest_sign_max_age, made by
# scripts/sign-upload-url; a refused upload stores nothing.  nginx's own
# auth_request in front: the app's verdict, and the user id it returns
# stored through image_ingest_meta.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use Digest::SHA qw(hmac_sha256);
use JSON::PP ();
use MIME::Base64 qw(encode_base64url);
use Test::More;

use Edge::Nginx;
use Edge::Image qw(have_vips png);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');

my $KEY = 'presign-key-of-the-test-0123456789';
my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => ['image_variant']);

# the app: /auth checks a bearer token and names the user
$t->backend(sub {
    my ($req) = @_;
    my $auth = $req->{headers}{authorization} // '';
    return [200, { 'X-User-Id' => 'user-7' }, ''] if $auth eq 'Bearer good';
    return [401, {}, ''];
});

$t->run(<<"EOF");
    server {
        listen 127.0.0.1:%%PORT%%;

        location /signed/ {
            image_ingest;
            image_ingest_store     %%PREFIX%%/signed;
            image_ingest_sign_key  "$KEY";
            image_ingest_sign_max_age 10m;
        }

        location = /app {
            auth_request           /_auth;
            auth_request_set       \$user_id \$upstream_http_x_user_id;
            image_ingest;
            image_ingest_store     %%PREFIX%%/app;
            image_ingest_meta      user \$user_id;
        }

        location = /_auth {
            internal;
            proxy_pass             http://127.0.0.1:%%BACKEND%%/auth;
            proxy_pass_request_body off;
            proxy_set_header       Content-Length "";
        }
    }
EOF

my $img = png(width => 20, height => 10, fill => [1, 2, 3]);
my $key = md5_hex($img);

sub sig {
    my ($method, $path, $expires) = @_;
    return encode_base64url(hmac_sha256("$method\n$path\n$expires", $KEY));
}

sub put {
    my ($url, %o) = @_;
    my $r = $t->request($o{method} // 'PUT', $url,
                        { content => $o{body} // $img,
                          headers => $o{headers} // {} });
    $r->{json} = eval { $json->decode($r->{content}) } // {};
    return $r;
}

my $now = time;
my $exp = $now + 300;
my $path = '/signed/avatar';
my $s = sig('PUT', $path, $exp);

my @refused = (
    ['missing'        => $path],
    ['no signature'   => "$path?expires=$exp"],
    ['no expiry'      => "$path?s=$s"],
    ['tampered s'     => "$path?expires=$exp&s=" . reverse($s)],
    ['other path'     => "/signed/other?expires=$exp&s=$s"],
    ['later expiry'   => "$path?expires=" . ($exp + 1) . "&s=$s"],
    ['expired'        => "$path?expires=" . ($now - 5) . '&s='
                         . sig('PUT', $path, $now - 5)],
    ['beyond max_age' => "$path?expires=" . ($now + 3600) . '&s='
                         . sig('PUT', $path, $now + 3600)],
    ['repeated'       => "$path?expires=$exp&expires=$exp&s=$s"],
    ['padded s'       => "$path?expires=$exp&s=$s="],
);

for my $c (@refused) {
    my $r = put($c->[1]);
    is($r->{status}, 403, "presigned: $c->[0]: 403");
}
like(put("$path?expires=" . ($now - 5) . '&s='
         . sig('PUT', $path, $now - 5))->{json}{error} // '',
     qr/expired/, 'an expired URL says so');
like(put("$path?expires=$exp&s=" . reverse($s))->{json}{error} // '',
     qr/invalid/, 'a forged one says invalid');

my $r = put("$path?expires=$exp&s=$s", method => 'POST');
is($r->{status}, 403, 'presigned for PUT, used with POST: 403');

ok(!-e $t->prefix . "/signed/$key.png", 'refused uploads: nothing stored');

$r = put("$path?expires=$exp&s=$s&other=1");
is($r->{status}, 201, 'presigned: valid (other arguments ignored)')
    or diag $r->{content};
is($r->{json}{key}, $key, '... stored under its MD5');

# the signing helper shipped for the app
my $url = `$FindBin::Bin/../scripts/sign-upload-url '$KEY' POST /signed/x 60`;
chomp $url;
like($url, qr{^/signed/x\?expires=\d+&s=[\w-]{43}\z},
     'scripts/sign-upload-url prints a URL');
$r = put($url, method => 'POST');
is($r->{status}, 200, 'its URL is accepted (the same bytes: 200)')
    or diag $r->{content};

# ---- auth_request in front

$r = put('/app');
is($r->{status}, 401, 'auth_request: no token, 401 from nginx');
$r = put('/app', headers => { Authorization => 'Bearer bad' });
is($r->{status}, 401, 'auth_request: bad token, 401');
ok(!-e $t->prefix . "/app/$key.png", 'nothing stored');

$r = put('/app', headers => { Authorization => 'Bearer good' });
is($r->{status}, 201, 'auth_request: good token, 201');
my $meta = eval { $json->decode($t->read_file("app/$key.json")) } // {};
is_deeply($meta->{meta}, { user => 'user-7' },
          'the user id from the auth app is in the metadata');
is(scalar(() = $t->backend_requests), 3, 'the auth app asked 3 times');

$t->done;
