#!/usr/bin/env bash
# GEMM throughput of clipdebias (bench_gemm: every ISA level and precision this CPU runs,
# beside the measured FMA peak) and PyTorch's linear (gemm_torch.py) on CLIP's shapes, same
# thread count, in one run. The comparison columns take clipdebias's best level in fp32.
# Usage: bench/bench_gemm.sh <path-to-bench_gemm> [threads] [seconds-per-case]
# On a shared machine set OMP_WAIT_POLICY=passive (see bench_gemm.c: the CPU-time columns).
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
echo "== clipdebias: every level and precision (GFLOP/s by wall and by CPU time, % of the FMA peak)"
cat "$ours"
best=$(grep -v '^#\|^peak' "$ours" | awk '$6 == "fp32" {print $5}' | tail -1)
echo
echo "== clipdebias $best fp32 vs PyTorch (wall GFLOP/s), $threads threads"
printf '%-18s %5s %5s %5s %10s %10s %10s %8s %8s\n' shape M K N clipdebias torch onednn "/torch" "/onednn"
grep -v '^#\|^peak' "$ours" | awk -v l="$best" '$5 == l && $6 == "fp32" {print $1, $2, $3, $4, $7}' | sort >"$ours.sel"
join <(cat "$ours.sel") <(sort "$theirs") | sort -k2,2n -k1,1 |
  awk '{printf "%-18s %5d %5d %5d %10.1f %10.1f %10.1f %8.2f %8s\n", $1, $2, $3, $4, $5, $9, $10,
        $5 / $9, ($10 > 0 ? sprintf("%.2f", $5 / $10) : "-")}'
rm -f "$ours.sel"
