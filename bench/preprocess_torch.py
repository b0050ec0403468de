#!/usr/bin/python3
"""Reference decode + CLIP preprocessing throughput: Pillow + torchvision when installed,
otherwise the same steps with Pillow + torch. Usage: preprocess_torch.py <threads> <S> <img>..."""
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def make_transform(S):
    try:
        from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
        return Compose([Resize(S, interpolation=InterpolationMode.BICUBIC), CenterCrop(S),
                        lambda im: im.convert("RGB"), ToTensor(), Normalize(MEAN, STD)]), "Pillow+torchvision"
    except ImportError:
        mean = torch.as_tensor(MEAN, dtype=torch.float32).view(-1, 1, 1)
        std = torch.as_tensor(STD, dtype=torch.float32).view(-1, 1, 1)

        def tf(im):
            w, h = im.size
            short, long = (w, h) if w <= h else (h, w)
            new = (S, int(S * long / short))
            size = new if w <= h else new[::-1]
            if size != (w, h):
                im = im.resize(size, Image.BICUBIC)
            w, h = im.size
            top, left = int(round((h - S) / 2.0)), int(round((w - S) / 2.0))
            im = im.crop((left, top, left + S, top + S)).convert("RGB")
            t = torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous().float().div(255)
            return t.sub_(mean).div_(std)
        return tf, "Pillow+torch (torchvision absent)"


def main():
    threads, S, paths = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    torch.set_num_threads(1)
    tf, name = make_transform(S)

    def one(p):
        with Image.open(p) as im:
            return tf(im)
    best = 1e30
    with ThreadPoolExecutor(threads) as ex:
        for _ in range(3):
            t0 = time.perf_counter()
            list(ex.map(one, paths))
            best = min(best, time.perf_counter() - t0)
    print("%s: %d images in %.3f s (best of 3, %d threads): %.1f images/s" % (name, len(paths), best, threads, len(paths) / best))


if __name__ == "__main__":
    main()
