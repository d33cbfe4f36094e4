#!/usr/bin/env python3
"""Archive upload benchmark: one zip of N photos ingested in one request
(image_ingest_archive) against the same N photos uploaded one by one, on
127.0.0.1, with the same store, variants and thread pool.

  bench/image_ingest_archive.py [--photos 200] [--rounds 3]
                                [--memory-mb 0]

The photos: the 1920x1280 sample photo (demo/fixtures/sample1.jpg, from
"make models"; else a noise JPEG of that size made with vips), each made
distinct by 16 random bytes after its end of image (a new key each, the
same decoding work); each is stored with one 256x256 cover variant.
Cases, each into a fresh store, the stores on the same file system:

  archive       one PUT of a zip (stored, no compression) of the N photos
  singles       N PUTs one after another on one keep-alive connection
  singles x4    N PUTs over 4 connections at once

Printed: the wall time of each (median of --rounds), the ratio of the
singles to the archive, and the nginx worker's peak RSS; first, the CPU
model and SIMD level.  With --memory-mb M, also one tar of photos padded
(after their end of image) to ~5 MB each, M megabytes in all, sent from a
file: the worker's peak RSS before and after, which stays about one entry
and its rendering, not the archive.  The table is Markdown.
"""

import argparse
import http.client
import io
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile

from benchlib import free_port, machine

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
MODULE = os.environ.get("MODULE", os.path.join(
    REPO, "build", "nginx", "ngx_http_image_variant_module.so"))


def sample_photo(work):
    path = os.path.join(REPO, "demo", "fixtures", "sample1.jpg")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    out = os.path.join(work, "noise.jpg")
    subprocess.run(["vips", "gaussnoise", out + "[Q=90]", "1920", "1280"],
                   check=True)
    with open(out, "rb") as f:
        return f.read()


class Nginx:
    def __init__(self, work, port):
        self.prefix = os.path.join(work, "nginx")
        for d in ("logs", "tmp"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        self.conf = os.path.join(self.prefix, "nginx.conf")
        user = "user root root;" if os.geteuid() == 0 else ""
        locations = "".join(f"""
        location = /{name} {{
            image_ingest;
            image_ingest_store    {work}/store/{name};
            image_ingest_variants thumb;
            image_ingest_archive  on;
        }}
""" for name in CASES + ("memory",))
        with open(self.conf, "w") as f:
            f.write(f"""load_module {MODULE};
daemon off;
{user}
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
thread_pool ingest threads=2;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {self.prefix}/tmp/body;
    proxy_temp_path {self.prefix}/tmp/proxy;
    fastcgi_temp_path {self.prefix}/tmp/fastcgi;
    uwsgi_temp_path {self.prefix}/tmp/uwsgi;
    scgi_temp_path {self.prefix}/tmp/scgi;
    keepalive_requests 1000000;
    client_max_body_size 4g;

    image_variant_preset thumb width=256 height=256 fit=cover format=jpeg;
    image_variant_thread_pool ingest;

    server {{
        listen 127.0.0.1:{port};
{locations}    }}
}}
""")
        subprocess.run([NGINX, "-p", self.prefix + "/", "-c", self.conf,
                        "-t", "-q"], check=True)
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.prefix + "/", "-c", self.conf],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def worker(self):
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        st = f.read()
                except OSError:
                    continue
                if int(st[st.rindex(")") + 2:].split()[1]) == self.proc.pid:
                    return int(d)
        return None

    def hwm(self):
        pid = self.worker()
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


CASES = ("archive", "singles", "singles4")


def put(conn, path, body, headers=None):
    conn.request("PUT", path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status not in (200, 201):
        raise SystemExit(f"PUT {path}: {resp.status} {data[:300]!r}")
    return data


def run_case(case, port, photos, store):
    shutil.rmtree(store, ignore_errors=True)
    path = "/" + case
    t0 = time.monotonic()
    if case == "archive":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for i, p in enumerate(photos):
                z.writestr("Album/IMG_%04d.jpg" % i, p)
        body = buf.getvalue()
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        put(conn, path, body)
        conn.close()
    elif case == "singles":
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for p in photos:
            put(conn, path, p)
        conn.close()
    else:
        def worker(part):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            for p in part:
                put(conn, path, p)
            conn.close()
        threads = [threading.Thread(target=worker, args=(photos[i::4],))
                   for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    took = time.monotonic() - t0
    n = len([f for f in os.listdir(store) if f.endswith(".jpg")])
    if n != len(photos):
        raise SystemExit(f"{case}: {n} originals stored, not {len(photos)}")
    return took


def memory_case(nginx, port, work, photo, megabytes):
    store = os.path.join(work, "store", "memory")
    tar_path = os.path.join(work, "big.tar")
    entry = 5 << 20
    count = max(1, megabytes // 5)
    with tarfile.open(tar_path, "w") as t:
        for i in range(count):
            data = photo + os.urandom(16) + bytes(entry - len(photo) - 16)
            ti = tarfile.TarInfo("big/IMG_%04d.jpg" % i)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    size = os.path.getsize(tar_path)
    before = nginx.hwm()
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
    with open(tar_path, "rb") as f:
        conn.request("PUT", "/memory", body=f,
                     headers={"Content-Length": str(size)})
        resp = conn.getresponse()
        data = resp.read()
    took = time.monotonic() - t0
    after = nginx.hwm()
    os.unlink(tar_path)
    stored = len([f for f in os.listdir(store) if f.endswith(".jpg")])
    return size, count, stored, resp.status, took, before, after, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory-mb", type=int, default=0,
                    help="also a tar of this size, ~5 MB per entry (0: no)")
    ap.add_argument("--work", default=None,
                    help="directory for the stores (default: a temporary "
                         "one under /tmp)")
    args = ap.parse_args()

    model, simd = machine()
    print(f"CPU: {model} ({simd}), {os.cpu_count()} cores")

    work = tempfile.mkdtemp(prefix="ingest-archive-", dir=args.work)
    os.chmod(work, 0o755)
    os.makedirs(os.path.join(work, "store"))
    port = free_port()
    nginx = Nginx(work, port)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port,
                                           timeout=1).connect()
                break
            except OSError:
                time.sleep(0.05)

        photo = sample_photo(work)
        photos = [photo + os.urandom(16) for _ in range(args.photos)]

        times = {c: [] for c in CASES}
        for _ in range(args.rounds):
            for case in CASES:
                store = os.path.join(work, "store", case)
                times[case].append(run_case(case, port, photos, store))
        med = {c: statistics.median(v) for c, v in times.items()}

        print(f"\n{args.photos} photos of {len(photo) // 1024} kB, one "
              f"256x256 variant each, median of {args.rounds}:\n")
        print("| case | wall time | per photo | vs the archive |")
        print("|---|---:|---:|---:|")
        names = {"archive": "one archive (zip)",
                 "singles": "single uploads, one connection",
                 "singles4": "single uploads, 4 connections"}
        for c in CASES:
            print(f"| {names[c]} | {med[c]:.2f} s | "
                  f"{med[c] / args.photos * 1000:.0f} ms | "
                  f"{med[c] / med['archive']:.2f}x |")
        print(f"\nworker peak RSS after these: {nginx.hwm() // 1024} MB")

        if args.memory_mb:
            (size, count, stored, status, took, before, after,
             body) = memory_case(nginx, port, work, photo, args.memory_mb)
            print(f"\nmemory: a {size / 1e6:.0f} MB tar of {count} entries "
                  f"of 5 MB: {status}, {stored} stored in {took:.1f} s; "
                  f"worker peak RSS {before // 1024} MB before, "
                  f"{after // 1024} MB after")
            if status != 201 or stored != count:
                print(body[:300].decode(errors="replace"))
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
