#!/usr/bin/env python3
"""Runs diffmem's speed benchmark and the PyTorch reference side by side at 1 and 2 threads
and prints a table with ratios (diffmem / PyTorch for rates, PyTorch / diffmem for seconds:
> 1 means diffmem is faster). Also measures the peak RSS of UNet training at batch 64.

Usage: python3 scripts/bench/compare.py [--quick] [--devices flex,ndarray]
(ndarray needs `--features ndarray`: pass --cargo-features ndarray).
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run_lines(cmd, env):
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    return rows, out.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--devices", default="flex")
    ap.add_argument("--cargo-features", default="")
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    rows = []
    feats = ["--features", a.cargo_features] if a.cargo_features else []
    for th in [int(t) for t in a.threads.split(",")]:
        env = dict(os.environ, RAYON_NUM_THREADS=str(th), DIFFMEM_BENCH_DEVICES=a.devices)
        if a.quick:
            env["DIFFMEM_BENCH_QUICK"] = "1"
        r, _ = run_lines(["cargo", "bench", "--bench", "speed", "-p", "diffmem", *feats], env)
        rows += r
        try:
            import torch  # noqa: F401
            r, _ = run_lines([sys.executable, os.path.join(HERE, "torch_ref.py"), "--threads", str(th)]
                             + (["--quick"] if a.quick else []), dict(os.environ))
            rows += r
        except ImportError:
            print("torch is not installed: PyTorch columns are empty (pip install torch)", file=sys.stderr)
    # Peak memory of UNet training at batch 64 (diffmem, flex).
    env = dict(os.environ, DIFFMEM_BENCH_DEVICES="flex", DIFFMEM_BENCH_ONLY="unet", DIFFMEM_BENCH_QUICK="1")
    out = subprocess.run(["/usr/bin/time", "-v", "cargo", "bench", "--bench", "speed", "-p", "diffmem", *feats],
                         env=env, cwd=ROOT, capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    peak = int(m.group(1)) / 1024 if m else float("nan")

    benches = sorted({r["bench"] for r in rows})
    print(f"{'benchmark':32} {'backend':8} {'thr':>3} {'diffmem':>10} {'pytorch':>10} {'ratio':>7}")
    for b in benches:
        for th in sorted({r["threads"] for r in rows}):
            torch_v = next((r["value"] for r in rows if r["bench"] == b and r["impl"] == "pytorch" and r["threads"] == th), None)
            for r in rows:
                if r["bench"] != b or r["impl"] != "diffmem" or r["threads"] != th:
                    continue
                ratio = ""
                if torch_v:
                    ratio = r["value"] / torch_v if r["unit"] != "s" else torch_v / r["value"]
                    ratio = f"{ratio:.2f}"
                tv = f"{torch_v:.2f}" if torch_v else "-"
                print(f"{b:32} {r['backend']:8} {th:>3} {r['value']:>10.2f} {tv:>10} {ratio:>7}")
    print(f"peak RSS of UNet training (batch 64, flex, whole bench process): {peak:.0f} MiB")
    print("ratio > 1: diffmem faster (rates: diffmem/pytorch; seconds: pytorch/diffmem)")


if __name__ == "__main__":
    main()
