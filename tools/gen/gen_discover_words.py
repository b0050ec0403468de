#!/usr/bin/env python3
"""Writes models/discover/words.txt, the vocabulary `clipdebias discover` ranks by default.

Source: WordNet 3.0 (Princeton University), as Debian's `wordnet-base` package installs it in
/usr/share/wordnet (apt-get install wordnet-base). WordNet's license (the "WordNet 3.0 license",
BSD-like) permits use, copying, modification and distribution for any purpose provided the
copyright notice is kept; the generated file carries it in its header.

What is taken: common concrete nouns (single words and two-word phrases) from the lexicographer
files that describe what a picture can show besides its subject -- places, natural objects and
landforms, artefacts, materials and substances, plants, animals, food, people and parts of the
body -- and the colour nouns (hyponyms of "color" in noun.attribute). "Common" means the sense
was tagged in WordNet's sense-tagged corpus (cntlist.rev); each file contributes its most
frequent lemmas up to a cap, so no category crowds out the others. Deterministic: the same
WordNet gives the same file.

    python3 tools/gen/gen_discover_words.py [--wordnet /usr/share/wordnet] [--out FILE]
"""
import argparse
import collections
import os
import re

# lexicographer file number -> (name, cap)
LEXFILES = {
    15: ("location", 450),
    17: ("object", 450),
    6: ("artifact", 1000),
    27: ("substance", 350),
    20: ("plant", 200),
    5: ("animal", 300),
    13: ("food", 200),
    18: ("person", 300),
    8: ("body", 150),
}
COLOR_CAP = 150
WORD = re.compile(r"^[a-z]+(?:[ -][a-z]+)?$")
LICENSE = """# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
# Permission to use, copy, modify and distribute this software and database and its
# documentation for any purpose and without fee or royalty is hereby granted, provided that
# you agree to comply with the following copyright notice and statements, including the
# disclaimer, and that the same appear on ALL copies of the software, database and
# documentation, including modifications that you make for internal use or for distribution.
# THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
# REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION,
# PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS
# FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR
# DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER
# RIGHTS. The name of Princeton University or Princeton may not be used in advertising or
# publicity pertaining to distribution of the software and/or database. Title to copyright in
# this software, database and any associated documentation shall at all times remain with
# Princeton University and LICENSEE agrees to preserve same."""


def read_synsets(path):
    """offset -> (lexfile, lemmas, hypernym offsets) of data.noun."""
    out = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            t = line.split(" | ")[0].split()
            off, lex, n = int(t[0]), int(t[1]), int(t[3], 16)
            lemmas = [t[4 + 2 * i] for i in range(n)]
            k = 4 + 2 * n
            p = int(t[k])
            hyper = [int(t[k + 1 + 4 * j + 1]) for j in range(p) if t[k + 1 + 4 * j] in ("@", "@i")]
            out[off] = (lex, lemmas, hyper)
    return out


def color_lemmas(synsets):
    """Lemmas of noun.attribute synsets under 'color' (the visual property) by hypernym chain."""
    roots = {o for o, (lex, lem, _) in synsets.items() if lex == 7 and ("color" in lem or "colour" in lem)}
    memo = {}

    def under(o, depth=0):
        if o in roots:
            return True
        if o in memo or depth > 30:
            return memo.get(o, False)
        memo[o] = any(under(h, depth + 1) for h in synsets[o][2] if h in synsets)
        return memo[o]

    return {l.lower() for o, (lex, lem, _) in synsets.items() if lex == 7 and under(o) for l in lem}


def proper_nouns(synsets):
    """Lemmas WordNet spells only with a capital (names of people, places, taxa): not concrete
    things a picture shows in general."""
    upper, lower = set(), set()
    for lex, lem, _ in synsets.values():
        for l in lem:
            l = re.sub(r"\(.*\)$", "", l).replace("_", " ")
            (lower if l == l.lower() else upper).add(l.lower())
    return upper - lower


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "models", "discover", "words.txt"))
    a = ap.parse_args()
    synsets = read_synsets(os.path.join(a.wordnet, "data.noun"))
    colors = color_lemmas(synsets)
    proper = proper_nouns(synsets)
    counts = collections.defaultdict(int)  # (lexfile, lemma) -> tagged count
    color_counts = collections.defaultdict(int)
    with open(os.path.join(a.wordnet, "cntlist.rev"), encoding="latin-1") as f:
        for line in f:
            key, _, cnt = line.split()
            lemma, rest = key.split("%")
            ss_type, lex = rest.split(":")[0:2]
            lemma = lemma.replace("_", " ")
            # two-word phrases only when tagged more than once (drops rare technical terms)
            if ss_type != "1" or not WORD.match(lemma) or lemma in proper or (" " in lemma and int(cnt) < 2):
                continue
            if int(lex) == 7 and lemma in colors:
                color_counts[lemma] += int(cnt)
            elif int(lex) in LEXFILES:
                counts[(int(lex), lemma)] += int(cnt)
    chosen, seen = [], set()

    def take(items, cap):
        n = 0
        for lemma, _ in sorted(items, key=lambda kv: (-kv[1], kv[0])):
            if n == cap:
                break
            if lemma not in seen:
                seen.add(lemma)
                chosen.append(lemma)
                n += 1

    take(color_counts.items(), COLOR_CAP)
    for lex, (_, cap) in LEXFILES.items():
        take([(l, c) for (x, l), c in counts.items() if x == lex], cap)
    chosen.sort()
    header = ["# clipdebias discover: default candidate vocabulary, one word or short phrase a line.",
              "# Generated by tools/gen/gen_discover_words.py from WordNet 3.0 (Debian package wordnet-base):",
              "# the most frequent sense-tagged nouns of noun.location, noun.object, noun.artifact,",
              "# noun.substance, noun.plant, noun.animal, noun.food, noun.person and noun.body, and the",
              "# colour nouns; %d entries. Lines starting with '#' are comments." % len(chosen),
              "#", LICENSE]
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(header) + "\n")
        f.write("\n".join(chosen) + "\n")
    os.replace(tmp, a.out)
    print("%s: %d entries" % (a.out, len(chosen)))


if __name__ == "__main__":
    main()
