// models/mood_vae.h: the MOOD VAE of 002.
//   - registry entry and input shape;
//   - parameter count at 256×256 against a count computed here from the layer table of the
//     header comment (domain_spec §5), and one full-size eval forward;
//   - output / latent shapes, the two loss reductions recomputed by hand with the same draws
//     (at 32×32: same layers, E5/D1 kernel 2 instead of 16);
//   - one Adam step lowers the loss on a fixed batch (same noise seed before and after);
//   - save → load through safetensors gives identical eval outputs;
//   - configuration and input errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "models/model.h"
#include "models/mood_vae.h"
#include "tensor/ops.h"
#include "tests/error_of.h"
#include "tests/model_test_util.h"
#include "train/optim.h"

using namespace uad;
using namespace uad::models;
using uad::test::max_abs_diff;
using uad::test::max_abs;
using uad::test::TempFile;
using uad::test::brain_batch;

namespace {

MoodVAEConfig small(MoodLoss loss = MoodLoss::elbo) {
  MoodVAEConfig c = loss == MoodLoss::elbo ? MoodVAEConfig{} : MoodVAEConfig::reference_loss();
  c.image_size = 32;
  return c;
}

/// Bias-free (transposed) convolution: in·out·k².
int64_t conv_p(int64_t in, int64_t out, int64_t k) { return in * out * k * k; }

}  // namespace

TEST(MoodRegistry, ListsTheModelAt256) {
  const ModelSpec& s = find_model("mood_vae");
  EXPECT_EQ(s.input_shape, (Shape{1, 256, 256}));
  EXPECT_NE(s.source.find("002"), std::string::npos);
}

TEST(MoodModel, FullSizeParameterCountAndForward) {
  // domain_spec §5 table: E1-E4 3×3 1→16→64→256→1024, E5 16×16 1024→512; D1 16×16 256→1024,
  // D2-D4 4×4 1024→256→64→16, D5 4×4 16→1; no bias, no norm.
  const int64_t want = conv_p(1, 16, 3) + conv_p(16, 64, 3) + conv_p(64, 256, 3) + conv_p(256, 1024, 3) +
                       conv_p(1024, 512, 16) + conv_p(256, 1024, 16) + conv_p(1024, 256, 4) + conv_p(256, 64, 4) +
                       conv_p(64, 16, 4) + conv_p(16, 1, 4);
  Generator g(0);
  auto m = find_model("mood_vae").make(g);
  EXPECT_EQ(m->num_parameters(), want);
  EXPECT_TRUE(m->named_buffers().empty());
  auto* v = dynamic_cast<MoodVAE*>(m.get());
  ASSERT_NE(v, nullptr);
  const Tensor x = brain_batch(1, 256, 1);
  NoGradGuard ng;
  m->eval();
  Posterior q = v->encode(x);
  EXPECT_EQ(q.mu.shape(), (Shape{1, 256, 1, 1}));
  EXPECT_EQ(q.log_sigma.shape(), (Shape{1, 256, 1, 1}));
  EXPECT_EQ(m->reconstruct(x).shape(), (Shape{1, 1, 256, 256}));
}

TEST(MoodModel, ShapesAndEvalDecodesMu) {
  Generator g(1), noise(2);
  auto m = std::make_shared<MoodVAE>(small(), g);
  m->set_generator(&noise);
  const Tensor x = brain_batch(2, 32, 3);
  NoGradGuard ng;
  m->train();
  Posterior q = m->encode(x);
  EXPECT_EQ(q.mu.shape(), (Shape{2, 256, 1, 1}));
  Tensor yt1 = m->reconstruct(x), yt2 = m->reconstruct(x);
  EXPECT_EQ(yt1.shape(), x.shape());
  EXPECT_GT(max_abs_diff(yt1, yt2), 0.0);  // training samples z
  m->eval();
  Tensor y = m->reconstruct(x);
  EXPECT_EQ(max_abs_diff(y, m->decode(m->encode(x).mu)), 0.0);
  EXPECT_EQ(max_abs_diff(y, m->forward(x)), 0.0);
  m->set_mc_sampling(true);
  EXPECT_GT(max_abs_diff(y, m->reconstruct(x)), 0.0);
}

TEST(MoodLosses, ElboAndReferenceReductionsByHand) {
  const Tensor x = brain_batch(2, 32, 4);
  for (MoodLoss kind : {MoodLoss::elbo, MoodLoss::reference}) {
    SCOPED_TRACE(kind == MoodLoss::elbo ? "elbo" : "reference");
    Generator g(1), noise(0);
    auto m = std::make_shared<MoodVAE>(small(kind), g);
    m->set_generator(&noise);
    NoGradGuard ng;
    m->train();
    noise.set_state(5, 0);
    LossTerms l = m->loss(x);
    noise.set_state(5, 0);
    Posterior q = m->encode(x);
    Tensor xr = m->decode(m->sample(q));
    auto va = xr.to_vector(), vb = x.to_vector();
    double l1 = 0;
    for (size_t i = 0; i < va.size(); ++i) l1 += std::abs(va[i] - vb[i]);
    auto mu = q.mu.to_vector(), ls = q.log_sigma.to_vector();
    double kl = 0;
    for (size_t i = 0; i < mu.size(); ++i) {
      const double s2 = std::exp(2 * ls[i]);
      kl += 0.5 * (mu[i] * mu[i] + s2 - std::log(s2) - 1.0);
    }
    double beta = 1.0;
    if (kind == MoodLoss::elbo) {
      l1 /= 2.0;
      kl /= 2.0;
    } else {
      l1 /= (double)va.size();
      kl /= (double)mu.size();
      beta = 0.01;
    }
    EXPECT_GT(kl, 0.0);
    EXPECT_NEAR(l.parts.at(0).second.item(), l1, 1e-5 * l1);
    EXPECT_NEAR(l.parts.at(1).second.item(), kl, 1e-4 * kl);
    EXPECT_NEAR(l.total.item(), l1 + beta * kl, 1e-5 * (l1 + beta * kl));
  }
}

TEST(MoodModel, OneAdamStepLowersTheLossOnAFixedBatch) {
  const Tensor x = brain_batch(2, 32, 30);
  Generator g(1), noise(0);
  auto m = std::make_shared<MoodVAE>(small(), g);
  m->set_generator(&noise);
  m->train();
  train::Adam adam(m->parameters(), {.lr = 1e-4});
  noise.set_state(42, 0);
  LossTerms before = m->loss(x);
  before.total.backward();
  for (auto& [n, p] : m->named_parameters()) EXPECT_TRUE(p.grad().defined()) << n << " gets no gradient";
  adam.step();
  noise.set_state(42, 0);
  NoGradGuard ng;
  EXPECT_LT(m->loss(x).total.item(), before.total.item());
}

TEST(MoodModel, SaveLoadGivesIdenticalEvalOutputs) {
  const Tensor x = brain_batch(2, 32, 31);
  Generator g1(1), g2(2);
  auto a = std::make_shared<MoodVAE>(small(), g1);
  auto b = std::make_shared<MoodVAE>(small(), g2);
  TempFile f("mood", "mood_vae.safetensors");
  nn::save_state(*a, f.path);
  NoGradGuard ng;
  EXPECT_GT(max_abs_diff(a->parameters().front(), b->parameters().front()), 1e-3);
  nn::load_state(*b, f.path);
  a->eval();
  b->eval();
  EXPECT_EQ(max_abs_diff(a->reconstruct(x), b->reconstruct(x)), 0.0);
}

TEST(MoodModel, ConfigurationAndInputErrors) {
  MoodVAEConfig c;
  c.image_size = 16;  // 16 / 2^4 = 1: the image has perished
  EXPECT_NE(test::error_of([&] { c.validate(); }).find("image_size 16"), std::string::npos);
  c = MoodVAEConfig{};
  c.zdim = 0;
  EXPECT_NE(test::error_of([&] { c.validate(); }).find("zdim"), std::string::npos);
  Generator g(0);
  auto m = std::make_shared<MoodVAE>(small(), g);
  NoGradGuard ng;
  std::string e = test::error_of([&] { m->reconstruct(rand({2, 1, 64, 64}, g)); });
  EXPECT_NE(e.find("MoodVAE::encode: expected x [N,1,32,32]"), std::string::npos) << e;
  e = test::error_of([&] { m->decode(rand({2, 128, 1, 1}, g)); });
  EXPECT_NE(e.find("expected z [N,256,1,1]"), std::string::npos) << e;
}
