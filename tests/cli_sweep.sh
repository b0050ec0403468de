#!/usr/bin/env bash
# clipdebias sweep on the fixture model and the synthetic Waterbirds tree: the cells are run
# folders; the dims=full cell equals the plain run; sweep.csv has the named columns and a row
# per cell x method; a rerun runs nothing, a grown grid only the new cells; a cell that fails
# is recorded and the others finish (exit 1); a sweep killed with -9 midway (with its cells)
# and rerun gives what an uninterrupted sweep gives; cells trained in lockstep across cells
# (one process per group) write the files of the cell's run alone, bit for bit, and
# --lockstep off runs a process per cell; sweep.html is well-formed and offline;
# bad input is one "clipdebias:" line and exit 1, with nothing run.
# usage: bash tests/cli_sweep.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_sweep.sh path/to/clipdebias}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
PAGECHECK=$(dirname "$BIN")/tool_pagecheck
. tests/check_lib.sh
M=tests/fixtures/model/hf_f32

# sweep.csv without the wall_seconds and peak_rss_mb columns (they differ from run to run)
stable_csv() { awk -F, -v OFS=, 'NR==1{for(i=1;i<=NF;i++){if($i=="wall_seconds")w=i; if($i=="peak_rss_mb")r=i}} {$w="";$r="";print}' "$1"; }
same_but_wall() { diff <(grep -v wall_seconds "$1") <(grep -v wall_seconds "$2") >/dev/null; }

echo "== a feature cache of the Waterbirds fixture (8 training rows, 32 dimensions)"
"$BIN" embed --dataset waterbirds --root tests/fixtures/datasets/waterbirds/wilds --skip-bad --model $M --out "$TMP/cache" >/dev/null 2>&1
check "embed" test -s "$TMP/cache/features.npy"
C=$TMP/cache
common=(--caches "$C" --model $M --epochs 2 --seeds 0,1 --threads 2)

echo "== dims x eta, 2 jobs"
"$BIN" sweep "${common[@]}" --out "$TMP/s" --dims 4,full --eta 1,2 --jobs 2 >"$TMP/log" 2>&1
check "sweep exits 0" test $? -eq 0
for c in dims-4_eta-1 dims-4_eta-2 dims-full_eta-1 dims-full_eta-2; do
  for f in args.json results.json metrics.jsonl report.html cell.json run.log; do check "cells/$c/$f" test -s "$TMP/s/cells/$c/$f"; done
done
check "a reduced cell keeps its projection" test -s "$TMP/s/cells/dims-4_eta-1/projection.npy"
check "the full cell has none" test ! -e "$TMP/s/cells/dims-full_eta-1/projection.npy"
expect_fail "eval refuses a context trained behind a projection" "trained behind a 4-dimensional projection" \
  "$BIN" eval --cache "$C" --model $M --ctx "$TMP/s/cells/dims-4_eta-1/dpt/seed0/ctx_selected.npy" --out "$TMP/ev"
hdr="method,dims,reduce,cache,eta,avg_acc,adjusted_avg_acc,worst_group_acc,gap,avg_acc_std,adjusted_avg_acc_std,worst_group_acc_std,gap_std,val_worst_group_acc,val_worst_group_acc_pseudo,wall_seconds,peak_rss_mb,cell,status,error"
check "sweep.csv header" test "$(head -n 1 "$TMP/s/sweep.csv")" = "$hdr"
check "16 rows: 4 cells x 4 methods" test "$(tail -n +2 "$TMP/s/sweep.csv" | grep -c ',done,$')" -eq 16
check "dims column: 4 and full" test "$(cut -d, -f2 "$TMP/s/sweep.csv" | sort -u | tr '\n' ' ')" = "4 dims full "
check "sweep.json" grep -q '"best": {"zeroshot": {"val-pseudo": "dims-' "$TMP/s/sweep.json"
check "sweep.html well-formed, offline, links to the cells" "$PAGECHECK" xml-links "$TMP/s/sweep.html"
check "sweep.html links every cell's report" test "$(grep -o 'href="cells/[^"]*/report.html"' "$TMP/s/sweep.html" | sort -u | wc -l)" -eq 4
check "sweep.html draws the accuracy against dims" grep -q '<svg' "$TMP/s/sweep.html"
check "sweep.html has the heat map (two axes vary)" grep -q 'over the two swept axes' "$TMP/s/sweep.html"
# the numbers of a row are its cell's results.json
w=$(grep '^dpt,4,pca,cache,2,' "$TMP/s/sweep.csv" | cut -d, -f8)
check "the dpt dims-4 eta-2 row is its results.json" grep -q "\"worst_group_acc\": $w" "$TMP/s/cells/dims-4_eta-2/results.json"

echo "== the full cell is the plain run"
"$BIN" run --cache "$C" --model $M --out "$TMP/plain" --epochs 2 --seeds 0,1 --eta 2 --threads 1 >/dev/null 2>&1
check "plain run" test -s "$TMP/plain/results.json"
check "results.json of dims-full_eta-2 = the plain run's" same_but_wall "$TMP/plain/results.json" "$TMP/s/cells/dims-full_eta-2/results.json"
check "metrics.jsonl too" cmp -s "$TMP/plain/metrics.jsonl" "$TMP/s/cells/dims-full_eta-2/metrics.jsonl"

echo "== rerun, grown grid"
cp "$TMP/s/sweep.csv" "$TMP/first.csv"
"$BIN" sweep "${common[@]}" --out "$TMP/s" --dims 4,full --eta 1,2 --jobs 2 >"$TMP/log" 2>&1
check "rerun exits 0" test $? -eq 0
check "rerun runs nothing" grep -q "4 finished earlier, 0 to run" "$TMP/log"
check "rerun: same sweep.csv" cmp -s "$TMP/first.csv" "$TMP/s/sweep.csv"
echo '{"dims": [4, "full"], "eta": [1, 2]}' >"$TMP/grid.json"
"$BIN" sweep "${common[@]}" --out "$TMP/s" --grid "$TMP/grid.json" --jobs 2 >"$TMP/log" 2>&1
check "the same grid from a sweep file finds the same cells" grep -q "4 finished earlier, 0 to run" "$TMP/log"
"$BIN" sweep "${common[@]}" --out "$TMP/s" --dims 4,full --eta 1,2,3 --jobs 2 >"$TMP/log" 2>&1
check "grown grid runs only the 2 new cells" grep -q "6 cells, 4 finished earlier, 2 to run" "$TMP/log"
check "grown grid: 24 rows" test "$(grep -c ',done,$' "$TMP/s/sweep.csv")" -eq 24

echo "== a failing cell"
mkdir -p "$TMP/f/cells/dims-4_eta-1"
sed 's/"epochs": 2/"epochs": 7/' "$TMP/s/cells/dims-4_eta-1/args.json" >"$TMP/f/cells/dims-4_eta-1/args.json"
"$BIN" sweep "${common[@]}" --out "$TMP/f" --dims 4,full --eta 1,2 --jobs 2 >"$TMP/log" 2>"$TMP/err"
check "exit 1 when a cell failed" test $? -eq 1
check "the others finished" test "$(grep -c ',done,$' "$TMP/f/sweep.csv")" -eq 12
check "the failure and its one-line error are in sweep.csv" grep -q '^,4,pca,cache,1,.*,dims-4_eta-1,failed,.*another ""epochs""' "$TMP/f/sweep.csv"
check "... and in the closing message" grep -q "^clipdebias: sweep: 1 of 4 cells did not finish (first: dims-4_eta-1: " "$TMP/err"

echo "== killed midway (kill -9 the sweep and its group processes inside training), then rerun"
long=(--caches "$C" --model $M --epochs 12 --seeds 0,1 --threads 2 --dims 4,8,full --eta 1,2 --jobs 2)
"$BIN" sweep "${long[@]}" --out "$TMP/whole" >/dev/null 2>&1
setsid "$BIN" sweep "${long[@]}" --out "$TMP/k" >/dev/null 2>&1 &
pid=$!
# inside training: some pair has saved the state of a finished epoch
for _ in $(seq 1 600); do
  ls "$TMP"/k/cells/*/*/seed*/state/state.json >/dev/null 2>&1 && break
  sleep 0.05
done
expect_fail "a second sweep into the same folder is refused" "clipdebias sweep \(pid [0-9]+ .*\) is writing this folder" "$BIN" sweep "${long[@]}" --out "$TMP/k"
kill -9 -- -"$pid" 2>/dev/null
wait "$pid" 2>/dev/null
ndone=$(grep -l '"status": "done"' "$TMP"/k/cells/*/cell.json 2>/dev/null | wc -l)
nstate=$(ls "$TMP"/k/cells/*/*/seed*/state/state.json "$TMP"/k/cells/*/*/seed*/done.json 2>/dev/null | wc -l)
echo "  killed with $ndone of 6 cells done, $nstate pairs with a finished epoch or done"
check "killed midway" test "$ndone" -lt 6 -a "$nstate" -ge 1
"$BIN" sweep "${long[@]}" --out "$TMP/k" >"$TMP/log" 2>&1
check "the rerun completes" test $? -eq 0
check "the rerun's pairs continue from their saved epochs" grep -q "resumed after epoch\|finished earlier (done.json): reused" "$TMP"/k/cells/*/run.log
check "sweep.csv (without time and memory) = the uninterrupted sweep's" diff <(stable_csv "$TMP/whole/sweep.csv") <(stable_csv "$TMP/k/sweep.csv")
for c in dims-4_eta-1 dims-8_eta-2 dims-full_eta-1; do
  check "$c: results.json = the uninterrupted sweep's" same_but_wall "$TMP/whole/cells/$c/results.json" "$TMP/k/cells/$c/results.json"
done

echo "== lockstep across cells: every cell's files = the cell's run alone, bit for bit"
# dims and eta share a pass (the projection and the weights come after the tower), n-ctx does
# not (another prompt layout): two group processes of 4 cells
grid=(--caches "$C" --model $M --epochs 2 --seeds 0,1 --threads 2 --dims 4,full --eta 1,2 --n-ctx 2,3)
"$BIN" sweep "${grid[@]}" --out "$TMP/g" >"$TMP/log" 2>&1
check "sweep exits 0" test $? -eq 0
check "2 group processes" grep -q "lockstep across cells: 2 processes" "$TMP/log"
check "groups.log names them" test "$(grep -c '^group of 4 cells' "$TMP/g/groups.log")" -eq 2
check "the n-ctx 2 cells are one group" grep -q "^group of 4 cells (pid [0-9]*): dims-4_eta-1_n-ctx-2 dims-4_eta-2_n-ctx-2 dims-full_eta-1_n-ctx-2 dims-full_eta-2_n-ctx-2$" "$TMP/g/groups.log"
check "a cell's run.log: its 6 pairs stepped with the group's 24" grep -q "^24 (method, seed) pairs of 4 runs trained in lockstep, 6 of them this run's$" "$TMP/g/cells/dims-4_eta-2_n-ctx-3/run.log"
check "cell.json: an equal share of the group's wall time" grep -q '"group_cells": 4, "group_wall_seconds"' "$TMP/g/cells/dims-full_eta-1_n-ctx-2/cell.json"
for c in $(ls "$TMP/g/cells"); do
  # the cell's own command line, from its cell.json, into another folder
  mapfile -t cmd < <(sed -n 's/.*"command": \[\(.*\)\]}/\1/p' "$TMP/g/cells/$c/cell.json" | tr -d '"' | sed 's/, /\n/g')
  for k in "${!cmd[@]}"; do [ "${cmd[$k]}" = "--out" ] && cmd[$((k + 1))]=$TMP/alone/$c; done
  "$BIN" "${cmd[@]:1}" >/dev/null 2>&1
  n=0 same=yes
  for f in $(cd "$TMP/alone/$c" && ls metrics.jsonl *.npy */*.npy */seed*/metrics.jsonl */seed*/*.npy); do
    n=$((n + 1))
    cmp -s "$TMP/alone/$c/$f" "$TMP/g/cells/$c/$f" || same="NO ($f)"
  done
  check "$c: $n files (every pair's metrics.jsonl and .npy) = run alone: $same" test "$same" = yes -a "$n" -ge 30
done
"$BIN" sweep "${grid[@]}" --out "$TMP/g1" --lockstep off --jobs 2 >"$TMP/log" 2>&1
check "--lockstep off: one process per cell" test ! -e "$TMP/g1/groups.log" -a "$(grep -c 'done in' "$TMP/log")" -eq 8
check "... with no lockstep" test "$(grep -l 'trained in lockstep' "$TMP"/g1/cells/*/run.log | wc -l)" -eq 0
check "... and the same numbers" diff <(stable_csv "$TMP/g/sweep.csv") <(stable_csv "$TMP/g1/sweep.csv")

echo "== bad input: one line, nothing run"
echo '{"dims": [4], "colour": [1, 2]}' >"$TMP/g1.json"
echo '{"eta": []}' >"$TMP/g2.json"
b=(--caches "$C" --model $M --out "$TMP/bad")
expect_fail "unknown axis in a sweep file" "g1.json: unknown axis 'colour'" "$BIN" sweep "${b[@]}" --grid "$TMP/g1.json"
expect_fail "empty axis in a sweep file" "axis 'eta' has no values \(an empty grid\)" "$BIN" sweep "${b[@]}" --grid "$TMP/g2.json"
expect_fail "empty --dims" "--dims: an empty list" "$BIN" sweep "${b[@]}" --dims ""
expect_fail "unknown --reduce value" "unknown 'bogus'" "$BIN" sweep "${b[@]}" --dims 4 --reduce pca,bogus
expect_fail "--dims not a number" "'abc' is not an integer or 'full'" "$BIN" sweep "${b[@]}" --dims 4,abc
expect_fail "k < 2" "--dims 1: an embedding needs at least 2 dimensions" "$BIN" sweep "${b[@]}" --dims 1,4
expect_fail "k > D" "--dims 40 is larger than the features' 32 dimensions" "$BIN" sweep "${b[@]}" --dims 4,40
expect_fail "k > training rows (pca)" "pca cannot find more directions than the 8 training rows" "$BIN" sweep "${b[@]}" --dims 16
expect_fail "unknown run option" "unknown option '--bogus'" "$BIN" sweep "${b[@]}" --dims 4 --bogus 1
cp -r "$C" "$TMP/other"
awk -F, -v OFS=, 'NR==2{$3=1-$3} {print}' "$C/index.csv" >"$TMP/other/index.csv"
# (as a cache from before index checksums: the edit would be refused by the checksum otherwise)
sed -i '/"index_checksum"/d; s/"records_checksum": "[^"]*"/"records_checksum": null/' "$TMP/other/cache.json"
expect_fail "caches of different data sets" "hold different data sets" "$BIN" sweep --caches "$C,$TMP/other" --model $M --out "$TMP/bad" --dims 4
expect_fail "two models for three caches" "2 models for 3 caches" "$BIN" sweep --caches "$C,$C,$C" --model $M,$M --out "$TMP/bad"
expect_fail "Slurm commands missing" "Slurm commands \(sbatch, squeue\) are not on PATH" env PATH=/nonexistent "$BIN" sweep "${b[@]}" --dims 4 --slurm
check "nothing was run for bad input" test ! -e "$TMP/bad/cells"

finish cli_sweep
