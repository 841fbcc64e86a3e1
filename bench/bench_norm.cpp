// Normalisation and softmax benchmarks (f32): fused kernels vs the same formula as composed ops.
//
// Cases (the shapes of the models): batch norm training forward+backward at [8,32,64,64] and
// [8,128,16,16]; layer norm over (C,D,H,W) and instance norm at [2,64,32,32,32]; softmax over the
// last dim of [256,1024] and over the channels of [8,16,64,64]. "Fwd" runs under no-grad; "FwdBwd"
// records and backpropagates a fixed upstream gradient to x, weight and bias (create_graph off,
// so the fused first-order backward runs); "Composed" is normalize_composed (mean/var/sub/mul ops)
// under the same protocol; "FwdBwdCreateGraph" keeps the backward differentiable (the WGAN-GP
// path, which falls back to the composed formula inside the vjp).
// Run e.g.: bench_norm --benchmark_min_time=0.3
#include <benchmark/benchmark.h>

#include "tensor/ops.h"

using namespace uad;

namespace {

enum class Kind { batch, layer, instance };

struct Case {
  Tensor x, w, b, gy, rm, rv;
};

Case make_case(const Shape& s, Kind k) {
  Generator g(1);
  Case c;
  c.x = rand(s, g) * 2.0 - 1.0;
  Shape ps = k == Kind::layer ? Shape(s.begin() + 1, s.end()) : Shape{s[1]};
  c.w = rand(ps, g).requires_grad_();
  c.b = rand(ps, g).requires_grad_();
  c.gy = rand(s, g);
  c.rm = zeros({s[1]});
  c.rv = ones({s[1]});
  return c;
}

Tensor run_fused(const Case& c, const Tensor& x, Kind k) {
  switch (k) {
    case Kind::batch: return batch_norm(x, c.w, c.b, c.rm, c.rv, true);
    case Kind::layer: return layer_norm(x, x.dim() - 1, c.w, c.b);
    case Kind::instance: return instance_norm(x, c.w, c.b);
  }
  return Tensor();
}

Tensor run_composed(const Case& c, const Tensor& x, Kind k) {
  const Shape& s = x.shape();
  int64_t S = 1;
  for (size_t d = 2; d < s.size(); ++d) S *= s[d];
  switch (k) {
    case Kind::batch: return normalize_composed(x, {s[0], s[1], S}, {0, 2}, c.w, c.b, {1, s[1], 1});
    case Kind::layer: return normalize_composed(x, {s[0], x.numel() / s[0]}, {1}, c.w, c.b, {1, x.numel() / s[0]});
    case Kind::instance: return normalize_composed(x, {s[0], s[1], S}, {2}, c.w, c.b, {1, s[1], 1});
  }
  return Tensor();
}

void BM_Norm(benchmark::State& st, Shape s, Kind k, bool composed, bool backward, bool create_graph) {
  Case c = make_case(s, k);
  Tensor x = c.x.clone().requires_grad_(backward);
  for (auto _ : st) {
    if (!backward) {
      NoGradGuard ng;
      Tensor y = composed ? run_composed(c, x, k) : run_fused(c, x, k);
      benchmark::DoNotOptimize(y.raw());
      continue;
    }
    Tensor y = composed ? run_composed(c, x, k) : run_fused(c, x, k);
    auto g = grad({y}, {x, c.w, c.b}, {c.gy}, create_graph);
    benchmark::DoNotOptimize(g[0].raw());
  }
  st.SetBytesProcessed(st.iterations() * c.x.numel() * 4);
}

/// The WGAN-GP pattern through one norm: P = ‖∂(Σ y·gy)/∂x‖², then ∂P/∂(x, w, b).
void BM_NormPenalty(benchmark::State& st, Shape s, Kind k) {
  Case c = make_case(s, k);
  Tensor x = c.x.clone().requires_grad_();
  for (auto _ : st) {
    Tensor y = run_fused(c, x, k);
    Tensor gx = grad({sum(mul(y, c.gy))}, {x}, {}, true)[0];
    auto g = grad({sum(square(gx))}, {x, c.w});  // b does not reach the penalty
    benchmark::DoNotOptimize(g[0].raw());
  }
}

void BM_Softmax(benchmark::State& st, Shape s, int64_t dim, bool backward) {
  Generator g(2);
  Tensor x = (rand(s, g) * 8.0 - 4.0).requires_grad_(backward), gy = rand(s, g);
  for (auto _ : st) {
    if (!backward) {
      NoGradGuard ng;
      benchmark::DoNotOptimize(softmax(x, dim).raw());
      continue;
    }
    auto gx = grad({softmax(x, dim)}, {x}, {gy});
    benchmark::DoNotOptimize(gx[0].raw());
  }
  st.SetBytesProcessed(st.iterations() * x.numel() * 4);
}

const Shape kBn1{8, 32, 64, 64}, kBn2{8, 128, 16, 16}, kVol{2, 64, 32, 32, 32};

}  // namespace

BENCHMARK_CAPTURE(BM_Norm, BatchTrain_Fwd_8x32x64x64, kBn1, Kind::batch, false, false, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, BatchTrain_FwdBwd_8x32x64x64, kBn1, Kind::batch, false, true, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, BatchTrain_Composed_FwdBwd_8x32x64x64, kBn1, Kind::batch, true, true, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, BatchTrain_Fwd_8x128x16x16, kBn2, Kind::batch, false, false, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, BatchTrain_FwdBwd_8x128x16x16, kBn2, Kind::batch, false, true, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, BatchTrain_Composed_FwdBwd_8x128x16x16, kBn2, Kind::batch, true, true, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, Layer_Fwd_2x64x32x32x32, kVol, Kind::layer, false, false, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, Layer_Composed_Fwd_2x64x32x32x32, kVol, Kind::layer, true, false, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, Layer_FwdBwd_2x64x32x32x32, kVol, Kind::layer, false, true, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, Layer_Composed_FwdBwd_2x64x32x32x32, kVol, Kind::layer, true, true, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, Layer_FwdBwdCreateGraph_2x64x32x32x32, kVol, Kind::layer, false, true, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_NormPenalty, Layer_GradPenalty_2x64x32x32x32, kVol, Kind::layer)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_NormPenalty, Instance_GradPenalty_2x64x32x32x32, kVol, Kind::instance)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, Instance_Fwd_2x64x32x32x32, kVol, Kind::instance, false, false, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, Instance_Composed_Fwd_2x64x32x32x32, kVol, Kind::instance, true, false, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, Instance_FwdBwd_2x64x32x32x32, kVol, Kind::instance, false, true, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Norm, Instance_Composed_FwdBwd_2x64x32x32x32, kVol, Kind::instance, true, true, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Softmax, LastDim_Fwd_256x1024, Shape{256, 1024}, -1, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Softmax, LastDim_FwdBwd_256x1024, Shape{256, 1024}, -1, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Softmax, Channels_Fwd_8x16x64x64, Shape{8, 16, 64, 64}, 1, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Softmax, Channels_FwdBwd_8x16x64x64, Shape{8, 16, 64, 64}, 1, true)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
