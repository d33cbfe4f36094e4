#!/usr/bin/perl
# image_ingest_archive: a zip, zip64, tar.gz, tar.bz2, tar.xz or 7z body
# (made here with Debian's zip, tar, 7z and Python) is ingested entry by
# entry like single uploads: one result per entry in archive order,
# stored / duplicate / skipped / refused with the documented reasons;
# duplicates inside one archive and across archives; bombs (42.zip-style
# nesting, a 1 GB entry of zeros at ~1000:1), traversal and absolute
# names, control characters, symlinks and hard links, an encrypted zip,
# truncated archives, junk, the limits; the store holds exactly the
# images reported stored; notifications per image and per archive
# (image_ingest_notify_batch); a body that is no archive is a single
# upload; 5,000 images in one archive (time and the worker's RSS shown).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use File::Path qw(make_path);
use File::Temp ();
use JSON::PP ();
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time);

use Edge::Nginx;
use Edge::Image qw(have_vips png slurp sample_photo);

have_vips() or BAIL_OUT('the vips command is missing (libvips-tools)');
for my $tool (qw(zip tar 7z python3 xz bzip2)) {
    system("command -v $tool >/dev/null") == 0
        or BAIL_OUT("$tool is missing (see deps.txt)");
}

my $json = JSON::PP->new->utf8->canonical;

my $t = Edge::Nginx->new(modules => ['image_variant'],
                         thread_pools => { ingest => 'threads=2' });
my $p = $t->prefix;
my $w = "$p/work";
make_path($w);

# the 5,000 images' store: on tmpfs when there is one, so that the test
# measures the archive's path, not the disk's fsync (5 per image)
my $many = (-d '/dev/shm' && -w '/dev/shm')
           ? File::Temp::tempdir('edge-many-XXXXXX', DIR => '/dev/shm',
                                 CLEANUP => 1)
           : "$p/many";
$t->var(MANY => $many);

$t->backend(sub { [200, { 'Content-Type' => 'application/json' }, '{}'] });

$t->run(<<'EOF');
    image_variant_preset small width=32 height=32 fit=cover format=jpeg;
    image_variant_thread_pool ingest;

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 100m;
        client_body_buffer_size 16k;

        location = /albums {
            image_ingest;
            image_ingest_store      %%PREFIX%%/store;
            image_ingest_variants   small;
            image_ingest_uri        /img/;
            image_ingest_archive    on;
            image_ingest_meta       user $http_x_user;
            image_ingest_notify     http://127.0.0.1:%%BACKEND%%/each;
        }

        location = /batch {
            image_ingest;
            image_ingest_store         %%PREFIX%%/batch;
            image_ingest_archive       on;
            image_ingest_notify        http://127.0.0.1:%%BACKEND%%/batch;
            image_ingest_notify_batch  on;
        }

        location = /off {
            image_ingest;
            image_ingest_store      %%PREFIX%%/off;
        }

        location = /few {
            image_ingest;
            image_ingest_store                %%PREFIX%%/few;
            image_ingest_archive              on;
            image_ingest_archive_max_entries  3;
        }

        location = /bytes {
            image_ingest;
            image_ingest_store              %%PREFIX%%/bytes;
            image_ingest_archive            on;
            image_ingest_archive_max_bytes  20k;
        }

        location = /slow {
            image_ingest;
            image_ingest_store           %%PREFIX%%/slow;
            image_ingest_variants        small;
            image_ingest_archive         on;
            image_ingest_thread_timeout  1s;
        }

        location = /ping { return 200 "pong\n"; }

        location = /many {
            image_ingest;
            image_ingest_store      %%MANY%%;
            image_ingest_archive    on;
        }
    }
EOF

# ---- helpers

sub put {
    my ($path, $body, %h) = @_;
    my $r = $t->request('PUT', $path,
                        { content => $body, headers => \%h, timeout => 60 });
    $r->{json} = eval { $json->decode($r->{content}) } // {};
    return $r;
}

sub sh {
    my ($cmd) = @_;
    system("cd '$w' && ($cmd) >/dev/null 2>&1") == 0 or die "failed: $cmd";
}

sub py {
    my ($code) = @_;
    open my $fh, '>', "$w/gen.py" or die;
    print {$fh} "import io, os, sys, tarfile, zipfile\n",
                "os.chdir(sys.argv[1])\n", $code;
    close $fh;
    system('python3', "$w/gen.py", $w) == 0 or die "python failed";
}

sub write_file {
    my ($rel, $data) = @_;
    my $path = "$w/$rel";
    (my $dir = $path) =~ s{/[^/]*\z}{};
    make_path($dir);
    open my $fh, '>:raw', $path or die "$path: $!";
    print {$fh} $data;
    close $fh;
    return md5_hex($data);
}

my $n = 0;
sub img { $n++; png(width => 20 + $n % 50, height => 10 + $n % 7,
                    fill => [$n % 256, int($n / 256) % 256, 77]) }

# name => status, in order
sub statuses {
    return [ map { [$_->{name}, $_->{status}] } @{ $_[0]{json}{entries} } ];
}
sub entry {
    my ($r, $name) = @_;
    return (grep { $_->{name} eq $name } @{ $r->{json}{entries} })[0] // {};
}

# the originals a store holds: their keys
sub stored_keys {
    my ($dir) = @_;
    opendir my $dh, $dir or return ();
    return sort map { /^([0-9a-f]{32})\.(?:png|jpg|gif|webp)\z/ ? $1 : () }
           readdir $dh;
}

sub keys_of {
    my ($r, @status) = @_;
    my %s = map { $_ => 1 } @status;
    return sort map { $s{$_->{status}} ? $_->{key} : () }
           @{ $r->{json}{entries} };
}

sub hooks { grep { $_->{path} eq $_[0] } $t->backend_requests }

# ---- a zip of an album: images, a folder, junk, a duplicate

my %k;
$k{a} = write_file('album/Day 1/IMG_001.png', img());
$k{b} = write_file('album/Day 1/IMG_002.png', img());
$k{c} = write_file('album/Day 2/IMG_003.png', img());
write_file('album/Day 2/copy of 001.png', slurp("$w/album/Day 1/IMG_001.png"));
write_file('album/.DS_Store', "\0\0\0\1Bud1" . "\0" x 100);
write_file('album/Thumbs.db', "\xd0\xcf\x11\xe0" . "x" x 100);
write_file('album/__MACOSX/Day 1/._IMG_001.png', "\0\5\26\7" . "y" x 50);
write_file('album/notes.txt', "holiday\n");
write_file('album/broken.jpg', "\xff\xd8\xff\xe0" . "not really" x 10);

sh('cd album && zip -q -X ../album.zip "Day 1/" "Day 1/IMG_001.png" '
   . '"Day 1/IMG_002.png" "Day 2/" "Day 2/IMG_003.png" '
   . '"Day 2/copy of 001.png" .DS_Store Thumbs.db __MACOSX/ "__MACOSX/Day 1/" '
   . '"__MACOSX/Day 1/._IMG_001.png" notes.txt broken.jpg');

my $r = put('/albums', slurp("$w/album.zip"), 'X-User' => 'u-7');
is($r->{status}, 201, 'zip: 201') or diag $r->{content};
is_deeply(statuses($r), [
    ['Day 1/', 'skipped'],
    ['Day 1/IMG_001.png', 'stored'],
    ['Day 1/IMG_002.png', 'stored'],
    ['Day 2/', 'skipped'],
    ['Day 2/IMG_003.png', 'stored'],
    ['Day 2/copy of 001.png', 'duplicate'],
    ['.DS_Store', 'skipped'],
    ['Thumbs.db', 'skipped'],
    ['__MACOSX/', 'skipped'],
    ['__MACOSX/Day 1/', 'skipped'],
    ['__MACOSX/Day 1/._IMG_001.png', 'skipped'],
    ['notes.txt', 'skipped'],
    ['broken.jpg', 'refused'],
], 'zip: one result per entry, in archive order') or diag $r->{content};
is_deeply([ @{ $r->{json} }{qw(stored duplicates skipped refused)} ],
          [3, 1, 8, 1], 'zip: the counts');
is(entry($r, 'Day 1/')->{reason}, 'directory', 'a directory is skipped');
is(entry($r, '.DS_Store')->{reason}, 'system file', '.DS_Store: junk');
is(entry($r, '__MACOSX/Day 1/._IMG_001.png')->{reason}, 'system file',
   '__MACOSX/: junk');
is(entry($r, 'notes.txt')->{reason}, 'not an image', 'text: not an image');
like(entry($r, 'broken.jpg')->{reason} // '', qr/^image: /,
     'a JPEG header over garbage: refused by the header check');
my $e = entry($r, 'Day 1/IMG_001.png');
is($e->{key}, $k{a}, 'the key is the MD5 of the entry');
is($e->{variants}{small}, "/img/small/$k{a}.jpg", 'with its variants');
is($e->{format}, 'png', 'and its format');
is(entry($r, 'Day 2/copy of 001.png')->{key}, $k{a},
   'the duplicate inside the archive: the same key');
is_deeply([ stored_keys("$p/store") ], [ sort @k{qw(a b c)} ],
          'the store holds exactly the images reported stored');
ok(-f "$p/store/small/$k{b}.jpg", 'variants rendered');

my $meta = eval { $json->decode($t->read_file("$p/store/$k{b}.json")) } // {};
is($meta->{meta}{entry_name}, 'Day 1/IMG_002.png', 'metadata: entry name');
like($meta->{meta}{entry_mtime} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\z/,
     'metadata: entry mtime');
is($meta->{meta}{user}, 'u-7', 'metadata: image_ingest_meta');

ok($t->wait_for(sub { hooks('/each') >= 3 }, 5),
   'one notification per stored image');
Time::HiRes::sleep(0.2);
is(scalar(hooks('/each')), 3, '... and none for the rest');

# ---- the same archive again: 200, everything a duplicate, nothing new

$r = put('/albums', slurp("$w/album.zip"));
is($r->{status}, 200, 'the same zip again: 200');
is_deeply([ @{ $r->{json} }{qw(stored duplicates)} ], [0, 4],
          'all duplicates across archives');
Time::HiRes::sleep(0.2);
is(scalar(hooks('/each')), 3, 'duplicates notify nothing');

# ---- tar.gz, tar.bz2, tar.xz, 7z, zip64: one new image and one known each

for my $kind (qw(tar.gz tar.bz2 tar.xz 7z zip64)) {
    my $dir = "fmt-$kind";
    my $new = write_file("$dir/new.png", img());
    write_file("$dir/old.png", slurp("$w/album/Day 1/IMG_002.png"));

    if ($kind eq '7z') {
        sh("cd $dir && 7z a -bd ../$dir.7z new.png old.png");
    } elsif ($kind eq 'zip64') {
        py(qq{
with zipfile.ZipFile('$dir.zip64', 'w', zipfile.ZIP_DEFLATED) as z:
    for name in ('new.png', 'old.png'):
        with open('$dir/' + name, 'rb') as f, \\
             z.open(name, 'w', force_zip64=True) as o:
            o.write(f.read())
});
    } else {
        my $flag = { 'tar.gz' => 'z', 'tar.bz2' => 'j', 'tar.xz' => 'J' }
                   ->{$kind};
        sh("tar -c${flag}f $dir.$kind -C $dir new.png old.png");
    }

    my $body = slurp("$w/$dir.$kind");
    $r = put('/albums', $body);
    is($r->{status}, 201, "$kind: 201") or diag $r->{content};
    is_deeply(statuses($r), [['new.png', 'stored'], ['old.png', 'duplicate']],
              "$kind: stored and duplicate") or diag $r->{content};
    is(entry($r, 'new.png')->{key}, $new, "$kind: the key");
    ok(-f "$p/store/$new.png", "$kind: stored");
}

# zip64 headers really there (extra field 0x0001)
like(slurp("$w/fmt-zip64.zip64"), qr/\x01\x00[\x10\x1c]\x00/,
     'the zip64 archive has zip64 extra fields');

# ---- bombs: 42.zip-style nesting, one 1 GB entry of zeros

py(q{
zeros = zipfile.ZipFile('zeros.zip', 'w', zipfile.ZIP_DEFLATED)
with zeros.open('zeros.bin', 'w') as o:
    o.write(bytes(4 << 20))
zeros.close()
inner = open('zeros.zip', 'rb').read()
level = inner
for depth in range(2):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_STORED) as z:
        for i in range(16):
            z.writestr('%x.zip' % i, level)
    level = buf.getvalue()
with zipfile.ZipFile('nested.zip', 'w', zipfile.ZIP_STORED) as z:
    for i in range(4):
        z.writestr('lib %d.zip' % i, level)
    z.writestr('disguised.dat', inner)
});

my $before = () = stored_keys("$p/store");
$r = put('/albums', slurp("$w/nested.zip"));
is($r->{status}, 200, 'nested zips: nothing stored, 200')
    or diag $r->{content};
is_deeply([ map { "$_->{status}: $_->{reason}" } @{ $r->{json}{entries} } ],
          [ ('refused: nested archive: not opened') x 5 ],
          'nested archives are refused unopened, by name and by content');

# 1 GB of zeros: refused by the size the archive declares, never
# decompressed; a PNG signature and 16 MB of zeros (under
# image_ingest_max_size): by the ratio, as it is decompressed, and the
# archive stops there

py(q{
chunk = bytes(1 << 20)
after = open('album/Day 1/IMG_001.png', 'rb').read()
with zipfile.ZipFile('bomb.zip', 'w', zipfile.ZIP_DEFLATED,
                     compresslevel=9) as z:
    with z.open('zeros.jpg', 'w', force_zip64=True) as o:
        for i in range(1024):
            o.write(chunk)
    z.writestr('after.png', after)
with zipfile.ZipFile('bomb16.zip', 'w', zipfile.ZIP_DEFLATED,
                     compresslevel=9) as z:
    z.writestr('zeros.png', b'\x89PNG\r\n\x1a\n' + bytes(16 << 20))
    z.writestr('after.png', after)
});
my $bomb = slurp("$w/bomb.zip");
cmp_ok(length $bomb, '<', 1.2e6, 'the bomb: 1 GB of zeros in ~1 MB')
    or diag length $bomb;

my $t0 = time;
$r = put('/albums', $bomb);
my $took = time - $t0;
is($r->{status}, 200, '1 GB bomb: answered') or diag $r->{content};
is_deeply([ map { "$_->{name} $_->{status}" } @{ $r->{json}{entries} } ],
          ['zeros.jpg refused', 'after.png duplicate'],
          '1 GB bomb: the entry refused, the next one read')
    or diag $r->{content};
is(entry($r, 'zeros.jpg')->{reason}, 'larger than image_ingest_max_size',
   '1 GB bomb: by its declared size');
cmp_ok($took, '<', 3, '1 GB bomb: refused quickly') or diag $took;

$t0 = time;
$r = put('/albums', slurp("$w/bomb16.zip"));
$took = time - $t0;
is_deeply(statuses($r), [['zeros.png', 'refused']],
          '16 MB bomb: the entry refused, the archive not read further')
    or diag $r->{content};
is(entry($r, 'zeros.png')->{reason},
   'compression ratio above image_ingest_archive_max_ratio',
   '16 MB bomb: the ratio cap');
like($r->{json}{error} // '', qr/compression bomb/,
     '16 MB bomb: the error says so');
cmp_ok($took, '<', 3, '16 MB bomb: refused quickly') or diag $took;
is(scalar(() = stored_keys("$p/store")), $before, 'bombs store nothing');

# ---- hostile names: traversal, absolute, control characters; links

my $ek = write_file('evil.png', img());
py(q{
evil = open('evil.png', 'rb').read()
with zipfile.ZipFile('names.zip', 'w') as z:
    z.writestr('../../../../tmp/escape.png', evil)
    z.writestr('/etc/abs.png', evil)
    z.writestr('ctl\x01\x1b[31mred\x7f.png', evil)
t = tarfile.open('links.tar', 'w')
for name, kind in (('../up.png', 'file'), ('link.png', 'sym'),
                   ('hard.png', 'hard'), ('dev', 'chr')):
    ti = tarfile.TarInfo(name)
    if kind == 'file':
        ti.size = len(evil)
        t.addfile(ti, io.BytesIO(evil))
        continue
    if kind == 'sym':
        ti.type, ti.linkname = tarfile.SYMTYPE, '/etc/passwd'
    elif kind == 'hard':
        ti.type, ti.linkname = tarfile.LNKTYPE, '../up.png'
    else:
        ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
    t.addfile(ti)
t.close()
});
sh('ln -sf /etc/passwd zlink.png && zip -q -y zlinks.zip zlink.png');

$r = put('/albums', slurp("$w/names.zip"));
is($r->{status}, 201, 'hostile names: 201') or diag $r->{content};
is_deeply(statuses($r), [
    ['../../../../tmp/escape.png', 'stored'],
    ['/etc/abs.png', 'duplicate'],
    ["ctl\x{fffd}\x{fffd}[31mred\x{fffd}.png", 'duplicate'],
], 'names are only reported, control characters replaced')
    or diag $r->{content};
is(entry($r, '/etc/abs.png')->{key}, $ek, 'the key is the content\'s');
ok(!-e '/tmp/escape.png' && !-e '/etc/abs.png' && !-e "$p/tmp/escape.png",
   'nothing written where a name points');
$meta = eval { $json->decode($t->read_file("$p/store/$ek.json")) } // {};
is($meta->{meta}{entry_name}, '../../../../tmp/escape.png',
   'the name is metadata');

$r = put('/albums', slurp("$w/links.tar"));
is_deeply([ map { "$_->{name} $_->{status}" . ($_->{reason} ? " $_->{reason}"
                                                            : '') }
            @{ $r->{json}{entries} } ],
          ['../up.png duplicate', 'link.png skipped symbolic link',
           'hard.png skipped hard link', 'dev skipped device or special file'],
          'tar: symlink, hard link, device skipped') or diag $r->{content};
$r = put('/albums', slurp("$w/zlinks.zip"));
is_deeply(statuses($r), [['zlink.png', 'skipped']], 'zip: a symlink skipped');
is(entry($r, 'zlink.png')->{reason}, 'symbolic link', '... as a symlink');

# ---- an encrypted zip

my $secret = write_file('secret/s.png', img());
sh('cd secret && zip -q -P hunter2 ../secret.zip s.png');
$r = put('/albums', slurp("$w/secret.zip"));
is_deeply([ map { "$_->{status} $_->{reason}" } @{ $r->{json}{entries} } ],
          ['refused encrypted'], 'an encrypted entry is refused');
ok(!-e "$p/store/$secret.png", '... and not stored');

# ---- truncated archives: the entries done so far, nothing half-written

# noise: incompressible, so that the tar.gz is cut after its first entry
# too, not inside the first block libarchive reads
py(q{
import struct, zlib
def chunk(t, d):
    c = struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    return struct.pack('>I', len(d)) + t + d + c
os.makedirs('trunc', exist_ok=True)
for i in (1, 2, 3):
    raw = b''.join(b'\0' + os.urandom(3 * 320) for y in range(320))
    with open('trunc/%d.png' % i, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n'
                + chunk(b'IHDR', struct.pack('>IIBBBBB', 320, 320, 8, 2,
                                             0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
});
sh('cd trunc && zip -q -0 ../trunc.zip 1.png 2.png 3.png');
sh('tar -czf trunc.tar.gz -C trunc 1.png 2.png 3.png');
for my $kind (qw(zip tar.gz)) {
    my $whole = slurp("$w/trunc.$kind");
    my $cut = substr($whole, 0, int(length($whole) * 0.55));
    $r = put('/few', $cut);
    my @st = map { $_->{status} } @{ $r->{json}{entries} };
    like($st[0] // '', qr/^(?:stored|duplicate)\z/,
         "truncated $kind: the first entry taken") or diag $r->{content};
    my $last = $r->{json}{entries}[-1] // {};
    ok(!grep({ !/^(?:stored|duplicate)\z/ } @st[0 .. $#st - 1])
       && ($last->{status} =~ /^(?:stored|duplicate)\z/
           || ($last->{reason} // '') eq 'corrupt or truncated'),
       "truncated $kind: entries up to the cut, the cut one refused")
        or diag $r->{content};
    like($r->{json}{error} // '', qr/corrupt or truncated/,
         "truncated $kind: the error says where it stopped");
    is_deeply([ stored_keys("$p/few") ], [ keys_of($r, 'stored', 'duplicate')
                                           ], "truncated $kind: the store "
              . 'holds exactly the images reported')
        or diag $r->{content};
}
is_deeply([ grep { !/\.lock\z/ } glob "$p/few/.tmp/*" ], [],
          'no temporary file left');

# ---- limits

my @five = map { write_file("five/$_.png", img()) } 1 .. 5;
sh('cd five && zip -q ../five.zip 1.png 2.png 3.png 4.png 5.png');
$r = put('/few', slurp("$w/five.zip"));
is(scalar @{ $r->{json}{entries} }, 3, 'max_entries: 3 results');
like($r->{json}{error} // '',
     qr/more than image_ingest_archive_max_entries \(3\)/,
     'max_entries: the error');

my $big = write_file('big/big.png',
                     png(width => 100, height => 100,
                         rects => [[1, 1, 3, 3, [255, 0, 0]]]));
write_file('big/noise.bin',
           join '', map { chr(($_ * 7919) % 251) } 1 .. 30000);
sh('cd big && tar -cf ../big.tar big.png noise.bin');
$r = put('/bytes', slurp("$w/big.tar"));
is_deeply(statuses($r), [['big.png', 'stored'], ['noise.bin', 'refused']],
          'max_bytes: the entry passing it refused') or diag $r->{content};
like($r->{json}{error} // '', qr/image_ingest_archive_max_bytes/,
     'max_bytes: the error');

# ---- not an archive: a single upload, as before

my $single = img();
$r = put('/albums', $single);
is($r->{status}, 201, 'a PNG body: a single upload');
is($r->{json}{key}, md5_hex($single), '... with the single answer');
$r = put('/albums', "just some text\n" x 10);
is($r->{status}, 415, 'a body neither image nor archive: 415');
$r = put('/albums', "\x1f\x8b\x08" . "\0" x 40);
is($r->{status}, 400, 'an unreadable archive: 400') or diag $r->{content};
like($r->{json}{error} // '', qr/^archive: /, '... saying why');

# image_ingest_archive off: an archive is no image
$r = put('/off', slurp("$w/album.zip"));
is($r->{status}, 415, 'image_ingest_archive off: a zip is refused');

# ---- image_ingest_notify_batch: one notification for the archive

$r = put('/batch', slurp("$w/album.zip"));
is($r->{json}{stored}, 3, 'batch: 3 stored');
ok($t->wait_for(sub { hooks('/batch') >= 1 }, 5), 'batch: notified');
Time::HiRes::sleep(0.3);
my @b = hooks('/batch');
is(scalar @b, 1, 'batch: once for the archive');
my $bd = eval { $json->decode($b[0]{body}) } // {};
is_deeply([ sort map { $_->{key} } @{ $bd->{images} // [] } ],
          [ sort @k{qw(a b c)} ], 'batch: every stored image in it');
is($bd->{stored}, 3, 'batch: the count');

# ---- the watchdog covers one entry: an archive longer than
# image_ingest_thread_timeout (150 photos), each entry
# well within it, is answered in full; a client that leaves mid-archive
# stops it (it is seen between entries), nothing crashes

my $photo = sample_photo();
my @slow;
# 150 photos: well over the 1 s watchdog in all, even on a fast machine
# (about 18 ms each on an idle one here)
for my $i (1 .. 150) {
    push @slow, write_file("slow/$i.jpg", $photo . pack('N', $i));
}
sh('cd slow && zip -q -0 ../slow.zip ' . join ' ', map { "$_.jpg" } 1 .. 150);
my $slowzip = slurp("$w/slow.zip");

$t0 = time;
$r = put('/slow', $slowzip);
$took = time - $t0;
is($r->{status}, 201, 'an archive outlasting the watchdog: 201')
    or diag substr($r->{content}, 0, 300);
is($r->{json}{stored}, 150, '... every entry stored');
diag(sprintf '150 photos with a variant: %.1f s (watchdog 1s per entry)',
     $took);
cmp_ok($took, '>', 1, '... the archive took longer than the watchdog')
    or diag 'the machine renders too fast for this check to mean much';

my @before_abort = stored_keys("$p/slow");
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port,
                                  Timeout => 5) or die "connect: $!";
    # a new archive: the same photos with other suffixes, far more than
    # the 0.4 s below can store on a fast machine (about 18 ms each here)
    write_file("abort/$_.jpg", $photo . pack('N', 1000 + $_)) for 1 .. 200;
    sh('cd abort && zip -q -0 ../abort.zip '
       . join ' ', map { "$_.jpg" } 1 .. 200);
    my $body = slurp("$w/abort.zip");
    print {$s} "PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: "
               . length($body) . "\r\nConnection: close\r\n\r\n" . $body;
    Time::HiRes::sleep(0.4);
    close $s;
}
Time::HiRes::sleep(1.5);
is($t->get('/ping')->{content}, "pong\n", 'after a client left mid-archive: '
   . 'the worker answers');
my @after_abort = stored_keys("$p/slow");
cmp_ok(scalar @after_abort, '<', scalar(@before_abort) + 200,
       '... and the archive stopped with the client');
my %old = map { $_ => 1 } @before_abort;
my $partial = 0;
for my $k (grep { !$old{$_} } @after_abort) {
    $partial++ unless -f "$p/slow/small/$k.jpg"
                      && -f "$p/slow/$k.json";
}
is($partial, 0, '... every image it stored is whole (variant, metadata)');

# ---- 5,000 small images in one archive: time and memory

py(q{
import struct, zlib
def png(i):
    raw = b'\0' + bytes([i & 255, (i >> 8) & 255, 7]) * 2
    raw = raw * 2
    def chunk(t, d):
        c = struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
        return struct.pack('>I', len(d)) + t + d + c
    return (b'\x89PNG\r\n\x1a\n'
            + chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 2, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
with zipfile.ZipFile('many.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    for i in range(5000):
        z.writestr('p/%05d.png' % i, png(i))
});

my ($worker) = $t->worker_pids;
my $rss = sub {
    my $s = slurp("/proc/$worker/status");
    return { map { /^(VmRSS|VmHWM):\s+(\d+)/ ? ($1 => $2) : () }
             split /\n/, $s };
};
my $m0 = $rss->();
$t0 = time;
$r = put('/many', slurp("$w/many.zip"));
$took = time - $t0;
my $m1 = $rss->();
is($r->{status}, 201, '5,000 images: 201')
    or diag substr($r->{content}, 0, 300);
is($r->{json}{stored}, 5000, '5,000 images: all stored');
is(scalar(() = stored_keys($many)), 5000, '5,000 originals in the store');
diag(sprintf '5,000 images (store %s): %.1f s, worker RSS %d -> %d kB '
     . '(peak %d kB)', $many =~ m{^/dev/shm} ? 'on tmpfs' : 'on disk',
     $took, $m0->{VmRSS}, $m1->{VmRSS}, $m1->{VmHWM});

done_testing();
