#!/usr/bin/env python3
"""Test images for the moderation parity check, made here from nothing:

  drawing.png   a flat-coloured cartoon (a house, a tree, a sun, outlines)
  landscape.jpg a photo-like landscape: sky gradient, hills, grain

Pure Python writes binary PPMs; the vips command encodes them.  The
output is deterministic (a fixed seed), so the committed fixtures can be
made again byte for byte with the same libvips.

usage: make-images.py OUTDIR
"""

import math
import os
import random
import subprocess
import sys

W, H = 640, 480


def canvas(colour):
    return [list(colour) * W for _ in range(H)]


def put(img, x, y, c):
    if 0 <= x < W and 0 <= y < H:
        img[y][3 * x:3 * x + 3] = c


def rect(img, x0, y0, x1, y1, c):
    for y in range(max(0, y0), min(H, y1)):
        for x in range(max(0, x0), min(W, x1)):
            put(img, x, y, c)


def disc(img, cx, cy, r, c):
    for y in range(cy - r, cy + r + 1):
        for x in range(cx - r, cx + r + 1):
            if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                put(img, x, y, c)


def ring(img, cx, cy, r, t, c):
    for y in range(cy - r - t, cy + r + t + 1):
        for x in range(cx - r - t, cx + r + t + 1):
            d = math.hypot(x - cx, y - cy)
            if abs(d - r) <= t / 2:
                put(img, x, y, c)


def line(img, x0, y0, x1, y1, t, c):
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    for i in range(n + 1):
        x = x0 + (x1 - x0) * i / n
        y = y0 + (y1 - y0) * i / n
        rect(img, int(x - t / 2), int(y - t / 2), int(x + t / 2) + 1,
             int(y + t / 2) + 1, c)


def triangle(img, a, b, c, colour):
    xs = [a[0], b[0], c[0]]
    ys = [a[1], b[1], c[1]]

    def side(p, q, x, y):
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    for y in range(min(ys), max(ys) + 1):
        for x in range(min(xs), max(xs) + 1):
            s1, s2, s3 = side(a, b, x, y), side(b, c, x, y), side(c, a, x, y)
            if (s1 >= 0 and s2 >= 0 and s3 >= 0) or \
               (s1 <= 0 and s2 <= 0 and s3 <= 0):
                put(img, x, y, colour)


def drawing():
    black = (20, 20, 20)
    img = canvas((250, 250, 245))
    rect(img, 0, 360, W, H, (120, 200, 90))
    line(img, 0, 360, W, 360, 4, black)
    # house
    rect(img, 140, 230, 340, 380, (230, 90, 70))
    for (x0, y0, x1, y1) in ((140, 230, 340, 230), (140, 380, 340, 380),
                             (140, 230, 140, 380), (340, 230, 340, 380)):
        line(img, x0, y0, x1, y1, 5, black)
    triangle(img, (120, 232), (360, 232), (240, 130), (90, 90, 200))
    line(img, 120, 232, 240, 130, 5, black)
    line(img, 360, 232, 240, 130, 5, black)
    line(img, 120, 232, 360, 232, 5, black)
    rect(img, 215, 300, 265, 380, (140, 90, 40))
    line(img, 215, 300, 265, 300, 4, black)
    line(img, 215, 300, 215, 380, 4, black)
    line(img, 265, 300, 265, 380, 4, black)
    rect(img, 165, 255, 205, 295, (170, 220, 250))
    rect(img, 275, 255, 315, 295, (170, 220, 250))
    for x in (165, 205, 275, 315):
        line(img, x, 255, x, 295, 3, black)
    for x0 in (165, 275):
        line(img, x0, 255, x0 + 40, 255, 3, black)
        line(img, x0, 295, x0 + 40, 295, 3, black)
        line(img, x0 + 20, 255, x0 + 20, 295, 2, black)
        line(img, x0, 275, x0 + 40, 275, 2, black)
    # tree
    rect(img, 470, 270, 500, 380, (120, 75, 35))
    disc(img, 485, 230, 60, (40, 150, 60))
    ring(img, 485, 230, 60, 5, black)
    # sun with rays
    disc(img, 560, 70, 38, (255, 210, 40))
    ring(img, 560, 70, 38, 4, black)
    for k in range(12):
        a = k * math.pi / 6
        line(img, 560 + 48 * math.cos(a), 70 + 48 * math.sin(a),
             560 + 70 * math.cos(a), 70 + 70 * math.sin(a), 4, black)
    # a cloud
    for (cx, cy, r) in ((90, 80, 30), (125, 65, 38), (165, 82, 30)):
        disc(img, cx, cy, r, (255, 255, 255))
        ring(img, cx, cy, r, 3, (90, 90, 90))
    return img


def landscape():
    rnd = random.Random(19)
    img = canvas((0, 0, 0))
    hill = [300 + 40 * math.sin(x / 90.0) + 25 * math.sin(x / 37.0 + 1)
            for x in range(W)]
    far = [250 + 30 * math.sin(x / 140.0 + 2) + 12 * math.sin(x / 23.0)
           for x in range(W)]
    for y in range(H):
        for x in range(W):
            n = rnd.gauss(0, 6)
            if y < far[x]:
                t = y / far[x]
                c = (110 + 90 * t, 160 + 60 * t, 235 - 20 * t)
            elif y < hill[x]:
                t = (y - far[x]) / 80.0
                c = (90 - 20 * t, 110 - 10 * t, 120 - 20 * t)
            else:
                t = (y - hill[x]) / (H - hill[x] + 1)
                c = (70 + 40 * t, 120 + 30 * t, 40 + 10 * t)
            put(img, x, y, tuple(max(0, min(255, int(v + n))) for v in c))
    return img


def save(img, path):
    ppm = path + '.ppm'
    with open(ppm, 'wb') as f:
        f.write(b'P6\n%d %d\n255\n' % (W, H))
        for row in img:
            f.write(bytes(row))
    subprocess.run(['vips', 'copy', ppm, path + ('[Q=90,strip]'
                    if path.endswith('.jpg') else '[strip]')], check=True)
    os.unlink(ppm)


def main():
    out = sys.argv[1]
    save(drawing(), os.path.join(out, 'drawing.png'))
    save(landscape(), os.path.join(out, 'landscape.jpg'))


main()
