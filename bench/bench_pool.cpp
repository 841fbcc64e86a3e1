// Google Benchmark of pooling, upsampling, padding and concatenation (f32, CPU).
// Sizes: 2-D [8,32,64,64], 3-D [2,32,32,32,32]. "Fwd" times the op alone (no recording);
// "FwdBwd" times the op plus its gradient through autograd (uad::grad), the same work as
// PyTorch's y = op(x); y.backward(g). Compare with PyTorch: the numbers in the report of the
// pooling task (torch.set_num_threads(2) on the same machine).
#include <benchmark/benchmark.h>

#include <functional>

#include "tensor/ops.h"

using namespace uad;

namespace {

const Shape k2D{8, 32, 64, 64};
const Shape k3D{2, 32, 32, 32, 32};

Tensor input(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return rand(s, g, DType::f32);
}

using Op = std::function<Tensor(const Tensor&)>;

void run_fwd(benchmark::State& st, const Shape& s, const Op& op) {
  Tensor x = input(s, 1);
  NoGradGuard ng;
  for (auto _ : st) {
    Tensor y = op(x);
    benchmark::DoNotOptimize(y.raw());
  }
  st.SetBytesProcessed(st.iterations() * x.numel() * 4);
}

void run_fwd_bwd(benchmark::State& st, const Shape& s, const Op& op) {
  Tensor x = input(s, 1);
  x.requires_grad_();
  Tensor g;
  {
    NoGradGuard ng;
    g = input(op(x).shape(), 2);
  }
  for (auto _ : st) {
    Tensor y = op(x);
    std::vector<Tensor> gx = grad({y}, {x}, {g});
    benchmark::DoNotOptimize(gx[0].raw());
  }
  st.SetBytesProcessed(st.iterations() * x.numel() * 4);
}

#define UAD_POOL_BENCH(name, shape, expr)                                                           \
  void BM_##name##_Fwd(benchmark::State& st) { run_fwd(st, shape, [](const Tensor& x) { return expr; }); }    \
  void BM_##name##_FwdBwd(benchmark::State& st) { run_fwd_bwd(st, shape, [](const Tensor& x) { return expr; }); } \
  BENCHMARK(BM_##name##_Fwd)->Unit(benchmark::kMillisecond)->UseRealTime();                         \
  BENCHMARK(BM_##name##_FwdBwd)->Unit(benchmark::kMillisecond)->UseRealTime()

UAD_POOL_BENCH(MaxPool2d_k2, k2D, max_pool2d(x, {2}));
UAD_POOL_BENCH(AvgPool2d_k2, k2D, avg_pool2d(x, {2}));
UAD_POOL_BENCH(MaxPool3d_k2, k3D, max_pool3d(x, {2}));
UAD_POOL_BENCH(AvgPool3d_k2, k3D, avg_pool3d(x, {2}));
UAD_POOL_BENCH(Nearest2d_x2, k2D, upsample_nearest(x, {128, 128}));
UAD_POOL_BENCH(Bilinear_x2, k2D, upsample_linear(x, {128, 128}, false));
UAD_POOL_BENCH(Bilinear_x2_ac, k2D, upsample_linear(x, {128, 128}, true));
UAD_POOL_BENCH(Nearest3d_x2, k3D, upsample_nearest(x, {64, 64, 64}));
UAD_POOL_BENCH(Trilinear_x2, k3D, upsample_linear(x, {64, 64, 64}, false));
UAD_POOL_BENCH(PadZero2d_1, k2D, pad(x, {1, 1, 1, 1}));
UAD_POOL_BENCH(PadRepl2d_1, k2D, pad(x, {1, 1, 1, 1}, PadMode::replicate));
UAD_POOL_BENCH(PadZero3d_1, k3D, pad(x, {1, 1, 1, 1, 1, 1}));
UAD_POOL_BENCH(PadRepl3d_1, k3D, pad(x, {1, 1, 1, 1, 1, 1}, PadMode::replicate));
UAD_POOL_BENCH(Cat2d_ch, k2D, cat({x, x}, 1));
UAD_POOL_BENCH(Cat3d_ch, k3D, cat({x, x}, 1));

}  // namespace

BENCHMARK_MAIN();
