#!/usr/bin/env bash
# Installs the Debian packages uad needs, skipping what is present (idempotent).
# Usage: scripts/install_deps.sh [--tests]   (--tests adds PyTorch/numpy, the outside oracle)
set -euo pipefail
pkgs=(cmake g++ make ccache pkg-config libopenblas-dev libdnnl-dev libgtest-dev libbenchmark-dev libcli11-dev libnifti2-dev libpng-dev libboost-context-dev nlohmann-json3-dev mricron-data insighttoolkit5-examples)
if [[ "${1:-}" == "--tests" ]]; then
  pkgs+=(clang libclang-rt-14-dev libomp-14-dev python3 python3-numpy python3-torch python3-nibabel python3-scipy python3-sklearn)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
