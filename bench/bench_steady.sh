#!/usr/bin/env bash
# Steady-state image encoding of several clipdebias binaries side by side (e.g. a release and
# the current build), at batch 1 and batch 32, in one run. The rate is marginal: each binary
# embeds a few and many images and rate = (n_many - n_few) / (t_many - t_few), so loading the
# model and writing the output cancel out. Runs are interleaved and repeated, the best time of
# each kept (the machine may be shared: the best run is the least disturbed). Two clocks: wall
# time, and the process's CPU time (user + sys) divided by the threads, which other processes
# taking the cores cannot inflate (img/s on cores of our own). On a busy machine run with
# OMP_WAIT_POLICY=passive, so that an OpenMP thread waiting for a preempted partner sleeps
# instead of spinning on the clock.
# usage: bench/bench_steady.sh [-t threads] [-r repeats] [-f "flags for every binary"] CHECKPOINT BIN...
#   ratios are against the first binary
set -euo pipefail
threads=2 reps=3 flags=""
while getopts "t:r:f:" o; do
  case $o in
    t) threads=$OPTARG ;;
    r) reps=$OPTARG ;;
    f) flags=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
ckpt=${1:?usage: bench_steady.sh [-t threads] [-r repeats] [-f flags] CHECKPOINT BIN...}
shift
bins=("$@")
[ ${#bins[@]} -ge 1 ] || { echo "bench_steady: no binaries given" >&2; exit 2; }
py=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$py" - "$work" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(0)
x = rng.standard_normal((128, 3, 224, 224)).astype(np.float32)
for n in (2, 32, 128):
    np.save(f"{sys.argv[1]}/px{n}.npy", x[:n])
PY

# "wall cpu" seconds of one binary on n images at batch b
run() { # bin n batch
  OMP_NUM_THREADS=$threads /usr/bin/time -f "%e %U %S" -o "$work/time" "$1" embed-image --model "$ckpt" \
    --pixels "$work/px$2.npy" --batch "$3" --threads "$threads" --out "$work/out.npy" $flags >/dev/null 2>&1
  awk '{print $1, $2 + $3}' "$work/time"
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }

declare -A best
for ((r = 0; r < reps; r++)); do
  for i in "${!bins[@]}"; do
    for cfg in "1 2" "1 32" "32 32" "32 128"; do
      set -- $cfg
      read -r tw tc < <(run "${bins[$i]}" "$2" "$1")
      key="$i.$1.$2"
      best[w.$key]=$(min "${best[w.$key]:-1e9}" "$tw")
      best[c.$key]=$(min "${best[c.$key]:-1e9}" "$tc")
    done
  done
done

rate() { awk -v n="$3" -v m="$4" -v a="$1" -v b="$2" -v d="$5" 'BEGIN { printf "%.2f", (m - n) / ((b - a) / d) }'; }
echo "steady-state embed-image img/s, $threads threads, $(basename "$ckpt"), best of $reps, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-5s' batch clock
for i in "${!bins[@]}"; do printf ' %14s' "bin$i"; done
echo
for bs in 1 32; do
  if [ "$bs" = 1 ]; then lo=2 hi=32; else lo=32 hi=128; fi
  for clk in w c; do
    div=1 name=wall
    [ $clk = c ] && div=$threads name=cpu
    printf '%-6s %-5s' "$bs" $name
    r0=""
    for i in "${!bins[@]}"; do
      r=$(rate "${best[$clk.$i.$bs.$lo]}" "${best[$clk.$i.$bs.$hi]}" $lo $hi $div)
      [ -z "$r0" ] && r0=$r
      printf ' %7s (%4.2fx)' "$r" "$(awk -v a="$r0" -v b="$r" 'BEGIN { print b / a }')"
    done
    echo
  done
done
for i in "${!bins[@]}"; do echo "bin$i = ${bins[$i]}"; done
