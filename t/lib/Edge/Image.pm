package Edge::Image;

# Test images for the image variant tests, made at test time (no binary
# fixtures in the repository): a PNG writer for exact pixels, the libvips
# command-line tools (package libvips-tools) for other formats and for
# inspecting results, byte surgery for EXIF orientation and for headers
# that lie about their size, and the URL signature of image_variant_params.
# Documentation: POD at the end of this file.

use strict;
use warnings;

use Carp qw(croak);
use Compress::Zlib ();
use Digest::SHA qw(hmac_sha256);
use Exporter 'import';
use File::Temp ();
use MIME::Base64 qw(encode_base64url);

use Edge::Nginx ();

our @EXPORT_OK = qw(have_vips vips png create convert info pixel deviation
    image_type with_orientation png_set_size jpeg_set_size sign
    signed_url colour_is slurp sample_photo);

my $DIR;    # scratch files, removed at exit
my $SEQ = 0;

sub _tmp {
    my ($suffix) = @_;
    $DIR //= File::Temp::tempdir('edge-image-XXXXXX', TMPDIR => 1,
        CLEANUP => 1);
    return "$DIR/" . ++$SEQ . $suffix;
}

sub _write {
    my ($path, $data) = @_;
    open my $fh, '>:raw', $path or croak "open $path: $!";
    print {$fh} $data;
    close $fh or croak "close $path: $!";
    return $path;
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or croak "open $path: $!";
    local $/;
    return scalar <$fh>;
}

# A file's bytes.
sub slurp { _slurp(@_) }

# The 1920x1280 sample photo when "make models" has run, else noise of
# the same size (the tests then still have a JPEG of a camera's shape).
sub sample_photo {
    my $path = Edge::Nginx->repo . '/demo/fixtures/sample1.jpg';
    return -f $path ? _slurp($path)
                    : create('.jpg[Q=90]', 'gaussnoise', 1920, 1280);
}

# Run a command without a shell; its output, or croak with it.
sub _run {
    my (@cmd) = @_;
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or exit 127;
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    croak "@cmd: exit " . ($? >> 8) . "\n$out" if $?;
    return $out;
}

sub have_vips {
    return !system('sh', '-c',
        'command -v vips >/dev/null && command -v vipsheader >/dev/null');
}

# vips OPERATION ARGS...; returns its output.
sub vips { _run('vips', @_) }

# ---------------------------------------------------------------- PNG

sub _chunk {
    my ($type, $data) = @_;
    return pack('N', length $data) . $type . $data
        . pack('N', Compress::Zlib::crc32($type . $data));
}

# A PNG with exact pixels: a fill colour and rectangles painted over it,
# in order.  png(width => 400, height => 300, fill => [255, 255, 255],
# rects => [[x, y, w, h, [r, g, b]], ...], alpha => 1 (colours then have
# four values), depth => 16 (values 0..65535)).
sub png {
    my (%o) = @_;
    my ($w, $h) = @o{qw(width height)};
    my $depth = $o{depth} // 8;
    my $n = $o{alpha} ? 4 : 3;
    my $fmt = $depth == 16 ? 'n' : 'C';
    my $px = sub {
        my ($c) = @_;
        croak "colour needs $n values" unless @$c == $n;
        return pack "$fmt$n", @$c;
    };
    my @rows = ($px->($o{fill} // [(0) x $n]) x $w) x $h;
    my $bpp = $n * $depth / 8;
    for my $r (@{ $o{rects} // [] }) {
        my ($x, $y, $rw, $rh, $c) = @$r;
        my $bytes = $px->($c) x $rw;
        for my $row ($y .. $y + $rh - 1) {
            substr($rows[$row], $x * $bpp, $rw * $bpp, $bytes);
        }
    }
    # filter type 0 (none) before each row
    my $raw = join '', map { "\0$_" } @rows;
    return "\x89PNG\r\n\x1a\n"
        . _chunk('IHDR', pack('NNCCCCC', $w, $h, $depth,
            $o{alpha} ? 6 : 2, 0, 0, 0))
        . _chunk('IDAT', Compress::Zlib::compress($raw))
        . _chunk('IEND', '');
}

# The same PNG claiming another size in IHDR (a decompression bomb: the
# header promises more pixels than the data could ever hold).
sub png_set_size {
    my ($png, $w, $h) = @_;
    substr($png, 8 + 4, 4) eq 'IHDR' or croak 'not a PNG';
    substr($png, 16, 8, pack('NN', $w, $h));
    substr($png, 29, 4,
        pack('N', Compress::Zlib::crc32(substr($png, 12, 17))));
    return $png;
}

# ---------------------------------------------------------------- JPEG

# Walk the marker segments of a JPEG up to the scan: [marker, offset of
# the marker, segment length], so that headers can be patched in place.
sub _jpeg_segments {
    my ($jpeg) = @_;
    substr($jpeg, 0, 2) eq "\xff\xd8" or croak 'not a JPEG';
    my ($off, @seg) = (2);
    while ($off + 4 <= length $jpeg) {
        my ($ff, $m, $len) = unpack 'CCn', substr($jpeg, $off, 4);
        $ff == 0xff or croak "bad JPEG marker at $off";
        push @seg, [$m, $off, $len];
        last if $m == 0xda;    # start of scan: entropy-coded data follows
        $off += 2 + $len;
    }
    return @seg;
}

# The JPEG with an EXIF APP1 segment holding only Orientation (1..8),
# right after SOI; any APP1 already there is removed.
sub with_orientation {
    my ($jpeg, $o) = @_;
    for my $s (reverse _jpeg_segments($jpeg)) {
        substr($jpeg, $s->[1], 2 + $s->[2], '') if $s->[0] == 0xe1;
    }
    # big-endian TIFF: header, one IFD of one entry (0x0112 SHORT 1), end
    my $tiff = "MM\0\x2a" . pack('N', 8) . pack('n', 1)
        . pack('nnNnn', 0x0112, 3, 1, $o, 0) . pack('N', 0);
    my $app1 = "Exif\0\0$tiff";
    substr($jpeg, 2, 0, "\xff\xe1" . pack('n', 2 + length $app1) . $app1);
    return $jpeg;
}

# The same JPEG claiming another size in its SOF segment.
sub jpeg_set_size {
    my ($jpeg, $w, $h) = @_;
    for my $s (_jpeg_segments($jpeg)) {
        my $m = $s->[0];
        next unless $m >= 0xc0 && $m <= 0xcf && $m != 0xc4 && $m != 0xc8
            && $m != 0xcc;
        # FF Cn, length, precision, then height and width
        substr($jpeg, $s->[1] + 5, 4, pack('nn', $h, $w));
        return $jpeg;
    }
    croak 'no SOF segment';
}

# ---------------------------------------------------------------- vips

# Convert image bytes with vips: convert($bytes, '.jpg[Q=90,strip]'), or
# with an operation: convert($bytes, '.jpg', 'icc_transform', 'cmyk').
# The input suffix does not matter: vips sniffs the bytes.
sub convert {
    my ($bytes, $to, $op, @args) = @_;
    my $in = _write(_tmp('.in'), $bytes);
    (my $ext = $to) =~ s/\[.*//;
    my $out = _tmp($ext);
    vips($op // 'copy', $in, "$out" . substr($to, length $ext), @args);
    return _slurp($out);
}

# A new image from a vips operation that makes one:
# create('.jpg[Q=90]', 'gaussnoise', 1920, 1280).
sub create {
    my ($to, $op, @args) = @_;
    (my $ext = $to) =~ s/\[.*//;
    my $out = _tmp($ext);
    vips($op, "$out" . substr($to, length $ext), @args);
    return _slurp($out);
}

# vipsheader -a as a hash: width, height, bands, format (uchar, ushort),
# interpretation, vips-loader, exif-*...
sub info {
    my ($bytes) = @_;
    my $f = _write(_tmp('.img'), $bytes);
    my %h;
    for (split /\n/, _run('vipsheader', '-a', $f)) {
        $h{$1} = $2 if /^([\w-]+): (.*)$/;
    }
    return \%h;
}

# The values of the pixel at (x, y): (r, g, b[, a]).
sub pixel {
    my ($bytes, $x, $y) = @_;
    my $f = _write(_tmp('.img'), $bytes);
    return map { 0 + $_ } split ' ', vips('getpoint', $f, $x, $y);
}

# The standard deviation of all the pixel values: 0 for a flat image.
sub deviation {
    my ($bytes) = @_;
    my $f = _write(_tmp('.img'), $bytes);
    return 0 + vips('deviate', $f);
}

# jpeg, png, webp, avif, gif, tiff or '' by the bytes' signature.
sub image_type {
    my ($b) = @_;
    return 'jpeg' if $b =~ /\A\xff\xd8\xff/;
    return 'png'  if $b =~ /\A\x89PNG\r\n\x1a\n/;
    return 'webp' if $b =~ /\ARIFF....WEBP/s;
    return 'avif' if $b =~ /\A....ftyp(?:avif|avis)/s;
    return 'gif'  if $b =~ /\AGIF8[79]a/;
    return 'tiff' if $b =~ /\A(?:II\x2a\0|MM\0\x2a)/;
    return '';
}

# True when (r, g, b) is within tol (default 40) of the expected colour,
# per channel: lossy formats and colour conversions move values a bit.
sub colour_is {
    my ($got, $want, $tol) = @_;
    $tol //= 40;
    for my $i (0 .. 2) {
        return 0 unless defined $got->[$i]
            && abs($got->[$i] - $want->[$i]) <= $tol;
    }
    return 1;
}

# ---------------------------------------------------------------- URLs

# The "s" of image_variant_params (see image_variant_params.h): HMAC-SHA256
# under key of the path as sent, "\n", then those of w, h, fit, gravity,
# format, q, dpr present in the query, in that order, "k=v" joined by "&",
# values as sent; base64url without padding.
my @SIGNED = qw(w h fit gravity format q dpr);

sub sign {
    my ($key, $path, $query) = @_;
    my %v;
    for (split /&/, $query // '') {
        my ($k, $v) = /^([^=]*)=?(.*)\z/s;
        $v{$k} //= $v;    # the first occurrence counts
    }
    my $canon = join '&', map { "$_=$v{$_}" } grep { exists $v{$_} }
        @SIGNED;
    return encode_base64url(hmac_sha256("$path\n$canon", $key));
}

# path?query&s=signature
sub signed_url {
    my ($key, $path, $query) = @_;
    return "$path?$query&s=" . sign($key, $path, $query);
}

1;

__END__

=head1 NAME

Edge::Image - make and inspect test images for the image variant tests

=head1 SYNOPSIS

    use Edge::Image qw(png convert info pixel with_orientation);

    my $png = png(width => 400, height => 200, fill => [255, 255, 255],
                  rects => [[0, 0, 40, 40, [255, 0, 0]]]);
    my $jpg = with_orientation(convert($png, '.jpg[Q=95,strip]'), 6);
    my $i = info($jpg);          # $i->{width}, $i->{height}, ...
    my @rgb = pixel($jpg, 5, 5);

=head1 DESCRIPTION

Needs the C<vips> and C<vipsheader> commands (Debian: libvips-tools);
C<have_vips> tells whether they are there.  Scratch files go to a
temporary directory removed at exit.

C<png(%o)> writes a PNG with exact pixels (C<width>, C<height>, C<fill>,
C<rects>, C<alpha>, C<depth> 8 or 16).  C<png_set_size($png, $w, $h)> and
C<jpeg_set_size($jpeg, $w, $h)> patch the declared size (decompression
bombs).  C<with_orientation($jpeg, $n)> inserts an EXIF segment holding
only Orientation.

C<vips(@args)> runs the vips command and croaks on failure.
C<convert($bytes, $suffix_with_options, [$op, @args])> converts through
vips (C<copy> by default); C<create($suffix_with_options, $op, @args)>
makes an image with an operation that needs no input (C<black>,
C<gaussnoise>...).  C<info($bytes)> is C<vipsheader -a> as a hash,
C<pixel($bytes, $x, $y)> the values at a point, C<deviation($bytes)> the
standard deviation of all values, C<image_type($bytes)> the format from
the signature bytes, C<colour_is(\@got, \@want, [$tol])> a tolerant colour
comparison.

C<sign($key, $path, $query)> and C<signed_url(...)> compute the signature
of free-form parameters the way F<src/image/core/image_variant_params.h>
defines it.

=cut
