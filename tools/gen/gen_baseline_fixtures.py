#!/usr/bin/env python3
"""Baselines fixture: a small cache of image features with groups, class and attribute prompt
features, and what Orth-Proj, Orth-Cali, RoboShot, L1 logistic regression and DFR make of them,
computed here in numpy the way the authors' code does it (independently of the C engine):
  - Orth-Proj / Orth-Cali: chingyaoc/debias_vl discriminative/main.py (get_proj_matrix with an
    SVD basis, get_M, G = lam*M + I, P = P0 inv(G), text @ P.T, normalised);
  - RoboShot: SprocketLab/roboshot run.py (np.linalg.qr of the differences, the rejection loop);
  - L1 logistic regression: min |w|_1 + C sum log(1 + exp(-y w.[x;1])) by plain proximal
    gradient run to convergence (a different solver from the engine's FISTA);
  - DFR: PolinaKirichenko/deep_feature_reweighting dfr_on_validation_tune / _eval with the
    engine's documented random draws (splitmix64, Fisher-Yates) so the subsets are the same.

Writes tests/fixtures/baselines/: x.npy y.npy a.npy (the small cache: 240 rows of 16 features,
2 classes x 2 attribute values), t.npy (class features), attr.npy (3 spurious prompts), z.npy
(4 candidates, class-major), t_proj.npy, t_cali.npy, x_robo.npy, lr_x.npy lr_y.npy lr_w.npy,
dfr_w.npy (DFR on the first 160 rows as validation, all 240 for the scaler), expected.json.
Usage: /usr/bin/python3 tools/gen/gen_baseline_fixtures.py [outdir]
"""
import json
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "tests", "fixtures", "baselines")
D, N, LAM = 16, 240, 1000.0
M64 = (1 << 64) - 1


def n(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def groups_acc(pred, y, a):
    """Average and worst-group accuracy in %."""
    accs = [np.mean(pred[(y == c) & (a == k)] == c) for c in (0, 1) for k in (0, 1)]
    return 100 * np.mean(pred == y), 100 * min(accs)


def world(rng):
    core, spur = n(rng.normal(size=(2, D))), n(rng.normal(size=(2, D)))
    y = rng.integers(0, 2, N)
    a = np.where(rng.random(N) < 0.8, y, 1 - y)
    x = n(0.6 * core[y] + 0.9 * spur[a] + 0.35 * rng.normal(size=(N, D)))
    t = n(core + 0.9 * spur + 0.1 * rng.normal(size=(2, D)))       # biased class prompts
    attr = n(np.stack([spur[0], spur[1], spur[0] + spur[1]]) + 0.2 * rng.normal(size=(3, D)))
    z = n(np.stack([t[c] + 0.6 * spur[k] for c in (0, 1) for k in (0, 1)]) + 0.05 * rng.normal(size=(4, D)))
    return x, y, a, t, attr, z


def orth(t, attr, z, lam):
    # get_proj_matrix: basis of the row space (TruncatedSVD with K components ~ exact SVD)
    _, _, vt = np.linalg.svd(attr, full_matrices=False)
    basis = vt.T
    p0 = np.eye(D) - basis @ np.linalg.inv(basis.T @ basis) @ basis.T
    m = np.zeros((D, D))
    for i, j in [(0, 1), (2, 3)]:
        dz = (z[i] - z[j])[:, None]
        m += dz @ dz.T
    m /= 2
    p = p0 @ np.linalg.inv(lam * m + np.eye(D))
    return n(t @ p.T)


def roboshot(x, attr):
    v = (attr[0] - attr[1])[None, :]
    q, _ = np.linalg.qr(v.T)
    out = n(x.copy())
    for q_k in q.T:
        cos = out @ q_k / np.linalg.norm(q_k)
        out = n(out - cos[:, None] * q_k[None, :] / np.linalg.norm(q_k))
    return out


def logreg_l1(x, ypm, c, iters=60000):
    """Proximal gradient with step 1/L on the objective of dfr.h (the intercept penalised)."""
    xh = np.hstack([x, np.ones((len(x), 1))])
    lip = 0.25 * c * np.linalg.eigvalsh(xh.T @ xh).max()
    w = np.zeros(xh.shape[1])
    for _ in range(iters):
        mrg = ypm * (xh @ w)
        g = -c * xh.T @ (ypm / (1 + np.exp(mrg)))
        u = w - g / lip
        w = np.sign(u) * np.maximum(np.abs(u) - 1 / lip, 0)
    return w


class SplitMix:
    def __init__(self, seed):
        self.s = (seed * 0x9E3779B97F4A7C15 + 17) & M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def shuffle(self, v):
        for i in range(len(v) - 1, 0, -1):
            j = self.next() % (i + 1)
            v[i], v[j] = v[j], v[i]


def balance(rows, g, n_groups, rng):
    sizes = [sum(1 for r in rows if g[r] == k) for k in range(n_groups)]
    m = min(s for s in sizes if s > 0)
    kept = []
    for k in range(n_groups):
        members = [r for r in rows if g[r] == k]
        rng.shuffle(members)
        kept += members[:m]
    return kept, m


def scaler(x):
    mean, std = x.mean(0), x.std(0)
    return mean, np.where(std > 0, std, 1.0)


def dfr(xv, yv, gv, xtr, grid, fits, seed):
    rng = SplitMix(seed)
    nv = len(xv)
    rows = list(range(nv))
    rng.shuffle(rows)
    held, rest = rows[:nv // 2], rows[nv // 2:]
    fit_rows, _ = balance(rest, gv, 4, rng)
    mu, sd = scaler(xv[fit_rows])
    xf, xh = (xv[fit_rows] - mu) / sd, (xv[held] - mu) / sd
    wga = []
    for c in grid:
        w = logreg_l1(xf, np.where(yv[fit_rows] == 1, 1.0, -1.0), c)
        pred = (xh @ w[:-1] + w[-1] > 0).astype(int)
        accs = [np.mean(pred[gv[held] == k] == yv[held][gv[held] == k]) for k in range(4) if np.any(gv[held] == k)]
        wga.append(min(accs))
    best = int(np.argmax(wga))                       # first maximum, as the grid order
    mu, sd = scaler(xtr)
    wsum = np.zeros(xv.shape[1] + 1)
    for _ in range(fits):
        sub, _ = balance(list(range(nv)), gv, 4, rng)
        wsum += logreg_l1((xv[sub] - mu) / sd, np.where(yv[sub] == 1, 1.0, -1.0), grid[best]) / fits
    return best, wga, mu, sd, wsum


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(17)
    x, y, a, t, attr, z = world(rng)
    exp = {}
    exp["zeroshot"] = groups_acc(np.argmax(x @ t.T, 1), y, a)
    t_proj = orth(t, attr, z, 0.0)
    t_cali = orth(t, attr, z, LAM)
    exp["orth_proj"] = groups_acc(np.argmax(x @ t_proj.T, 1), y, a)
    exp["orth_cali"] = groups_acc(np.argmax(x @ t_cali.T, 1), y, a)
    x_robo = roboshot(x, attr)
    exp["roboshot"] = groups_acc(np.argmax(x_robo @ t.T, 1), y, a)
    # L1 logistic regression: 60 standardised rows of 5 features
    lx = rng.normal(size=(60, 5))
    ly = np.where(lx[:, 0] - 0.5 * lx[:, 1] + 0.3 * rng.normal(size=60) > 0, 1.0, -1.0)
    lw = logreg_l1(lx, ly, 0.5)
    exp["logreg_c"] = 0.5
    # DFR: the first 160 rows are "val" (groups 2y + a), all 240 the "train" scaler
    grid, fits, seed = [0.1, 1.0, 10.0], 3, 5
    xv, yv, gv = x[:160], y[:160], 2 * y[:160] + a[:160]
    best, wga, mu, sd, dw = dfr(xv, yv, gv, x, grid, fits, seed)
    exp["dfr"] = {"grid": grid, "fits": fits, "seed": seed, "best": best, "held_out_wga": wga,
                  "test": groups_acc(((x - mu) / sd @ dw[:-1] + dw[-1] > 0).astype(int), y, a)}
    f32 = lambda v: np.ascontiguousarray(v, dtype=np.float32)
    i32 = lambda v: np.ascontiguousarray(v, dtype=np.int32)
    for name, v in [("x", f32(x)), ("y", i32(y)), ("a", i32(a)), ("t", f32(t)), ("attr", f32(attr)), ("z", f32(z)),
                    ("t_proj", f32(t_proj)), ("t_cali", f32(t_cali)), ("x_robo", f32(x_robo)),
                    ("lr_x", np.ascontiguousarray(lx)), ("lr_y", i32(ly)),
                    ("lr_w", np.ascontiguousarray(lw)), ("dfr_w", np.ascontiguousarray(dw))]:
        np.save(os.path.join(OUT, name + ".npy"), v)
    exp["lambda"] = LAM
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1)
        f.write("\n")
    print(json.dumps(exp))


if __name__ == "__main__":
    main()
