#!/usr/bin/env python3
"""S3 benchmark: originals and album members from a private bucket of a
real Ceph RADOS Gateway (through s3_proxy, every request signed) against
the same files on local disk, in one run, on 127.0.0.1.

  bench/s3.py [--duration 10] [--members 100] [--member-kb 256]

Without TEST_S3_ENDPOINT (and TEST_S3_KEY, TEST_S3_SECRET) the script
runs itself again under scripts/with-ceph, which starts the tests' Ceph
cluster (t/lib/Edge/Ceph.pm: one mon, one memstore OSD, radosgw) in
build/ceph-bench and stops it afterwards.

Cases, each a wrk run of --duration seconds (2 threads):

  avatar   the 1920x1280 sample photo (demo/fixtures/sample1.jpg) to a
           256x256 cover JPEG, quality 80, every request rendered (no
           cache): "s3_proxy photos; image_variant avatar;" against
           "alias ...; image_variant avatar;" with open_file_cache;
           16 connections
  album    a zip of --members members of --member-kb KiB (random bytes,
           CRCs and sizes in the manifest): s3://photos/... members
           through an internal s3_proxy location against /media/...
           files; 4 connections
  member   one of those members alone, through a public s3_proxy
           location against the static file: what the store and the
           proxy deliver without the zipper; 4 connections

nginx: 2 workers, the render pool 4 threads per worker; the bucket
reached through "upstream rgw { keepalive 32; }".  Printed: the CPU model
and SIMD level, then a Markdown table of requests/s (and MB/s for the
album), the S3/local ratio.  radosgw runs on the same cores as nginx and
wrk: the ratios are of this machine as a whole.
"""

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port, machine  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
MODULES = os.environ.get("MODULES", os.path.join(REPO, "build", "nginx"))
PHOTO = os.path.join(REPO, "demo", "fixtures", "sample1.jpg")


def wait_port(port, proc, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def wrk(url, threads, connections, duration):
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d",
         f"{duration}s", url], capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    tr = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not rps or not tr:
        raise RuntimeError(f"wrk {url}: unexpected output\n{out}")
    if non2xx:
        raise RuntimeError(f"wrk {url}: {non2xx.group(1)} errors\n{out}")
    unit = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
    return float(rps.group(1)), \
        float(tr.group(1)) * unit[tr.group(2)] / (1 << 20)


def s3_client():
    import boto3
    import botocore.config
    return boto3.client(
        "s3", endpoint_url=os.environ["TEST_S3_ENDPOINT"],
        aws_access_key_id=os.environ["TEST_S3_KEY"],
        aws_secret_access_key=os.environ["TEST_S3_SECRET"],
        region_name="us-east-1",
        config=botocore.config.Config(s3={"addressing_style": "path"}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--members", type=int, default=100)
    ap.add_argument("--member-kb", type=int, default=256)
    ap.add_argument("--prefetch", type=int, default=2,
                    help="album_zip_prefetch (2, the default)")
    ap.add_argument("--s3-conf", default="",
                    help="more directives for the members' s3_proxy "
                         "location, e.g. proxy buffers")
    args = ap.parse_args()

    if not os.environ.get("TEST_S3_ENDPOINT"):
        os.execv(os.path.join(REPO, "scripts", "with-ceph"),
                 ["with-ceph", os.path.join(REPO, "build", "ceph-bench")]
                 + sys.argv)

    for tool in ("wrk",):
        if not shutil.which(tool):
            sys.exit(f"bench/s3.py: {tool} is missing")
    if not os.path.exists(PHOTO):
        sys.exit("bench/s3.py: demo/fixtures/sample1.jpg missing "
                 "(make models)")

    model, simd = machine()
    print(f"CPU: {model}, {os.cpu_count()} cores, SIMD {simd}")

    work = tempfile.mkdtemp(prefix="bench-s3-")
    s3 = s3_client()
    bucket = f"bench-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)

    with open(PHOTO, "rb") as f:
        photo = f.read()
    os.makedirs(f"{work}/html/avatars")
    os.makedirs(f"{work}/html/media")
    os.makedirs(f"{work}/html/albums")
    os.makedirs(f"{work}/logs")
    with open(f"{work}/html/avatars/me.jpg", "wb") as f:
        f.write(photo)
    s3.put_object(Bucket=bucket, Key="avatars/me.jpg", Body=photo)

    rnd = random.Random(15)
    local, remote = [], []
    for i in range(args.members):
        data = rnd.randbytes(args.member_kb * 1024)
        name = f"p{i:03d}.jpg"
        with open(f"{work}/html/media/{name}", "wb") as f:
            f.write(data)
        s3.put_object(Bucket=bucket, Key=f"albums/{name}", Body=data)
        crc = f"{zlib.crc32(data):08x}"
        local.append(f"{crc} {len(data)} /media/{name} {name}\n")
        remote.append(f"{crc} {len(data)} s3://photos/albums/{name} "
                      f"{name}\n")
    with open(f"{work}/html/albums/local.txt", "w") as f:
        f.writelines(local)
    with open(f"{work}/html/albums/s3.txt", "w") as f:
        f.writelines(remote)

    with open(f"{work}/s3.cred", "w") as f:
        f.write(f"aws_access_key_id = {os.environ['TEST_S3_KEY']}\n"
                f"aws_secret_access_key = {os.environ['TEST_S3_SECRET']}\n")

    port = free_port()
    rgw = os.environ["TEST_S3_ENDPOINT"].split("://", 1)[1]
    mods = "\n".join(f"load_module {MODULES}/ngx_http_{m}_module.so;"
                     for m in ("s3", "image_variant", "album_zip"))
    conf = f"""
{mods}
daemon off;
worker_processes 2;
{"user root root;" if os.getuid() == 0 else ""}
pid {work}/logs/nginx.pid;
error_log {work}/logs/error.log warn;
thread_pool default threads=4;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ image/jpeg jpg; text/plain txt; }}
    open_file_cache max=1000 inactive=60s;
    image_variant_preset avatar width=256 height=256 fit=cover format=jpeg quality=80;

    upstream rgw {{ server {rgw}; keepalive 32; }}
    s3_bucket photos {{
        endpoint    {os.environ["TEST_S3_ENDPOINT"]};
        bucket      {bucket};
        upstream    rgw;
        credentials {work}/s3.cred;
    }}

    server {{
        listen 127.0.0.1:{port};
        root {work}/html;

        location /s3/ {{ s3_proxy photos; image_variant avatar; }}
        location /local/avatars/ {{ alias {work}/html/avatars/; image_variant avatar; }}

        location /_s3/ {{ internal; s3_proxy photos; {args.s3_conf} }}
        location /raw/ {{ s3_proxy photos; {args.s3_conf} }}
        location /media/ {{ }}
        location /albums/ {{
            album_zip on;
            add_header X-Album-Zip zip;
            album_zip_allow /media/ s3://photos/albums/;
            album_zip_s3 photos /_s3/;
            album_zip_prefetch {args.prefetch};
        }}
    }}
}}
"""
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(conf)

    proc = subprocess.Popen([NGINX, "-p", work, "-c", f"{work}/nginx.conf"],
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        base = f"http://127.0.0.1:{port}"
        rows = []

        for name, s3_url, local_url, conns in (
                ("avatar 256x256 (s3_proxy + image_variant)",
                 "/s3/avatars/me.jpg", "/local/avatars/me.jpg", 16),
                (f"album of {args.members} x {args.member_kb} KiB",
                 "/albums/s3.txt", "/albums/local.txt", 4),
                (f"one member ({args.member_kb} KiB) alone",
                 "/raw/albums/p000.jpg", "/media/p000.jpg", 4)):
            # warm up both, then measure
            wrk(base + s3_url, 1, 2, 2)
            wrk(base + local_url, 1, 2, 2)
            r_s3 = wrk(base + s3_url, 2, conns, args.duration)
            r_local = wrk(base + local_url, 2, conns, args.duration)
            rows.append((name, r_s3, r_local))

        print(f"\nwrk -t2, {args.duration} s per case; radosgw, nginx and "
              f"wrk share the machine; album_zip_prefetch {args.prefetch}; "
              f"members' location: {args.s3_conf or '(defaults)'}\n")
        print("| case | bucket req/s | local req/s | bucket MB/s "
              "| local MB/s | bucket / local |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, (rs, ms), (rl, ml) in rows:
            print(f"| {name} | {rs:.1f} | {rl:.1f} | {ms:.1f} | {ml:.1f} "
                  f"| {rs / rl:.2f} |")
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        with open(f"{work}/logs/error.log") as f:
            errors = [l for l in f if "[error]" in l or "[alert]" in l
                      or "[crit]" in l]
        if errors:
            print("\nnginx logged:\n" + "".join(errors[:10]))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
