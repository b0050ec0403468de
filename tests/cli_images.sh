#!/usr/bin/env bash
# Image files through the CLI: `embed-image --images/--list` equals `preprocess` followed by
# `embed-image --pixels` bit for bit; `--shard i/n` runs merged with `merge` equal the
# unsharded run; bad files stop the run with one message naming them, or are listed and
# skipped with --skip-bad; merge refuses an incomplete or mixed set of shards.
# usage: bash tests/cli_images.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_images.sh path/to/clipdebias}
MODEL=tests/fixtures/model/openai_b16_f16/openai_b16_f16.safetensors
. tests/check_lib.sh

ls tests/fixtures/jpeg/cj_*.jpg | head -n 5 > "$TMP/list.txt"
ls tests/fixtures/png/*.png | grep -v '/bad_' | head -n 4 >> "$TMP/list.txt"
n=$(grep -c '' "$TMP/list.txt")

# 1. files path == preprocess + pixels path, bit for bit (same batch size).
check "embed-image --list runs" "$BIN" embed-image --model "$MODEL" --list "$TMP/list.txt" --batch 1 --out "$TMP/files.npy"
check "preprocess --list runs" "$BIN" preprocess --model "$MODEL" --list "$TMP/list.txt" --out "$TMP/pix.npy"
check "embed-image --pixels runs" "$BIN" embed-image --model "$MODEL" --pixels "$TMP/pix.npy" --batch 1 --out "$TMP/pixels.npy"
check "files == preprocess + pixels" cmp -s "$TMP/files.npy" "$TMP/pixels.npy"
check "pixels shape in header" grep -q "'shape': ($n, 3, 64, 64)" "$TMP/pix.npy"
check "sidecar lists every row" grep -q "\"rows\": $n" "$TMP/files.npy.json"

# 2. three shards merged == one run.
for i in 0 1 2; do
  "$BIN" embed-image --model "$MODEL" --list "$TMP/list.txt" --batch 1 --shard $i/3 --out "$TMP/s$i.npy" || bad "shard $i"
done
check "merge runs" "$BIN" merge --out "$TMP/merged.npy" "$TMP/s2.npy" "$TMP/s0.npy" "$TMP/s1.npy"
check "merged == unsharded" cmp -s "$TMP/merged.npy" "$TMP/files.npy"
check "merged sidecar paths in list order" \
  bash -c "grep '^    \"' '$TMP/merged.npy.json' | tr -d ' \",' | diff -q - '$TMP/list.txt' >/dev/null"
"$BIN" merge --out "$TMP/x.npy" "$TMP/s0.npy" "$TMP/s1.npy" 2> "$TMP/err"
check "merge refuses a missing shard" grep -q "3 shards\|but 2 shards were given" "$TMP/err"
"$BIN" merge --out "$TMP/x.npy" "$TMP/s0.npy" "$TMP/s0.npy" "$TMP/s1.npy" 2> "$TMP/err"
check "merge refuses a duplicate shard" grep -q "both shard 0" "$TMP/err"
"$BIN" embed-image --model "$MODEL" --list "$TMP/list.txt" --shard 3/3 --out "$TMP/x.npy" 2> "$TMP/err"
check "bad --shard rejected" grep -q "0 <= i < n" "$TMP/err"

# 3. bad files: an HTML error page saved as .jpg, a truncated JPEG, a missing file.
printf '<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n' > "$TMP/page.jpg"
first=$(head -n 1 "$TMP/list.txt")
head -c 300 "$first" > "$TMP/trunc.jpg"
cp "$TMP/list.txt" "$TMP/bad.txt"
printf '%s\n' "$TMP/page.jpg" "$TMP/trunc.jpg" "$TMP/missing.png" >> "$TMP/bad.txt"
"$BIN" embed-image --model "$MODEL" --list "$TMP/bad.txt" --out "$TMP/bad.npy" 2> "$TMP/err"
rc=$?
check "bad file stops the run (exit 1)" test $rc -eq 1
check "message names the HTML page" grep -q "page.jpg: this is an HTML page" "$TMP/err"
check "no output written on failure" test ! -e "$TMP/bad.npy"
"$BIN" embed-image --model "$MODEL" --list "$TMP/bad.txt" --skip-bad --out "$TMP/bad.npy" 2> "$TMP/err"
check "--skip-bad exits 0" test $? -eq 0
check "--skip-bad lists the truncated JPEG" grep -q "trunc.jpg" "$TMP/err"
check "--skip-bad lists the missing file" grep -q "missing.png" "$TMP/err"
check "--skip-bad keeps the good rows" grep -q "\"rows\": $n" "$TMP/bad.npy.json"
check "good rows identical to the clean run" cmp -s <(tail -c +129 "$TMP/bad.npy") <(tail -c +129 "$TMP/files.npy")
if grep -q -e Sanitizer -e 'runtime error' "$TMP/err"; then bad "no sanitizer report"; else ok "no sanitizer report"; fi

# 4. an interrupted run resumes from its last checkpoint and ends identical to a clean run.
head -n 4 "$TMP/list.txt" > "$TMP/resume.txt"
echo "$TMP/late.jpg" >> "$TMP/resume.txt"
tail -n +5 "$TMP/list.txt" >> "$TMP/resume.txt"
cp "$TMP/page.jpg" "$TMP/late.jpg"          # the 5th file is broken: the run stops there
"$BIN" embed-image --model "$MODEL" --list "$TMP/resume.txt" --batch 1 --checkpoint-every 0.000001 \
  --out "$TMP/resumed.npy" 2> "$TMP/err"
check "interrupted run fails on the broken file" test $? -eq 1
check "checkpoint written before the failure" grep -q '"done": 4' "$TMP/resumed.npy.partial.json"
check "rows file is an .npy of the 4 rows" grep -qa "'shape': (4, " "$TMP/resumed.npy.partial.npy"
cp "$TMP/resumed.npy.partial.json" "$TMP/saved.partial.json"
cp "$TMP/resumed.npy.partial.npy" "$TMP/saved.partial.npy"
# another model into the same output: its checkpoint is reported and not resumed
"$BIN" embed-image --model tests/fixtures/model/openai_f32/openai_f32.safetensors --list "$TMP/resume.txt" --batch 1 \
  --checkpoint-every 0.000001 --out "$TMP/resumed.npy" 2> "$TMP/err"
check "another model: checkpoint reported, not resumed" grep -q "is a checkpoint of another model (.*openai_b16_f16.safetensors; this run: .*openai_f32.safetensors); starting over" "$TMP/err"
check "another model: nothing resumed" bash -c "! grep -q resuming '$TMP/err'"
# the first run's state back, plus what a crash between appending rows and writing the .json
# that vouches for them leaves: a rows file longer than the .json says (3000 bytes of junk)
cp "$TMP/saved.partial.json" "$TMP/resumed.npy.partial.json"
cp "$TMP/saved.partial.npy" "$TMP/resumed.npy.partial.npy"
head -c 3000 /dev/urandom >> "$TMP/resumed.npy.partial.npy"
cp "$first" "$TMP/late.jpg"                 # repaired: same list, same paths
"$BIN" embed-image --model "$MODEL" --list "$TMP/resume.txt" --batch 1 --checkpoint-every 0.000001 \
  --out "$TMP/resumed.npy" 2> "$TMP/err"
check "rerun succeeds" test $? -eq 0
check "rerun says it resumed after 4 files" grep -q "resuming .* after 4 of $((n + 1)) files" "$TMP/err"
"$BIN" embed-image --model "$MODEL" --list "$TMP/resume.txt" --batch 1 --checkpoint-every 0 --out "$TMP/clean.npy"
check "resumed output == clean output" cmp -s "$TMP/resumed.npy" "$TMP/clean.npy"
check "checkpoint files removed at the end" test ! -e "$TMP/resumed.npy.partial.json" -a ! -e "$TMP/resumed.npy.partial.npy"

finish cli_images
