#!/usr/bin/env python3
"""Generates data/text/unicode_tables.c: the Unicode character classes and case mapping that
CLIP's simple_tokenizer relies on, taken from this Python's unicodedata and str methods.

  space_py   str.isspace()            (str.strip() in basic_clean / whitespace_clean)
  space_re   the regex module's \\s    (whitespace_clean's \\s+ and the split pattern): Python's
             isspace minus U+001C..U+001F, which the regex module does not count as \\s
  letter     category L*              ([\\p{L}])
  number     category N*              ([\\p{N}])
  dropped    code points that the split pattern, compiled with IGNORECASE, matches with no
             alternative (skipped like whitespace): U+0345 folds to a letter, so it is excluded
             from [^\\s\\p{L}\\p{N}] yet is not in [\\p{L}] itself
  lower      str.lower() (full mapping: U+0130 gives two code points; final sigma is handled in
             code with the cased / case-ignorable classes below, as CPython does)
  sigma      1 = cased and not case-ignorable, 2 = case-ignorable (CPython's Final_Sigma rule)
  fold       non-ASCII code points that IGNORECASE matches to an ASCII letter (U+017F ~ s)

When the `regex` module is importable the class tables are cross-checked against it on every
code point assigned in this Python's Unicode version.
"""
import os
import sys
import unicodedata

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "data", "text", "unicode_tables.c")
DROPPED = [0x345]


def cps():
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        yield cp


def ranges(pred):
    out, start, prev = [], None, None
    for cp in cps():
        if pred(cp):
            if start is None or cp != prev + 1:
                if start is not None:
                    out.append((start, prev))
                start = cp
            prev = cp
    if start is not None:
        out.append((start, prev))
    return out


def space_py(cp):
    return chr(cp).isspace()


def space_re(cp):
    return chr(cp).isspace() and not 0x1C <= cp <= 0x1F


def letter(cp):
    return unicodedata.category(chr(cp)).startswith("L")


def number(cp):
    return unicodedata.category(chr(cp)).startswith("N")


def sigma_class(cp):
    """Derived from str.lower() itself, so it matches CPython's internal flags exactly."""
    c = chr(cp)
    if cp in (0x3A3,):
        return 1  # capital sigma is cased (and not ignorable)
    t1 = (c + "\u03a3").lower().endswith("\u03c2")       # cased and not ignorable
    t2 = ("A" + c + "\u03a3").lower().endswith("\u03c2")  # ignorable or cased
    if t1:
        return 1
    if t2:
        return 2
    return 0


def cross_check(sets):
    try:
        import regex
    except ImportError:
        print("regex module not importable: tables not cross-checked", file=sys.stderr)
        return
    pats = {"space_re": regex.compile(r"\s"), "letter": regex.compile(r"[\p{L}]", regex.I),
            "number": regex.compile(r"[\p{N}]", regex.I)}
    other = regex.compile(r"[^\s\p{L}\p{N}]", regex.I)
    bad = 0
    for cp in cps():
        c = chr(cp)
        if unicodedata.category(c) == "Cn":
            continue  # the regex module may know a newer Unicode version
        got = {k: bool(p.match(c)) for k, p in pats.items()}
        for k in got:
            if got[k] != sets[k](cp):
                bad += 1
                print(f"mismatch {k} U+{cp:04X}", file=sys.stderr)
        dropped = not any(got.values()) and not other.match(c)
        if dropped != (cp in DROPPED):
            bad += 1
            print(f"mismatch dropped U+{cp:04X}", file=sys.stderr)
    if bad:
        sys.exit("cross-check against the regex module failed")
    print(f"cross-checked against regex {regex.__version__}", file=sys.stderr)


def lower_runs():
    """(first, count, stride, delta) runs of single code point lower-case mappings."""
    single, multi = [], []
    for cp in cps():
        lo = chr(cp).lower()
        if lo == chr(cp):
            continue
        if len(lo) == 1:
            single.append((cp, ord(lo) - cp))
        else:
            multi.append((cp, [ord(x) for x in lo]))
    runs = []
    for cp, d in single:
        if runs:
            f, n, s, dd = runs[-1]
            last = f + (n - 1) * s
            if dd == d and n == 1 and cp - last in (1, 2):
                runs[-1] = (f, 2, cp - last, d)
                continue
            if dd == d and n > 1 and cp - last == s:
                runs[-1] = (f, n + 1, s, d)
                continue
        runs.append((cp, 1, 1, d))
    return runs, multi


def fold_pairs():
    out = []
    for cp in cps():
        if cp < 128:
            continue
        f = chr(cp).casefold()
        if len(f) == 1 and f.isascii() and f.isalpha():
            out.append((cp, ord(f)))
    return out


def emit_ranges(fp, name, rs):
    fp.write(f"static const uint32_t {name}[][2] = {{\n")
    for i in range(0, len(rs), 4):
        fp.write("  " + " ".join(f"{{0x{a:X}, 0x{b:X}}}," for a, b in rs[i:i + 4]) + "\n")
    fp.write("};\n\n")


def main():
    sets = {"space_py": space_py, "space_re": space_re, "letter": letter, "number": number}
    cross_check(sets)
    runs, multi = lower_runs()
    assert len(multi) == 1 and multi[0][0] == 0x130, multi
    sig = ranges(lambda cp: sigma_class(cp) == 1)
    ign = ranges(lambda cp: sigma_class(cp) == 2)
    with open(OUT, "w") as fp:
        fp.write("/* Generated by tools/gen/gen_unicode_tables.py from Python "
                 f"{sys.version.split()[0]} (Unicode {unicodedata.unidata_version}). Do not edit. */\n")
        fp.write('#include "data/text/unicode_tables.h"\n\n#include <stddef.h>\n\n')
        for name, pred in sets.items():
            emit_ranges(fp, name, ranges(pred))
        emit_ranges(fp, "dropped", [(c, c) for c in DROPPED])
        emit_ranges(fp, "cased", sig)
        emit_ranges(fp, "case_ignorable", ign)
        fp.write("/* {first, count, stride, delta}: cp = first + k*stride (k < count) lowers to cp + delta */\n")
        fp.write("static const int32_t lower_runs[][4] = {\n")
        for i in range(0, len(runs), 3):
            fp.write("  " + " ".join(f"{{0x{f:X}, {n}, {s}, {d}}}," for f, n, s, d in runs[i:i + 3]) + "\n")
        fp.write("};\n\n")
        fp.write("static const uint32_t fold_pairs[][2] = {\n")
        for cp, f in fold_pairs():
            fp.write(f"  {{0x{cp:X}, 0x{f:X}}},\n")
        fp.write("};\n\n")
        m_cp, m_lo = multi[0]
        fp.write(TEMPLATE.replace("MULTI_CP", f"0x{m_cp:X}").replace(
            "MULTI_LOWER", ", ".join(f"0x{x:X}" for x in m_lo)).replace("MULTI_N", str(len(m_lo))))
    print(f"wrote {os.path.normpath(OUT)}: {len(runs)} lower runs", file=sys.stderr)


TEMPLATE = r"""static int in_ranges(const uint32_t (*r)[2], size_t n, uint32_t cp) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < r[mid][0])
      hi = mid;
    else if (cp > r[mid][1])
      lo = mid + 1;
    else
      return 1;
  }
  return 0;
}

#define IN(table, cp) in_ranges(table, sizeof table / sizeof table[0], cp)

int cd_uni_is_space_py(uint32_t cp) { return IN(space_py, cp); }
int cd_uni_is_space_re(uint32_t cp) { return IN(space_re, cp); }
int cd_uni_is_letter(uint32_t cp) { return IN(letter, cp); }
int cd_uni_is_number(uint32_t cp) { return IN(number, cp); }
int cd_uni_is_dropped(uint32_t cp) { return IN(dropped, cp); }

int cd_uni_sigma_class(uint32_t cp) {
  if (IN(case_ignorable, cp)) return 2;
  return IN(cased, cp) ? 1 : 0;
}

int cd_uni_lower(uint32_t cp, uint32_t out[3]) {
  if (cp == MULTI_CP) {
    static const uint32_t m[] = {MULTI_LOWER};
    for (int i = 0; i < MULTI_N; i++) out[i] = m[i];
    return MULTI_N;
  }
  size_t lo = 0, hi = sizeof lower_runs / sizeof lower_runs[0];
  while (lo < hi) { /* last run whose first code point is <= cp */
    size_t mid = (lo + hi) / 2;
    if ((uint32_t)lower_runs[mid][0] <= cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  out[0] = cp;
  if (lo == 0) return 1;
  const int32_t *r = lower_runs[lo - 1];
  uint32_t off = cp - (uint32_t)r[0];
  if (off % (uint32_t)r[2] == 0 && off / (uint32_t)r[2] < (uint32_t)r[1])
    out[0] = (uint32_t)((int32_t)cp + r[3]);
  return 1;
}

uint32_t cd_uni_fold_ascii(uint32_t cp) {
  if (cp < 128) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  for (size_t i = 0; i < sizeof fold_pairs / sizeof fold_pairs[0]; i++)
    if (fold_pairs[i][0] == cp) return fold_pairs[i][1];
  return cp;
}
"""

if __name__ == "__main__":
    main()
