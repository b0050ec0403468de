#!/usr/bin/env bash
# Flags without a sensible meaning are refused up front by every command that takes them (run,
# tune, demo, zeroshot, pseudolabel, eval, embed, embed-image): exit 1, one "clipdebias:" line
# naming the flag, and nothing written. A sane setting next to each passes the same check.
# usage: bash tests/cli_flags.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_flags.sh path/to/clipdebias}
. tests/check_lib.sh
MODEL=tests/fixtures/model/hf_f32
WB=tests/fixtures/datasets/waterbirds/wilds

echo "== a small cache to run on"
"$BIN" embed --dataset waterbirds --root $WB --skip-bad --model "$MODEL" --out "$TMP/cache" >/dev/null 2>&1
check "embed the fixture tree" test -s "$TMP/cache/features.npy"
run=("$BIN" run --cache "$TMP/cache" --model "$MODEL" --out "$TMP/run" --epochs 2 --seeds 0 --methods zeroshot,erm)

echo "== run: training flags"
expect_fail "momentum 1.5" "--momentum 1.5: momentum must be in \[0, 1\)" "${run[@]}" --momentum 1.5
expect_fail "momentum 1" "--momentum 1: momentum must be in \[0, 1\)" "${run[@]}" --momentum 1
expect_fail "momentum < 0" "--momentum -0.1: .*negative" "${run[@]}" --momentum -0.1
expect_fail "lr 0" "--lr 0: the learning rate must be .* above 0" "${run[@]}" --lr 0
expect_fail "lr < 0" "--lr -1: " "${run[@]}" --lr -1
expect_fail "lr inf" "--lr inf is above" "${run[@]}" --lr inf
expect_fail "weight decay < 0" "--weight-decay -1: " "${run[@]}" --weight-decay -1
expect_fail "warmup-lr < 0" "--warmup-lr -1: " "${run[@]}" --warmup-lr -1
expect_fail "epochs 0" "--epochs 0: at least 1" "${run[@]}" --epochs 0
expect_fail "warm-up = epochs" "--warmup-epochs 2 with --epochs 2: every epoch would be a warm-up" "${run[@]}" --warmup-epochs 2
expect_fail "warm-up > epochs" "--warmup-epochs 5 with --epochs 2" "${run[@]}" --warmup-epochs 5
expect_fail "warm-up < 0" "--warmup-epochs -1: must be >= 0" "${run[@]}" --warmup-epochs -1
expect_fail "batch 0" "--batch expects an integer in \[1, " "${run[@]}" --batch 0
expect_fail "eta < 0" "--eta -1: " "${run[@]}" --eta -1
expect_fail "ema 1" "--ema 1: the smoothing factor must be in \[0, 1\)" "${run[@]}" --ema 1
expect_fail "ema < 0" "--ema -0.5: " "${run[@]}" --ema -0.5
expect_fail "gdro-eta < 0" "--gdro-eta -1: " "${run[@]}" --gdro-eta -1
expect_fail "gdro-adj < 0" "--gdro-adj -1: " "${run[@]}" --gdro-adj -1
echo "== run: lists, prompts, threads, context length"
expect_fail "seeds empty" '--seeds "": an empty item' "${run[@]}" --seeds ""
expect_fail "seeds with a hole" '--seeds "0,,1": an empty item' "${run[@]}" --seeds 0,,1
expect_fail "methods ," '--methods ",": an empty item' "${run[@]}" --methods ,
expect_fail "identical attribute prompts" '--attr-prompt "a bird" is given twice \(numbers 1 and 2\)' \
  "${run[@]}" --attr-prompt "a bird" --attr-prompt "a bird"
expect_fail "empty attribute prompt" "--attr-prompt number 2 is empty" "${run[@]}" --attr-prompt "on land" --attr-prompt " "
expect_fail "threads above the pool" "--threads 1000: at most 256; the kernels' thread pool runs at most 256 threads" \
  "${run[@]}" --threads 1000
expect_fail "threads 0" "--threads 0: at least 1 thread" "${run[@]}" --threads 0
expect_fail "n-ctx too long" "--n-ctx 74 does not fit the 77-token text context with class 'landbird': start 1 \+ context 74 \+ name 4 \+ '.' 1 \+ end 1 = 81 tokens; use at most --n-ctx 70" \
  "${run[@]}" --n-ctx 74
expect_fail "n-ctx with a long class name" "--n-ctx 60 does not fit .* with class 'a b c d e f g h i j k l m n o p q'.* name 17 .* = 80 tokens; use at most --n-ctx 57" \
  "${run[@]}" --n-ctx 60 --classnames "landbird,a b c d e f g h i j k l m n o p q"
check "nothing was written for a refused flag" test ! -e "$TMP/run/args.json"
"${run[@]}" --n-ctx 70 --momentum 0 --ema 0 --warmup-epochs 1 --threads 2 >/dev/null 2>&1
check "the largest --n-ctx that fits, momentum 0, ema 0, one warm-up epoch of two: runs" test -s "$TMP/run/results.json"

echo "== the other commands share the checks"
tune=("$BIN" tune --model "$MODEL" --features "$TMP/cache/features.npy" --labels tests/fixtures/coop/labels2.npy
      --classnames landbird,waterbird --out "$TMP/ctx.npy")
expect_fail "tune: momentum 1.5" "--momentum 1.5: momentum must be in \[0, 1\)" "${tune[@]}" --momentum 1.5
expect_fail "tune: warm-up = epochs" "--warmup-epochs 3 with --epochs 3" "${tune[@]}" --epochs 3 --warmup-epochs 3
expect_fail "tune: ema 1" "--ema 1: " "${tune[@]}" --ema 1
expect_fail "tune: threads" "--threads 5000: at most 256" "${tune[@]}" --threads 5000
check "tune wrote nothing" test ! -e "$TMP/ctx.npy"
expect_fail "demo: seeds empty" '--seeds "": an empty item' "$BIN" demo --out "$TMP/demo" --seeds ""
expect_fail "demo: epochs 1 (the first is a warm-up)" "--epochs expects an integer in \[2, " "$BIN" demo --out "$TMP/demo" --epochs 1
expect_fail "demo: threads" "--threads 257: at most 256" "$BIN" demo --out "$TMP/demo" --threads 257
check "demo drew nothing" test ! -e "$TMP/demo"
expect_fail "zeroshot: threads" "--threads 300: at most 256" "$BIN" zeroshot --cache "$TMP/cache" --model "$MODEL" --out "$TMP/zs" --threads 300
expect_fail "pseudolabel: identical prompts" '--attr-prompt "x" is given twice' \
  "$BIN" pseudolabel --cache "$TMP/cache" --model "$MODEL" --out "$TMP/a.npy" --attr-prompt x --attr-prompt x
expect_fail "eval: threads 0" "--threads 0: at least 1" "$BIN" eval --cache "$TMP/cache" --model "$MODEL" --ctx "$TMP/x.npy" --out "$TMP/ev" --threads 0
expect_fail "embed: checkpoint-every < 0" "--checkpoint-every -1: seconds between progress checkpoints must be >= 0" \
  "$BIN" embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/c2" --checkpoint-every -1
expect_fail "embed-image: checkpoint-every < 0" "--checkpoint-every -5: " \
  "$BIN" embed-image --model "$MODEL" --images "$WB/waterbirds_v1.0/001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.jpg" \
  --out "$TMP/e.npy" --checkpoint-every -5
check "embed wrote nothing" test ! -e "$TMP/c2"
finish cli_flags
