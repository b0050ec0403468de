#!/usr/bin/env bash
# `clipdebias toyworld` through the CLI: the same seed writes the same bytes on 1 and 2
# threads, another seed does not; the captions mode and the contact sheet; bad options fail
# with one message naming the option; the shipped toy CLIP matches its recorded checksums.
# usage: bash tests/cli_toyworld.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_toyworld.sh path/to/clipdebias}
. tests/check_lib.sh
fails_with() { # name, expected message fragment, command...
  local name=$1 want=$2; shift 2
  if "$@" >"$TMP/out" 2>"$TMP/err"; then bad "$name (succeeded)"; return; fi
  if grep -q -- "$want" "$TMP/err" && [ "$(grep -c '' "$TMP/err")" -eq 1 ]; then ok "$name"; else bad "$name: $(cat "$TMP/err")"; fi
}

check "world, 1 thread" "$BIN" toyworld --out "$TMP/a" --scale 0.02 --threads 1 --sheet "$TMP/sheet.png"
check "world, 2 threads" "$BIN" toyworld --out "$TMP/b" --scale 0.02 --threads 2
check "same seed, same bytes" diff -r "$TMP/a" "$TMP/b"
check "world, seed 1" "$BIN" toyworld --out "$TMP/c" --scale 0.02 --seed 1
if cmp -s "$TMP/a/metadata.csv" "$TMP/c/metadata.csv"; then bad "seed 1 differs"; else ok "seed 1 differs"; fi
check "metadata header" bash -c "head -n 1 '$TMP/a/metadata.csv' | grep -qx 'img_id,img_filename,y,split,place,place_filename'"
check "20 species folders" bash -c "[ \$(ls -d '$TMP'/a/[0-9][0-9][0-9].* | wc -l) -eq 20 ]"
check "contact sheet is a PNG" bash -c "head -c 8 '$TMP/sheet.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
check "captions mode" "$BIN" toyworld --captions 50 --out "$TMP/cap" --png
check "captions.csv rows" bash -c "[ \$(grep -c '' '$TMP/cap/captions.csv') -eq 51 ] && [ -f '$TMP/cap/images/000049.png' ]"
check "sheet alone" "$BIN" toyworld --sheet "$TMP/only.jpg"

fails_with "no --out" "--out DIR" "$BIN" toyworld
fails_with "bad scale" "scale 0 is not" "$BIN" toyworld --out "$TMP/x" --scale 0
fails_with "bad corr" "corr 1.5 is not" "$BIN" toyworld --out "$TMP/x" --corr 1.5
fails_with "bad quality" "--quality" "$BIN" toyworld --out "$TMP/x" --quality 0
fails_with "unknown option" "--colour" "$BIN" toyworld --out "$TMP/x" --colour red
fails_with "out is a file" "cannot create directory" "$BIN" toyworld --out "$TMP/sheet.png/w" --scale 0.01

if command -v sha256sum >/dev/null; then
  check "toy CLIP checksums" bash -c "cd models/toyclip && sha256sum --quiet -c SHA256SUMS"
fi
finish cli_toyworld
