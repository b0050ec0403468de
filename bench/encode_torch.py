"""PyTorch side of bench_encode.sh: upstream-style CLIP (tools/gen/clip_torch.py) encoding the
same pixels and tokens as clipdebias, timed after the model is built.

Linear layers run on oneDNN (bench/torch_onednn.py); BACKEND=default keeps stock F.linear.
usage: encode_torch.py CHECKPOINT.safetensors PIXELS.npy TOKENS.npy THREADS REPEATS"""
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "gen"))
from clip_torch import build_model  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_onednn  # noqa: E402


def load_safetensors(path):
    import json
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dt = {"F32": np.float32, "F16": np.float16}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[b:e], dtype=dt[v["dtype"]]).reshape(v["shape"]).copy())
    return out


def best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ckpt, pixels, tokens, threads, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    backend = torch_onednn.use()
    model = build_model(load_safetensors(ckpt)).requires_grad_(False)  # frozen: oneDNN path
    px = torch.from_numpy(np.load(pixels))
    tok = torch.from_numpy(np.load(tokens).astype(np.int64))
    with torch.no_grad():
        ti = best_of(lambda: model.encode_image(px), repeats)
        tt = best_of(lambda: model.encode_text(tok), repeats)
    print(f"torch image {px.shape[0] / ti:.2f}")
    print(f"torch text {tok.shape[0] / tt:.2f}")
    print(f"torch backend {backend}")


if __name__ == "__main__":
    main()
