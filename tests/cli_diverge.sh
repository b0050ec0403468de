#!/usr/bin/env bash
# Divergence is an error, not a number: a training whose loss or parameters stop being finite,
# or whose mean loss runs away (tune_session.h), stops that (method, seed) pair with the epoch,
# the loss and the likely flag; the pair is marked "diverged" in results.json, the table and
# report.html, the other pairs finish, and run exits 1. A rerun keeps the pair diverged. tune
# stops the same way, marks its checkpoint, and a resume or eval of it is refused.
# Real processes and real flags: an SGD weight-decay step that overshoots (--lr 1000
# --weight-decay 10: the context becomes inf, then the loss nan) and a linear probe whose loss
# runs away under --lr 1000 with GroupDRO's weights while ERM's stays below the bound.
# usage: bash tests/cli_diverge.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_diverge.sh path/to/clipdebias}
RUNCHECK=$(dirname "$BIN")/tool_runcheck
PAGECHECK=$(dirname "$BIN")/tool_pagecheck
. tests/check_lib.sh
MODEL=tests/fixtures/model/hf_f32
WB=tests/fixtures/datasets/waterbirds/wilds

# one_line FILE PATTERN: FILE is one "clipdebias: " line matching PATTERN
one_line() { [ "$(grep -c '' "$1")" -eq 1 ] && grep -q -E "^clipdebias: .*($2)" "$1"; }
# status RESULTS METHOD: the method's "status" in results.json
status() { sed -n "/^    \"$2\": {/,/^    }/p" "$1" | sed -n 's/^ *"status": "\([a-z]*\)".*/\1/p'; }
no_wall() { grep -v wall_seconds "$1"; }

"$BIN" embed --dataset waterbirds --root $WB --skip-bad --model "$MODEL" --out "$TMP/cache" >/dev/null 2>&1
check "embed the fixture tree" test -s "$TMP/cache/features.npy"

echo "== the context becomes inf: erm diverges, zero-shot is reported, exit 1"
out=$TMP/nan
"$BIN" run --cache "$TMP/cache" --model "$MODEL" --out "$out" --methods zeroshot,erm --seeds 0 --epochs 5 --batch 2 \
  --lr 1000 --weight-decay 10 >"$TMP/log" 2>"$TMP/err"
rc=$?
check "exit 1" test $rc -eq 1
check "one stderr line: the pair, the epoch, the loss, the likely flags" one_line "$TMP/err" \
  "training diverged for 1 \(method, seed\) pair: erm seed 0 in epoch [0-9]+ \(loss not finite\); likely --weight-decay 10 with --lr 1000; marked \"diverged\" in .*/results.json, no trained pair finished"
sed 's/^/       | /' "$TMP/err"
check "the log says when and why" grep -q -E "^erm +seed 0 +DIVERGED: training diverged in epoch [0-9]+ of 5: the parameters are no longer finite \(loss nan\); likely --weight-decay 10 with --lr 1000 \(lr x weight decay = 10000 > 2 \(1 \+ momentum\)" "$TMP/log"
check "the table shows diverged, not numbers" grep -q -E "^erm +diverged \(seed 0 in epoch [0-9]+\): no accuracy$" "$TMP/log"
check "... and zero-shot's numbers" grep -q -E "^zeroshot +[0-9]+\.[0-9]+ " "$TMP/log"
check "results.json: erm is diverged" test "$(status "$out/results.json" erm)" = diverged
check "results.json: zeroshot finished" test "$(status "$out/results.json" zeroshot)" = finished
check "results.json: erm has no accuracy" grep -q -E '"test": null' "$out/results.json"
check "results.json: the diverged seed, its loss (null: not finite) and flag" \
  grep -q -E '\{"seed": 0, "epoch": [0-9]+, "loss": null, "likely_flag": "--weight-decay 10 with --lr 1000", "message": "training diverged' "$out/results.json"
check "erm/seed0/diverged.json, no done.json" test -s "$out/erm/seed0/diverged.json" -a ! -e "$out/erm/seed0/done.json"
check "schema of RUN_DIR with a diverged pair" "$RUNCHECK" "$out"
check "report.html: well-formed" "$PAGECHECK" xml "$out/report.html"
check "report.html shows the divergence" grep -q -E 'class="diverged">diverged: seed 0 in epoch [0-9]+ \(loss not finite; likely --weight-decay 10 with --lr 1000\)' "$out/report.html"

echo "== a linear probe's loss runs away under GroupDRO: gdro diverges, erm finishes"
out=$TMP/mixed
mixed=("$BIN" run --cache "$TMP/cache" --model "$MODEL" --out "$out" --methods zeroshot,erm,gdro --seeds 0,1 --epochs 3
       --head linear --lr 1000 --momentum 0 --batch 8)
"${mixed[@]}" >"$TMP/log" 2>"$TMP/err"
check "exit 1" test $? -eq 1
check "one stderr line naming both gdro seeds, the mean loss and --lr" one_line "$TMP/err" \
  "training diverged for 2 \(method, seed\) pairs: gdro seed 0 in epoch 3 \(mean loss [0-9.]+\), gdro seed 1 in epoch 3 \(mean loss [0-9.]+\); likely --lr 1000; .* the other pairs finished"
sed 's/^/       | /' "$TMP/err"
check "the log gives the bound" grep -q -E "^gdro +seed 0 +DIVERGED: training diverged in epoch 3 of 3: mean loss [0-9.]+ is above 1000 x ln\(2 classes\); likely --lr 1000" "$TMP/log"
check "erm's pairs finished (done.json)" test -s "$out/erm/seed0/done.json" -a -s "$out/erm/seed1/done.json"
check "erm's numbers in the table" grep -q -E "^erm +[0-9.]+ ± [0-9.]+ " "$TMP/log"
check "gdro diverged in the table" grep -q -E "^gdro +diverged \(seed 0 in epoch 3, seed 1 in epoch 3\): no accuracy$" "$TMP/log"
check "results.json: erm finished, gdro diverged" test "$(status "$out/results.json" erm)/$(status "$out/results.json" gdro)" = finished/diverged
check "schema of RUN_DIR" "$RUNCHECK" "$out"
cp "$out/results.json" "$TMP/first.json"

echo "== a rerun keeps the pairs diverged (no retraining, no numbers)"
"${mixed[@]}" >"$TMP/log" 2>"$TMP/err"
check "exit 1 again" test $? -eq 1
check "the same one-line error" one_line "$TMP/err" "training diverged for 2 \(method, seed\) pairs: gdro seed 0 in epoch 3"
check "erm reused" test "$(grep -c 'finished earlier (done.json): reused' "$TMP/log")" -eq 2
check "gdro kept as diverged, not trained again" test "$(grep -c 'DIVERGED: .*\[earlier: kept from diverged.json' "$TMP/log")" -eq 2
check "still no done.json for gdro" test ! -e "$out/gdro/seed0/done.json" -a ! -e "$out/gdro/seed1/done.json"
check "results.json the same (but the wall time)" diff <(no_wall "$TMP/first.json") <(no_wall "$out/results.json")

echo "== tune: stops, marks its checkpoint; resume and eval refuse it; a fresh tune clears it"
tune=("$BIN" tune --model "$MODEL" --features "$TMP/cache/features.npy" --labels "$TMP/nan/zeroshot/predictions.npy"
      --classnames landbird,waterbird --out "$TMP/t/ctx.npy" --n-ctx 4 --batch 2 --epochs 6)
mkdir -p "$TMP/t"
"${tune[@]}" --lr 1000 --weight-decay 10 >/dev/null 2>"$TMP/err"
check "tune exits 1" test $? -eq 1
check "one line: epoch, loss, likely flags, what the checkpoint holds" one_line "$TMP/err" \
  "training diverged in epoch ([0-9]+) of 6: the parameters are no longer finite \(loss nan\); likely --weight-decay 10 with --lr 1000 .*; .*/ctx.npy keeps epoch [0-9]+, the last finished one, marked diverged"
sed 's/^/       | /' "$TMP/err"
check "ctx.diverged.json" grep -q '"status": "diverged"' "$TMP/t/ctx.diverged.json"
"${tune[@]}" --resume "$TMP/t/ctx.npy" >/dev/null 2>"$TMP/err"
check "tune --resume refuses it" one_line "$TMP/err" "ctx.npy: its training diverged \(.*ctx.diverged.json: training diverged in epoch"
"$BIN" eval --cache "$TMP/cache" --model "$MODEL" --ctx "$TMP/t/ctx.npy" --out "$TMP/ev" >/dev/null 2>"$TMP/err"
check "eval refuses it" one_line "$TMP/err" "ctx.npy: its training diverged"
"${tune[@]}" >/dev/null 2>&1
check "a fresh tune with sane flags succeeds" test $? -eq 0
check "... and removes the mark" test ! -e "$TMP/t/ctx.diverged.json"
"$BIN" eval --cache "$TMP/cache" --model "$MODEL" --ctx "$TMP/t/ctx.npy" --out "$TMP/ev" >/dev/null 2>&1
check "... which eval then reads" test $? -eq 0
finish cli_diverge
