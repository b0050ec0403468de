"""Makes PyTorch's F.linear run on oneDNN (mkldnn_linear) for frozen weights, forward and
input-gradient, so the benches compare against PyTorch's optimised CPU path: Debian's
python3-torch otherwise routes F.linear to the netlib reference BLAS (1-2 GFLOP/s).
Weights are converted once and cached. use() returns the backend name actually in effect."""
import os

import torch
import torch.nn.functional as F

_stock_linear = F.linear
_cache = {}


def _converted(w, b):
    key = id(w)
    if key not in _cache:
        bias = b.detach() if b is not None else torch.zeros(w.shape[0])
        wd = w.detach()
        _cache[key] = (w, wd.to_mkldnn(), bias.to_mkldnn(), wd.t().contiguous().to_mkldnn(),
                       torch.zeros(w.shape[1]).to_mkldnn())
    return _cache[key][1:]


def _mm(x2d, wm, bm):
    return torch._C._nn.mkldnn_linear(x2d.contiguous().to_mkldnn(), wm, bm).to_dense()


class _FrozenLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        wm, bm, wtm, zt = _converted(w, b)
        ctx.mats = (wtm, zt)
        shape = x.shape
        return _mm(x.reshape(-1, shape[-1]), wm, bm).reshape(*shape[:-1], w.shape[0])

    @staticmethod
    def backward(ctx, g):
        wtm, zt = ctx.mats
        shape = g.shape
        gx = _mm(g.reshape(-1, shape[-1]), wtm, zt)
        return gx.reshape(*shape[:-1], -1), None, None


def _linear(x, w, b=None):
    frozen = not w.requires_grad and (b is None or not b.requires_grad)
    if not frozen or x.dtype != torch.float32 or x.dim() < 2:
        return _stock_linear(x, w, b)
    return _FrozenLinear.apply(x, w, b)


def use():
    if os.environ.get("BACKEND", "onednn") != "onednn" or not torch.backends.mkldnn.is_available():
        return "default"
    F.linear = _linear
    return "onednn"
