// Benchmarks of the core CPU kernels: elementwise (contiguous and broadcast), reductions,
// strided copies, Philox generation, and an autograd round trip. Bytes/s counters let the
// numbers be compared with the machine's memory bandwidth.
#include <benchmark/benchmark.h>

#include "tensor/ops.h"

using namespace uad;

static const Shape kAct{8, 32, 64, 64};  // the first encoder activation of the unified AE at 128², batch 8

static void BM_AddContiguous(benchmark::State& st) {
  Tensor a = randn(kAct), b = randn(kAct);
  for (auto _ : st) benchmark::DoNotOptimize(add(a, b).raw());
  st.SetBytesProcessed(st.iterations() * a.numel() * 12);
}
BENCHMARK(BM_AddContiguous)->Unit(benchmark::kMicrosecond);

static void BM_AddBiasBroadcast(benchmark::State& st) {
  Tensor a = randn(kAct), b = randn({32, 1, 1});
  for (auto _ : st) benchmark::DoNotOptimize(add(a, b).raw());
  st.SetBytesProcessed(st.iterations() * a.numel() * 8);
}
BENCHMARK(BM_AddBiasBroadcast)->Unit(benchmark::kMicrosecond);

static void BM_LeakyRelu(benchmark::State& st) {
  Tensor a = randn(kAct);
  for (auto _ : st) benchmark::DoNotOptimize(leaky_relu(a, 0.3).raw());
  st.SetBytesProcessed(st.iterations() * a.numel() * 8);
}
BENCHMARK(BM_LeakyRelu)->Unit(benchmark::kMicrosecond);

static void BM_SumAll(benchmark::State& st) {
  Tensor a = randn(kAct);
  for (auto _ : st) benchmark::DoNotOptimize(sum(a).raw());
  st.SetBytesProcessed(st.iterations() * a.numel() * 4);
}
BENCHMARK(BM_SumAll)->Unit(benchmark::kMicrosecond);

static void BM_SumBiasGrad(benchmark::State& st) {  // Σ over N,H,W: a bias gradient
  Tensor a = randn(kAct);
  for (auto _ : st) benchmark::DoNotOptimize(sum(a, {0, 2, 3}).raw());
  st.SetBytesProcessed(st.iterations() * a.numel() * 4);
}
BENCHMARK(BM_SumBiasGrad)->Unit(benchmark::kMicrosecond);

static void BM_TransposeCopy(benchmark::State& st) {
  Tensor a = randn(kAct);
  for (auto _ : st) benchmark::DoNotOptimize(contiguous(a.transpose(1, 3)).raw());
  st.SetBytesProcessed(st.iterations() * a.numel() * 8);
}
BENCHMARK(BM_TransposeCopy)->Unit(benchmark::kMicrosecond);

static void BM_Randn(benchmark::State& st) {
  Generator g(1);
  for (auto _ : st) benchmark::DoNotOptimize(randn(kAct, g).raw());
  st.SetItemsProcessed(st.iterations() * numel_of(kAct));
}
BENCHMARK(BM_Randn)->Unit(benchmark::kMicrosecond);

static void BM_AutogradRoundTrip(benchmark::State& st) {  // forward + backward of a small elementwise chain
  Tensor x = randn(kAct);
  x.requires_grad_();
  for (auto _ : st) {
    Tensor y = sum(square(tanh(x) * 2.0 + 1.0));
    y.backward();
    x.zero_grad();
  }
  st.SetItemsProcessed(st.iterations() * x.numel());
}
BENCHMARK(BM_AutogradRoundTrip)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
