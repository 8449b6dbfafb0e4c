#!/usr/bin/env bash
# One command that measures ddpm-ts on a machine's GPU and writes one table:
#
#   bash bench/device.sh [OUT.md]
#
# It runs, each under a time limit so the whole stays within about 8 minutes:
#   1. npm run bench --backend webgpu: the webgpu backend against the cpu backend (all cores) and
#      TensorFlow.js's webgpu backend on the same adapter, with the cost of one tiny launch;
#   2. the same on webgl (headless-gl, under xvfb-run when there is no display; TF.js's webgl
#      backend beside it), where the `gl` package and a display or xvfb-run are there;
#   3. PyTorch on CUDA (bench/torch_unet.py), where python3 has torch and a CUDA device;
# then bench/device-table.mjs puts their JSON lines in one Markdown table (OUT.md, default
# bench/device-results.md) and prints it.
#
# On a lent NVIDIA machine (no node, no network): ../shared/device/prepare.sh webgpu packs node,
# this package and the Vulkan loader here, and .device/webgpu/run.sh runs this script there
# (bash .device/webgpu/run.sh bash bench/device.sh). Without a GPU it runs on SwiftShader
# (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json), and the test suite does so.
#
# DEVICE_REPS (default 3) sets each bench's reps; DEVICE_ROWS a subset of the rows (e.g.
# gemm,convF for a quick check); DEVICE_LIMIT the seconds each step may take (default 200).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/device-results.md}
reps=${DEVICE_REPS:-3}
limit=${DEVICE_LIMIT:-200}
rows=${DEVICE_ROWS:+--rows $DEVICE_ROWS}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
echo "device bench: $(date -u +%FT%TZ), node $(node --version), reps $reps, at most ${limit}s a step; logs in $log"

step() { # name, command...: runs it under the limit, its output shown and kept
  local name=$1; shift
  echo "--- $name: $*"
  timeout "$limit" "$@" 2>&1 | tee "$log/$name.txt"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || echo "--- $name: exit $rc$([ "$rc" = 124 ] && echo " (over ${limit}s)")" | tee -a "$log/$name.txt"
}

step webgpu node bench/run.mjs --backend webgpu --reps "$reps" --soak 0 --no-page --no-tfjs-cpu $rows
if node -e "import('gl').then(() => process.exit(0), () => process.exit(1))" 2>/dev/null; then
  if [ -n "${DISPLAY:-}" ]; then step webgl node bench/run.mjs --backend webgl --reps "$reps" --soak 0 --no-page --no-tfjs-cpu $rows
  elif command -v xvfb-run >/dev/null; then step webgl xvfb-run -a -s "-screen 0 1280x1024x24" node bench/run.mjs --backend webgl --reps "$reps" --soak 0 --no-page --no-tfjs-cpu $rows
  else echo "--- webgl: skipped (no display and no xvfb-run)" | tee "$log/webgl.txt"; fi
else
  echo "--- webgl: skipped (the optional package gl does not load)" | tee "$log/webgl.txt"
fi
if command -v python3 >/dev/null && python3 -c 'import torch' 2>/dev/null; then step torch python3 bench/torch_unet.py "$((reps * 3))"
else echo "--- torch: skipped (no python3 with torch)" | tee "$log/torch.txt"; fi

node bench/device-table.mjs "$out" "$log"/*.txt
