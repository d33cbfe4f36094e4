#!/usr/bin/perl
# image_ingest_jwt: JWT-verified uploads.  Tokens made afresh by PyJWT
# (t/lib/jwt_tokens.py): RS256, ES256 (JWKS) and HS256 (hs256:file)
# accepted; expired, not yet valid, wrong aud/iss, a missing aud, the
# wrong key, alg none, HS256 signed with the RSA public key, and a JWKS
# rotated on disk (the old kid refused afterwards, the new one accepted,
# no reload) each refused with its reason, a 401 with WWW-Authenticate
# (RFC 6750) and nothing stored; the leeway; the token from a cookie;
# $jwt_claim_<name> in the stored metadata, add_header and the access
# log (names in any case); the 401 sent before any body byte is read (no 100 Continue); a
# broken new JWKS keeps the old keys, logged once; bad configurations.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use IO::Select;
use IO::Socket::IP;
use JSON::PP ();
use Test::More;
use Time::HiRes ();

use Edge::Nginx;
use Edge::Image qw(have_vips png);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');
-x '/usr/bin/python3'
    && system('/usr/bin/python3', '-c', 'import jwt, cryptography') == 0
    or BAIL_OUT('python3-jwt and python3-cryptography are needed');

my $json = JSON::PP->new->canonical;

my $t = Edge::Nginx->new(modules => ['image_variant']);
my $keys = $t->prefix . '/keys';
mkdir $keys or die "mkdir $keys: $!";

my $now = time;
my $out = `/usr/bin/python3 $FindBin::Bin/lib/jwt_tokens.py $keys $now`;
$? == 0 or BAIL_OUT('t/lib/jwt_tokens.py failed');
my $tok = $json->decode($out);

$t->run(<<'EOF');
    log_format  jwt  '$uri $status sub=$jwt_claim_sub';

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 20m;
        access_log %%PREFIX%%/logs/jwt.log jwt;

        image_ingest_jwt         %%PREFIX%%/keys/jwks.json;
        image_ingest_jwt_claims  iss=https://id.example aud=photos;

        location = /up {
            image_ingest;
            image_ingest_store  %%PREFIX%%/up;
            image_ingest_meta   user $jwt_claim_sub  uid $jwt_claim_uid
                                name $jwt_claim_name  org $jwt_claim_orgid
                                admin "[$jwt_claim_admin]";
            add_header          X-Sub "[$jwt_claim_sub]" always;
        }

        location = /strict {
            image_ingest;
            image_ingest_store       %%PREFIX%%/strict;
            image_ingest_jwt_leeway  0;
        }

        location = /hs {
            image_ingest;
            image_ingest_store  %%PREFIX%%/hs;
            image_ingest_jwt    hs256:%%PREFIX%%/keys/hs256.secret;
            image_ingest_meta   user $jwt_claim_sub;
        }

        location = /cookie {
            image_ingest;
            image_ingest_store      %%PREFIX%%/cookie;
            image_ingest_jwt_token  $cookie_session;
            image_ingest_meta       user $jwt_claim_sub;
        }

        location = /noexp {
            image_ingest;
            image_ingest_store            %%PREFIX%%/noexp;
            image_ingest_jwt_require_exp  off;
        }

        location = /open {
            image_ingest;
            image_ingest_store  %%PREFIX%%/open;
            image_ingest_jwt    off;
        }
    }
EOF

my $fill = 0;

# a new image each time (the same bytes would be a duplicate: 200)
sub image { $fill++; return png(width => 8, height => 8,
                                fill => [$fill, 2 * $fill % 256, 7]) }

sub put {
    my ($path, $token, %o) = @_;
    my %h = %{ $o{headers} // {} };
    $h{Authorization} = "Bearer $token" if defined $token;
    my $body = $o{body} // image();
    my $r = $t->request('PUT', $path, { content => $body,
                                        headers => \%h });
    $r->{json} = eval { $json->decode($r->{content}) } // {};
    $r->{key} = md5_hex($body);
    return $r;
}

sub meta {
    my ($dir, $key) = @_;
    my $doc = eval { $json->decode($t->read_file("$dir/$key.json")) };
    return $doc ? $doc->{meta} : undef;
}

sub refused {
    my ($path, $token, $reason, $what) = @_;
    my $r = put($path, $token);
    is($r->{status}, 401, "$what: 401");
    is($r->{headers}{'www-authenticate'},
       qq{Bearer error="invalid_token", error_description="$reason"},
       "$what: WWW-Authenticate names the reason");
    is($r->{json}{error}, "jwt: $reason", "$what: JSON reason");
    (my $dir = $path) =~ s{^/}{};
    ok(!-e $t->prefix . "/$dir/$r->{key}.png", "$what: nothing stored");
}

# ---- accepted: RS256, ES256 from the JWKS, HS256 from hs256:file

my $r = put('/up', $tok->{rs256});
is($r->{status}, 201, 'RS256 accepted') or diag $r->{content};
is_deeply(meta('up', $r->{key}),
          { user => 'user-42', uid => '4711', name => 'Ada L.',
            org => 'acme', admin => '[]' },
          'string and number claims in the metadata (orgId as '
          . '$jwt_claim_orgid); a boolean is not');
is($r->{headers}{'x-sub'}, '[user-42]', '$jwt_claim_sub in add_header');

$r = put('/up', $tok->{es256});
is($r->{status}, 201, 'ES256 accepted (aud a list holding photos)')
    or diag $r->{content};
is(meta('up', $r->{key})->{user}, 'user-ec', '... its sub stored');

$r = put('/hs', $tok->{hs256});
is($r->{status}, 201, 'HS256 accepted with hs256:file') or diag $r->{content};
is(meta('hs', $r->{key})->{user}, 'user-hs', '... its sub stored');

$r = $t->request('PUT', '/up', { content => image(), headers => {
    Authorization => "bEaReR   $tok->{rs256}" } });
is($r->{status}, 201, 'the scheme in any case, blanks before the token');

$r = put('/cookie', undef,
         headers => { Cookie => "a=b; session=$tok->{rs256}" });
is($r->{status}, 201, 'image_ingest_jwt_token $cookie_session')
    or diag $r->{content};
is(meta('cookie', $r->{key})->{user}, 'user-42', '... its sub stored');

$r = put('/cookie', $tok->{rs256});
is($r->{status}, 401, '... and only the cookie: a header is not looked at');

$r = put('/open');
is($r->{status}, 201, 'image_ingest_jwt off: no token needed');

# ---- leeway (default 60 s) and exp

$r = put('/up', $tok->{expired_30s});
is($r->{status}, 201, 'expired 30 s ago: within the default leeway');
$r = put('/up', $tok->{not_yet_30s});
is($r->{status}, 201, 'valid in 30 s: within the default leeway');
refused('/strict', $tok->{expired_30s}, 'token expired',
        'expired 30 s ago, leeway 0');
refused('/strict', $tok->{not_yet_30s}, 'token not yet valid',
        'valid in 30 s, leeway 0');
refused('/up', $tok->{no_exp}, 'required claim missing', 'no exp');
$r = put('/noexp', $tok->{no_exp});
is($r->{status}, 201, 'no exp, image_ingest_jwt_require_exp off');

# ---- refused, each with its reason

refused('/up', $tok->{expired}, 'token expired', 'expired');
refused('/up', $tok->{not_yet}, 'token not yet valid', 'not yet valid');
refused('/up', $tok->{wrong_aud}, 'claim mismatch', 'wrong aud');
refused('/up', $tok->{wrong_iss}, 'claim mismatch', 'wrong iss');
refused('/up', $tok->{no_aud}, 'required claim missing', 'no aud');
refused('/up', $tok->{wrong_key}, 'bad signature', 'wrong key');
refused('/hs', $tok->{hs256_wrong}, 'bad signature', 'wrong HS256 secret');
refused('/up', $tok->{alg_none}, 'alg none refused', 'alg none');
refused('/up', $tok->{confusion}, 'alg does not match the key type',
        'HS256 signed with the RSA public key');
refused('/up', $tok->{rotated_new}, 'unknown kid', 'a kid not in the JWKS');
refused('/up', 'not.a.token', 'malformed token', 'garbage');
refused('/hs', $tok->{rs256}, 'alg does not match the key type',
        'RS256 at an hs256: location');

$r = put('/up', undef);
is($r->{status}, 401, 'no token: 401');
is($r->{headers}{'www-authenticate'}, 'Bearer',
   '... WWW-Authenticate: Bearer without an error (RFC 6750, 3.1)');
is($r->{json}{error}, 'jwt: no bearer token', '... JSON reason');

$r = put('/up', undef, headers => { Authorization => 'Basic dTpw' });
is($r->{status}, 401, 'another scheme: 401 as without a token');
is($r->{headers}{'www-authenticate'}, 'Bearer', '... no error either');

$r = put('/up', $tok->{ctl});
is($r->{status}, 201, 'a claim with CR LF: accepted');
is($r->{headers}{'x-sub'}, '[user-42]', '... other claims usable');
ok(!exists $r->{headers}{'x-evil'}, '... no header injected');
is(meta('up', $r->{key})->{name}, '', '... the claim itself empty');

# ---- the 401 comes before any body byte is read

sub headers_only {
    my ($head) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
                                PeerPort => $t->port, Timeout => 5)
        or die "connect: $@";
    print {$s} $head;
    my ($got, $sel) = ('', IO::Select->new($s));
    my $deadline = Time::HiRes::time() + 3;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        last unless $sel->can_read($left);
        last unless sysread($s, $got, 65536, length $got);
        last if $got =~ /\r\n\r\n/ && $got !~ m{^HTTP/1\.1 100 };
    }
    close $s;
    return $got;
}

my $big = 'PUT /up HTTP/1.1' . "\r\nHost: localhost\r\n"
    . "Content-Length: 10000000\r\nContent-Type: image/png\r\n";

my $got = headers_only($big . "Expect: 100-continue\r\n\r\n");
like($got, qr{^HTTP/1\.1 401 }, 'Expect: 100-continue, no token: 401 '
     . 'at once, without 100 Continue');
like($got, qr{\r\nWWW-Authenticate: Bearer\r\n}, '... with its header');

$got = headers_only($big . "Authorization: Bearer $tok->{expired}\r\n\r\n");
like($got, qr{^HTTP/1\.1 401 }, 'no body sent at all, expired token: '
     . '401 at once');

# the control: with a good token, nginx asks for the body
$got = headers_only($big . "Expect: 100-continue\r\n"
                    . "Authorization: Bearer $tok->{rs256}\r\n\r\n");
like($got, qr{^HTTP/1\.1 100 }, 'a good token: 100 Continue (the body '
     . 'is wanted)');

# ---- the JWKS rotated on disk, no reload

my $log0 = length $t->error_log;
rename("$keys/jwks-rotated.json", "$keys/jwks.json") or die "rename: $!";
Time::HiRes::sleep(1.1);    # looked at once a second at most

refused('/up', $tok->{rotated_old}, 'unknown kid',
        'after rotation: the old kid');
$r = put('/up', $tok->{rotated_new});
is($r->{status}, 201, 'after rotation: the new kid, no reload')
    or diag $r->{content};
is(meta('up', $r->{key})->{user}, 'user-new', '... its sub stored');
$r = put('/up', $tok->{es256});
is($r->{status}, 201, 'after rotation: the EC key kept');
like(substr($t->error_log, $log0),
     qr/\[notice\].*jwt: keys of ".*jwks\.json" read again: 2 keys/,
     'the new keys logged at notice');

# ---- a broken new file keeps the old keys, logged once

$t->write_file('keys/jwks.json.new', '{"keys": [');
rename("$keys/jwks.json.new", "$keys/jwks.json") or die "rename: $!";
Time::HiRes::sleep(1.1);
$r = put('/up', $tok->{rotated_new});
is($r->{status}, 201, 'a broken JWKS: the previous keys stay');
Time::HiRes::sleep(1.1);
$r = put('/up', $tok->{rotated_new});
is($r->{status}, 201, '... still, a second later');
my @e = substr($t->error_log, $log0)
    =~ /\[error\].*(jwt: ".*jwks\.json" changed but does not load)/g;
is(scalar @e, 1, '... logged once at error');

# ---- one line per refusal, at info

my $log = $t->error_log;
like($log, qr/\[info\].*image_ingest: jwt: token expired/,
     'a refusal is logged at info');
like($log, qr/\[info\].*image_ingest: jwt: no bearer token/,
     'a missing token too');

like($t->read_file('logs/jwt.log') // '', qr{^/up 201 sub=user-42$}m,
     '$jwt_claim_sub in log_format');
like($t->read_file('logs/jwt.log') // '', qr{^/up 401 sub=-$}m,
     '... "-" for a refused token');

# ---- configuration errors

my ($ok, $msg) = $t->check_config(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { image_ingest; image_ingest_store %%PREFIX%%/x;
                     image_ingest_jwt %%PREFIX%%/keys/missing.json; }
    }
EOF
ok(!$ok, 'a missing key file stops nginx -t');
like($msg, qr/image_ingest_jwt: ".*missing\.json": cannot open/,
     '... saying so');

$t->write_file('keys/short.secret', "short\n");
($ok, $msg) = $t->check_config(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { image_ingest; image_ingest_store %%PREFIX%%/x;
                     image_ingest_jwt hs256:%%PREFIX%%/keys/short.secret; }
    }
EOF
ok(!$ok, 'an HS256 secret under 32 bytes stops nginx -t');

($ok, $msg) = $t->check_config(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { image_ingest_jwt_claims iss; }
    }
EOF
ok(!$ok, 'a claim without a value stops nginx -t');
like($msg, qr/"iss" is not name=value/, '... saying so');

$t->done;
