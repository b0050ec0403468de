#!/usr/bin/env bash
# The field's baselines in `clipdebias run` on the synthetic Waterbirds tree and the committed
# fixture model: every baseline runs next to zero-shot, results.json / the table / the report
# say what each uses (group labels, attribute names), the per-pair files (jtt.json, dfr.json),
# the schema of RUN_DIR, and bad input of the baselines' flags (one "clipdebias:" line, exit 1).
# The numbers themselves are checked against numpy in test_baselines.
# usage: bash tests/cli_baselines.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_baselines.sh path/to/clipdebias}
RUNCHECK=$(dirname "$BIN")/tool_runcheck
PAGECHECK=$(dirname "$BIN")/tool_pagecheck
. tests/check_lib.sh
WB=tests/fixtures/datasets/waterbirds/wilds
CSV=tests/fixtures/datasets/csv
MODEL=tests/fixtures/model/hf_f32

uses() { # METHOD LABELS ATTR: results.json's "uses" of METHOD
  grep -A4 "\"$1\": {" "$OUT/results.json" | grep -q "\"uses\": {\"labels\": \"$2\", \"attr_names\": \"$3\"}"
}

OUT=$TMP/run
echo "== every baseline on the Waterbirds tree"
"$BIN" run --dataset waterbirds --root $WB --skip-bad --model $MODEL --out "$OUT" --epochs 3 --seeds 0,1 \
  --methods zeroshot,erm,oracle,jtt,dfr,dfr-pseudo,orth-proj,orth-cali,roboshot --jtt-epochs 2 --dfr-fits 3 \
  --dfr-c 1,0.1 >"$TMP/log" 2>"$TMP/err"
check "run exits 0" test $? -eq 0
sed 's/^/       | /' "$TMP/err" | head -n 5
check "schema of RUN_DIR" "$RUNCHECK" "$OUT"
check "report.html well-formed" "$PAGECHECK" xml "$OUT/report.html"
check "report: the group labels column" grep -q "<th rowspan=\"2\" class=\"sep\">Group labels</th>" "$OUT/report.html"
check "uses: zeroshot" uses zeroshot none none
check "uses: erm" uses erm none none
check "uses: oracle" uses oracle "training group labels" none
check "uses: jtt" uses jtt none none
check "uses: dfr" uses dfr "validation group labels" none
check "uses: dfr-pseudo" uses dfr-pseudo none given
check "uses: orth-proj" uses orth-proj none given
check "uses: orth-cali" uses orth-cali none given
check "uses: roboshot" uses roboshot none given
check "table: dfr's row says validation group labels" grep -q -E "^dfr +[0-9.]+ ± [0-9.]+ .* validation group labels +none$" "$TMP/log"
check "table: roboshot's row, one run" grep -q -E "^roboshot +[0-9.]+ +[0-9.]+ .* none +given$" "$TMP/log"
check "jtt.json: stage 1 of 2 epochs" grep -q '"epochs": 2,' "$OUT/jtt/seed1/jtt.json"
check "dfr.json: the grid and the chosen C" grep -q '"c_grid": \[1, 0.10000000000000001\]' "$OUT/dfr/seed0/dfr.json"
check "args.json records the baselines' settings" grep -q '"dfr_fits": 3' "$OUT/args.json"
seedless() { grep -A2 "\"$1\": {" "$OUT/results.json" | grep -q '"seeds": null'; }
check "the training-free methods have no seeds" seedless orth-proj

echo "== with --select val-true the trained methods read the validation group labels"
"$BIN" run --cache "$OUT/cache" --model $MODEL --out "$TMP/vt" --epochs 2 --seeds 0 --methods erm,orth-proj \
  --select val-true >"$TMP/log2" 2>&1
OUT=$TMP/vt
check "uses: erm selected on val-true" uses erm "validation group labels" none
check "uses: orth-proj still none" uses orth-proj none given

echo "== bad input"
C=$TMP/run/cache
expect_fail "--dfr-c 0" "--dfr-c 0 is outside" "$BIN" run --cache $C --model $MODEL --out "$TMP/x" --dfr-c 1,0
expect_fail "--orth-lambda -1" "--orth-lambda -1 is outside" "$BIN" run --cache $C --model $MODEL --out "$TMP/x" --orth-lambda -1
expect_fail "--jtt-epochs 0" "--jtt-epochs" "$BIN" run --cache $C --model $MODEL --out "$TMP/x" --jtt-epochs 0
expect_fail "--cali-prompt count" "--cali-prompt: 1 given; orth-cali needs one per class and attribute value" \
  "$BIN" run --cache $C --model $MODEL --out "$TMP/x" --methods orth-cali --cali-prompt "a bird."
expect_fail "dfr without the true attribute" "method dfr needs the true attribute of the validation rows" \
  "$BIN" run --dataset csv --root $CSV/noattr --csv $CSV/noattr/labels.csv --attr-prompt "a plain shape." \
  --attr-prompt "a striped shape." --model $MODEL --out "$TMP/noattr" --methods dfr
expect_fail "unknown method names the baselines" "unknown method 'jtt2' .*dfr-pseudo, orth-proj, orth-cali, roboshot" \
  "$BIN" run --cache $C --model $MODEL --out "$TMP/x" --methods jtt2
finish cli_baselines
