#!/usr/bin/python3
"""Writes the image fixtures: PNGs of every colour type / bit depth / interlace / filter with
the arrays Pillow decodes from them, hostile PNGs with the phrase their error must contain,
resize cases with Pillow's Image.resize(BICUBIC) output, and full CLIP preprocessing cases.

The PNGs are encoded here (Pillow cannot write 2-bit gray, 16-bit RGB or Adam7), then read
back with Pillow: Pillow's reading is the reference, not this encoder.

Usage: /usr/bin/python3 tools/gen/gen_image_fixtures.py   (from the repository root)
"""
import os
import struct
import zlib

import numpy as np
import torch
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PNG_DIR = os.path.join(ROOT, "tests", "fixtures", "png")
RESIZE_DIR = os.path.join(ROOT, "tests", "fixtures", "resize")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data, crc=None):
    c = zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", c)


def pack_row(samples, depth):
    """samples: 1-D array of ints for one row (pixels * channels)."""
    if depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in samples)
    if depth == 8:
        return bytes(int(v) for v in samples)
    bits = "".join(format(int(v), "0%db" % depth) for v in samples)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(row, prev, bpp, ftype):
    out = bytearray(len(row))
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out[i] = (row[i] - pred) & 0xFF
    return bytes([ftype]) + bytes(out)


def encode_rows(arr, depth, ch, filt_seed):
    """arr: [h, w, ch] ints. Rows use filters 0..4 in turn so every filter is exercised."""
    h, w = arr.shape[:2]
    bpp = max(1, ch * depth // 8)
    raw, prev = b"", bytes(len(pack_row(arr[0].reshape(-1), depth)))
    for y in range(h):
        row = pack_row(arr[y].reshape(-1), depth)
        raw += filter_row(row, prev, bpp, (y + filt_seed) % 5)
        prev = row
    return raw


def encode_png(arr, depth, ctype, interlace=0, palette=None, trns=None, extra=b""):
    h, w = arr.shape[:2]
    ch = CHANNELS[ctype]
    arr = arr.reshape(h, w, ch)
    if interlace:
        raw = b""
        for p, (x0, y0, dx, dy) in enumerate(ADAM7):
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += encode_rows(sub, depth, ch, p)
    else:
        raw = encode_rows(arr, depth, ch, 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
    out += chunk(b"tEXt", b"Comment\x00fixture") + extra
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    comp = zlib.compress(raw, 9)
    # Split the stream over several IDAT chunks to exercise concatenation.
    for i in range(0, len(comp), 97):
        out += chunk(b"IDAT", comp[i:i + 97])
    return out + chunk(b"IEND", b"")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def gen_png_cases(rng):
    lines = []
    combos = [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16), (3, 1), (3, 2), (3, 4),
              (3, 8), (4, 8), (4, 16), (6, 8), (6, 16)]
    sizes = [(13, 9), (1, 1), (3, 1), (37, 5)]
    for ctype, depth in combos:
        for interlace in (0, 1):
            for (w, h) in sizes:
                if (w, h) != (13, 9) and interlace == 0 and depth not in (1, 16):
                    continue
                ch = CHANNELS[ctype]
                maxv = (1 << depth) - 1
                palette = trns = None
                if ctype == 3:
                    n = min(1 << depth, 200)
                    arr = rng.integers(0, n, size=(h, w, 1))
                    palette = rng.integers(0, 256, size=(n, 3))
                    if depth in (2, 8):
                        trns = bytes(rng.integers(0, 256, size=n - 1).astype(np.uint8))
                else:
                    arr = rng.integers(0, maxv + 1, size=(h, w, ch))
                    if ctype == 0 and depth == 8:
                        trns = struct.pack(">H", 7)
                    if ctype == 2 and depth == 8:
                        trns = struct.pack(">HHH", 1, 2, 3)
                name = "c%d_d%d_i%d_%dx%d" % (ctype, depth, interlace, w, h)
                write(os.path.join(PNG_DIR, name + ".png"), encode_png(arr, depth, ctype, interlace, palette, trns))
                im = Image.open(os.path.join(PNG_DIR, name + ".png"))
                im.load()
                exp = np.asarray(im)
                if im.mode == "1":
                    exp = exp.astype(np.uint8) * 255
                if im.mode == "I":
                    exp = exp.astype(np.int32)
                np.save(os.path.join(PNG_DIR, name + ".npy"), np.ascontiguousarray(exp))
                line = "%s.png %s %s.npy" % (name, im.mode, name)
                if im.mode == "P":
                    pal = np.frombuffer(im.palette.tobytes(), np.uint8)
                    rawmode = im.palette.mode
                    pal = pal.reshape(-1, len(rawmode))[:, :3]
                    np.save(os.path.join(PNG_DIR, name + "_pal.npy"), np.ascontiguousarray(pal))
                    line += " %s_pal.npy" % name
                lines.append(line)
    lines += gen_ppm_cases(rng)
    with open(os.path.join(PNG_DIR, "cases.txt"), "w") as f:
        f.write("# file pillow_mode expected.npy [palette.npy]\n" + "\n".join(lines) + "\n")


def gen_ppm_cases(rng):
    """Binary PGM/PPM with header comments and assorted maxvals, decoded by Pillow."""
    lines = []
    for magic, maxval, w, h in [(b"P5", 255, 13, 9), (b"P6", 255, 13, 9), (b"P5", 100, 11, 7),
                                (b"P6", 7, 5, 4), (b"P6", 1000, 9, 6), (b"P5", 65535, 7, 5),
                                (b"P5", 4095, 7, 5)]:
        bands = 3 if magic == b"P6" else 1
        arr = rng.integers(0, maxval + 1, size=(h, w, bands))
        body = arr.astype(">u2" if maxval > 255 else np.uint8).tobytes()
        head = magic + b"\n# a comment line\n%d %d\n#another\n%d\n" % (w, h, maxval)
        name = "ppm_%s_max%d" % (magic.decode(), maxval)
        write(os.path.join(PNG_DIR, name + ".pnm"), head + body)
        im = Image.open(os.path.join(PNG_DIR, name + ".pnm"))
        im.load()
        exp = np.asarray(im)
        if im.mode == "I":
            exp = exp.astype(np.int32)
        np.save(os.path.join(PNG_DIR, name + ".npy"), np.ascontiguousarray(exp))
        lines.append("%s.pnm %s %s.npy" % (name, im.mode, name))
    return lines


def gen_bad_cases(rng):
    good = rng.integers(0, 256, size=(8, 8, 3))
    base = encode_png(good, 8, 2)
    bad = []
    # Bad CRC on IHDR and on an IDAT chunk.
    b = bytearray(base)
    b[29] ^= 0xFF
    bad.append(("bad_crc_ihdr", bytes(b), "chunk 'IHDR'"))
    idat = base.index(b"IDAT")
    b = bytearray(base)
    b[idat + 6] ^= 0x55
    bad.append(("bad_crc_idat", bytes(b), "chunk 'IDAT'"))
    bad.append(("truncated", base[:idat + 20], "truncated"))
    bad.append(("sig_only", base[:8], "no IHDR"))
    # IDAT bomb: header says 64x64 RGB, stream inflates to 20 MB of zeros.
    hdr = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
    bomb = hdr + chunk(b"IDAT", zlib.compress(b"\0" * (20 << 20), 9)) + chunk(b"IEND", b"")
    bad.append(("idat_bomb", bomb, "PNG image data"))
    huge = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 65535, 65535, 8, 6, 0, 0, 0))
    huge += chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    bad.append(("huge_dims", huge, "exceeds the limit"))
    pal = encode_png(np.array([[0, 1], [2, 5]]).reshape(2, 2, 1), 8, 3, palette=[[1, 2, 3]] * 4)
    bad.append(("palette_index", pal, "palette index 5 is out of range"))
    # Filter type 7 on the first row.
    raw = b"\x07" + bytes(8 * 3) + b"".join(b"\x00" + bytes(24) for _ in range(7))
    filt = hdr.replace(struct.pack(">II", 64, 64), struct.pack(">II", 8, 8))
    filt = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
    filt += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    bad.append(("bad_filter", filt, "unknown filter type 7"))
    short = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
    short += chunk(b"IDAT", zlib.compress(bytes(50))) + chunk(b"IEND", b"")
    bad.append(("short_data", short, "truncated"))
    depth = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 4, 2, 0, 0, 0))
    bad.append(("bad_depth", depth + chunk(b"IEND", b""), "bit depth 4 is invalid"))
    nopal = encode_png(np.zeros((2, 2, 1), int), 8, 3)
    bad.append(("no_plte", nopal, "no PLTE"))
    lines = []
    for name, data, phrase in bad:
        write(os.path.join(PNG_DIR, "bad_" + name + ".png"), data)
        try:
            Image.open(os.path.join(PNG_DIR, "bad_" + name + ".png")).load()
            pil = "pillow-accepts"
        except Exception:
            pil = "pillow-rejects"
        lines.append("bad_%s.png %s %s" % (name, pil, phrase))
    with open(os.path.join(PNG_DIR, "bad_cases.txt"), "w") as f:
        f.write("# file pillow_verdict phrase-the-error-must-contain\n" + "\n".join(lines) + "\n")


def patterns(rng, w, h, ch, kind):
    yy, xx = np.mgrid[0:h, 0:w]
    if kind == "gradient":
        base = (xx * 255 // max(w - 1, 1) + yy * 3) % 256
        arr = np.stack([(base + 40 * c) % 256 for c in range(ch)], -1)
    elif kind == "checker":
        base = ((xx // 3 + yy // 3) % 2) * 255
        arr = np.stack([base if c % 2 == 0 else 255 - base for c in range(ch)], -1)
    else:
        arr = rng.integers(0, 256, size=(h, w, ch))
    if ch in (2, 4):  # alpha with fully transparent and opaque areas
        alpha = rng.integers(0, 256, size=(h, w))
        alpha[::4] = 0
        alpha[1::4] = 255
        arr[..., -1] = alpha
    return arr.astype(np.uint8)


def gen_resize_cases(rng):
    chans = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "CMYK": 4, "P": 1, "I": 1}
    cases = [
        ("L", "gradient", 300, 200, 224, 149), ("L", "noise", 37, 29, 224, 175),
        ("L", "checker", 1, 1, 5, 3), ("L", "gradient", 3, 500, 3, 224),
        ("L", "gradient", 500, 3, 224, 3), ("L", "noise", 3, 500, 224, 37333 // 1000),
        ("RGB", "noise", 37, 29, 100, 80), ("RGB", "checker", 64, 48, 20, 15),
        ("RGB", "gradient", 300, 200, 100, 200), ("RGB", "noise", 120, 80, 120, 33),
        ("RGB", "noise", 29, 37, 151, 191), ("RGB", "gradient", 1, 1, 7, 7),
        ("RGBA", "noise", 40, 30, 17, 13), ("RGBA", "gradient", 37, 29, 64, 50),
        ("LA", "noise", 40, 30, 23, 61), ("CMYK", "noise", 33, 21, 16, 40),
        ("P", "noise", 37, 29, 80, 13), ("I", "noise", 37, 29, 20, 64), ("I", "gradient", 50, 40, 90, 35),
    ]
    lines = []
    for i, (mode, kind, w, h, ow, oh) in enumerate(cases):
        name = "r%02d_%s_%s_%dx%d_%dx%d" % (i, mode, kind, w, h, ow, oh)
        if mode == "I":
            arr = (patterns(rng, w, h, 1, kind)[..., 0].astype(np.int32) * 257)
            arr[::5, ::3] = 65535
            arr[1::5, ::2] = 0
            im = Image.fromarray(arr, "I")
        elif mode == "P":
            arr = rng.integers(0, 256, size=(h, w)).astype(np.uint8)
            im = Image.fromarray(arr, "L").convert("L")
            im = Image.frombytes("P", (w, h), arr.tobytes())
            im.putpalette(rng.integers(0, 256, size=768).astype(np.uint8).tobytes())
        else:
            arr = patterns(rng, w, h, chans[mode], kind)
            im = Image.frombytes(mode, (w, h), arr.tobytes())
        out = im.resize((ow, oh), Image.BICUBIC)
        exp = np.asarray(out)
        if mode == "I":
            exp = np.clip(exp, 0, 65535).astype(np.int32)
        np.save(os.path.join(RESIZE_DIR, name + "_in.npy"), np.ascontiguousarray(arr.reshape(h, w, -1)))
        np.save(os.path.join(RESIZE_DIR, name + "_out.npy"), np.ascontiguousarray(exp.reshape(oh, ow, -1)))
        lines.append("%s %s %d %d %d %d" % (name, mode, w, h, ow, oh))
    with open(os.path.join(RESIZE_DIR, "cases.txt"), "w") as f:
        f.write("# name pillow_mode w h out_w out_h (name_in.npy, name_out.npy)\n" + "\n".join(lines) + "\n")


def clip_preprocess(im, S):
    """Upstream CLIP's torchvision pipeline, step by step (torchvision is not required)."""
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = S, int(S * long / short)
    size = (new_short, new_long) if w <= h else (new_long, new_short)
    if not ((w <= h and w == S) or (h <= w and h == S)):
        im = im.resize(size, Image.BICUBIC)
    w, h = im.size
    top, left = int(round((h - S) / 2.0)), int(round((w - S) / 2.0))
    im = im.crop((left, top, left + S, top + S)).convert("RGB")
    t = torch.from_numpy(np.array(im, copy=True)).view(S, S, 3).permute(2, 0, 1).contiguous()
    t = t.to(dtype=torch.float32).div(255)
    mean = torch.as_tensor(CLIP_MEAN, dtype=torch.float32).view(-1, 1, 1)
    std = torch.as_tensor(CLIP_STD, dtype=torch.float32).view(-1, 1, 1)
    return t.sub_(mean).div_(std).numpy()


def gen_preprocess_cases(rng):
    lines = []
    specs = [("RGB", 61, 45, 48), ("RGB", 45, 61, 48), ("RGB", 48, 90, 48), ("L", 100, 53, 48),
             ("RGBA", 70, 52, 40), ("LA", 33, 57, 40), ("P", 50, 77, 32), ("1", 41, 29, 32),
             ("I", 45, 38, 32), ("RGB", 20, 15, 48)]
    for i, (mode, w, h, S) in enumerate(specs):
        name = "p%02d_%s_%dx%d_S%d" % (i, mode, w, h, S)
        path = os.path.join(RESIZE_DIR, name + ".png")
        if mode == "P":
            arr = rng.integers(0, 40, size=(h, w, 1))
            data = encode_png(arr, 8, 3, palette=rng.integers(0, 256, size=(40, 3)), trns=bytes([0, 128, 255]))
        elif mode == "1":
            data = encode_png(rng.integers(0, 2, size=(h, w, 1)), 1, 0)
        elif mode == "I":
            arr = rng.integers(0, 400, size=(h, w, 1))
            arr[::3] = rng.integers(0, 65536, size=(len(arr[::3]), w, 1))
            data = encode_png(arr, 16, 0)
        else:
            ctype = {"L": 0, "LA": 4, "RGB": 2, "RGBA": 6}[mode]
            data = encode_png(patterns(rng, w, h, CHANNELS[ctype], "noise" if i % 2 else "gradient"), 8, ctype)
        write(path, data)
        im = Image.open(path)
        im.load()
        np.save(os.path.join(RESIZE_DIR, name + ".npy"), clip_preprocess(im, S))
        lines.append("%s %d" % (name, S))
    with open(os.path.join(RESIZE_DIR, "preprocess_cases.txt"), "w") as f:
        f.write("# name S (name.png -> name.npy float32 [3,S,S])\n" + "\n".join(lines) + "\n")


def check_against_golden():
    """The step-by-step pipeline must reproduce the reference pixels made with torchvision."""
    ref = os.path.join(ROOT, "..", "shared", "reference")
    if not os.path.isdir(ref):
        return
    import json
    names = json.load(open(os.path.join(ref, "tiny", "golden", "images.json")))
    gold = np.load(os.path.join(ref, "tiny", "golden", "pixels.npy"))
    for i, n in enumerate(names):
        ours = clip_preprocess(Image.open(os.path.join(ref, "images", n)), 224)
        print("generator pipeline vs golden %-32s max|d| = %g" % (n, np.abs(ours - gold[i]).max()))


def main():
    os.makedirs(PNG_DIR, exist_ok=True)
    os.makedirs(RESIZE_DIR, exist_ok=True)
    rng = np.random.default_rng(1234)
    gen_png_cases(rng)
    gen_bad_cases(rng)
    gen_resize_cases(rng)
    gen_preprocess_cases(rng)
    check_against_golden()


if __name__ == "__main__":
    main()
