#!/usr/bin/python3
"""Writes tests/fixtures/encode/: source images (PPM/PGM) and the JPEG files Pillow writes
for them at several qualities and chroma subsamplings. The engine's JPEG encoder must give
the same bytes (tests/test_image_write.c).

Pillow's save() runs libjpeg-turbo with its defaults (islow DCT, standard Huffman tables, no
optimisation, JFIF header), so these files pin the encoder down bit for bit.

Usage: /usr/bin/python3 tools/gen/gen_encoder_fixtures.py   (from the repository root)
"""
import os

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "encode")
SUB_NAME = {0: "444", 1: "422", 2: "420"}   # Pillow's subsampling codes


def photo_like(w, h, seed):
    """Smooth gradients, hard-edged shapes and noise: every DCT frequency gets used."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1),
                    128 + 100 * np.sin((x + y) / 3.0)], axis=-1)
    for _ in range(3):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1, max(w, h) / 2 + 1)
        img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 12, img.shape)
    img[0, 0] = (255, 255, 255)          # extremes: saturated samples must not overflow
    img[-1, -1] = (0, 0, 0)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


CASES = [  # (name, w, h, gray)
    ("1x1", 1, 1, False), ("7x5", 7, 5, False), ("16x16", 16, 16, False),
    ("21x20", 21, 20, False), ("33x17", 33, 17, False), ("64x48", 64, 48, False),
    ("gray_19x13", 19, 13, True), ("gray_40x40", 40, 40, True),
]
QUALITIES = [75, 90, 50, 10, 100]


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = ["# source quality subsampling pillow_jpeg"]
    for i, (name, w, h, gray) in enumerate(CASES):
        px = photo_like(w, h, 100 + i)
        img = Image.fromarray(px).convert("L") if gray else Image.fromarray(px)
        src = name + (".pgm" if gray else ".ppm")
        img.save(os.path.join(OUT, src))
        for q in QUALITIES:
            subs = ([0, 1, 2] if q == 75 else [2]) if gray else [0, 1, 2]
            if q != 75 and not gray:
                subs = [2] if name not in ("21x20", "64x48") else [0, 1, 2]
            for s in subs:
                jpg = "%s_q%d_%s.jpg" % (name, q, SUB_NAME[s])
                img.save(os.path.join(OUT, jpg), "JPEG", quality=q, subsampling=s)
                lines.append("%s %d %s %s" % (src, q, SUB_NAME[s], jpg))
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d cases to %s" % (len(lines) - 1, OUT))


if __name__ == "__main__":
    main()
