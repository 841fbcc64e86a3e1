#!/usr/bin/env bash
# The model table of issue 5 (bench/model_table.py): every registry model trained from the CLI
# for a fixed number of steps on a prepared dataset, with parameters, seconds per step (uad and
# the PyTorch twin of bench/torch_models.py) and the validation loss after those steps.
#   scripts/model_table.sh [BUILD_DIR] [DATASET] [OUT.md] [extra bench/model_table.py options]
# Defaults: build, /tmp/evdata, runs/model_table.md (+ runs/model_table.json). Builds the uad
# target first (UAD_NO_BUILD=1 skips that). Takes about 12-20 minutes on 2 cores; check `uptime`
# first (a loaded machine inflates every timing).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=${2:-/tmp/evdata}
out=${3:-runs/model_table.md}
shift $(( $# < 3 ? $# : 3 ))
[[ -f "$data/manifest.json" ]] || { echo "model_table.sh: $data is not a prepared dataset (run \`uad data prepare\`)" >&2; exit 1; }
[[ "${UAD_NO_BUILD:-0}" == 1 ]] || cmake --build "$build" --target uad -j"$(nproc)" >/dev/null
uptime
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/model_table.py --uad "$build/uad" --data "$data" --out "$out" \
  --json "${out%.md}.json" "$@"
