// Forward and training step of every registered model (models/model.h registry) at its input
// shape, batch 8:
//   Forward/<model>    reconstruct(x) in eval mode (running BN statistics, no dropout, a VAE
//                      decodes μ) under NoGradGuard; counter s_per_slice.
//   TrainStep/<model>  zero_grad + loss(x) in train mode (the model's own loss: context masks,
//                      ε sampling, the Constrained AE's second encoder pass) + backward
//                      + Adam(lr 1e-4, β = (0.5, 0.999), the unified study's optimiser).
// Input: a fixed batch of brain-like slices (an ellipse on a zero background, so the context
// models find a bounding box). Wall-clock times (UseRealTime: the ops are multithreaded). Keep
// runs short on the shared 2-core machines, e.g.
//   bench_models --benchmark_min_time=1 --benchmark_filter='ae_dense|vae$'
#include <benchmark/benchmark.h>

#include "models/model.h"
#include "tensor/ops.h"
#include "train/optim.h"

using namespace uad;

namespace {

/// [n,1,s,s]: an ellipse of intensity 0.5–0.85 on zeros, centred, semi-axes 0.35·s and 0.3·s.
Tensor brain_batch(int64_t n, int64_t s) {
  Tensor c = arange(s) * (1.0 / (double)s) - 0.5;
  Tensor r2 = square(c.reshape({1, 1, s, 1}) / 0.35) + square(c.reshape({1, 1, 1, s}) / 0.3);
  Tensor img = where(lt(r2, ones({1})), 0.5 + 0.35 * exp(neg(r2) * 2.0), zeros({1}));
  return (img * ones({n, 1, s, s})).contiguous();
}

Tensor input_for(const models::ModelSpec& spec, int64_t batch) {
  return brain_batch(batch, spec.input_shape.back());
}

void forward(benchmark::State& state, const models::ModelSpec* spec) {
  const int64_t batch = state.range(0);
  Generator g(1);
  auto m = spec->make(g);
  m->eval();
  Tensor x = input_for(*spec, batch);
  NoGradGuard ng;
  for (auto _ : state) {
    Tensor y = m->reconstruct(x);
    benchmark::DoNotOptimize(y.raw());
  }
  state.counters["s_per_slice"] =
      benchmark::Counter((double)(batch * state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void train_step(benchmark::State& state, const models::ModelSpec* spec) {
  const int64_t batch = state.range(0);
  Generator g(1);
  manual_seed(3);  // dropout, ε and context masks come from the default generator
  auto m = spec->make(g);
  m->train();
  train::AdamOptions opt;
  opt.lr = 1e-4;
  opt.beta1 = 0.5;
  train::Adam adam(m->parameters(), opt);
  Tensor x = input_for(*spec, batch);
  for (auto _ : state) {
    adam.zero_grad();
    models::LossTerms l = m->loss(x);
    l.total.backward();
    adam.step();
    benchmark::DoNotOptimize(l.total.item());
  }
  state.counters["s_per_slice"] =
      benchmark::Counter((double)(batch * state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

int main(int argc, char** argv) {
  for (const models::ModelSpec& spec : models::registry()) {
    benchmark::RegisterBenchmark(("Forward/" + spec.name).c_str(), forward, &spec)
        ->ArgName("batch")->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("TrainStep/" + spec.name).c_str(), train_step, &spec)
        ->ArgName("batch")->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
