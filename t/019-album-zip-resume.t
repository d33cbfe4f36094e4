#!/usr/bin/perl
# album_zip_directory resumes from the first download: every local
# member's CRC is computed on the thread pool before it is sent (and
# remembered in album_zip_crc_store), so the archive has one layout, with
# Content-Length and Accept-Ranges, from its very first request.  On a
# freshly started nginx with an empty store: a first request for a range
# gets 206; an interrupted first download is finished by curl -C -, by
# wget -c and by aria2c -x8 -s8, also across a restart of nginx, into
# the bytes of a full download; Java's ZipInputStream (which refuses
# stored entries with data descriptors) reads the album; the store is
# used after a restart; a large album (ALBUM_FILES, 70000 by default)
# resumes too.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Zip qw(check_zip parse_zip crc32);

for my $tool (qw(curl wget aria2c java)) {
    plan skip_all => "$tool not installed"
        unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

my $t = Edge::Nginx->new(modules => ['album_zip']);
my $P = $t->prefix;

srand 17;
my $pool = pack 'L*', map { int rand 4294967296 } 1 .. 1_000_000;
sub noise {
    my ($n) = @_;
    return substr($pool, int rand(length($pool) - $n), $n);
}

# albums of 24 files of 100-400 KB; each client gets its own, so that
# each of them meets an album with no CRC known
my %album;
for my $a (qw(curl wget aria restart range java)) {
    for my $i (1 .. 24) {
        my $name = sprintf 'day%d/img%02d.jpg', $i % 3, $i;
        my $data = noise(100_000 + int rand 300_000);
        $t->write_file("html/albums/$a/$name", $data);
        $album{$a}{$name} = $data;
    }
}

my $N = $ENV{ALBUM_FILES} // 70_000;
my $t0 = time;
mkdir "$P/html/albums/many";
for my $i (1 .. $N) {
    my $dir = sprintf '%s/html/albums/many/d%03d', $P, $i % 100;
    mkdir $dir unless -d $dir;
    open my $fh, '>', sprintf('%s/f%05d.txt', $dir, $i)
        or die "$dir: $!";
    print {$fh} "photo $i\n";
    close $fh;
}
diag sprintf '%d files written in %.1f s', $N, time - $t0;

my $conf = <<'EOF';
    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;

        location /albums/ {
            album_zip_directory on;
            album_zip_crc_store %%PREFIX%%/crc;
            album_zip_max_files 100000;
        }
    }
EOF
mkdir "$P/crc";
$t->run($conf);

sub url { $t->url("/albums/$_[0].zip") }

sub sh {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

# the first $n bytes of a download, then the connection is closed
sub partial {
    my ($path, $n, $file) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    print {$s} "GET $path HTTP/1.1\r\nHost: x\r\n\r\n";
    my $buf = '';
    while (length $buf < 65536 + $n) {
        my $got = sysread $s, $buf, 65536, length $buf;
        last unless $got;
        my $i = index $buf, "\r\n\r\n";
        last if $i >= 0 && length($buf) - $i - 4 >= $n;
    }
    close $s;
    my $i = index $buf, "\r\n\r\n";
    my ($head, $body) = (substr($buf, 0, $i), substr($buf, $i + 4, $n));
    open my $fh, '>:raw', $file or die;
    print {$fh} $body;
    close $fh;
    return $head;
}

sub slurp {
    open my $fh, '<:raw', $_[0] or return '';
    local $/;
    return scalar <$fh>;
}

sub status_lines {
    my ($path) = @_;
    return map { m{"GET \Q$path\E HTTP/1\.1" (\d+)} ? $1 : () }
        split /\n/, $t->access_log;
}

my %full;
sub full {
    my ($a) = @_;
    my $r = $t->get("/albums/$a.zip", { timeout => 60 });
    is $r->{status}, 200, "$a: the full download later: 200";
    return $r->{content};
}

# ---- a range as the very first request: 206

my $r = $t->get('/albums/range.zip', { headers => { Range => 'bytes=1000000-' },
    timeout => 30 });
is $r->{status}, 206, 'range first: 206';
is $r->{headers}{'accept-ranges'}, 'bytes', 'range first: Accept-Ranges';
my ($total) = ($r->{headers}{'content-range'} // '') =~ m{/(\d+)$};
ok $total, 'range first: Content-Range with the size';
my $full = full('range');
is length $full, $total, 'range first: the size holds';
ok $r->{content} eq substr($full, 1_000_000), 'range first: the same bytes';
$r = $t->get('/albums/range.zip', { headers => { Range => 'bytes=5000-9999' } });
is $r->{status}, 206, 'range first: a middle range 206';
ok $r->{content} eq substr($full, 5000, 5000), 'range first: its bytes';

# ---- curl -C -

my $head = partial('/albums/curl.zip', 3_000_000, "$P/tmp/curl.zip");
like $head, qr/^HTTP\/1\.1 200/, 'curl: the first download 200';
like $head, qr/\r\nAccept-Ranges: bytes/i, 'curl: with Accept-Ranges';
like $head, qr/\r\nContent-Length: \d+/i, 'curl: with Content-Length';
my ($rc, $out) = sh("curl -sS -f -C - -o $P/tmp/curl.zip " . url('curl'));
is $rc, 0, 'curl -C -: exit 0' or diag $out;
is((status_lines('/albums/curl.zip'))[-1], 206, 'curl -C -: 206');
$full = full('curl');
ok slurp("$P/tmp/curl.zip") eq $full, 'curl -C -: byte-identical';
check_zip($t, $full, [map { $_ => $album{curl}{$_} } sort keys %{ $album{curl} }],
    label => 'curl', descriptor => 0);

# ---- wget -c

partial('/albums/wget.zip', 2_500_000, "$P/tmp/wget.zip");
($rc, $out) = sh("wget -q -c -O $P/tmp/wget.zip " . url('wget'));
is $rc, 0, 'wget -c: exit 0' or diag $out;
is((status_lines('/albums/wget.zip'))[-1], 206, 'wget -c: 206');
ok slurp("$P/tmp/wget.zip") eq full('wget'), 'wget -c: byte-identical';

# ---- aria2c -x8 -s8: interrupted, then continued

my @aria = (qw(aria2c -q -x8 -s8 -k1M --allow-overwrite=true
    --auto-file-renaming=false --file-allocation=none), '-d', "$P/tmp",
    '-o', 'aria.zip');
my $pid = fork // die;
if (!$pid) {
    open STDOUT, '>', '/dev/null';
    open STDERR, '>&', \*STDOUT;
    exec(@aria, '--max-overall-download-limit=1M', url('aria'))
        or POSIX::_exit(127);
}
Time::HiRes::sleep(1.5);
kill 'INT', $pid;
waitpid $pid, 0;
ok -e "$P/tmp/aria.zip.aria2", 'aria2c: interrupted, its control file';
my $before = () = status_lines('/albums/aria.zip');
($rc, $out) = sh(join ' ', @aria, '-c', url('aria'));
is $rc, 0, 'aria2c -x8 -s8 -c: exit 0' or diag $out;
my @s = status_lines('/albums/aria.zip');
diag "aria2c: @s";
cmp_ok scalar(grep { $_ == 206 } @s), '>=', 8,
    'aria2c: ranged requests answered 206';
ok !grep({ $_ != 206 && $_ != 200 } @s), 'aria2c: nothing but 200 and 206';
is scalar(grep { $_ == 200 } @s[$before .. $#s]), 1,
    'aria2c: only its first request is not ranged';
ok slurp("$P/tmp/aria.zip") eq full('aria'), 'aria2c: byte-identical';

# ---- Java's ZipInputStream

$t->write_file('tmp/ZipRead.java', <<'EOF');
import java.io.*;
import java.util.zip.*;

public class ZipRead {
    public static void main(String[] args) throws Exception {
        ZipInputStream in = new ZipInputStream(new BufferedInputStream(
            new FileInputStream(args[0])));
        byte[] buf = new byte[65536];
        ZipEntry e;
        while ((e = in.getNextEntry()) != null) {
            CRC32 crc = new CRC32();
            long n = 0;
            int k;
            while ((k = in.read(buf)) > 0) {
                crc.update(buf, 0, k);
                n += k;
            }
            System.out.printf("%s %d %08x%n", e.getName(), n, crc.getValue());
        }
    }
}
EOF
open my $fh, '>:raw', "$P/tmp/java.zip" or die;
print {$fh} full('java');
close $fh;
($rc, $out) = sh("cd $P/tmp && java ZipRead.java java.zip");
is $rc, 0, 'java: ZipInputStream reads it' or diag $out;
is $out, join('', map { sprintf "%s %d %08x\n", $_, length $album{java}{$_},
    crc32($album{java}{$_}) } sort keys %{ $album{java} }),
    'java: every entry, its size and CRC';

# ---- a restart between the two halves

partial('/albums/restart.zip', 4_000_000, "$P/tmp/restart.zip");
$t->stop;
$t->run($conf);
($rc, $out) = sh("curl -sS -f -C - -o $P/tmp/restart.zip " . url('restart'));
is $rc, 0, 'restart: curl -C - exit 0' or diag $out;
ok slurp("$P/tmp/restart.zip") eq full('restart'),
    'restart: byte-identical';

# the store is used after the restart: every file of these albums is in it
my @store = glob "$P/crc/*/*";
cmp_ok scalar(@store), '>=', 6 * 24, 'the store holds the CRCs';
like $t->error_log, qr/CRCs of \d+ members done, [1-9]\d* from the store/,
    'after the restart, CRCs come from the store'
    if $t->error_log =~ /\[debug\]/;

# ---- a large album

$t0 = time;
$r = $t->head('/albums/many.zip', { timeout => 120 });
my $many = $r->{headers}{'content-length'};
ok $many, "$N files: HEAD: Content-Length $many";
$head = partial('/albums/many.zip', int($many / 2), "$P/tmp/many.zip");
like $head, qr/^HTTP\/1\.1 200/, "$N files: the first download 200";
($rc, $out) = sh("curl -sS -f -C - -o $P/tmp/many.zip " . url('many'));
is $rc, 0, "$N files: curl -C - exit 0" or diag $out;
is((status_lines('/albums/many.zip'))[-1], 206, "$N files: 206");
my $m = full('many');
ok slurp("$P/tmp/many.zip") eq $m, "$N files: byte-identical";
my $z = parse_zip($m);
is scalar @{ $z->{entries} }, $N, "$N files: every entry";
is_deeply $z->{errors}, [], "$N files: a valid archive";
diag sprintf '%d files: %d bytes, resumed and checked in %.1f s', $N,
    length $m, time - $t0;

$t->done;
