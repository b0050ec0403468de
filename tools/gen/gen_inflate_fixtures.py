#!/usr/bin/env python3
"""Writes tests/fixtures/inflate/: streams made by Python's zlib/gzip at several levels and
strategies, hand-built valid and invalid DEFLATE streams, and manifest.txt describing each
one. The uncompressed data is produced by a tiny PRNG that tests/test_core_inflate.c
reimplements, so only the compressed files are committed and the test compares the decoded
bytes with the regenerated originals byte for byte.

manifest.txt lines:  <file> <raw|zlib|gzip> <data kind> ok
                     <file> <raw|zlib|gzip> - error <substring of the expected message>
"""
import gzip
import io
import os
import struct
import sys
import zlib

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "inflate")
M64 = (1 << 64) - 1


def xorshift(seed):
    s = (seed * 0x9E3779B97F4A7C15 + 1) & M64
    while True:
        s ^= (s << 13) & M64
        s ^= s >> 7
        s ^= (s << 17) & M64
        yield s


WORDS = [b"the", b"photo", b"of", b"a", b"bird", b"landbird", b"waterbird", b"over", b"water",
         b"forest", b"bamboo", b"ocean", b"beach", b"clip", b"model", b"zlib", b"deflate", b"\n"]


def data(kind):
    if kind == "empty":
        return b""
    if kind == "one":
        return b"A"
    if kind == "random":  # incompressible: stored blocks even at level 9
        g = xorshift(1)
        return bytes(next(g) >> 56 for _ in range(8000))
    if kind == "zeros":  # > 65535 so level 0 needs several stored blocks
        return bytes(66000)
    if kind == "text":  # many dynamic blocks with long codes
        g = xorshift(2)
        out = bytearray()
        while len(out) < 30000:
            out += WORDS[(next(g) >> 40) % len(WORDS)] + b" "
        return bytes(out[:30000])
    if kind == "repeat":  # overlapping matches (distance < length)
        return b"abc" * 8000 + b"x" * 3000 + bytes(range(256)) * 4
    raise ValueError(kind)


KINDS = ["empty", "one", "random", "zeros", "text", "repeat"]


class BitWriter:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def bits(self, v, k):  # LSB first, as DEFLATE stores header fields
        self.acc |= v << self.n
        self.n += k
        while self.n >= 8:
            self.out.append(self.acc & 255)
            self.acc >>= 8
            self.n -= 8

    def code(self, c, k):  # Huffman codes are stored MSB first
        for i in range(k - 1, -1, -1):
            self.bits((c >> i) & 1, 1)

    def done(self):
        if self.n:
            self.out.append(self.acc & 255)
        return bytes(self.out)


def fixed_lit(w, sym):
    if sym < 144:
        w.code(0x30 + sym, 8)
    elif sym < 256:
        w.code(0x190 + sym - 144, 9)
    elif sym < 280:
        w.code(sym - 256, 7)
    else:
        w.code(0xC0 + sym - 280, 8)


def dynamic_header(w, hlit, hdist, cl_lens, lens):
    """Writes a dynamic block header using only code-length symbols 0..15 (no repeats)."""
    order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
    w.bits(hlit - 257, 5)
    w.bits(hdist - 1, 5)
    w.bits(19 - 4, 4)
    for s in order:
        w.bits(cl_lens[s], 3)
    codes = canonical(cl_lens)
    for L in lens:
        w.code(codes[L], cl_lens[L])


def canonical(lens):
    count = [0] * 16
    for L in lens:
        count[L] += 1
    count[0] = 0
    nxt, code = [0] * 16, 0
    for b in range(1, 16):
        code = (code + count[b - 1]) << 1
        nxt[b] = code
    codes = []
    for L in lens:
        codes.append(nxt[L] if L else 0)
        if L:
            nxt[L] += 1
    return codes


def handmade():
    """(name, stream, expected) for raw DEFLATE streams built bit by bit."""
    cases = []
    # Valid: fixed block "ab" then a match of length 4 at distance 2 -> "ababab".
    w = BitWriter(); w.bits(1, 1); w.bits(1, 2)
    fixed_lit(w, ord("a")); fixed_lit(w, ord("b")); fixed_lit(w, 258); w.code(1, 5)
    fixed_lit(w, 256)
    cases.append(("hand_fixed_overlap.raw", w.done(), ("ok", b"ababab")))
    # Block type 3.
    w = BitWriter(); w.bits(1, 1); w.bits(3, 2)
    cases.append(("bad_block_type.raw", w.done(), ("error", "invalid block type")))
    # Stored block whose NLEN is not the complement of LEN.
    cases.append(("bad_stored_len.raw", bytes([1, 5, 0, 0, 0]) + b"hello",
                  ("error", "invalid stored block lengths")))
    # Stored block claiming more bytes than present.
    cases.append(("stored_truncated.raw", bytes([1, 10, 0, 0xF5, 0xFF]) + b"hel",
                  ("error", "truncated")))
    # Distance 3 with only 2 bytes of output.
    w = BitWriter(); w.bits(1, 1); w.bits(1, 2)
    fixed_lit(w, ord("a")); fixed_lit(w, ord("b")); fixed_lit(w, 257); w.code(2, 5)
    fixed_lit(w, 256)
    cases.append(("dist_too_far.raw", w.done(), ("error", "too far back")))
    # Fixed-code literal/length symbol 286 (valid code, invalid symbol).
    w = BitWriter(); w.bits(1, 1); w.bits(1, 2); fixed_lit(w, 286)
    cases.append(("bad_litlen_sym.raw", w.done(), ("error", "invalid literal/length code")))
    # Fixed-code distance symbol 30.
    w = BitWriter(); w.bits(1, 1); w.bits(1, 2)
    fixed_lit(w, ord("a")); fixed_lit(w, 257); w.code(30, 5)
    cases.append(("bad_dist_sym.raw", w.done(), ("error", "invalid distance code")))
    # Fixed block without end-of-block: runs out of input.
    w = BitWriter(); w.bits(1, 1); w.bits(1, 2); fixed_lit(w, ord("a"))
    cases.append(("no_eob.raw", w.done(), ("error", "truncated")))
    # Non-final block and nothing after it.
    w = BitWriter(); w.bits(0, 1); w.bits(1, 2); fixed_lit(w, ord("a")); fixed_lit(w, 256)
    cases.append(("no_final_block.raw", w.done(), ("error", "truncated")))
    # Over-subscribed code-length code (three codes of length 1).
    w = BitWriter(); w.bits(1, 1); w.bits(2, 2)
    w.bits(0, 5); w.bits(0, 5); w.bits(19 - 4, 4)
    for i in range(19):
        w.bits(1 if i < 3 else 0, 3)
    cases.append(("oversubscribed_cl.raw", w.done(), ("error", "invalid code lengths set")))
    # Incomplete code-length code (a single code of length 2).
    w = BitWriter(); w.bits(1, 1); w.bits(2, 2)
    w.bits(0, 5); w.bits(0, 5); w.bits(19 - 4, 4)
    for i in range(19):
        w.bits(2 if i == 0 else 0, 3)
    cases.append(("incomplete_cl.raw", w.done(), ("error", "invalid code lengths set")))
    # Literal/length code over-subscribed: 257 symbols all of length 8 (> 256 codes).
    cl = [0] * 19; cl[8] = 1; cl[1] = 1
    w = BitWriter(); w.bits(1, 1); w.bits(2, 2)
    dynamic_header(w, 257, 1, cl, [8] * 257 + [1])
    cases.append(("oversubscribed_lit.raw", w.done(), ("error", "invalid literal/lengths set")))
    # Literal/length code incomplete: 256 literals of length 9 + EOB of length 9.
    cl = [0] * 19; cl[9] = 1; cl[1] = 1
    w = BitWriter(); w.bits(1, 1); w.bits(2, 2)
    dynamic_header(w, 257, 1, cl, [9] * 257 + [1])
    cases.append(("incomplete_lit.raw", w.done(), ("error", "invalid literal/lengths set")))
    # End-of-block symbol without a code.
    cl = [0] * 19; cl[8] = 1; cl[0] = 1
    w = BitWriter(); w.bits(1, 1); w.bits(2, 2)
    dynamic_header(w, 257, 1, cl, [8] * 256 + [0] + [0])
    cases.append(("missing_eob.raw", w.done(), ("error", "missing end-of-block")))
    # Repeat code 16 as the very first length.
    cl = [0] * 19; cl[16] = 1; cl[0] = 1
    w = BitWriter(); w.bits(1, 1); w.bits(2, 2)
    w.bits(0, 5); w.bits(0, 5); w.bits(19 - 4, 4)
    order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
    for s in order:
        w.bits(cl[s], 3)
    w.code(canonical(cl)[16], 1); w.bits(0, 2)
    cases.append(("repeat_first.raw", w.done(), ("error", "invalid bit length repeat")))
    # HLIT = 287 (> 286 symbols).
    w = BitWriter(); w.bits(1, 1); w.bits(2, 2); w.bits(30, 5); w.bits(0, 5); w.bits(0, 4)
    cases.append(("too_many_lit.raw", w.done() + bytes(8), ("error", "too many length")))
    # Valid dynamic block with a single distance code of length 1 (incomplete but allowed)
    # and a literal/length code using every length from 1 to 15.
    lens = [0] * 258
    lit = [ord("x"), ord("y")] + list(range(0x41, 0x41 + 12)) + [256, 257]
    for L, s in zip([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15], lit):
        lens[s] = L
    cl = [0] * 19
    for L in range(16):
        cl[L] = 5 if L < 16 else 0
    cl = [4] * 16 + [0, 0, 0]
    w = BitWriter(); w.bits(1, 1); w.bits(2, 2)
    dynamic_header(w, 258, 1, cl, lens + [1])
    codes = canonical(lens)
    text = b"xyxABCDEFGHIJKLx"
    for ch in text:
        w.code(codes[ch], lens[ch])
    w.code(codes[257], lens[257]); w.code(0, 1)  # length 3, distance 1
    w.code(codes[256], lens[256])
    cases.append(("hand_dynamic_longcodes.raw", w.done(), ("ok", text + b"xxx")))
    return cases


def gzip_with_header(payload, flags, extra=b"", name=b"", comment=b""):
    hdr = bytearray(b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\x00\x03")
    if flags & 4:
        hdr += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        hdr += name + b"\0"
    if flags & 16:
        hdr += comment + b"\0"
    if flags & 2:
        hdr += struct.pack("<H", zlib.crc32(bytes(hdr)) & 0xFFFF)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = c.compress(payload) + c.flush()
    return bytes(hdr) + body + struct.pack("<II", zlib.crc32(payload), len(payload))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    lines = []

    def put(name, blob, fmt, kind, expect="ok", msg=""):
        with open(os.path.join(OUT, name), "wb") as fp:
            fp.write(blob)
        lines.append(" ".join(x for x in [name, fmt, kind, expect, msg] if x))

    for kind in KINDS:
        d = data(kind)
        for level in (0, 1, 9):
            # Level 0 is just stored blocks: one zlib file per kind is enough (few bytes of gzip).
            if level == 0 and kind in ("zeros", "text", "repeat"):
                if kind == "zeros":
                    put(f"{kind}_l0.zlib", zlib.compress(d, 0), "zlib", kind)
                continue
            put(f"{kind}_l{level}.zlib", zlib.compress(d, level), "zlib", kind)
            bio = io.BytesIO()
            with gzip.GzipFile(filename=f"{kind}.bin", mode="wb", compresslevel=level, fileobj=bio,
                               mtime=0) as g:
                g.write(d)
            put(f"{kind}_l{level}.gz", bio.getvalue(), "gzip", kind)
        for sname, strat in (("fixed", zlib.Z_FIXED), ("huff", zlib.Z_HUFFMAN_ONLY), ("rle", zlib.Z_RLE)):
            if kind in ("random", "zeros") and strat != zlib.Z_FIXED:
                continue
            c = zlib.compressobj(6, zlib.DEFLATED, -15, 8, strat)
            put(f"{kind}_{sname}.raw", c.compress(d) + c.flush(), "raw", kind)
    # Flushes in the middle make empty stored blocks and block boundaries at odd places.
    d = data("text")
    c = zlib.compressobj(6, zlib.DEFLATED, 15)
    parts = [c.compress(d[i:i + 5000]) + c.flush(zlib.Z_FULL_FLUSH if i % 2 else zlib.Z_SYNC_FLUSH)
             for i in range(0, len(d), 5000)]
    put("text_flushes.zlib", b"".join(parts) + c.flush(), "zlib", "text")
    # gzip header fields, multi-member and zero padding after the member.
    d = data("text")
    put("text_allflags.gz", gzip_with_header(d, 2 | 4 | 8 | 16, b"AB\x02\0xy", b"name.txt", b"a comment"),
        "gzip", "text")
    half = len(d) // 3
    put("text_multimember.gz", gzip.compress(d[:half], 9, mtime=0) + gzip.compress(d[half:], 1, mtime=0)
        + bytes(5), "gzip", "text")

    for name, blob, (expect, what) in handmade():
        if expect == "ok":
            put(name, blob, "raw", "hex:" + what.hex())
        else:
            put(name, blob, "raw", "-", "error", what)

    # Corrupted wrappers.
    good_z = zlib.compress(data("text"), 9)
    good_g = gzip.compress(data("text"), 9, mtime=0)
    bad = bytearray(good_z); bad[-1] ^= 1
    put("bad_adler.zlib", bytes(bad), "zlib", "-", "error", "Adler-32 mismatch")
    bad = bytearray(good_z); bad[0] = 0x79; bad[1] = (31 - (0x79 * 256) % 31) % 31
    put("bad_method.zlib", bytes(bad), "zlib", "-", "error", "compression method")
    bad = bytearray(good_z); bad[1] ^= 1
    put("bad_fcheck.zlib", bytes(bad), "zlib", "-", "error", "header check")
    bad = bytearray(good_z); bad[1] = 0x20; bad[1] += (31 - (bad[0] * 256 + bad[1]) % 31) % 31
    put("fdict.zlib", bytes(bad), "zlib", "-", "error", "preset dictionary")
    put("no_adler.zlib", good_z[:-2], "zlib", "-", "error", "truncated")
    bad = bytearray(good_g); bad[-8] ^= 0x10
    put("bad_crc.gz", bytes(bad), "gzip", "-", "error", "CRC-32 mismatch")
    bad = bytearray(good_g); bad[-1] ^= 1
    put("bad_isize.gz", bytes(bad), "gzip", "-", "error", "length mismatch")
    bad = bytearray(good_g); bad[1] = 0x8c
    put("bad_magic.gz", bytes(bad), "gzip", "-", "error", "not a gzip file")
    bad = bytearray(good_g); bad[3] = 0x20
    put("bad_flags.gz", bytes(bad), "gzip", "-", "error", "reserved gzip flags")
    g = bytearray(gzip_with_header(b"hello", 2 | 8, name=b"x")); g[13] ^= 0xFF
    put("bad_hcrc.gz", bytes(g), "gzip", "-", "error", "header CRC mismatch")
    put("trailing_garbage.gz", good_g + b"\x01junk", "gzip", "-", "error", "not a gzip file")
    put("no_trailer.gz", good_g[:-3], "gzip", "-", "error", "truncated")

    with open(os.path.join(OUT, "manifest.txt"), "w") as fp:
        fp.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} fixtures to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
