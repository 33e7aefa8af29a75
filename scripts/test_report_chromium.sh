#!/usr/bin/env bash
# Renders a sweep's report.html in headless Chromium (Debian `chromium`, installed if missing):
# the page must load with no console error and no failed load, contain no unescaped run name,
# and every <img src> it references must exist; also writes a screenshot to look at.
#
#   scripts/test_report_chromium.sh [SWEEP_DIR]
# Without SWEEP_DIR a tiny MNIST sweep (plus a run named `<script>...`) is built first.
# DIFFMEM=path/to/diffmem chooses the binary. The screenshot is SWEEP_DIR/report_screenshot.png
# (for the built-in sweep: ${TMPDIR:-/tmp}/diffmem_report_screenshot.png).
set -euo pipefail
ARG_DIR=""
if [ $# -ge 1 ]; then
  ARG_DIR="$(cd "$1" && pwd)" || { echo "test_report_chromium: no directory $1" >&2; exit 1; }
fi
cd "$(dirname "$0")/.."
BIN="${DIFFMEM:-${CARGO_TARGET_DIR:-$HOME/.cache/diffmem-target}/release/diffmem}"
fail() { echo "test_report_chromium: $*" >&2; echo "test_report_chromium: 0 passed, 1 failed"; exit 1; }

if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

WORK="$(mktemp -d /tmp/diffmem-chromium.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
if [ -n "$ARG_DIR" ]; then
  SWEEP="$ARG_DIR"
  SHOT="$SWEEP/report_screenshot.png"
else
  SHOT="${TMPDIR:-/tmp}/diffmem_report_screenshot.png"
  [ -x "$BIN" ] || fail "no diffmem binary at $BIN (cargo build --release first)"
  cat > "$WORK/tiny.toml" <<'SPEC'
name = "chromium <test>"
description = "tiny MNIST sweep for the headless-browser test & <b>escaping</b>"
[base]
data.spec = "mnist-5k"
data.heldout = 64
diffusion.timesteps = 50
train.steps = 20
train.batch_size = 16
train.log_every = 10
train.checkpoint_every = 10
sample.num = 16
[axes]
model = ["linear-exact", "small"]
n = [16, 64]
[models.small]
name = "mlp"
width = 32
depth = 1
temb = 16
[eval]
metrics = ["mem", "loss"]
args = ["--num", "32", "--steps", "10", "--loss-points", "4", "--loss-rows", "32"]
SPEC
  SWEEP="$WORK/sweep"
  "$BIN" sweep "$WORK/tiny.toml" --out "$SWEEP" --no-report >/dev/null 2>&1 || fail "the tiny sweep failed"
  evil="$SWEEP/runs/<script>alert('x') & co"
  mkdir -p "$evil"
  cp "$SWEEP"/runs/small-n16/{config.toml,metrics.json,summary.json,samples.png,nn_grid.png} "$evil/"
  "$BIN" report "$SWEEP" >/dev/null || fail "diffmem report failed"
fi
PAGE="$SWEEP/report.html"
[ -f "$PAGE" ] || fail "$PAGE does not exist"

# An absolute file:// URL with the path percent-encoded.
url="file://$(printf '%s' "$PAGE" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g')"
FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --disable-dev-shm-usage --user-data-dir="$WORK/profile" --enable-logging=stderr --v=1)
timeout 180 chromium "${FLAGS[@]}" --dump-dom "$url" >"$WORK/dom.html" 2>"$WORK/dom.log" \
  || { tail -n 20 "$WORK/dom.log" >&2; fail "chromium --dump-dom failed or timed out"; }
timeout 180 chromium "${FLAGS[@]}" --hide-scrollbars --window-size=1400,2400 \
  --screenshot="$SHOT" "$url" >"$WORK/shot.out" 2>"$WORK/shot.log" \
  || { tail -n 20 "$WORK/shot.log" >&2; fail "chromium --screenshot failed or timed out"; }

grep -q "</html>" "$WORK/dom.html" || fail "the DOM dump is empty or cut"
grep -q "diffmem sweep" "$WORK/dom.html" || fail "the page has no title heading"
if grep -q "<script" "$WORK/dom.html"; then fail "the DOM contains a <script> element (unescaped text)"; fi
if grep -hE ":CONSOLE|ERR_FILE_NOT_FOUND|Not allowed to load local resource" \
  "$WORK/dom.log" "$WORK/shot.log"; then
  fail "chromium reported page errors (above)"
fi

# Every <img src>, percent-decoded, must be a file inside the sweep directory.
images=0
while IFS= read -r src; do
  [ -n "$src" ] || continue
  case "$src" in
    http:* | https:* | //*) fail "the page loads $src from the network" ;;
  esac
  rel=$(printf '%b' "${src//%/\\x}")
  [ -f "$SWEEP/$rel" ] || fail "image $rel is referenced but missing"
  images=$((images + 1))
done < <(grep -o '<img [^>]*src="[^"]*"' "$WORK/dom.html" | sed -e 's/.*src="//' -e 's/"$//')
[ "$images" -gt 0 ] || fail "the page shows no image"
if grep -qE '<(link|script)[^>]*(src|href)=' "$WORK/dom.html"; then fail "the page loads external files"; fi
[ -s "$SHOT" ] || fail "no screenshot written"
echo "test_report_chromium: $images images present, no page errors; screenshot $SHOT"
echo "test_report_chromium: 1 passed, 0 failed"
