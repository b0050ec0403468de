#!/usr/bin/env python3
"""Writes tests/fixtures/discover/toy_words.txt: the candidate list of the discovery test on the
toy world. Every word of the toy world's captions (the string literals of
data/toyworld/tw_captions.c and tw_bird.c: places, class words, species, colours, looks, the
templates' filler) that the toy CLIP's BPE vocabulary holds as one whole token
(models/toyclip/vocab.json, "<word></w>"), plus distractors the toy CLIP never saw:
every 20th entry of the shipped vocabulary (models/discover/words.txt) that is not a toy word.

    python3 tools/gen/gen_discover_fixtures.py
"""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def main():
    vocab = json.load(open(os.path.join(ROOT, "models", "toyclip", "vocab.json")))
    caption_words = set()
    for src in ("tw_captions.c", "tw_bird.c"):
        text = open(os.path.join(ROOT, "data", "toyworld", src)).read()
        for lit in re.findall(r'"([^"\\]*)"', text):
            caption_words |= {w.lower() for w in re.findall(r"[A-Za-z]+", lit)}
    toy = sorted(w for w in caption_words if w + "</w>" in vocab and len(w) >= 2)
    shipped = [l.strip() for l in open(os.path.join(ROOT, "models", "discover", "words.txt")) if l.strip() and not l.startswith("#")]
    distract = [w for w in shipped[::20] if w not in toy]
    out = os.path.join(ROOT, "tests", "fixtures", "discover", "toy_words.txt")
    with open(out + ".tmp", "w") as f:
        f.write("# toy CLIP words (%d) + distractors from models/discover/words.txt (%d); tools/gen/gen_discover_fixtures.py\n"
                % (len(toy), len(distract)))
        f.write("\n".join(toy + distract) + "\n")
    os.replace(out + ".tmp", out)
    print(out, len(toy), "toy words,", len(distract), "distractors")


if __name__ == "__main__":
    main()
