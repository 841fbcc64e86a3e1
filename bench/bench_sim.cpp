// Cost of the CUDA simulator (kernels/sim/): per thread per barrier, per thread on the barrier-free
// fast path, per warp shuffle, and the hand-written kernels on 2^20 elements. Simulator build
// only (-DUAD_CUDA_SIM=ON); elsewhere the binary says so and exits.
//   ./bench_sim --benchmark_min_time=0.2
// Counters: "per_item" is seconds per (thread × barrier) / thread / (lane × shuffle) / element;
// the barrier and shuffle figures include each thread's fiber start, amortised over the loop.
#if defined(UAD_CUDA_SIM)
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "tensor/generator.h"

namespace {

using uad::cuda::DeviceArray;

__global__ void barrier_loop_kernel(float* out, int iters) {
  __shared__ float s[1024];
  float v = (float)threadIdx.x;
  for (int k = 0; k < iters; ++k) {
    s[threadIdx.x] = v;
    __syncthreads();
    v += s[(threadIdx.x + 1) % blockDim.x];
    __syncthreads();
  }
  out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

__global__ void plain_kernel(const float* x, float* y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = 2.0f * x[i] + 1.0f;
}

__global__ void shuffle_loop_kernel(float* out, int iters) {
  float v = (float)threadIdx.x;
  for (int k = 0; k < iters; ++k) v += __shfl_xor_sync(0xffffffffu, v, 1 + k % 31);
  out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

const auto kPerItem = benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert;

/// Args: threads per block, loop iterations (2 barriers each). With 1 iteration the fiber start
/// of every thread is amortised over 2 barriers only.
void BM_SimBarrier(benchmark::State& st) {
  const int threads = (int)st.range(0), iters = (int)st.range(1), blocks = 4;
  DeviceArray<float> out((size_t)threads * blocks);
  for (auto _ : st) uad::cuda::launch(barrier_loop_kernel, blocks, threads, 0, nullptr, out.data(), iters);
  st.counters["per_item"] = benchmark::Counter((double)threads * blocks * iters * 2, kPerItem);
}
BENCHMARK(BM_SimBarrier)->Args({32, 32})->Args({256, 32})->Args({1024, 32})->Args({256, 1})->Unit(benchmark::kMillisecond);

void BM_SimFastPath(benchmark::State& st) {
  const int n = 1 << 20;
  DeviceArray<float> x((size_t)n), y((size_t)n);
  for (auto _ : st) uad::cuda::launch(plain_kernel, n / 256, 256, 0, nullptr, x.data(), y.data(), n);
  st.counters["per_item"] = benchmark::Counter((double)n, kPerItem);
}
BENCHMARK(BM_SimFastPath)->Unit(benchmark::kMillisecond);

void BM_SimShuffle(benchmark::State& st) {
  const int iters = 32, threads = 256;
  DeviceArray<float> out((size_t)threads);
  for (auto _ : st) uad::cuda::launch(shuffle_loop_kernel, 1, threads, 0, nullptr, out.data(), iters);
  st.counters["per_item"] = benchmark::Counter((double)threads * iters, kPerItem);
}
BENCHMARK(BM_SimShuffle)->Unit(benchmark::kMillisecond);

void BM_SimSumAll(benchmark::State& st) {
  const int64_t n = 1 << 20;
  uad::Generator g(1);
  uad::Tensor x = uad::rand({n}, g);
  DeviceArray<float> dx((size_t)n), out(1);
  uad::cuda::copy_to_device(dx.data(), x.data<float>(), (size_t)n * 4);
  for (auto _ : st) uad::cuda::sum_all(uad::DType::f32, dx.data(), n, out.data());
  st.counters["per_item"] = benchmark::Counter((double)n, kPerItem);
}
BENCHMARK(BM_SimSumAll)->Unit(benchmark::kMillisecond);

void BM_SimAdd(benchmark::State& st) {
  const int64_t n = 1 << 20;
  DeviceArray<float> a((size_t)n), b((size_t)n), c((size_t)n);
  for (auto _ : st)
    uad::cuda::binary(uad::cuda::BinaryOp::add, uad::DType::f32, a.data(), {1}, b.data(), {1}, c.data(), {n});
  st.counters["per_item"] = benchmark::Counter((double)n, kPerItem);
}
BENCHMARK(BM_SimAdd)->Unit(benchmark::kMillisecond);

void BM_SimRandn(benchmark::State& st) {
  const int64_t n = 1 << 20;
  DeviceArray<float> out((size_t)n);
  for (auto _ : st) uad::cuda::fill_normal(uad::DType::f32, out.data(), n, 7, 0);
  st.counters["per_item"] = benchmark::Counter((double)n, kPerItem);
}
BENCHMARK(BM_SimRandn)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

#else
#include <cstdio>
int main() {
  std::puts("bench_sim: built without the CUDA simulator (configure with -DUAD_CUDA_SIM=ON)");
  return 0;
}
#endif
