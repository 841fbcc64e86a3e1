// The spatial family's new kernels (kernels/cuda/spatial.cu: linear upsampling, replicate padding,
// the max-pool index gather/scatter) through their host API, and the family's ops through the
// tensor dispatch (conv3d forward + backward, max_pool3d, cat): under the simulator these only
// prove that everything runs; on a GPU bytes_per_second is the number to hold against DRAM
// bandwidth (compulsory traffic from the .cu header, f32: linear ×2 upsampling forward reads 4 B
// per input cell and writes 4 B per output cell; replicate padding 4 + 4 B per output cell).
// Simulator build only (-DUAD_CUDA_SIM=ON); elsewhere the binary says so and exits.
//   ./bench_sim_spatial --benchmark_min_time=0.05
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

/// Trilinear ×2 of [P, s, s, s] planes (arg: s), forward and backward.
void BM_UpsampleLinear3d(benchmark::State& st) {
  const int64_t s = st.range(0), P = 2;
  const int64_t in[3] = {s, s, s}, out[3] = {2 * s, 2 * s, 2 * s};
  auto x = filled(P * s * s * s, 1);
  DeviceArray<float> y((size_t)(P * 8 * s * s * s)), dx((size_t)(P * s * s * s));
  for (auto _ : st) {
    cu::upsample_linear_forward(DType::f32, x.data(), y.data(), P, in, out, false);
    cu::upsample_linear_backward(DType::f32, y.data(), dx.data(), P, in, out, false);
  }
  set_bytes(st, 2.0 * (4.0 + 32.0) * P * s * s * s);
}
BENCHMARK(BM_UpsampleLinear3d)->Arg(8)->Unit(benchmark::kMillisecond);

/// Replicate padding by 2 on every side of [P, s, s, s], forward and backward.
void BM_PadReplicate3d(benchmark::State& st) {
  const int64_t s = st.range(0), P = 2, o = s + 4;
  const int64_t in[3] = {s, s, s}, lo[3] = {2, 2, 2}, hi[3] = {2, 2, 2};
  auto x = filled(P * s * s * s, 2);
  DeviceArray<float> y((size_t)(P * o * o * o)), dx((size_t)(P * s * s * s));
  for (auto _ : st) {
    cu::pad_replicate_forward(DType::f32, x.data(), y.data(), P, in, lo, hi);
    cu::pad_replicate_backward(DType::f32, y.data(), dx.data(), P, in, lo, hi);
  }
  set_bytes(st, 2.0 * 8.0 * P * o * o * o);
}
BENCHMARK(BM_PadReplicate3d)->Arg(8)->Unit(benchmark::kMillisecond);

/// max_pool_gather / max_pool_backward's kernels on [P, plane] with Q = plane/8 indices per plane.
void BM_IndexGatherScatter(benchmark::State& st) {
  const int64_t P = st.range(0), plane = 512, Q = plane / 8;
  auto x = filled(P * plane, 3);
  std::vector<int32_t> h((size_t)(P * Q));
  for (int64_t i = 0; i < P * Q; ++i) h[(size_t)i] = (int32_t)((i % Q) * 8 + i % 3);
  DeviceArray<int32_t> idx(h);
  DeviceArray<float> y((size_t)(P * Q)), dx((size_t)(P * plane));
  for (auto _ : st) {
    cu::index_gather(DType::f32, x.data(), idx.data(), y.data(), P, plane, Q);
    cu::index_scatter_add(DType::f32, y.data(), idx.data(), dx.data(), P, Q, plane);
  }
  set_bytes(st, (8.0 + 4.0) * P * Q + 4.0 * P * plane);
}
BENCHMARK(BM_IndexGatherScatter)->Arg(64)->Unit(benchmark::kMillisecond);

/// conv3d (4×4×4, stride 2, pad 1: the critic's block) forward + backward through the op dispatch
/// (cuDNN on a GPU, the CPU kernels under the simulator).
void BM_DispatchedConv3d(benchmark::State& st) {
  cu::install_backend();
  uad::Generator g(4);
  const uad::Tensor x = uad::rand({2, 8, 16, 16, 16}, g, DType::f32, uad::Device::cuda).requires_grad_();
  const uad::Tensor w = uad::rand({16, 8, 4, 4, 4}, g, DType::f32, uad::Device::cuda).requires_grad_();
  for (auto _ : st) {
    uad::Tensor y = uad::conv3d(x, w, uad::Tensor(), {2}, {1});
    uad::sum(y).backward();
    benchmark::DoNotOptimize(x.grad().raw());
  }
}
BENCHMARK(BM_DispatchedConv3d)->Unit(benchmark::kMillisecond);

/// max_pool3d forward + backward and a two-way cat through the op dispatch on [2, 4, s, s, s].
void BM_DispatchedPoolCat(benchmark::State& st) {
  cu::install_backend();
  const int64_t s = st.range(0);
  uad::Generator g(5);
  const uad::Tensor x = uad::rand({2, 4, s, s, s}, g, DType::f32, uad::Device::cuda).requires_grad_();
  for (auto _ : st) {
    uad::Tensor p = uad::max_pool3d(x, {2});
    uad::Tensor c = uad::cat({p, p}, 1);
    uad::sum(c).backward();
    benchmark::DoNotOptimize(x.grad().raw());
  }
}
BENCHMARK(BM_DispatchedPoolCat)->Arg(8)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
#else
#include <cstdio>
int main() {
  std::puts("bench_sim_spatial: built without the CUDA simulator (-DUAD_CUDA_SIM=ON); nothing to run");
  return 0;
}
#endif
