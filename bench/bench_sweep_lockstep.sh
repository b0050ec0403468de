#!/usr/bin/env bash
# Lockstep across the cells of a sweep against a process per cell: `clipdebias sweep` of 4
# cells (--eta 1,2 x --lr 0.002,0.004, which share the text tower's pass) on a ViT-B/32-sized
# text tower (random weights, real shapes; bench_run.sh's checkpoint and Waterbirds-shaped toy
# cache), all their pairs trained in one group process, next to the same 4 cells each run
# alone (`clipdebias run` with the cell's settings, one process after the other: what the
# sweep did before lockstep across cells, every run's own pairs still in lockstep), and optionally `sweep --lockstep off` (a process per cell, every pair
# alone). Alternating rounds, so that a shared machine disturbs every side alike. Per round:
# each side's wall time and CPU time (user + system of every process and thread: what other
# processes on a shared machine cannot inflate), the ratios, and whether every cell's files
# are the same (every pair's metrics.jsonl and .npy, bit for bit); then the median, min and
# max of the paired ratios.
# usage: bench/bench_sweep_lockstep.sh BUILD_DIR [threads] [train_rows] [epochs] [rounds] [methods] [seeds] [off]
#   off: 1 to time `sweep --lockstep off` as well (slow: every pair alone)
set -euo pipefail
build=${1:?usage: bench_sweep_lockstep.sh BUILD_DIR [threads] [train_rows] [epochs] [rounds] [methods] [seeds] [off]}
threads=${2:-$(nproc)}
n_train=${3:-320}
epochs=${4:-2}
rounds=${5:-3}
methods=${6:-erm,dpt}
seeds=${7:-0}
with_off=${8:-0}
here=$(cd "$(dirname "$0")" && pwd)
work=${CD_BENCH_DIR:-/tmp/clipdebias-bench}
. "$here/bench_lock.sh" && cd_bench_lock "$work"
CD_BENCH_PREPARE_ONLY=1 CD_BENCH_DIR=$work bash "$here/bench_run.sh" "$build" "$threads" "$n_train" "$epochs" >/dev/null
bin=$build/clipdebias
batch=32
steps=$((n_train / batch))
tuned=$(tr ',' '\n' <<<"$methods" | grep -vc '^zeroshot$' || true)
n_seeds=$(tr ',' '\n' <<<"$seeds" | wc -l)
cells=4
pair_steps=$((cells * tuned * n_seeds * epochs * steps))
grid=(--caches "$work/cache" --model "$work/vitb32.safetensors" --eta 1,2 --lr 0.002,0.004 --methods "$methods"
      --seeds "$seeds" --epochs "$epochs" --batch $batch --threads "$threads")
echo "== sweep of $cells cells (eta 1,2 x lr 0.002,0.004), methods $methods x seeds $seeds: $((tuned * n_seeds)) pairs a cell,"
echo "   $epochs epochs of $steps steps (batch $batch): $pair_steps pair-steps in all; threads $threads"
cpu() { awk '{ print $1 + $2 }' "$1"; }
TIMEFORMAT='%R %U %S'
group() { # round -> "wall cpu"
  local out=$work/sweep-group-$1
  rm -rf "$out"
  { time "$bin" sweep "${grid[@]}" --out "$out" >"$work/log-group" 2>&1; } 2>"$work/time-group" ||
    { echo "bench_sweep_lockstep: sweep failed:" >&2; tail -n 3 "$work/log-group" >&2; exit 1; }
  grep -q "lockstep across cells: 1 processes" "$work/log-group" ||
    { echo "bench_sweep_lockstep: the 4 cells did not run as one group" >&2; exit 1; }
  awk '{ print $1, $2 + $3 }' "$work/time-group"
}
alone() { # round -> "wall cpu": each cell's `clipdebias run` (the sweep's command line of the cell)
  local out=$work/sweep-alone-$1 w=0 c=0 eta lr
  rm -rf "$out"
  for eta in 1 2; do
    for lr in 0.002 0.004; do
      { time "$bin" run --cache "$work/cache" --model "$work/vitb32.safetensors" --out "$out/dims-full_eta-${eta}_lr-$lr" \
          --methods "$methods" --seeds "$seeds" --epochs "$epochs" --batch $batch --eta $eta --lr $lr \
          --threads "$threads" >"$work/log-alone" 2>&1; } 2>"$work/time-alone" ||
        { echo "bench_sweep_lockstep: run of eta $eta lr $lr failed:" >&2; tail -n 3 "$work/log-alone" >&2; exit 1; }
      read -r a b d <"$work/time-alone"
      w=$(awk -v x="$w" -v y="$a" 'BEGIN { print x + y }')
      c=$(awk -v x="$c" -v y="$b" -v z="$d" 'BEGIN { print x + y + z }')
    done
  done
  echo "$w $c"
}
off() { # round -> "wall cpu"
  local out=$work/sweep-off-$1
  rm -rf "$out"
  { time "$bin" sweep "${grid[@]}" --lockstep off --out "$out" >"$work/log-off" 2>&1; } 2>"$work/time-off" ||
    { echo "bench_sweep_lockstep: sweep --lockstep off failed:" >&2; tail -n 3 "$work/log-off" >&2; exit 1; }
  awk '{ print $1, $2 + $3 }' "$work/time-off"
}
same_files() { # dir_a dir_b -> "yes (N files)" | NO (file)
  local same=yes n=0 f cell
  for cell in $(ls "$1"); do
    for f in $(cd "$1/$cell" && ls metrics.jsonl *.npy */*.npy */seed*/metrics.jsonl */seed*/*.npy 2>/dev/null); do
      n=$((n + 1))
      cmp -s "$1/$cell/$f" "$2/$cell/$f" || same="NO ($cell/$f)"
    done
  done
  [ "$n" -gt 0 ] || same="NO (no files)"
  [ "$same" = yes ] && same="yes ($n files)"
  echo "$same"
}
wall_r=() cpu_r=() off_wall_r=() off_cpu_r=()
for r in $(seq 1 "$rounds"); do
  o=""
  if [ $((r % 2)) -eq 1 ]; then
    a=$(alone $r) && g=$(group $r)
    [ "$with_off" = 1 ] && o=$(off $r)
  else
    [ "$with_off" = 1 ] && o=$(off $r)
    g=$(group $r) && a=$(alone $r)
  fi
  read -r gw gc <<<"$g"
  read -r aw ac <<<"$a"
  wall_r+=("$(awk -v a="$aw" -v b="$gw" 'BEGIN { printf "%.2f", a / b }')")
  cpu_r+=("$(awk -v a="$ac" -v b="$gc" 'BEGIN { printf "%.2f", a / b }')")
  awk -v gw="$gw" -v gc="$gc" -v aw="$aw" -v ac="$ac" -v n=$pair_steps -v r=$r 'BEGIN {
    printf "round %d: a process per cell %.1f s wall, cpu %.1f s (%.2f pair-steps/s); one group %.1f s wall, cpu %.1f s (%.2f pair-steps/s): %.2fx wall, %.2fx cpu\n",
           r, aw, ac, n / aw, gw, gc, n / gw, aw / gw, ac / gc }'
  if [ -n "$o" ]; then
    read -r ow oc <<<"$o"
    off_wall_r+=("$(awk -v a="$ow" -v b="$gw" 'BEGIN { printf "%.2f", a / b }')")
    off_cpu_r+=("$(awk -v a="$oc" -v b="$gc" 'BEGIN { printf "%.2f", a / b }')")
    awk -v ow="$ow" -v oc="$oc" -v gw="$gw" -v gc="$gc" -v n=$pair_steps 'BEGIN {
      printf "         sweep --lockstep off %.1f s wall, cpu %.1f s (%.2f pair-steps/s): %.2fx wall, %.2fx cpu of the group\n", ow, oc, n / ow, ow / gw, oc / gc }'
    echo "         --lockstep off's files = the group's: $(same_files "$work/sweep-off-$r/cells" "$work/sweep-group-$r/cells")"
  fi
  echo "         every cell's files (every pair's metrics.jsonl and .npy) = the cell run alone: $(same_files "$work/sweep-alone-$r" "$work/sweep-group-$r/cells")"
done
summary() { # label values...
  local label=$1
  shift
  printf '%s\n' "$@" | sort -n | awk -v l="$label" '{ v[NR] = $1 } END {
    printf "%s, paired over %d rounds: median %.2fx (min %.2fx, max %.2fx)\n", l, NR, v[int((NR + 1) / 2)], v[1], v[NR] }'
}
summary "cpu time, a process per cell / one group" "${cpu_r[@]}"
summary "wall time, a process per cell / one group" "${wall_r[@]}"
if [ "$with_off" = 1 ]; then
  summary "cpu time, sweep --lockstep off / one group" "${off_cpu_r[@]}"
  summary "wall time, sweep --lockstep off / one group" "${off_wall_r[@]}"
fi
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"
