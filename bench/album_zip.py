#!/usr/bin/env python3
"""Album zip benchmark: ngx_http_album_zip_module against nginx serving the
same bytes as one static file, in one run, on 127.0.0.1.

  bench/album_zip.py [--files 50] [--size-mb 4] [--runs 11]

Cases (single-stream downloads with curl):
  static       one file of the album's total size (the bar)
  zip, CRCs    manifest with every CRC given: sendfile, Content-Length
  zip, no CRC  manifest without CRCs: read into memory, CRC-32 computed
  directory, first download
               album_zip_directory with an empty album_zip_crc_store
               (emptied before every run) and no album_zip_crc_cache:
               each CRC computed on the thread pool from the page cache
               just before its member goes out with sendfile (the bar:
               at least 0.85x the static file)
  directory    album_zip_directory, CRCs remembered after the first run

A download of 200 MB over loopback takes about 0.1 s, and the machine may
be shared: the cases are measured in --runs interleaved rounds (static,
zip, no CRC, directory, static, ...), so that a burst of background load
hits every case alike, and each is reported as the median with its range.
Next to the time: the CPU time the nginx worker spent per download (from
/proc/PID/schedstat, in nanoseconds) and curl's own.  On loopback the
receiving curl, copying every byte out of the socket, is the slower side;
the worker's CPU time is what the module adds, and does not depend on the
load of the other core.
Then: worker peak RSS growth per concurrent download (8 at once), and 100
remote members behind 50 ms of per-file latency against the time to
transfer the same bytes with no latency.  Hiding a latency L takes
album_zip_prefetch >= L x the members per second the client takes
(Little's law): 512 kB members over loopback go at about 800/s, so 50 ms
needs 40 in flight; the default --prefetch is 64, the directive's maximum.

mod_zip is not in Debian and cannot be fetched here; its figures measured
on the same kind of machine are quoted in README.md.
"""

import argparse
import http.server
import os
import resource
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import benchlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
MODULE = os.environ.get("MODULE", os.path.join(
    REPO, "build", "nginx", "ngx_http_album_zip_module.so"))


def nginx_version():
    res = subprocess.run([NGINX, "-v"], capture_output=True, text=True)
    return res.stderr.strip().split("/")[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def curl(url, out="/dev/null"):
    """Seconds and bytes of one download."""
    res = subprocess.run(
        ["curl", "-s", "-o", out, "-w",
         "%{time_total} %{size_download} %{http_code}",
         url], check=True, capture_output=True, text=True)
    t, n, code = res.stdout.split()
    if code not in ("200", "206"):
        raise RuntimeError(f"{url}: status {code}")
    return float(t), int(n)


def median_time(url, runs):
    times = []
    size = 0
    for _ in range(runs):
        t, size = curl(url)
        times.append(t)
    return statistics.median(times), size


def cpu_ns(pid):
    """CPU time of a process (all its threads) so far, in nanoseconds."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass    # a thread that has just ended
    return total


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def interleaved(base, cases, runs, worker, before=None):
    """Per case: [(seconds, bytes, worker CPU s, curl CPU s)], in rounds;
    before: {url: what to do before each of its runs}."""
    res = {url: [] for _, url in cases}
    for _ in range(runs):
        for _, url in cases:
            if before and url in before:
                before[url]()
            w0, c0 = cpu_ns(worker), children_cpu()
            t, n = curl(base + url)
            w1, c1 = cpu_ns(worker), children_cpu()
            res[url].append((t, n, (w1 - w0) / 1e9, c1 - c0))
    return res


LATENCY = [0.0]


class SlowHandler(http.server.SimpleHTTPRequestHandler):
    """A stand-in CDN: every file answered after LATENCY[0] seconds."""

    def do_GET(self):
        time.sleep(LATENCY[0])
        return super().do_GET()

    def log_message(self, *args):
        pass


class ThreadedServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256    # the default 5 drops prefetched connects


def worker_pid(prefix):
    with open(os.path.join(prefix, "nginx.pid")) as f:
        master = f.read().strip()
    out = subprocess.run(["pgrep", "-P", master], capture_output=True,
                         text=True).stdout.split()
    return int(out[0])


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--size-mb", type=int, default=4)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--remote-files", type=int, default=100)
    ap.add_argument("--remote-size-kb", type=int, default=512)
    ap.add_argument("--prefetch", type=int, default=64)
    ap.add_argument("--only-remote", action="store_true")
    args = ap.parse_args()

    if not os.path.exists(MODULE):
        sys.exit("build the modules first: make build")

    work = tempfile.mkdtemp(prefix="album-zip-bench-")
    os.chmod(work, 0o755)   # nginx's workers run as "nobody" under root
    try:
        run(args, work)
    except Exception:
        log = os.path.join(work, "error.log")
        if os.path.exists(log):
            with open(log) as f:
                sys.stderr.write("error.log:\n" + f.read())
        raise
    finally:
        pid = os.path.join(work, "nginx.pid")
        if os.path.exists(pid):
            subprocess.run([NGINX, "-p", work + "/", "-c", "nginx.conf",
                            "-s", "quit"], capture_output=True)
            time.sleep(0.5)
        shutil.rmtree(work, ignore_errors=True)


def run(args, work):
    album = os.path.join(work, "html", "album")
    remote = os.path.join(work, "remote")
    os.makedirs(album)
    os.makedirs(remote)

    size = args.size_mb * 1024 * 1024
    lines_crc, lines_nocrc = [], []
    with open(os.path.join(work, "html", "static.bin"), "wb") as whole:
        for i in range(args.files):
            data = os.urandom(size)
            name = f"p{i:04d}.jpg"
            with open(os.path.join(album, name), "wb") as f:
                f.write(data)
            whole.write(data)
            crc = zlib.crc32(data)
            lines_crc.append(f"{crc:08x} {size} /album/{name} {name}")
            lines_nocrc.append(f"- {size} /album/{name} {name}")

    rsize = args.remote_size_kb * 1024
    remote_lines = []
    with open(os.path.join(work, "html", "remote-static.bin"), "wb") as whole:
        for i in range(args.remote_files):
            data = os.urandom(rsize)
            name = f"r{i:04d}.jpg"
            with open(os.path.join(remote, name), "wb") as f:
                f.write(data)
            whole.write(data)
            remote_lines.append((name, zlib.crc32(data)))

    port = free_port()
    cdn_port = free_port()

    with open(os.path.join(work, "html", "crc.txt"), "w") as f:
        f.write("\n".join(lines_crc) + "\n")
    with open(os.path.join(work, "html", "nocrc.txt"), "w") as f:
        f.write("\n".join(lines_nocrc) + "\n")
    with open(os.path.join(work, "html", "remote.txt"), "w") as f:
        f.write("".join(
            f"{crc:08x} {rsize} http://127.0.0.1:{cdn_port}/{name} {name}\n"
            for name, crc in remote_lines))

    with open(os.path.join(work, "nginx.conf"), "w") as f:
        f.write(f"""
load_module {MODULE};
{os.environ.get("NGINX_MAIN", "")}
worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    album_zip_crc_cache bench_crc:4m;
    server {{
        listen 127.0.0.1:{port};
        root html;
        location /album/ {{ }}
        location /dir/ {{ alias html/; album_zip_directory on; }}
        location /first/ {{
            alias html/;
            album_zip_directory on;
            album_zip_crc_cache off;
            album_zip_crc_store {os.path.join(work, "crc")};
        }}
        location /lists/ {{
            alias html/;
            album_zip on;
            add_header X-Album-Zip zip;
        }}
        location /remote-lists/ {{
            alias html/;
            album_zip on;
            album_zip_prefetch {args.prefetch};
            album_zip_remote /_remote;
            add_header X-Album-Zip zip;
        }}
        location /_remote {{
            internal;
            proxy_pass $album_zip_url;
            proxy_buffering on;
            proxy_max_temp_file_size 0;
        }}
    }}
}}
""")
    os.makedirs(os.path.join(work, "tmp"))
    env = dict(os.environ)
    if os.environ.get("NGINX_PRELOAD"):
        # for a sanitizer build of the module (debugging the benchmark)
        env["LD_PRELOAD"] = os.environ["NGINX_PRELOAD"]
        env["ASAN_OPTIONS"] = "detect_leaks=0:detect_odr_violation=0:" \
                              "log_path=" + os.path.join(work, "asan")
    subprocess.run([NGINX, "-p", work + "/", "-c", "nginx.conf"], check=True,
                   env=env)

    cdn = ThreadedServer(("127.0.0.1", cdn_port),
                         lambda *a: SlowHandler(*a, directory=remote))
    threading.Thread(target=cdn.serve_forever, daemon=True).start()

    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            curl(base + "/crc.txt")
            break
        except (subprocess.CalledProcessError, RuntimeError):
            time.sleep(0.05)

    if args.only_remote:
        remote_case(args, base, cdn)
        return

    total_mb = args.files * size / 1e6
    model, simd = benchlib.machine()
    print(f"CPU: {model} ({simd}), {os.cpu_count()} cores; "
          f"nginx {nginx_version()}")
    print(f"album: {args.files} x {args.size_mb} MB = {total_mb:.0f} MB, "
          f"{args.runs} interleaved rounds, median and range; "
          f"load average {os.getloadavg()[0]:.2f}")

    # warm the page cache and the CRC cache
    curl(base + "/static.bin")
    curl(base + "/dir/album.zip")

    store = os.path.join(work, "crc")

    def empty_store():
        shutil.rmtree(store, ignore_errors=True)
        os.makedirs(store)
        os.chmod(store, 0o777)    # the workers may run as "nobody"

    cases = [("static file (nginx)", "/static.bin"),
             ("directory, first download", "/first/album.zip"),
             ("zip, CRCs in manifest", "/lists/crc.txt"),
             ("zip, CRCs computed", "/lists/nocrc.txt"),
             ("directory, CRCs remembered", "/dir/album.zip")]
    res = interleaved(base, cases, args.runs, worker_pid(work),
                      before={"/first/album.zip": empty_store})

    def med(url, k):
        return statistics.median(x[k] for x in res[url])

    t_static = med("/static.bin", 0)
    print(f"{'case':28} {'seconds':>7} {'range':>13} {'MB/s':>6} "
          f"{'vs static':>9} {'nginx CPU':>10} {'curl CPU':>9}")
    for label, url in cases:
        t = med(url, 0)
        lo = min(x[0] for x in res[url])
        hi = max(x[0] for x in res[url])
        n = res[url][0][1]
        print(f"{label:28} {t:7.3f} {lo:6.3f}-{hi:6.3f} {n / t / 1e6:6.0f} "
              f"{t_static / t * 100:8.0f}% {med(url, 2) * 1000:7.1f} ms "
              f"{med(url, 3) * 1000:6.0f} ms")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    first = t_static / med("/first/album.zip", 0)
    print(f"first download of a directory album: {first:.2f}x the static "
          f"file (bar: 0.85x): {'met' if first >= 0.85 else 'NOT met'}")

    # memory: 8 concurrent downloads of the album without CRCs
    pid = worker_pid(work)
    before = status_kb(pid, "VmRSS")
    procs = [subprocess.Popen(["curl", "-s", "-o", "/dev/null",
                               "--limit-rate", "100M",
                               base + "/lists/nocrc.txt"])
             for _ in range(8)]
    peak = before
    while any(p.poll() is None for p in procs):
        peak = max(peak, status_kb(pid, "VmRSS"))
        time.sleep(0.02)
    print(f"worker RSS: {before} kB idle, {peak} kB peak with 8 downloads "
          f"(+{(peak - before) / 8:.0f} kB per download), "
          f"{status_kb(pid, 'VmRSS')} kB after")

    remote_case(args, base, cdn)


def remote_case(args, base, cdn):
    """The same remote archive with and without 50 ms per file."""
    LATENCY[0] = 0.0
    t_pure, _ = median_time(base + "/remote-lists/remote.txt", 3)
    LATENCY[0] = 0.05
    t_remote, _ = median_time(base + "/remote-lists/remote.txt", 3)
    print(f"remote: {args.remote_files} x {args.remote_size_kb} kB, "
          f"prefetch {args.prefetch}: {t_pure:.3f} s with no latency, {t_remote:.3f} s "
          f"with 50 ms per file ({t_remote / t_pure:.2f}x; fetching one "
          f"after another would add "
          f"{args.remote_files * 0.05:.1f} s)")
    cdn.shutdown()


if __name__ == "__main__":
    main()
