#!/usr/bin/env python3
"""torch.nn.functional.linear on the same shapes as bench_gemm.c, in GFLOP/s:
<tag> M K N gflops_linear gflops_onednn
The second number is the oneDNN (mkldnn) linear on pre-converted tensors, reported because a
distribution build of PyTorch may route F.linear to a slow generic BLAS (Debian's links the
netlib reference BLAS); it is 0 when oneDNN is unavailable.
Usage: gemm_torch.py [threads] [min_seconds_per_shape] (shapes: bench_gemm.c's)"""
import sys
import time

import torch

SHAPES = [
    ("vit-b32.b1.qkv", 50, 768, 2304), ("vit-b32.b1.out", 50, 768, 768),
    ("vit-b32.b1.fc", 50, 768, 3072), ("vit-b32.b1.proj", 50, 3072, 768),
    ("vit-b32.b32.qkv", 1600, 768, 2304), ("vit-b32.b32.out", 1600, 768, 768),
    ("vit-b32.b32.fc", 1600, 768, 3072), ("vit-b32.b32.proj", 1600, 3072, 768),
    ("text.qkv.M77", 77, 512, 1536), ("text.fc.M77", 77, 512, 2048),
    ("text.fc.M385", 385, 512, 2048), ("text.proj.M385", 385, 2048, 512),
]


def best_time(fn, min_s):
    """Best per-call time over batches: the least disturbed run on a shared machine."""
    fn()
    best, reps, t_end = 1e30, 1, time.perf_counter() + min_s
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = (time.perf_counter() - t0) / reps
        best = min(best, dt)
        if dt * reps < 0.02:
            reps *= 2
        if time.perf_counter() >= t_end:
            return best


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 and int(sys.argv[1]) > 0 else torch.get_num_threads()
    min_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}: {torch.get_num_threads()} threads", file=sys.stderr)
    with torch.no_grad():
        for tag, m, k, n in SHAPES:
            x = torch.rand(m, k) - 0.5
            w = (torch.rand(n, k) - 0.5) * 0.1
            b = torch.rand(n)
            flops = 2.0 * m * k * n
            g_linear = flops / best_time(lambda: torch.nn.functional.linear(x, w, b), min_s) * 1e-9
            g_onednn = 0.0
            if torch.backends.mkldnn.is_available():
                xm, wm, bm = x.to_mkldnn(), w.to_mkldnn(), b.to_mkldnn()
                g_onednn = flops / best_time(lambda: torch._C._nn.mkldnn_linear(xm, wm, bm), min_s) * 1e-9
            print(f"{tag} {m} {k} {n} {g_linear:.2f} {g_onednn:.2f}", flush=True)


if __name__ == "__main__":
    main()
