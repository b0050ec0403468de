#!/usr/bin/env bash
# clipdebias discover on the toy world (a small one: scale 0.3) with the shipped toy CLIP and a
# vocabulary of the words it knows plus distractors it never saw (tests/fixtures/discover/
# toy_words.txt): the two best candidates that do not describe a class are place words, the
# proposed attribute has one land and one water value, in that order; discover.json holds the
# ranked candidates with their per-class scores; discover.html is well-formed, self-contained
# and shows thumbnails. run --attr auto / --attr-from use the discovered prompts. Bad input:
# one "clipdebias:" line and exit 1 each (empty, unreadable and unencodable vocabularies, no
# misclassified images, a discovery from another cache or model).
# usage: bash tests/cli_discover.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_discover.sh path/to/clipdebias}
PAGECHECK=$(dirname "$BIN")/tool_pagecheck
. tests/check_lib.sh
M=models/toyclip
WORDS=tests/fixtures/discover/toy_words.txt
LAND="forest trees land ground grass meadow field"
WATER="water lake ocean sea waves"

in_list() { local w=$1; shift; for x in "$@"; do [ "$x" = "$w" ] && return 0; done; return 1; }

echo "== the toy world (scale 0.3) embedded with the toy CLIP"
"$BIN" toyworld --out "$TMP/tw" --scale 0.3 --seed 0 >/dev/null 2>&1 &&
  "$BIN" embed --dataset waterbirds --root "$TMP/tw" --model $M --out "$TMP/cache" >/dev/null 2>&1
check "toy world drawn and embedded" test -s "$TMP/cache/features.npy"

echo "== discover (zero-shot errors on the training split)"
"$BIN" discover --cache "$TMP/cache" --model $M --out "$TMP/d.json" --words $WORDS >"$TMP/table" 2>"$TMP/err"
check "discover exits 0" test $? -eq 0
sed 's/^/       | /' "$TMP/table" | head -n 14
# candidates: one per line, ranked; the first two unfiltered ones
top=$(grep '"filtered": false' "$TMP/d.json" | head -n 2 | sed 's/.*"word": "\([^"]*\)".*/\1/')
echo "       top two non-class candidates: $(echo $top)"
set -- $top
check "first non-class candidate is a place word ($1)" in_list "${1:-}" $LAND $WATER
check "second non-class candidate is a place word ($2)" in_list "${2:-}" $LAND $WATER
words=$(sed -n 's/.*"attr_words": \[\(.*\)\].*/\1/p' "$TMP/d.json" | tr -d '"' | tr ',' ' ')
set -- $words
check "two attribute values ($*)" test $# -eq 2
check "a=0 is a land word ($1)" in_list "${1:-}" $LAND
check "a=1 is a water word ($2)" in_list "${2:-}" $WATER
check "attr_prompts filled from the template" grep -q "\"attr_prompts\": \[\"a photo of ${1:-x}.\", \"a photo of ${2:-x}.\"\]" "$TMP/d.json"
n=$(grep -c '"rank": ' "$TMP/d.json")
check "every candidate ranked ($n of $(grep -vc '^#' $WORDS))" test "$n" -eq "$(grep -vc '^#' $WORDS)"
check "per-class scores of each candidate" grep -q '"class_scores": {"landbird": [-0-9.e]*, "waterbird": [-0-9.e]*}' "$TMP/d.json"
check "class words are filtered, and shown" grep -q '"word": "landbird".*"filtered": true' "$TMP/d.json"
check "table names the filter" grep -q "^class filter: [0-9]* of $n candidates" "$TMP/table"
check "table shows the proposal" grep -q "a=1  \"a photo of ${2:-x}.\"" "$TMP/table"
# the land word explains the waterbirds' mistakes (waterbirds on land), the water word the landbirds'
check "a=0 found in the waterbirds' errors" grep -q "a=0  .*(from the errors of class 'waterbird'" "$TMP/table"
check "a=1 found in the landbirds' errors" grep -q "a=1  .*(from the errors of class 'landbird'" "$TMP/table"
check "discover.html well-formed and self-contained" "$PAGECHECK" xml "$TMP/d.html"
check "discover.html has thumbnails" test "$(grep -Eo 'data:image/(jpeg|png);base64' "$TMP/d.html" | wc -l)" -ge 10
# the same discovery again: the same bytes (deterministic)
"$BIN" discover --cache "$TMP/cache" --model $M --out "$TMP/d2.json" --words $WORDS --threads 2 >/dev/null 2>&1
check "same discovery on 2 threads, same file" cmp -s <(grep -v '"cache"' "$TMP/d.json") <(grep -v '"cache"' "$TMP/d2.json")

# the other error sources: validation images, a quick ERM probe; a place word still leads
for opts in "--split val" "--errors erm --split val"; do
  "$BIN" discover --cache "$TMP/cache" --model $M --out "$TMP/o.json" --words $WORDS $opts >"$TMP/o.txt" 2>&1
  w=$(grep '"filtered": false' "$TMP/o.json" | head -n 1 | sed 's/.*"word": "\([^"]*\)".*/\1/')
  check "$opts: table says so" grep -q "^errors: $([ "${opts#--errors erm}" = "$opts" ] && echo zeroshot || echo erm) predictions on the val split" "$TMP/o.txt"
  check "$opts: first non-class candidate is a place word ($w)" in_list "$w" $LAND $WATER
done
check "erm errors differ from zero-shot ones" test "$(grep '"wrong"' "$TMP/o.json")" != "$(grep '"wrong"' "$TMP/d.json")"

echo "== run --attr-from / --attr auto"
"$BIN" run --cache "$TMP/cache" --model $M --out "$TMP/run" --methods zeroshot,dpt --seeds 0 --epochs 2 \
  --attr-from "$TMP/d.json" >"$TMP/log" 2>&1
check "run --attr-from exits 0" test $? -eq 0
check "run --attr-from uses the discovered prompts" grep -q "\"a photo of ${1:-x}.\", \"a photo of ${2:-x}.\"" "$TMP/run/args.json"
"$BIN" run --cache "$TMP/cache" --model $M --out "$TMP/auto" --methods zeroshot,dpt --seeds 0 --epochs 2 \
  --attr auto --words $WORDS >"$TMP/log" 2>&1
check "run --attr auto exits 0" test $? -eq 0
check "run --attr auto writes RUN_DIR/discover.json" cmp -s <(grep -v '"cache"' "$TMP/d.json") <(grep -v '"cache"' "$TMP/auto/discover.json")
check "run --attr auto: same prompts, same pseudo labels" cmp -s "$TMP/run/a_pseudo.npy" "$TMP/auto/a_pseudo.npy"

echo "== bad input"
: >"$TMP/empty.txt"
printf '# only a comment\n\n' >"$TMP/comments.txt"
printf 'water\nbad \xff\xfe word\n' >"$TMP/utf8.txt"
expect_fail "empty vocabulary" "empty.txt: no candidate words" \
  "$BIN" discover --cache "$TMP/cache" --model $M --out "$TMP/x.json" --words "$TMP/empty.txt"
expect_fail "comments only" "comments.txt: no candidate words" \
  "$BIN" discover --cache "$TMP/cache" --model $M --out "$TMP/x.json" --words "$TMP/comments.txt"
expect_fail "unreadable vocabulary" "nope.txt: cannot read the word list" \
  "$BIN" discover --cache "$TMP/cache" --model $M --out "$TMP/x.json" --words "$TMP/nope.txt"
expect_fail "vocabulary the tokenizer cannot encode" "utf8.txt: line 2: the model's tokenizer cannot encode" \
  "$BIN" discover --cache "$TMP/cache" --model $M --out "$TMP/x.json" --words "$TMP/utf8.txt"
# both classes named alike: zero-shot predicts the first for every image, so no class has
# both misclassified and correct images
expect_fail "no misclassified images" "no class has both misclassified and correctly classified" \
  "$BIN" discover --cache "$TMP/cache" --model $M --out "$TMP/x.json" --words $WORDS --classnames bird,bird
# another cache: the same images with one row moved to another split
cp -r "$TMP/cache" "$TMP/other"
awk -F, 'NR==2{$5=($5==2?1:2)}1' OFS=, "$TMP/cache/index.csv" >"$TMP/other/index.csv"
# (as a cache from before index checksums: the edit would be refused by the checksum otherwise)
sed -i '/"index_checksum"/d; s/"records_checksum": "[^"]*"/"records_checksum": null/' "$TMP/other/cache.json"
expect_fail "discovery from another cache" "d.json was discovered on another cache: .*cache \(xxh64:[0-9a-f]+\), not .*other \(xxh64:" \
  "$BIN" run --cache "$TMP/other" --model $M --out "$TMP/r2" --methods zeroshot --attr-from "$TMP/d.json"
sed 's/"model_checksum": "[^"]*"/"model_checksum": "xxh64-16M:0000000000000000"/' "$TMP/d.json" >"$TMP/dm.json"
expect_fail "discovery with another model" "dm.json was discovered with another model: .*xxh64-16M:0000000000000000.*, not .*toyclip \(xxh64-16M:" \
  "$BIN" run --cache "$TMP/cache" --model $M --out "$TMP/r3" --methods zeroshot --attr-from "$TMP/dm.json"
expect_fail "not a discovery file" "args.json: not a discovery file" \
  "$BIN" run --cache "$TMP/cache" --model $M --out "$TMP/r4" --methods zeroshot --attr-from "$TMP/run/args.json"
expect_fail "--attr auto with --attr-prompt" "--attr-prompt and --attr auto" \
  "$BIN" run --cache "$TMP/cache" --model $M --out "$TMP/r5" --attr auto --attr-prompt "a" --attr-prompt "b"
expect_fail "discovery option without --attr auto" "discovery options: add --attr auto" \
  "$BIN" run --cache "$TMP/cache" --model $M --out "$TMP/r6" --words $WORDS
expect_fail "bad --errors" "--errors must be zeroshot or erm" \
  "$BIN" discover --cache "$TMP/cache" --model $M --out "$TMP/x.json" --errors oracle

finish cli_discover
