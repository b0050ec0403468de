#!/usr/bin/env python3
"""Embedding-size reduction fixture: features whose class signal and noise are spread
unevenly over 16 dimensions, two class text features, and what numpy computes from them:
the PCA projection (top-K right singular vectors of the uncentred, L2-normalised TRAINING
rows; sign: largest-magnitude entry of each column positive) and the zero-shot test accuracy
after projecting image and text features with it, at K = 4 and at the full width.

Writes tests/fixtures/reduce/: features.npy float32 [N,D], split.npy int32 [N] (0 train,
1 val, 2 test), y.npy int32 [N], text.npy float32 [2,D], P4.npy float32 [D,4], expected.json.
Usage: python3 tools/gen/gen_reduce_fixtures.py [outdir]
"""
import json
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "tests", "fixtures", "reduce")
D, K = 16, 4
COUNTS = {0: 240, 1: 80, 2: 400}   # rows per split


def normalise(a):
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def zeroshot_acc(x, t, y):
    return float(np.mean(np.argmax(normalise(x) @ normalise(t).T, axis=1) == y))


def pca(x_train, k):
    _, s, vt = np.linalg.svd(normalise(x_train.astype(np.float64)), full_matrices=False)
    p = vt[:k].T.copy()
    for j in range(k):
        if p[np.argmax(np.abs(p[:, j])), j] < 0:
            p[:, j] = -p[:, j]
    return p, s


def main():
    rng = np.random.default_rng(16)
    t = rng.normal(size=(2, D))
    scale = np.linspace(2.0, 0.2, D)           # a spectrum with a few strong directions
    rows, split, y = [], [], []
    for s, n in COUNTS.items():
        for i in range(n):
            c = i % 2
            rows.append(0.5 * t[c] + 0.8 * rng.normal(size=D) * scale + 1.0)
            split.append(s)
            y.append(c)
    x = np.array(rows, dtype=np.float32)
    split = np.array(split, dtype=np.int32)
    y = np.array(y, dtype=np.int32)
    t = t.astype(np.float32)
    p, sv = pca(x[split == 0], K)
    test = split == 2
    xt = x[test].astype(np.float64)
    acc_k = zeroshot_acc(xt @ p, t.astype(np.float64) @ p, y[test])
    acc_full = zeroshot_acc(xt, t.astype(np.float64), y[test])
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "features.npy"), x)
    np.save(os.path.join(OUT, "split.npy"), split)
    np.save(os.path.join(OUT, "y.npy"), y)
    np.save(os.path.join(OUT, "text.npy"), t)
    np.save(os.path.join(OUT, "P4.npy"), p.astype(np.float32))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"K": K, "zeroshot_test_acc_k": acc_k, "zeroshot_test_acc_full": acc_full,
                   "singular_values": [float(v) for v in sv]}, f, indent=1)
        f.write("\n")
    print("zero-shot test accuracy: K=%d %.4f, full %.4f" % (K, acc_k, acc_full))


if __name__ == "__main__":
    main()
