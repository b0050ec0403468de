#!/usr/bin/env bash
# Data set embedding throughput: `clipdebias embed` on a synthetic Waterbirds-format tree of
# photo-sized JPEGs (300-500 px, like CUB), next to `clipdebias embed-image` on the same files
# and the usual PyTorch pipeline (Pillow + CLIP preprocessing on a thread pool, upstream-style
# encode_image), same thread count, one run. clipdebias is timed as whole commands (loading
# the data set and the model, decoding, encoding, writing the cache); PyTorch from the first
# file read to the last feature. Models: the reference tiny CLIP (when ../shared/reference is
# there) and a ViT-B/32-sized random checkpoint.
# usage: bench/bench_embed.sh BUILD_DIR [threads] [n_images] [batch]
set -euo pipefail
build=${1:?usage: bench_embed.sh BUILD_DIR [threads] [n_images] [batch]}
threads=${2:-$(nproc)}
n=${3:-256}
batch=${4:-32}
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-/usr/bin/python3}
bin=$build/clipdebias
work=${CD_BENCH_DIR:-/tmp/clipdebias-bench}
. "$here/bench_lock.sh" && cd_bench_lock "$work"
ref=${CLIPDEBIAS_REFERENCE:-$here/../../shared/reference}
mkdir -p "$work"
tree=$work/wb_tree_$n
[ -d "$tree" ] || "$py" "$here/../tools/gen/gen_dataset_fixtures.py" --bench-tree "$tree" "$n" >/dev/null
folder=$tree/waterbird_complete95_forest2water2
tail -n +2 "$folder/metadata.csv" | cut -d, -f2 | sed "s|^|$folder/|" > "$work/list_$n.txt"
ckpt=$work/vitb32.safetensors
[ -f "$ckpt" ] || "$py" "$here/../tools/gen/make_random_checkpoint.py" "$ckpt" >/dev/null

seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$s $e" | awk '{print $2 - $1}'; }
best2() { local a b; a=$(seconds "$@"); b=$(seconds "$@"); echo "$a $b" | awk '{print ($1 < $2 ? $1 : $2)}'; }
rate() { awk -v n="$n" -v t="$1" 'BEGIN { printf "%.1f", n / t }'; }

printf '%d images (300-500 px JPEGs), %d threads, batch %d\n' "$n" "$threads" "$batch"
printf '%-22s %12s %12s %12s %10s %10s\n' model "embed/s" "embed-image/s" "pytorch/s" "vs e-i" "vs torch"
models=()
[ -f "$ref/tiny/openai.safetensors" ] && models+=("$ref/tiny/openai.safetensors")
models+=("$ckpt")
for m in "${models[@]}"; do
  rm -rf "$work/embed_bench_cache"
  te=$(best2 bash -c "rm -rf '$work/embed_bench_cache' && '$bin' embed --dataset waterbirds --root '$tree' --model '$m' --out '$work/embed_bench_cache' --batch $batch --threads $threads")
  ti=$(best2 "$bin" embed-image --model "$m" --list "$work/list_$n.txt" --batch "$batch" --threads "$threads" --out "$work/embed_bench_ei.npy")
  cmp -s "$work/embed_bench_cache/features.npy" "$work/embed_bench_ei.npy" || echo "warning: embed and embed-image features differ for $m"
  tt=$("$py" "$here/embed_torch.py" "$m" "$work/list_$n.txt" "$threads" "$batch" | awk '/torch embed/ {print $3}')
  name=$([ "$m" = "$ckpt" ] && echo "ViT-B/32 (random)" || echo "reference tiny")
  printf '%-22s %12s %12s %12s %10.2f %10.2f\n' "$name" "$(rate "$te")" "$(rate "$ti")" "$tt" \
    "$(awk -v a="$ti" -v b="$te" 'BEGIN{print a/b}')" "$(awk -v a="$(rate "$te")" -v b="$tt" 'BEGIN{print a/b}')"
done
