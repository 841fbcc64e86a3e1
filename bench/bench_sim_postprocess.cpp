// The CUDA post-processing kernels (kernels/cuda/postprocess.h) under the simulator: these numbers
// only show that the kernels run end to end on a realistic shape; simulator time says nothing about
// a GPU (see the cost model in the header comments of kernels/cuda/postprocess_median.cu and
// postprocess_label.cu for what to expect on one). Simulator build only (-DUAD_CUDA_SIM=ON);
// elsewhere the binary says so and exits.
//   ./bench_sim_postprocess --benchmark_min_time=0.05
// Volumes: a masked residual-like map of [D,H,W] = arg × 1.2·arg × arg (a ball of noise in zeros),
// and its segmentation at 0.9 (~10% of the ball: many small components). Counter "per_voxel": seconds per voxel.
#if defined(UAD_CUDA_SIM)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cuda/kernels.h"
#include "kernels/cuda/postprocess.h"

namespace {

using uad::cuda::DeviceArray;

struct Shape3 {
  int64_t D, H, W;
  int64_t n() const { return D * H * W; }
};

Shape3 shape_of(const benchmark::State& st) { return {st.range(0), st.range(0) * 6 / 5, st.range(0)}; }

/// x: noise in [0,1) inside a centred ball (the "brain"), 0 outside; recon: x with noise; mask:
/// the ball.
struct Inputs {
  std::vector<float> x, recon;
  std::vector<uint8_t> mask;
};
Inputs make_inputs(Shape3 s) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  Inputs in{std::vector<float>((size_t)s.n()), std::vector<float>((size_t)s.n()), std::vector<uint8_t>((size_t)s.n())};
  for (int64_t z = 0; z < s.D; ++z)
    for (int64_t y = 0; y < s.H; ++y)
      for (int64_t x = 0; x < s.W; ++x) {
        const double dz = (z - s.D / 2.0) / (s.D / 2.0), dy = (y - s.H / 2.0) / (s.H / 2.0), dx = (x - s.W / 2.0) / (s.W / 2.0);
        const size_t i = (size_t)((z * s.H + y) * s.W + x);
        const bool inside = dz * dz + dy * dy + dx * dx < 0.8;
        in.mask[i] = inside;
        in.x[i] = inside ? u(rng) : 0.0f;
        in.recon[i] = inside ? in.x[i] * 0.7f + 0.3f * u(rng) : 0.0f;
      }
  return in;
}

const auto kPerVoxel = benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert;

/// Arg: D; size 5 (the paper's window).
void BM_SimFusedResidualMedian5(benchmark::State& st) {
  const Shape3 s = shape_of(st);
  const Inputs in = make_inputs(s);
  DeviceArray<float> x(in.x), recon(in.recon), out((size_t)s.n());
  DeviceArray<uint8_t> mask(in.mask);
  for (auto _ : st) uad::cuda::fused_residual_median(x.data(), recon.data(), mask.data(), out.data(), s.D, s.H, s.W, true, 5);
  st.counters["per_voxel"] = benchmark::Counter((double)s.n(), kPerVoxel);
}
BENCHMARK(BM_SimFusedResidualMedian5)->Arg(24)->Arg(40)->Unit(benchmark::kMillisecond);

/// Arg: D. threshold at 0.9 + 26-connected labelling with sizes + the < 8 voxel filter.
void BM_SimThresholdLabelFilter(benchmark::State& st) {
  const Shape3 s = shape_of(st);
  const Inputs in = make_inputs(s);
  DeviceArray<float> x(in.x);
  DeviceArray<uint8_t> seg((size_t)s.n()), kept((size_t)s.n());
  DeviceArray<int32_t> labels((size_t)s.n());
  int64_t count = 0;
  for (auto _ : st) {
    uad::cuda::threshold(x.data(), seg.data(), s.n(), 0.9f);
    DeviceArray<int64_t> sizes;
    count = uad::cuda::label_components(seg.data(), labels.data(), s.D, s.H, s.W, 26, nullptr, nullptr, &sizes);
    uad::cuda::remove_small_components(labels.data(), sizes.data(), count, kept.data(), s.n(), 8);
  }
  st.counters["per_voxel"] = benchmark::Counter((double)s.n(), kPerVoxel);
  st.counters["components"] = (double)count;
}
BENCHMARK(BM_SimThresholdLabelFilter)->Arg(24)->Arg(40)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

#else
#include <cstdio>
int main() {
  std::puts("bench_sim_postprocess: built without the CUDA simulator (configure with -DUAD_CUDA_SIM=ON)");
  return 0;
}
#endif
