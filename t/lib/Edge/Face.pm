package Edge::Face;

# Helpers for the face tests: the sample photos as the site serves them
# (WebP, made with the vips CLI at test time), a fake site that hands
# them out and records callbacks, and checks of what was called back.
# Core Perl and Edge::* only.

use strict;
use warnings;

use Carp qw(croak);
use Exporter 'import';
use JSON::PP ();
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Image ();

our @EXPORT_OK = qw(have_samples samples webp reference_photo
    expected_faces site_handler callbacks wait_callbacks raw_floats_ok
    payload job_path);

my $REPO = Edge::Nginx->repo;

# Faces in demo/fixtures/sample1..6.jpg (face-api 1.7.15 reference run
# with its SSD detector, recorded in the project's research notes).
my %FACES = (1 => 3, 2 => 3, 3 => 3, 4 => 4, 5 => 5, 6 => 4);

sub job_path { '/2015-03-31/functions/facedetection/invocations' }

sub have_samples {
    return -f "$REPO/demo/fixtures/sample1.jpg"
        && Edge::Image::have_vips() && -f "$REPO/models/"
            . 'face_recognition_model.bin';
}

sub samples { map { "$REPO/demo/fixtures/sample$_.jpg" } 1 .. 6 }

sub expected_faces { $FACES{ $_[0] } }

my %WEBP;

# The sample photo n as WebP q90, as the site's thumbnailer makes it.
sub webp {
    my ($n) = @_;
    return $WEBP{$n} //= Edge::Image::convert(
        Edge::Image::slurp("$REPO/demo/fixtures/sample$n.jpg"),
        '.webp[Q=90]');
}

# One face: the first face of sample1 and some margin (WebP).
sub reference_photo {
    return $WEBP{ref} //= Edge::Image::convert(
        Edge::Image::slurp("$REPO/demo/fixtures/sample1.jpg"),
        '.webp[Q=90]', 'crop', 300, 250, 420, 450);
}

# The fake site: GET /photos/<n>.webp (n = 1..6 or "ref"), anything
# under /photos/ from %extra ([status, headers, body] or a code taking
# the request), callbacks POSTed to /api/facedetection/encodings/...
# answered 201 unless $callback (a code) says otherwise.
sub site_handler {
    my (%opt) = @_;
    my %photos = map { ("/photos/$_.webp" => webp($_)) } 1 .. 6;
    $photos{'/photos/ref.webp'} = reference_photo();
    my $extra = $opt{extra} // {};
    my $callback = $opt{callback};
    return sub {
        my ($req) = @_;
        my $p = $req->{path};
        if ($p =~ m{^/api/facedetection/encodings/}) {
            return $callback->($req) if $callback;
            return [201, { 'Content-Type' => 'application/json' },
                '{"ok": true}'];
        }
        if (my $x = $extra->{$p}) {
            return ref $x eq 'CODE' ? $x->($req) : $x;
        }
        return [200, { 'Content-Type' => 'image/webp' }, $photos{$p}]
            if $photos{$p};
        return [404, { 'Content-Type' => 'text/plain' }, 'no such photo'];
    };
}

# The callbacks the site received: [{type, pk, token, encodings, raw}].
sub callbacks {
    my ($t, $port) = @_;
    my $json = JSON::PP->new;
    my @cb;
    for my $req ($t->backend_requests($port)) {
        next unless $req->{method} eq 'POST'
            && $req->{path} =~ m{^/api/facedetection/encodings/(\w+)/(\d+)/\z};
        my ($type, $pk) = ($1, $2);
        my $body = eval { $json->decode($req->{body}) } // {};
        push @cb, { type => $type, pk => $pk, token => $body->{token},
            encodings => $body->{encodings}, raw => $req->{body},
            headers => $req->{headers} };
    }
    return @cb;
}

# Wait until at least $n callbacks arrived; returns them.
sub wait_callbacks {
    my ($t, $port, $n, $timeout) = @_;
    my @cb;
    $t->wait_for(sub { (@cb = callbacks($t, $port)) >= $n }, $timeout // 60);
    return @cb;
}

# Every number in the raw JSON text is a float: a "." or an exponent.
sub raw_floats_ok {
    my ($raw) = @_;
    (my $enc = $raw) =~ s/\A.*?"encodings"\s*:\s*//s;
    my @nums = $enc =~ /(-?\d[\d.eE+-]*)/g;
    return 0 + (grep { !/[.eE]/ } @nums) == 0;
}

# A payload: sources as [pk, type, photo_url, token].
sub payload {
    my ($api, @sources) = @_;
    return JSON::PP->new->canonical->encode({ api_url => $api,
        sources => [map { { pk => $_->[0], type => $_->[1],
            photo_url => $_->[2], token => $_->[3] } } @sources] });
}

1;
