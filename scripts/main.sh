#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs uad on this machine (CPU when no GPU).
# Until training and detection land it does what exists end to end:
#  1. builds the default dataset (Colin27 + the ITK T1 from Debian packages, plus the MSLUB
#     patient and the IXI subject when ../shared/data exists) into runs/data, with previews;
#  2. trains the unified dense autoencoder (paper 003) for 3 epochs on the healthy training
#     slices (128x128), validating each epoch, into runs/ae_dense (checkpoints, log.jsonl);
#  3. the engine smoke run: a tiny autoencoder trained for a few Adam steps on synthetic slices,
#     printing its loss.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
UAD_CUDA=OFF bash scripts/build.sh -DUAD_BUILD_TESTS=OFF -DUAD_BUILD_BENCH=OFF
./build/uad data prepare --out runs/data --overwrite
rm -rf runs/ae_dense
./build/uad train --model ae_dense --data runs/data --out runs/ae_dense --epochs 3 --lr 3e-4
./build/uad smoke "$@"
