#!/usr/bin/env python3
"""Check a `diffmem export --weights FILE` without any package: read the safetensors file,
run the MLP of docs/export.md in plain Python (float64, with the time embedding's argument
rounded to float32 as burn and PyTorch compute it) on the stored check input, and compare
with the stored output of diffmem's network. Exit 0 when the largest difference is below the
tolerance (default 1e-5)."""

import json
import math
import struct
import sys


def load(path):
    """The metadata and {name: (shape, values)} of a safetensors file."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        lo, hi = info["data_offsets"]
        raw = data[8 + n + lo : 8 + n + hi]
        code = {"F32": "f", "I64": "q"}[info["dtype"]]
        count = len(raw) // struct.calcsize(code)
        tensors[name] = (info["shape"], list(struct.unpack("<%d%s" % (count, code), raw)))
    return meta, tensors


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def linear(t, name, x):
    (out_dim, in_dim), w = t[name + ".weight"]
    _, b = t[name + ".bias"]
    return [b[o] + sum(w[o * in_dim + i] * x[i] for i in range(in_dim)) for o in range(out_dim)]


def silu(v):
    return [x / (1.0 + math.exp(-x)) for x in v]


def embed(step, width):
    half = width // 2
    denom = max(half, 2) - 1
    freqs = [f32(math.exp(-math.log(10000.0) * j / denom)) for j in range(half)]
    args = [f32(f32(float(step)) * w) for w in freqs]
    return [math.sin(a) for a in args] + [math.cos(a) for a in args]


def forward(t, meta, x, step):
    depth, temb = int(meta["depth"]), int(meta["temb"])
    e = silu(linear(t, "temb_proj", embed(step, temb)))
    h = linear(t, "input", x)
    for k in range(depth):
        inner = silu([a + b for a, b in zip(h, linear(t, "time_blocks.%d" % k, e))])
        h = [a + b for a, b in zip(h, linear(t, "blocks.%d" % k, inner))]
    return linear(t, "output", silu(h))


def main():
    path = sys.argv[1]
    tol = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-5
    meta, t = load(path)
    (rows, dim), xs = t["check.x"]
    _, steps = t["check.t"]
    _, want = t["check.out"]
    worst = 0.0
    for r in range(rows):
        got = forward(t, meta, xs[r * dim : (r + 1) * dim], steps[r])
        worst = max(worst, max(abs(a - b) for a, b in zip(got, want[r * dim : (r + 1) * dim])))
    print("max |python - diffmem| = %.3g over %d rows (tolerance %g)" % (worst, rows, tol))
    sys.exit(0 if worst < tol else 1)


if __name__ == "__main__":
    main()
