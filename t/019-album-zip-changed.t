#!/usr/bin/perl
# A directory album whose member changes after the listing: overwritten
# in place or replaced by a same-size file (mv) while a throttled client
# downloads the archive.  The member's identity (device, inode, size,
# mtime to the nanosecond) is checked against the listing when it is
# opened, when its data has been read and when its file is closed, so the
# download never ends as a whole archive: the connection is reset before
# the end, one [error] line names the member.  With sendfile and through
# memory, with remembered CRCs (which would otherwise label new bytes
# with the old CRC) and with streamed ones.  A change made before the
# listing is simply the new album.  A client that leaves mid-member is
# logged at info, as nginx logs it, not as a failed member.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::IP;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Test::More;
use Time::HiRes ();

use Edge::Nginx qw(parse_response);
use Edge::Nginx::Backend qw(write_all);
use Edge::Zip qw(check_zip);

my $t = Edge::Nginx->new(modules => ['album_zip'], worker_processes => 1);
my $prefix = $t->prefix;
my $dir = "$prefix/html/albums/party";

srand 19;
my $SIZE = 1024 * 1024;
my @names = map { "img$_.jpg" } 1 .. 6;
sub noise { join '', map { chr int rand 256 } 1 .. $_[0] }

# a fresh album: new files (new inodes and times) with new bytes
sub fresh_album {
    my %data = map { $_ => noise($SIZE) } @names;
    for my $n (@names) {
        unlink "$dir/$n";
        $t->write_file("html/albums/party/$n", $data{$n});
    }
    return [map { $_ => $data{$_} } @names];
}

$t->run(<<'EOF');
    album_zip_crc_cache party_crc:1m;

    server {
        listen 127.0.0.1:%%PORT%% sndbuf=32k;
        root %%PREFIX%%/html;

        location /albums/ {
            sendfile on;
            album_zip_directory on;
        }

        location /mem/ {
            alias %%PREFIX%%/html/albums/;
            sendfile off;
            album_zip_directory on;
        }

        location /stream/ {
            alias %%PREFIX%%/html/albums/;
            sendfile on;
            album_zip_directory on;
            album_zip_crc_cache off;
        }
    }
EOF

# how a member changes, and which: the 5th is not opened yet when the
# change comes, the 1st is being sent
my %mutate = (
    'overwritten in place' => [5, sub {
        open my $fh, '+<:raw', "$dir/img5.jpg" or die;
        print {$fh} noise(4096);
        close $fh or die;
    }],
    'replaced by mv' => [5, sub {
        open my $fh, '>:raw', "$dir/.new" or die;
        print {$fh} noise($SIZE);
        close $fh or die;
        rename "$dir/.new", "$dir/img5.jpg" or die;
    }],
    'overwritten while it is sent' => [1, sub {
        open my $fh, '+<:raw', "$dir/img1.jpg" or die;
        seek $fh, $SIZE - 4096, 0;
        print {$fh} noise(4096);
        close $fh or die;
    }],
);

my %logged = (1 => 0, 5 => 0);

for my $loc ('/albums/', '/mem/', '/stream/') {
    for my $how (sort keys %mutate) {
        my $expect = fresh_album();
        my $uri = "${loc}party.zip";

        # the first download lists the album and remembers its CRCs
        my $r = $t->get($uri);
        is $r->{status}, 200, "$uri, $how: the first download";
        check_zip($t, $r->{content}, $expect, label => "$uri first",
            response => $r);

        my ($member, $change) = @{ $mutate{$how} };
        my $s = throttled($uri, $change);
        is $s->{status}, 200, "$uri, $how: 200 before the change";
        ok $s->{received} < $s->{length},
            "$uri, $how: the archive never arrives whole "
            . "($s->{received} of $s->{length} bytes)";
        like $s->{end}, qr/reset|early close/,
            "$uri, $how: the connection ends early ($s->{end})";

        $logged{$member}++;
        ok $t->wait_for(sub { changed_lines($member) >= $logged{$member} },
            5), "$uri, $how: member $member is named in the log";
        is changed_lines($member), $logged{$member}, "$uri, $how: once";

        # listed again: the new bytes, whole and valid
        $r = $t->get($uri);
        my %now = map { $_ => scalar $t->read_file("html/albums/party/$_") }
            @names;
        check_zip($t, $r->{content}, [map { $_ => $now{$_} } @names],
            label => "$uri, $how: the next download", response => $r);
    }
}

# ---- a client that leaves mid-member is no error: info, as nginx's own

fresh_album();
for my $loc ('/albums/', '/mem/', '/stream/') {
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    setsockopt $sock, SOL_SOCKET, SO_RCVBUF, 32768;
    write_all($sock, "GET ${loc}party.zip HTTP/1.1\r\nHost: x\r\n\r\n");
    my $buf = '';
    my $sel = IO::Select->new($sock);
    while (length $buf < 200_000 && $sel->can_read(5)) {
        sysread($sock, $buf, 16384, length $buf) or last;
        Time::HiRes::sleep(0.001);
    }
    close $sock;
}

ok $t->wait_for(sub { (() = $t->error_log =~ /the client is gone/g) >= 3 },
    5),
    'clients gone mid-member: logged at info'
    or diag $t->error_log;
like $t->error_log,
    qr/\[info\].*album_zip: archive stopped at member 1 "[^"]*img1\.jpg": the client is gone/,
    '... naming the member';
unlike $t->error_log, qr/\[error\].*album_zip: member \d+ "[^"]*" failed: failed/,
    '... and no [error]';

$t->done;

sub changed_lines {
    my ($n) = @_;
    my @l = $t->error_log =~ /\[error\].*album_zip: member $n "[^"]*img$n\.jpg" failed: changed since the album was listed, archive aborted/g;
    return scalar @l;
}

# GET reading the headers and 128 kB, then change the album, then read
# the rest; how the transfer ended
sub throttled {
    my ($path, $change) = @_;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port) or die "connect: $@";
    setsockopt $sock, SOL_SOCKET, SO_RCVBUF, 32768;
    write_all($sock, "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close"
        . "\r\n\r\n");
    my $sel = IO::Select->new($sock);
    my ($raw, $changed, $end) = ('', 0, 'timeout');
    while ($sel->can_read(10)) {
        my $n = sysread $sock, $raw, 16384, length $raw;
        if (!defined $n) {
            $end = "reset ($!)";
            last;
        }
        if ($n == 0) {
            $end = 'close';
            last;
        }
        if (!$changed && length $raw > 128 * 1024) {
            $change->();
            $changed = 1;
        }
        Time::HiRes::sleep(0.001);
    }
    my $h = index $raw, "\r\n\r\n";
    my $head = substr $raw, 0, $h;
    my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
    my ($length) = $head =~ /^Content-Length: (\d+)/mi;
    my $received = length($raw) - $h - 4;
    $end = 'early close' if $end eq 'close' && $received < ($length // 0);
    return { status => $status, length => $length // -1,
        received => $received, end => $end };
}
