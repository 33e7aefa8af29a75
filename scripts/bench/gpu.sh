#!/usr/bin/env bash
# GPU benchmark of a built diffmem binary: training steps/s of the MLP (784 -> 1024 x3) and of
# the UNet at MNIST shape (28x28x1, base 32) and CIFAR shape (32x32x3, base 64, mults 1,2,2),
# all at batch 128, and the time of 1024 samples x 1000 DDPM steps of the MLP, on each diffmem
# GPU backend (wgpu, cuda) beside the same networks in PyTorch CUDA (f32, TF32 off and on;
# scripts/bench/torch_ref.py), with ratios; then one end-to-end `train -> eval` of a UNet.
#
# Needs only a copy of the binary (no cargo) and, for the PyTorch rows and the CIFAR-shaped
# images, python3 (with torch for the PyTorch rows). One table goes to stdout and to --out.
#
# Usage: scripts/bench/gpu.sh [--quick] [--devices wgpu,cuda] [--out FILE] [--python PY] DIFFMEM
#   --quick     tiny networks and few steps (a smoke test; runs on Mesa's lavapipe in minutes)
#   --devices   diffmem backends to measure (default wgpu,cuda; a backend that cannot open is
#               reported in the table with its reason)
#   --out       table file (default gpu_bench.txt in the current directory)
#   --python    Python for the PyTorch rows (default python3; `none` skips them)
# The full size is meant to finish in under 6 minutes on one NVIDIA GPU. Training rates are
# those of the last logging interval, so the first-step autotune is not counted; sampling
# times are those `diffmem sample` reports (model load excluded, autotune included).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
QUICK=0
DEVICES=wgpu,cuda
OUT=gpu_bench.txt
PY=python3
BIN=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --devices) DEVICES="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --python) PY="$2"; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) BIN="$1" ;;
  esac
  shift
done
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "gpu.sh: give the path of a built diffmem binary (got '${BIN}'), e.g." >&2
  echo "  scripts/bench/gpu.sh target/release/diffmem" >&2
  exit 2
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
OUT_ABS="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

# Runs in a scratch directory outside any cargo workspace, so cubecl keeps its autotune cache
# in the user cache (~/.cache/cubecl) and the numbers do not depend on the checkout.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/diffmem-gpu-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
START=$(date +%s)

if [ "$QUICK" = 1 ]; then
  export CUBECL_AUTOTUNE_LEVEL="${CUBECL_AUTOTUNE_LEVEL:-minimal}"
  SIZE=quick
  MLP=(--model mlp --width 64 --depth 1 --temb 32)
  UNET_M=(--model unet --base 8 --mults 1,2,2)
  UNET_C=(--model unet --base 8 --mults 1,2,2)
  BATCH=8; N=64; HELD=16
  MLP_STEPS=8; UNET_STEPS=4
  SAMPLE_N=16; SAMPLE_T=20
  E2E=(--model unet --base 8 --mults 1,2 --n 32 --heldout 16 --steps 4 --batch-size 8 --timesteps 20 --num 4)
  E2E_EVAL=(--num 16 --steps 5 --loss-points 3 --loss-rows 16)
  TORCH_QUICK=(--quick)
else
  SIZE=full
  MLP=(--model mlp --width 1024 --depth 3 --temb 128)
  UNET_M=(--model unet --base 32 --mults 1,2,2)
  UNET_C=(--model unet --base 64 --mults 1,2,2)
  BATCH=128; N=1024; HELD=128
  MLP_STEPS=300; UNET_STEPS=40
  SAMPLE_N=1024; SAMPLE_T=1000
  E2E=(--model unet --base 32 --n 1000 --heldout 200 --steps 300 --batch-size 128 --timesteps 1000 --num 64)
  E2E_EVAL=(--num 256 --steps 100 --loss-points 10 --loss-rows 200)
  TORCH_QUICK=()
fi

# CIFAR-shaped data: a folder of 32x32 RGB PNGs (smooth random colour fields), written with
# Python's standard library; `folder:DIR,size=32` reads them as 3x32x32 images.
CIFAR_DIR="$WORK/cifar-shape"
make_cifar() {
  "$PY" - "$CIFAR_DIR" $((N + HELD)) <<'EOF'
import math, os, random, struct, sys, zlib
out, count = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
def png(path, w, h, rgb):
    raw = b"".join(b"\0" + bytes(rgb[y * w * 3:(y + 1) * w * 3]) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
rng = random.Random(0)
for i in range(count):
    f = [(rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4), rng.uniform(0, 6.3)) for _ in range(3)]
    px = []
    for y in range(32):
        for x in range(32):
            for (a, b, p) in f:
                px.append(int(127.5 * (1 + math.sin(a * x + b * y + p))))
    png(os.path.join(out, f"{i:05d}.png"), 32, 32, px)
EOF
}

declare -A VAL    # VAL[bench|column] = number or "-"
declare -A NOTE   # NOTE[column] = why a column is empty
log() { echo "[gpu.sh $(($(date +%s) - START))s] $*" >&2; }

# Training rate: the steps/s of the last logging interval of `diffmem train`.
train_rate() { # device bench data...flags
  local dev="$1" bench="$2"; shift 2
  local dir="$WORK/run-$dev-$bench"
  local steps="$1"; shift
  if "$BIN" train "$@" --steps "$steps" --log-every $((steps / 2)) --checkpoint-every "$steps" \
      --batch-size "$BATCH" --ema 0 --num 1 --timesteps 100 --quiet --device "$dev" \
      --out "$dir" >"$dir.log" 2>&1; then
    VAL["$bench|$dev"]=$(grep -o '"steps_per_sec":[0-9.eE+-]*' "$dir/log.jsonl" | tail -1 | cut -d: -f2)
  else
    VAL["$bench|$dev"]="-"
    NOTE[$dev]="${NOTE[$dev]:-$(grep -m1 -i 'error' "$dir.log" || tail -1 "$dir.log")}"
  fi
  log "$dev $bench: ${VAL[$bench|$dev]}"
}

# Sampling time of SAMPLE_N x SAMPLE_T DDPM steps of an (untrained, 1-step) MLP run.
sample_time() { # device
  local dev="$1" dir="$WORK/run-$1-sample"
  if "$BIN" train --data mnist-5k --n 64 --heldout 16 "${MLP[@]}" --steps 1 --batch-size 8 \
        --timesteps "$SAMPLE_T" --num 1 --quiet --device "$dev" --out "$dir" >"$dir.log" 2>&1 &&
     "$BIN" sample "$dir" --num "$SAMPLE_N" --batch "$SAMPLE_N" --sampler ddpm --quiet \
        --device "$dev" >"$dir.sample.log" 2>&1; then
    VAL["mlp_sample|$dev"]=$(sed -n 's/.* in \([0-9.]*\)s -> .*/\1/p' "$dir.sample.log" | tail -1)
  else
    VAL["mlp_sample|$dev"]="-"
  fi
  log "$dev mlp_sample: ${VAL[mlp_sample|$dev]}"
}

HAVE_PY=0
if [ "$PY" != none ] && command -v "$PY" >/dev/null 2>&1; then HAVE_PY=1; fi
if [ "$HAVE_PY" = 1 ]; then make_cifar; fi

COLS=()
IFS=, read -r -a DEVS <<<"$DEVICES"
for dev in "${DEVS[@]}"; do
  COLS+=("$dev")
  train_rate "$dev" mlp_train "$MLP_STEPS" --data mnist-5k --n "$N" --heldout "$HELD" "${MLP[@]}"
  if [ "${VAL[mlp_train|$dev]}" = "-" ]; then
    for b in unet_mnist_train unet_cifar_train mlp_sample; do VAL["$b|$dev"]="-"; done
    continue
  fi
  train_rate "$dev" unet_mnist_train "$UNET_STEPS" --data mnist-5k --n "$N" --heldout "$HELD" "${UNET_M[@]}"
  if [ "$HAVE_PY" = 1 ]; then
    train_rate "$dev" unet_cifar_train "$UNET_STEPS" --data "folder:$CIFAR_DIR,size=32" \
      --n "$N" --heldout "$HELD" "${UNET_C[@]}"
  else
    VAL["unet_cifar_train|$dev"]="-"; NOTE[cifar]="no python3 to write the CIFAR-shaped images"
  fi
  sample_time "$dev"
done

# PyTorch CUDA rows.
TORCH_COLS=("torch f32" "torch tf32")
if [ "$HAVE_PY" = 1 ] && "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  log "pytorch (cuda, tf32 off and on)"
  while read -r line; do
    case "$line" in
      '{'*)
        bench=$(echo "$line" | sed -n 's/.*"bench": "\([a-z_]*\)".*/\1/p')
        tf=$(echo "$line" | sed -n 's/.*"tf32": \(true\|false\).*/\1/p')
        v=$(echo "$line" | sed -n 's/.*"value": \([0-9.eE+-]*\).*/\1/p')
        col="torch f32"; [ "$tf" = true ] && col="torch tf32"
        VAL["$bench|$col"]="$v" ;;
    esac
  done < <("$PY" "$HERE/torch_ref.py" --device cuda --tf32 off,on "${TORCH_QUICK[@]}" 2>"$WORK/torch.err" || true)
  [ -s "$WORK/torch.err" ] && NOTE["torch f32"]="$(tail -1 "$WORK/torch.err")"
else
  NOTE["torch f32"]="no PyTorch with CUDA here"
fi
COLS+=("${TORCH_COLS[@]}")

# End-to-end: train a UNet and evaluate it (mem, loss) on the first diffmem GPU backend that
# trained above.
E2E_LINE="end-to-end: no GPU backend opened"
for dev in "${DEVS[@]}"; do
  [ "${VAL[mlp_train|$dev]}" = "-" ] && continue
  t0=$(date +%s)
  d="$WORK/e2e-$dev"
  if "$BIN" train --data mnist-5k "${E2E[@]}" --quiet --device "$dev" --out "$d" >"$d.log" 2>&1 &&
     "$BIN" eval "$d" --metrics mem,loss "${E2E_EVAL[@]}" --quiet --json --device "$dev" >"$d.json" 2>"$d.eval.log"; then
    t1=$(date +%s)
    rmem=$(grep -o '"r_mem": [0-9.eE+-]*' "$d.json" | head -1 | cut -d' ' -f2)
    gap=$(grep -o '"mean_gap": [0-9.eE+-]*' "$d.json" | head -1 | cut -d' ' -f2)
    E2E_LINE="end-to-end on $dev: unet train + eval (mem, loss) in $((t1 - t0)) s; R_mem = $rmem, mean loss gap = $gap"
  else
    E2E_LINE="end-to-end on $dev FAILED: $(grep -h -m1 -i error "$d.log" "$d.eval.log" 2>/dev/null | head -1)"
  fi
  break
done

# The table: values, then ratios against PyTorch f32 (> 1: diffmem faster).
ratio() { # bench col ref -> diffmem/torch for rates, torch/diffmem for seconds
  local a="${VAL[$1|$2]:--}" b="${VAL[$1|$3]:--}"
  if [ "$a" = "-" ] || [ "$b" = "-" ] || [ -z "$a" ] || [ -z "$b" ]; then echo "-"; return; fi
  case "$1" in
    *_sample) awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }' ;;
    *) awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }' ;;
  esac
}
fmt() { local v="${1:--}"; [ "$v" = "-" ] && echo "-" || awk -v v="$v" 'BEGIN { printf (v >= 100 ? "%.0f" : "%.3g"), v }'; }
{
  echo "diffmem GPU benchmark ($SIZE size), $(date -u +%Y-%m-%dT%H:%MZ), $(uname -n)"
  for dev in "${DEVS[@]}"; do
    desc=$(grep -h -m1 '^device: ' "$WORK/run-$dev-mlp_train.log" 2>/dev/null | head -1 || true)
    echo "  $dev: ${desc#device: }${NOTE[$dev]:+ ${NOTE[$dev]}}"
  done
  [ -n "${NOTE[torch f32]:-}" ] && echo "  pytorch: ${NOTE[torch f32]}"
  [ -n "${NOTE[cifar]:-}" ] && echo "  cifar: ${NOTE[cifar]}"
  if [ "$SIZE" = full ]; then
    labels=("mlp 784-1024x3 train b128 (steps/s)" "unet mnist 28x28x1 b32 train b128 (steps/s)"
            "unet cifar 32x32x3 b64 train b128 (steps/s)" "mlp sample 1024 x 1000 ddpm (s)")
  else
    labels=("mlp 784-64x1 train b8 (steps/s)" "unet mnist 28x28x1 b8 train b8 (steps/s)"
            "unet cifar 32x32x3 b8 train b8 (steps/s)" "mlp sample 16 x 20 ddpm (s)")
  fi
  benches=(mlp_train unet_mnist_train unet_cifar_train mlp_sample)
  printf '%-46s' "benchmark"
  for c in "${COLS[@]}"; do printf ' | %10s' "$c"; done
  for dev in "${DEVS[@]}"; do printf ' | %14s' "$dev/torch f32"; done
  for dev in "${DEVS[@]}"; do printf ' | %15s' "$dev/torch tf32"; done
  echo
  for i in "${!benches[@]}"; do
    b="${benches[$i]}"
    printf '%-46s' "${labels[$i]}"
    for c in "${COLS[@]}"; do printf ' | %10s' "$(fmt "${VAL[$b|$c]:--}")"; done
    for dev in "${DEVS[@]}"; do printf ' | %14s' "$(ratio "$b" "$dev" "torch f32")"; done
    for dev in "${DEVS[@]}"; do printf ' | %15s' "$(ratio "$b" "$dev" "torch tf32")"; done
    echo
  done
  echo "ratios > 1: diffmem faster than PyTorch"
  echo "$E2E_LINE"
  echo "total $(($(date +%s) - START)) s"
} | tee "$OUT_ABS"
