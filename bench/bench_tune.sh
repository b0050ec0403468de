#!/usr/bin/env bash
# CoOp tuning throughput, clipdebias vs PyTorch, same thread count, in one run, with the
# step's roofline (weights streamed and FLOPs per step against the triad bandwidth and FMA peak
# measured by bench_tune itself); then the bf16 tower's step (bench_tune's best bf16 round)
# against the same float32 PyTorch step.
# usage: bench/bench_tune.sh [threads] [build-dir]   (run from the repository root)
set -euo pipefail
threads=${1:-$(nproc)}
build=${2:-build}
python=${PYTHON:-python3}
cmake --build "$build" --target bench_tune -j"$threads" >/dev/null
echo "== clipdebias (threads $threads)"
out=$(OMP_NUM_THREADS=$threads "$build/bench_tune" 30 "$threads")
echo "$out"
ours=$(echo "$out" | awk '/^steps\/s/ {print $2}')
bf16=$(echo "$out" | awk '/^bf16 1 run:/ {print $4}') # the bf16 tower's single run, best round
share=$(echo "$out" | awk '/^roofline share/ {print $3}')
echo "== PyTorch (threads $threads)"
out=$(OMP_NUM_THREADS=$threads "$python" bench/tune_torch.py 5 "$threads")
echo "$out"
theirs=$(echo "$out" | awk '/^steps\/s/ {print $2}')
awk -v a="$ours" -v b="$theirs" -v r="$share" 'BEGIN {
  printf "clipdebias %.3f steps/s (%.1f ms/step, %s of the roofline), PyTorch %.3f steps/s (%.1f ms/step): %.1fx\n",
         a, 1e3 / a, r, b, 1e3 / b, a / b }'
# the bf16 tower's step (--precision bf16: float32 arithmetic on bfloat16 weight rows)
# against the same float32 PyTorch step
[ -n "$bf16" ] && awk -v a="$bf16" -v b="$theirs" 'BEGIN {
  printf "clipdebias --precision bf16 %.3f steps/s (%.1f ms/step) against the same PyTorch step: %.1fx\n", a, 1e3 / a, a / b }'
true
