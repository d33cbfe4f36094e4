package Edge::Zip;

# Archive checks for the album zip tests: every archive is read by three
# independent readers (Info-ZIP unzip, Python's zipfile, libarchive's
# bsdtar) and by a strict structural parser written here, and the member
# bytes are compared with the sources.  Core Perl + external tools only.
# Documentation: POD at the end of this file.

use strict;
use warnings;

use Carp qw(croak);
use Compress::Raw::Zlib ();
use Digest::SHA qw(sha256_hex);
use Exporter 'import';
use Test::More ();

our @EXPORT_OK = qw(check_zip parse_zip parse_zip_tail read_zip_file
    run_readers crc32 crc32_hex crc32_zeros manifest_line shell_quote
    dos_datetime);

my $SEQ = 0;

# ---------------------------------------------------------------- CRC

sub crc32 { Compress::Raw::Zlib::crc32($_[0]) }
sub crc32_hex { sprintf '%08x', crc32($_[0]) }

# CRC-32 of $n zero bytes, by combining the CRC of 1 MiB blocks.
sub crc32_zeros {
    my ($n) = @_;
    my $mib = 1024 * 1024;
    my $block = Compress::Raw::Zlib::crc32("\0" x $mib);
    my $crc = 0;
    my $left = $n;
    while ($left >= $mib) {
        $crc = Compress::Raw::Zlib::crc32_combine($crc, $block, $mib);
        $left -= $mib;
    }
    $crc = Compress::Raw::Zlib::crc32_combine($crc,
        Compress::Raw::Zlib::crc32("\0" x $left), $left) if $left;
    return $crc;
}

# A mod_zip manifest line: crc (number, hex string or '-'), size, uri, name
sub manifest_line {
    my ($crc, $size, $uri, $name) = @_;
    $crc = sprintf '%08x', $crc if defined $crc && $crc =~ /^\d+\z/
        && $crc !~ /^[0-9a-f]{8}\z/;
    return join(' ', $crc // '-', $size // '-', $uri, $name) . "\n";
}

sub shell_quote {
    my ($s) = @_;
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

# DOS date/time (UTC) as zip stores them, from unix time
sub dos_datetime {
    my ($t) = @_;
    $t = 315532800 if $t < 315532800;
    my @g = gmtime $t;
    my $date = (($g[5] + 1900 - 1980) << 9) | (($g[4] + 1) << 5) | $g[3];
    my $time = ($g[2] << 11) | ($g[1] << 5) | int($g[0] / 2);
    return ($date, $time);
}

# ---------------------------------------------------------------- parser

sub _u16 { unpack 'v', substr($_[0], $_[1], 2) }
sub _u32 { unpack 'V', substr($_[0], $_[1], 4) }
sub _u64 { unpack 'Q<', substr($_[0], $_[1], 8) }

# Extra fields of a header: { id => data }
sub _extras {
    my ($x) = @_;
    my (%f, @order);
    my $p = 0;
    while ($p + 4 <= length $x) {
        my ($id, $len) = unpack 'vv', substr($x, $p, 4);
        $f{$id} = substr($x, $p + 4, $len);
        push @order, $id;
        $p += 4 + $len;
    }
    return (\%f, \@order, $p == length $x);
}

# The end records, found in $tail, the last bytes of an archive of $total
# bytes.  Returns a hash (or dies with the reason).
sub _end_records {
    my ($tail, $total) = @_;
    my $base = $total - length $tail;    # archive offset of $tail's byte 0
    my $i = rindex $tail, "PK\x05\x06";
    die "no end of central directory record\n" if $i < 0;
    die "end record not at the end (comment?)\n"
        if $i + 22 + _u16($tail, $i + 20) != length $tail;
    my %end = (
        end_offset => $base + $i,
        disk => _u16($tail, $i + 4), cd_disk => _u16($tail, $i + 6),
        n_disk => _u16($tail, $i + 8), n => _u16($tail, $i + 10),
        cd_size => _u32($tail, $i + 12), cd_offset => _u32($tail, $i + 16),
        comment_len => _u16($tail, $i + 20), zip64 => 0,
    );
    $end{classic} = { map { $_ => $end{$_} } qw(n n_disk cd_size
        cd_offset) };
    my $l = $i - 20;
    if ($l >= 0 && _u32($tail, $l) == 0x07064b50) {
        my $off64 = _u64($tail, $l + 8);
        my $j = $off64 - $base;
        die "ZIP64 end record outside the data read\n" if $j < 0;
        die "no ZIP64 end record at $off64\n"
            unless _u32($tail, $j) == 0x06064b50;
        die "ZIP64 end record not right before the locator\n"
            unless $j + 56 == $l;
        $end{zip64} = 1;
        $end{locator} = { disk => _u32($tail, $l + 4), offset => $off64,
            disks => _u32($tail, $l + 16) };
        $end{end64} = {
            offset => $off64,
            record_size => _u64($tail, $j + 4),
            made_by => _u16($tail, $j + 12),
            needed => _u16($tail, $j + 14),
            disk => _u32($tail, $j + 16), cd_disk => _u32($tail, $j + 20),
            n_disk => _u64($tail, $j + 24), n => _u64($tail, $j + 32),
            cd_size => _u64($tail, $j + 40),
            cd_offset => _u64($tail, $j + 48),
        };
        @end{qw(n cd_size cd_offset)}
            = @{ $end{end64} }{qw(n cd_size cd_offset)};
        $end{records_offset} = $off64;
    } else {
        $end{records_offset} = $end{end_offset};
    }
    return \%end;
}

# Central directory entries from $cd (the raw central directory).
sub _central {
    my ($cd, $n) = @_;
    my @e;
    my $p = 0;
    for my $k (1 .. $n) {
        die "central header $k: bad signature at +$p\n"
            unless length($cd) >= $p + 46 && _u32($cd, $p) == 0x02014b50;
        my %c = (
            made_by => _u16($cd, $p + 4), needed => _u16($cd, $p + 6),
            flags => _u16($cd, $p + 8), method => _u16($cd, $p + 10),
            time => _u16($cd, $p + 12), date => _u16($cd, $p + 14),
            crc => _u32($cd, $p + 16), csize => _u32($cd, $p + 20),
            usize => _u32($cd, $p + 24),
            nlen => _u16($cd, $p + 28), xlen => _u16($cd, $p + 30),
            clen => _u16($cd, $p + 32), disk => _u16($cd, $p + 34),
            iattr => _u16($cd, $p + 36), eattr => _u32($cd, $p + 38),
            offset => _u32($cd, $p + 42),
        );
        $c{name} = substr $cd, $p + 46, $c{nlen};
        my $x = substr $cd, $p + 46 + $c{nlen}, $c{xlen};
        my ($f, $order, $ok) = _extras($x);
        die "central header $k: malformed extra field\n" unless $ok;
        $c{extra} = $f;
        $c{extra_order} = $order;
        @c{qw(size size32 csize32 offset32)} = @c{qw(usize usize csize
            offset)};
        if (my $z = $f->{1}) {
            # only the fields whose 32-bit value is 0xffffffff, in order
            my $q = 0;
            for my $field (qw(usize csize offset)) {
                next unless $c{$field} == 0xffffffff;
                die "central header $k: ZIP64 field too short\n"
                    if $q + 8 > length $z;
                $c{$field} = unpack 'Q<', substr($z, $q, 8);
                $q += 8;
            }
            $c{zip64_extra_len} = length $z;
            $c{zip64_extra_used} = $q;
        }
        $c{size} = $c{usize};
        if (my $t = $f->{0x5455}) {
            $c{xtime} = unpack 'V', substr($t, 1, 4) if ord($t) & 1;
        }
        push @e, \%c;
        $p += 46 + $c{nlen} + $c{xlen} + $c{clen};
    }
    die "central directory: " . (length($cd) - $p) . " bytes left over\n"
        if $p != length $cd;
    return \@e;
}

# Strict structural parse of a whole archive held in memory: the end
# records, every central header, and every local record (header, data,
# descriptor) laid back to back from offset 0 up to the central
# directory.  Returns { entries => [...], end => {...}, errors => [...] };
# each entry has the central fields plus data (the member bytes), local
# (the local header fields) and descriptor.
sub parse_zip {
    my ($zip) = @_;
    my %z = (errors => [], entries => []);
    my $err = sub { push @{ $z{errors} }, join '', @_ };
    my $end = eval { _end_records($zip, length $zip) };
    if (!$end) {
        $err->($@);
        return \%z;
    }
    $z{end} = $end;
    $err->("central directory does not end at the end records")
        if $end->{cd_offset} + $end->{cd_size} != $end->{records_offset};
    my $cd = substr $zip, $end->{cd_offset}, $end->{cd_size};
    my $entries = eval { _central($cd, $end->{n}) };
    if (!$entries) {
        $err->($@);
        return \%z;
    }
    $z{entries} = $entries;
    my $pos = 0;
    for my $k (0 .. $#$entries) {
        my $c = $entries->[$k];
        my $what = "entry $k ($c->{name})";
        $err->("$what: local header at $c->{offset}, expected $pos")
            if $c->{offset} != $pos;
        my $p = $c->{offset};
        if (_u32($zip, $p) != 0x04034b50) {
            $err->("$what: no local header signature");
            last;
        }
        my %l = (
            needed => _u16($zip, $p + 4), flags => _u16($zip, $p + 6),
            method => _u16($zip, $p + 8), time => _u16($zip, $p + 10),
            date => _u16($zip, $p + 12), crc => _u32($zip, $p + 14),
            csize => _u32($zip, $p + 18), usize => _u32($zip, $p + 22),
            nlen => _u16($zip, $p + 26), xlen => _u16($zip, $p + 28),
        );
        $l{name} = substr $zip, $p + 30, $l{nlen};
        my ($lx, undef, $ok) = _extras(substr $zip, $p + 30 + $l{nlen},
            $l{xlen});
        $err->("$what: malformed local extra field") unless $ok;
        $l{extra} = $lx;
        my $size = $l{usize};
        if (my $z = $lx->{1}) {
            $err->("$what: local ZIP64 field must hold both sizes")
                if length $z != 16;
            $size = unpack 'Q<', $z;
            $l{zip64} = 1;
            $err->("$what: local ZIP64 field without 0xffffffff sizes")
                if $l{usize} != 0xffffffff || $l{csize} != 0xffffffff;
        }
        $c->{local} = \%l;
        $err->("$what: local name differs from the central one")
            if $l{name} ne $c->{name};
        for my $f (qw(flags method time date needed)) {
            $err->("$what: local $f $l{$f} differs from central $c->{$f}")
                if $l{$f} != $c->{$f};
        }
        $err->("$what: method $c->{method}, not stored")
            if $c->{method} != 0;
        $err->("$what: compressed size differs from size")
            if $c->{csize} != $c->{usize};
        $err->("$what: local size $size, central $c->{size}")
            if $size != $c->{size};
        my $utf8 = $c->{name} =~ /[\x80-\xff]/;
        $err->("$what: UTF-8 flag " . ($c->{flags} & 0x800 ? 'set' : 'unset')
            . ' but the name is ' . ($utf8 ? 'not ' : '') . 'ASCII')
            if !!($c->{flags} & 0x800) != !!$utf8;
        $p += 30 + $l{nlen} + $l{xlen};
        $c->{data_offset} = $p;
        $c->{data} = substr $zip, $p, $c->{size};
        $p += $c->{size};
        my $crc = crc32($c->{data});
        $err->(sprintf "$what: CRC %08x in the central header, data has "
            . '%08x', $c->{crc}, $crc) if $crc != $c->{crc};
        if ($c->{flags} & 8) {
            $err->("$what: descriptor flag but local CRC not 0")
                if $l{crc} != 0;
            my $sig = _u32($zip, $p) == 0x08074b50;
            my $q = $p + ($sig ? 4 : 0);
            my $wide = $l{zip64};
            my %d = (signature => $sig, crc => _u32($zip, $q));
            @d{qw(csize usize)} = $wide
                ? (_u64($zip, $q + 4), _u64($zip, $q + 12))
                : (_u32($zip, $q + 4), _u32($zip, $q + 8));
            $d{len} = ($sig ? 4 : 0) + 4 + ($wide ? 16 : 8);
            $c->{descriptor} = \%d;
            $err->("$what: descriptor CRC differs") if $d{crc} != $crc;
            $err->("$what: descriptor size differs")
                if $d{usize} != $c->{size} || $d{csize} != $c->{size};
            $p += $d{len};
        } else {
            $err->("$what: local CRC differs") if $l{crc} != $crc;
        }
        $pos = $p;
    }
    $err->("central directory at $end->{cd_offset}, records end at $pos")
        if $pos != $end->{cd_offset};
    return \%z;
}

# The end records and central directory of an archive of $total bytes of
# which only the last bytes ($tail) were kept; $head (the first bytes)
# gives the first local header.  Dies with the reason on failure.
sub parse_zip_tail {
    my ($tail, $total, $head) = @_;
    my $end = _end_records($tail, $total);
    my $base = $total - length $tail;
    die "central directory not in the kept tail\n"
        if $end->{cd_offset} < $base;
    my $cd = substr $tail, $end->{cd_offset} - $base, $end->{cd_size};
    my $entries = _central($cd, $end->{n});
    my %z = (end => $end, entries => $entries);
    if (defined $head && length $head >= 30
        && _u32($head, 0) == 0x04034b50)
    {
        my %l = (needed => _u16($head, 4), flags => _u16($head, 6),
            method => _u16($head, 8), crc => _u32($head, 14),
            csize => _u32($head, 18), usize => _u32($head, 22),
            nlen => _u16($head, 26), xlen => _u16($head, 28));
        $l{name} = substr $head, 30, $l{nlen};
        ($l{extra}) = _extras(substr $head, 30 + $l{nlen}, $l{xlen});
        $l{header_len} = 30 + $l{nlen} + $l{xlen};
        $z{first_local} = \%l;
    }
    return \%z;
}

# ---------------------------------------------------------------- readers

sub _run {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

my $PY = <<'PY';
import hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
light = len(sys.argv) > 2
# one line per member, tab-separated (JSON::PP is slow on big listings)
print("testzip\t" + ("-" if bad is None else bad.encode("utf-8",
      "surrogateescape").hex()))
for i in z.infolist():
    h = hashlib.sha256()
    n = 0
    with z.open(i) as f:
        while not light:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
    print("\t".join(str(v) for v in (
        i.filename.encode("utf-8", "surrogateescape").hex(),
        h.hexdigest(), i.file_size, n, i.compress_type, i.flag_bits,
        "%04d-%02d-%02d %02d:%02d:%02d" % i.date_time, i.CRC,
        int(i.is_dir()))))
PY

# Run the three readers on an archive file.  Returns a hash:
#   unzip  => [exit, output]
#   python => { testzip, members => [{name (bytes), sha256, size...}] }
#             or { error => output }
#   bsdtar => [exit, listing output], bsdtar_names => [names]
sub run_readers {
    my ($file, %opt) = @_;
    my $q = shell_quote($file);
    my %r;
    # Python runs meanwhile (big archives: each reader reads all of it);
    # light: testzip() only (it reads and checks every member once)
    open my $pipe, '-|', 'python3 -c ' . shell_quote($PY) . " $q"
        . ($opt{light} ? ' light' : '') . ' 2>&1'
        or die "python3: $!";
    $r{unzip} = [_run("unzip -t $q")];
    my $out = do { local $/; <$pipe> } // '';
    close $pipe;
    my $rc = $? >> 8;
    my $py;
    if ($rc == 0 && $out =~ s/\Atestzip\t(-|[0-9a-f]*)\n//) {
        $py = { testzip => $1 eq '-' ? undef : pack('H*', $1),
            members => [] };
        for (split /\n/, $out) {
            my %m;
            @m{qw(name sha256 size read method flags date_time crc dir)}
                = split /\t/;
            $m{name} = pack 'H*', $m{name};
            push @{ $py->{members} }, \%m;
        }
    }
    $r{python} = $py // { error => $out };
    my $tar = "LC_ALL=C.UTF-8 bsdtar";
    $r{bsdtar} = [_run("$tar -tvf $q")];
    my ($trc, $names) = _run("$tar -tf $q");
    $r{bsdtar_names} = $trc == 0 ? [split /\n/, $names] : undef;
    $r{bsdtar_cmd} = $tar;
    return \%r;
}

# bsdtar takes member names as patterns: escape what is special.
sub _tar_pattern {
    my ($name) = @_;
    $name =~ s/([*?\[\]\\])/\\$1/g;
    return $name;
}

sub bsdtar_member {
    my ($file, $name) = @_;
    my ($rc, $out) = _run("LC_ALL=C.UTF-8 bsdtar -xOf " . shell_quote($file)
        . ' ' . shell_quote(_tar_pattern($name)));
    return $rc == 0 ? $out : undef;
}

sub read_zip_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or croak "open $path: $!";
    local $/;
    return scalar <$fh>;
}

# ---------------------------------------------------------------- check

# check_zip($t, $zip_bytes, \@expected_or_\%expected, %opt): one subtest
# (returns its result) reading the archive with the three readers and
# the structural parser.  @expected holds [name => bytes] pairs in
# archive order (a hash: any order); a name ending in "/" is a directory
# entry (bytes ignored).  Options: label, response (checks
# Content-Length against the bytes), descriptor (1: every file member has
# a data descriptor, 0: none has), zip64 (expected presence of the ZIP64
# end records), mtimes ({ name => unix time }), keep (leave the file),
# light (Python only runs testzip(), which reads and CRC-checks every
# member, instead of also hashing each one).
# Returns the subtest result; the parsed archive is in $Edge::Zip::LAST.
our $LAST;

sub check_zip {
    my ($t, $zip, $expect, %opt) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $label = $opt{label} // 'archive';
    my $ordered = ref $expect eq 'ARRAY';
    my @flat = $ordered ? @$expect
        : map { ($_ => $expect->{$_}) } sort keys %$expect;
    my @pairs = map { [@flat[2 * $_, 2 * $_ + 1]] } 0 .. $#flat / 2;
    my @names = map { $_->[0] } @pairs;
    my %want = map { $_->[0] => $_->[1] } @pairs;

    return Test::More::subtest("$label: valid zip (unzip, zipfile, "
        . 'bsdtar, parser)' => sub {
        my $file = "$t->{prefix}/tmp/check-" . ++$SEQ . '.zip';
        open my $fh, '>:raw', $file or die "open $file: $!";
        print {$fh} $zip;
        close $fh or die;

        if (my $res = $opt{response}) {
            my $cl = $res->{headers}{'content-length'};
            Test::More::is(length $zip, $cl,
                'bytes received == Content-Length') if defined $cl;
        }

        # the structural parser
        my $z = parse_zip($zip);
        $LAST = $z;
        Test::More::is_deeply($z->{errors}, [], 'parser: no errors');
        my @got = map { $_->{name} } @{ $z->{entries} };
        if ($ordered) {
            Test::More::is_deeply(\@got, \@names, 'parser: the names, '
                . 'in order');
        } else {
            Test::More::is_deeply([sort @got], [sort @names],
                'parser: the names');
        }
        my ($bad, $desc, $empty) = (0, 0, 0);
        for my $e (@{ $z->{entries} }) {
            next unless exists $want{ $e->{name} };
            if ($e->{name} =~ m{/\z}) {
                $bad++ if $e->{size} != 0;
                next;
            }
            $bad++, Test::More::diag("parser: $e->{name} differs")
                if !defined $e->{data} || $e->{data} ne $want{ $e->{name} };
            $desc++ if $e->{flags} & 8;
            $empty++ if $e->{size} == 0;
        }
        Test::More::is($bad, 0, 'parser: member bytes equal the sources');
        my $files = grep { !m{/\z} } @names;
        if (defined $opt{descriptor}) {
            # an empty member's CRC is known: it never needs one
            Test::More::is($desc, $opt{descriptor} ? $files - $empty : 0,
                'data descriptors: ' . ($opt{descriptor}
                    ? 'all non-empty members' : 'none'));
        }
        if (defined $opt{zip64}) {
            Test::More::is(!!($z->{end}{zip64}), !!$opt{zip64},
                'ZIP64 end records: ' . ($opt{zip64} ? 'present'
                    : 'absent'));
        }
        if (my $mt = $opt{mtimes}) {
            for my $n (sort keys %$mt) {
                my ($e) = grep { $_->{name} eq $n } @{ $z->{entries} };
                my ($d, $tm) = dos_datetime($mt->{$n});
                Test::More::is_deeply([$e && $e->{xtime}, $e && $e->{date},
                    $e && $e->{time}], [$mt->{$n}, $d, $tm],
                    "mtime of $n (extended and DOS)");
            }
        }

        my $r = run_readers($file, light => $opt{light});

        # Info-ZIP
        my ($urc, $uout) = @{ $r->{unzip} };
        Test::More::ok($urc == 0 && $uout =~ /No errors detected/,
            'unzip -t: no errors') or Test::More::diag($uout);

        # Python
        my $py = $r->{python};
        if (Test::More::ok(!$py->{error} && !defined $py->{testzip},
                'python zipfile: testzip() is None'))
        {
            my @pn = map { $_->{name} } @{ $py->{members} };
            Test::More::is_deeply($ordered ? \@pn : [sort @pn],
                $ordered ? \@names : [sort @names], 'python: the names');
            my @diff = $opt{light} ? () : grep {
                !$_->{dir} && exists $want{ $_->{name} }
                    && $_->{sha256} ne sha256_hex($want{ $_->{name} })
            } @{ $py->{members} };
            Test::More::is(scalar @diff, 0, 'python: sha256 of every member')
                or Test::More::diag("differ: @{[map { $_->{name} } @diff]}")
                unless $opt{light};
        } else {
            Test::More::diag($py->{error} // "testzip: $py->{testzip}");
        }

        # libarchive
        my ($trc, $tout) = @{ $r->{bsdtar} };
        Test::More::ok($trc == 0 && $tout !~ /warning|error/i,
            'bsdtar -tvf') or Test::More::diag($tout);
        my $tn = $r->{bsdtar_names} // [];
        Test::More::is_deeply($ordered ? $tn : [sort @$tn],
            $ordered ? \@names : [sort @names], 'bsdtar: the names');
        my @tdiff;
        my @files = grep { !m{/\z} } @names;
        # a sample for big archives: bsdtar -x re-reads the archive each
        # time
        my $step = @files > 1000 ? int(@files / 10)
            : @files > 40 ? int(@files / 20) : 1;
        for (my $i = 0; $i < @files; $i += $step) {
            my $n = $files[$i];
            my $got = bsdtar_member($file, $n);
            push @tdiff, $n if !defined $got || $got ne $want{$n};
        }
        Test::More::is_deeply(\@tdiff, [], 'bsdtar -xOf: member bytes'
            . ($step > 1 ? ' (a sample of ' . int(@files / $step) . ')'
                : ''));

        unlink $file unless $opt{keep};
    });
}

1;

__END__

=head1 NAME

Edge::Zip - check album zips with unzip, Python's zipfile, bsdtar and a
strict parser

=head1 SYNOPSIS

    use Edge::Zip qw(check_zip crc32_hex manifest_line);

    my $r = $t->get('/album');
    check_zip($t, $r->{content}, [ 'a.jpg' => $a, 'b/c.jpg' => $c ],
        label => 'album', response => $r, descriptor => 0);

=head1 FUNCTIONS

C<check_zip($t, $bytes, \@pairs_or_\%map, %opt)> runs one subtest:
the structural parser (C<parse_zip>), C<unzip -t>, Python's zipfile
(C<testzip()>, names, sha256 of each member), C<bsdtar -tvf> and
C<bsdtar -xOf> per member, all compared with the expected names and
bytes.  Options: C<label>, C<response> (an HTTP response: its
Content-Length must equal the bytes), C<descriptor>, C<zip64>,
C<mtimes>, C<keep>, C<light>.  The parse is left in C<$Edge::Zip::LAST>.

C<parse_zip($bytes)> checks everything it can about the layout (end
records, central and local headers agreeing, back-to-back records,
CRCs, descriptors, UTF-8 flag, ZIP64 fields) and returns
C<{ entries, end, errors }>.

C<parse_zip_tail($tail, $total, $head)> reads the end records and the
central directory from the last bytes of a streamed archive.

C<run_readers($file)>, C<bsdtar_member($file, $name)>, C<crc32($data)>,
C<crc32_hex>, C<crc32_zeros($n)>, C<manifest_line($crc, $size, $uri,
$name)>, C<dos_datetime($unix)>, C<shell_quote>, C<read_zip_file>.

=cut
