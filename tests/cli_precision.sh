#!/usr/bin/env bash
# --precision bf16 on tune, run and sweep (the tuned text tower's weights as bfloat16 rows):
# recorded in args.json, results.json and every ctx sidecar; lockstep on/off and 1 vs 2
# threads bit for bit in bf16 too; a RUN_DIR or a tune checkpoint is never resumed at the other
# precision (either way round); the sweep's precision axis adds its column; bad values refused
# with one "clipdebias:" line. On the committed fixture model.
# usage: bash tests/cli_precision.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_precision.sh path/to/clipdebias}
. tests/check_lib.sh
WB=tests/fixtures/datasets/waterbirds/wilds
model=tests/fixtures/model/hf_f32
same() { cmp -s "$1" "$2"; }

echo "== run --precision bf16"
out=$TMP/b16
common=(--model "$model" --epochs 2 --seeds 0,1 --methods zeroshot,erm,dpt --select last)
"$BIN" run --dataset waterbirds --root $WB --skip-bad --out "$out" "${common[@]}" --precision bf16 >"$TMP/log" 2>"$TMP/err"
check "bf16 run exits 0" test $? -eq 0
check "the log says what bf16 does" grep -q "weights rounded once to bfloat16" "$TMP/log"
check "args.json training records bf16" grep -q '"precision": "bf16"' "$out/args.json"
check "results.json records bf16" grep -q '"precision": "bf16"' "$out/results.json"
check "the pair's ctx sidecar records bf16" grep -q '"precision": "bf16"' "$out/dpt/seed1/ctx_last.json"
c=$out/cache
"$BIN" run --cache "$c" --out "$TMP/b16-off" "${common[@]}" --precision bf16 --lockstep off >/dev/null 2>&1
"$BIN" run --cache "$c" --out "$TMP/b16-t1" "${common[@]}" --precision bf16 --threads 1 >/dev/null 2>&1
ok_off=1 ok_t1=1
for f in metrics.jsonl $(cd "$out" && ls */seed*/{metrics.jsonl,*.npy}); do
  same "$out/$f" "$TMP/b16-off/$f" || { ok_off=0; echo "       | lockstep off: $f differs"; }
  same "$out/$f" "$TMP/b16-t1/$f" || { ok_t1=0; echo "       | 1 thread: $f differs"; }
done
check "bf16: lockstep = one by one, bit for bit" test $ok_off -eq 1
check "bf16: 1 thread = 2 threads, bit for bit" test $ok_t1 -eq 1
"$BIN" run --cache "$c" --out "$TMP/f32" "${common[@]}" >/dev/null 2>&1
check "an fp32 run records no precision (its files as before)" test "$(grep -c precision "$TMP/f32/args.json" "$TMP/f32/results.json" | grep -c ':0')" -eq 2
check "bf16 and fp32 contexts differ (the bf16 path ran)" bash -c "! cmp -s '$out/dpt/seed0/ctx_last.npy' '$TMP/f32/dpt/seed0/ctx_last.npy'"

echo "== never resumed at another precision"
expect_fail "bf16 RUN_DIR rerun as fp32" "trained with --precision bf16, this one asks for fp32" \
  "$BIN" run --cache "$c" --out "$out" "${common[@]}"
expect_fail "fp32 RUN_DIR rerun as bf16" "trained with --precision fp32, this one asks for bf16" \
  "$BIN" run --cache "$c" --out "$TMP/f32" "${common[@]}" --precision bf16
"$BIN" run --cache "$c" --out "$out" "${common[@]}" --precision bf16 >/dev/null 2>&1
check "bf16 RUN_DIR rerun as bf16 is fine" test $? -eq 0
tune=(--model "$model" --features "$c/features.npy" --labels "$out/zeroshot/predictions.npy" --classnames landbird,waterbird --batch 4)
"$BIN" tune "${tune[@]}" --epochs 2 --out "$TMP/t.npy" --precision bf16 >/dev/null 2>&1
check "tune --precision bf16 writes its sidecar with bf16" grep -q '"precision": "bf16"' "$TMP/t.json"
expect_fail "tune --resume of a bf16 checkpoint as fp32" "trained with --precision bf16, this run asks for fp32" \
  "$BIN" tune "${tune[@]}" --resume "$TMP/t.npy" --epochs 3 --out "$TMP/t.npy"
"$BIN" tune "${tune[@]}" --resume "$TMP/t.npy" --epochs 3 --out "$TMP/t.npy" --precision bf16 >/dev/null 2>&1
check "tune --resume at bf16 continues" grep -q '"epoch": 3' "$TMP/t.json"

echo "== sweep"
"$BIN" sweep --caches "$c" --model "$model" --out "$TMP/sw" --precision fp32,bf16 --epochs 2 --seeds 0 --methods erm \
  --select last >/dev/null 2>&1
check "sweep --precision fp32,bf16 exits 0" test $? -eq 0
check "sweep.csv has the precision column after the cache" grep -q '^method,dims,reduce,cache,precision,avg_acc' "$TMP/sw/sweep.csv"
check "... with a bf16 row" grep -q '^erm,full,,cache,bf16,' "$TMP/sw/sweep.csv"
"$BIN" run --cache "$c" --out "$TMP/b16-1s" --model "$model" --epochs 2 --seeds 0 --methods erm --select last \
  --precision bf16 >/dev/null 2>&1
check "the bf16 cell = a plain bf16 run (erm seed 0 context)" \
  same "$TMP/sw/cells/dims-full_precision-bf16/erm/seed0/ctx_last.npy" "$TMP/b16-1s/erm/seed0/ctx_last.npy"

echo "== bad values"
expect_fail "run --precision fp16" "--precision must be fp32 or bf16 \(got 'fp16'\)" \
  "$BIN" run --cache "$c" --out "$TMP/x" "${common[@]}" --precision fp16
expect_fail "tune --precision bf16x3" "--precision must be fp32 or bf16 \(got 'bf16x3'\)" \
  "$BIN" tune "${tune[@]}" --epochs 2 --out "$TMP/x.npy" --precision bf16x3
expect_fail "tune --precision fp8" "--precision fp8: unknown" \
  "$BIN" tune "${tune[@]}" --epochs 2 --out "$TMP/x.npy" --precision fp8
expect_fail "sweep --precision fp32,fp8" "--precision: unknown 'fp8'" \
  "$BIN" sweep --caches "$c" --model "$model" --out "$TMP/sw2" --precision fp32,fp8
finish cli_precision
