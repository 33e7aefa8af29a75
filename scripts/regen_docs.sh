#!/usr/bin/env bash
# The README's pictures and numbers from pinned commands, so that they cannot go stale.
#
#   scripts/regen_docs.sh           # rerun the pinned run; rewrite docs/img/quickstart_*.png,
#                                   # docs/quickstart.json and the README's quickstart block
#   scripts/regen_docs.sh --check   # rerun it in a scratch folder; exit 1 if the README's block
#                                   # (the numbers it quotes) differs from a fresh run's
#
# The pinned run: `diffmem train --n 200 --width 512 --depth 2 --steps 1500 --sample-every 500`,
# then `diffmem eval RUN --num 200`, on one thread (RAYON_NUM_THREADS=1: flex's reductions are
# then reproducible run to run). About 2-3 minutes on 2 cores. The README quotes the block
# between the `regen_docs` markers word for word, verdict lines as the binary prints them.
# Needs bash, python3 and a built diffmem ($DIFFMEM, else $CARGO_TARGET_DIR/release/diffmem,
# else target/release/diffmem).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=write
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: scripts/regen_docs.sh [--check]" >&2; exit 2 ;;
esac
DIFFMEM="${DIFFMEM:-${CARGO_TARGET_DIR:-target}/release/diffmem}"
if [[ ! -x "$DIFFMEM" ]]; then
  echo "regen_docs: no diffmem at $DIFFMEM: build it (cargo build --release) or set DIFFMEM" >&2
  exit 1
fi
export RAYON_NUM_THREADS=1

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run="$work/run"
started=$SECONDS
"$DIFFMEM" train --n 200 --width 512 --depth 2 --steps 1500 --sample-every 500 \
  --out "$run" --quiet > "$work/train.txt"
"$DIFFMEM" eval "$run" --num 200 --quiet > "$work/eval.txt"
echo "regen_docs: pinned run and eval in $((SECONDS - started)) s" >&2

# The numbers (docs/quickstart.json) and the README block, from the run's own files.
python3 - "$run" "$work" <<'PY'
import json, math, sys
run, work = sys.argv[1], sys.argv[2]
log = [json.loads(l) for l in open(f"{run}/log.jsonl") if l.strip()]
held = [(r["step"], r["heldout_loss"]) for r in log if r.get("heldout_loss") is not None]
fixed = [(r["step"], r["train_fixed_loss"]) for r in log if r.get("train_fixed_loss") is not None]
best_step, best = min(held, key=lambda p: (p[1], p[0]))
m = json.load(open(f"{run}/metrics.json"))
mem = m["metrics"]["mem"]
h = mem.get("heldout") or {}
n, n_held = m["n_train"], m["n_heldout"]
def verdict(path):
    lines = [l.strip() for l in open(path) if l.startswith("verdict:")]
    return lines[-1] if lines else "verdict: (none printed)"
numbers = {
    "commands": [
        "diffmem train --n 200 --width 512 --depth 2 --steps 1500 --sample-every 500",
        "diffmem eval RUN --num 200",
    ],
    "best_heldout_step": best_step,
    "best_heldout_loss": best,
    "last_step": held[-1][0],
    "last_heldout_loss": held[-1][1],
    "first_train_fixed_loss": fixed[0][1],
    "last_train_fixed_loss": fixed[-1][1],
    "r_mem": mem["r_mem"],
    "exact_copies": mem["exact_copies"],
    "num_samples": mem["num_samples"],
    "frac_closer_to_heldout": h.get("frac_closer_to_heldout"),
    "expected_frac_closer": n_held / (n_held + n),
    "train_verdict": verdict(f"{work}/train.txt"),
    "eval_verdict": verdict(f"{work}/eval.txt"),
}
pct = lambda x: "n/a" if x is None else f"{100 * x:.0f} %"
# The first logged step within 1 % of the lowest held-out loss: where the curve flattens.
plateau = next(s for s, v in held if v <= 1.01 * best)
numbers["heldout_within_1pct_step"] = plateau
fixed_at = dict(fixed)
last_step, last = held[-1]
f = lambda x: f"{x:.4f}"
if last > 1.01 * best:
    story = (f"Its held-out loss (fixed noise) was lowest at step {best_step} ({f(best)}) and then rose to"
             f" {f(last)} by step {last_step}, while the loss on training rows fell from"
             f" {f(fixed_at.get(best_step, fixed[0][1]))} to {f(fixed[-1][1])}.")
elif plateau < last_step:
    story = (f"Its held-out loss (fixed noise) came within 1 % of its lowest by step {plateau} and then"
             f" stayed flat to step {last_step} (lowest: {f(best)} at step {best_step}), while the loss"
             f" on training rows kept falling, from {f(fixed_at.get(plateau, fixed[0][1]))} to {f(fixed[-1][1])}.")
else:
    story = (f"Its held-out loss (fixed noise) was still falling at the last step, {last_step}"
             f" ({f(best)}); the loss on training rows reached {f(fixed[-1][1])}.")
block = f"""{story}
`eval` found R_mem = {mem['r_mem']:.3g} ({mem['exact_copies']} exact copies among {mem['num_samples']} samples) and
{pct(numbers['frac_closer_to_heldout'])} of samples nearer a held-out image than every training image, where
{pct(numbers['expected_frac_closer'])} would be expected. `train` ended with

    {numbers['train_verdict']}

and `eval` with

    {numbers['eval_verdict']}
"""
json.dump(numbers, open(f"{work}/quickstart.json", "w"), indent=2)
open(f"{work}/block.md", "w").write(block)
PY

begin='<!-- regen_docs:begin (written by scripts/regen_docs.sh; CI checks it with --check) -->'
end='<!-- regen_docs:end -->'
if ! grep -qF "$begin" README.md || ! grep -qF "$end" README.md; then
  echo "regen_docs: README.md has no regen_docs block (markers: $begin ... $end)" >&2
  exit 1
fi
# README.md with the block between the markers replaced by the fresh one.
python3 - "$work/block.md" "$begin" "$end" > "$work/README.md" <<'PY'
import sys
block, begin, end = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
text = open("README.md").read()
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
sys.stdout.write(f"{head}{begin}\n{block}{end}{tail}")
PY

if [[ $mode == check ]]; then
  if diff -u README.md "$work/README.md"; then
    echo "regen_docs: the README's quickstart numbers match a fresh run"
  else
    echo "regen_docs: the README quotes numbers a fresh run does not give (diff above): run" \
      "scripts/regen_docs.sh and commit README.md, docs/quickstart.json and docs/img/" >&2
    exit 1
  fi
  exit 0
fi
cp "$work/README.md" README.md
cp "$work/quickstart.json" docs/quickstart.json
cp "$run/samples.png" docs/img/quickstart_samples.png
cp "$run/loss.png" docs/img/quickstart_loss.png
cp "$run/nn_grid.png" docs/img/quickstart_nn_grid.png
echo "regen_docs: wrote README.md's block, docs/quickstart.json and docs/img/quickstart_*.png"
