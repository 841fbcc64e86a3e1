// Training steps of the speed targets (issue 5, benchmarks), each on the REAL registered
// model (models/registry.cpp) with the step the trainers run:
//
//   BM_VaeStep128/batch:8            "vae" (models/unified.h UnifiedVAE) at 128², batch 8: the
//                                    ReconstructionTrainer step (train/trainer.cpp): loss(x).total
//                                    (L1 summed over pixels + KL, batch mean, ε and dropout 0.2 from
//                                    the model's generator, training mode), zero_grad, backward,
//                                    Adam with TrainConfig's defaults (lr 1e-4, β = (0.5, 0.999),
//                                    eps 1e-8)
//   BM_SvaeStep256/batch:8           "svae" (models/baur2018.h, sVAE 16×16×64) at 256², batch 8,
//                                    the same trainer step
//   BM_Fanogan3dCriticGpStep/batch:2 "fanogan3d" (models/fanogan3d.h) at 64³, batch 2: one critic
//                                    update of WGAN-GP = train::critic_step (train/wgan_gp.h, the
//                                    step gan_iteration runs n_critic times): x̃ = G(z) without
//                                    recording, L_D = mean D(x̃) − mean D(x) + λ·GP (λ = 10, a
//                                    gradient of a gradient), Adam β = (0, 0.9) as GanTrainer builds
//                                    it for this model (default_gan_beta1() = 0)
//
// Each reports `params` = the model's (network's) trainable parameter count, which
// bench/compare_targets.py checks against its PyTorch twin (bench/torch_targets.py).
// Wall-clock times (UseRealTime: the ops are multithreaded) after one untimed warm-up step, and
// the CPU time of the whole process (all threads; MeasureProcessCPUTime), which another
// process's load inflates less than the wall time (with OMP_WAIT_POLICY=PASSIVE). The
// number of timed steps follows --benchmark_min_time (default 0.5 s: one step of the 256² and 3-D
// cases, a few of the VAE). Run them side by side with PyTorch:
//   /usr/bin/python3 bench/compare_targets.py --build <build dir>
// On the shared 2-core machines use OMP_NUM_THREADS=2 (and OMP_WAIT_POLICY=PASSIVE when loaded).
// Measured (2 threads, PASSIVE, load ≈ 1, fastest of 5 alternating runs), s per step, uad vs
// PyTorch 1.13 (same oneDNN 2.6.3, OpenBLAS): VAE 0.057 vs 0.213 (3.7×), sVAE 0.657 vs 1.535
// (2.3×; uad's oneDNN convolutions alone take ≈ 0.55 s at 470–590 GFLOP/s), 3-D critic step
// 0.611 vs 0.922 (1.5×).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "models/fanogan3d.h"
#include "models/model.h"
#include "tensor/ops.h"
#include "train/config.h"
#include "train/optim.h"
#include "train/wgan_gp.h"

using namespace uad;

namespace {

int64_t count_parameters(const std::vector<Tensor>& ps) {
  int64_t n = 0;
  for (const Tensor& p : ps) n += p.numel();
  return n;
}

/// Adam options of ReconstructionTrainer (train/trainer.cpp): TrainConfig's defaults.
train::AdamOptions trainer_adam() {
  const train::TrainConfig cfg;
  train::AdamOptions o;
  o.lr = cfg.lr;
  o.beta1 = cfg.beta1;
  o.beta2 = cfg.beta2;
  o.eps = cfg.adam_eps;
  return o;
}

/// One ReconstructionTrainer step of registered model `name` on x ~ U[0,1) [batch, input_shape].
void reconstruction_step(benchmark::State& state, const std::string& name) {
  const int64_t batch = state.range(0);
  const models::ModelSpec& spec = models::find_model(name);
  Generator g(1), data(2);
  std::shared_ptr<models::ReconstructionModel> model = spec.make(g);
  model->set_generator(&g);
  model->train();
  train::Adam adam(model->parameters(), trainer_adam());
  Shape xs{batch};
  xs.insert(xs.end(), spec.input_shape.begin(), spec.input_shape.end());
  Tensor x = rand(xs, data);
  auto step = [&] {
    models::LossTerms lt = model->loss(x);
    adam.zero_grad();
    lt.total.backward();
    adam.step();
    return lt.total.item();
  };
  step();  // warm-up: allocations, Adam moments
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters["params"] = (double)count_parameters(model->parameters());
}

void BM_VaeStep128(benchmark::State& state) { reconstruction_step(state, "vae"); }
void BM_SvaeStep256(benchmark::State& state) { reconstruction_step(state, "svae"); }

void BM_Fanogan3dCriticGpStep(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const models::ModelSpec& spec = models::find_model("fanogan3d");
  Generator g(1), data(2);
  std::shared_ptr<models::ReconstructionModel> model = spec.make(g);
  auto* gan = dynamic_cast<models::GanModel*>(model.get());
  if (gan == nullptr) {
    state.SkipWithError("fanogan3d is not a models::GanModel");
    return;
  }
  model->set_generator(&g);
  model->train();
  train::AdamOptions ao = train::wgan_adam(train::TrainConfig{}.lr);
  ao.beta1 = gan->default_gan_beta1();  // GanTrainer: the model paper's β1 (0 here), β2 0.9
  train::Adam opt_d(gan->critic().parameters(), ao);
  Shape xs{batch};
  xs.insert(xs.end(), spec.input_shape.begin(), spec.input_shape.end());
  Tensor real = gan->to_network_range(rand(xs, data));  // [−1,1), as GanTrainer feeds the critic
  const int64_t latent = gan->latent_dim();
  auto step = [&] { return train::critic_step(gan->generator(), gan->critic(), opt_d, real, latent, g, 10.0).loss; };
  step();  // warm-up
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters["params"] = (double)count_parameters(gan->critic().parameters());
  state.counters["generator_params"] = (double)count_parameters(gan->generator().parameters());
}

}  // namespace

BENCHMARK(BM_VaeStep128)->ArgName("batch")->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->MeasureProcessCPUTime();
BENCHMARK(BM_SvaeStep256)->ArgName("batch")->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->MeasureProcessCPUTime();
BENCHMARK(BM_Fanogan3dCriticGpStep)->ArgName("batch")->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->MeasureProcessCPUTime();

BENCHMARK_MAIN();
