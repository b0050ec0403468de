"""PyTorch side of bench/compare_ort.sh: upstream-style CLIP (tools/gen/clip_torch.py) with
its linear layers on oneDNN (bench/torch_onednn.py), encode_image of the first BATCH images
of a pixels .npy: a warm-up, then REPS timed calls. Prints one JSON line like the other
sides ({"side": "pytorch", "batch", "threads", "load_s", "first_s", "reps_s", "backend"})
and writes the features of the last call to --out.

usage: torch_encode_steady.py CKPT.safetensors PIXELS.npy [--batch B] [--threads T]
                              [--warmup W] [--reps R] [--out F.npy]"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tools", "gen"))
sys.path.insert(0, here)
from clip_torch import build_model  # noqa: E402
from export_onnx import read_tensors  # noqa: E402
import torch_onednn  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("pixels")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    backend = torch_onednn.use()
    px = torch.from_numpy(np.load(a.pixels)[:a.batch].astype(np.float32))
    t0 = time.perf_counter()
    model = build_model(read_tensors(a.checkpoint)).requires_grad_(False)
    load_s = time.perf_counter() - t0
    reps = []
    with torch.no_grad():
        for i in range(a.warmup + a.reps):
            t0 = time.perf_counter()
            feat = model.encode_image(px)
            dt = time.perf_counter() - t0
            if i == 0:
                first_s = dt
            if i >= a.warmup:
                reps.append(dt)
    if a.out:
        np.save(a.out + ".tmp.npy", feat.numpy())
        os.replace(a.out + ".tmp.npy", a.out)
    print(json.dumps({"side": "pytorch", "batch": a.batch, "threads": a.threads, "load_s": load_s,
                      "first_s": first_s, "reps_s": reps, "backend": backend,
                      "version": torch.__version__}))


if __name__ == "__main__":
    main()
