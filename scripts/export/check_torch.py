#!/usr/bin/env python3
"""The PyTorch snippet of docs/export.md, runnable: load a `diffmem export --weights FILE`
into the MLP module, run it on the file's check input and compare with diffmem's output.
Needs torch (the `safetensors` package is used when installed, else a 10-line reader)."""

import json
import math
import struct
import sys

import torch
from torch import nn


class Mlp(nn.Module):
    """diffmem's `mlp` denoiser (crates/model/src/denoiser/mlp.rs)."""

    def __init__(self, dim, width, depth, temb):
        super().__init__()
        self.temb = temb
        self.temb_proj = nn.Linear(temb, temb)
        self.input = nn.Linear(dim, width)
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.time_blocks = nn.ModuleList(nn.Linear(temb, width) for _ in range(depth))
        self.output = nn.Linear(width, dim)

    def embed(self, t):
        half = self.temb // 2
        denom = max(half, 2) - 1
        freqs = torch.tensor(
            [math.exp(-math.log(10000.0) * j / denom) for j in range(half)], dtype=torch.float32
        )
        args = t.float()[:, None] * freqs[None, :]
        return torch.cat([args.sin(), args.cos()], dim=1)

    def forward(self, x, t):
        silu = nn.functional.silu
        e = silu(self.temb_proj(self.embed(t)))
        h = self.input(x)
        for block, tb in zip(self.blocks, self.time_blocks):
            h = h + block(silu(h + tb(e)))
        return self.output(silu(h))


def load(path):
    """(metadata, {name: tensor}) of a safetensors file."""
    try:
        from safetensors import safe_open

        with safe_open(path, framework="pt") as f:
            return f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    except ImportError:
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


meta, tensors = load(sys.argv[1])
net = Mlp(*(int(meta[k]) for k in ["dim", "width", "depth", "temb"]))
net.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("check.")})
with torch.no_grad():
    out = net(tensors["check.x"], tensors["check.t"])
err = (out - tensors["check.out"]).abs().max().item()
print(f"max |torch - diffmem| = {err:.3g}")
sys.exit(0 if err < 1e-5 else 1)
