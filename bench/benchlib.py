"""What the Python benchmarks share: the machine they ran on (every
benchmark prints its CPU model and SIMD level) and a free loopback port."""

import socket
import subprocess


def machine():
    """The CPU model (lscpu) and the widest SIMD level of its flags."""
    model, flags = "unknown CPU", set()
    try:
        out = subprocess.run(["lscpu"], capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    simd = ("avx512" if "avx512f" in flags else
            "avx2" if "avx2" in flags else
            "sse4.2" if "sse4_2" in flags else "baseline")
    return model, simd


def free_port():
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
