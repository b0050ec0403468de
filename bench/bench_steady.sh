#!/usr/bin/env bash
# Steady-state image encoding of two clipdebias binaries side by side (e.g. a release and the
# current build), at batch 1 and batch 32, in one run. The rate is marginal: each binary embeds
# n_small and n_large images and rate = (n_large - n_small) / (t_large - t_small), so loading
# the model and writing the output cancel out. Runs are interleaved and repeated, the best time
# of each kept (the machine may be shared: the best run is the least disturbed). Two clocks:
# wall time, and the process's CPU time (user + sys) per thread, which other processes taking
# the cores cannot inflate; on a busy machine run with OMP_WAIT_POLICY=passive so that a
# thread waiting for a preempted partner sleeps instead of spinning on the clock.
# usage: bench/bench_steady.sh CHECKPOINT BIN_A [BIN_B] [threads] [repeats]
#   extra flags for both binaries: CD_STEADY_FLAGS="--precision bf16" (B only: CD_STEADY_FLAGS_B)
set -euo pipefail
ckpt=${1:?usage: bench_steady.sh CHECKPOINT BIN_A [BIN_B] [threads] [repeats]}
bin_a=${2:?usage: bench_steady.sh CHECKPOINT BIN_A [BIN_B] [threads] [repeats]}
bin_b=${3:-}
threads=${4:-2}
reps=${5:-3}
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
run() { # bin n batch flags
  OMP_NUM_THREADS=$threads /usr/bin/time -f "%e %U %S" -o "$work/time" "$1" embed-image --model "$ckpt" \
    --pixels "$work/px$2.npy" --batch "$3" --threads "$threads" --out "$work/out.npy" $4 >/dev/null
  awk '{print $1, $2 + $3}' "$work/time"
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }

declare -A best
bins=(A)
[ -n "$bin_b" ] && bins+=(B)
for ((r = 0; r < reps; r++)); do
  for who in "${bins[@]}"; do
    bin=$bin_a flags=${CD_STEADY_FLAGS:-}
    if [ "$who" = B ]; then bin=$bin_b flags="${CD_STEADY_FLAGS:-} ${CD_STEADY_FLAGS_B:-}"; fi
    for cfg in "1 2" "1 32" "32 32" "32 128"; do
      set -- $cfg
      read -r tw tc < <(run "$bin" "$2" "$1" "$flags")
      key="$who.$1.$2"
      best[w.$key]=$(min "${best[w.$key]:-1e9}" "$tw")
      best[c.$key]=$(min "${best[c.$key]:-1e9}" "$tc")
    done
  done
done

# img/s from the marginal time; CPU seconds are divided by the threads (img/s on cores of our own)
rate() { awk -v n="$3" -v m="$4" -v a="$1" -v b="$2" -v d="$5" 'BEGIN { printf "%.2f", (m - n) / ((b - a) / d) }'; }
echo "steady-state embed-image img/s, $threads threads, $(basename "$ckpt"), best of $reps"
printf '%-6s %-5s %12s %12s %8s\n' batch clock A B "B/A"
for bs in 1 32; do
  if [ "$bs" = 1 ]; then lo=2 hi=32; else lo=32 hi=128; fi
  for clk in w c; do
    div=1 name=wall
    [ $clk = c ] && div=$threads name=cpu
    ra=$(rate "${best[$clk.A.$bs.$lo]}" "${best[$clk.A.$bs.$hi]}" $lo $hi $div)
    if [ -n "$bin_b" ]; then
      rb=$(rate "${best[$clk.B.$bs.$lo]}" "${best[$clk.B.$bs.$hi]}" $lo $hi $div)
      printf '%-6s %-5s %12s %12s %8.2f\n' "$bs" $name "$ra" "$rb" "$(awk -v a="$ra" -v b="$rb" 'BEGIN { print b / a }')"
    else
      printf '%-6s %-5s %12s\n' "$bs" $name "$ra"
    fi
  done
done
echo "A = $bin_a"
[ -n "$bin_b" ] && echo "B = $bin_b"
exit 0
