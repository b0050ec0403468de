#!/usr/bin/env bash
# Image and text encoding throughput of a ViT-B/32-sized CLIP (random weights, real shapes):
# clipdebias embed-image / embed-text next to upstream-style PyTorch on the same inputs, same
# thread count, in one run. Prints items/s and the ratio. clipdebias is timed as whole
# commands (load, encode, write), PyTorch only inside encode_*, so the ratio is conservative.
# usage: bench/bench_encode.sh BUILD_DIR [threads] [n_images] [n_texts]
set -euo pipefail
build=${1:?usage: bench_encode.sh BUILD_DIR [threads] [n_images] [n_texts]}
threads=${2:-$(nproc)}
n_img=${3:-32}
n_txt=${4:-64}
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-/usr/bin/python3}
bin=$build/clipdebias
work=${CD_BENCH_DIR:-/tmp/clipdebias-bench}
. "$here/bench_lock.sh" && cd_bench_lock "$work"
mkdir -p "$work"
ckpt=$work/vitb32.safetensors
[ -f "$ckpt" ] || "$py" "$here/../tools/gen/make_random_checkpoint.py" "$ckpt" >/dev/null
[ -f "$work/bpe_simple_vocab_16e6.txt.gz" ] || cp "${CD_BPE:-$here/../../shared/clip/bpe_simple_vocab_16e6.txt.gz}" "$work/"

"$py" - "$work" "$n_img" <<'PY'
import sys, numpy as np
work, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
np.save(f"{work}/pixels.npy", rng.standard_normal((n, 3, 224, 224)).astype(np.float32))
PY
words=(bird water land forest ocean man woman person dog cat boat tree beach lake field city)
: > "$work/prompts.txt"
for ((i = 0; i < n_txt; i++)); do echo "a photo of a ${words[i % 16]} on ${words[(i / 16) % 16]}." >> "$work/prompts.txt"; done
"$bin" tokenize --model "$ckpt" --text-file "$work/prompts.txt" --out "$work/tokens.npy"

best() { # best wall time of 3 runs of a command
  local b=999999
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N)
    b=$(echo "$b $s $e" | awk '{t = $3 - $2; print (t < $1 ? t : $1)}')
  done
  echo "$b"
}
ti=$(best "$bin" embed-image --model "$ckpt" --pixels "$work/pixels.npy" --batch "$n_img" --threads "$threads" --out "$work/img.npy")
tt=$(best "$bin" embed-text --model "$ckpt" --text-file "$work/prompts.txt" --threads "$threads" --out "$work/txt.npy")
torch_out=$("$py" "$here/encode_torch.py" "$ckpt" "$work/pixels.npy" "$work/tokens.npy" "$threads" 3)
ours_img=$(awk -v n="$n_img" -v t="$ti" 'BEGIN { printf "%.2f", n / t }')
ours_txt=$(awk -v n="$n_txt" -v t="$tt" 'BEGIN { printf "%.2f", n / t }')
torch_img=$(echo "$torch_out" | awk '/image/ {print $3}')
torch_txt=$(echo "$torch_out" | awk '/text/ {print $3}')
backend=$(echo "$torch_out" | awk '/backend/ {print $3}')
echo "ViT-B/32-sized CLIP, $threads threads ($n_img images, $n_txt prompts); PyTorch linear backend: $backend"
printf '%-8s %14s %14s %8s\n' "" "clipdebias/s" "pytorch/s" ratio
printf '%-8s %14s %14s %8.2f\n' image "$ours_img" "$torch_img" "$(awk -v a="$ours_img" -v b="$torch_img" 'BEGIN{print a/b}')"
printf '%-8s %14s %14s %8.2f\n' text "$ours_txt" "$torch_txt" "$(awk -v a="$ours_txt" -v b="$torch_txt" 'BEGIN{print a/b}')"
