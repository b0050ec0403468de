"""Generates the model fixtures under tests/fixtures/model/: tiny random CLIPs written in the
three layouts the engine loads, with goldens computed by tools/gen/clip_torch.py.

  python3 tools/gen/gen_model_fixtures.py [--out tests/fixtures/model]

Each fixture directory holds the checkpoint, expected.json (dims, parameter count, layout,
dtype, activation, logit scale), tokens.npy (int32 [N,77]), text_features.npy, pixels.npy
(float32 [N,3,S,S]) and image_features.npy. Every parameter is randomised (LayerNorm affine,
all biases, large token/position embeddings) and attention is sharpened (q and k weights
scaled up), so a wrong transpose, a missing bias or a wrong mask gives a large error.
F16/BF16 fixtures get goldens from the rounded weights widened to float32.

The HF fixture also carries a small byte-level BPE tokenizer (vocab.json + merges.txt, 600
ids, trained here on a few sentences) with texts.txt, the ids upstream's algorithm gives for
them (texts_tokens.npy, texts_tokens.txt) and their features (texts_features.npy).
"""
import argparse
import json
import os
import re
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_torch  # noqa: E402

CONTEXT = 77
N_MERGES = 86            # 512 byte symbols + 86 merges + 2 specials = 600 ids
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


# ----------------------------------------------------------------------------- random model

def random_state_dict(seed, embed, image, patch, vwidth, vlayers, twidth, tlayers, vocab,
                      sharpen=2.0):
    """A CLIP state dict (OpenAI naming) with every parameter non-trivial."""
    torch.manual_seed(seed)
    model = clip_torch.CLIP(embed, image, vlayers, vwidth, patch, CONTEXT, vocab, twidth,
                            twidth // 64, tlayers)
    sd = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(seed + 1000)

    def rn(*shape):
        return torch.randn(*shape, generator=g)

    for k, v in sd.items():
        if ".ln_" in "." + k and k.endswith(".weight"):
            sd[k] = 1.0 + 0.4 * rn(*v.shape)
        elif k.endswith(".bias"):
            sd[k] = 0.2 * rn(*v.shape)
        elif k.endswith("attn.in_proj_weight"):
            C = v.shape[1]
            w = v.clone()
            w[:2 * C] *= sharpen      # q and k: peaky softmax, so mask/transposes matter
            sd[k] = w
        elif k.endswith("attn.in_proj_bias"):
            sd[k] = 0.3 * rn(*v.shape)
    sd["token_embedding.weight"] = 0.7 * rn(*sd["token_embedding.weight"].shape)
    sd["positional_embedding"] = 0.5 * rn(*sd["positional_embedding"].shape)
    sd["visual.class_embedding"] = 0.8 * rn(vwidth)
    sd["visual.positional_embedding"] = 0.5 * rn(*sd["visual.positional_embedding"].shape)
    sd["visual.conv1.weight"] = rn(*sd["visual.conv1.weight"].shape) * (3 * patch * patch) ** -0.5
    sd["logit_scale"] = torch.tensor(float(np.log(1 / 0.07)) + 0.1 * float(rn(1)))
    return sd


def round_to(sd, how):
    """Storage dtypes: 'F32', 'F16', 'BF16' for every float tensor, or 'mixed' = upstream
    convert_weights (Linear/Conv/attention weights and projections in F16, rest F32)."""
    out = {}
    for k, v in sd.items():
        if how == "F32":
            t = v.float()
        elif how == "F16":
            t = v.half()
        elif how == "BF16":
            t = v.bfloat16()
        elif how == "mixed":
            half = (k.endswith("in_proj_weight") or k.endswith("in_proj_bias") or
                    ".out_proj." in k or ".c_fc." in k or ".c_proj." in k or
                    k == "visual.conv1.weight" or k in ("visual.proj", "text_projection"))
            t = v.half() if half else v.float()
        else:
            raise ValueError(how)
        out[k] = t
    return out


# ----------------------------------------------------------------------------- file writers

ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.int64: "I64", torch.int32: "I32"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: ordered dict name -> torch tensor. Header padded with spaces to 8 bytes."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def to_hf(sd, vlayers, tlayers):
    """OpenAI naming -> Hugging Face CLIPModel naming (q/k/v split, projections transposed)."""
    out = {}

    def block(src, dst):
        w = sd[src + "attn.in_proj_weight"]
        b = sd[src + "attn.in_proj_bias"]
        C = w.shape[1]
        for i, n in enumerate("qkv"):
            out[dst + f"self_attn.{n}_proj.weight"] = w[i * C:(i + 1) * C].clone()
            out[dst + f"self_attn.{n}_proj.bias"] = b[i * C:(i + 1) * C].clone()
        out[dst + "self_attn.out_proj.weight"] = sd[src + "attn.out_proj.weight"]
        out[dst + "self_attn.out_proj.bias"] = sd[src + "attn.out_proj.bias"]
        for a, b2 in (("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
                      ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
            out[dst + b2 + ".weight"] = sd[src + a + ".weight"]
            out[dst + b2 + ".bias"] = sd[src + a + ".bias"]

    out["text_model.embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
    out["text_model.embeddings.position_embedding.weight"] = sd["positional_embedding"]
    out["text_model.embeddings.position_ids"] = torch.arange(CONTEXT, dtype=torch.int64)[None]
    for i in range(tlayers):
        block(f"transformer.resblocks.{i}.", f"text_model.encoder.layers.{i}.")
    out["text_model.final_layer_norm.weight"] = sd["ln_final.weight"]
    out["text_model.final_layer_norm.bias"] = sd["ln_final.bias"]
    npos = sd["visual.positional_embedding"].shape[0]
    out["vision_model.embeddings.class_embedding"] = sd["visual.class_embedding"]
    out["vision_model.embeddings.patch_embedding.weight"] = sd["visual.conv1.weight"]
    out["vision_model.embeddings.position_embedding.weight"] = sd["visual.positional_embedding"]
    out["vision_model.embeddings.position_ids"] = torch.arange(npos, dtype=torch.int64)[None]
    out["vision_model.pre_layrnorm.weight"] = sd["visual.ln_pre.weight"]
    out["vision_model.pre_layrnorm.bias"] = sd["visual.ln_pre.bias"]
    for i in range(vlayers):
        block(f"visual.transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}.")
    out["vision_model.post_layernorm.weight"] = sd["visual.ln_post.weight"]
    out["vision_model.post_layernorm.bias"] = sd["visual.ln_post.bias"]
    out["visual_projection.weight"] = sd["visual.proj"].t().contiguous()
    out["text_projection.weight"] = sd["text_projection"].t().contiguous()
    out["logit_scale"] = sd["logit_scale"]
    return out


def hf_config(d, act, vocab):
    def sub(width, layers, heads):
        return {"hidden_size": width, "intermediate_size": 4 * width,
                "num_attention_heads": heads, "num_hidden_layers": layers,
                "hidden_act": act, "layer_norm_eps": 1e-05,
                "projection_dim": d["embed_dim"]}
    text = sub(d["transformer_width"], d["transformer_layers"], d["transformer_heads"])
    text.update({"max_position_embeddings": CONTEXT, "vocab_size": vocab,
                 "bos_token_id": vocab - 2, "eos_token_id": vocab - 1, "pad_token_id": 1})
    vision = sub(d["vision_width"], d["vision_layers"], d["vision_width"] // 64)
    vision.update({"image_size": d["image_resolution"], "patch_size": d["vision_patch_size"],
                   "num_channels": 3})
    return {"architectures": ["CLIPModel"], "model_type": "clip",
            "projection_dim": d["embed_dim"], "logit_scale_init_value": 2.6592,
            "text_config": text, "vision_config": vision, "torch_dtype": "float32"}


def openclip_config(d, quick_gelu):
    return {"model_cfg": {
                "embed_dim": d["embed_dim"],
                "quick_gelu": quick_gelu,
                "vision_cfg": {"image_size": d["image_resolution"], "layers": d["vision_layers"],
                               "width": d["vision_width"], "patch_size": d["vision_patch_size"]},
                "text_cfg": {"context_length": CONTEXT, "vocab_size": d["vocab_size"],
                             "width": d["transformer_width"], "heads": d["transformer_heads"],
                             "layers": d["transformer_layers"]}},
            "preprocess_cfg": {"size": d["image_resolution"], "mode": "RGB", "mean": MEAN,
                               "std": STD, "interpolation": "bicubic", "resize_mode": "shortest"}}


# ----------------------------------------------------------------------------- tokenizer

def bytes_to_unicode():
    """Upstream's reversible byte -> printable unicode table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


# ASCII-only form of upstream's split pattern (the fixture texts are ASCII).
PAT = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")
CORPUS = """the cat sat on the mat and the dog sat on the log.
a photo of a cat. a photo of a dog. a photo of a bird on the water.
landbirds live on land and waterbirds live on the water; there are birds in the forest.
the background of the photo is water or land, and the bird is not the background.
this is a small test of the tokenizer with the words photo, water, land, bird, and cat.
spurious correlations between the label and the background make a classifier unfair;
prompt tuning learns context vectors that should ignore the place where a bird stands.
people with blond or dark hair, smiling or serious, young or old, indoors or outdoors.
images of zebras, horses, elephants, giraffes, penguins, parrots, sparrows and gulls."""


def pre_tokens(text):
    text = " ".join(text.strip().split()).lower()
    return PAT.findall(text)


def train_merges(n, texts=None):
    """Up to n BPE merges learnt from texts (default: CORPUS, which must yield all n), most
    frequent pair first."""
    be = bytes_to_unicode()
    words = {}
    for tok in (t for text in (texts if texts is not None else [CORPUS]) for t in pre_tokens(text)):
        w = "".join(be[b] for b in tok.encode("utf-8"))
        sym = tuple(w[:-1]) + (w[-1] + "</w>",)
        words[sym] = words.get(sym, 0) + 1
    merges = []
    for _ in range(n):
        counts = {}
        for sym, c in words.items():
            for p in zip(sym, sym[1:]):
                counts[p] = counts.get(p, 0) + c
        if not counts:
            if texts is not None:    # every word is one symbol already: fewer merges
                break
            raise RuntimeError("corpus too small for the requested merges")
        best = max(sorted(counts), key=lambda p: counts[p])
        merges.append(best)
        new = {}
        for sym, c in words.items():
            out, i = [], 0
            while i < len(sym):
                if i + 1 < len(sym) and (sym[i], sym[i + 1]) == best:
                    out.append(sym[i] + sym[i + 1])
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return merges


def build_vocab(merges):
    v = list(bytes_to_unicode().values())
    v = v + [x + "</w>" for x in v]
    v += ["".join(m) for m in merges]
    v += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(v)}


def bpe(token, ranks):
    word = tuple(token[:-1]) + (token[-1] + "</w>",)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = tuple(out)
    return word


def tokenize(text, vocab, merges):
    """Upstream clip.tokenize for one (ASCII) text: SOT ids EOT, zero padded to 77."""
    be = bytes_to_unicode()
    ranks = {m: i for i, m in enumerate(merges)}
    ids = []
    for tok in pre_tokens(text):
        if tok in ("<|startoftext|>", "<|endoftext|>"):
            ids.append(vocab[tok])
            continue
        w = "".join(be[b] for b in tok.encode("utf-8"))
        ids.extend(vocab[p] for p in bpe(w, ranks))
    ids = [vocab["<|startoftext|>"]] + ids + [vocab["<|endoftext|>"]]
    assert len(ids) <= CONTEXT, text
    return ids + [0] * (CONTEXT - len(ids))


TEXTS = ["a photo of a cat.",
         "a photo of a waterbird on land",
         "The Dog sat on the LOG!",
         "   lots   of    spaces\tand\ttabs  ",
         "zebra 42 quux; it's the bird's nest",
         "<|startoftext|>hello<|endoftext|>",
         "wow!! ok"]


# ----------------------------------------------------------------------------- fixtures

def random_tokens(n, vocab, seed):
    """SOT ... EOT sequences with EOT = vocab-1 the largest id (upstream's argmax rule),
    zero padded; content ids avoid the specials. Includes an empty and a full sequence."""
    rng = np.random.default_rng(seed)
    sot, eot = vocab - 2, vocab - 1
    lens = [0, CONTEXT - 2] + list(rng.integers(1, 30, size=n - 2))
    toks = np.zeros((n, CONTEXT), np.int32)
    for i, L in enumerate(lens):
        body = rng.integers(0, vocab - 2, size=L)
        seq = [sot] + list(body) + [eot]
        toks[i, :len(seq)] = seq
    return toks


def golden(sd32, quick_gelu, tokens, pixels):
    model = clip_torch.build_model(sd32, quick_gelu=quick_gelu)
    with torch.no_grad():
        tf = model.encode_text(torch.from_numpy(tokens).long()).numpy().astype(np.float32)
        imf = model.encode_image(torch.from_numpy(pixels)).numpy().astype(np.float32)
    return tf, imf


def write_fixture(root, name, layout, spec, storage, quick_gelu=True, n_text=5, n_img=2,
                  tokenizer=None):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    sd = random_state_dict(**spec)
    stored = round_to(sd, storage)
    sd32 = {k: v.float() for k, v in stored.items()}
    dims = clip_torch.infer_dims(sd32)
    vocab = dims["vocab_size"]
    S = dims["image_resolution"]
    seed = spec["seed"]
    tokens = random_tokens(n_text, vocab, seed + 7)
    pixels = np.random.default_rng(seed + 9).standard_normal((n_img, 3, S, S)).astype(np.float32)
    tf, imf = golden(sd32, quick_gelu, tokens, pixels)

    if layout == "hf":
        hf = to_hf(stored, dims["vision_layers"], dims["transformer_layers"])
        write_safetensors(os.path.join(d, "model.safetensors"), hf, {"format": "pt"})
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(hf_config(dims, "quick_gelu" if quick_gelu else "gelu", vocab), f, indent=1)
        model_path = d
    elif layout == "openclip":
        write_safetensors(os.path.join(d, "open_clip_model.safetensors"), stored)
        with open(os.path.join(d, "open_clip_config.json"), "w") as f:
            json.dump(openclip_config(dims, quick_gelu), f, indent=1)
        model_path = d
    else:
        write_safetensors(os.path.join(d, name + ".safetensors"), stored, {"format": "pt"})
        model_path = os.path.join(d, name + ".safetensors")

    np.save(os.path.join(d, "tokens.npy"), tokens)
    np.save(os.path.join(d, "text_features.npy"), tf)
    np.save(os.path.join(d, "pixels.npy"), pixels)
    np.save(os.path.join(d, "image_features.npy"), imf)

    if tokenizer is not None:
        vocab_map, merges = tokenizer
        assert len(vocab_map) == vocab
        with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab_map, f, ensure_ascii=False)
        with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            for a, b in merges:
                f.write(f"{a} {b}\n")
        ttoks = np.array([tokenize(t, vocab_map, merges) for t in TEXTS], np.int32)
        ttf, _ = golden(sd32, quick_gelu, ttoks, pixels[:1])
        with open(os.path.join(d, "texts.txt"), "w") as f:
            for t in TEXTS:
                f.write(t + "\n")
        np.save(os.path.join(d, "texts_tokens.npy"), ttoks)
        np.save(os.path.join(d, "texts_features.npy"), ttf)
        with open(os.path.join(d, "texts_tokens.txt"), "w") as f:
            for row in ttoks:   # the ids without the zero padding (a 0 inside is a real id)
                f.write(" ".join(str(int(x)) for x in row[:int(np.nonzero(row)[0][-1]) + 1]) + "\n")

    expected = {
        "layout": layout, "model": os.path.relpath(model_path, d),
        "stored_dtype": {"F32": "F32", "F16": "F16", "BF16": "BF16", "mixed": "mixed"}[storage],
        "activation": "quick_gelu" if quick_gelu else "gelu",
        "image_size": S, "patch_size": dims["vision_patch_size"],
        "grid": S // dims["vision_patch_size"],
        "vision_width": dims["vision_width"], "vision_layers": dims["vision_layers"],
        "vision_heads": dims["vision_width"] // 64,
        "text_width": dims["transformer_width"], "text_layers": dims["transformer_layers"],
        "text_heads": dims["transformer_heads"], "context": CONTEXT, "vocab_size": vocab,
        "embed_dim": dims["embed_dim"], "n_params": clip_torch.count_params(sd32),
        "logit_scale": float(sd32["logit_scale"]),
        "n_text": int(n_text), "n_images": int(n_img),
    }
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    return d, model_path


BASE = dict(embed=32, image=32, patch=8, vwidth=64, vlayers=2, twidth=64, tlayers=2, vocab=600)
SMALL = dict(embed=24, image=32, patch=8, vwidth=64, vlayers=1, twidth=64, tlayers=1, vocab=96)
B16 = dict(embed=32, image=64, patch=16, vwidth=64, vlayers=1, twidth=128, tlayers=1, vocab=80)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "model"))
    args = ap.parse_args()
    root = os.path.abspath(args.out)
    os.makedirs(root, exist_ok=True)
    torch.set_num_threads(1)

    merges = train_merges(N_MERGES)
    tok = (build_vocab(merges), merges)
    made = []
    made.append(write_fixture(root, "hf_f32", "hf", dict(seed=1, **BASE), "F32", tokenizer=tok))
    made.append(write_fixture(root, "openclip_f32", "openclip", dict(seed=2, **SMALL), "F32"))
    made.append(write_fixture(root, "openai_f32", "openai", dict(seed=3, **SMALL), "F32"))
    made.append(write_fixture(root, "openai_mixed_f16", "openai", dict(seed=4, **SMALL), "mixed"))
    made.append(write_fixture(root, "hf_bf16", "hf", dict(seed=5, **SMALL), "BF16"))
    made.append(write_fixture(root, "openclip_gelu_f16", "openclip", dict(seed=6, **SMALL), "F16",
                              quick_gelu=False))
    made.append(write_fixture(root, "openai_b16_f16", "openai", dict(seed=7, **B16), "F16"))
    with open(os.path.join(root, "fixtures.txt"), "w") as f:
        for d, _ in made:
            f.write(os.path.basename(d) + "\n")
    total = 0
    for dp, _, fs in os.walk(root):
        for fn in fs:
            total += os.path.getsize(os.path.join(dp, fn))
    print(f"wrote {len(made)} fixtures to {root}, {total / 1e6:.2f} MB in total")


if __name__ == "__main__":
    main()
