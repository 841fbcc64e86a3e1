// Training step and inference of the unified dense autoencoder (bench/unified_ae.h) at 128×128.
//
//   BM_TrainStep/batch:8   forward (BN training mode, dropout 0.2) + L1-sum loss + backward
//                          + Adam(lr 1e-4, β = (0.5, 0.999)) — one optimiser step per iteration.
//   BM_Inference/batch:8   forward only, eval mode (running BN statistics, no dropout), under
//                          NoGradGuard; the `s_per_slice` counter is the wall time per slice.
// Times are wall-clock (UseRealTime: the ops are multithreaded). bench/compare_torch.py runs the
// same cases in PyTorch and prints the ratio; keep runs short on the shared 2-core machines, e.g.
//   bench_train_step --benchmark_min_time=2 --benchmark_format=json
// Reference (the issue, PyTorch with OpenBLAS, 2 threads on these machines): ≈0.95 s per
// training step, ≈22 ms per slice at inference (batch 8).
#include <benchmark/benchmark.h>

#include "bench/unified_ae.h"
#include "train/optim.h"

using namespace uad;

namespace {

void BM_TrainStep(benchmark::State& state) {
  const int64_t batch = state.range(0);
  bench::UnifiedAEParams p = bench::init_unified_ae(1);
  train::AdamOptions opt;
  opt.lr = 1e-4;
  opt.beta1 = 0.5;
  opt.beta2 = 0.999;
  train::Adam adam(p.parameters(), opt);
  Generator data(2), drop(3);
  Tensor x = rand({batch, 1, 128, 128}, data);
  for (auto _ : state) {
    adam.zero_grad();
    Tensor x_hat = bench::unified_ae_forward(p, x, /*training=*/true, drop);
    Tensor loss = bench::unified_ae_loss(x_hat, x);
    loss.backward();
    adam.step();
    benchmark::DoNotOptimize(loss.item());
  }
  state.counters["s_per_slice"] = benchmark::Counter((double)(batch * state.iterations()),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Inference(benchmark::State& state) {
  const int64_t batch = state.range(0);
  bench::UnifiedAEParams p = bench::init_unified_ae(1);
  Generator data(2), drop(3);
  Tensor x = rand({batch, 1, 128, 128}, data);
  NoGradGuard ng;
  for (auto _ : state) {
    Tensor x_hat = bench::unified_ae_forward(p, x, /*training=*/false, drop);
    benchmark::DoNotOptimize(x_hat.data<float>());
  }
  state.counters["s_per_slice"] = benchmark::Counter((double)(batch * state.iterations()),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(BM_TrainStep)->ArgName("batch")->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Inference)->ArgName("batch")->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
