"""Writes a random CLIP checkpoint with ViT-B/32's exact shapes (151,277,313 parameters) as a
single .safetensors in OpenAI naming, for memory/speed measurements of the loader and towers
at real size. Not a fixture: nothing here is committed.

  python3 tools/gen/make_random_checkpoint.py OUT.safetensors [--dtype f32|f16|bf16] [--seed S]

Shapes: image 224, patch 32, vision width 768 x 12 layers, text width 512 x 12 layers
(8 heads), context 77, vocab 49408, embed 512. Tensors are generated and written one at a
time, so the script needs little more memory than one tensor.
"""
import argparse
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_model_fixtures import ST_DTYPE, tensor_bytes  # noqa: E402

VIT_B32 = dict(embed=512, image=224, patch=32, vwidth=768, vlayers=12, twidth=512, tlayers=12,
               vocab=49408, context=77)


def shapes(c):
    """(name, shape) in OpenAI naming, the order upstream's state_dict lists them."""
    out = [("positional_embedding", [c["context"], c["twidth"]]),
           ("text_projection", [c["twidth"], c["embed"]]),
           ("logit_scale", []),
           ("visual.class_embedding", [c["vwidth"]]),
           ("visual.positional_embedding", [(c["image"] // c["patch"]) ** 2 + 1, c["vwidth"]]),
           ("visual.proj", [c["vwidth"], c["embed"]]),
           ("visual.conv1.weight", [c["vwidth"], 3, c["patch"], c["patch"]]),
           ("visual.ln_pre.weight", [c["vwidth"]]), ("visual.ln_pre.bias", [c["vwidth"]])]

    def blocks(prefix, C, L):
        r = []
        for i in range(L):
            p = f"{prefix}resblocks.{i}."
            r += [(p + "attn.in_proj_weight", [3 * C, C]), (p + "attn.in_proj_bias", [3 * C]),
                  (p + "attn.out_proj.weight", [C, C]), (p + "attn.out_proj.bias", [C]),
                  (p + "ln_1.weight", [C]), (p + "ln_1.bias", [C]),
                  (p + "mlp.c_fc.weight", [4 * C, C]), (p + "mlp.c_fc.bias", [4 * C]),
                  (p + "mlp.c_proj.weight", [C, 4 * C]), (p + "mlp.c_proj.bias", [C]),
                  (p + "ln_2.weight", [C]), (p + "ln_2.bias", [C])]
        return r

    out += blocks("visual.transformer.", c["vwidth"], c["vlayers"])
    out += [("visual.ln_post.weight", [c["vwidth"]]), ("visual.ln_post.bias", [c["vwidth"]])]
    out += blocks("transformer.", c["twidth"], c["tlayers"])
    out += [("token_embedding.weight", [c["vocab"], c["twidth"]]),
            ("ln_final.weight", [c["twidth"]]), ("ln_final.bias", [c["twidth"]])]
    return out


def random_tensor(name, shape, g):
    if name == "logit_scale":
        return torch.tensor(4.6052)
    if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or \
            (".ln_" in "." + name and name.endswith(".weight")):
        return 1.0 + 0.1 * torch.randn(shape, generator=g)
    fan_in = shape[-1] if len(shape) == 2 and not name.endswith("embedding") else 1
    if name == "visual.conv1.weight":
        fan_in = shape[1] * shape[2] * shape[3]
    std = 0.02 if fan_in == 1 else fan_in ** -0.5
    return std * torch.randn(shape, generator=g)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    dt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    es = torch.tensor([], dtype=dt).element_size()
    spec = shapes(VIT_B32)
    header, off, n_params = {}, 0, 0
    for name, shape in spec:
        n = 1
        for s in shape:
            n *= s
        header[name] = {"dtype": ST_DTYPE[dt], "shape": shape, "data_offsets": [off, off + n * es]}
        off += n * es
        n_params += n
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    g = torch.Generator().manual_seed(a.seed)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape in spec:
            f.write(tensor_bytes(random_tensor(name, shape, g).to(dt)))
    os.replace(tmp, a.out)
    print(f"{a.out}: {n_params:,} parameters, {a.dtype}, {os.path.getsize(a.out) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
