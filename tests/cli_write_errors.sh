#!/usr/bin/env bash
# Failures while writing say why, and cost nothing a rerun cannot take over: a full disk (a small
# tmpfs, where this machine lets us mount one) gives "write failed: No space left on device" for
# run, embed, zeroshot, pseudolabel, tune and toyworld; a full disk while embed writes index.csv
# keeps the checkpoint, so the rerun resumes and ends with the same cache; a path longer than the
# message keeps the reason; empty list values name their flag; after an interrupted run, the
# rerun's results.json counts the wall time of both invocations.
# usage: bash tests/cli_write_errors.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_write_errors.sh path/to/clipdebias}
. tests/check_lib.sh
MODEL=tests/fixtures/model/hf_f32
WB=tests/fixtures/datasets/waterbirds/wilds
FULL=$TMP/full
trap 'umount "$FULL" 2>/dev/null; rm -rf "$TMP"' EXIT

# one_line FILE PATTERN: FILE is one "clipdebias: " line matching PATTERN
one_line() { [ "$(grep -c '' "$1")" -eq 1 ] && grep -q -E "^clipdebias: .*($2)" "$1"; }
last_line() { tail -n 1 "$1" | grep -q -E "^clipdebias: .*($2)"; }

"$BIN" embed --dataset waterbirds --root $WB --skip-bad --model "$MODEL" --out "$TMP/cache" >/dev/null 2>&1
check "embed the fixture tree" test -s "$TMP/cache/features.npy"
"$BIN" zeroshot --cache "$TMP/cache" --model "$MODEL" --out "$TMP/zs" >/dev/null 2>&1

echo "== a full disk"
mkdir -p "$FULL"
if ! mount -t tmpfs -o size=8k tmpfs "$FULL" 2>/dev/null; then
  echo "  skip: cannot mount a tmpfs here (needs root); the disk-full cases are not run"
else
  fresh() { umount "$FULL" && mount -t tmpfs -o size="$1" tmpfs "$FULL"; }
  nospace="write failed: No space left on device"
  fresh 40k
  "$BIN" run --cache "$TMP/cache" --model "$MODEL" --out "$FULL/run" --epochs 3 --seeds 0,1 --methods zeroshot,erm,dpt >/dev/null 2>"$TMP/err"
  check "run: exit 1" test $? -eq 1
  check "run: the file and the reason" last_line "$TMP/err" "/run/.*: $nospace"
  sed 's/^/       | /' "$TMP/err"
  fresh 8k
  "$BIN" zeroshot --cache "$TMP/cache" --model "$MODEL" --out "$FULL/zs" >/dev/null 2>"$TMP/err"
  check "zeroshot: the file and the reason" one_line "$TMP/err" "/zs/(predictions|logits).npy: $nospace"
  fresh 4k
  "$BIN" pseudolabel --cache "$TMP/cache" --model "$MODEL" --out "$FULL/a.npy" >/dev/null 2>"$TMP/err"
  check "pseudolabel: the file and the reason" one_line "$TMP/err" "/a.npy: $nospace"
  fresh 8k
  "$BIN" tune --model "$MODEL" --features "$TMP/cache/features.npy" --labels "$TMP/zs/predictions.npy" \
    --classnames landbird,waterbird --out "$FULL/ctx.npy" --n-ctx 4 --epochs 2 >/dev/null 2>"$TMP/err"
  check "tune: the file and the reason" one_line "$TMP/err" "/ctx(.optim)?.(npy|json): $nospace"
  sed "s/^/       | /" "$TMP/err"
  fresh 8k
  "$BIN" toyworld --out "$FULL/tw" --scale 0.01 >/dev/null 2>"$TMP/err"
  check "toyworld: the file and the reason" last_line "$TMP/err" "/tw/.*: $nospace"

  # The smallest disk that holds the embedded rows and their checkpoint but not index.csv.
  found=""
  for kb in 8 12 16 20 24 28 32 36 40 48 56 64; do
    fresh ${kb}k
    "$BIN" embed --dataset waterbirds --root $WB --skip-bad --model "$MODEL" --out "$FULL/cache" >/dev/null 2>"$TMP/err"
    if last_line "$TMP/err" "/cache/index.csv: $nospace"; then found=$kb; break; fi
  done
  check "embed: a disk full at index.csv says so (${found:-no} kB)" test -n "$found"
  check "... and keeps the checkpoint" test -s "$FULL/cache/features.partial.json" -a -s "$FULL/cache/features.partial.npy"
  mount -o remount,size=1m "$FULL"
  "$BIN" embed --dataset waterbirds --root $WB --skip-bad --model "$MODEL" --out "$FULL/cache" >"$TMP/out" 2>"$TMP/err"
  check "the rerun with room resumes from it" grep -q "resuming .*/cache/features after 18 of 18 files" "$TMP/err"
  check "... and writes the same cache as a clean embed" cmp -s "$FULL/cache/features.npy" "$TMP/cache/features.npy"
  check "... index.csv too" cmp -s "$FULL/cache/index.csv" "$TMP/cache/index.csv"
  umount "$FULL"
fi

echo "== a path longer than the message keeps the reason"
deep=$TMP
seg=$(printf 'd%.0s' $(seq 200))
for i in $(seq 25); do deep=$deep/$seg; done
"$BIN" run --cache "$TMP/cache" --model "$MODEL" --out "$deep" --epochs 2 --seeds 0 >/dev/null 2>"$TMP/err"
check "run: one line, shortened in the middle, ending with the reason" one_line "$TMP/err" " \.\.\. .*: path too long$"
long=$(printf 'n%.0s' $(seq 300))
"$BIN" zeroshot --cache "$TMP/cache" --model "$MODEL" --out "$TMP/$long" >/dev/null 2>"$TMP/err"
check "zeroshot: a name above the file system's limit gives the system's reason" one_line "$TMP/err" "cannot create directory: File name too long$"
"$BIN" embed --dataset waterbirds --root $WB --model "$MODEL" --out "$deep" >/dev/null 2>"$TMP/err"
check "embed: the reason survives too" last_line "$TMP/err" " \.\.\. .*: path too long$"

echo "== empty list values name their flag"
run=("$BIN" run --cache "$TMP/cache" --model "$MODEL" --out "$TMP/r")
"${run[@]}" --seeds "" >/dev/null 2>"$TMP/err"
check '--seeds ""' one_line "$TMP/err" '--seeds "": an empty item'
"${run[@]}" --methods , >/dev/null 2>"$TMP/err"
check "--methods ," one_line "$TMP/err" '--methods ",": an empty item'
"${run[@]}" --classnames "" >/dev/null 2>"$TMP/err"
check '--classnames ""' one_line "$TMP/err" "--classnames: .*empty name at position 1"
"$BIN" embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/c2" --splits "" >/dev/null 2>"$TMP/err"
check '--splits ""' one_line "$TMP/err" "--splits: no split given"
"$BIN" embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/c2" --splits "train," >/dev/null 2>"$TMP/err"
check '--splits "train,"' one_line "$TMP/err" '--splits "train,": an empty item'
"$BIN" embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/c2" --splits "train,,val" >/dev/null 2>"$TMP/err"
check '--splits "train,,val"' one_line "$TMP/err" '--splits "train,,val": an empty item'
"$BIN" demo --out "$TMP/demo" --seeds , >/dev/null 2>"$TMP/err"
check "demo --seeds ," one_line "$TMP/err" '--seeds ",": an empty item'

echo "== the wall time after a resume counts every invocation"
out=$TMP/wall
cmd=("$BIN" run --cache "$TMP/cache" --model "$MODEL" --out "$out" --epochs 30 --seeds 0,1 --methods zeroshot,erm,dpt --batch 2)
"${cmd[@]}" >/dev/null 2>&1
wall() { sed -n 's/.*"wall_seconds": \([0-9.]*\).*/\1/p' "$1"; }
first=$(wall "$out/results.json")
check "first invocation: elapsed.json = results.json's wall time ($first s)" grep -q "{\"wall_seconds\": $first, \"invocations\": 1}" "$out/elapsed.json"
"${cmd[@]}" >/dev/null 2>&1
second=$(wall "$out/results.json")
check "the rerun's wall time $second s >= the first's $first s" awk -v a="$second" -v b="$first" 'BEGIN { exit !(a >= b && b > 0) }'
check "... over 2 invocations" grep -q '"invocations": 2}' "$out/elapsed.json"
rm -rf "$out"
"${cmd[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$out/elapsed.json" ] && break; sleep 0.05; done
sleep 0.3
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
killed=$(wall "$out/elapsed.json")
check "a run killed with -9 has its time so far in elapsed.json (${killed:-none} s)" test -n "$killed"
"${cmd[@]}" >/dev/null 2>&1
total=$(wall "$out/results.json")
check "the rerun after kill -9: results.json's $total s >= the killed invocation's ${killed:-?} s" \
  awk -v a="$total" -v b="${killed:-x}" 'BEGIN { exit !(b != "x" && a >= b) }'
check "... 2 invocations" grep -q '"invocations": 2}' "$out/elapsed.json"
finish cli_write_errors
