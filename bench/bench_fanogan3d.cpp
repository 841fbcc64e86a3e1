// The 3-D f-AnoGAN training steps at full size (64³, batch 2; models/fanogan3d.h,
// train/wgan_gp.h): a critic step with the WGAN-GP gradient penalty (Eq. 2 of 001, a gradient
// of a gradient), a generator step and an izi_f encoder step (Eq. 4-6 of 001).
#include <benchmark/benchmark.h>

#include "models/fanogan3d.h"
#include "tensor/ops.h"
#include "train/optim.h"
#include "train/rmsprop.h"
#include "train/wgan_gp.h"

using namespace uad;
using namespace uad::models;

namespace {

struct Setup {
  Generator g{1}, draws{1};
  FAnoGAN3d m{Fanogan3dConfig{}, g};
  Tensor x;
  train::Adam od{m.critic().parameters(), train::wgan_adam()};
  train::Adam og{m.generator().parameters(), train::wgan_adam()};
  train::RMSProp oe{m.encoder().parameters(), {.lr = 5e-5}};
  Setup() {
    Generator d(10);
    x = rand({2, 1, 64, 64, 64}, d) * 2.0 - 1.0;
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_CriticStepWithGradientPenalty(benchmark::State& st) {
  Setup& s = setup();
  for (auto _ : st) train::critic_step(s.m.generator(), s.m.critic(), s.od, s.x, 2500, s.draws);
}
BENCHMARK(BM_CriticStepWithGradientPenalty)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_GeneratorStep(benchmark::State& st) {
  Setup& s = setup();
  for (auto _ : st) train::generator_step(s.m.generator(), s.m.critic(), s.og, 2, 2500, s.draws);
}
BENCHMARK(BM_GeneratorStep)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_EncoderIzifStep(benchmark::State& st) {
  Setup& s = setup();
  for (auto _ : st) train::encoder_izif_step(s.m.encoder(), s.m.generator(), s.m.critic(), s.oe, s.x);
}
BENCHMARK(BM_EncoderIzifStep)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
