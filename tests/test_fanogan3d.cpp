// The 3-D f-AnoGAN of 001 (models/fanogan3d.h) and its training steps (train/wgan_gp.h):
//   - output shapes of G, D (score and features), E (tanh range) at 64³ with tiny widths;
//   - full-size parameter counts against a count computed here from the layer table
//     (domain_spec §4, [3DB] Model_alphaWGAN.py, latent 2500 of 001);
//   - the gradient penalty against hand values (a linear critic: λ(‖w‖ − 1)²) and against
//     central finite differences of the critic (∇_x̂ D) and of the penalty w.r.t. the critic's
//     parameters (the second-order path), in f64;
//   - a critic step raises D(real) − D(fake) and lowers L_D; a generator step lowers −D(G(z));
//     the izi_f step lowers the encoder loss and leaves G and D bit-identical;
//   - the anomaly score from the pieces; save → load identical; the registry entry.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "models/fanogan3d.h"
#include "tensor/ops.h"
#include "tests/error_of.h"
#include "tests/gradcheck.h"
#include "train/wgan_gp.h"

using namespace uad;
using namespace uad::models;
using uad::test::uniform64;

namespace {

/// scale 16 → channel widths 4, 8, 16, 32; latent 8.
Fanogan3dConfig tiny_config() {
  Fanogan3dConfig c;
  c.scale = 16;
  c.latent = 8;
  return c;
}

/// A fixed batch in [−1,1]: [n,1,64,64,64].
Tensor real_batch(int64_t n, uint64_t seed) {
  Generator g(seed);
  return rand({n, 1, 64, 64, 64}, g) * 2.0 - 1.0;
}

/// Copies of every parameter and buffer of m (by name).
nn::StateDict snapshot(const nn::Module& m) {
  nn::StateDict s;
  for (auto& [k, t] : m.state_dict()) s[k] = t.clone();
  return s;
}

void expect_identical(const nn::StateDict& a, const nn::Module& m) {
  nn::StateDict b = m.state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (auto& [k, t] : a) EXPECT_EQ(t.to_vector(), b.at(k).to_vector()) << k;
}

/// A tiny functional critic on [N,1,4,4,4] (f64) over given tensors p = {conv w [2,1,2,2,2],
/// conv b [2], fc w [1,16], fc b [1]}: conv k2 s2 → tanh → flatten → linear. Smooth, so finite
/// differences of ∇D are accurate.
class TinyCritic : public FeatureCritic {
 public:
  explicit TinyCritic(std::vector<Tensor> p) : p_(std::move(p)) {}
  CriticOutput score_and_features(const Tensor& x) override {
    Tensor h = flatten(tanh(conv3d(x, p_[0], p_[1], {2})), 1);
    return {linear(h, p_[2], p_[3]), h};
  }

 private:
  std::vector<Tensor> p_;
};

std::vector<Tensor> tiny_params() {
  return {uniform64({2, 1, 2, 2, 2}, 11, -1, 1), uniform64({2}, 12, -0.3, 0.3), uniform64({1, 16}, 13, -1, 1),
          uniform64({1}, 14, -0.1, 0.1)};
}

}  // namespace

// ---- networks --------------------------------------------------------------------------------------

TEST(Fanogan3d, Shapes) {
  Generator g(1), noise(2);
  FAnoGAN3d m(tiny_config(), g);
  NoGradGuard ng;
  Tensor x = real_batch(2, 3);
  Tensor z = m.encoder()(x);
  EXPECT_EQ(z.shape(), (Shape{2, 8}));
  for (double v : z.to_vector()) EXPECT_LT(std::abs(v), 1.0);  // tanh
  Tensor xg = m.generator()(randn({2, 8}, noise));
  EXPECT_EQ(xg.shape(), (Shape{2, 1, 64, 64, 64}));
  for (double v : xg.to_vector()) EXPECT_LE(std::abs(v), 1.0);
  CriticOutput d = m.critic().score_and_features(x);
  EXPECT_EQ(d.score.shape(), (Shape{2, 1}));
  EXPECT_EQ(d.features.shape(), (Shape{2, 32 * 4 * 4 * 4}));
  EXPECT_EQ(m.reconstruct((x + 1.0) * 0.5).shape(), x.shape());
  EXPECT_EQ(m.critic().forward(x).to_vector(), d.score.to_vector());
}

TEST(Fanogan3d, ErrorsNameTheNetworkAndShape) {
  Generator g(1);
  FAnoGAN3d m(tiny_config(), g);
  std::string e = test::error_of([&] { m.critic()(zeros({2, 1, 32, 32, 32})); });
  EXPECT_NE(e.find("Critic3d"), std::string::npos) << e;
  EXPECT_NE(e.find("[2,1,32,32,32]"), std::string::npos) << e;
  e = test::error_of([&] { m.generator()(zeros({2, 9})); });
  EXPECT_NE(e.find("Generator3d"), std::string::npos) << e;
  Fanogan3dConfig bad;
  bad.scale = 3;
  e = test::error_of([&] { FAnoGAN3d(bad, g); });
  EXPECT_NE(e.find("scale"), std::string::npos) << e;
}

// Full size (c = 64, L = 2500), counted from the layer table of domain_spec §4 with LayerNorm
// (one scale and offset per channel) in place of the critic's batch norm.
TEST(Fanogan3d, FullSizeParameterCountsMatchTheLayerTable) {
  const int64_t L = 2500, k4 = 64, k3 = 27;
  auto conv = [](int64_t i, int64_t o, int64_t k, bool bias) { return i * o * k + (bias ? o : 0); };
  const int64_t stack = conv(1, 64, k4, true) + conv(64, 128, k4, true) + conv(128, 256, k4, true) +
                        conv(256, 512, k4, true);
  const int64_t norms = 2 * (128 + 256 + 512);  // LN per-channel γ, β — or BN γ, β
  const int64_t critic = stack + norms + conv(512, 1, k4, true);
  const int64_t encoder = stack + norms + conv(512, L, k4, true);
  const int64_t generator = conv(L, 512, k4, false) + 2 * 512 + conv(512, 256, k3, false) + 2 * 256 +
                            conv(256, 128, k3, false) + 2 * 128 + conv(128, 64, k3, false) + 2 * 64 +
                            conv(64, 1, k3, false);
  const ModelSpec& s = find_model("fanogan3d");
  EXPECT_EQ(s.input_shape, (Shape{1, 64, 64, 64}));
  Generator g(0);
  auto m = s.make(g);
  auto& f = dynamic_cast<FAnoGAN3d&>(*m);
  EXPECT_EQ(f.critic().num_parameters(), critic);
  EXPECT_EQ(f.encoder().num_parameters(), encoder);
  EXPECT_EQ(f.generator().num_parameters(), generator);
  EXPECT_EQ(m->num_parameters(), critic + encoder + generator);
  std::printf("fanogan3d parameters: G %lld, D %lld, E %lld, total %lld\n", (long long)generator, (long long)critic,
              (long long)encoder, (long long)(critic + encoder + generator));
}

// ---- gradient penalty ------------------------------------------------------------------------------

/// The linear critic D(x) = Σ w·x + b has ∇D = w everywhere: GP = λ(‖w‖₂ − 1)², any x̂.
class LinearCritic : public FeatureCritic {
 public:
  explicit LinearCritic(Tensor w) : w_(std::move(w)) {}
  CriticOutput score_and_features(const Tensor& x) override {
    return {sum(x * w_, {1, 2, 3, 4}).reshape({x.size(0), 1}) + 0.5, flatten(x, 1)};
  }

 private:
  Tensor w_;
};

TEST(WganGp, PenaltyOfALinearCriticByHand) {
  // w = (3, 4, 0, 0, ...) / 2: ‖w‖ = 2.5, GP = 10·1.5² = 22.5.
  std::vector<double> wv(8, 0.0);
  wv[0] = 1.5;
  wv[1] = 2.0;
  Tensor w = from_vector(wv, {1, 1, 2, 2, 2}, DType::f64);
  w.requires_grad_();
  LinearCritic d(w);
  Tensor real = uniform64({3, 1, 2, 2, 2}, 1), fake = uniform64({3, 1, 2, 2, 2}, 2), eps = uniform64({3, 1, 1, 1, 1}, 3, 0, 1);
  Tensor gp = train::gradient_penalty(d, real, fake, eps, 10.0);
  EXPECT_EQ(gp.dim(), 0);
  EXPECT_NEAR(gp.item(), 22.5, 1e-12);
  // d GP / d w = λ·2(‖w‖ − 1)·w/‖w‖ = 10·2·1.5/2.5·w = 12·w.
  gp.backward();
  std::vector<double> gw = w.grad().to_vector();
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(gw[i], 12.0 * wv[i], 1e-12) << i;
}

TEST(WganGp, PenaltyMatchesFiniteDifferencesOfTheCritic) {
  const std::vector<Tensor> p = tiny_params();
  TinyCritic d(p);
  const int64_t n = 2;
  Tensor real = uniform64({n, 1, 4, 4, 4}, 21), fake = uniform64({n, 1, 4, 4, 4}, 22),
         eps = uniform64({n, 1, 1, 1, 1}, 23, 0, 1);
  const double lambda = 10.0, h = 1e-6;
  Tensor x_hat = (eps * real + (1.0 - eps) * fake).contiguous();
  double expect = 0;
  for (int64_t s = 0; s < n; ++s) {
    double sq = 0;
    for (int64_t e = 0; e < 64; ++e) {
      double* px = x_hat.data<double>() + s * 64 + e;
      const double orig = *px;
      NoGradGuard ng;
      *px = orig + h;
      const double up = d(x_hat).to_vector()[s];
      *px = orig - h;
      const double dn = d(x_hat).to_vector()[s];
      *px = orig;
      sq += std::pow((up - dn) / (2 * h), 2);
    }
    expect += lambda * std::pow(std::sqrt(sq) - 1.0, 2) / n;
  }
  const double gp = train::gradient_penalty(d, real, fake, eps, lambda).item();
  ASSERT_GT(std::abs(gp), 1e-2) << "degenerate case";
  EXPECT_NEAR(gp, expect, 1e-7 * (1 + std::abs(expect)));
}

TEST(WganGp, PenaltyParameterGradientsMatchFiniteDifferences) {
  Tensor real = uniform64({2, 1, 4, 4, 4}, 31), fake = uniform64({2, 1, 4, 4, 4}, 32),
         eps = uniform64({2, 1, 1, 1, 1}, 33, 0, 1);
  test::expect_gradients(
      [&](const std::vector<Tensor>& v) {
        TinyCritic d(v);
        return train::gradient_penalty(d, real, fake, eps, 10.0);
      },
      tiny_params(), 1e-6, 1e-6, 1e-5);
}

TEST(WganGp, PenaltyRejectsMismatchedShapes) {
  TinyCritic d(tiny_params());
  std::string e = test::error_of([&] {
    train::gradient_penalty(d, uniform64({2, 1, 4, 4, 4}, 1), uniform64({3, 1, 4, 4, 4}, 2), uniform64({2, 1, 1, 1, 1}, 3), 10);
  });
  EXPECT_NE(e.find("gradient_penalty"), std::string::npos) << e;
  EXPECT_NE(e.find("[3,1,4,4,4]"), std::string::npos) << e;
}

// ---- training steps --------------------------------------------------------------------------------

TEST(WganGp, CriticStepRaisesTheWassersteinEstimate) {
  Generator g(1);
  FAnoGAN3d m(tiny_config(), g);
  const Tensor x = real_batch(2, 5);
  train::Adam opt(m.critic().parameters(), train::wgan_adam(1e-3));
  std::vector<Tensor> gen_before;
  for (const Tensor& p : m.generator().parameters()) gen_before.push_back(p.clone());
  Generator draws(7);
  train::CriticStepStats a = train::critic_step(m.generator(), m.critic(), opt, x, 8, draws, 10.0);
  draws.set_state(7, 0);  // the same z and ε: the returned stats are those of the updated critic
  train::CriticStepStats b = train::critic_step(m.generator(), m.critic(), opt, x, 8, draws, 10.0);
  EXPECT_GT(b.wasserstein, a.wasserstein);
  EXPECT_LT(b.loss, a.loss);
  EXPECT_NEAR(a.loss, -a.wasserstein + a.penalty, 1e-5 * (1 + std::abs(a.loss)));
  EXPECT_GT(a.penalty, 0.0);
  // G's parameters untouched (its BN running statistics follow its train mode, as in PyTorch).
  for (size_t i = 0; i < gen_before.size(); ++i)
    EXPECT_EQ(gen_before[i].to_vector(), m.generator().parameters()[i].to_vector()) << i;
  for (auto& [k, p] : m.generator().named_parameters()) EXPECT_FALSE(p.grad().defined()) << k;
}

TEST(WganGp, GeneratorStepLowersItsLossAndLeavesTheCritic) {
  Generator g(1);
  FAnoGAN3d m(tiny_config(), g);
  train::Adam opt(m.generator().parameters(), train::wgan_adam(1e-3));
  const nn::StateDict critic_before = snapshot(m.critic());
  Generator draws(9);
  const double a = train::generator_step(m.generator(), m.critic(), opt, 2, 8, draws);
  draws.set_state(9, 0);
  const double b = train::generator_step(m.generator(), m.critic(), opt, 2, 8, draws);
  EXPECT_LT(b, a);
  expect_identical(critic_before, m.critic());
  for (auto& [k, p] : m.critic().named_parameters()) {
    EXPECT_FALSE(p.grad().defined()) << k;
    EXPECT_TRUE(p.requires_grad()) << k << " left frozen";
  }
}

TEST(WganGp, GanIterationRunsNCriticStepsThenOneGeneratorStep) {
  Generator g(1);
  FAnoGAN3d m(tiny_config(), g);
  train::Adam od(m.critic().parameters(), train::wgan_adam()), og(m.generator().parameters(), train::wgan_adam());
  Generator draws(3);
  std::vector<Tensor> xs;
  for (int i = 0; i < 5; ++i) xs.push_back(real_batch(2, 40 + i));
  train::GanIterationStats s = train::gan_iteration(m.generator(), m.critic(), og, od, xs, 8, draws);
  EXPECT_EQ(od.steps(), 5);
  EXPECT_EQ(og.steps(), 1);
  EXPECT_TRUE(std::isfinite(s.generator_loss));
  EXPECT_NE(test::error_of([&] { train::gan_iteration(m.generator(), m.critic(), og, od, {}, 8, draws); }), "");
}

TEST(WganGp, IzifStepLowersTheEncoderLossWithGAndDFrozen) {
  Generator g(1);
  FAnoGAN3d m(tiny_config(), g);
  const Tensor x = real_batch(2, 6);
  const nn::StateDict gen_before = snapshot(m.generator()), critic_before = snapshot(m.critic());
  train::RMSProp opt(m.encoder().parameters(), {.lr = 1e-3});
  m.train();
  train::IzifStepStats a = train::encoder_izif_step(m.encoder(), m.generator(), m.critic(), opt, x, 1.0);
  // Encoder BN uses batch statistics (train mode): the same batch gives the loss after the update.
  train::IzifStepStats b = train::encoder_izif_step(m.encoder(), m.generator(), m.critic(), opt, x, 1.0);
  EXPECT_LT(b.loss, a.loss);
  EXPECT_NEAR(a.loss, a.img + a.feat, 1e-6 * (1 + a.loss));
  expect_identical(gen_before, m.generator());  // parameters and BN running statistics
  expect_identical(critic_before, m.critic());
  EXPECT_TRUE(m.generator().is_training());  // modes restored
  for (auto& [k, p] : m.generator().named_parameters()) EXPECT_FALSE(p.grad().defined()) << k;
  for (auto& [k, p] : m.critic().named_parameters()) EXPECT_FALSE(p.grad().defined()) << k;
  for (auto& [k, p] : m.encoder().named_parameters()) EXPECT_TRUE(p.grad().defined()) << k;
  // The model's loss(x) is the same izi_f (x given in [0,1]).
  m.generator().eval();
  NoGradGuard ng;
  LossTerms l = m.loss((x + 1.0) * 0.5);
  ASSERT_EQ(l.parts.size(), 2u);
  EXPECT_NEAR(l.total.item(), l.parts[0].second.item() + l.parts[1].second.item(), 1e-6);
}

TEST(Fanogan3d, AnomalyScoreFromThePieces) {
  Generator g(1);
  Fanogan3dConfig c = tiny_config();
  c.kappa = 0.5;
  FAnoGAN3d m(c, g);
  m.eval();
  const Tensor x = real_batch(2, 8);  // network range
  const Tensor x01 = (x + 1.0) * 0.5;
  NoGradGuard ng;
  Tensor score = m.anomaly_score(x01);
  ASSERT_EQ(score.shape(), (Shape{2}));
  Tensor rec = m.reconstruct(x01) * 2.0 - 1.0;
  Tensor fx = m.critic().score_and_features(x).features, fr = m.critic().score_and_features(rec).features;
  std::vector<double> r = (x - rec).to_vector(), ff = (fx - fr).to_vector(), s = score.to_vector();
  const size_t nv = r.size() / 2, nf = ff.size() / 2;
  for (size_t i = 0; i < 2; ++i) {
    double a = 0, b = 0;
    for (size_t k = 0; k < nv; ++k) a += r[i * nv + k] * r[i * nv + k];
    for (size_t k = 0; k < nf; ++k) b += ff[i * nf + k] * ff[i * nf + k];
    EXPECT_NEAR(s[i], a / nv + 0.5 * b / nf, 1e-5 * (1 + s[i])) << i;
  }
  EXPECT_EQ(train::anomaly_score(m.encoder(), m.generator(), m.critic(), x, 0.5).to_vector(), s);
}

TEST(Fanogan3d, SaveLoadGivesIdenticalOutputs) {
  Generator g1(1), g2(2);
  FAnoGAN3d a(tiny_config(), g1), b(tiny_config(), g2);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("uad_fanogan3d_" + std::to_string(::getpid()) + ".safetensors")).string();
  nn::save_state(a, path);
  nn::load_state(b, path);
  std::filesystem::remove(path);
  a.eval();
  b.eval();
  NoGradGuard ng;
  const Tensor x = (real_batch(2, 9) + 1.0) * 0.5;
  EXPECT_EQ(a.reconstruct(x).to_vector(), b.reconstruct(x).to_vector());
  EXPECT_EQ(a.anomaly_score(x).to_vector(), b.anomaly_score(x).to_vector());
}

