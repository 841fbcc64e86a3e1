// The mixed-dtype elementwise kernels (kernels/cuda/elementwise_mixed.cu: compare, where, cast,
// fill) through their host API, and one op through the tensor dispatch (tensor/backend.h) to show
// the per-op overhead of the table, allocation and NVTX range. Under the simulator these only
// prove that every kernel runs; on a GPU bytes_per_second is the number to hold against DRAM
// bandwidth (compulsory traffic per element from the .cu header: compare 2·4+1 B, where 1+3·4 B,
// cast 4+8 B, fill 4 B).
// Simulator build only (-DUAD_CUDA_SIM=ON); elsewhere the binary says so and exits.
//   ./bench_sim_dispatch --benchmark_min_time=0.05
#if defined(UAD_CUDA_SIM)
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cuda/backend.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "tensor/ops.h"

namespace {

using uad::DType;
using uad::cuda::DeviceArray;
namespace cu = uad::cuda;

void set_bytes(benchmark::State& st, double bytes) { st.SetBytesProcessed((int64_t)(bytes * (double)st.iterations())); }

DeviceArray<float> filled(int64_t n, uint64_t seed) {
  uad::Generator g(seed);
  uad::Tensor t = uad::rand({n}, g) * 2.0 - 1.0;
  return DeviceArray<float>(std::vector<float>(t.data<float>(), t.data<float>() + n));
}

void BM_Compare(benchmark::State& st) {
  const int64_t n = st.range(0);
  auto a = filled(n, 1), b = filled(n, 2);
  DeviceArray<uint8_t> out((size_t)n);
  for (auto _ : st) cu::compare(cu::CompareOp::gt, DType::f32, a.data(), {1}, b.data(), {1}, out.data(), {n});
  set_bytes(st, 9.0 * n);
}
BENCHMARK(BM_Compare)->Arg(1 << 16)->Unit(benchmark::kMillisecond);

void BM_Where(benchmark::State& st) {
  const int64_t n = st.range(0);
  auto a = filled(n, 1), b = filled(n, 2);
  DeviceArray<uint8_t> c(std::vector<uint8_t>((size_t)n, 1));
  DeviceArray<float> out((size_t)n);
  for (auto _ : st) cu::where(DType::f32, c.data(), {1}, a.data(), {1}, b.data(), {1}, out.data(), {n});
  set_bytes(st, 13.0 * n);
}
BENCHMARK(BM_Where)->Arg(1 << 16)->Unit(benchmark::kMillisecond);

void BM_CastTransposed(benchmark::State& st) {
  const int64_t r = st.range(0), n = r * r;
  auto a = filled(n, 1);
  DeviceArray<double> out((size_t)n);
  for (auto _ : st) cu::cast(DType::f32, a.data(), {1, r}, DType::f64, out.data(), {r, 1}, {r, r});
  set_bytes(st, 12.0 * n);
}
BENCHMARK(BM_CastTransposed)->Arg(256)->Unit(benchmark::kMillisecond);

void BM_Fill(benchmark::State& st) {
  const int64_t n = st.range(0);
  DeviceArray<float> out((size_t)n);
  for (auto _ : st) cu::fill(DType::f32, out.data(), n, 0.5);
  set_bytes(st, 4.0 * n);
}
BENCHMARK(BM_Fill)->Arg(1 << 16)->Unit(benchmark::kMillisecond);

/// add() of two device tensors through the op dispatch (allocation from the caching allocator,
/// the table call, the NVTX range): the op-level cost on top of the kernel.
void BM_DispatchedAdd(benchmark::State& st) {
  cu::install_backend();
  const int64_t n = st.range(0);
  uad::Generator g(3);
  const uad::Tensor a = uad::rand({n}, g, DType::f32, uad::Device::cuda), b = uad::rand({n}, g, DType::f32, uad::Device::cuda);
  for (auto _ : st) benchmark::DoNotOptimize(uad::add(a, b).raw());
  set_bytes(st, 12.0 * n);
}
BENCHMARK(BM_DispatchedAdd)->Arg(1 << 10)->Arg(1 << 16)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
#else
#include <cstdio>
int main() {
  std::puts("bench_sim_dispatch: built without the CUDA simulator (-DUAD_CUDA_SIM=ON); nothing to run");
  return 0;
}
#endif
