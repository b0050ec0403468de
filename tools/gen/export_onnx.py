"""Exports the image tower of a CLIP checkpoint (one .safetensors in OpenAI naming, e.g. from
make_random_checkpoint.py) to ONNX, so ONNX Runtime can run exactly what upstream
CLIP.encode_image computes: pixels float32 [batch, 3, S, S] -> features float32 [batch, embed]
(not normalised). The graph is traced from tools/gen/clip_torch.py's VisionTransformer,
opset 14, with a dynamic batch dimension. Used by bench/compare_ort.sh.

  python3 tools/gen/export_onnx.py export CKPT.safetensors OUT.onnx [--gelu]
  python3 tools/gen/export_onnx.py verify CKPT.safetensors PIXELS.npy FEATURES.npy [--out REF.npy]

`verify` recomputes encode_image of PIXELS with clip_torch.py's full CLIP (upstream
build_model) and checks FEATURES (e.g. ONNX Runtime's output) against it: it prints
max|d|/max|ref| and the smallest row cosine, and exits 1 when the relative error exceeds
--tol (default 1e-4). --out saves the PyTorch features.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_torch import VisionTransformer, build_model  # noqa: E402

NP_DTYPE = {"F32": np.float32, "F16": np.float16}


def read_tensors(path, prefix=""):
    """Tensors of a .safetensors whose names start with prefix, as float32 torch tensors.
    The file is memory-mapped, so only the selected tensors are read."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or not name.startswith(prefix):
            continue
        begin, end = info["data_offsets"]
        if info["dtype"] == "BF16":
            bits = raw[begin:end].view(np.uint16).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif info["dtype"] in NP_DTYPE:
            arr = raw[begin:end].view(NP_DTYPE[info["dtype"]]).astype(np.float32)
        else:
            sys.exit(f"{path}: tensor {name} has dtype {info['dtype']}; expected F32, F16 or BF16")
        out[name[len(prefix):]] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    if not out:
        sys.exit(f"{path}: no tensor named {prefix}*; expected a CLIP checkpoint in OpenAI naming")
    return out


def vision_tower(ckpt, quick_gelu):
    """clip_torch's VisionTransformer with the dimensions upstream build_model infers."""
    sd = read_tensors(ckpt, "visual.")
    if "proj" not in sd or "conv1.weight" not in sd:
        sys.exit(f"{ckpt}: not a ViT CLIP in OpenAI naming (visual.proj / visual.conv1.weight missing)")
    width, _, patch, _ = sd["conv1.weight"].shape
    grid = round((sd["positional_embedding"].shape[0] - 1) ** 0.5)
    layers = len([k for k in sd if k.endswith(".attn.in_proj_weight")])
    model = VisionTransformer(patch * grid, patch, width, layers, width // 64,
                              sd["proj"].shape[1], quick_gelu)
    model.load_state_dict(sd)
    return model.eval().requires_grad_(False)


def export(a):
    model = vision_tower(a.checkpoint, not a.gelu)
    S = model.input_resolution
    dummy = torch.randn(2, 3, S, S)
    tmp = a.out + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, dummy, tmp, opset_version=14, do_constant_folding=True,
                          input_names=["pixels"], output_names=["features"],
                          dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}})
    os.replace(tmp, a.out)
    print(f"{a.out}: image tower, pixels [batch, 3, {S}, {S}] -> features [batch, {model.output_dim}], "
          f"opset 14, {os.path.getsize(a.out) / 1e6:.0f} MB")


def verify(a):
    pixels = torch.from_numpy(np.load(a.pixels).astype(np.float32))
    got = np.load(a.features).astype(np.float64)
    model = build_model(read_tensors(a.checkpoint), quick_gelu=not a.gelu).requires_grad_(False)
    with torch.no_grad():
        ref = np.concatenate([model.encode_image(pixels[i:i + 8]).numpy()
                              for i in range(0, pixels.shape[0], 8)]).astype(np.float64)
    if got.shape != ref.shape:
        sys.exit(f"{a.features}: shape {got.shape}, PyTorch encode_image gives {ref.shape}")
    if a.out:
        np.save(a.out, ref.astype(np.float32))
    rel = np.abs(got - ref).max() / np.abs(ref).max()
    cos = (got * ref).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
    ok = rel <= a.tol
    print(f"{a.features} vs PyTorch encode_image ({ref.shape[0]} images): max|d|/max|ref| {rel:.3e} "
          f"(tol {a.tol:g}), min cosine {cos.min():.7f}: {'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write the image tower as ONNX")
    e.add_argument("checkpoint")
    e.add_argument("out")
    v = sub.add_parser("verify", help="check features against PyTorch encode_image")
    v.add_argument("checkpoint")
    v.add_argument("pixels")
    v.add_argument("features")
    v.add_argument("--out", help="save the PyTorch features here")
    v.add_argument("--tol", type=float, default=1e-4)
    for p in (e, v):
        p.add_argument("--gelu", action="store_true",
                       help="exact GELU instead of QuickGELU (OpenCLIP models trained without quick_gelu)")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    return export(a) if a.cmd == "export" else verify(a)


if __name__ == "__main__":
    sys.exit(main())
