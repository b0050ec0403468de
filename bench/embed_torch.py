"""PyTorch side of bench_embed.sh: the usual research pipeline on the same image files --
Pillow decode + CLIP preprocessing on a thread pool (bench/preprocess_torch.py's transform),
upstream-style encode_image (tools/gen/clip_torch.py) in batches -- timed from the first file
read to the last feature, model construction excluded.

usage: embed_torch.py CHECKPOINT.safetensors LIST.txt THREADS BATCH"""
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import torch
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "tools", "gen"))
from clip_torch import build_model  # noqa: E402
from encode_torch import load_safetensors  # noqa: E402
from preprocess_torch import make_transform  # noqa: E402
import torch_onednn  # noqa: E402


def main():
    ckpt, listing, threads, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    paths = [p for p in open(listing).read().split("\n") if p]
    torch.set_num_threads(threads)
    backend = torch_onednn.use()
    model = build_model(load_safetensors(ckpt)).requires_grad_(False)
    S = model.visual.input_resolution if hasattr(model.visual, "input_resolution") else 224
    tf, _ = make_transform(S)

    def one(p):
        with Image.open(p) as im:
            return tf(im)
    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex, torch.no_grad():
        for k in range(0, len(paths), batch):
            model.encode_image(torch.stack(list(ex.map(one, paths[k:k + batch]))))
    dt = time.perf_counter() - t
    print(f"torch embed {len(paths) / dt:.2f}")
    print(f"torch backend {backend}")


if __name__ == "__main__":
    main()
