// One training batch of each adversarially trained model of models/adversarial.h at full size,
// batch 8 (train/adversarial_loop.h): anovaegan (VAE step + generator step + 5 WGAN-GP critic
// steps), sae_gan / svae_gan (1 discriminator step + 1 combined step, 256²), constrained_aae
// after the warm-up (1 AE step + 20 latent critic steps + 1 encoder step; in epochs ≤ 5 add 19
// AE steps: see BM_ConstrainedAAEAeStep), anogan (5 WGAN-GP critic steps on the batch + 1
// generator step) and AnoGAN's 100-step latent search of one slice. Run with --benchmark_min_time=0.01s (each iteration
// takes seconds).
#include <benchmark/benchmark.h>

#include "models/adversarial.h"
#include "tensor/ops.h"
#include "train/adversarial_loop.h"
#include "train/wgan_gp.h"

using namespace uad;

namespace {

train::AdamOptions adam(double lr, double b1, double b2) {
  train::AdamOptions a;
  a.lr = lr;
  a.beta1 = b1;
  a.beta2 = b2;
  return a;
}

std::shared_ptr<models::ReconstructionModel> make(const std::string& name, Generator& g) {
  for (const auto& s : models::adversarial_family())
    if (s.name == name) return s.make(g);
  return nullptr;
}

void vaegan(benchmark::State& state, const std::string& name, int64_t size) {
  Generator g(0);
  auto m = make(name, g);
  m->set_generator(&g);
  m->train();
  auto& v = dynamic_cast<models::VaeGanModel&>(*m);
  const auto& o = v.vaegan_options();
  train::Adam opt_ae(v.autoencoder_parameters(), adam(1e-4, o.beta1, o.beta2)),
      opt_g(v.generator_parameters(), adam(1e-4, o.beta1, o.beta2)),
      opt_d(v.critic().parameters(), adam(1e-4 * o.critic_lr_ratio, o.beta1, o.beta2));
  Tensor x = rand({8, 1, size, size}, g);
  for (auto _ : state) train::vaegan_step(v, opt_ae, o.separate_generator_step ? &opt_g : nullptr, opt_d, x, g);
}

void BM_AnoVAEGANStep(benchmark::State& s) { vaegan(s, "anovaegan", 128); }
void BM_SAEGANStep(benchmark::State& s) { vaegan(s, "sae_gan", 256); }
void BM_SVAEGANStep(benchmark::State& s) { vaegan(s, "svae_gan", 256); }

struct Aae {
  Generator g{0};
  std::shared_ptr<models::ReconstructionModel> m = make("constrained_aae", g);
  models::ConstrainedAAE& a = dynamic_cast<models::ConstrainedAAE&>(*m);
  train::Adam opt_ae{a.autoencoder_parameters(), adam(1e-4, 0.5, 0.9)};
  train::Adam opt_d{a.latent_critic().parameters(), adam(1e-4, 0.5, 0.9)};
  train::Adam opt_e{a.encoder_parameters(), adam(1e-4, 0.5, 0.9)};
  Tensor x = rand({8, 1, 128, 128}, g);
  Aae() {
    m->set_generator(&g);
    m->train();
  }
};

void BM_ConstrainedAAEStep(benchmark::State& state) {
  Aae s;
  for (auto _ : state) train::aae_step(*s.m, s.a, s.opt_ae, s.opt_d, s.opt_e, s.x, /*epoch=*/6, s.g);
}

void BM_ConstrainedAAEAeStep(benchmark::State& state) {
  Aae s;
  for (auto _ : state) train::aae_autoencoder_update(*s.m, s.a, s.opt_ae, s.x);
}

void BM_AnoGANStep(benchmark::State& state) {
  Generator g(0);
  auto m = make("anogan", g);
  m->set_generator(&g);
  m->train();
  auto& a = dynamic_cast<models::AnoGAN&>(*m);
  train::Adam opt_g(a.generator().parameters(), train::wgan_adam(1e-4)),
      opt_d(a.critic().parameters(), train::wgan_adam(1e-4));
  Tensor x = rand({8, 1, 256, 256}, g);
  for (auto _ : state) {
    for (int k = 0; k < 5; ++k) train::critic_step(a.generator(), a.critic(), opt_d, x, 64, g, 10.0);
    train::generator_step(a.generator(), a.critic(), opt_g, 8, 64, g);
  }
}

/// The 100-step latent search of one slice (004 reports ~19 s per slice).
void BM_AnoGANSearchOneSlice(benchmark::State& state) {
  Generator g(0);
  auto m = make("anogan", g);
  m->set_generator(&g);
  m->eval();
  auto& a = dynamic_cast<models::AnoGAN&>(*m);
  Tensor x = rand({1, 1, 256, 256}, g);
  for (auto _ : state) a.search(x);
}

}  // namespace

BENCHMARK(BM_AnoGANStep)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_AnoGANSearchOneSlice)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_AnoVAEGANStep)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_SAEGANStep)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_SVAEGANStep)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_ConstrainedAAEStep)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_ConstrainedAAEAeStep)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

BENCHMARK_MAIN();
