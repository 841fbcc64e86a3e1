// The adversarially trained models of models/adversarial.h (AnoVAEGAN, sAE-GAN, sVAE-GAN,
// Constrained AAE) and their updates (train/adversarial_loop.h): registry entries, output shapes,
// parameter counts against the layer tables, every optimiser's update lowers its own loss on a
// fixed batch (same noise before and after), save → load gives identical outputs, the two
// penalty quirks. Full-size models are only built (and run once at batch 1); the update tests use
// tiny configurations (16×16) to stay fast.
#include <gtest/gtest.h>

#include "models/adversarial.h"
#include "models/anogan.h"
#include "tensor/autograd.h"
#include "tensor/ops.h"
#include "tests/model_test_util.h"
#include "train/adversarial_loop.h"
#include "train/wgan_gp.h"
#include "tests/error_of.h"

using namespace uad;
using namespace uad::models;
using uad::test::brain_batch;
using uad::test::max_abs_diff;

namespace {

int64_t conv(int64_t i, int64_t o, int64_t k) { return i * o * k * k + o; }
int64_t dense(int64_t i, int64_t o) { return i * o + o; }
int64_t ln(int64_t s) { return 2 * s * s; }

const ModelSpec& entry(const std::string& name) {
  static const std::vector<ModelSpec> family = adversarial_family();
  for (const ModelSpec& s : family)
    if (s.name == name) return s;
  throw std::runtime_error("no entry " + name);
}

UnifiedConfig tiny_unified() {
  UnifiedConfig c;
  c.image_size = 16;
  c.bottleneck = 4;
  c.zdim = 8;
  return c;
}

Baur2018Config tiny_baur(bool variational) {
  Baur2018Config c;
  c.image_size = 16;
  c.encoder_channels = {8, 8};
  c.decoder_channels = {8, 8};
  c.z_channels = 4;
  c.variational = variational;
  return c;
}

AnoGanConfig tiny_anogan(int64_t steps = 20) {
  AnoGanConfig c;
  c.image_size = 16;
  c.gen_channels = {8, 4};
  c.critic_channels = {4, 8};
  c.latent = 4;
  c.search_steps = steps;
  return c;
}

train::AdamOptions adam(double lr) {
  train::AdamOptions a;
  a.lr = lr;
  a.beta1 = 0.5;
  a.beta2 = 0.9;
  return a;
}

/// Runs `update` twice from the same generator state and returns (loss before the first update,
/// loss before the second = after the first, with the same noise).
template <class F>
std::pair<double, double> twice(Generator& g, F update) {
  const uint64_t seed = g.seed(), off = g.offset();
  const double l0 = update();
  g.set_state(seed, off);
  const double l1 = update();
  return {l0, l1};
}

}  // namespace

TEST(AdversarialFamily, EntriesNamesShapesAndTrainers) {
  const auto f = adversarial_family();
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0].name, "anovaegan");
  EXPECT_EQ(f[0].input_shape, (Shape{1, 128, 128}));
  EXPECT_EQ(f[0].trainer, TrainerKind::vae_gan);
  EXPECT_EQ(f[1].name, "sae_gan");
  EXPECT_EQ(f[2].name, "svae_gan");
  for (int i : {1, 2}) {
    EXPECT_EQ(f[i].input_shape, (Shape{1, 256, 256}));
    EXPECT_EQ(f[i].trainer, TrainerKind::vae_gan);
    EXPECT_NE(f[i].source.find("004"), std::string::npos);
  }
  EXPECT_EQ(f[3].name, "constrained_aae");
  EXPECT_EQ(f[3].trainer, TrainerKind::latent_adversarial);
  EXPECT_EQ(f[4].name, "anogan");
  EXPECT_EQ(f[4].input_shape, (Shape{1, 256, 256}));
  EXPECT_EQ(f[4].trainer, TrainerKind::wgan_gp);
  for (const auto& s : f) EXPECT_FALSE(is_adversarial(s)) << s.name;  // not the f-AnoGAN trainer
}

// Layer tables: domain_spec §1.2 (unified encoder/decoder), §1.3 (AnoVAEGAN: VAE encoder with BN,
// decoder with LayerNorm([1,2]) as generator, LN critic + per-location Dense(1); Constrained AAE:
// dense AE + critic 128→100→50→1), models/baur2018.h and models/adversarial.h (discriminator).
TEST(AdversarialFamily, FullSizeParameterCountsAndShapes) {
  const int64_t enc_convs = conv(1, 32, 5) + conv(32, 64, 5) + conv(64, 128, 5) + conv(128, 128, 5);
  const int64_t enc_bn = 2 * (32 + 64 + 128 + 128);
  const int64_t bottleneck_ae = conv(128, 16, 1) + dense(1024, 128) + dense(128, 1024) + conv(16, 128, 1);
  const int64_t dec_convs = conv(128, 128, 5) + conv(128, 64, 5) + conv(64, 32, 5) + conv(32, 32, 5) + conv(32, 1, 1);
  const int64_t dec_ln = ln(8) + ln(16) + ln(32) + ln(64) + ln(128);
  const int64_t dec_bn = 2 * (128 + 128 + 64 + 32 + 32);
  const int64_t critic = enc_convs + ln(64) + ln(32) + ln(16) + ln(8) + conv(128, 1, 1);
  {
    Generator g(0);
    auto m = entry("anovaegan").make(g);
    EXPECT_EQ(m->num_parameters(),
              enc_convs + enc_bn + bottleneck_ae + dense(1024, 128) + dec_convs + dec_ln + critic);
    auto& v = dynamic_cast<AnoVAEGAN&>(*m);
    EXPECT_EQ(v.critic().num_parameters(), critic);
    int64_t gen = 0;
    for (const Tensor& p : v.generator_parameters()) gen += p.numel();
    EXPECT_EQ(gen, dense(128, 1024) + conv(16, 128, 1) + dec_convs + dec_ln);
    m->eval();
    NoGradGuard ng;
    Tensor x = brain_batch(1, 128, 1);
    EXPECT_EQ(m->reconstruct(x).shape(), (Shape{1, 1, 128, 128}));
    EXPECT_EQ(v.critic()(x).shape(), (Shape{1, 1}));
  }
  {
    Generator g(0);
    auto m = entry("constrained_aae").make(g);
    const int64_t lat = dense(128, 100) + dense(100, 50) + dense(50, 1);
    EXPECT_EQ(m->num_parameters(), enc_convs + enc_bn + bottleneck_ae + dec_convs + dec_bn + lat);
    auto& a = dynamic_cast<ConstrainedAAE&>(*m);
    EXPECT_EQ(a.latent_critic().num_parameters(), lat);
    int64_t enc = 0;
    for (const Tensor& p : a.encoder_parameters()) enc += p.numel();
    EXPECT_EQ(enc, enc_convs + enc_bn + conv(128, 16, 1) + dense(1024, 128));
    m->eval();
    NoGradGuard ng;
    Tensor x = brain_batch(2, 128, 2);
    EXPECT_EQ(m->reconstruct(x).shape(), (Shape{2, 1, 128, 128}));
    EXPECT_EQ(a.latent_critic()(a.encode_latent(x)).shape(), (Shape{2, 1}));
  }
  // 004 / models/baur2018.h at 256²: encoder 5×5 convs 1→64→128→256→256 + BN, z conv 5×5 256→64
  // (sVAE: two), decoder ConvT 5×5 64→256 + BN, ConvT 256→256→128→64→32 + BN, out conv 5×5 32→1.
  const int64_t baur_enc = conv(1, 64, 5) + conv(64, 128, 5) + conv(128, 256, 5) + conv(256, 256, 5) +
                           2 * (64 + 128 + 256 + 256);
  const int64_t baur_dec = conv(64, 256, 5) + conv(256, 256, 5) + conv(256, 128, 5) + conv(128, 64, 5) +
                           conv(64, 32, 5) + 2 * (256 + 256 + 128 + 64 + 32) + conv(32, 1, 5);
  const int64_t dis = conv(1, 32, 5) + conv(32, 64, 5) + conv(64, 128, 5) + conv(128, 256, 5) + conv(256, 1, 1);
  for (bool variational : {false, true}) {
    Generator g(0);
    auto m = entry(variational ? "svae_gan" : "sae_gan").make(g);
    EXPECT_EQ(m->num_parameters(), baur_enc + (variational ? 2 : 1) * conv(256, 64, 5) + baur_dec + dis);
    auto& b = dynamic_cast<Baur2018Gan&>(*m);
    EXPECT_EQ(b.critic().num_parameters(), dis);
    m->eval();
    NoGradGuard ng;
    Tensor x = brain_batch(1, 256, 3);
    EXPECT_EQ(m->reconstruct(x).shape(), (Shape{1, 1, 256, 256}));
    EXPECT_EQ(b.critic()(x).shape(), (Shape{1, 1}));
  }
}

TEST(AnoVAEGAN, EachUpdateLowersItsLossOnAFixedBatch) {
  Generator g(3);
  AnoVAEGAN m(tiny_unified(), g);
  m.set_generator(&g);
  m.train();
  const Tensor x = brain_batch(4, 16, 7);
  train::Adam opt_ae(m.autoencoder_parameters(), adam(1e-3)), opt_g(m.generator_parameters(), adam(1e-3)),
      opt_d(m.critic().parameters(), adam(1e-3));
  auto [c0, c1] = twice(g, [&] { return train::vaegan_critic_update(m, opt_d, x, g).loss; });
  EXPECT_LT(c1, c0);
  auto [a0, a1] = twice(g, [&] { return train::vaegan_autoencoder_update(m, opt_ae, x)[0].second; });
  EXPECT_LT(a1, a0);
  const auto before_ae = m.autoencoder_parameters()[0].clone();  // the encoder's first conv
  auto [g0, g1] = twice(g, [&] { return train::vaegan_generator_update(m, opt_g, x); });
  EXPECT_LT(g1, g0);
  EXPECT_EQ(max_abs_diff(before_ae, m.autoencoder_parameters()[0]), 0.0);  // the encoder did not move
  // The combined batch update runs and reports every term.
  const auto v = train::vaegan_step(m, opt_ae, &opt_g, opt_d, x, g);
  std::vector<std::string> names;
  for (auto& [k, val] : v) {
    names.push_back(k);
    EXPECT_TRUE(std::isfinite(val)) << k;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"loss", "l1", "kl", "generator_loss", "critic_loss", "wasserstein",
                                             "penalty"}));
}

TEST(BaurGan, EachUpdateLowersItsLossOnAFixedBatch) {
  for (bool variational : {false, true}) {
    Generator g(4);
    VaeGanOptions o;
    o.wasserstein = false;
    o.separate_generator_step = false;
    o.critic_first = true;
    o.n_critic = 1;
    Baur2018Gan m(tiny_baur(variational), g, o);
    m.set_generator(&g);
    m.train();
    const Tensor x = brain_batch(4, 16, 8);
    train::Adam opt_ae(m.autoencoder_parameters(), adam(1e-3)), opt_d(m.critic().parameters(), adam(1e-4));
    auto [c0, c1] = twice(g, [&] { return train::vaegan_critic_update(m, opt_d, x, g).loss; });
    EXPECT_LT(c1, c0) << variational;
    auto [a0, a1] = twice(g, [&] { return train::vaegan_autoencoder_update(m, opt_ae, x)[0].second; });
    EXPECT_LT(a1, a0) << variational;
    const auto v = train::vaegan_step(m, opt_ae, nullptr, opt_d, x, g);
    EXPECT_EQ(v.back().first, std::string("critic_loss"));
    EXPECT_EQ(std::string(v[v.size() - 2].first), "adversarial");
    // Eq. 2's adversarial term is −log Dis(x̂) = softplus(−logit) ≥ 0 and Eq. 3's L_Dis > 0.
    EXPECT_GT(v[v.size() - 2].second, 0.0);
    EXPECT_GT(v.back().second, 0.0);
  }
}

TEST(ConstrainedAAE, EachUpdateLowersItsLossOnAFixedBatch) {
  Generator g(5);
  AaeOptions o;
  ConstrainedAAE m(tiny_unified(), g, o);
  m.set_generator(&g);
  m.train();
  const Tensor x = brain_batch(4, 16, 9);
  train::Adam opt_ae(m.autoencoder_parameters(), adam(1e-5)), opt_d(m.latent_critic().parameters(), adam(1e-3)),
      opt_e(m.encoder_parameters(), adam(1e-3));
  auto [a0, a1] = twice(g, [&] { return train::aae_autoencoder_update(m, m, opt_ae, x); });
  EXPECT_LT(a1, a0);
  auto [c0, c1] = twice(g, [&] { return train::aae_critic_update(m, opt_d, x, g).loss; });
  EXPECT_LT(c1, c0);
  auto [e0, e1] = twice(g, [&] { return train::aae_encoder_update(m, opt_e, x); });
  EXPECT_LT(e1, e0);
}

TEST(ConstrainedAAE, TheLoopRunsItsStepCountsPerEpoch) {
  Generator g(6);
  AaeOptions o;
  o.ae_steps_warmup = 3;
  o.warmup_epochs = 1;
  o.ae_steps = 1;
  o.critic_steps = 2;
  ConstrainedAAE m(tiny_unified(), g, o);
  m.set_generator(&g);
  const Tensor x = brain_batch(2, 16, 1);
  train::Adam opt_ae(m.autoencoder_parameters(), adam(1e-4)), opt_d(m.latent_critic().parameters(), adam(1e-4)),
      opt_e(m.encoder_parameters(), adam(1e-4));
  train::aae_step(m, m, opt_ae, opt_d, opt_e, x, 1, g);
  EXPECT_EQ(opt_ae.steps(), 3);
  EXPECT_EQ(opt_d.steps(), 2);
  EXPECT_EQ(opt_e.steps(), 1);
  train::aae_step(m, m, opt_ae, opt_d, opt_e, x, 2, g);
  EXPECT_EQ(opt_ae.steps(), 4);
  EXPECT_EQ(opt_d.steps(), 4);
  EXPECT_EQ(opt_e.steps(), 2);
}

// The axis-1 quirk on a linear critic D(x) = Σ w·x: ∇ = w for every x̂, so the penalty is
// λ·mean over (N,C,W) of (‖w[:, :, ·, w]‖ over H − 1)², by hand.
TEST(Penalties, Axis1QuirkNormsOverHOnly) {
  struct Linear : nn::Module {
    Tensor w;
    Linear() { w = register_parameter("w", from_vector({1.0, 2.0, 0.0, 2.0}, {1, 1, 2, 2}, DType::f64)); }
    Tensor forward(const Tensor& x) override { return sum(x * w, {1, 2, 3}).reshape({x.size(0), 1}); }
  } d;
  Tensor real = zeros({2, 1, 2, 2}, DType::f64), fake = ones({2, 1, 2, 2}, DType::f64);
  Tensor eps = full({2, 1, 1, 1}, 0.3, DType::f64);
  // columns (over H): (1, 0) → 1, (2, 2) → √8.
  const double want = 10.0 * 0.5 * (0.0 + std::pow(std::sqrt(8.0) - 1.0, 2));
  EXPECT_NEAR(train::gradient_penalty_axis1(d, real, fake, eps, 10.0).item(), want, 1e-12);
  // The standard penalty: ‖w‖ = 3 → λ·(3 − 1)² = 40.
  EXPECT_NEAR(train::gradient_penalty(d, real, fake, eps, 10.0).item(), 40.0, 1e-12);
}

TEST(AdversarialFamily, SaveLoadGivesIdenticalOutputs) {
  for (const std::string name : {"anovaegan", "constrained_aae", "sae_gan"}) {
    Generator g1(1), g2(2);
    std::shared_ptr<ReconstructionModel> a, b;
    if (name == "anovaegan") {
      a = std::make_shared<AnoVAEGAN>(tiny_unified(), g1);
      b = std::make_shared<AnoVAEGAN>(tiny_unified(), g2);
    } else if (name == "constrained_aae") {
      a = std::make_shared<ConstrainedAAE>(tiny_unified(), g1);
      b = std::make_shared<ConstrainedAAE>(tiny_unified(), g2);
    } else {
      a = std::make_shared<Baur2018Gan>(tiny_baur(false), g1, VaeGanOptions{});
      b = std::make_shared<Baur2018Gan>(tiny_baur(false), g2, VaeGanOptions{});
    }
    const Tensor x = brain_batch(2, 16, 4);
    {  // a training forward moves the BN running statistics (buffers must round-trip too)
      a->train();
      NoGradGuard ng;
      a->reconstruct(x);
    }
    test::TempFile f("adv", name + ".safetensors");
    nn::save_state(*a, f.path);
    nn::load_state(*b, f.path);
    a->eval();
    b->eval();
    NoGradGuard ng;
    EXPECT_GT(max_abs_diff(a->reconstruct(x), zeros({2, 1, 16, 16})), 0.0) << name;
    EXPECT_EQ(max_abs_diff(a->reconstruct(x), b->reconstruct(x)), 0.0) << name;
    if (auto* va = dynamic_cast<VaeGanModel*>(a.get())) {
      EXPECT_EQ(max_abs_diff(va->critic()(x), dynamic_cast<VaeGanModel*>(b.get())->critic()(x)), 0.0) << name;
    }
  }
}

TEST(AdversarialFamily, BadInputsGiveClearErrors) {
  Generator g(0);
  AnoVAEGAN m(tiny_unified(), g);
  EXPECT_THROW(m.reconstruct(zeros({1, 1, 8, 8})), Error);
  Baur2018Discriminator d(16, {8, 8}, nn::Init::xavier_uniform, DType::f32, g);
  EXPECT_THROW(d(zeros({1, 1, 8, 8})), Error);
  EXPECT_THROW(Baur2018Discriminator(20, {8, 8, 8}, nn::Init::xavier_uniform, DType::f32, g), Error);
  EXPECT_THROW(train::gradient_penalty_axis1(m.critic(), zeros({2, 16}), zeros({2, 16}), zeros({2, 1}), 10.0), Error);
}

// 004 names only the latent (64); the layer table is models/anogan.h's DCGAN.
TEST(AnoGAN, FullSizeParameterCountsAndShapes) {
  auto conv4 = [](int64_t i, int64_t o) { return i * o * 16 + o; };
  const int64_t gen = dense(64, 512 * 16) + 2 * 512 + conv4(512, 256) + 2 * 256 + conv4(256, 128) + 2 * 128 +
                      conv4(128, 64) + 2 * 64 + conv4(64, 32) + 2 * 32 + conv4(32, 16) + 2 * 16 + conv4(16, 1);
  const int64_t critic = conv4(1, 16) + conv4(16, 32) + conv4(32, 64) + conv4(64, 128) + conv4(128, 256) +
                         conv4(256, 512) + dense(512 * 16, 1);
  Generator g(0);
  auto m = entry("anogan").make(g);
  auto& a = dynamic_cast<AnoGAN&>(*m);
  EXPECT_EQ(a.generator().num_parameters(), gen);
  EXPECT_EQ(a.critic().num_parameters(), critic);
  EXPECT_EQ(m->num_parameters(), gen + critic);
  EXPECT_EQ(a.latent_dim(), 64);
  EXPECT_EQ(a.wgan_config().search_steps, 100);
  m->eval();
  NoGradGuard ng;
  Tensor x = a.generator()(randn({2, 64}, g));
  EXPECT_EQ(x.shape(), (Shape{2, 1, 256, 256}));
  auto o = a.critic().score_and_features(x);
  EXPECT_EQ(o.score.shape(), (Shape{2, 1}));
  EXPECT_EQ(o.features.shape(), (Shape{2, 512 * 16}));
}

TEST(AnoGAN, TheLatentSearchLowersTheMappingLoss) {
  Generator g(1);
  AnoGAN one(tiny_anogan(1), g), many(tiny_anogan(60), g);  // same weights after the load below
  test::TempFile f("adv", "anogan.safetensors");
  nn::save_state(one, f.path);
  nn::load_state(many, f.path);
  one.eval();
  many.eval();
  const Tensor x = brain_batch(3, 16, 2);
  Generator n1(9), n2(9);
  one.set_generator(&n1);
  many.set_generator(&n2);
  const LatentSearch a = one.search(x), b = many.search(x);
  EXPECT_EQ(b.x_hat.shape(), x.shape());
  EXPECT_EQ(b.score.shape(), (Shape{3}));
  for (int64_t i = 0; i < 3; ++i) EXPECT_LT(b.score.to_vector()[i], a.score.to_vector()[i]) << i;
  // score = (1 − λ)·Σ|x − G(z*)| + λ·Σ|f(x) − f(G(z*))|, λ = 0.1
  auto l1 = sum(abs(x - b.x_hat), {1, 2, 3}).to_vector();
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(b.l1.to_vector()[i], l1[i], 1e-4 * l1[i]);
    EXPECT_NEAR(b.score.to_vector()[i], 0.9 * b.l1.to_vector()[i] + 0.1 * b.feat.to_vector()[i], 1e-4 * l1[i]);
  }
  // image_score and loss are the search's.
  n2.set_state(9, 0);
  EXPECT_EQ(max_abs_diff(many.image_score(x), b.score), 0.0);
  // The networks' parameters are untouched and trainable afterwards.
  for (const Tensor& p : many.parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(AnoGAN, CriticAndGeneratorStepsLowerTheirLosses) {
  Generator g(2);
  AnoGAN m(tiny_anogan(), g);
  m.set_generator(&g);
  m.train();
  const Tensor x = brain_batch(4, 16, 3);
  train::Adam opt_g(m.generator().parameters(), train::wgan_adam(1e-3)),
      opt_d(m.critic().parameters(), train::wgan_adam(1e-3));
  auto [c0, c1] = twice(g, [&] { return train::critic_step(m.generator(), m.critic(), opt_d, x, 4, g, 10.0).loss; });
  EXPECT_LT(c1, c0);
  auto [g0, g1] = twice(g, [&] { return train::generator_step(m.generator(), m.critic(), opt_g, 4, 4, g); });
  EXPECT_LT(g1, g0);
}

TEST(AnoGAN, BadConfigurationsAndInputs) {
  AnoGanConfig c = tiny_anogan();
  c.image_size = 32;
  EXPECT_NE(test::error_of([&] { c.validate(); }).find("image_size 32"), std::string::npos);
  c = tiny_anogan();
  c.search_lambda = 2;
  EXPECT_NE(test::error_of([&] { c.validate(); }).find("search_lambda"), std::string::npos);
  Generator g(0);
  AnoGAN m(tiny_anogan(), g);
  EXPECT_NE(test::error_of([&] { m.search(zeros({1, 1, 8, 8})); }).find("AnoGAN::search"), std::string::npos);
}
