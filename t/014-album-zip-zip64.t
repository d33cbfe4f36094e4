#!/usr/bin/perl
# album_zip and ZIP64, exactly when needed.  70,000 entries (more than
# 65,535): the ZIP64 end records, the classic ones saturated, every
# reader happy, and the time it takes.  One sparse 4.5 GB member with its
# CRC given, between two small ones (the last one's offset is past 4 GiB):
# streamed to a counting reader that keeps only the first and last bytes;
# the local and central ZIP64 extra fields and the end records are parsed
# from those; ranges of the tail and across 4 GiB match; and, when the
# disk has room, the archive is saved (sparsely: curl | dd conv=sparse)
# and read by unzip -t, Python's zipfile (testzip) and bsdtar.
#
# ALBUM_ZIP_BIG=0 skips the 4.5 GB part; ALBUM_ZIP_BIG=nosave skips only
# saving it for the three readers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx qw(parse_response);
use Edge::Nginx::Backend qw(write_all);
use Edge::Zip qw(check_zip crc32_hex crc32_zeros manifest_line parse_zip
    parse_zip_tail run_readers shell_quote);

my $t = Edge::Nginx->new(modules => ['album_zip']);
my $prefix = $t->prefix;

my $N = 70_000;
my $tiny = "tiny\n";
$t->write_file('html/media/tiny.txt', $tiny);
my $crc = crc32_hex($tiny);
my $manifest = join '', map {
    manifest_line($crc, length $tiny, '/media/tiny.txt',
        sprintf('d%02d/f%05d.txt', $_ % 100, $_))
} 1 .. $N;
$t->write_file('html/m/many.txt', $manifest);
$t->write_file('html/m/few.txt', join '', map {
    manifest_line($crc, length $tiny, '/media/tiny.txt', "f$_.txt") } 1 .. 3);

# the big one: 4500 MiB of zeros, sparse
my $BIG = 4500 * 1024 * 1024;
my $big_mode = $ENV{ALBUM_ZIP_BIG} // 1;
if ($big_mode) {
    my $path = "$prefix/html/media/big.bin";
    open my $fh, '>', $path or die;
    truncate $fh, $BIG or die "truncate: $!";
    close $fh;
    my $t0 = time;
    my $bcrc = sprintf '%08x', crc32_zeros($BIG);
    diag sprintf 'CRC-32 of 4500 MiB of zeros: %s (%.2f s)', $bcrc,
        time - $t0;
    $t->write_file('html/m/big.txt', join '',
        manifest_line(crc32_hex('before'), 6, '/media/before.txt',
            'before.txt'),
        manifest_line($bcrc, $BIG, '/media/big.bin', 'big.bin'),
        manifest_line(crc32_hex('after'), 5, '/media/after.txt', 'after.txt'));
    $t->write_file('html/media/before.txt', 'before');
    $t->write_file('html/media/after.txt', 'after');
}

$t->run(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        sendfile on;

        location /media/ { }

        location /m/ {
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_max_files 100000;
            album_zip_max_manifest_size 8m;
        }
    }
EOF

# ---- a few entries: no ZIP64

my $r = $t->get('/m/few.txt');
check_zip($t, $r->{content}, [map { ("f$_.txt" => $tiny) } 1 .. 3],
    label => 'three entries', response => $r, zip64 => 0);
is $Edge::Zip::LAST->{end}{classic}{n}, 3, 'three entries: classic count';

# ---- 70,000 entries

my $t0 = time;
$r = $t->get('/m/many.txt', { timeout => 300 });
my $took = time - $t0;
diag sprintf '%d entries: %.2f s, %d bytes', $N, $took,
    length $r->{content};
is $r->{status}, 200, "$N entries: 200";
cmp_ok $took, '<', 60, "$N entries: under 60 s";

my @expect = map { (sprintf('d%02d/f%05d.txt', $_ % 100, $_) => $tiny) }
    1 .. $N;
$t0 = time;
check_zip($t, $r->{content}, \@expect, label => "$N entries",
    response => $r, zip64 => 1, descriptor => 0, light => 1);
diag sprintf '%d entries: checked in %.1f s', $N, time - $t0;
my $end = $Edge::Zip::LAST->{end};
is $end->{end64}{n}, $N, 'ZIP64 end record: the entry count';
is $end->{end64}{n_disk}, $N, 'ZIP64 end record: the count on this disk';
is $end->{classic}{n}, 0xffff, 'classic end record: count saturated';
is $end->{classic}{n_disk}, 0xffff, 'classic end record: disk count '
    . 'saturated';
cmp_ok $end->{classic}{cd_offset}, '<', 0xffffffff,
    'classic end record: the offset fits, so it is exact';
is $end->{classic}{cd_offset}, $end->{cd_offset}, '... and right';
is $end->{end64}{needed}, 45, 'ZIP64 end record: version 4.5';
is $end->{locator}{disks}, 1, 'locator: one disk';
my $zip64_entries = grep { exists $_->{extra}{1} }
    @{ $Edge::Zip::LAST->{entries} };
is $zip64_entries, 0, 'no entry has a ZIP64 extra field (none needs one)';

# ---- 4.5 GB

SKIP: {
    skip 'ALBUM_ZIP_BIG=0', 1 unless $big_mode;

    # saved sparsely, but the room is checked for a file system that
    # cannot make holes
    my $free = free_kb("$prefix/tmp");
    my $save = $big_mode ne 'nosave' && $free > 6 * 1024 * 1024;
    diag sprintf 'free space in %s: %.1f GB: %s', "$prefix/tmp",
        $free / 1024 / 1024, $save ? 'saving the archive for the readers'
        : $big_mode eq 'nosave' ? 'not saving it (ALBUM_ZIP_BIG=nosave)'
        : 'not saving it (needs 6 GB): the three readers are skipped';

    $t0 = time;
    my $s = stream('/m/big.txt', $save ? "$prefix/tmp/big.zip" : undef);
    $took = time - $t0;
    diag sprintf '4.5 GB archive: %d bytes in %.2f s (%.0f MB/s)',
        $s->{count}, $took, $s->{count} / $took / 1e6;

    is $s->{res}{status}, 200, '4.5 GB: 200';
    my $cl = $s->{res}{headers}{'content-length'};
    is $s->{count}, $cl, '4.5 GB: bytes received == Content-Length';
    ok $s->{closed} || $s->{count} == $cl, '4.5 GB: complete';
    cmp_ok $cl, '>', $BIG, '4.5 GB: Content-Length beyond 4 GiB';
    is $s->{res}{headers}{'accept-ranges'}, 'bytes',
        '4.5 GB: Accept-Ranges (CRC given)';

    my $z = eval { parse_zip_tail($s->{tail}, $s->{count}, $s->{head}) };
    ok $z, '4.5 GB: the tail parses' or diag $@;
    $z //= { entries => [], end => {} };
    my @e = @{ $z->{entries} };
    is_deeply [map { $_->{name} } @e], ['before.txt', 'big.bin', 'after.txt'],
        '4.5 GB: the central directory';
    my ($b4, $big, $after) = @e;
    $end = $z->{end};
    ok $end->{zip64}, '4.5 GB: ZIP64 end records';
    is $end->{n}, 3, '4.5 GB: ZIP64 end record: 3 entries';
    is $end->{classic}{n}, 3, '4.5 GB: classic count exact (3)';
    is $end->{classic}{cd_offset}, 0xffffffff,
        '4.5 GB: classic central directory offset saturated';
    cmp_ok $end->{cd_offset}, '>', $BIG, '4.5 GB: the real offset, in ZIP64';
    is $end->{end64}{record_size}, 44, '4.5 GB: ZIP64 end record size 44';
    is $end->{locator}{offset}, $end->{records_offset},
        '4.5 GB: the locator points at the ZIP64 end record';

    ok !exists $b4->{extra}{1}, 'before.txt: no ZIP64 extra field';
    is $b4->{needed}, 20, 'before.txt: version 2.0';
    is_deeply [$big->{csize32}, $big->{size32}], [0xffffffff, 0xffffffff],
        'big.bin: 32-bit sizes saturated';
    is $big->{usize} == $BIG && $big->{csize} == $BIG, 1,
        'big.bin: ZIP64 extra field: both sizes';
    is $big->{offset}, length(header_of('before.txt')) + 6,
        'big.bin: offset (32-bit, exact)';
    is $big->{needed}, 45, 'big.bin: version 4.5';
    is $big->{flags} & 8, 0, 'big.bin: no data descriptor (CRC given)';
    is $big->{zip64_extra_len}, 16, 'big.bin: ZIP64 extra: sizes only';
    is $after->{offset}, $big->{offset} + 30 + 7 + 9 + 20 + $BIG,
        'after.txt: offset past 4 GiB, in the ZIP64 extra field';
    is $after->{offset32}, 0xffffffff, 'after.txt: 32-bit offset saturated';
    is $after->{zip64_extra_len}, 24,
        'after.txt: ZIP64 extra: both sizes and the offset';
    is $after->{size}, 5, 'after.txt: its size';

    # the local headers kept from the head of the stream
    my $first = $z->{first_local};
    is $first->{name}, 'before.txt', 'the first local header';
    my $lh = substr $s->{head}, $big->{offset}, 30 + 7 + 9 + 20;
    my ($sig, $need, $flags, $method, undef, undef, $lcrc, $lc, $lu, $nl,
        $xl) = unpack 'VvvvvvVVVvv', $lh;
    is $sig, 0x04034b50, 'big.bin: local header';
    is $need, 45, 'big.bin: local version 4.5';
    is_deeply [$lc, $lu], [0xffffffff, 0xffffffff],
        'big.bin: local 32-bit sizes saturated';
    is $lcrc, $big->{crc}, 'big.bin: local CRC (given up front)';
    my ($xid, $xlen, $xu, $xc) = unpack 'vvQ<Q<', substr $lh, 30 + $nl, 20;
    is_deeply [$xid, $xlen, $xu, $xc], [1, 16, $BIG, $BIG],
        'big.bin: local ZIP64 extra field with both sizes';

    # the tail again, as a range across the 4 GiB mark's successor
    my $from = $s->{count} - length $s->{tail};
    my $rr = stream('/m/big.txt', undef, "bytes=$from-");
    is $rr->{res}{status}, 206, 'range of the tail: 206';
    ok $rr->{tail} eq $s->{tail}, 'range of the tail: the same bytes';
    my $mid = 0xffffffff - 100;
    $rr = stream('/m/big.txt', undef, "bytes=$mid-" . ($mid + 199));
    is $rr->{count}, 200, 'range across 4 GiB: 200 bytes';
    is $rr->{tail}, "\0" x 200, 'range across 4 GiB: zeros of big.bin';

    SKIP: {
        skip 'the 4.5 GB archive is not saved', 4 unless $save;
        my $file = "$prefix/tmp/big.zip";
        is -s $file, $cl, 'saved: the whole archive';
        $t0 = time;
        my $res = run_readers($file, light => 1);
        diag sprintf 'three readers on 4.5 GB: %.1f s', time - $t0;
        my ($urc, $uout) = @{ $res->{unzip} };
        ok $urc == 0 && $uout =~ /No errors detected/, 'unzip -t'
            or diag $uout;
        my $py = $res->{python};
        ok !$py->{error} && !defined $py->{testzip}
            && (grep { $_->{name} eq 'big.bin' && $_->{size} == $BIG }
                @{ $py->{members} }), 'python zipfile: testzip() is None'
            or diag explain $py;
        ok $res->{bsdtar}[0] == 0 && "@{ $res->{bsdtar_names} // [] }"
            eq 'before.txt big.bin after.txt', 'bsdtar -tvf'
            or diag $res->{bsdtar}[1];
        unlink $file;
    }
}

$t->done;

sub header_of {
    my ($name) = @_;
    return 'x' x (30 + length($name) + 9);
}

# the same, saved by curl and dd, sparsely (faster than Perl's loop); the
# kept bytes are read back from the file
sub curl_sparse {
    my ($path, $file) = @_;
    my $h = "$file.headers";
    system('/bin/sh', '-c', 'curl -s --max-time 120 -D ' . shell_quote($h)
        . ' -o - ' . shell_quote($t->url($path)) . ' | dd of='
        . shell_quote($file) . ' bs=1M iflag=fullblock conv=sparse '
        . 'status=none') == 0 or diag "curl | dd: $?";
    open my $fh, '<:raw', $file or die "open $file: $!";
    my $count = -s $fh;
    my ($head, $tail) = ('', '');
    sysread $fh, $head, 65536;
    my $keep = $count < (1 << 20) ? $count : 1 << 20;
    sysseek $fh, $count - $keep, 0;
    sysread $fh, $tail, $keep;
    close $fh;
    return { res => parse_response($t->read_file($h) // '', 1),
        count => $count, head => $head, tail => $tail, closed => 1 };
}

sub free_kb {
    my ($dir) = @_;
    my @df = split ' ', (split /\n/, `df -Pk $dir`)[1] // '';
    return $df[3] // 0;
}

# GET (with a Range) on a raw socket: count the body, keep its first 64 kB
# and last 1 MB, write it to $file if given: sparsely, runs of zeros are
# holes, so that saving 4.5 GB of them costs neither disk nor time
sub stream {
    my ($path, $file, $range) = @_;
    return curl_sparse($path, $file)
        if $file && system('command -v curl dd >/dev/null 2>&1') == 0;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    write_all($sock, "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . ($range ? "Range: $range\r\n" : '') . "\r\n");
    my ($out, $zeros) = (undef, "\0" x (1 << 20));
    if ($file) {
        open $out, '>:raw', $file or die "open $file: $!";
    }
    my ($buf, $head, $count, $hdr, @tail, $kept) = ('', '', 0);
    my $sel = IO::Select->new($sock);
    my $closed = 0;
    while ($sel->can_read(30)) {
        my $n = sysread $sock, $buf, 1 << 20;
        if (!$n) {
            $closed = 1;
            last;
        }
        if (!defined $hdr) {
            $head .= $buf;
            my $i = index $head, "\r\n\r\n";
            next if $i < 0;
            $hdr = substr $head, 0, $i + 4;
            $buf = substr $head, $i + 4;
            $head = '';
        }
        $count += length $buf;
        $head .= substr $buf, 0, 65536 - length $head
            if length $head < 65536;
        # the last reads, as long as the ones before them hold 1 MB
        push @tail, $buf;
        $kept += length $buf;
        $kept -= length shift @tail
            while $kept - length($tail[0]) >= 1 << 20;
        next unless $out;
        if ($buf eq substr $zeros, 0, length $buf) {
            sysseek $out, length $buf, 1 or die "seek: $!";
        } else {
            syswrite $out, $buf or die "write: $!";
        }
    }
    if ($out) {
        truncate $out, $count or die "truncate: $!";
        close $out;
    }
    my $tail = join '', @tail;
    substr($tail, 0, length($tail) - (1 << 20), '') if length $tail > 1 << 20;
    return { res => parse_response($hdr // '', 1), count => $count,
        head => $head, tail => $tail, closed => $closed };
}
