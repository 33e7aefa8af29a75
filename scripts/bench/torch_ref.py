#!/usr/bin/env python3
"""PyTorch reference for diffmem's speed benchmarks: the same architectures, batch sizes and
step counts. Prints one JSON line per measurement.

CPU (crates/trainer/benches/speed.rs, scripts/bench/compare.py):
    python3 scripts/bench/torch_ref.py --threads 1
CUDA (scripts/bench/gpu.sh): the MLP 784 -> 1024 x3 and the UNet at MNIST and CIFAR shape at
batch 128, and 1024 samples x 1000 DDPM steps of the MLP, in f32 with TF32 off and on:
    python3 scripts/bench/torch_ref.py --device cuda [--tf32 off,on] [--quick]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoidal(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half) / max(half - 1, 1))
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=1)


class Mlp(nn.Module):
    """diffmem's `mlp` (crates/model/src/denoiser/mlp.rs)."""

    def __init__(self, d, width=512, depth=1, temb=128):
        super().__init__()
        self.temb = temb
        self.temb_proj = nn.Linear(temb, temb)
        self.inp = nn.Linear(d, width)
        self.blocks = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.tblocks = nn.ModuleList([nn.Linear(temb, width) for _ in range(depth)])
        self.out = nn.Linear(width, d)

    def forward(self, x, t):
        e = F.silu(self.temb_proj(sinusoidal(t, self.temb)))
        h = self.inp(x)
        for b, tb in zip(self.blocks, self.tblocks):
            h = h + b(F.silu(h + tb(e)))
        return self.out(F.silu(h))


class Linear(nn.Module):
    """diffmem's `linear` with K bins: eps = W_k x + b_k."""

    def __init__(self, d, bins=10, T=1000):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(bins, d, d))
        self.b = nn.Parameter(torch.zeros(bins, d))
        self.bins, self.T = bins, T

    def forward(self, x, t):
        k = t * self.bins // self.T
        return torch.bmm(self.W[k], x[:, :, None])[:, :, 0] + self.b[k]


def groups(ch):
    return next(g for g in (8, 4, 2, 1) if ch % g == 0)


class ResBlock(nn.Module):
    def __init__(self, i, o, temb):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(groups(i), i), nn.Conv2d(i, o, 3, padding=1)
        self.t = nn.Linear(temb, o)
        self.n2, self.c2 = nn.GroupNorm(groups(o), o), nn.Conv2d(o, o, 3, padding=1)
        self.skip = nn.Conv2d(i, o, 1) if i != o else None

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x))) + self.t(e)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.n, self.qkv, self.proj = nn.GroupNorm(groups(ch), ch), nn.Conv2d(ch, 3 * ch, 1), nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.n(x)).reshape(b, 3 * c, h * w).chunk(3, dim=1)
        a = torch.softmax(q.transpose(1, 2) @ k / math.sqrt(c), dim=2)
        return x + self.proj((v @ a.transpose(1, 2)).reshape(b, c, h, w))


class Unet(nn.Module):
    """diffmem's default `unet` (base 32, mults 1,2,2, mid attention), 28 -> padded 32."""

    def __init__(self, c=1, size=28, base=32, mults=(1, 2, 2)):
        super().__init__()
        temb = base * 4
        self.base, self.size = base, size
        f = 2 ** (len(mults) - 1)
        self.padded = -(-size // f) * f
        ch = [m * base for m in mults]
        self.t1, self.t2 = nn.Linear(base, temb), nn.Linear(temb, temb)
        self.inp = nn.Conv2d(c, base, 3, padding=1)
        self.down, self.ds = nn.ModuleList(), nn.ModuleList()
        prev = base
        for l, co in enumerate(ch):
            self.down.append(ResBlock(prev, co, temb))
            prev = co
            if l + 1 < len(ch):
                self.ds.append(nn.Conv2d(prev, prev, 3, stride=2, padding=1))
        self.mid1, self.mid_attn, self.mid2 = ResBlock(prev, prev, temb), Attention(prev), ResBlock(prev, prev, temb)
        self.up, self.us = nn.ModuleList(), nn.ModuleList()
        for l in reversed(range(len(ch))):
            self.up.append(ResBlock(prev + ch[l], ch[l], temb))
            prev = ch[l]
            if l > 0:
                self.us.append(nn.Conv2d(prev, prev, 3, padding=1))
        self.on, self.out = nn.GroupNorm(groups(ch[0]), ch[0]), nn.Conv2d(ch[0], c, 3, padding=1)

    def forward(self, x, t):
        b = x.shape[0]
        s, p = self.size, self.padded
        lo = (p - s) // 2
        h = F.pad(x.reshape(b, -1, s, s), (lo, p - s - lo, lo, p - s - lo))
        e = self.t2(F.silu(self.t1(sinusoidal(t, self.base))))
        h = self.inp(h)
        skips = []
        for l, blk in enumerate(self.down):
            h = blk(h, e)
            skips.append(h)
            if l < len(self.ds):
                h = self.ds[l](h)
        h = self.mid2(self.mid_attn(self.mid1(h, e)), e)
        for l, blk in enumerate(self.up):
            h = blk(torch.cat([h, skips.pop()], 1), e)
            if l < len(self.us):
                h = self.us[l](F.interpolate(h, scale_factor=2, mode="nearest"))
        out = self.out(F.silu(self.on(h)))[:, :, lo:lo + s, lo:lo + s]
        return out.reshape(b, -1)


def schedule(T=1000):
    betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
    return betas, torch.cumprod(1 - betas, 0)


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


# Rows of the training benchmarks' fixed training set (a multiple of every batch size).
POOL_ROWS = 1024


def train_rate(model, b, steps, d=784, T=1000, dev=torch.device("cpu"), warmup=3):
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-8)
    _, abar = schedule(T)
    abar = abar.float().to(dev)

    # The training set: POOL_ROWS fixed rows, a batch gathered from it each step (as a
    # training loop gathers rows of its dataset); speed.rs builds the same.
    pool = torch.randn(POOL_ROWS, d, device=dev).tanh()

    def run(k):
        for i in range(k):
            start = (i * b) % POOL_ROWS
            x0 = pool.index_select(0, torch.arange(start, start + b, device=dev))
            eps = torch.randn(b, d, device=dev)
            t = (torch.arange(b, device=dev) * 7 + i * 31) % T
            a = abar[t][:, None]
            xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
            loss = F.mse_loss(model(xt, t), eps)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    run(warmup)
    sync(dev)
    start = time.perf_counter()
    run(steps)
    sync(dev)
    return steps / (time.perf_counter() - start)


@torch.no_grad()
def sample_seconds(model, n=64, d=784, T=1000, dev=torch.device("cpu")):
    model = model.to(dev)
    betas, abar = schedule(T)
    x = torch.randn(n, d, device=dev)
    sync(dev)
    start = time.perf_counter()
    for i in reversed(range(T)):
        t = torch.full((n,), i, dtype=torch.long, device=dev)
        eps = model(x, t)
        x = (x - float(betas[i] / (1 - abar[i]).sqrt()) * eps) / float((1 - betas[i]).sqrt())
        if i > 0:
            x = x + float(betas[i].sqrt()) * torch.randn(n, d, device=dev)
    sync(dev)
    return time.perf_counter() - start


def gpu_suite(a):
    """The networks of scripts/bench/gpu.sh on one CUDA device, once per TF32 setting."""
    dev = torch.device(a.device)
    if not torch.cuda.is_available():
        raise SystemExit("torch_ref.py: torch sees no CUDA device (torch.cuda.is_available() is False)")
    # --quick: the shapes of gpu.sh --quick (tiny networks, few steps).
    if a.quick:
        mlp = dict(width=64, depth=1, temb=32)
        mnist, cifar, batch, steps, warm = dict(base=8), dict(base=8), 8, 3, 2
        sample_n, sample_t = 16, 20
    else:
        mlp = dict(width=1024, depth=3, temb=128)
        mnist, cifar, batch, steps, warm = dict(base=32), dict(base=64), 128, 50, 10
        sample_n, sample_t = 1024, 1000
    for tf32 in a.tf32.split(","):
        on = tf32 == "on"
        torch.backends.cuda.matmul.allow_tf32 = on
        torch.backends.cudnn.allow_tf32 = on
        torch.manual_seed(0)

        def emit(bench, value, unit):
            print(json.dumps({"bench": bench, "impl": "pytorch", "backend": "cuda",
                              "tf32": on, "device": torch.cuda.get_device_name(dev),
                              "value": value, "unit": unit}), flush=True)

        emit("mlp_train", train_rate(Mlp(784, **mlp), batch, steps, dev=dev, warmup=warm), "steps/s")
        emit("unet_mnist_train",
             train_rate(Unet(1, 28, mults=(1, 2, 2), **mnist), batch, max(steps // 2, 1), dev=dev,
                        warmup=warm), "steps/s")
        emit("unet_cifar_train",
             train_rate(Unet(3, 32, mults=(1, 2, 2), **cifar), batch, max(steps // 2, 1),
                        d=3 * 32 * 32, dev=dev, warmup=warm), "steps/s")
        emit("mlp_sample", sample_seconds(Mlp(784, **mlp), n=sample_n, T=sample_t, dev=dev), "s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda / cuda:N for the GPU suite")
    ap.add_argument("--tf32", default="off,on", help="GPU suite: TF32 settings to run (off,on)")
    ap.add_argument("--only", default="", help="CPU: one benchmark (mlp, linear, unet or sample)")
    a = ap.parse_args()
    if a.device != "cpu":
        gpu_suite(a)
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    k = (lambda full: -(-full // 5)) if a.quick else (lambda full: full)

    def emit(bench, value, unit):
        print(json.dumps({"bench": bench, "impl": "pytorch", "backend": "cpu", "threads": a.threads,
                          "value": value, "unit": unit}), flush=True)

    # The selectors of the speed bench's DIFFMEM_BENCH_ONLY.
    benches = [
        ("mlp", "mlp_train_steps_per_s", lambda: train_rate(Mlp(784), 128, k(250)), "steps/s"),
        ("linear", "linear10_train_steps_per_s", lambda: train_rate(Linear(784), 128, k(50)), "steps/s"),
        ("unet", "unet_train_steps_per_s", lambda: train_rate(Unet(), 64, k(10)), "steps/s"),
        ("sample", "mlp_sample_64x1000_seconds", lambda: sample_seconds(Mlp(784)), "s"),
    ]
    for key, bench, measure, unit in benches:
        if a.only in ("", key):
            emit(bench, measure(), unit)


if __name__ == "__main__":
    main()
