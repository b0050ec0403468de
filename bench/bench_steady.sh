#!/usr/bin/env bash
# Steady-state image encoding of two clipdebias binaries side by side (e.g. a release and the
# current build), at batch 1 and batch 32, in one run. The rate is marginal: each binary embeds
# n_small and n_large images and rate = (n_large - n_small) / (t_large - t_small), so loading
# the model and writing the output cancel out. Runs are interleaved and repeated, the best time
# of each kept (the machine may be shared: the best run is the least disturbed).
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
for n in (2, 10, 32, 128):
    np.save(f"{sys.argv[1]}/px{n}.npy", x[:n])
PY

# best wall time of one binary on n images at batch b
run() { # bin n batch flags
  local s e
  s=$(date +%s.%N)
  OMP_NUM_THREADS=$threads "$1" embed-image --model "$ckpt" --pixels "$work/px$2.npy" --batch "$3" \
    --threads "$threads" --out "$work/out.npy" $4 >/dev/null
  e=$(date +%s.%N)
  echo "$s $e" | awk '{print $2 - $1}'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }

declare -A best
bins=(A)
[ -n "$bin_b" ] && bins+=(B)
for ((r = 0; r < reps; r++)); do
  for who in "${bins[@]}"; do
    bin=$bin_a flags=${CD_STEADY_FLAGS:-}
    if [ "$who" = B ]; then bin=$bin_b flags="${CD_STEADY_FLAGS:-} ${CD_STEADY_FLAGS_B:-}"; fi
    for cfg in "1 2" "1 10" "32 32" "32 128"; do
      set -- $cfg
      t=$(run "$bin" "$2" "$1" "$flags")
      key="$who.$1.$2"
      best[$key]=$(min "${best[$key]:-1e9}" "$t")
    done
  done
done

rate() { awk -v n="$3" -v m="$4" -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (m - n) / (b - a) }'; }
echo "steady-state embed-image img/s, $threads threads, $(basename "$ckpt"), best of $reps"
printf '%-6s %12s %12s %8s\n' batch A B "B/A"
for bs in 1 32; do
  if [ "$bs" = 1 ]; then lo=2 hi=10; else lo=32 hi=128; fi
  ra=$(rate "${best[A.$bs.$lo]}" "${best[A.$bs.$hi]}" $lo $hi)
  if [ -n "$bin_b" ]; then
    rb=$(rate "${best[B.$bs.$lo]}" "${best[B.$bs.$hi]}" $lo $hi)
    printf '%-6s %12s %12s %8.2f\n' "$bs" "$ra" "$rb" "$(awk -v a="$ra" -v b="$rb" 'BEGIN { print b / a }')"
  else
    printf '%-6s %12s\n' "$bs" "$ra"
  fi
done
echo "A = $bin_a"
[ -n "$bin_b" ] && echo "B = $bin_b"
exit 0
