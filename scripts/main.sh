#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs uad on this machine (CPU when no GPU).
# Until the detection pipeline lands this is the smoke run: a tiny autoencoder trained for a few
# Adam steps on synthetic slices, printing its loss.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
UAD_CUDA=OFF bash scripts/build.sh -DUAD_BUILD_TESTS=OFF -DUAD_BUILD_BENCH=OFF
./build/uad smoke "$@"
