#!/usr/bin/env python3
"""PyTorch baseline for bench_run.sh: the same `clipdebias run --methods zeroshot,erm,dpt` on
the same feature cache and the same text tower, written the way a PyTorch user would:
upstream-style CLIP text encoder over all 77 tokens (tools/gen/clip_torch.py), a CoOp prompt
learner (context initialised from "a photo of a", class name at the end), cosine logits,
SGD momentum 0.9 / weight decay 5e-4 with Dassl's constant warm-up + cosine schedule, batch 32
with drop_last, and DPT's reweighting (pseudo groups from the attribute prompts,
w_g ~ exp(eta (1 - p_g)) / N_g normalised to a per-sample mean of 1, EMA after every epoch,
loss sum w CE / sum w). The batch order is clipdebias's (same splitmix64 shuffle), so the
numbers should agree up to float32 noise. Model selection: validation worst group over
pseudo groups, like run's default.
usage: run_torch.py CACHE CKPT TOKENS.npz EPOCHS THREADS [methods]   (prints a table)"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "gen"))
import torch_onednn  # noqa: E402
from clip_torch import LayerNorm, Transformer  # noqa: E402

cache, ckpt, tokens_path, EPOCHS, THREADS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
METHODS = sys.argv[6].split(",") if len(sys.argv) > 6 else ["erm", "dpt"]
torch.set_num_threads(THREADS)
backend = torch_onednn.use()
LR, MOMENTUM, WD, WARMUP_EPOCHS, WARMUP_LR, BATCH, ETA, EMA = 0.002, 0.9, 5e-4, 1, 1e-5, 32, 2.0, 0.9
M64 = (1 << 64) - 1


def read_text_tower(path):
    """The text tensors of an OpenAI-naming .safetensors (F32), without the safetensors package."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for k, v in header.items():
            if k == "__metadata__" or k.startswith("visual."):
                continue
            assert v["dtype"] == "F32", "bench expects an F32 checkpoint"
            a, b = v["data_offsets"]
            f.seek(base + a)
            out[k] = torch.from_numpy(np.frombuffer(f.read(b - a), dtype=np.float32).reshape(v["shape"]).copy())
    return out


class TextTower(nn.Module):
    def __init__(self, sd):
        super().__init__()
        W = sd["ln_final.weight"].shape[0]
        L = len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks")})
        ctx = sd["positional_embedding"].shape[0]
        mask = torch.empty(ctx, ctx).fill_(float("-inf")).triu_(1)
        self.transformer = Transformer(W, L, W // 64, attn_mask=mask)
        self.token_embedding = nn.Embedding(sd["token_embedding.weight"].shape[0], W)
        self.positional_embedding = nn.Parameter(torch.empty(ctx, W))
        self.ln_final = LayerNorm(W)
        self.text_projection = nn.Parameter(torch.empty(W, sd["text_projection"].shape[1]))
        self.load_state_dict({k: v for k, v in sd.items() if k != "logit_scale"})
        self.logit_scale = float(sd["logit_scale"])
        for p in self.parameters():
            p.requires_grad_(False)

    def from_embeddings(self, x, tokens):
        x = x + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ self.text_projection

    def encode(self, tokens):
        return self.from_embeddings(self.token_embedding(tokens), tokens)


def splitmix(s):
    s = (s + 0x9E3779B97F4A7C15) & M64
    z = s
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return s, z ^ (z >> 31)


def epoch_order(n, seed, epoch):  # clipdebias's cd_tune_epoch_order
    s = (seed * 0x2545F4914F6CDD1D + epoch * 0x9E3779B97F4A7C15 + 1) & M64
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        s, z = splitmix(s)
        j = z % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def lr_at(e):
    if e < WARMUP_EPOCHS:
        return WARMUP_LR
    return LR * (1 + math.cos(math.pi * (e - WARMUP_EPOCHS) / EPOCHS)) / 2


def metrics(pred, y, a, rows, train_counts):
    p, yy, aa = pred[rows], y[rows], a[rows]
    g = 2 * yy + aa
    accs = [float((p[g == k] == yy[g == k]).mean()) if (g == k).any() else float("nan") for k in range(4)]
    present = [k for k in range(4) if (g == k).any()]
    avg = float((p == yy).mean())
    adj = sum(accs[k] * train_counts[k] for k in present) / sum(train_counts[k] for k in present)
    worst = min(accs[k] for k in present)
    return avg, adj, worst, avg - worst


def main():
    t_start = time.perf_counter()
    x = torch.from_numpy(np.load(os.path.join(cache, "features.npy")))
    x = x / x.norm(dim=-1, keepdim=True)
    idx = np.genfromtxt(os.path.join(cache, "index.csv"), delimiter=",", skip_header=1, dtype=np.int64,
                        usecols=(2, 3, 4))
    y, a, split = idx[:, 0], idx[:, 1], idx[:, 2]
    rows = [np.nonzero(split == s)[0] for s in range(3)]
    tok = np.load(tokens_path)
    zs_tokens, attr_tokens = torch.from_numpy(tok["classes"]).long(), torch.from_numpy(tok["attrs"]).long()
    tower = TextTower(read_text_tower(ckpt))
    scale = math.exp(tower.logit_scale)
    with torch.no_grad():
        t = tower.encode(zs_tokens)
        t = t / t.norm(dim=-1, keepdim=True)
        ta = tower.encode(attr_tokens)
        ta = ta / ta.norm(dim=-1, keepdim=True)
    zs_pred = (x @ t.t()).argmax(dim=1).numpy()
    a_pseudo = (x @ ta.t()).argmax(dim=1).numpy()
    tr = rows[0]
    train_counts = [int(((2 * y[tr] + a[tr]) == k).sum()) for k in range(4)]
    g_pseudo = torch.from_numpy(2 * y[tr] + a_pseudo[tr])
    n_pseudo = torch.bincount(g_pseudo, minlength=4).double()
    results = {"zeroshot": metrics(zs_pred, y, a, rows[2], train_counts)}
    xtr, ytr = x[tr], torch.from_numpy(y[tr])
    with torch.no_grad():
        emb = tower.token_embedding(zs_tokens)
    NCTX = 4  # "a photo of a"
    prefix, suffix = emb[:, :1], emb[:, 1 + NCTX:]

    def class_features(ctx):
        prompts = torch.cat([prefix, ctx.unsqueeze(0).expand(zs_tokens.shape[0], -1, -1), suffix], dim=1)
        f = tower.from_embeddings(prompts, zs_tokens)
        return f / f.norm(dim=-1, keepdim=True)

    def dpt_target(p_bar):
        w = torch.exp(ETA * (1 - p_bar)) / n_pseudo.clamp(min=1)
        w[n_pseudo == 0] = 0
        return w * n_pseudo.sum() / (n_pseudo * w).sum()

    for method in METHODS:
        ctx = nn.Parameter(emb[0, 1:1 + NCTX].clone())
        opt = torch.optim.SGD([ctx], lr=LR, momentum=MOMENTUM, weight_decay=WD)
        with torch.no_grad():
            p0 = torch.softmax(scale * xtr @ class_features(ctx).t(), dim=1)[torch.arange(len(tr)), ytr].double()
        p_bar = torch.zeros(4, dtype=torch.float64).index_add_(0, g_pseudo, p0) / n_pseudo.clamp(min=1)
        w = dpt_target(p_bar)
        best, chosen = -1.0, None
        for epoch in range(EPOCHS):
            for grp in opt.param_groups:
                grp["lr"] = lr_at(epoch)
            perm = epoch_order(len(tr), 0, epoch)
            p_sum, p_n = torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
            for b in range(len(tr) // BATCH):
                bi = torch.tensor(perm[b * BATCH:(b + 1) * BATCH])
                logits = scale * xtr[bi] @ class_features(ctx).t()
                ce = nn.functional.cross_entropy(logits, ytr[bi], reduction="none")
                gb = g_pseudo[bi]
                with torch.no_grad():
                    pt = torch.softmax(logits, dim=1)[torch.arange(len(bi)), ytr[bi]].double()
                    p_sum.index_add_(0, gb, pt)
                    p_n.index_add_(0, gb, torch.ones(len(bi), dtype=torch.float64))
                wb = w[gb].float() if method == "dpt" else torch.ones(len(bi))
                loss = (wb * ce).sum() / wb.sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
            seen = p_n > 0
            p_bar[seen] = p_sum[seen] / p_n[seen]
            w = EMA * w + (1 - EMA) * dpt_target(p_bar)
            with torch.no_grad():
                pred = (x @ class_features(ctx).t()).argmax(dim=1).numpy()
            val = rows[1]
            gv = 2 * y[val] + a_pseudo[val]
            worst_pseudo = min(float((pred[val][gv == k] == y[val][gv == k]).mean()) for k in range(4) if (gv == k).any())
            if worst_pseudo > best:
                best, chosen = worst_pseudo, metrics(pred, y, a, rows[2], train_counts)
        results[method] = chosen
    wall = time.perf_counter() - t_start
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, linear backend {backend}")
    print(f"{'method':<10} {'avg':>7} {'adjusted':>9} {'worst':>7} {'gap':>7}")
    for m, (avg, adj, worst, gap) in results.items():
        print(f"{m:<10} {100 * avg:7.2f} {100 * adj:9.2f} {100 * worst:7.2f} {100 * gap:7.2f}")
    print(f"wall {wall:.2f}")


main()
