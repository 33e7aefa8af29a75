#!/usr/bin/env bash
# Theory check at full size: a `linear` model trained by SGD (one affine map per timestep) on a
# d = 20 power-law Gaussian, Merger & Goldt schedule (beta 1e-4..1e-2, T = 1000), ends close to
# the exact optimum W_t*, and its DDPM samples follow the predicted Gaussian. The closed form
# (`linear-exact`) is checked alongside as the reference.
#
# Usage: scripts/theory_trained_check.sh [OUT_DIR]
# Environment overrides: N (200), STEPS (100000), BATCH (1024), LR (1e-2), DEVICE (flex),
# NUM (20000 samples for the covariance check), DIFFMEM (path of the binary).
set -euo pipefail

OUT=${1:-runs/theory-check}
N=${N:-200}
STEPS=${STEPS:-100000}
BATCH=${BATCH:-1024}
LR=${LR:-1e-2}
DEVICE=${DEVICE:-flex}
NUM=${NUM:-20000}
DIFFMEM=${DIFFMEM:-target/release/diffmem}
DATA="gaussian:d=20,spectrum=power:1"
COMMON=(--data "$DATA" --n "$N" --timesteps 1000 --beta-1 1e-4 --beta-T 1e-2 --device "$DEVICE" --num 16)

if [[ ! -x "$DIFFMEM" ]]; then
    echo "no binary at $DIFFMEM: run \`cargo build --release\` or set DIFFMEM" >&2
    exit 1
fi
mkdir -p "$OUT"

echo "== linear-exact (closed form, the reference)"
"$DIFFMEM" train "${COMMON[@]}" --model linear-exact --out "$OUT/exact" --quiet
"$DIFFMEM" theory check "$OUT/exact" --num "$NUM" --out "$OUT/exact-check"

echo "== linear trained by Adam: $STEPS steps, batch $BATCH, lr $LR"
"$DIFFMEM" train "${COMMON[@]}" --model linear --steps "$STEPS" --batch-size "$BATCH" --lr "$LR" \
    --ema 0 --out "$OUT/sgd" --quiet
"$DIFFMEM" theory check "$OUT/sgd" --num "$NUM" --out "$OUT/sgd-check"

echo "per-timestep errors: $OUT/sgd-check/check.csv, plot: $OUT/sgd-check/check_w.png"
