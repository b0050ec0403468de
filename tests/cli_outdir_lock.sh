#!/usr/bin/env bash
# One writer per output folder, with real processes: two runs started into one RUN_DIR (exactly
# one proceeds, the other exits 1 at once naming the folder and the holder's pid), two embeds
# into one cache, a reader of a cache being written refused, kill -9 of the holder leaving no
# stale lock (the rerun resumes and ends with the same files as an uninterrupted run), and
# eval / zeroshot / pseudolabel / merge taking the lock of their output.
# usage: bash tests/cli_outdir_lock.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_outdir_lock.sh path/to/clipdebias}
MODEL=tests/fixtures/model/hf_f32
WB=tests/fixtures/datasets/waterbirds/wilds
. tests/check_lib.sh

has() { grep -qE -- "$1" "$2"; }
lines() { grep -c '' "$1"; }
# wait_holder DIR: until DIR/.clipdebias.lock names a holder (at most 30 s)
wait_holder() { local n=0; until grep -q '^pid ' "$1/.clipdebias.lock" 2>/dev/null || [ $n -ge 3000 ]; do sleep 0.01; n=$((n + 1)); done; }

"$BIN" embed --dataset waterbirds --root $WB --skip-bad --model $MODEL --out "$TMP/cache" >/dev/null 2>&1
check "a cache to work on" test -s "$TMP/cache/cache.json"
check "the cache's lock is released (empty lock file)" test ! -s "$TMP/cache/.clipdebias.lock"

# 1. two runs into one folder: the second exits 1 at once, naming the folder and pid
LONG=(--cache "$TMP/cache" --model $MODEL --epochs 10 --batch 2 --seeds 0 --methods zeroshot,erm)
"$BIN" run "${LONG[@]}" --out "$TMP/run" >"$TMP/a.log" 2>&1 &
A=$!
wait_holder "$TMP/run"
# stopped while it holds the lock (a stopped process keeps its flock), so the checks below
# meet a writer that is still there however fast it trains; resumed before it is waited for
kill -STOP $A
start=$(date +%s%3N)
"$BIN" run "${LONG[@]}" --lr 0.01 --out "$TMP/run" >"$TMP/b.out" 2>"$TMP/b.err"
brc=$?
took=$(($(date +%s%3N) - start))
check "second run: exit 1" test $brc -eq 1
check "second run: one line naming the folder and the holder's pid" \
  bash -c "[ $(lines "$TMP/b.err") -eq 1 ] && grep -q \"^clipdebias: $TMP/run: clipdebias run (pid $A on host \" '$TMP/b.err'"
check "second run: refused at once (${took} ms)" test $took -lt 2000
check "second run: wrote nothing (args.json is the first run's)" bash -c "! grep -q '\"lr\": 0.01' '$TMP/run/args.json' 2>/dev/null"
# a reader of the folder being written is refused the same way: eval's --cache in a run folder
# is another folder, so read the cache while an embed holds it (below); here: a stage command
# writing into the run folder
"$BIN" zeroshot --cache "$TMP/cache" --model $MODEL --out "$TMP/run" >/dev/null 2>"$TMP/z.err"
check "zeroshot into a folder a run writes: exit 1" test $? -eq 1
check "zeroshot: names the holder" has "^clipdebias: $TMP/run: clipdebias run \(pid $A " "$TMP/z.err"
"$BIN" pseudolabel --cache "$TMP/cache" --model $MODEL --out "$TMP/run/a.npy" >/dev/null 2>"$TMP/p.err"
check "pseudolabel into that folder: refused" has "^clipdebias: $TMP/run: clipdebias run \(pid $A " "$TMP/p.err"
kill -CONT $A
wait $A
check "the first run finishes (exit 0)" test $? -eq 0
check "first run's settings in args.json" bash -c "! grep -q '\"lr\": 0.01' '$TMP/run/args.json'"

# 2. kill -9 of the holder: no stale lock; the rerun resumes, same files as uninterrupted
ARGS=(--cache "$TMP/cache" --model $MODEL --epochs 12 --batch 2 --seeds 0 --methods zeroshot,erm,dpt)
"$BIN" run "${ARGS[@]}" --out "$TMP/whole" >/dev/null 2>&1
"$BIN" run "${ARGS[@]}" --out "$TMP/cut" >/dev/null 2>&1 &
A=$!
n=0
until ls "$TMP"/cut/*/seed0/state/state.json >/dev/null 2>&1 || [ $n -ge 3000 ]; do sleep 0.01; n=$((n + 1)); done
kill -9 $A
wait $A 2>/dev/null
check "killed while holding the lock (its pid left in the lock file)" grep -q "^pid $A " "$TMP/cut/.clipdebias.lock"
# what a writer killed mid-write leaves: NAME.tmp.PID files of a dead pid (here and in a pair's
# folder); a nested folder with a lock of its own (a sweep cell) has its own writer: kept
DEAD=$(sh -c 'echo $$')
mkdir -p "$TMP/cut/erm/seed0" "$TMP/cut/nested"
touch "$TMP/cut/results.json.tmp.$DEAD" "$TMP/cut/erm/seed0/ctx_last.npy.tmp.$DEAD" \
  "$TMP/cut/nested/.clipdebias.lock" "$TMP/cut/nested/x.npy.tmp.$DEAD" "$TMP/cut/notes.tmp.txt"
"$BIN" run "${ARGS[@]}" --out "$TMP/cut" >"$TMP/log" 2>&1
check "the rerun takes the lock and finishes" test $? -eq 0
check "the new holder removed the dead writer's temporary files" \
  test ! -e "$TMP/cut/results.json.tmp.$DEAD" -a ! -e "$TMP/cut/erm/seed0/ctx_last.npy.tmp.$DEAD"
check "... not inside a folder locked on its own, nor other names" \
  test -e "$TMP/cut/nested/x.npy.tmp.$DEAD" -a -e "$TMP/cut/notes.tmp.txt"
rm -rf "$TMP/cut/nested" "$TMP/cut/notes.tmp.txt"
check "the rerun resumed the killed pair" grep -q "resumed after epoch" "$TMP/log"
for f in metrics.jsonl erm/seed0/predictions.npy dpt/seed0/ctx_selected.npy dpt/seed0/predictions.npy; do
  check "after kill -9 + rerun: $f identical (cmp)" cmp -s "$TMP/whole/$f" "$TMP/cut/$f"
done
check "after kill -9 + rerun: results.json identical but the wall time" \
  bash -c "diff <(grep -v wall_seconds '$TMP/whole/results.json') <(grep -v wall_seconds '$TMP/cut/results.json') >/dev/null"

# 3. two embeds into one cache folder, different models: exactly one proceeds, and the cache
# is exactly the winner's (the same bytes as that model embedding alone)
OC=tests/fixtures/model/openclip_f32
"$BIN" embed --dataset waterbirds --root $WB --skip-bad --model $MODEL --out "$TMP/solo_hf" >/dev/null 2>&1
"$BIN" embed --dataset waterbirds --root $WB --skip-bad --model $OC --out "$TMP/solo_oc" >/dev/null 2>&1
for k in 1 2 3; do
  "$BIN" embed --dataset waterbirds --root $WB --skip-bad --model $MODEL --batch 1 --out "$TMP/race$k" >"$TMP/e$k.out" 2>&1 &
  P1=$!
  "$BIN" embed --dataset waterbirds --root $WB --skip-bad --model $OC --batch 1 --out "$TMP/race$k" >"$TMP/f$k.out" 2>&1 &
  P2=$!
  wait $P1; r1=$?
  wait $P2; r2=$?
  check "race $k: exactly one embed succeeds (exits $r1 and $r2)" test $((r1 + r2)) -eq 1
  check "race $k: the loser says why (the holder, or the other model's finished cache)" bash -c "grep -qhE \
    'is writing this folder; wait for it to end|was made with another model' '$TMP/e$k.out' '$TMP/f$k.out'"
  check "race $k: no work file left in the cache" test -z "$(ls "$TMP/race$k" | grep partial)"
  solo=$TMP/solo_hf
  grep -q openclip "$TMP/race$k/cache.json" && solo=$TMP/solo_oc
  check "race $k: features.npy = the winner's model alone (cmp)" cmp -s "$TMP/race$k/features.npy" "$solo/features.npy"
  check "race $k: index.csv = the winner's alone" cmp -s "$TMP/race$k/index.csv" "$solo/index.csv"
done

# 4. a reader of a cache being written is refused (the lock held by a stand-in writer)
mkdir -p "$TMP/busy"
cp "$TMP/cache"/* "$TMP/busy/"
( exec 9>"$TMP/busy/.clipdebias.lock"; flock 9; echo "pid $BASHPID host $(hostname) command embed since now" >&9; exec sleep 5 ) &
H=$!
wait_holder "$TMP/busy"
"$BIN" zeroshot --cache "$TMP/busy" --model $MODEL --out "$TMP/zsb" >/dev/null 2>"$TMP/r.err"
check "reading a cache being written: exit 1" test $? -eq 1
check "reading a cache being written: says who writes it" has "^clipdebias: $TMP/busy: is being written by clipdebias embed \(pid $H on host " "$TMP/r.err"
"$BIN" merge --out "$TMP/busy" "$TMP/cache" >/dev/null 2>"$TMP/m.err"
check "merge into a folder being written: refused" has "$TMP/busy: " "$TMP/m.err"
kill $H 2>/dev/null
wait $H 2>/dev/null
"$BIN" zeroshot --cache "$TMP/busy" --model $MODEL --out "$TMP/zsb" >/dev/null 2>&1
check "once the writer is gone: the cache reads" test $? -eq 0

finish cli_outdir_lock
