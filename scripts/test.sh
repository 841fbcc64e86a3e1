#!/usr/bin/env bash
# Builds and runs every test: installs dependencies (incl. PyTorch, the outside oracle), builds
# the CPU configuration with tests and benchmarks, runs ctest, and — when nvcc is present —
# checks that the CUDA-on configuration compiles and links.
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { echo "== $1 ($(date +%T))"; }
t0=$SECONDS
stage "dependencies"
bash scripts/install_deps.sh --tests
stage "build (CPU, tests, benchmarks)"
UAD_CUDA=OFF bash scripts/build.sh -DUAD_BUILD_TESTS=ON -DUAD_BUILD_BENCH=ON
if command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]]; then
  stage "build (CUDA on, compile and link only: no GPU here)"
  cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DUAD_CUDA=ON -DUAD_BUILD_TESTS=OFF -DUAD_BUILD_BENCH=OFF >/dev/null
  cmake --build build-cuda -j"$(nproc)" --target uad
  ./build-cuda/uad info
fi
stage "tests"
cd build
# Two test processes share the two cores: idle OpenMP threads sleep instead of spinning.
export OMP_WAIT_POLICY=PASSIVE
ctest --output-on-failure -j"$(nproc)" --timeout 600
echo "== all stages done in $((SECONDS - t0)) s"
