#!/usr/bin/env bash
# Builds and runs every test: installs dependencies (incl. PyTorch, the outside oracle), builds
# the CPU configuration with tests and benchmarks, checks that the CUDA-on configuration compiles
# and links (when nvcc is present), runs the CUDA kernels and the backend test suite under the
# simulator, plain and with ASan, fuzzes
# the NIfTI reader for 30 s, and runs ctest.
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
  cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DUAD_CUDA=ON -DUAD_BUILD_TESTS=ON -DUAD_BUILD_BENCH=OFF >/dev/null
  # The real-GPU tests: the kernels, post-processing, runtime and the backend test suite (every op
  # against the CPU) run on a device, or skip saying why.
  gpu_tests=(test_cuda_kernels test_sim_postprocess test_sim_runtime $(cd tests && ls test_sim_backend_ops*.cpp | sed 's/\.cpp$//'))
  cmake --build build-cuda -j"$(nproc)" --target uad "${gpu_tests[@]}"
  ./build-cuda/uad info
  if ! ./build-cuda/uad info | grep -q "CUDA devices   : [1-9]"; then
    # No GPU: --device cuda must fail with the runtime's reason, --device auto must fall back.
    if out=$(./build-cuda/uad smoke --device cuda --steps 1 2>&1); then echo "$out"; echo "--device cuda ran without a GPU"; exit 1; fi
    grep -q "no usable CUDA device" <<<"$out" || { echo "$out"; exit 1; }
    echo "$out"
    ./build-cuda/uad smoke --device auto --steps 2 2>/dev/null | grep "^device: cpu (no CUDA device"
  fi
  for t in "${gpu_tests[@]}"; do ./build-cuda/tests/"$t" --gtest_brief=1; done
fi
sim_tests=(test_cuda_kernels $(cd tests && ls test_sim*.cpp | sed 's/\.cpp$//'))
stage "CUDA simulator, plain (kernels/cuda/*.cu under g++ on Boost.Context fibers; the backend test suite and the kernel tests)"
cmake -S . -B build-sim-plain -DCMAKE_BUILD_TYPE=Release -DUAD_CUDA=OFF -DUAD_CUDA_SIM=ON -DUAD_SIM_ASAN=OFF \
  -DUAD_BUILD_TESTS=ON -DUAD_BUILD_BENCH=OFF >/dev/null
cmake --build build-sim-plain -j"$(nproc)" --target "${sim_tests[@]}"
for t in "${sim_tests[@]}"; do ./build-sim-plain/tests/"$t" --gtest_brief=1; done
stage "CUDA simulator with AddressSanitizer (index order and shuffled)"
cmake -S . -B build-sim -DCMAKE_BUILD_TYPE=Release -DUAD_CUDA=OFF -DUAD_CUDA_SIM=ON -DUAD_SIM_ASAN=ON \
  -DUAD_BUILD_TESTS=ON -DUAD_BUILD_BENCH=OFF >/dev/null
cmake --build build-sim -j"$(nproc)" --target "${sim_tests[@]}"
for t in "${sim_tests[@]}"; do
  ./build-sim/tests/"$t" --gtest_brief=1
  UAD_SIM_SHUFFLE=1 ./build-sim/tests/"$t" --gtest_brief=1
done
stage "fuzz (clang + libFuzzer + ASan/UBSan: the NIfTI reader, 30 s)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DUAD_FUZZ=ON -DUAD_CUDA=OFF \
  -DUAD_BUILD_TESTS=OFF -DUAD_BUILD_BENCH=OFF >/dev/null
if ! cmake --build build-fuzz -j"$(nproc)" --target fuzz_nifti fuzz_make_seeds >build-fuzz/build.log 2>&1; then
  tail -30 build-fuzz/build.log; echo "fuzz build failed"; exit 1
fi
mkdir -p build-fuzz/corpus
./build-fuzz/fuzz_make_seeds build-fuzz/corpus
cp tests/fuzz/regressions/* build-fuzz/corpus/  # earlier crashes seed the corpus too
if ! ./build-fuzz/fuzz_nifti -max_total_time=30 -print_final_stats=1 -artifact_prefix=build-fuzz/ build-fuzz/corpus \
    >build-fuzz/fuzz.log 2>&1; then
  tail -60 build-fuzz/fuzz.log
  echo "fuzz_nifti found a crash: the reproducer is build-fuzz/crash-*; fix it and add the file to tests/fuzz/regressions/"
  exit 1
fi
grep -E "^stat::(number_of_executed_units|new_units_added)" build-fuzz/fuzz.log
echo "== builds and checks done in $((SECONDS - t0)) s; ctest's summary closes the log"
stage "tests"
cd build
# Two test processes share the two cores: idle OpenMP threads sleep instead of spinning.
export OMP_WAIT_POLICY=PASSIVE
ctest --output-on-failure -j"$(nproc)" --timeout 600
