#!/usr/bin/env python3
"""PyTorch baseline for bench_tune: one CoOp step (prompt learner -> upstream-style CLIP text
encoder over all 77 tokens -> cosine logits with cached image features -> weighted CE ->
backward to the context only -> SGD momentum 0.9, weight decay 5e-4) on a ViT-B/32-sized text
tower (width 512, 12 layers, 8 heads, vocab 49408, embed 512) with random frozen weights,
2 classes, 16 context vectors, batch 32.
usage: tune_torch.py [steps] [threads]   prints "steps/s <value>"."""
import math
import sys
import time
from collections import OrderedDict

import torch
import torch.nn as nn

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
threads = int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads()
torch.set_num_threads(threads)
torch.manual_seed(0)
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import torch_onednn  # noqa: E402  (linear layers on oneDNN; BACKEND=default for stock BLAS)
backend = torch_onednn.use()
W, L, H, V, CTX, E, NCTX, B = 512, 12, 8, 49408, 77, 512, 16, 32


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):  # as in upstream clip/model.py
    def __init__(self, d, h, mask):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, h)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(4 * d, d))]))
        self.ln_2 = nn.LayerNorm(d)
        self.attn_mask = mask

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


mask = torch.empty(CTX, CTX).fill_(float("-inf")).triu_(1)
transformer = nn.Sequential(*[ResidualAttentionBlock(W, H, mask) for _ in range(L)])
token_embedding = nn.Embedding(V, W)
positional_embedding = nn.Parameter(torch.randn(CTX, W) * 0.01)
ln_final = nn.LayerNorm(W)
text_projection = nn.Parameter(torch.randn(W, E) * W ** -0.5)
logit_scale = torch.tensor(math.log(100.0))
for mod in (transformer, token_embedding, ln_final):
    for prm in mod.parameters():
        prm.requires_grad_(False)
positional_embedding.requires_grad_(False)
text_projection.requires_grad_(False)

# "X X ... X landbird." / "... waterbird." with the real BPE ids
names = [[1567, 3329], [2505, 3329]]
tokens = torch.zeros(2, CTX, dtype=torch.long)
for c, nm in enumerate(names):
    row = [49406] + [343] * NCTX + nm + [269, 49407]
    tokens[c, :len(row)] = torch.tensor(row)
with torch.no_grad():
    emb = token_embedding(tokens)
prefix, suffix = emb[:, :1], emb[:, 1 + NCTX:]
ctx = nn.Parameter(torch.randn(NCTX, W) * 0.02)
opt = torch.optim.SGD([ctx], lr=0.002, momentum=0.9, weight_decay=5e-4)
img = torch.randn(B, E)
img = img / img.norm(dim=-1, keepdim=True)
labels = torch.arange(B) % 2
weights = torch.rand(B) + 0.5


def step():
    prompts = torch.cat([prefix, ctx.unsqueeze(0).expand(2, -1, -1), suffix], dim=1)
    x = prompts + positional_embedding
    x = transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
    x = ln_final(x)
    txt = x[torch.arange(2), tokens.argmax(dim=-1)] @ text_projection
    txt = txt / txt.norm(dim=-1, keepdim=True)
    logits = logit_scale.exp() * img @ txt.t()
    ce = nn.functional.cross_entropy(logits, labels, reduction="none")
    loss = (weights * ce).sum() / weights.sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


step()  # warm-up
t0 = time.perf_counter()
for _ in range(steps):
    loss = step()
dt = time.perf_counter() - t0
blas = [l.split("BLAS_INFO=")[1].split(",")[0] for l in torch.__config__.show().splitlines()
        if "BLAS_INFO=" in l]
print(f"torch {torch.__version__} (BLAS {blas[0] if blas else '?'}), threads "
      f"{torch.get_num_threads()}, loss {loss:.6f}")
print(f"steps/s {steps / dt:.3f}")
print(f"linear backend {backend}")
