#!/usr/bin/env python3
"""A PyTorch reference module for diffmem's `unet` denoiser (crates/model/src/denoiser/unet.rs),
loaded from `diffmem export RUN --weights FILE.safetensors`: builds the module from the file's
metadata, loads the weights with `load_state_dict` (strict: every name and shape must match),
runs it on the file's check input and compares with diffmem's output (exit 1 above 1e-5).

    python3 scripts/export/unet_torch.py model.safetensors

Needs torch (the `safetensors` package is used when installed, else the reader of
check_torch.py). Inputs and outputs are flat [batch, C*H*W] rows in [-1, 1] pixel units, as in
diffmem; t is the 0-based timestep index.
"""

import math
import sys

import torch
import torch.nn.functional as F
from torch import nn



def groups(ch):
    """GroupNorm groups: the largest of 8, 4, 2, 1 that divides the channel count."""
    return next(g for g in (8, 4, 2, 1) if ch % g == 0)


def norm(ch, eps):
    return nn.GroupNorm(groups(ch), ch, eps=eps)


def conv3(i, o, stride=1):
    return nn.Conv2d(i, o, 3, stride=stride, padding=1)


class ResBlock(nn.Module):
    """GN, SiLU, conv, + time, GN, SiLU, conv, + skip (1x1 conv when the width changes)."""

    def __init__(self, i, o, temb, eps):
        super().__init__()
        self.norm1 = norm(i, eps)
        self.conv1 = conv3(i, o)
        self.time = nn.Linear(temb, o)
        self.norm2 = norm(o, eps)
        self.conv2 = conv3(o, o)
        self.skip = nn.Conv2d(i, o, 1) if i != o else None

    def forward(self, x, e):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(e)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    """Single-head self-attention over the H*W positions, with a residual connection."""

    def __init__(self, ch, eps):
        super().__init__()
        self.norm = norm(ch, eps)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, 3 * c, h * w)
        q, k, v = qkv[:, :c], qkv[:, c : 2 * c], qkv[:, 2 * c :]
        attn = torch.softmax(q.transpose(1, 2) @ k / math.sqrt(c), dim=2)
        out = (v @ attn.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.proj(out)


class Level(nn.Module):
    def __init__(self, i, o, temb, attn, eps):
        super().__init__()
        self.res = ResBlock(i, o, temb, eps)
        self.attn = Attention(o, eps) if attn else None

    def forward(self, x, e):
        h = self.res(x, e)
        return self.attn(h) if self.attn is not None else h


def embed(t, dim):
    """emb(t) = [sin(t w_j), cos(t w_j)], w_j = 10000^(-j / (dim/2 - 1)), j < dim/2."""
    half = dim // 2
    denom = max(half, 2) - 1
    w = torch.tensor(
        [math.exp(-math.log(10000.0) * j / denom) for j in range(half)], dtype=torch.float32
    )
    a = t.float()[:, None] * w[None, :]
    return torch.cat([a.sin(), a.cos()], dim=1)


class Unet(nn.Module):
    """diffmem's UNet: input conv, one Level per multiplier (downsampling by strided 3x3 convs
    between them), ResBlock-attention-ResBlock in the middle, the mirrored Levels on the way up
    (each fed the features concatenated with the skip of its level; nearest 2x upsampling then
    a 3x3 conv between them), GN, SiLU and an output conv. Images are zero-padded to a multiple
    of 2^(levels-1) (28 -> 32 for three levels) and the output cropped back."""

    def __init__(self, channels, size, base, mults, attn_res, eps=1e-5):
        super().__init__()
        levels = len(mults)
        factor = 1 << (levels - 1)
        self.channels, self.size, self.base = channels, size, base
        self.padded = -(-size // factor) * factor
        temb = 4 * base
        ch = [m * base for m in mults]
        self.temb1 = nn.Linear(base, temb)
        self.temb2 = nn.Linear(temb, temb)
        self.input = conv3(channels, base)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        prev, res = base, self.padded
        for l in range(levels):
            self.down.append(Level(prev, ch[l], temb, res in attn_res, eps))
            prev = ch[l]
            if l + 1 < levels:
                self.downsample.append(conv3(prev, prev, stride=2))
                res //= 2
        top = ch[-1]
        self.mid1 = ResBlock(top, top, temb, eps)
        self.mid_attn = Attention(top, eps)
        self.mid2 = ResBlock(top, top, temb, eps)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for l in reversed(range(levels)):
            self.up.append(Level(prev + ch[l], ch[l], temb, res in attn_res, eps))
            prev = ch[l]
            if l > 0:
                self.upsample.append(conv3(prev, prev))
                res *= 2
        self.out_norm = norm(ch[0], eps)
        self.output = conv3(ch[0], channels)

    def forward(self, x, t):
        b = x.shape[0]
        c, s, p = self.channels, self.size, self.padded
        h = x.reshape(b, c, s, s)
        lo = (p - s) // 2
        if p != s:
            h = F.pad(h, (lo, p - s - lo, lo, p - s - lo))
        e = self.temb2(F.silu(self.temb1(embed(t, self.base))))
        h = self.input(h)
        skips = []
        for l, level in enumerate(self.down):
            h = level(h, e)
            skips.append(h)
            if l < len(self.downsample):
                h = self.downsample[l](h)
        h = self.mid2(self.mid_attn(self.mid1(h, e)), e)
        for l, level in enumerate(self.up):
            h = level(torch.cat([h, skips.pop()], dim=1), e)
            if l < len(self.upsample):
                h = self.upsample[l](F.interpolate(h, scale_factor=2, mode="nearest"))
        out = self.output(F.silu(self.out_norm(h)))
        if p != s:
            out = out[:, :, lo : lo + s, lo : lo + s]
        return out.reshape(b, -1)


def from_metadata(meta):
    """The module a `diffmem export` file's metadata describes."""
    ints = lambda key: [int(v) for v in meta[key].split(",") if v]
    return Unet(
        channels=int(meta["channels"]),
        size=int(meta["size"]),
        base=int(meta["base"]),
        mults=ints("mults"),
        attn_res=ints("attn_res"),
        eps=float(meta["norm_eps"]),
    )


def main(path):
    torch.set_default_dtype(torch.float32)
    meta, tensors = load(path)
    if meta.get("model") != "unet":
        sys.exit(f"{path} holds a `{meta.get('model')}` export, not a unet: use check_torch.py")
    net = from_metadata(meta)
    net.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("check.")})
    net.eval()
    with torch.no_grad():
        out = net(tensors["check.x"], tensors["check.t"])
    err = (out - tensors["check.out"]).abs().max().item()
    print(f"max |torch - diffmem| = {err:.3g} over {out.numel()} outputs")
    return 0 if err < 1e-5 else 1


def load(path):
    """(metadata, {name: tensor}) of a safetensors file."""
    try:
        from safetensors import safe_open

        with safe_open(path, framework="pt") as f:
            return f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    except ImportError:
        import json
        import struct

        data = open(path, "rb").read()
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + n])
        meta = header.pop("__metadata__", {})
        dtypes = {"F32": torch.float32, "I64": torch.int64}
        tensors = {}
        for k, v in header.items():
            lo, hi = v["data_offsets"]
            buf = bytearray(data[8 + n + lo : 8 + n + hi])
            tensors[k] = torch.frombuffer(buf, dtype=dtypes[v["dtype"]]).reshape(v["shape"])
        return meta, tensors


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
