#!/usr/bin/env bash
# Configures and builds uad into build/ (CPU backend; CUDA on when nvcc is found unless
# UAD_CUDA=OFF is exported). Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
cuda=${UAD_CUDA:-OFF}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DUAD_CUDA="$cuda" "$@" >/dev/null
cmake --build build -j"$(nproc)"
