#!/usr/bin/env bash
# The sharded embed and a sweep on a real Slurm (tests/slurm_cluster.sh: munged, slurmctld and
# a one-node slurmd on localhost, started here and stopped by pid at exit):
#   - tools/slurm/embed_array.sh runs a 4-task array job (`embed --shard i/4`) and the dependent
#     merge job; the merged cache equals one unsharded `embed`, byte for byte;
#   - a task cancelled by the scheduler: one line naming the shard and its state, exit 1, no
#     merge; the same command again reuses the finished shards untouched and completes the cache;
#   - `sweep --slurm --wait` (an array job of the cells + the collect job) on a toy world gives
#     the local sweep's sweep.csv (but for wall_seconds and peak_rss_mb); a cancelled cell task
#     is one line and exit 1, and the rerun submits that cell alone and ends equal too.
# Installs Slurm with apt when missing (root only); skipped (77) when it cannot be installed,
# and under an emulator (the scripts are the same on every architecture).
set -u
BIN=${1:?usage: cli_slurm.sh path/to/clipdebias}
case $BIN in */emulated/*) echo "skip: Slurm test not run under an emulator"; exit 77 ;; esac
MODEL=tests/fixtures/model/hf_f32
WB=tests/fixtures/datasets/waterbirds/grpdro
TOYCLIP=models/toyclip
ARRAY=tools/slurm/embed_array.sh
. tests/check_lib.sh
. tests/slurm_cluster.sh
slurm_install || { echo "skip: $SLURM_WHY"; exit 77; }
trap 'slurm_stop >/dev/null 2>&1; rm -rf "$TMP"' EXIT
chmod 755 "$TMP"   # munged runs as the munge user and must reach its folder inside
if ! slurm_start "$TMP/cluster"; then
  echo "  FAIL the test cluster did not start: $SLURM_WHY"
  tail -n 3 "$TMP"/cluster/log/* 2>/dev/null
  exit 1
fi
EMBED=(--dataset waterbirds --root "$WB" --model "$MODEL" --skip-bad --batch 4)
t_test=$(slurm_now)

"$BIN" embed "${EMBED[@]}" --out "$TMP/one" > "$TMP/one.log" 2>&1
check "unsharded embed: exit 0" test $? -eq 0

# 1. four shards as an array job + the merge job, waited for
t0=$(slurm_now)
bash $ARRAY --shards 4 --out "$TMP/sl" --clipdebias "$BIN" --wait -- "${EMBED[@]}" > "$TMP/sl.log" 2>&1
rc=$?
SLURM_TIMES+="array+merge $(slurm_since "$t0")"$'\n'
check "array job + merge: exit 0" test $rc -eq 0
check "array job + merge: says merged" grep -q "embed_array: $TMP/sl merged from 4 shards" "$TMP/sl.log"
check "4 shard caches written" test -f "$TMP/sl.shard3/cache.json" -a -f "$TMP/sl.shard0/cache.json"
for f in features.npy index.csv; do
  check "merged $f == unsharded $f (cmp)" cmp "$TMP/sl/$f" "$TMP/one/$f"
done
check "merged cache.json: complete, whole set" bash -c "grep -q '\"complete\": true' '$TMP/sl/cache.json' && ! grep -q '\"shard\"' '$TMP/sl/cache.json'"
[ $rc -eq 0 ] || sed 's/^/     | /' "$TMP/sl.log"

# 2. bad input before anything is submitted
bash $ARRAY --shards 0 --out "$TMP/x" -- "${EMBED[@]}" > "$TMP/bad.log" 2>&1
check "--shards 0: refused (exit 2) in one line" bash -c "[ $? -eq 2 ] && [ \$(wc -l < '$TMP/bad.log') -eq 1 ] && grep -q 'shards N must be a positive integer' '$TMP/bad.log'"
mkdir "$TMP/empty"; PATH=$TMP/empty /bin/bash $ARRAY --shards 2 --out "$TMP/x" --clipdebias "$BIN" -- "${EMBED[@]}" > "$TMP/bad.log" 2>&1
check "no Slurm client on PATH: refused, named" bash -c "[ $? -eq 2 ] && grep -q \"'sbatch' not found\" '$TMP/bad.log'"

# 3. a task cancelled by the scheduler: held so the cancel lands before the task starts
bash $ARRAY --shards 4 --out "$TMP/k" --clipdebias "$BIN" --sbatch-args --hold --wait -- "${EMBED[@]}" > "$TMP/k.log" 2>&1 &
waiter=$!
slurm_wait_for 20 grep -q "merge job" "$TMP/k.log"
array=$(sed -n 's/.*array job \([0-9]*\) .*/\1/p' "$TMP/k.log")
merge=$(sed -n 's/.*merge job \([0-9]*\);.*/\1/p' "$TMP/k.log")
scancel "${array}_2"
scontrol release "$array" "$merge" 2>/dev/null
wait $waiter
rc=$?
check "cancelled task: exit 1" test $rc -eq 1
check "cancelled task: one line names the shard and its state" \
  test "$(grep -c "embed_array: shard 2/4 (job ${array}_2) CANCELLED while pending (it never ran)$" "$TMP/k.log")" -eq 1
check "cancelled task: no other shard reported" test "$(grep -c 'embed_array: shard' "$TMP/k.log")" -eq 1
check "cancelled task: says nothing was merged and what to do" grep -q "1 of 4 shards did not finish, so $TMP/k was not merged; the finished shards are kept: run the same command again" "$TMP/k.log"
check "cancelled task: no merged cache" test ! -e "$TMP/k/cache.json"
check "cancelled task: the other shards finished" bash -c "grep -q '\"complete\": true' '$TMP/k.shard0/cache.json' '$TMP/k.shard1/cache.json' '$TMP/k.shard3/cache.json'"
[ $rc -eq 1 ] && [ -z "${DEBUG:-}" ] || sed 's/^/     | /' "$TMP/k.log"
stamp() { stat -c '%i %Y.%y' "$TMP/k.shard$1/features.npy"; }
before="$(stamp 0) $(stamp 1) $(stamp 3)"
bash $ARRAY --shards 4 --out "$TMP/k" --clipdebias "$BIN" --wait -- "${EMBED[@]}" > "$TMP/k2.log" 2>&1
check "rerun after the cancel: exit 0" test $? -eq 0
check "rerun: finished shards reused untouched" test "$before" = "$(stamp 0) $(stamp 1) $(stamp 3)"
check "rerun: a finished shard's task said nothing to do" grep -q "nothing to do" "$TMP"/k.slurm/*_0.out
check "rerun: merged features.npy == unsharded (cmp)" cmp "$TMP/k/features.npy" "$TMP/one/features.npy"
check "rerun: merged index.csv == unsharded (cmp)" cmp "$TMP/k/index.csv" "$TMP/one/index.csv"

# 4. a toy sweep (the toy world at 5% of Waterbirds, the toy CLIP; dims x eta, 2 seeds) through
#    the cluster: sweep.csv equals the local sweep's but for wall_seconds and peak_rss_mb
"$BIN" toyworld --out "$TMP/world" --scale 0.05 > "$TMP/tw.log" 2>&1 &&
  "$BIN" embed --dataset waterbirds --root "$TMP/world" --model "$TOYCLIP" --out "$TMP/toy" >> "$TMP/tw.log" 2>&1
check "toy world + toy CLIP cache" test $? -eq 0
stable_csv() { awk -F, -v OFS=, 'NR==1{for(i=1;i<=NF;i++){if($i=="wall_seconds")w=i; if($i=="peak_rss_mb")r=i}} {$w="";$r="";print}' "$1"; }
SW=(--caches "$TMP/toy" --model "$TOYCLIP" --epochs 10 --select last --seeds 0,1 --dims 4,full --eta 1,2 --threads 1)
"$BIN" sweep "${SW[@]}" --out "$TMP/sw_local" > "$TMP/swl.log" 2>&1
check "local sweep: exit 0" test $? -eq 0
t0=$(slurm_now)
"$BIN" sweep "${SW[@]}" --out "$TMP/sw_slurm" --slurm --wait > "$TMP/sws.log" 2>&1
rc=$?
SLURM_TIMES+="sweep $(slurm_since "$t0")"$'\n'
check "sweep --slurm --wait: exit 0" test $rc -eq 0
check "sweep --slurm: an array job of the 4 cells" grep -q -- "--array=0,1,2,3 " "$TMP/sws.log"
check "sweep.csv: 16 rows (4 cells x 4 methods), the trained methods moved" \
  bash -c "[ \$(grep -c ',done,$' '$TMP/sw_slurm/sweep.csv') -eq 16 ] && [ \$(cut -d, -f8 '$TMP/sw_slurm/sweep.csv' | sort -u | wc -l) -ge 4 ]"
check "cluster's sweep.csv == local sweep.csv (minus wall_seconds, peak_rss_mb)" \
  diff <(stable_csv "$TMP/sw_local/sweep.csv") <(stable_csv "$TMP/sw_slurm/sweep.csv")
[ $rc -eq 0 ] || sed 's/^/     | /' "$TMP/sws.log"

# 5. a sweep task cancelled by the scheduler: one line, exit 1; the rerun runs that cell alone
"$BIN" sweep "${SW[@]}" --out "$TMP/sw_k" --slurm --slurm-args --hold --wait > "$TMP/swk.log" 2>&1 &
waiter=$!
slurm_wait_for 20 grep -q "Slurm jobs" "$TMP/swk.log"
ids=$(sed -n 's/.*Slurm jobs \([0-9]*,[0-9]*\);.*/\1/p' "$TMP/swk.log")
scancel "${ids%%,*}_2"
scontrol release "${ids%%,*}" "${ids##*,}" 2>/dev/null
wait $waiter
check "cancelled sweep task: exit 1, one error line naming the cell" \
  bash -c "[ $? -eq 1 ] && [ \$(grep -c '^clipdebias: ' '$TMP/swk.log') -eq 1 ] && grep -q '^clipdebias: sweep: 1 of 4 cells did not finish (first: dims-full_eta-1' '$TMP/swk.log'"
stamps() { stat -c '%Y.%y' "$TMP"/sw_k/cells/{dims-4_eta-1,dims-4_eta-2,dims-full_eta-2}/results.json 2>&1; }
before=$(stamps)
"$BIN" sweep "${SW[@]}" --out "$TMP/sw_k" --slurm --wait > "$TMP/swk2.log" 2>&1
check "rerun: exit 0, only the cancelled cell submitted" bash -c "[ $? -eq 0 ] && grep -q -- '--array=2 ' '$TMP/swk2.log'"
check "rerun: the finished cells untouched" test "$before" = "$(stamps)"
check "rerun: sweep.csv == local sweep.csv" diff <(stable_csv "$TMP/sw_local/sweep.csv") <(stable_csv "$TMP/sw_k/sweep.csv")

SLURM_TIMES+="test $(slurm_since "$t_test")"$'\n'
pids=("${SLURM_PIDS[@]}")
slurm_stop
check "the ${#pids[@]} daemons started here have exited (kill -0 fails)" bash -c "[ ${#pids[@]} -eq 3 ] && ! kill -0 ${pids[*]} 2>/dev/null"
echo "  times (s): $(echo "$SLURM_TIMES" | paste -sd ' ' | sed 's/ *$//')"
finish cli_slurm
