#!/usr/bin/python3
"""Checks, in PyTorch, what the toy CLIP must show on the toy Waterbirds before it ships:
zero-shot class and background accuracy per group, background pseudo-label accuracy, and
CoOp prompt tuning with uniform weights (ERM), DPT reweighting (pseudo groups) and oracle
reweighting (true groups), with the defaults of docs/dpt.md (SGD 0.002, momentum 0.9,
cosine, batch 32, context "a photo of a", eta 2, EMA 0.9), each reported at its last epoch
as `clipdebias demo` does (or, with --select val-pseudo, at the epoch of the best validation
worst-group accuracy over pseudo groups). Prints the plain and the adjusted (train-weighted,
Waterbirds') average. A development aid for tools/gen/train_toyclip.py; the engine's own
`clipdebias demo` is the real measurement.

  /usr/bin/python3 tools/gen/toyclip_check.py [--work /tmp/toyclip-work] [--epochs 50] [--seeds 0,1,2]
"""
import argparse
import csv
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_model_fixtures as gmf  # noqa: E402
import train_toyclip as tt  # noqa: E402


def load(work):
    ck = torch.load(os.path.join(work, "toyclip_last.pt"))
    model = tt.make_model(len(ck["vocab"]), tt.CONTEXT)
    model.load_state_dict(ck["state_dict"])
    return model.eval(), ck["vocab"], ck["merges"]


def world_features(model, work, clipdebias):
    d = os.path.join(work, "waterbirds_seed0")
    if not os.path.exists(os.path.join(d, "toyworld.json")):
        tt.run([clipdebias, "toyworld", "--out", d, "--seed", "0"])
    with open(os.path.join(d, "metadata.csv")) as f:
        rows = list(csv.DictReader(f))
    u8 = tt.load_pixels(d, [r["img_filename"] for r in rows], tt.ARCH["image"], os.path.join(work, "wb_all_u8_%d.npy" % tt.ARCH["image"]))
    feats = tt.encode_images(model, u8)
    feats = feats / feats.norm(dim=-1, keepdim=True)
    col = lambda k: np.array([int(r[k]) for r in rows])  # noqa: E731
    return feats, col("y"), col("place"), col("split")


class PromptText(torch.nn.Module):
    """CoOp: SOT ctx_1..ctx_n <class> . EOT through the frozen text tower."""

    def __init__(self, model, vocab, merges, classnames, init="a photo of a"):
        super().__init__()
        self.m = model
        init_ids = [t for t in gmf.tokenize(init, vocab, merges) if t][1:-1]
        self.n_ctx = len(init_ids)
        toks = [gmf.tokenize(init + " " + c + ".", vocab, merges) for c in classnames]
        self.tokens = torch.tensor(toks, dtype=torch.long)
        with torch.no_grad():
            emb = model.token_embedding(self.tokens[:1, 1:1 + self.n_ctx])[0].clone()
        self.ctx = torch.nn.Parameter(emb)

    def forward(self):
        m = self.m
        x = m.token_embedding(self.tokens).detach()
        x = torch.cat([x[:, :1], self.ctx[None].expand(x.shape[0], -1, -1), x[:, 1 + self.n_ctx:]], 1)
        x = x + m.positional_embedding
        x = m.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = m.ln_final(x)
        x = x[torch.arange(x.shape[0]), self.tokens.argmax(-1)] @ m.text_projection
        return x / x.norm(dim=-1, keepdim=True)


def group_acc(pred, y, a):
    g = 2 * y + a
    accs = [float((pred[g == k] == y[g == k]).mean()) if (g == k).any() else float("nan") for k in range(4)]
    return accs, float((pred == y).mean())


def adjusted(accs, train_counts):
    """Waterbirds' average: group accuracies weighted by the training split's group sizes."""
    return float(np.dot(accs, train_counts) / np.sum(train_counts))


def coop(model, vocab, merges, feats, y, a_true, a_pseudo, split, method, seed, epochs, select, eta=2.0, ema=0.9):
    torch.manual_seed(seed)
    pt = PromptText(model, vocab, merges, tt.CLASSNAMES)
    for p in model.parameters():
        p.requires_grad_(False)
    scale = model.logit_scale.exp().item()
    tr = np.nonzero(split == 0)[0]
    va = np.nonzero(split == 1)[0]
    te = np.nonzero(split == 2)[0]
    gtrue = 2 * y + a_true
    gps = 2 * y + a_pseudo
    wg = gps if method == "dpt" else gtrue
    counts = np.bincount(wg[tr], minlength=4).astype(np.float64)
    opt = torch.optim.SGD(pt.parameters(), lr=0.002, momentum=0.9, weight_decay=5e-4)
    X = feats
    Y = torch.from_numpy(y).long()

    def probs_train():
        with torch.no_grad():
            t = pt()
            return F.softmax(scale * X[tr] @ t.t(), 1)[torch.arange(len(tr)), Y[tr]].numpy()

    def weights(p):
        pbar = np.array([p[wg[tr] == k].mean() if counts[k] else 0 for k in range(4)])
        w = np.where(counts > 0, np.exp(eta * (1 - pbar)) / np.maximum(counts, 1), 0) if method == "dpt" else \
            np.where(counts > 0, 1 / np.maximum(counts, 1), 0)
        return w / (w[wg[tr]].mean())

    w = weights(probs_train()) if method != "erm" else np.ones(4)
    rng = np.random.default_rng(seed)
    best = (-1, None)
    steps_per_epoch = (len(tr) + 31) // 32
    for ep in range(1, epochs + 1):
        lr = 1e-5 if ep == 1 else 0.002 * 0.5 * (1 + np.cos(np.pi * (ep - 2) / max(1, epochs - 1)))
        for g_ in opt.param_groups:
            g_["lr"] = lr
        order = rng.permutation(tr)
        for b in range(steps_per_epoch):
            idx = order[b * 32:(b + 1) * 32]
            t = pt()
            logits = scale * X[idx] @ t.t()
            ce = F.cross_entropy(logits, Y[idx], reduction="none")
            ws = torch.from_numpy(w[wg[idx]]).float()
            loss = (ws * ce).sum() / ws.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if method == "dpt":
            w = ema * w + (1 - ema) * weights(probs_train())
        with torch.no_grad():
            pred = (X @ pt().t()).argmax(1).numpy()
        vacc, _ = group_acc(pred[va], y[va], a_pseudo[va])
        sel = ep if select == "last" else np.nanmin(vacc)
        if sel > best[0]:
            best = (sel, pred.copy(), ep)
    pred = best[1]
    accs, avg = group_acc(pred[te], y[te], a_true[te])
    return accs, avg, best[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="/tmp/toyclip-work")
    ap.add_argument("--clipdebias", default=os.path.join(tt.ROOT, "build", "clipdebias"))
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="erm,dpt,oracle")
    ap.add_argument("--select", default="last", choices=["last", "val-pseudo"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, vocab, merges = load(args.work)
    feats, y, a, split = world_features(model, args.work, args.clipdebias)
    te = split == 2
    train_counts = np.bincount((2 * y + a)[split == 0], minlength=4)
    cls = tt.zeroshot(feats, tt.encode_texts(model, ["a photo of a %s." % c for c in tt.CLASSNAMES], vocab, merges))
    bg = tt.zeroshot(feats, tt.encode_texts(model, ["a photo of a bird on %s." % t for t in tt.ATTRS], vocab, merges))
    accs, avg = group_acc(cls[te], y[te], a[te])
    print("zeroshot  groups %s  avg %.3f  adjusted %.3f  worst %.3f" % (
        " ".join("%.3f" % v for v in accs), avg, adjusted(accs, train_counts), min(accs)))
    trva = split < 2
    print("background zero-shot acc: test %.3f, pseudo labels train+val %.3f" % (
        (bg[te] == a[te]).mean(), (bg[trva] == a[trva]).mean()))
    for method in args.methods.split(","):
        res = []
        t0 = time.time()
        for s in [int(x) for x in args.seeds.split(",")]:
            res.append(coop(model, vocab, merges, feats, y, a, bg, split, method, s, args.epochs, args.select))
        g = np.mean([r[0] for r in res], 0)
        print("%-8s groups %s  avg %.3f  adjusted %.3f  worst %.3f  (epochs %s, %.0f s)" % (
            method, " ".join("%.3f" % v for v in g), np.mean([r[1] for r in res]),
            np.mean([adjusted(r[0], train_counts) for r in res]),
            np.mean([min(r[0]) for r in res]), [r[2] for r in res], time.time() - t0), flush=True)


if __name__ == "__main__":
    main()
