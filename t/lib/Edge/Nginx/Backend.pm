package Edge::Nginx::Backend;

# A tiny forking HTTP/1.1 server for tests: fake origins and callback
# receivers.  Started by Edge::Nginx->backend; see the POD at the end.

use strict;
use warnings;

use Exporter 'import';
use Fcntl qw(:flock);
use IO::Select;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

our @EXPORT_OK = qw(write_all);

my %REASON = (
    100 => 'Continue', 200 => 'OK', 201 => 'Created', 204 => 'No Content',
    206 => 'Partial Content', 301 => 'Moved Permanently', 302 => 'Found',
    304 => 'Not Modified', 400 => 'Bad Request', 403 => 'Forbidden',
    404 => 'Not Found', 413 => 'Payload Too Large',
    500 => 'Internal Server Error', 502 => 'Bad Gateway',
    503 => 'Service Unavailable', 504 => 'Gateway Timeout',
);

# ASCII JSON keeps arbitrary body bytes intact (as \u00XX) on one line.
my $JSON = JSON::PP->new->ascii->canonical;

# Write all of $data to a socket; false when the peer went away.
sub write_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($sock, $data, length($data) - $off, $off);
        if (!defined $n) {
            next if $!{EINTR};
            return 0;
        }
        $off += $n;
    }
    return 1;
}

# Fork the server around an already listening socket, so the port
# accepts connections before this returns.  Returns the server's pid,
# which also leads a process group holding the per-connection children.
sub start {
    my (%a) = @_;
    my $parent = $$;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid) {
        setpgrp($pid, $pid);    # both sides do it: no race with kill
        return $pid;
    }
    my $ok = eval { setpgrp(0, 0); _serve($parent, \%a); 1 };
    warn "backend: $@" unless $ok;
    POSIX::_exit(0);    # never run the test's END blocks here
}

sub _serve {
    my ($parent, $a) = @_;
    @SIG{qw(INT TERM HUP)} = ('DEFAULT') x 3;
    $SIG{PIPE} = 'IGNORE';
    $SIG{CHLD} = 'IGNORE';    # reap connection children automatically
    $0 = "edge-nginx backend $a->{name}";
    my $listen = $a->{listen};
    my $sel = IO::Select->new($listen);
    while (1) {
        # Exit soon after the test process dies, even if it was killed.
        POSIX::_exit(0) if getppid() != $parent;
        next unless $sel->can_read(0.5);
        my $conn = $listen->accept or next;
        my $pid = fork;
        if (!defined $pid) {
            close $conn;
            next;
        }
        if ($pid == 0) {
            close $listen;
            eval { _connection($conn, $a); 1 } or warn "backend: $@";
            POSIX::_exit(0);
        }
        close $conn;
    }
}

# Serve requests on one connection until it closes or goes idle.
sub _connection {
    my ($sock, $a) = @_;
    my $buf = '';
    my $idle = $a->{timeout} // 10;
    my $sel = IO::Select->new($sock);
    my $more = sub {
        return 0 unless $sel->can_read($idle);
        return sysread($sock, $buf, 65536, length $buf);
    };
    my $line = sub {
        my $i;
        while (($i = index($buf, "\r\n")) < 0) {
            return undef unless $more->();
        }
        my $l = substr($buf, 0, $i + 2, '');
        return substr($l, 0, $i);
    };
    my $bytes = sub {
        my ($n) = @_;
        while (length $buf < $n) {
            return undef unless $more->();
        }
        return substr($buf, 0, $n, '');
    };

    for (my $seq = 1; ; $seq++) {
        my $req = _read_request($sock, $line, $bytes) or return;
        $req->{seq}  = $seq;
        $req->{conn} = $$;
        $req->{time} = Time::HiRes::time();
        _record($a->{record}, $req) if $a->{record};
        Time::HiRes::sleep($a->{delay}) if $a->{delay};
        my $res = eval { $a->{handler}->($req) };
        $res = [500, { 'Content-Type' => 'text/plain' }, "handler: $@"]
            if $@;
        _respond($sock, $req, $res, $a) or return;
    }
}

sub _read_request {
    my ($sock, $line, $bytes) = @_;
    my $first = $line->();
    # Tolerate blank lines between requests (RFC 9112, 2.2).
    $first = $line->() while defined $first && $first eq '';
    return undef unless defined $first;
    my ($method, $target, $version)
        = $first =~ m{^(\S+) (\S+) HTTP/(\d\.\d)$} or return undef;
    my ($path, $query) = $target =~ /^([^?]*)(?:\?(.*))?$/s;
    my (@list, %h);
    while (1) {
        my $l = $line->();
        return undef unless defined $l;
        last if $l eq '';
        my ($k, $v) = $l =~ /^([^:]+):[ \t]*(.*?)[ \t]*$/ or next;
        push @list, [$k, $v];
        $h{lc $k} = exists $h{lc $k} ? "$h{lc $k}, $v" : $v;
    }
    my $req = {
        method => $method, target => $target, path => $path,
        query => $query, version => $version, headers => \%h,
        header_list => \@list, body => '', chunked => 0,
    };
    if (lc($h{expect} // '') eq '100-continue') {
        write_all($sock, "HTTP/1.1 100 Continue\r\n\r\n") or return undef;
    }
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        $req->{chunked} = 1;
        while (1) {
            my $size = $line->();
            return undef unless defined $size && $size =~ /^([0-9a-f]+)/i;
            my $n = hex $1;
            if ($n == 0) {    # skip trailers up to the empty line
                while (1) {
                    my $t = $line->();
                    return undef unless defined $t;
                    last if $t eq '';
                }
                last;
            }
            my $data = $bytes->($n + 2);
            return undef unless defined $data;
            $req->{body} .= substr($data, 0, $n);
        }
    } elsif (my $len = $h{'content-length'}) {
        my $data = $bytes->($len);
        return undef unless defined $data;
        $req->{body} = $data;
    }
    return $req;
}

sub _record {
    my ($file, $req) = @_;
    open my $fh, '>>', $file or die "open $file: $!";
    flock($fh, LOCK_EX) or die "flock $file: $!";
    print {$fh} $JSON->encode($req), "\n";
    close $fh or die "close $file: $!";
}

# Send the handler's answer; false when the connection must close.
sub _respond {
    my ($sock, $req, $res, $a) = @_;
    return 0 unless defined $res;    # drop the connection
    if (ref $res eq 'SCALAR') {      # raw bytes, then close
        write_all($sock, $$res);
        return 0;
    }
    my ($status, $hdrs, $body) = @$res;
    $body //= '';
    my @h = ref $hdrs eq 'HASH'
        ? map { ($_ => $hdrs->{$_}) } sort keys %$hdrs
        : @{ $hdrs // [] };
    my %has;
    for (my $i = 0; $i < @h; $i += 2) { $has{lc $h[$i]} = 1 }
    my $close = $req->{version} eq '1.0'
        || ($req->{headers}{connection} // '') =~ /close/i;
    my $chunks = ref $body eq 'ARRAY' ? [grep { length } @$body] : undef;
    my $te = $chunks && $req->{version} eq '1.1';
    if ($te) {
        push @h, 'Transfer-Encoding' => 'chunked'
            unless $has{'transfer-encoding'};
    } elsif ($chunks) {
        $close = 1;    # HTTP/1.0 peer: the body ends at close
    } elsif (!$has{'content-length'}) {
        push @h, 'Content-Length' => length $body;
    }
    push @h, Connection => 'close' if $close && !$has{connection};
    my $head = "HTTP/1.1 $status " . ($REASON{$status} // 'Status')
        . "\r\n";
    for (my $i = 0; $i < @h; $i += 2) { $head .= "$h[$i]: $h[$i + 1]\r\n" }
    $head .= "\r\n";
    my $no_body = $req->{method} eq 'HEAD' || $status == 204
        || $status == 304 || $status < 200;
    if ($no_body || !$chunks) {
        write_all($sock, $no_body ? $head : $head . $body) or return 0;
        return !$close;
    }
    write_all($sock, $head) or return 0;
    for my $i (0 .. $#$chunks) {
        Time::HiRes::sleep($a->{chunk_delay}) if $i && $a->{chunk_delay};
        my $c = $chunks->[$i];
        my $data = $te ? sprintf("%x\r\n%s\r\n", length $c, $c) : $c;
        write_all($sock, $data) or return 0;
    }
    write_all($sock, "0\r\n\r\n") or return 0 if $te;
    return !$close;
}

1;

__END__

=head1 NAME

Edge::Nginx::Backend - tiny forking HTTP/1.1 server for nginx tests

=head1 SYNOPSIS

    # Normally used through Edge::Nginx:
    my $port = $t->backend(sub {
        my ($req) = @_;
        return [200, { 'Content-Type' => 'text/plain' }, "hi\n"];
    }, delay => 0.5, chunk_delay => 0.2);

=head1 DESCRIPTION

C<start(listen =E<gt> $sock, handler =E<gt> $code, %opt)> forks a server
process (which leads its own process group) around an already listening
socket.  Each connection is served in its own forked child, so slow
replies do not block other connections; handler state is therefore not
shared between connections: read recorded requests back instead.

The request hash given to the handler has C<method>, C<target> (the
raw request target), C<path>, C<query> (undef without C<?>),
C<version> (C<1.0> or C<1.1>), C<headers> (lower-cased names, repeated
headers joined with C<, >), C<header_list> (C<[name, value]> pairs as
sent), C<body> (Content-Length or chunked bodies, decoded), C<chunked>
(true if the body came chunked), C<seq> (request number on the
connection), C<conn> (pid serving the connection) and C<time>.
C<Expect: 100-continue> is answered.

The handler returns one of:

=over

=item C<[$status, \%headers_or_\@pairs, $body]>

C<Content-Length> is added unless given.  If C<$body> is an array
reference its elements are sent as separate chunks (chunked encoding
for HTTP/1.1 peers, close-delimited for HTTP/1.0 ones, such as nginx's
proxy by default), C<chunk_delay> seconds apart.

=item C<\$raw_bytes>

Written verbatim, then the connection is closed.

=item C<undef>

The connection is closed without any reply.

=back

A handler that dies produces a 500 reply with the error as body.

Options: C<delay> (seconds to wait before each reply), C<chunk_delay>,
C<timeout> (idle read timeout, default 10 s), C<record> (a file to which
every parsed request is appended as one JSON line, before the reply),
C<name> (shown in the process title).

C<write_all($sock, $bytes)> is exported on request.

=cut
