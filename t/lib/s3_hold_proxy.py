"""A TCP proxy between nginx and the tests' S3 server that can hold an
upload's commit: the PUT of the original, the one request with
"If-None-Match".  Run with /usr/bin/python3:

    s3_hold_proxy.py PORT UPSTREAM_PORT DIR

It listens on 127.0.0.1:PORT and forwards every connection to
127.0.0.1:UPSTREAM_PORT byte for byte.  While the file DIR/hold exists, a
request whose bytes contain "If-None-Match:" stops there: DIR/held is
created, and the request goes on once DIR/hold is removed, or is dropped
(never sent) if the client closed the connection meanwhile (a worker
killed).  A request is held for at most 60 s.  While DIR/fail exists,
every request is answered "503 SlowDown" (an S3 error document, none for
a HEAD) and its connection closed, as an overloaded store would.  Runs
until killed.
"""

import os
import select
import socket
import sys
import threading
import time


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def hold(client, data, d):
    """Waits while DIR/hold exists; the bytes to send, or None: dropped."""
    open(os.path.join(d, 'held'), 'w').close()
    end = time.time() + 60
    client.setblocking(False)
    try:
        while os.path.exists(os.path.join(d, 'hold')) and time.time() < end:
            r, _, _ = select.select([client], [], [], 0.05)
            if not r:
                continue
            try:
                more = client.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                return None
            if not more:
                return None
            data += more
    finally:
        client.setblocking(True)
    return data


SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error>'
            b'<Code>SlowDown</Code><Message>Please reduce your request rate.'
            b'</Message></Error>')


def slow_down(client, data):
    head = (b'HTTP/1.1 503 Service Unavailable\r\n'
            b'Content-Type: application/xml\r\n'
            b'Content-Length: %d\r\nConnection: close\r\n\r\n'
            % len(SLOWDOWN))
    try:
        client.sendall(head if data.startswith(b'HEAD ') else head + SLOWDOWN)
    except OSError:
        pass


def serve(client, upstream_port, d):
    try:
        up = socket.create_connection(('127.0.0.1', upstream_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pump, args=(up, client), daemon=True).start()
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            if os.path.exists(os.path.join(d, 'fail')):
                slow_down(client, data)
                break
            if os.path.exists(os.path.join(d, 'hold')) \
                    and b'if-none-match:' in data.lower():
                data = hold(client, data, d)
                if data is None:
                    break
            up.sendall(data)
    except OSError:
        pass
    for s in (client, up):
        try:
            s.close()
        except OSError:
            pass


def main():
    port, upstream_port, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', port))
    ls.listen(64)
    open(os.path.join(d, 'ready'), 'w').close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, upstream_port, d),
                         daemon=True).start()


if __name__ == '__main__':
    main()
