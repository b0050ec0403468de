#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/: expected CLIP token ids for tricky strings.

The ids come from a plain-Python transcription of OpenAI CLIP's clip/simple_tokenizer.py
(SimpleTokenizer.encode + clip.tokenize) using the `regex` module as upstream does. ftfy is
not installed here, and basic_clean is reproduced without ftfy.fix_text (as in the C code).

  cases.json   [{"text", "ids" (encode, no SOT/EOT), "tokens" (clip.tokenize(truncate=True)),
                 "too_long"}] for the real merges file ../shared/clip/bpe_simple_vocab_16e6.txt.gz
  tiny_vocab.json, tiny_merges.txt, tiny_cases.json
               a small Hugging Face-format vocabulary (256 byte symbols x2, a handful of
               merges, the two specials) with its own expected ids for the same texts and a few
               more, so the tests check normalisation, splitting, BPE and the truncation rules
               even without the real merges file.
"""
import gzip
import html
import json
import os
import sys

import regex as re

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "tokenizer")
BPE = os.path.join(HERE, "..", "..", "..", "shared", "clip", "bpe_simple_vocab_16e6.txt.gz")
PAT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


class Tokenizer:
    def __init__(self, merges):
        self.byte_encoder = bytes_to_unicode()
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab]
        vocab += ["".join(m) for m in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.vocab = vocab
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.ranks = dict(zip(merges, range(len(merges))))
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.pat = re.compile(PAT, re.IGNORECASE)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == best[0] and word[i + 1] == best[1]:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = tuple(out)
        return " ".join(word)

    def encode(self, text):
        text = html.unescape(html.unescape(text)).strip()  # basic_clean without ftfy
        text = re.sub(r"\s+", " ", text).strip()            # whitespace_clean
        text = text.lower()
        ids = []
        for tok in re.findall(self.pat, text):
            tok = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids += [self.encoder[t] for t in self.bpe(tok).split(" ")]
        return ids

    def tokenize(self, text, ctx=77):
        sot, eot = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]
        toks = [sot] + self.encode(text) + [eot]
        too_long = len(toks) > ctx
        if too_long:
            toks = toks[:ctx]
            toks[-1] = eot
        return toks + [0] * (ctx - len(toks)), too_long


TEXTS = [
    "a photo of a cat.", "", "   ", "\t\n \r\n", "Hello, World!", "IT'S", "it's",
    "I'M HERE, YOU'LL SEE, WE'D GO, THEY'RE SURE, WE'VE WON, DON'T", "'s'S''s 'sam",
    "2024", "1,234.56 and 3.14159", "Ⅻ Ⅳ roman ⅻ", "①②③ ⑴", "٣٤٥ ١٢ arabic-indic", "१२३ देवनागरी",
    "&amp;amp; &amp;lt;", "&lt;b&gt;bold&lt;/b&gt;", "it&#39;s", "a&nbsp;b", "&nbsp;leading nbsp",
    "&#x41;&#X42;&#67 &#x263a;", "&ampfoo &amp &AMP", "&notit; &notin;", "&#0; &#128; &#150;",
    "&#xD800; &#1114112; &#11; x&#x7f;y", "&#99999999999999999999999; big", "&copy2024 &reg",
    "&unknown; & && &&& &#; &#x; &#xg", "&ThisNameIsWayTooLongToBeAnEntityAtAll;",
    "Café NAÏVE résumé", "Straße ẞ", "İstanbul İ", "ΟΔΥΣΣΕΥΣ", "Σ", "ΑΣ. ΑΣΑ Σ'Σ", "Привет, мир!",
    "Γειά σου Κόσμε", "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया", "こんにちは世界", "你好，世界！",
    "안녕하세요", "ไทย ภาษา", "🙂🙃 emoji 👍🏽 family 👨\u200d👩\u200d👧", "🇫🇷 flag",
    "e\u0301 decomposed vs é", "ſtraße 'ſ it'ſ", "\u0345 ypogegrammeni a\u0345b !\u0345!",
    "\x1c sep\x1dmid \x1f", "\u00a0nbsp\u2003em\u3000ideographic\u2028ls",
    "\u200bzero-width\u200bjoined", "\u212a Kelvin", "ﬁ ligature ﬀ", "!!!???... ,,,;;;",
    "hello<|endoftext|>world", "!<|startoftext|>", "<|STARTOFTEXT|>", "<|startoftext|>", "<|ſtartoftext|>",
    "<|endoftext|><|endoftext|>", "a--b__c", "email@example.com https://x.y/z?q=1&r=2", "$100 & 50%",
    "#hashtag @mention", "(parens) [brackets] {braces}", "C++ C# .NET", "tab\tsep\nnew\r\nline",
    "a photo of " * 30, "supercalifragilisticexpialidocious" * 5, "a " * 75, "a " * 76,
    "x" * 300, "ab" * 200,
]



def random_texts(n=200, seed=7):
    """Random mixes of many scripts, symbols, combining marks, case-special letters, entities
    and special-token text (assigned code points only: the regex module may know a newer
    Unicode version than this Python's unicodedata, which the C tables follow)."""
    import random
    import unicodedata
    rng = random.Random(seed)
    pools = [(0x20, 0x7F), (0xA0, 0x250), (0x300, 0x370), (0x370, 0x400), (0x400, 0x530), (0x10A0, 0x1100),
             (0x1E00, 0x2000), (0x1F00, 0x1FFF), (0x2000, 0x2070), (0x2100, 0x2200), (0x2460, 0x2500),
             (0x2C00, 0x2D30), (0x3000, 0x3100), (0x4E00, 0x4E80), (0xA640, 0xA6A0), (0xA720, 0xA800),
             (0xFB00, 0xFB50), (0x10400, 0x10450), (0x1E900, 0x1E960), (0x1F300, 0x1F700), (0x1C, 0x20)]
    frags = ["&amp;", "&#39;", "&lt", "&nbsp;", "'s", "'LL", "<|startoftext|>", "<|endoftext|>", "Σ",
             "İ", " ", "\t", "\n", "&#x3a3;", "ΑΣ", "&Sigma;", "ΣΑ"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 25)):
            if rng.random() < 0.3:
                parts.append(rng.choice(frags))
            else:
                c = chr(rng.randrange(*rng.choice(pools)))
                if unicodedata.category(c) != "Cn":
                    parts.append(c)
        out.append("".join(parts))
    return out


TINY_MERGES = [("t", "h"), ("th", "e</w>"), ("p", "h"), ("ph", "o"), ("t", "o</w>"), ("pho", "to</w>"),
               ("a", "t"), ("c", "at</w>"), ("o", "f</w>"), ("i", "t"), ("'", "s</w>")]
TINY_TEXTS = ["the photo of a cat", "a photo of the cat!", "it's", "", "Ωmega", "the " * 80, "a " * 75,
              "a " * 76, "<|startoftext|>"]


def main():
    os.makedirs(OUT, exist_ok=True)
    # Tiny vocabulary (HF format).
    tiny = Tokenizer(TINY_MERGES)
    with open(os.path.join(OUT, "tiny_vocab.json"), "w", encoding="utf-8") as fp:
        json.dump(tiny.encoder, fp, ensure_ascii=False)
    with open(os.path.join(OUT, "tiny_merges.txt"), "w", encoding="utf-8") as fp:
        fp.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in TINY_MERGES))
    cases = []
    for t in TINY_TEXTS + TEXTS:  # byte-level ids: checks normalisation and splitting exactly
        toks, too_long = tiny.tokenize(t)
        cases.append({"text": t, "ids": tiny.encode(t), "tokens": toks, "too_long": too_long})
    with open(os.path.join(OUT, "tiny_cases.json"), "w", encoding="utf-8") as fp:
        json.dump(cases, fp, ensure_ascii=False, separators=(",", ":"))
        fp.write("\n")

    if not os.path.exists(BPE):
        sys.exit(f"{BPE} not found: cases.json not regenerated")
    merges = gzip.open(BPE).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    tok = Tokenizer([tuple(m.split()) for m in merges])
    assert len(tok.vocab) == 49408
    cases = []
    for t in TEXTS + random_texts():
        toks, too_long = tok.tokenize(t)
        cases.append({"text": t, "ids": tok.encode(t), "tokens": toks, "too_long": too_long})
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as fp:
        json.dump(cases, fp, ensure_ascii=False, separators=(",", ":"))
        fp.write("\n")
    print(f"wrote {len(cases)} cases (+{len(TINY_TEXTS) + len(TEXTS)} tiny) to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
