#!/bin/bash
# Decode + CLIP preprocessing throughput, C pipeline vs Pillow+torchvision, same images,
# same thread count. Usage: bench/bench_preprocess.sh [build-dir] [n-images] [threads]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
N="${2:-200}"
THREADS="${3:-2}"
PY=/usr/bin/python3
DIR="$(mktemp -d /tmp/bench_preprocess.XXXXXX)"
trap 'rm -rf "$DIR"' EXIT

cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" --target bench_preprocess -j2 >/dev/null
# 500x375 JPEGs (quality 90, 4:2:0) with photo-like smooth content plus noise.
"$PY" - "$DIR" "$N" <<'PYEOF'
import sys, numpy as np
from PIL import Image
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
yy, xx = np.mgrid[0:375, 0:500]
for i in range(n):
    base = np.stack([(xx * (1 + i % 3) + yy) % 256, (yy * 2 + i) % 256, (xx + yy * (i % 5)) % 256], -1)
    img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(img, "RGB").save("%s/img%04d.jpg" % (d, i), quality=90)
PYEOF
FILES=("$DIR"/*.jpg)
C_OUT="$(OMP_NUM_THREADS=$THREADS "$BUILD/bench_preprocess" "$THREADS" 224 "${FILES[@]}")"
P_OUT="$("$PY" "$ROOT/bench/preprocess_torch.py" "$THREADS" 224 "${FILES[@]}")"
echo "$C_OUT"
echo "$P_OUT"
c=$(echo "$C_OUT" | sed -E 's/.*: ([0-9.]+) images\/s/\1/')
p=$(echo "$P_OUT" | sed -E 's/.*: ([0-9.]+) images\/s/\1/')
"$PY" -c "print('speed ratio C / reference: %.2fx' % ($c / $p))"
