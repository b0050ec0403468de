#!/usr/bin/env python3
"""CoOp fixture: a small random CLIP (OpenAI naming, plus open_clip_config.json for the head
counts) and CoOp prompt-learner cases computed in plain PyTorch (float64), the way CoOp's
PromptLearner + TextEncoder run upstream CLIP's text transformer over the full context.

Cases cover unified and class-specific context and the end / middle / front class positions.
Token ids come from a made-up 64-entry vocabulary (SOT 62, EOT 63 = the largest id, so the
upstream argmax finds EOT); the test reads them directly and needs no BPE file.

Writes tests/fixtures/coop/: model.safetensors, open_clip_config.json, features.npy,
labels.npy, weights.npy, name_lens.npy, case<k>_{tokens,ctx,text_features,logits,grad}.npy and
cases.json (settings + losses). Usage: python3 tools/gen/gen_coop_fixtures.py [outdir]
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "tests", "fixtures", "coop")

VOCAB, CTX, W, LAYERS, HEADS, EMBED = 64, 24, 32, 2, 2, 16
VW, PATCH, IMG = 32, 8, 16
SOT, EOT, X, PERIOD = 62, 63, 5, 7
NAMES = [[10], [11, 12], [13, 14, 15]]          # pre-tokenized class names
N = 10

g = torch.Generator().manual_seed(1234)


def rnd(*shape, scale=1.0, offset=0.0):
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale + offset)


def block(width, prefix):
    p = {}
    p[prefix + "ln_1.weight"] = rnd(width, scale=0.3, offset=1.0)
    p[prefix + "ln_1.bias"] = rnd(width, scale=0.2)
    p[prefix + "attn.in_proj_weight"] = rnd(3 * width, width, scale=0.35)
    p[prefix + "attn.in_proj_bias"] = rnd(3 * width, scale=0.2)
    p[prefix + "attn.out_proj.weight"] = rnd(width, width, scale=0.2)
    p[prefix + "attn.out_proj.bias"] = rnd(width, scale=0.2)
    p[prefix + "ln_2.weight"] = rnd(width, scale=0.3, offset=1.0)
    p[prefix + "ln_2.bias"] = rnd(width, scale=0.2)
    p[prefix + "mlp.c_fc.weight"] = rnd(4 * width, width, scale=0.2)
    p[prefix + "mlp.c_fc.bias"] = rnd(4 * width, scale=0.2)
    p[prefix + "mlp.c_proj.weight"] = rnd(width, 4 * width, scale=0.1)
    p[prefix + "mlp.c_proj.bias"] = rnd(width, scale=0.2)
    return p


def make_weights():
    p = {}
    p["token_embedding.weight"] = rnd(VOCAB, W, scale=0.5)
    p["positional_embedding"] = rnd(CTX, W, scale=0.3)
    for l in range(LAYERS):
        p.update(block(W, f"transformer.resblocks.{l}."))
    p["ln_final.weight"] = rnd(W, scale=0.3, offset=1.0)
    p["ln_final.bias"] = rnd(W, scale=0.2)
    p["text_projection"] = rnd(W, EMBED, scale=0.3)      # upstream: x @ text_projection
    p["logit_scale"] = torch.tensor(math.log(1 / 0.07), dtype=torch.float64)
    grid = IMG // PATCH
    p["visual.conv1.weight"] = rnd(VW, 3, PATCH, PATCH, scale=0.1)
    p["visual.class_embedding"] = rnd(VW, scale=0.3)
    p["visual.positional_embedding"] = rnd(grid * grid + 1, VW, scale=0.3)
    p["visual.ln_pre.weight"] = rnd(VW, scale=0.3, offset=1.0)
    p["visual.ln_pre.bias"] = rnd(VW, scale=0.2)
    p.update(block(VW, "visual.transformer.resblocks.0."))
    p["visual.ln_post.weight"] = rnd(VW, scale=0.3, offset=1.0)
    p["visual.ln_post.bias"] = rnd(VW, scale=0.2)
    p["visual.proj"] = rnd(VW, EMBED, scale=0.3)
    # stored as float32; the reference computes in float64 from the rounded values
    return {k: v.float().double() for k, v in p.items()}


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name].float().numpy().astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---- upstream CLIP text transformer in plain torch (clip/model.py semantics) ----

def layer_norm(x, w, b):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, 1e-5)


def resblock(x, p, pre, heads):
    T, C = x.shape[1], x.shape[2]
    h = layer_norm(x, p[pre + "ln_1.weight"], p[pre + "ln_1.bias"])
    qkv = h @ p[pre + "attn.in_proj_weight"].T + p[pre + "attn.in_proj_bias"]
    q, k, v = qkv.split(C, dim=-1)
    hs = C // heads
    def split(t):
        return t.view(t.shape[0], T, heads, hs).transpose(1, 2)
    q, k, v = split(q), split(k), split(v)
    att = (q @ k.transpose(-1, -2)) / math.sqrt(hs)
    mask = torch.full((T, T), float("-inf"), dtype=x.dtype).triu_(1)   # build_attention_mask
    att = torch.softmax(att + mask, dim=-1)
    o = (att @ v).transpose(1, 2).reshape(x.shape[0], T, C)
    x = x + o @ p[pre + "attn.out_proj.weight"].T + p[pre + "attn.out_proj.bias"]
    h = layer_norm(x, p[pre + "ln_2.weight"], p[pre + "ln_2.bias"])
    h = h @ p[pre + "mlp.c_fc.weight"].T + p[pre + "mlp.c_fc.bias"]
    h = h * torch.sigmoid(1.702 * h)                                      # QuickGELU
    return x + h @ p[pre + "mlp.c_proj.weight"].T + p[pre + "mlp.c_proj.bias"]


def text_encoder(prompts, tokens, p):
    x = prompts + p["positional_embedding"]
    for l in range(LAYERS):
        x = resblock(x, p, f"transformer.resblocks.{l}.", HEADS)
    x = layer_norm(x, p["ln_final.weight"], p["ln_final.bias"])
    return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ p["text_projection"]


def tokenize(n_ctx):
    rows = []
    for name in NAMES:   # "X X .. X <name>." -> SOT X.. name . EOT, zero padded
        r = [SOT] + [X] * n_ctx + name + [PERIOD, EOT]
        rows.append(r + [0] * (CTX - len(r)))
    return torch.tensor(rows, dtype=torch.int64)


def prompt_learner(ctx, tokens, n_ctx, position, p):
    """CoOp PromptLearner.forward, verbatim in structure."""
    n_cls = len(NAMES)
    emb = p["token_embedding.weight"][tokens]
    prefix, suffix = emb[:, :1, :], emb[:, 1 + n_ctx:, :]
    if ctx.dim() == 2:
        ctx = ctx.unsqueeze(0).expand(n_cls, -1, -1)
    if position == "end":
        return torch.cat([prefix, ctx, suffix], dim=1)
    out = []
    half = n_ctx // 2
    for i in range(n_cls):
        nl = len(NAMES[i])
        cls_i, suf_i = suffix[i:i + 1, :nl], suffix[i:i + 1, nl:]
        if position == "middle":
            out.append(torch.cat([prefix[i:i + 1], ctx[i:i + 1, :half], cls_i,
                                  ctx[i:i + 1, half:], suf_i], dim=1))
        else:
            out.append(torch.cat([prefix[i:i + 1], cls_i, ctx[i:i + 1], suf_i], dim=1))
    return torch.cat(out, dim=0)


def main():
    os.makedirs(OUT, exist_ok=True)
    p = make_weights()
    save_safetensors(os.path.join(OUT, "model.safetensors"), p)
    cfg = {"model_cfg": {"embed_dim": EMBED, "quick_gelu": True,
                         "vision_cfg": {"image_size": IMG, "layers": 1, "width": VW,
                                        "patch_size": PATCH, "head_width": VW},
                         "text_cfg": {"context_length": CTX, "vocab_size": VOCAB, "width": W,
                                      "heads": HEADS, "layers": LAYERS}}}
    with open(os.path.join(OUT, "open_clip_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    feats = rnd(N, EMBED).float().double()
    labels = torch.tensor([i % len(NAMES) for i in range(N)], dtype=torch.int64)
    weights = (rnd(N, scale=0.5).abs() + 0.5).float().double()
    np.save(os.path.join(OUT, "features.npy"), feats.float().numpy())
    np.save(os.path.join(OUT, "labels.npy"), labels.numpy())
    np.save(os.path.join(OUT, "weights.npy"), weights.float().numpy())
    np.save(os.path.join(OUT, "name_lens.npy"), np.array([len(n) for n in NAMES], np.int32))
    cases = [("unified", "end", 4), ("csc", "middle", 5), ("unified", "front", 3),
             ("csc", "end", 2), ("unified", "middle", 4), ("csc", "front", 3)]
    meta = []
    img = feats / feats.norm(dim=-1, keepdim=True)
    for k, (kind, position, n_ctx) in enumerate(cases):
        tokens = tokenize(n_ctx)
        shape = (len(NAMES), n_ctx, W) if kind == "csc" else (n_ctx, W)
        ctx = rnd(*shape, scale=0.5).float().double().requires_grad_(True)
        txt = text_encoder(prompt_learner(ctx, tokens, n_ctx, position, p), tokens, p)
        tn = txt / txt.norm(dim=-1, keepdim=True)
        logits = p["logit_scale"].exp() * img @ tn.T
        ce = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
        loss = (weights * ce).sum() / weights.sum()
        loss.backward()
        pre = os.path.join(OUT, f"case{k}_")
        np.save(pre + "tokens.npy", tokens.numpy().astype(np.int32))
        np.save(pre + "ctx.npy", ctx.detach().float().numpy())
        np.save(pre + "text_features.npy", txt.detach().float().numpy())
        np.save(pre + "logits.npy", logits.detach().float().numpy())
        np.save(pre + "grad.npy", ctx.grad.float().numpy())
        meta.append({"case": k, "csc": kind == "csc", "position": position, "n_ctx": n_ctx,
                     "loss": loss.item()})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"cases": meta, "sot": SOT, "eot": EOT, "x": X, "period": PERIOD,
                   "names": NAMES}, f, indent=1)


if __name__ == "__main__":
    main()
