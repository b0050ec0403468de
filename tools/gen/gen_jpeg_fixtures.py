#!/usr/bin/python3
"""Makes the JPEG decoder fixtures in tests/fixtures/jpeg/.

Small synthetic images (gradients + noise + hard edges) are encoded with Debian's cjpeg
(libjpeg-turbo-progs) and with Pillow in many variants (sampling factors, progressive,
restart intervals, optimised tables, qualities, grayscale, RGB, CMYK/YCCK, odd sizes).
Next to each NAME.jpg goes NAME.npy: the pixels Pillow returns (Image.open + np.asarray,
in the file's own mode), which the C decoder must reproduce. manifest.txt lists every
file with its expectation:
    NAME.jpg ok MODE                     decode must succeed and match NAME.npy
    NAME.jpg hash MODE W H FNV1A64       large file: match a 64-bit FNV-1a of the pixels
    NAME.jpg fail PHRASE...              decode must fail with PHRASE in the message
Run: /usr/bin/python3 tools/gen/gen_jpeg_fixtures.py  (needs cjpeg and python3-pil)
"""
import io
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "jpeg")
CJPEG = shutil.which("cjpeg") or "/usr/bin/cjpeg"


def synth(w, h, seed, channels=3):
    """Gradients, a disc, sharp bars and noise: exercises every IDCT and upsampling path."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        g = 255.0 * (x / max(w - 1, 1)) * (0.3 + 0.7 * c / max(channels - 1, 1))
        g += 120.0 * (y / max(h - 1, 1)) * (1 - c / (channels + 1))
        disc = ((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2) < (min(w, h) * 0.3) ** 2
        g = np.where(disc, 255.0 - g * 0.5, g)
        bars = ((x.astype(int) // 3 + c) % 4 == 0) & (y < h / 2)
        g = np.where(bars, 20.0 + 30 * c, g)
        g += rng.normal(0, 18, size=g.shape)
        planes.append(np.clip(g, 0, 255).astype(np.uint8))
    a = np.stack(planes, axis=-1)
    return a[..., 0] if channels == 1 else a


def smooth(w, h):
    """A photo-like smooth image for the speed fixture (compresses well)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 37.0) * np.cos(y / 23.0)
    g = 128 + 90 * np.sin((x + y) / 51.0)
    b = 128 + 80 * np.cos(np.hypot(x - w / 2, y - h / 2) / 19.0)
    a = np.stack([r, g, b], -1)
    a += np.random.RandomState(7).normal(0, 4, size=a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


def pnm_bytes(a):
    if a.ndim == 2:
        return b"P5\n%d %d\n255\n" % (a.shape[1], a.shape[0]) + a.tobytes()
    return b"P6\n%d %d\n255\n" % (a.shape[1], a.shape[0]) + a.tobytes()


def cjpeg(a, args, scans=None):
    with tempfile.TemporaryDirectory() as td:
        src = os.path.join(td, "in.pnm")
        with open(src, "wb") as f:
            f.write(pnm_bytes(a))
        extra = []
        if scans is not None:
            sp = os.path.join(td, "scans.txt")
            with open(sp, "w") as f:
                f.write(scans)
            extra = ["-scans", sp]
        return subprocess.run([CJPEG] + args + extra + [src], check=True,
                              stdout=subprocess.PIPE).stdout


def pil_save(a, mode=None, **kw):
    im = Image.fromarray(a) if mode is None else Image.fromarray(a, mode)
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def decoded(data):
    im = Image.open(io.BytesIO(data))
    im.load()
    return im.mode, np.asarray(im)


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for byte in b:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def set_adobe_transform(data, transform):
    i = data.find(b"\xff\xeeAdobe"[:2])
    while i >= 0:
        if data[i + 4:i + 9] == b"Adobe":
            b = bytearray(data)
            b[i + 4 + 11] = transform
            return bytes(b)
        i = data.find(b"\xff\xee", i + 2)
    raise ValueError("no Adobe marker")


def main():
    if os.path.isdir(OUT):
        for f in os.listdir(OUT):
            if f.endswith((".jpg", ".npy")) or f == "manifest.txt":
                os.remove(os.path.join(OUT, f))
    os.makedirs(OUT, exist_ok=True)
    manifest = []

    def ok(name, data):
        mode, arr = decoded(data)
        with open(os.path.join(OUT, name + ".jpg"), "wb") as f:
            f.write(data)
        np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(arr))
        manifest.append("%s.jpg ok %s" % (name, mode))

    def fail(name, data, phrase):
        with open(os.path.join(OUT, name + ".jpg"), "wb") as f:
            f.write(data)
        manifest.append("%s.jpg fail %s" % (name, phrase))

    sizes = [(37, 29, 1), (64, 48, 2), (17, 9, 3), (5, 3, 4), (3, 3, 5), (1, 1, 6), (130, 7, 7)]
    samples = {"444": "1x1", "422": "2x1", "420": "2x2", "440": "1x2", "411": "4x1"}
    for (w, h, seed) in sizes:
        rgb = synth(w, h, seed)
        gray = synth(w, h, seed + 100, channels=1)
        tag = "%dx%d" % (w, h)
        for sname, s in samples.items():
            ok("cj_%s_%s" % (sname, tag), cjpeg(rgb, ["-sample", s]))
            if (w, h) in [(37, 29), (17, 9), (130, 7)]:
                ok("cj_prog_%s_%s" % (sname, tag), cjpeg(rgb, ["-sample", s, "-progressive"]))
        ok("cj_gray_%s" % tag, cjpeg(gray, ["-grayscale"]))
        if (w, h) in [(37, 29), (17, 9)]:
            ok("cj_gray_prog_%s" % tag, cjpeg(gray, ["-grayscale", "-progressive"]))

    rgb = synth(37, 29, 1)
    gray = synth(37, 29, 101, channels=1)
    for q in (10, 50, 95, 100):
        ok("cj_q%d_420_37x29" % q, cjpeg(rgb, ["-quality", str(q), "-sample", "2x2"]))
        ok("cj_q%d_prog_444_37x29" % q, cjpeg(rgb, ["-quality", str(q), "-progressive",
                                                     "-sample", "1x1"]))
    ok("cj_restart1_420_37x29", cjpeg(rgb, ["-restart", "1", "-sample", "2x2"]))
    ok("cj_restart1b_444_37x29", cjpeg(rgb, ["-restart", "1B", "-sample", "1x1"]))
    ok("cj_restart2b_prog_420_37x29", cjpeg(rgb, ["-restart", "2B", "-progressive"]))
    ok("cj_restart1_gray_37x29", cjpeg(gray, ["-restart", "1", "-grayscale"]))
    ok("cj_opt_420_37x29", cjpeg(rgb, ["-optimize", "-sample", "2x2"]))
    ok("cj_opt_422_64x48", cjpeg(synth(64, 48, 2), ["-optimize", "-sample", "2x1"]))
    ok("cj_rgb_37x29", cjpeg(rgb, ["-rgb"]))
    ok("cj_rgb_prog_37x29", cjpeg(rgb, ["-rgb", "-progressive"]))
    # Unusual sampling: mixed factors, integral box upsampling, 3x, Y not the largest.
    ok("cj_s22_21_11_37x29", cjpeg(rgb, ["-sample", "2x2,2x1,1x1"]))
    ok("cj_s41_21_11_37x29", cjpeg(rgb, ["-sample", "4x1,2x1,1x1"]))
    ok("cj_s22_12_11_37x29", cjpeg(rgb, ["-sample", "2x2,1x2,1x1"]))
    ok("cj_s31_37x29", cjpeg(rgb, ["-sample", "3x1"]))
    ok("cj_s32_37x29", cjpeg(rgb, ["-sample", "3x2"]))
    ok("cj_s14_37x29", cjpeg(rgb, ["-sample", "1x4"]))
    ok("cj_s11_22_22_37x29", cjpeg(rgb, ["-sample", "1x1,2x2,2x2"]))
    ok("cj_gray_s22_37x29", cjpeg(gray, ["-grayscale", "-sample", "2x2"]))
    # Non-interleaved sequential scans (multi-scan baseline).
    ok("cj_noninterleaved_420_37x29", cjpeg(rgb, ["-sample", "2x2"],
                                            scans="0: 0 63 0 0;\n1: 0 63 0 0;\n2: 0 63 0 0;\n"))
    # A progression with separate DC scans, spectral selection and successive approximation.
    ok("cj_prog_custom_420_37x29", cjpeg(rgb, ["-sample", "2x2"], scans=(
        "0: 0 0 0 2;\n1: 0 0 0 1;\n2: 0 0 0 0;\n0: 1 9 0 3;\n0: 10 63 0 2;\n"
        "1: 1 63 0 0;\n2: 1 63 0 0;\n0: 0 0 2 1;\n0: 0 0 1 0;\n1: 0 0 1 0;\n0: 1 9 3 2;\n"
        "0: 1 63 2 1;\n0: 1 63 1 0;\n")))

    # Pillow encoder (what most datasets hold).
    for sub in (0, 1, 2):
        ok("pil_sub%d_q90_37x29" % sub, pil_save(rgb, quality=90, subsampling=sub))
        ok("pil_prog_sub%d_37x29" % sub, pil_save(rgb, quality=80, subsampling=sub,
                                                   progressive=True))
    ok("pil_opt_q75_64x48", pil_save(synth(64, 48, 2), quality=75, optimize=True))
    ok("pil_gray_q85_17x9", pil_save(synth(17, 9, 3, channels=1), quality=85))
    cmyk = synth(37, 29, 11, channels=4)
    cmyk_jpg = pil_save(cmyk, "CMYK", quality=90)
    ok("pil_cmyk_37x29", cmyk_jpg)
    ok("pil_cmyk_prog_37x29", pil_save(cmyk, "CMYK", quality=90, progressive=True))
    ok("pil_ycck_37x29", set_adobe_transform(cmyk_jpg, 2))
    ok("pil_cmyk_adobe5_37x29", set_adobe_transform(cmyk_jpg, 5))
    ok("pil_cmyk_sub2_17x9", pil_save(synth(17, 9, 12, channels=4), "CMYK", quality=70,
                                      subsampling=2))

    # Corrupt but decodable (libjpeg only warns): bad Huffman codes, huge coefficients that
    # overflow the IDCT's 16-bit lanes, a marker cutting a scan short, damaged restart markers.
    import random
    rnd = random.Random(5)
    base = cjpeg(synth(64, 48, 2), ["-sample", "2x2"])
    rst = cjpeg(rgb, ["-restart", "1B", "-sample", "2x2"])
    made = 0
    while made < 6:
        src = base if made < 4 else rst
        d = bytearray(src)
        sos = d.find(b"\xff\xda")
        if made == 3:
            d = d[:sos + 14 + (len(d) - sos) // 2] + b"\xff\xd9"
        else:
            for _ in range(3):
                q = rnd.randrange(sos + 14, len(d) - 2)
                d[q] ^= 1 << rnd.randrange(8)
        try:
            decoded(bytes(d))
        except Exception:
            continue
        ok("corrupt%d_%s" % (made, "rst_37x29" if made >= 4 else "420_64x48"), bytes(d))
        made += 1

    # Rejected on purpose.
    fail("bad_arithmetic", cjpeg(rgb, ["-arithmetic"]), "arithmetic")
    sof = bytearray(cjpeg(rgb, []))
    i = sof.find(b"\xff\xc0")
    sof[i + 4] = 12
    fail("bad_12bit", bytes(sof), "12-bit")

    # Speed fixture: 500x375 baseline 4:2:0, checked by hash (its .npy would be 560 KB).
    big = cjpeg(smooth(500, 375), ["-quality", "85", "-sample", "2x2"])
    with open(os.path.join(OUT, "speed_500x375_420.jpg"), "wb") as f:
        f.write(big)
    mode, arr = decoded(big)
    manifest.append("speed_500x375_420.jpg hash %s %d %d %d" % (
        mode, arr.shape[1], arr.shape[0], fnv1a64(np.ascontiguousarray(arr).tobytes())))

    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("wrote %d fixtures, %d bytes" % (len(manifest), total))


if __name__ == "__main__":
    sys.exit(main())
