#!/usr/bin/env python3
"""Runs diffmem's speed benchmark and the PyTorch reference side by side at 1 and 2 threads,
each side several times, interleaved (diffmem, torch, diffmem, torch, ...), and prints per
benchmark each side's median and min..max and the median ratio with the min..max of the
per-round ratios (diffmem / PyTorch for rates, PyTorch / diffmem for seconds: > 1 means
diffmem is faster). A ratio is never read from one run: the machines are shared and noisy.
Also measures the peak RSS of UNet training at batch 64.

Usage: python3 scripts/bench/compare.py [--quick] [--repeats 2] [--threads 1,2] [--only mlp]
       [--devices flex,ndarray] [--bin PATH] [--baseline-bin PATH]
(ndarray needs `--features ndarray`: pass --cargo-features ndarray). --bin runs a built bench
executable instead of building one; --baseline-bin interleaves a second diffmem build (a
before/after comparison: its column is `baseline`, and `new/base` is diffmem / baseline).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SIDES = ("diffmem", "baseline", "pytorch")


def run_lines(cmd, env):
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    return rows, out.stderr


def bench_binary(feats):
    """Builds the speed bench once (release profile) and returns its executable's path."""
    cmd = ["cargo", "bench", "--bench", "speed", "-p", "diffmem", "--no-run",
           "--message-format=json", *feats]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    for line in out.stdout.splitlines():
        msg = json.loads(line) if line.startswith("{") else {}
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "speed" \
                and msg.get("executable"):
            return msg["executable"]
    raise SystemExit("cargo built no `speed` bench executable")


def torch_available():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        print("torch is not installed: PyTorch columns are empty (pip install torch)", file=sys.stderr)
        return False


def one_round(a, th, binaries, with_torch):
    """One run of each side at `th` threads, in a fixed order; rows tagged with their side."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(th), DIFFMEM_BENCH_DEVICES=a.devices)
    if a.quick:
        env["DIFFMEM_BENCH_QUICK"] = "1"
    if a.only:
        env["DIFFMEM_BENCH_ONLY"] = a.only
    rows = []
    for side, exe in binaries:
        r, _ = run_lines([exe, "--bench"], env)
        rows += [dict(x, side=side) for x in r]
    if with_torch:
        cmd = [sys.executable, os.path.join(HERE, "torch_ref.py"), "--threads", str(th)]
        cmd += (["--quick"] if a.quick else []) + (["--only", a.only] if a.only else [])
        r, _ = run_lines(cmd, dict(os.environ))
        rows += [dict(x, side="pytorch", backend=a.devices.split(",")[0]) for x in r]
    return rows


def faster_ratio(ours, theirs, unit):
    """> 1 when `ours` is faster: a rate ratio, or the inverse ratio of seconds."""
    return ours / theirs if unit != "s" else theirs / ours


def spread(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}..{max(values):.2f})"


def print_table(rows):
    """Per (benchmark, backend, threads): each side's median (min..max) over the rounds and
    the median (min..max) of the per-round ratios against PyTorch and against the baseline."""
    print(f"{'benchmark':32} {'backend':8} {'thr':>3} {'diffmem':>20} {'baseline':>20} "
          f"{'pytorch':>20} {'ratio':>20} {'new/base':>20}")
    keys = sorted({(r["bench"], r["backend"], r["threads"]) for r in rows if r["side"] != "pytorch"})
    for bench, backend, th in keys:
        def values(side):
            return [(r["round"], r["value"], r["unit"]) for r in rows if r["bench"] == bench
                    and r["threads"] == th and r["side"] == side
                    and (side == "pytorch" or r["backend"] == backend)]
        per = {s: values(s) for s in SIDES}

        def ratios(other):
            theirs = {k: v for k, v, _ in per[other]}
            return [faster_ratio(v, theirs[k], u) for k, v, u in per["diffmem"] if k in theirs]

        cells = [spread([v for _, v, _ in per[s]]) if per[s] else "-" for s in SIDES]
        cells += [spread(x) if x else "-" for x in (ratios("pytorch"), ratios("baseline"))]
        print(f"{bench:32} {backend:8} {th:>3} " + " ".join(f"{c:>20}" for c in cells))


def peak_rss(exe):
    """Peak memory of UNet training at batch 64 (diffmem, flex), MiB."""
    env = dict(os.environ, DIFFMEM_BENCH_DEVICES="flex", DIFFMEM_BENCH_ONLY="unet", DIFFMEM_BENCH_QUICK="1")
    out = subprocess.run(["/usr/bin/time", "-v", exe, "--bench"], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    return int(m.group(1)) / 1024 if m else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--devices", default="flex")
    ap.add_argument("--cargo-features", default="")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=2, help="rounds per thread count (>= 2)")
    ap.add_argument("--only", default="", help="one benchmark: mlp, linear, unet or sample")
    ap.add_argument("--bin", default="", help="a built speed bench executable (default: build it)")
    ap.add_argument("--baseline-bin", default="", help="a second diffmem build to interleave")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS run")
    a = ap.parse_args()
    feats = ["--features", a.cargo_features] if a.cargo_features else []
    exe = a.bin or bench_binary(feats)
    binaries = [("diffmem", exe)] + ([("baseline", a.baseline_bin)] if a.baseline_bin else [])
    with_torch = torch_available()
    rows = []
    for th in [int(t) for t in a.threads.split(",")]:
        for k in range(max(a.repeats, 1)):
            rows += [dict(r, round=k) for r in one_round(a, th, binaries, with_torch)]
    print_table(rows)
    if not a.no_rss:
        print(f"peak RSS of UNet training (batch 64, flex, whole bench process): {peak_rss(exe):.0f} MiB")
    print(f"each cell: median (min..max) over {max(a.repeats, 1)} interleaved rounds; ratio > 1: "
          "diffmem faster (rates: diffmem/other; seconds: other/diffmem), per round")


if __name__ == "__main__":
    main()
