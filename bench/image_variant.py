#!/usr/bin/env python3
"""Image variant benchmark: ngx_http_image_variant_module against a Node.js
server doing the same work with sharp, and against nginx's own image_filter,
in one run, on 127.0.0.1.

  bench/image_variant.py [--duration 30] [--formats jpeg,webp,avif]

The work: the 1920x1280 sample photo (demo/fixtures/sample1.jpg, from
"make models") to a 256x256 cover variant, quality 80 (JPEG progressive),
for every request; nothing is cached.  Load: wrk, 2 threads, 16
connections, --duration seconds per case, with --latency.  With --rounds
N, each format is measured N times, the servers taking turns, and the
table shows the medians (a burst of background load on a shared machine
then hits every server alike).  Each server has
2 worker processes:

  image_variant  2 nginx workers; the photo from a static location with
                 open_file_cache, so the disk is no difference; renders on
                 a thread pool of --pool-threads per worker
  sharp          bench/sharp/server.js: node:cluster of 2 workers, the photo
                 read once at start, sharp(buf).rotate().resize(256, 256,
                 {fit: 'cover'}).jpeg({quality: 80, progressive: true})
                 (webp/avif likewise); "npm ci" in bench/sharp on first use
  image_filter   2 nginx workers, "image_filter crop 256 256", quality 80,
                 interlaced; JPEG only (libgd makes neither WebP nor AVIF
                 here).  Debian's libnginx-mod-http-image-filter, installed
                 with apt-get when missing and running as root, else skipped

Printed: requests/s, p50/p99 latency, the ratios to sharp and to
image_filter, and the workers' RSS (summed) before and after; for
image_variant also after --rss-requests requests in all (default 10,000),
which must be flat; first, the CPU model and SIMD level.  The table is
Markdown, for README.md.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port, machine  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
MODULE = os.environ.get("MODULE", os.path.join(
    REPO, "build", "nginx", "ngx_http_image_variant_module.so"))
IMAGE_FILTER = "/usr/lib/nginx/modules/ngx_http_image_filter_module.so"
SHARP_DIR = os.path.join(REPO, "bench", "sharp")
PHOTO = os.path.join(REPO, "demo", "fixtures", "sample1.jpg")


def wait_port(port, proc, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def children(pid):
    """Pids whose parent is pid: nginx's or node's workers."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return sorted(out)


def rss_kb(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def image_size(data, work):
    """(width, height) by vipsheader, when it is installed."""
    if not shutil.which("vipsheader"):
        return None
    path = os.path.join(work, "check.img")
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run(["vipsheader", "-f", "width", path],
                         capture_output=True, text=True).stdout.strip()
    h = subprocess.run(["vipsheader", "-f", "height", path],
                       capture_output=True, text=True).stdout.strip()
    return int(out), int(h)


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(url, args, duration):
    res = subprocess.run(
        ["wrk", "-t", str(args.threads), "-c", str(args.connections),
         "-d", f"{duration}s", "--timeout", "30s", "--latency", url],
        check=True, capture_output=True, text=True)
    out = res.stdout
    if not re.search(r"^\s+99%\s+[\d.]+(?:us|ms|s|m)\s", out, re.M):
        raise RuntimeError(f"wrk {url}: unexpected output\n{out}")
    r = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "errors": 0,
    }
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["errors"] += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:
        r["errors"] += sum(int(x) for x in m.groups())
    return r


# ---------------------------------------------------------------- servers

class Nginx:
    def __init__(self, work, name, modules, main, http):
        self.prefix = os.path.join(work, name)
        for d in ("logs", "tmp"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        os.chmod(work, 0o755)
        os.chmod(self.prefix, 0o755)
        self.conf = os.path.join(self.prefix, "nginx.conf")
        user = "user root root;" if os.geteuid() == 0 else ""
        with open(self.conf, "w") as f:
            f.write("".join(f"load_module {m};\n" for m in modules) + f"""
daemon off;
{user}
worker_processes 2;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
{main}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type image/jpeg;
    client_body_temp_path {self.prefix}/tmp/body;
    proxy_temp_path {self.prefix}/tmp/proxy;
    fastcgi_temp_path {self.prefix}/tmp/fastcgi;
    uwsgi_temp_path {self.prefix}/tmp/uwsgi;
    scgi_temp_path {self.prefix}/tmp/scgi;
    keepalive_requests 1000000;
    open_file_cache max=100 inactive=60s;
    open_file_cache_valid 600s;
{http}
}}
""")
        subprocess.run([NGINX, "-p", self.prefix + "/", "-c", self.conf,
                        "-t", "-q"], check=True)
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.prefix + "/", "-c", self.conf],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def workers(self):
        return [p for p in children(self.proc.pid)
                if "worker" in open(f"/proc/{p}/cmdline").read()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self):
        path = os.path.join(self.prefix, "logs", "error.log")
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            return "".join(f.readlines()[-20:])


class Sharp:
    def __init__(self, photo, port, workers):
        self.proc = subprocess.Popen(
            ["node", os.path.join(SHARP_DIR, "server.js"), photo,
             str(port), str(workers)],
            stdout=subprocess.DEVNULL, cwd=SHARP_DIR)

    def workers(self):
        return children(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def ensure_sharp():
    if os.path.isdir(os.path.join(SHARP_DIR, "node_modules", "sharp")):
        return True
    if not shutil.which("npm"):
        print("no npm: the sharp case is skipped", file=sys.stderr)
        return False
    print("installing sharp in bench/sharp (npm ci)...", file=sys.stderr)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"],
                   cwd=SHARP_DIR, check=True)
    return True


def ensure_image_filter():
    if os.path.exists(IMAGE_FILTER):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("image_filter missing (apt-get install "
              "libnginx-mod-http-image-filter): that case is skipped",
              file=sys.stderr)
        return False
    print("installing libnginx-mod-http-image-filter...", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
           "libnginx-mod-http-image-filter"]
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env,
                       stdout=subprocess.DEVNULL)
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return os.path.exists(IMAGE_FILTER)


# ---------------------------------------------------------------- the run

def prepare_photo(work):
    """The 1920x1280 photo: the sample itself, or resized to that."""
    if not os.path.exists(PHOTO):
        sys.exit("no demo/fixtures/sample1.jpg: run make models")
    dst = os.path.join(work, "html", "photo.jpg")
    os.makedirs(os.path.dirname(dst))
    size = image_size(open(PHOTO, "rb").read(), work)
    if size in (None, (1920, 1280)):
        shutil.copy(PHOTO, dst)
    else:
        subprocess.run(["vips", "thumbnail", PHOTO, dst + "[Q=90]", "1920",
                        "--height", "1280", "--crop", "centre"],
                       check=True)
    os.chmod(dst, 0o644)
    return dst


def check(url, fmt, work):
    """One request: a 256x256 image of the right kind, or stop here."""
    status, ctype, body = fetch(url)
    if status != 200 or ctype != f"image/{fmt}":
        raise RuntimeError(f"{url}: {status} {ctype}")
    size = image_size(body, work)
    if size not in (None, (256, 256)):
        raise RuntimeError(f"{url}: {size[0]}x{size[1]}, not 256x256")
    return len(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=30,
                    help="seconds of wrk per case (30)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--formats", default="jpeg,webp,avif")
    ap.add_argument("--pool-threads", type=int,
                    default=os.cpu_count() or 2,
                    help="image_variant thread pool size per worker "
                         "(default: the CPU count)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="interleaved rounds (server after server), each "
                         "--duration long; the table shows medians")
    ap.add_argument("--rss-requests", type=int, default=10000)
    ap.add_argument("--shrink-on-load", default="thumbnail",
                    choices=("thumbnail", "fast"),
                    help="image_variant_shrink_on_load (thumbnail: 2x left "
                         "to the resampler, the default; fast: 1.25x)")
    ap.add_argument("--no-sharp", action="store_true")
    ap.add_argument("--no-image-filter", action="store_true")
    args = ap.parse_args()

    if not os.path.exists(MODULE):
        sys.exit("build the modules first: make build")
    for tool in ("wrk", "node"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing")

    work = tempfile.mkdtemp(prefix="image-variant-bench-")
    servers = []
    try:
        run(args, work, servers)
    except Exception:
        for s in servers:
            if isinstance(s, Nginx) and s.log_tail():
                sys.stderr.write(f"{s.prefix}/logs/error.log:\n"
                                 + s.log_tail())
        raise
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


def run(args, work, servers):
    formats = args.formats.split(",")
    photo = prepare_photo(work)
    html = os.path.dirname(photo)

    # ---- image_variant
    port = free_port()
    presets = "".join(
        f"    image_variant_preset {f} width=256 height=256 fit=cover "
        f"format={f} quality=80;\n" for f in ("jpeg", "webp", "avif"))
    locations = "".join(f"""
        location = /{f} {{
            alias {photo};
            image_variant {f};
            image_variant_thread_pool bench;
            image_variant_shrink_on_load {args.shrink_on_load};
        }}""" for f in ("jpeg", "webp", "avif"))
    ours = Nginx(work, "image_variant", [MODULE],
                 f"thread_pool bench threads={args.pool_threads};",
                 presets + f"""
    server {{
        listen 127.0.0.1:{port};
        {locations}
    }}""")
    servers.append(ours)
    wait_port(port, ours.proc)
    cases = {"image_variant": f"http://127.0.0.1:{port}"}
    procs = {"image_variant": ours}

    # ---- sharp
    if not args.no_sharp and ensure_sharp():
        sport = free_port()
        sharp = Sharp(photo, sport, 2)
        servers.append(sharp)
        wait_port(sport, sharp.proc)
        cases["sharp"] = f"http://127.0.0.1:{sport}"
        procs["sharp"] = sharp

    # ---- image_filter
    if not args.no_image_filter and ensure_image_filter():
        iport = free_port()
        flt = Nginx(work, "image_filter", [IMAGE_FILTER], "", f"""
    server {{
        listen 127.0.0.1:{iport};
        location = /jpeg {{
            alias {photo};
            image_filter crop 256 256;
            image_filter_jpeg_quality 80;
            image_filter_interlace on;
            image_filter_buffer 20M;
        }}
    }}""")
        servers.append(flt)
        wait_port(iport, flt.proc)
        cases["image_filter"] = f"http://127.0.0.1:{iport}"
        procs["image_filter"] = flt

    model, simd = machine()
    print(f"CPU: {model}; SIMD: {simd}")
    print(f"photo {photo_desc(photo, work)}; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s; 2 workers each; "
          f"image_variant thread pool {args.pool_threads} per worker; "
          f"{os.cpu_count()} CPUs\n", flush=True)

    results = []
    served = 0
    rss_start = None
    for fmt in formats:
        names = [n for n in cases if n != "image_filter" or fmt == "jpeg"]
        runs = {n: [] for n in names}
        for n in names:
            url = f"{cases[n]}/{fmt}"
            runs[n].append(check(url, fmt, work))
            for _ in range(8):    # warm-up: lazy init, caches, JIT
                fetch(url)
            if n == "image_variant":
                served += 9
        for rnd in range(args.rounds):
            for name in names:
                url = f"{cases[name]}/{fmt}"
                workers = procs[name].workers()
                before = rss_kb(workers)
                if name == "image_variant" and rss_start is None:
                    rss_start = before
                r = wrk(url, args, args.duration)
                r["rss"] = (before, rss_kb(workers))
                if name == "image_variant":
                    served += r["requests"]
                runs[name].append(r)
                print(f"  {fmt:5} {name:14} {r['rps']:8.1f} req/s  "
                      f"p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms  "
                      f"errors {r['errors']}  (round {rnd + 1}, load "
                      f"{os.getloadavg()[0]:.2f})", flush=True)
        for name in names:
            size, rs = runs[name][0], runs[name][1:]
            results.append({
                "name": name, "fmt": fmt, "bytes": size,
                "rps": statistics.median(r["rps"] for r in rs),
                "rps_range": (min(r["rps"] for r in rs),
                              max(r["rps"] for r in rs)),
                "p50": statistics.median(r["p50"] for r in rs),
                "p99": statistics.median(r["p99"] for r in rs),
                "errors": sum(r["errors"] for r in rs),
                "requests": sum(r["requests"] for r in rs),
                "rss": (rs[0]["rss"][0], rs[-1]["rss"][1]),
            })

    # image_variant's memory after --rss-requests in all: more JPEG load
    # until then, in rounds, the RSS noted after each
    rss_series = [(served, rss_kb(ours.workers()))]
    rate = next((r["rps"] for r in results
                 if r["name"] == "image_variant"), 50.0)
    while served < args.rss_requests:
        seconds = min(60, max(2, int((args.rss_requests - served)
                                     / max(rate, 1.0)) + 1))
        r = wrk(f"{cases['image_variant']}/jpeg", args, seconds)
        served += r["requests"]
        rate = r["rps"]
        rss_series.append((served, rss_kb(ours.workers())))
    rss_end = rss_series[-1][1]

    table(results)
    print(f"\nimage_variant workers' RSS: {rss_start} kB before the first "
          f"run, {rss_end} kB after {served} requests "
          f"({(rss_end - rss_start) / 1024:+.1f} MB); on the way: "
          + ", ".join(f"{kb} kB at {n}" for n, kb in rss_series))


def photo_desc(photo, work):
    size = image_size(open(photo, "rb").read(), work)
    dims = f"{size[0]}x{size[1]}, " if size else ""
    return f"{dims}{os.path.getsize(photo)} bytes"


def table(results):
    by = {(r["fmt"], r["name"]): r for r in results}
    print("\n| format | server | req/s (range) | p50 ms | p99 ms | vs sharp "
          "| vs image_filter | worker RSS kB before → after |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        ratios = []
        for other in ("sharp", "image_filter"):
            o = by.get((r["fmt"], other))
            if o and o is not r and o["rps"]:
                ratios.append(f"{r['rps'] / o['rps']:.2f}×")
            else:
                ratios.append("")
        err = f" ({r['errors']} errors)" if r["errors"] else ""
        lo, hi = r["rps_range"]
        spread = f" ({lo:.0f}–{hi:.0f})" if hi > lo else ""
        print(f"| {r['fmt']} | {r['name']}{err} | {r['rps']:.0f}{spread} "
              f"| {r['p50']:.1f} | {r['p99']:.1f} | {ratios[0]} "
              f"| {ratios[1]} | {r['rss'][0]} → {r['rss'][1]} |")


if __name__ == "__main__":
    main()
