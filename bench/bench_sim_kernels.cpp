// The hand-written CUDA kernels of softmax, norm, pool, upsample, shape, loss, adam and
// reduce_minmax (kernels/cuda/*.cu) through their host API (kernels/cuda/kernels.h). Under the
// simulator these only prove that every kernel runs (the times are the simulator's); on a GPU the
// bytes_per_second counter is the number to hold against DRAM bandwidth (the kernels are
// memory-bound; the bytes counted are the compulsory traffic listed in each .cu file's header).
// Simulator build only (-DUAD_CUDA_SIM=ON); elsewhere the binary says so and exits.
//   ./bench_sim_kernels --benchmark_min_time=0.05
#if defined(UAD_CUDA_SIM)
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "tensor/generator.h"
#include "tensor/ops.h"

namespace {

using uad::DType;
using uad::cuda::DeviceArray;
namespace cu = uad::cuda;

/// A device array of n uniform values in [lo, hi).
DeviceArray<float> filled(int64_t n, uint64_t seed, float lo = -1, float hi = 1) {
  uad::Generator g(seed);
  uad::Tensor t = uad::rand({n}, g) * (hi - lo) + lo;
  std::vector<float> h(t.data<float>(), t.data<float>() + n);
  return DeviceArray<float>(h);
}

void set_bytes(benchmark::State& st, double bytes) { st.SetBytesProcessed((int64_t)(bytes * (double)st.iterations())); }

/// Args: rows, row length; inner = 1 (rows kernel) or 2nd arg as inner (columns) when 3rd arg is 1.
void BM_Softmax(benchmark::State& st) {
  const int64_t O = st.range(0), D = st.range(1), I = st.range(2), n = O * D * I;
  auto x = filled(n, 1, -4, 4);
  DeviceArray<float> y((size_t)n), dx((size_t)n);
  for (auto _ : st) {
    cu::softmax_forward(DType::f32, x.data(), y.data(), O, D, I, false);
    cu::softmax_backward(DType::f32, x.data(), y.data(), dx.data(), O, D, I, false);
  }
  set_bytes(st, 4.0 * n * (2 + 3));  // forward 8 B, backward 12 B per element
}
BENCHMARK(BM_Softmax)->Args({256, 1000, 1})->Args({4, 64, 1024})->Unit(benchmark::kMillisecond);

void BM_LayerNorm(benchmark::State& st) {
  const int64_t R = st.range(0), K = st.range(1), n = R * K;
  auto x = filled(n, 2), g = filled(n, 3), w = filled(K, 4), b = filled(K, 5);
  DeviceArray<float> y((size_t)n), mean((size_t)R), rstd((size_t)R), dx((size_t)n), dw((size_t)K), db((size_t)K);
  for (auto _ : st) {
    cu::layer_norm_forward(DType::f32, x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), R, K);
    cu::layer_norm_backward(DType::f32, g.data(), x.data(), mean.data(), rstd.data(), w.data(), R, K, dx.data(), dw.data(), db.data());
  }
  set_bytes(st, 4.0 * n * (3 + 5 + 2));
}
BENCHMARK(BM_LayerNorm)->Args({256, 1024})->Unit(benchmark::kMillisecond);

void BM_GroupNorm(benchmark::State& st) {
  const int64_t N = 2, C = 16, S = st.range(0), G = st.range(1), n = N * C * S;
  auto x = filled(n, 6), g = filled(n, 7), w = filled(C, 8), b = filled(C, 9);
  DeviceArray<float> y((size_t)n), mean((size_t)(N * G)), rstd((size_t)(N * G)), dx((size_t)n), dw((size_t)C), db((size_t)C);
  for (auto _ : st) {
    cu::group_norm_forward(DType::f32, x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), N, C, S, G);
    cu::group_norm_backward(DType::f32, g.data(), x.data(), mean.data(), rstd.data(), w.data(), N, C, S, G, dx.data(), dw.data(),
                            db.data());
  }
  set_bytes(st, 4.0 * n * (3 + 5 + 2));
}
BENCHMARK(BM_GroupNorm)->Args({4096, 4})->Args({4096, 16})->Unit(benchmark::kMillisecond);

void BM_BatchNorm(benchmark::State& st) {
  const int64_t N = 4, C = 16, S = st.range(0), n = N * C * S;
  auto x = filled(n, 10), g = filled(n, 11), w = filled(C, 12), b = filled(C, 13), rm = filled(C, 14), rv = filled(C, 15, 0.5f, 2.f);
  DeviceArray<float> y((size_t)n), mean((size_t)C), rstd((size_t)C), dx((size_t)n), dw((size_t)C), db((size_t)C);
  for (auto _ : st) {
    cu::batch_norm_forward_train(DType::f32, x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rm.data(), rv.data(), N,
                                 C, S);
    cu::batch_norm_backward(DType::f32, g.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C, S, true, dx.data(), dw.data(),
                            db.data());
  }
  set_bytes(st, 4.0 * n * (3 + 5));
}
BENCHMARK(BM_BatchNorm)->Arg(4096)->Unit(benchmark::kMillisecond);

/// 3-D 2×2×2/2 pooling of [P, 32, 32, 32]: avg and max, forward and backward.
void BM_Pool3d(benchmark::State& st) {
  cu::PoolGeometry geo;
  geo.P = st.range(0), geo.D = geo.H = geo.W = 32;
  for (int i = 0; i < 3; ++i) geo.k[i] = geo.s[i] = 2;
  const int64_t n = geo.in_numel(), on = geo.out_numel();
  auto x = filled(n, 16), g = filled(on, 17);
  DeviceArray<float> y((size_t)on), dx((size_t)n);
  DeviceArray<int32_t> idx((size_t)on);
  for (auto _ : st) {
    cu::avg_pool_forward(DType::f32, x.data(), y.data(), geo);
    cu::avg_pool_backward(DType::f32, g.data(), dx.data(), geo);
    cu::max_pool_forward(DType::f32, x.data(), y.data(), idx.data(), geo);
    cu::max_pool_backward(DType::f32, g.data(), idx.data(), dx.data(), geo);
  }
  set_bytes(st, 4.0 * (2 * (n + on) + (n + 2 * on) + (n + 3 * on)));
}
BENCHMARK(BM_Pool3d)->Arg(8)->Unit(benchmark::kMillisecond);

void BM_UpsampleNearest3d(benchmark::State& st) {
  const int64_t P = st.range(0), in[3] = {16, 16, 16}, out[3] = {32, 32, 32};
  const int64_t n = P * 16 * 16 * 16, on = n * 8;
  auto x = filled(n, 18), g = filled(on, 19);
  DeviceArray<float> y((size_t)on), dx((size_t)n);
  for (auto _ : st) {
    cu::upsample_nearest_forward(DType::f32, x.data(), y.data(), P, in, out);
    cu::upsample_nearest_backward(DType::f32, g.data(), dx.data(), P, in, out);
  }
  set_bytes(st, 4.0 * 2 * (n + on));
}
BENCHMARK(BM_UpsampleNearest3d)->Arg(8)->Unit(benchmark::kMillisecond);

void BM_PadConcat(benchmark::State& st) {
  const int64_t N = 2, C = 16, H = 64, W = 64, n = N * C * H * W;
  auto a = filled(n, 20), b = filled(n, 21);
  DeviceArray<float> padded((size_t)(N * C * (H + 2) * (W + 2))), cat((size_t)(2 * n));
  for (auto _ : st) {
    cu::pad_zero(DType::f32, a.data(), {N, C, H, W}, {C * H * W, H * W, W, 1}, padded.data(), {N, C, H + 2, W + 2}, {0, 0, 1, 1});
    cu::concat(DType::f32, {a.data(), b.data()}, {C, C}, N, H * W, cat.data());
  }
  set_bytes(st, 4.0 * (n + N * C * (H + 2) * (W + 2) + 4 * n));
}
BENCHMARK(BM_PadConcat)->Unit(benchmark::kMillisecond);

void BM_Loss(benchmark::State& st) {
  const int64_t n = 1 << 18;
  auto x = filled(n, 22), y = filled(n, 23, 0, 1);
  DeviceArray<float> out(1);
  const auto kind = (cu::LossKind)st.range(0);
  for (auto _ : st) cu::loss_forward(kind, cu::LossReduction::mean, DType::f32, x.data(), y.data(), n, 1, out.data());
  set_bytes(st, 8.0 * n);
}
BENCHMARK(BM_Loss)->Arg((int)cu::LossKind::l1)->Arg((int)cu::LossKind::bce_with_logits)->Unit(benchmark::kMillisecond);

void BM_AdamMultiTensor(benchmark::State& st) {
  // 40 tensors: conv weights and biases of a small network, 2^18 elements in all.
  std::vector<DeviceArray<float>> bufs;
  std::vector<cu::AdamTensor> ts;
  int64_t total = 0;
  for (int k = 0; k < 40; ++k) {
    const int64_t n = k % 2 == 0 ? 13000 : 107;
    total += n;
    for (int j = 0; j < 4; ++j) bufs.push_back(filled(n, 100 + 4 * k + j, 0.f, 1.f));
    ts.push_back({bufs[bufs.size() - 4].data(), bufs[bufs.size() - 3].data(), bufs[bufs.size() - 2].data(), bufs[bufs.size() - 1].data(), n});
  }
  int64_t t = 0;
  for (auto _ : st) cu::adam_step(DType::f32, ts, {1e-3, 0.9, 0.999, 1e-8, 0.0, ++t});
  set_bytes(st, 28.0 * total);
}
BENCHMARK(BM_AdamMultiTensor)->Unit(benchmark::kMillisecond);

void BM_Amax(benchmark::State& st) {
  const int64_t O = st.range(0), n = st.range(1), I = st.range(2);
  auto x = filled(O * n * I, 24);
  DeviceArray<float> out((size_t)(O * I));
  for (auto _ : st) cu::amax_dim(DType::f32, x.data(), O, n, I, false, out.data());
  set_bytes(st, 4.0 * O * n * I);
}
BENCHMARK(BM_Amax)->Args({256, 1024, 1})->Args({4, 64, 1024})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

#else
#include <cstdio>
int main() {
  std::puts("bench_sim_kernels: built without the CUDA simulator (configure with -DUAD_CUDA_SIM=ON)");
  return 0;
}
#endif
