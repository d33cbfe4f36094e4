#!/usr/bin/env python3
"""Image variant quality against sharp: SSIM and bytes of a 256x256 cover
JPEG at quality 80, on photos of varied sizes and aspects.

  bench/image_variant_quality.py [--keep DIR]

The photos are made from the demo fixtures (demo/fixtures/sample*.jpg,
from "make models") with the vips command: each cut (centred) and
resampled to its size, saved as JPEG q92.  The sizes include those where
width/4 and height/4 are just above 256 (where JPEG shrink-on-load by 4
is tempting), 3:2, 4:3, 1:1, 16:9 and portrait, from 600 to 1920 pixels.

For each photo: the module's own render (src/image/core, through
bench/image_variant_quality.c, built here with cc) and sharp's
(bench/sharp/cover.js, same settings: progressive, optimised Huffman
tables, 4:2:0, no trellis) are compared with an exactly centred Lanczos-3
reference made from the full-size photo (t/unit/image_variant_quality.c:
no rounding of the crop), by the SSIM of the luma.  The bars (exit code
1 when one fails): per photo ours >= sharp - 0.005 and >= 0.95 and bytes
within 5% of sharp's, mean ours >= mean sharp, total bytes within 5%.  Printed as a Markdown
table, worst photo last.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import machine  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARP_DIR = os.path.join(REPO, "bench", "sharp")
TOOL = os.path.join(REPO, "build", "bench", "image_variant_quality")

# (sample, width, height, what)
PHOTOS = [
    (1, 1030, 1030, "1:1, /4 just above 256"),
    (2, 1282, 1110, "the issue's 1282x1110"),
    (3, 1548, 1032, "3:2, /4 just above 256"),
    (4, 1376, 1032, "4:3, /4 just above 256"),
    (5, 1032, 1548, "2:3 portrait, /4 just above 256"),
    (6, 1032, 1376, "3:4 portrait, /4 just above 256"),
    (1, 1920, 1280, "3:2, the benchmark's photo"),
    (6, 1920, 1537, "sample6 as it is"),
    (4, 1600, 1600, "1:1"),
    (2, 800, 600, "4:3, small"),
    (3, 600, 900, "2:3 portrait, small"),
    (5, 1800, 1013, "16:9"),
    (2, 1100, 1100, "1:1, /4 just above 256 (by 19 px)"),
    (4, 2064, 1161, "16:9, /4.5"),
]


def build_tool():
    srcs = ["bench/image_variant_quality.c",
            "t/unit/image_variant_quality.c",
            "src/image/core/image_variant_params.c"]
    core = os.path.join(REPO, "src", "image", "core")
    srcs += sorted(os.path.join("src/image/core", f) for f in os.listdir(core)
                   if f.startswith("image_variant_vips") and f.endswith(".c"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "vips"],
                           check=True, capture_output=True,
                           text=True).stdout.split()
    os.makedirs(os.path.dirname(TOOL), exist_ok=True)
    subprocess.run(["cc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-Isrc/image/core", "-Isrc/edge/core", "-It/unit",
                    *srcs, "-o", TOOL, *flags, "-lcrypto", "-lm"],
                   check=True, cwd=REPO)


def ensure_sharp():
    if os.path.isdir(os.path.join(SHARP_DIR, "node_modules", "sharp")):
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], check=True,
                   cwd=SHARP_DIR)


def make_photo(sample, w, h, path):
    src = os.path.join(REPO, "demo", "fixtures", "sample%d.jpg" % sample)
    if not os.path.exists(src):
        sys.exit("no %s: run make models" % src)
    subprocess.run(["vips", "thumbnail", src, path + "[Q=92,strip]",
                    str(w), "--height", str(h), "--crop", "centre"],
                   check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", help="keep the photos and outputs in DIR")
    ap.add_argument("--shrink-on-load", default="thumbnail",
                    choices=("thumbnail", "fast"),
                    help="as image_variant_shrink_on_load (thumbnail: 2x "
                         "left to the resampler, the default; fast: 1.25x)")
    args = ap.parse_args()
    env = dict(os.environ)
    env.pop("IMAGE_VARIANT_FAST_SHRINK", None)
    if args.shrink_on_load == "fast":
        env["IMAGE_VARIANT_FAST_SHRINK"] = "1"

    cpu, simd = machine()
    print("CPU: %s; SIMD: %s" % (cpu, simd))
    print("image_variant_shrink_on_load %s" % args.shrink_on_load)
    build_tool()
    ensure_sharp()

    work = args.keep or tempfile.mkdtemp(prefix="iv-quality-")
    os.makedirs(work, exist_ok=True)
    rows = []
    for sample, w, h, what in PHOTOS:
        photo = os.path.join(work, "s%d-%dx%d.jpg" % (sample, w, h))
        make_photo(sample, w, h, photo)
        out = subprocess.run(["vipsheader", photo], check=True,
                             capture_output=True, text=True).stdout
        if "%dx%d" % (w, h) not in out:
            sys.exit("%s is not %dx%d: %s" % (photo, w, h, out))
        theirs = photo[:-4] + "-sharp.jpg"
        subprocess.run(["node", os.path.join(SHARP_DIR, "cover.js"), photo,
                        theirs], check=True)
        res = subprocess.run([TOOL, photo, theirs], check=True, env=env,
                             capture_output=True, text=True).stdout.split()
        ours, sharp = float(res[0]), float(res[1])
        rows.append((ours - sharp, "%dx%d" % (w, h), sample, what, ours,
                     sharp, int(res[2]), int(res[3])))

    rows.sort(reverse=True)
    fails = []
    print()
    print("| photo | from | what | SSIM ours | SSIM sharp | bytes ours "
          "| bytes sharp |")
    print("|---|---|---|---|---|---|---|")
    for d, size, sample, what, ours, sharp, bo, bs in rows:
        print("| %s | sample%d | %s | %.4f | %.4f | %d | %d |"
              % (size, sample, what, ours, sharp, bo, bs))
        if ours < sharp - 0.005:
            fails.append("%s: %.4f < sharp %.4f - 0.005" % (size, ours, sharp))
        if ours < 0.95:
            fails.append("%s: %.4f < 0.95" % (size, ours))
        if abs(bo - bs) > 0.05 * bs:
            fails.append("%s: %d bytes, not within 5%% of sharp's %d"
                         % (size, bo, bs))
    mo = sum(r[4] for r in rows) / len(rows)
    ms = sum(r[5] for r in rows) / len(rows)
    bo = sum(r[6] for r in rows)
    bs = sum(r[7] for r in rows)
    print("| **mean / total** | | | **%.4f** | **%.4f** | **%d** | **%d** |"
          % (mo, ms, bo, bs))
    print()
    print("worst against sharp: %s (%+.4f); bytes %+.1f%% of sharp's"
          % (rows[-1][1], rows[-1][0], 100.0 * (bo - bs) / bs))
    if mo < ms:
        fails.append("mean %.4f < sharp's %.4f" % (mo, ms))
    if abs(bo - bs) > 0.05 * bs:
        fails.append("bytes %d not within 5%% of sharp's %d" % (bo, bs))
    if not args.keep:
        shutil.rmtree(work)
    for f in fails:
        print("FAIL " + f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
