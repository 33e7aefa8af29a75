#!/usr/bin/env python3
"""Summarises a `cargo build --timings` report (target/cargo-timings/cargo-timing.html):
the sum of the units' compile times (wall seconds per unit: near the build's CPU time on an
idle machine, inflated by the load on a shared one, where `/usr/bin/time` gives the CPU time),
the N longest units, and the share of units whose crate name starts with one of the given
prefixes (e.g. the wgpu/cubecl host stack).

Usage: python3 scripts/bench/build_timings.py REPORT.html [--top 10] [--group cubecl,cubek,wgpu]
"""
import argparse
import json
import re


def units(path):
    """The report's unit list: one dict per compiled unit (name, target, duration in s, ...)."""
    text = open(path, encoding="utf-8").read()
    m = re.search(r"UNIT_DATA\s*=\s*(\[.*?\]);\s*\n", text, re.S)
    if not m:
        raise SystemExit(f"{path}: no UNIT_DATA in this cargo timing report")
    return json.loads(m.group(1))


def label(u):
    """`name target` as cargo prints it, e.g. `burn-flex` or `diffmem (test \"cli\")`."""
    target = (u.get("target") or "").strip()
    return f"{u['name']}{' ' + target if target else ''}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--group", default="", help="comma list of crate-name prefixes")
    a = ap.parse_args()
    us = units(a.report)
    total = sum(u["duration"] for u in us)
    print(f"{len(us)} units, sum of unit times {total:.0f} s ({total / 60:.1f} min)")
    for u in sorted(us, key=lambda u: -u["duration"])[: a.top]:
        print(f"  {u['duration']:7.1f} s  {label(u)}")
    prefixes = [p for p in a.group.split(",") if p]
    if prefixes:
        grouped = [u for u in us if any(u["name"].startswith(p) for p in prefixes)]
        g = sum(u["duration"] for u in grouped)
        print(f"units of {','.join(prefixes)}*: {len(grouped)}, {g:.0f} s ({100 * g / total:.0f} %)")


if __name__ == "__main__":
    main()
