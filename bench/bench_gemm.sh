#!/usr/bin/env bash
# Runs bench_gemm (clipdebias) and gemm_torch.py (PyTorch) with the same thread count and
# prints GFLOP/s side by side with the ratio clipdebias / torch.
# Usage: bench/bench_gemm.sh <path-to-bench_gemm> [threads] [seconds-per-shape]
set -euo pipefail
bin=${1:?usage: bench_gemm.sh <path-to-bench_gemm> [threads] [seconds]}
threads=${2:-$(nproc)}
secs=${3:-0.5}
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-/usr/bin/python3}
ours=$(mktemp) theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
OMP_NUM_THREADS=$threads "$bin" "$threads" "$secs" >"$ours"
OMP_NUM_THREADS=$threads "$py" "$here/gemm_torch.py" "$threads" "$secs" >"$theirs"
# torch: F.linear (whatever BLAS this PyTorch build links); onednn: PyTorch's oneDNN linear.
echo "GFLOP/s, $threads threads"
printf '%-16s %5s %5s %5s %10s %10s %10s %8s %8s\n' shape M K N clipdebias torch onednn "/torch" "/onednn"
join <(sort "$ours") <(sort "$theirs") | sort -k2,2n -k1,1 |
  awk '{printf "%-16s %5d %5d %5d %10.1f %10.1f %10.1f %8.2f %8s\n", $1, $2, $3, $4, $5, $9, $10,
        $5 / $9, ($10 > 0 ? sprintf("%.2f", $5 / $10) : "-")}'
