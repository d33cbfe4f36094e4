#!/usr/bin/env python3
"""Image variant worker memory: glibc's malloc arenas against throughput,
in one run, on 127.0.0.1.

  bench/image_variant_memory.py [--requests 600] [--burst 50] [--idle 30]
      [--configs off,1,2,4] [--rounds 2] [--pool-threads 2]
      [--lever directive|env]

A config is a number of malloc arenas for the worker, or "off" (glibc's
own limit, 8 per core); with --lever directive it is set by
image_variant_malloc_arenas, with --lever env by MALLOC_ARENA_MAX in
nginx's environment (to check the two agree).  A config "N+trimT" also
sets image_variant_malloc_trim T (e.g. 2+trim10s); otherwise it is off.
Every config has --rounds servers, all running at once, each one nginx
with 1 worker process and a thread pool of --pool-threads render threads.

The load: --requests variants per server, the same list in the same
order for each: five sources (JPEG 1920x1280 and 3840x2560, PNG with
alpha, WebP, a small JPEG) by five presets (256 cover JPEG and AVIF, 320
WebP, 1024 JPEG, 1600 WebP), every request rendered.  They are sent in
bursts of --burst from --connections keep-alive connections, the servers
taking turns burst by burst (the order turning each pass), so that the
load from elsewhere on a shared machine falls on every config alike.
Then all servers idle --idle seconds.  A trim time shorter than the
pause between a server's bursts (the other servers' turns) trims before
every burst: the worst case for trimming, whose cost is the memory
touched again.

The CPU model and SIMD level are printed first.

Printed per server: requests/s (over its bursts), the worker's CPU time
per request (user + system, all its threads), its RSS at the start, at
its peak (sampled every 0.2 s), after the load and after the idle time,
and the most malloc arena heaps (64 MB anonymous reservations) seen in
its /proc/PID/maps; then the medians per config and the ratios to "off",
as a Markdown table for README.md.
"""

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port, machine  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
MODULE = os.environ.get("MODULE", os.path.join(
    REPO, "build", "nginx", "ngx_http_image_variant_module.so"))
FIXTURES = os.path.join(REPO, "demo", "fixtures")

PRESETS = {
    "a256j": "width=256 height=256 fit=cover format=jpeg quality=80",
    "a256a": "width=256 height=256 fit=cover format=avif",
    "t320w": "width=320 height=320 fit=inside format=webp",
    "m1024j": "width=1024 height=1024 fit=inside format=jpeg",
    "l1600w": "width=1600 height=1600 fit=inside format=webp",
}

HEAP = 64 << 20          # glibc's HEAP_MAX_SIZE on 64-bit


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(d))
        except (OSError, ValueError):
            continue
    return sorted(out)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    """The process's (user, system) CPU time, all threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    hz = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / hz, int(fields[12]) / hz


def arena_heaps(pid):
    """glibc's non-main arenas: 64 MB-aligned anonymous reservations of
    64 MB (a read-write part, the rest PROT_NONE)."""
    maps = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5] if len(parts) > 5 else ""
            maps.append((lo, hi, parts[1], path))
    n = 0
    for i, (lo, hi, perm, path) in enumerate(maps):
        if path or lo % HEAP or perm[:2] != "rw":
            continue
        end = hi
        if i + 1 < len(maps):
            nlo, nhi, nperm, npath = maps[i + 1]
            if nlo == hi and not npath and nperm.startswith("---"):
                end = nhi
        if end - lo == HEAP:
            n += 1
    return n


def make_sources(html):
    """Five sources of different kinds and sizes, made with vips."""
    src = [os.path.join(FIXTURES, f"sample{i}.jpg") for i in range(1, 6)]
    for p in src:
        if not os.path.exists(p):
            sys.exit(f"no {p}: run make models")
    os.makedirs(html)
    shutil.copy(src[0], os.path.join(html, "photo.jpg"))
    vips = [
        ["resize", src[1], os.path.join(html, "big.jpg[Q=90]"), "2"],
        ["bandjoin_const", src[2], os.path.join(html, "alpha.png"), "255"],
        ["resize", src[3], os.path.join(html, "pic.webp[Q=85]"), "1.25"],
        ["resize", src[4], os.path.join(html, "small.jpg[Q=85]"),
         "0.3333"],
    ]
    for cmd in vips:
        subprocess.run(["vips"] + cmd, check=True)
    return ["photo.jpg", "big.jpg", "alpha.png", "pic.webp", "small.jpg"]


class Nginx:
    def __init__(self, work, name, html, port, pool_threads, arenas, trim,
                 env_lever):
        self.prefix = os.path.join(work, name)
        os.makedirs(os.path.join(self.prefix, "logs"))
        os.makedirs(os.path.join(self.prefix, "tmp"))
        conf = os.path.join(self.prefix, "nginx.conf")
        user = "user root root;" if os.geteuid() == 0 else ""
        presets = "".join(f"    image_variant_preset {n} {p};\n"
                          for n, p in PRESETS.items())
        knobs = ""
        env = dict(os.environ)
        env.pop("MALLOC_ARENA_MAX", None)
        if env_lever and arenas != "off":
            env["MALLOC_ARENA_MAX"] = arenas
        if self.has_directive():
            n = "off" if env_lever else arenas
            knobs = f"    image_variant_malloc_arenas {n};\n"
            knobs += f"    image_variant_malloc_trim {trim or 'off'};\n"
        with open(conf, "w") as f:
            f.write(f"""load_module {MODULE};
daemon off;
{user}
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
thread_pool render threads={pool_threads} max_queue=1024;
events {{ worker_connections 256; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {self.prefix}/tmp/body;
    proxy_temp_path {self.prefix}/tmp/proxy;
    fastcgi_temp_path {self.prefix}/tmp/fastcgi;
    uwsgi_temp_path {self.prefix}/tmp/uwsgi;
    scgi_temp_path {self.prefix}/tmp/scgi;
    open_file_cache max=100 inactive=600s;
    open_file_cache_valid 600s;
{knobs}{presets}
    server {{
        listen 127.0.0.1:{port};
        location ~ ^/(?<preset>\\w+)/(?<file>[\\w.]+)$ {{
            alias {html}/$file;
            image_variant $preset;
            image_variant_thread_pool render;
        }}
    }}
}}
""")
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.prefix + "/", "-c", conf], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: "
                                   f"{self.proc.stderr.read().decode()}")
            try:
                with socket.create_connection(("127.0.0.1", port), 1):
                    break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        while True:
            ws = [p for p in children(self.proc.pid)
                  if b"worker" in open(f"/proc/{p}/cmdline", "rb").read()]
            if ws:
                self.worker = ws[0]
                break
            if time.time() > deadline:
                raise RuntimeError("no nginx worker")
            time.sleep(0.1)

    has = None

    @classmethod
    def has_directive(cls):
        if cls.has is None:
            with open(MODULE, "rb") as f:
                cls.has = b"image_variant_malloc_arenas" in f.read()
        return cls.has

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def errors(self):
        with open(os.path.join(self.prefix, "logs", "error.log")) as f:
            return [l for l in f if "[alert]" in l or "[crit]" in l
                    or "[emerg]" in l or "[error]" in l]


def load(port, urls, connections):
    """Every URL once, from `connections` keep-alive connections taking
    the next URL in turn.  Returns (seconds, failures)."""
    lock = threading.Lock()
    it = iter(urls)
    bad = []

    def client():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                url = next(it, None)
            if url is None:
                break
            c.request("GET", url)
            r = c.getresponse()
            body = r.read()
            if r.status != 200 or not body:
                bad.append((url, r.status))
        c.close()

    t0 = time.time()
    ts = [threading.Thread(target=client) for _ in range(connections)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.time() - t0, bad


class Server:
    """One config's nginx, and what was measured of its worker."""

    def __init__(self, args, work, html, config, n):
        arenas, _, trim = config.partition("+")
        self.config, self.n = config, n
        self.port = free_port()
        self.ngx = Nginx(work, f"{config}-{n}".replace("+", "_"), html,
                         self.port, args.pool_threads, arenas,
                         trim.replace("trim", "") or None,
                         args.lever == "env")
        self.pid = self.ngx.worker
        self.start = self.peak = rss_kb(self.pid)
        self.secs = self.cpu = self.sys = 0.0
        self.requests = 0
        self.heaps = 0

    def burst(self, urls, connections):
        """urls from `connections` connections, the RSS sampled meanwhile."""
        done = threading.Event()

        def sampler():
            while not done.is_set():
                self.peak = max(self.peak, rss_kb(self.pid))
                time.sleep(0.2)

        s = threading.Thread(target=sampler)
        s.start()
        cpu0 = cpu_s(self.pid)
        secs, bad = load(self.port, urls, connections)
        cpu1 = cpu_s(self.pid)
        done.set()
        s.join()
        self.peak = max(self.peak, rss_kb(self.pid))
        self.heaps = max(self.heaps, arena_heaps(self.pid))
        if bad:
            raise RuntimeError(f"{self.config}: {len(bad)} failed "
                               f"requests: {bad[:3]}")
        self.secs += secs
        self.cpu += cpu1[0] + cpu1[1] - cpu0[0] - cpu0[1]
        self.sys += cpu1[1] - cpu0[1]
        self.requests += len(urls)
        return len(urls) / secs

    def finish(self):
        self.end = rss_kb(self.pid)
        self.heaps = max(self.heaps, arena_heaps(self.pid))

    def after_idle(self):
        self.idle = rss_kb(self.pid)
        self.heaps = max(self.heaps, arena_heaps(self.pid))
        errs = self.ngx.errors()
        if errs:
            raise RuntimeError(f"{self.config}: error.log: {errs[:3]}")
        r = {"rps": self.requests / self.secs,
             "cpu": self.cpu * 1000 / self.requests,
             "sys": self.sys * 1000 / self.requests,
             "start": self.start, "peak": self.peak, "end": self.end,
             "idle": self.idle, "heaps": self.heaps}
        print(f"  {self.config:10} #{self.n}: {r['rps']:5.1f} req/s  "
              f"{r['cpu']:5.1f} ms CPU/req ({r['sys']:4.1f} system)  RSS "
              f"start {r['start'] / 1024:3.0f} MB, peak "
              f"{r['peak'] / 1024:4.0f}, after the load "
              f"{r['end'] / 1024:4.0f}, idle {r['idle'] / 1024:4.0f}; "
              f"arena heaps {r['heaps']}", flush=True)
        return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=600,
                    help="variants per server (600)")
    ap.add_argument("--burst", type=int, default=50,
                    help="variants per server and pass (50)")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--pool-threads", type=int, default=2)
    ap.add_argument("--idle", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=2,
                    help="servers per config (2)")
    ap.add_argument("--configs", default="off,1,2,4")
    ap.add_argument("--lever", choices=("directive", "env"),
                    default="directive")
    args = ap.parse_args()

    if not os.path.exists(MODULE):
        sys.exit("build the modules first: make build")
    model, simd = machine()
    configs = args.configs.split(",")
    if args.lever == "directive" and not Nginx.has_directive():
        sys.exit("this module has no image_variant_malloc_arenas: "
                 "use --lever env")

    work = tempfile.mkdtemp(prefix="image-variant-memory-")
    os.chmod(work, 0o755)
    servers = []
    try:
        html = os.path.join(work, "html")
        files = make_sources(html)
        combos = [f"/{p}/{f}" for f in files for p in PRESETS]
        # a fixed interleaving: every combination in each block of 25
        urls = [combos[(i * 7 + i // len(combos)) % len(combos)]
                for i in range(args.requests)]
        print(f"CPU: {model}; SIMD: {simd}; {os.cpu_count()} CPUs; glibc "
              f"{os.confstr('CS_GNU_LIBC_VERSION').split()[-1]}")
        print(f"{args.rounds} servers per config, each 1 worker with a "
              f"thread pool of {args.pool_threads}; {args.requests} "
              f"variants each ({len(files)} sources x {len(PRESETS)} "
              f"presets) from {args.connections} connections, in bursts "
              f"of {args.burst}, the servers taking turns; then {args.idle}"
              f"s idle; lever: {args.lever}\n", flush=True)
        for n in range(1, args.rounds + 1):
            for c in configs:
                servers.append(Server(args, work, html, c, n))
        passes = (args.requests + args.burst - 1) // args.burst
        for k in range(passes):
            part = urls[k * args.burst:(k + 1) * args.burst]
            # the order turns each pass: no server always goes first
            shift = k % len(servers)
            for srv in servers[shift:] + servers[:shift]:
                srv.burst(part, args.connections)
            print(f"  pass {k + 1}/{passes} (load "
                  f"{os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
        for srv in servers:
            srv.finish()
        time.sleep(args.idle)
        res = {c: [] for c in configs}
        for srv in servers:
            res[srv.config].append(srv.after_idle())
    finally:
        for srv in servers:
            srv.ngx.stop()
        shutil.rmtree(work, ignore_errors=True)

    med = {c: {k: statistics.median(r[k] for r in rs)
               for k in rs[0]} for c, rs in res.items()}
    base = med.get("off")
    print(f"\n| arenas | req/s (range) | vs off | worker CPU ms/req "
          f"(system) | vs off | RSS peak MB | RSS after {args.idle} s "
          f"idle MB | arena heaps |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for c in configs:
        m = med[c]
        lo = min(r["rps"] for r in res[c])
        hi = max(r["rps"] for r in res[c])
        ratio = f"{m['rps'] / base['rps']:.2f}×" if base else ""
        cratio = f"{m['cpu'] / base['cpu']:.2f}×" if base else ""
        print(f"| {c} | {m['rps']:.1f} ({lo:.1f}–{hi:.1f}) | {ratio} "
              f"| {m['cpu']:.1f} ({m['sys']:.1f}) | {cratio} "
              f"| {m['peak'] / 1024:.0f} | {m['idle'] / 1024:.0f} "
              f"| {m['heaps']:.0f} |")


if __name__ == "__main__":
    main()
