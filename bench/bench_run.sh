#!/usr/bin/env bash
# `clipdebias run` (zero-shot, pseudo labels, ERM and DPT prompt tuning with per-epoch
# evaluation and selection) next to the same run written in PyTorch (bench/run_torch.py), on
# the same feature cache and the same ViT-B/32-sized text tower (random weights, real shapes),
# same thread count, in one run. Both are timed as whole processes (loading included); the
# PyTorch side uses oneDNN for its linear layers (bench/torch_onednn.py). The features are a
# Gaussian core/spurious toy laid along the text tower's own directions (spurious = the
# difference of the two attribute prompts, core = the class difference without it), with
# Waterbirds' proportions: 95% of training images agree, val and test are group-balanced.
# Both tables are printed: they should agree up to float32 noise (same batch order).
# usage: bench/bench_run.sh BUILD_DIR [threads] [train_rows] [epochs]
set -euo pipefail
build=${1:?usage: bench_run.sh BUILD_DIR [threads] [train_rows] [epochs]}
threads=${2:-$(nproc)}
n_train=${3:-960}
epochs=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-/usr/bin/python3}
bin=$build/clipdebias
work=${CD_BENCH_DIR:-/tmp/clipdebias-bench}
. "$here/bench_lock.sh" && cd_bench_lock "$work"
mkdir -p "$work"
ckpt=$work/vitb32.safetensors
[ -f "$ckpt" ] || "$py" "$here/../tools/gen/make_random_checkpoint.py" "$ckpt" >/dev/null
[ -f "$work/bpe_simple_vocab_16e6.txt.gz" ] || cp "${CD_BPE:-$here/../../shared/clip/bpe_simple_vocab_16e6.txt.gz}" "$work/"

# token ids (ours, so both sides see identical prompts) and the text directions of the toy
"$bin" tokenize --model "$ckpt" --text "a photo of a landbird." "a photo of a waterbird." --out "$work/cls_tokens.npy"
"$bin" tokenize --model "$ckpt" --text "a photo of a bird on land." "a photo of a bird on water." --out "$work/attr_tokens.npy"
"$bin" embed-text --model "$ckpt" --normalize --text "a photo of a landbird." "a photo of a waterbird." --out "$work/cls_feat.npy"
"$bin" embed-text --model "$ckpt" --normalize --text "a photo of a bird on land." "a photo of a bird on water." --out "$work/attr_feat.npy"
"$py" - "$work" "$n_train" <<'PY'
import json, os, sys
import numpy as np
work, n_train = sys.argv[1], int(sys.argv[2])
np.savez(f"{work}/tokens.npz", classes=np.load(f"{work}/cls_tokens.npy"), attrs=np.load(f"{work}/attr_tokens.npy"))
c, t = np.load(f"{work}/cls_feat.npy").astype(np.float64), np.load(f"{work}/attr_feat.npy").astype(np.float64)
spu = t[1] - t[0]; spu /= np.linalg.norm(spu)
core = c[1] - c[0]; core -= core.dot(spu) * spu; core /= np.linalg.norm(core)
rng = np.random.default_rng(0)
maj, mnr = round(n_train * 0.475), round(n_train * 0.025)
counts = [[maj, mnr, mnr, maj], [n_train // 8] * 4, [n_train // 4] * 4]
X, rows = [], []
for s, cs in enumerate(counts):
    for g, n in enumerate(cs):
        y, a = g // 2, g % 2
        X.append((2 * y - 1) * 0.6 * core + (2 * a - 1) * 2.0 * spu + 0.45 * rng.standard_normal((n, len(core))))
        rows += [(y, a, s)] * n
cache = f"{work}/cache"
os.makedirs(cache, exist_ok=True)
np.save(f"{cache}/features.npy", np.concatenate(X).astype(np.float32))
with open(f"{cache}/index.csv", "w") as f:
    f.write("id,filename,y,a,split\n")
    for i, (y, a, s) in enumerate(rows):
        f.write(f"{i},toy/{i}.jpg,{y},{a},{s}\n")
json.dump({"version": 1, "complete": True, "model": {"path": "vitb32.safetensors", "checksum": "", "embed_dim": len(core)},
           "dataset": {"name": "waterbirds", "classnames": ["landbird", "waterbird"], "attr_names": ["land", "water"]},
           "rows": len(rows), "skipped": []}, open(f"{cache}/cache.json", "w"))
print(f"cache: {len(rows)} rows ({sum(counts[0])} train, {sum(counts[1])} val, {sum(counts[2])} test), {len(core)} wide")
PY

[ -n "${CD_BENCH_PREPARE_ONLY:-}" ] && exit 0 # bench_lockstep.sh: the checkpoint and cache only

echo "== clipdebias run (threads $threads, $epochs epochs, erm + dpt, seed 0)"
rm -rf "$work/run"
s=$(date +%s.%N)
OMP_NUM_THREADS=$threads "$bin" run --cache "$work/cache" --model "$ckpt" --out "$work/run" --methods zeroshot,erm,dpt \
  --seeds 0 --epochs "$epochs" --threads "$threads" | sed -n '/^test (/,$p'
e=$(date +%s.%N)
ours=$(echo "$s $e" | awk '{print $2 - $1}')
echo "== PyTorch (threads $threads)"
s=$(date +%s.%N)
OMP_NUM_THREADS=$threads "$py" "$here/run_torch.py" "$work/cache" "$ckpt" "$work/tokens.npz" "$epochs" "$threads" erm,dpt
e=$(date +%s.%N)
theirs=$(echo "$s $e" | awk '{print $2 - $1}')
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "wall time: clipdebias %.1f s, PyTorch %.1f s: %.1fx\n", a, b, b / a }'
