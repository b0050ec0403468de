#!/usr/bin/python3
"""Trains the toy CLIP that ships in models/toyclip/ (Hugging Face CLIPModel layout) on the
toy world's captioned "web" images, and writes its goldens and model card.

  nice -n 10 /usr/bin/python3 tools/gen/train_toyclip.py --clipdebias build/clipdebias

Everything is seeded and run with deterministic algorithms on one thread, so the same command
on the same machine reproduces models/toyclip/model.safetensors bit for bit (other CPUs or
thread counts may round differently). Steps:
  1. `clipdebias toyworld --captions N` renders the captioned images (the C generator);
  2. Pillow preprocesses them exactly as CLIP does (bicubic Resize, CenterCrop) at 64 px;
  3. a byte-level BPE vocabulary (vocab.json, merges.txt) is learnt from the captions;
  4. a small CLIP (ViT 64 px / patch 8, text transformer) trains contrastively;
  5. the checkpoint, config, tokenizer, goldens (tests/fixtures/toyclip) and the model card
     with its zero-shot accuracy per group on the toy Waterbirds test split are written.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import clip_torch  # noqa: E402
import gen_model_fixtures as gmf  # noqa: E402

MEAN = np.array(gmf.MEAN, np.float32)
STD = np.array(gmf.STD, np.float32)
CONTEXT = 77        # exported context; training runs the first TRAIN_CONTEXT positions
TRAIN_CONTEXT = 24  # every caption and prompt used here fits (checked)

ARCH = dict(embed=96, image=64, patch=8, vwidth=96, vlayers=3, vheads=2, twidth=96, tlayers=2, theads=2)
N_MERGES = 256
CLASSNAMES = ["landbird", "waterbird"]
ATTRS = ["land", "water"]


# ----------------------------------------------------------------------------- data

def run(cmd):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def captions_set(clipdebias, work, n, seed, corr):
    d = os.path.join(work, "captions_%d_%d_%g" % (n, seed, corr))
    if not os.path.exists(os.path.join(d, "toyworld.json")):
        run([clipdebias, "toyworld", "--captions", str(n), "--seed", str(seed), "--corr", str(corr),
             "--out", d])
    with open(os.path.join(d, "captions.csv")) as f:
        rows = list(csv.DictReader(f))
    return d, rows


def clip_pixels(path, size):
    """Upstream CLIP preprocessing up to the uint8 crop: Resize(size, bicubic), CenterCrop."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if w < h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    im = im.resize((nw, nh), Image.BICUBIC)
    left, top = int(round((nw - size) / 2.0)), int(round((nh - size) / 2.0))
    return np.asarray(im.crop((left, top, left + size, top + size)), np.uint8)


def load_pixels(root, files, size, cache):
    if os.path.exists(cache):
        return np.load(cache)
    t0 = time.time()
    out = np.stack([clip_pixels(os.path.join(root, f), size) for f in files])
    np.save(cache, out)
    print("preprocessed %d images in %.0f s" % (len(files), time.time() - t0), flush=True)
    return out


def normalise(u8):
    x = torch.from_numpy(u8).float().div_(255.0)
    x = (x - torch.from_numpy(MEAN)) / torch.from_numpy(STD)
    return x.permute(0, 3, 1, 2).contiguous()


# ----------------------------------------------------------------------------- tokenizer

PROMPT_TEXTS = ["a photo of a landbird.", "a photo of a waterbird.", "a photo of a bird on land.",
                "a photo of a bird on water.", "a photo of a", "landbird", "waterbird"]


# ----------------------------------------------------------------------------- model

def make_model(vocab_size, context):
    a = ARCH
    return clip_torch.CLIP(a["embed"], a["image"], a["vlayers"], a["vwidth"], a["patch"], context,
                           vocab_size, a["twidth"], a["theads"], a["tlayers"], quick_gelu=True,
                           vision_heads=a["vheads"])


def contrastive_loss(model, pixels, tokens, caption_ids):
    """CLIP's symmetric cross-entropy, with every identical caption in the batch counted as a
    positive (the toy captions repeat, and a repeated caption is not a negative)."""
    img = model.encode_image(pixels)
    txt = model.encode_text(tokens)
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    logits = model.logit_scale.exp().clamp(max=100) * img @ txt.t()
    same = (caption_ids[:, None] == caption_ids[None, :]).float()
    target = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (-(target * F.log_softmax(logits, 1)).sum(1).mean()
                  - (target * F.log_softmax(logits.t(), 1)).sum(1).mean())


def param_groups(model, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "embedding" in name or name == "logit_scale" else decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def train(model, pixels_u8, tokens, caption_ids, steps, batch, lr, seed, log_every=100):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(param_groups(model, 0.1), lr=lr, betas=(0.9, 0.98), eps=1e-6)
    warm = max(1, steps // 20)
    n = len(pixels_u8)
    order = torch.randperm(n, generator=g)
    at, t0 = 0, time.time()
    model.train()
    for step in range(steps):
        for grp in opt.param_groups:
            grp["lr"] = lr * (step + 1) / warm if step < warm else \
                lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))
        if at + batch > n:
            order, at = torch.randperm(n, generator=g), 0
        idx = order[at:at + batch]
        at += batch
        loss = contrastive_loss(model, normalise(pixels_u8[idx.numpy()]), tokens[idx], caption_ids[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % log_every == 0 or step == 0:
            el = time.time() - t0
            print("step %d/%d  loss %.4f  scale %.1f  %.1f img/s  ETA %.0f s" % (
                step + 1, steps, loss.item(), model.logit_scale.exp().item(), (step + 1) * batch / el,
                el / (step + 1) * (steps - step - 1)), flush=True)
    model.eval()
    return time.time() - t0


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def encode_images(model, u8, bs=256):
    return torch.cat([model.encode_image(normalise(u8[i:i + bs])) for i in range(0, len(u8), bs)])


@torch.no_grad()
def encode_texts(model, texts, vocab, merges):
    toks = torch.tensor([gmf.tokenize(t, vocab, merges) for t in texts], dtype=torch.long)
    return model.encode_text(toks)


def zeroshot(img_feat, txt_feat):
    a = img_feat / img_feat.norm(dim=-1, keepdim=True)
    b = txt_feat / txt_feat.norm(dim=-1, keepdim=True)
    return (a @ b.t()).argmax(1).numpy()


def group_table(pred, y, a):
    g = 2 * y + a
    accs = [float((pred[g == k] == y[g == k]).mean()) for k in range(4)]
    return accs, float((pred == y).mean())


def waterbirds_eval(model, vocab, merges, clipdebias, work, log):
    """Zero-shot class and background accuracy per group on the toy Waterbirds test split."""
    d = os.path.join(work, "waterbirds_seed0")
    if not os.path.exists(os.path.join(d, "toyworld.json")):
        run([clipdebias, "toyworld", "--out", d, "--seed", "0"])
    with open(os.path.join(d, "metadata.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "2"]
    u8 = load_pixels(d, [r["img_filename"] for r in rows], ARCH["image"], os.path.join(work, "wb_test_u8_%d.npy" % ARCH["image"]))
    y = np.array([int(r["y"]) for r in rows])
    a = np.array([int(r["place"]) for r in rows])
    feats = encode_images(model, u8)
    cls = zeroshot(feats, encode_texts(model, ["a photo of a %s." % c for c in CLASSNAMES], vocab, merges))
    bg = zeroshot(feats, encode_texts(model, ["a photo of a bird on %s." % t for t in ATTRS], vocab, merges))
    cls_acc, cls_avg = group_table(cls, y, a)
    bg_acc = float((bg == a).mean())
    log("zero-shot class accuracy per group (test split): %s  avg %.3f  worst %.3f" % (
        " ".join("%.3f" % v for v in cls_acc), cls_avg, min(cls_acc)))
    log("zero-shot background accuracy: %.3f" % bg_acc)
    # a linear probe says how much class the features carry (on balanced test, 2-fold)
    X = (feats / feats.norm(dim=-1, keepdim=True)).numpy()
    probe = linear_probe(X, y)
    log("linear probe class accuracy (balanced, 2-fold): %.3f" % probe)
    return dict(cls_groups=cls_acc, cls_avg=cls_avg, bg_acc=bg_acc, probe=probe, n=len(rows),
                group_n=[int(((2 * y + a) == k).sum()) for k in range(4)])


def linear_probe(X, y, epochs=300):
    idx = np.arange(len(y))
    rng = np.random.default_rng(0)
    rng.shuffle(idx)
    half = len(idx) // 2
    accs = []
    for tr, te in ((idx[:half], idx[half:]), (idx[half:], idx[:half])):
        Xt = torch.from_numpy(X[tr]).float()
        yt = torch.from_numpy(y[tr]).long()
        w = torch.zeros(X.shape[1], 2, requires_grad=True)
        b = torch.zeros(2, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=epochs)

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(Xt @ w * 10 + b, yt) + 1e-4 * (w ** 2).sum()
            loss.backward()
            return loss
        opt.step(closure)
        pred = (torch.from_numpy(X[te]).float() @ w * 10 + b).argmax(1).numpy()
        accs.append((pred == y[te]).mean())
    return float(np.mean(accs))


# ----------------------------------------------------------------------------- export

# CLIP's learnt temperature ends at its clamp, 100. The toy's own stays near 15 because its
# captions are ambiguous (one picture fits several), which would make prompt tuning's softmax
# about 6x flatter than CLIP's and its gradients as much smaller. The toy ships with CLIP's
# value; features, and so zero-shot predictions, do not depend on it.
EXPORT_LOGIT_SCALE = math.log(100.0)


def export(model, vocab, merges, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v.detach().clone().float().contiguous() for k, v in model.state_dict().items()}
    sd["logit_scale"] = torch.tensor(EXPORT_LOGIT_SCALE, dtype=torch.float32)
    dims = clip_torch.infer_dims(sd)
    hf = gmf.to_hf(sd, dims["vision_layers"], dims["transformer_layers"])
    gmf.write_safetensors(os.path.join(out_dir, "model.safetensors"), hf, {"format": "pt"})
    cfg = gmf.hf_config(dims, "quick_gelu", len(vocab))
    cfg["vision_config"]["num_attention_heads"] = ARCH["vheads"]
    cfg["text_config"]["num_attention_heads"] = ARCH["theads"]
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write("%s %s\n" % (a, b))
    sums = []
    for name in ("config.json", "model.safetensors", "vocab.json", "merges.txt"):
        with open(os.path.join(out_dir, name), "rb") as f:
            sums.append("%s  %s" % (hashlib.sha256(f.read()).hexdigest(), name))
    with open(os.path.join(out_dir, "SHA256SUMS"), "w") as f:
        f.write("\n".join(sums) + "\n")


def full_context_model(model, vocab_size):
    """The trained weights in a model with the full 77-position context: positions past the
    training context are never reached by any text the toy vocabulary makes short enough,
    and under the causal mask they cannot change earlier positions; they are set to the last
    trained position so longer texts degrade gracefully instead of meeting zeros."""
    full = make_model(vocab_size, CONTEXT)
    sd = model.state_dict()
    pos = sd["positional_embedding"]
    sd["positional_embedding"] = torch.cat([pos, pos[-1:].expand(CONTEXT - pos.shape[0], -1)])
    full.load_state_dict(sd)
    return full.eval()


def write_goldens(model, vocab, merges, wb_dir, fixture_dir):
    """A few toy-world images (as their JPEG files) and prompts with their upstream features."""
    os.makedirs(fixture_dir, exist_ok=True)
    with open(os.path.join(wb_dir, "metadata.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "2"]
    picks = [next(r for r in rows if 2 * int(r["y"]) + int(r["place"]) == g) for g in range(4)]
    names = []
    for g, r in enumerate(picks):
        name = "g%d_%s" % (g, os.path.basename(r["img_filename"]))
        with open(os.path.join(wb_dir, r["img_filename"]), "rb") as src, \
                open(os.path.join(fixture_dir, name), "wb") as dst:
            dst.write(src.read())
        names.append(name)
    u8 = np.stack([clip_pixels(os.path.join(fixture_dir, n), ARCH["image"]) for n in names])
    with torch.no_grad():
        imf = model.encode_image(normalise(u8)).numpy().astype(np.float32)
    texts = PROMPT_TEXTS + ["a blurry photo of a golden waterbird on the ocean."]
    toks = np.array([gmf.tokenize(t, vocab, merges) for t in texts], np.int32)
    with torch.no_grad():
        tf = model.encode_text(torch.from_numpy(toks).long()).numpy().astype(np.float32)
    with open(os.path.join(fixture_dir, "images.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(os.path.join(fixture_dir, "texts.txt"), "w") as f:
        f.write("\n".join(texts) + "\n")
    np.save(os.path.join(fixture_dir, "image_features.npy"), imf)
    np.save(os.path.join(fixture_dir, "tokens.npy"), toks)
    np.save(os.path.join(fixture_dir, "text_features.npy"), tf)


def write_card(out_dir, ev, secs, total, args, n_params, n_vocab):
    g = ev["cls_groups"]
    names = ["landbird on land", "landbird on water", "waterbird on land", "waterbird on water"]
    rows = "\n".join("| %s | %d | %.1f%% |" % (names[k], ev["group_n"][k], 100 * g[k]) for k in range(4))
    a = ARCH
    text = f"""# toy CLIP

A small CLIP trained contrastively on {args.images} captioned pictures of the toy world
(`clipdebias toyworld --captions {args.images} --corr {args.corr} --seed {1000 + args.seed}`), in which
the place agrees with the kind of bird {100 * args.corr:.0f}% of the time. Hugging Face `CLIPModel`
layout: `config.json`, `model.safetensors` (float32), `vocab.json` + `merges.txt` (byte-level BPE,
{n_vocab} ids, learnt from the captions).

| | |
| --- | --- |
| image tower | ViT, {a['image']} px, patch {a['patch']}, width {a['vwidth']}, {a['vlayers']} layers, {a['vheads']} heads |
| text tower | width {a['twidth']}, {a['tlayers']} layers, {a['theads']} heads, context 77 |
| embedding | {a['embed']} |
| parameters | {n_params:,} |
| training | {args.steps} steps of {args.batch}, AdamW lr {args.lr}, cosine; {secs / 60:.0f} min on one thread (plus about 3 min to draw and preprocess the images) |
| logit scale | 100, CLIP's (the toy's own temperature settles near 15 on its ambiguous captions; features do not depend on it) |

Zero-shot ("a photo of a landbird." / "a photo of a waterbird.") on the toy Waterbirds test
split (`clipdebias toyworld --seed 0`, balanced within each class):

| group | images | accuracy |
| --- | --- | --- |
{rows}
| average | {ev['n']} | {100 * ev['cls_avg']:.1f}% |

Background prompts ("a photo of a bird on land." / "... on water."): {100 * ev['bg_acc']:.1f}%.
A linear probe of the image features reads the kind of bird at {100 * ev['probe']:.1f}% (balanced,
2-fold): the features carry the shape; the zero-shot classifier leans on the place.

Regenerate (same bytes on the same machine): `nice -n 10 /usr/bin/python3 tools/gen/train_toyclip.py
--clipdebias build/clipdebias`. `SHA256SUMS` lists the files' checksums.
"""
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(text)


# ----------------------------------------------------------------------------- main

# glibc returns freed blocks above 128 KiB to the kernel, and on virtual machines touching
# fresh pages costs ~30 us per 4 KiB: every training step would re-fault its activations.
# Keeping them in the heap (mmap threshold and trim threshold raised) halves the step time.
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"


def main():
    if os.environ.get("GLIBC_TUNABLES") != MALLOC_TUNABLES:
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, GLIBC_TUNABLES=MALLOC_TUNABLES,
                                                                   MALLOC_ARENA_MAX="1"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clipdebias", default=os.path.join(ROOT, "build", "clipdebias"))
    ap.add_argument("--work", default="/tmp/toyclip-work", help="cache for rendered images")
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "toyclip"))
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "tests", "fixtures", "toyclip"))
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--corr", type=float, default=0.875)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-export", action="store_true", help="train and evaluate only")
    args = ap.parse_args()

    # One thread: on a shared machine two OpenMP threads wait for each other at every one of
    # the many small ops of a step (10x slower under load); one thread is also what makes the
    # result independent of the machine's core count.
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.work, exist_ok=True)
    t_start = time.time()
    notes = []

    def log(s):
        print(s, flush=True)
        notes.append(s)

    cap_dir, rows = captions_set(args.clipdebias, args.work, args.images, 1000 + args.seed, args.corr)
    u8 = load_pixels(cap_dir, [r["filename"] for r in rows], ARCH["image"],
                     os.path.join(cap_dir, "pixels_%d.npy" % ARCH["image"]))
    captions = [r["caption"] for r in rows]
    merges = gmf.train_merges(N_MERGES, captions + PROMPT_TEXTS)
    vocab = gmf.build_vocab(merges)
    token_lists = [gmf.tokenize(c, vocab, merges) for c in captions]
    longest = max(int(np.nonzero(t)[0][-1]) + 1 for t in token_lists)
    assert longest <= TRAIN_CONTEXT, "a caption needs %d positions" % longest
    tokens = torch.tensor([t[:TRAIN_CONTEXT] for t in token_lists], dtype=torch.long)
    uniq = {c: i for i, c in enumerate(sorted(set(captions)))}
    caption_ids = torch.tensor([uniq[c] for c in captions])
    log("captions: %d images, %d distinct captions, vocabulary %d ids, longest %d tokens" % (
        len(captions), len(uniq), len(vocab), longest))

    # The trained weights are kept in the work folder under a key of everything that shapes
    # them, so exporting again (or after an interrupted export) does not retrain.
    key = hashlib.sha256(json.dumps([ARCH, TRAIN_CONTEXT, N_MERGES, args.images, args.corr, args.steps,
                                     args.batch, args.lr, args.seed]).encode()).hexdigest()[:16]
    ckpt = os.path.join(args.work, "toyclip_%s.pt" % key)
    if os.path.exists(ckpt):
        saved = torch.load(ckpt)
        full = make_model(len(vocab), CONTEXT)
        full.load_state_dict(saved["state_dict"])
        full.eval()
        secs = saved["train_seconds"]
        log("trained weights reused from %s (training took %.0f s)" % (ckpt, secs))
    else:
        model = make_model(len(vocab), TRAIN_CONTEXT)
        secs = train(model, u8, tokens, caption_ids, args.steps, args.batch, args.lr, args.seed)
        log("trained %d steps of %d in %.0f s" % (args.steps, args.batch, secs))
        full = full_context_model(model, len(vocab))
        torch.save({"state_dict": full.state_dict(), "train_seconds": secs}, ckpt)
    torch.save({"state_dict": full.state_dict(), "vocab": vocab, "merges": merges, "arch": ARCH},
               os.path.join(args.work, "toyclip_last.pt"))
    ev = waterbirds_eval(full, vocab, merges, args.clipdebias, args.work, log)
    if args.no_export:
        return
    export(full, vocab, merges, args.out)
    write_goldens(full, vocab, merges, os.path.join(args.work, "waterbirds_seed0"), args.fixtures)
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump({"arch": ARCH, "args": vars(args), "train_seconds": round(secs),
                   "total_seconds": round(time.time() - t_start), "threads": 1,
                   "torch": torch.__version__, "eval_test_split": ev, "notes": notes}, f, indent=1)
        f.write("\n")
    write_card(args.out, ev, secs, time.time() - t_start, args, sum(p.numel() for p in full.parameters()), len(vocab))
    print("wrote %s (total %.0f s)" % (args.out, time.time() - t_start))


if __name__ == "__main__":
    main()
