// models/baur2018.h: the Baur-2018 family (dae, sae_8, sae_16, dvae, svae).
//   - registry entries and input shapes;
//   - parameter counts at 256×256 against a count computed here from the layer table of the
//     header comment (construction only);
//   - output / latent shapes (one full 256² eval forward; the rest at 64² with the same layers);
//   - the loss formulas recomputed by hand with the same Philox draws;
//   - one Adam step lowers the loss on a fixed batch (same noise seed before and after);
//   - save → load through safetensors gives identical eval outputs;
//   - configuration errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "models/baur2018.h"
#include "models/model.h"
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

const std::vector<std::string> kNames{"dae", "sae_8", "sae_16", "dvae", "svae"};

/// The registry's configuration of `name` at a smaller image size (same layers; only the dense
/// Linear sizes change with S).
Baur2018Config config_of(const std::string& name, int64_t image_size) {
  Baur2018Config c;
  c.image_size = image_size;
  c.latent = name[0] == 'd' ? Baur2018Latent::dense : name == "sae_8" ? Baur2018Latent::spatial8 : Baur2018Latent::spatial16;
  c.variational = name.find("vae") != std::string::npos;
  return c;
}

// ---- the reference parameter count (models/baur2018.h layer table), computed independently ----

int64_t conv_p(int64_t in, int64_t out, int64_t k) { return in * out * k * k + out; }  // (transposed) conv
int64_t bn_p(int64_t c) { return 2 * c; }
int64_t dense_p(int64_t in, int64_t out) { return in * out + out; }

// E1..E4 Conv 5×5 + BN: 1→64→128→256→256.
const int64_t kEncoder = conv_p(1, 64, 5) + bn_p(64) + conv_p(64, 128, 5) + bn_p(128) + conv_p(128, 256, 5) + bn_p(256) +
                         conv_p(256, 256, 5) + bn_p(256);
// Latent conv 5×5 256→64 (μ); a spatial VAE has a second one (log σ).
const int64_t kZConv = conv_p(256, 64, 5);
// Entry ConvT 64→256 + BN, D1..D4 ConvT 5×5 + BN 256→256→128→64→32, out Conv 5×5 32→1.
const int64_t kDecoder = conv_p(64, 256, 5) + bn_p(256) + conv_p(256, 256, 5) + bn_p(256) + conv_p(256, 128, 5) +
                         bn_p(128) + conv_p(128, 64, 5) + bn_p(64) + conv_p(64, 32, 5) + bn_p(32) + conv_p(32, 1, 5);
// Dense: Linear 8·8·64 → 512 (z / μ), Linear 512 → 4096; the dVAE's log σ head 4096 → 512.
const int64_t kDense = dense_p(8 * 8 * 64, 512) + dense_p(512, 8 * 8 * 64);
const int64_t kDenseLogSigma = dense_p(8 * 8 * 64, 512);

const std::map<std::string, int64_t> kExpectedParams = {
    {"dae", kEncoder + kZConv + kDense + kDecoder},
    {"sae_8", kEncoder + kZConv + kDecoder},
    {"sae_16", kEncoder + kZConv + kDecoder},
    {"dvae", kEncoder + kZConv + kDense + kDenseLogSigma + kDecoder},
    {"svae", kEncoder + 2 * kZConv + kDecoder},
};

double part(const LossTerms& l, const std::string& name) {
  for (auto& [n, t] : l.parts)
    if (n == name) return t.item();
  ADD_FAILURE() << "no loss part " << name;
  return NAN;
}

}  // namespace

TEST(BaurRegistry, ListsTheFamilyAt256) {
  for (const std::string& n : kNames) {
    const ModelSpec& s = find_model(n);
    EXPECT_EQ(s.name, n);
    EXPECT_EQ(s.input_shape, (Shape{1, 256, 256})) << n;
    EXPECT_NE(s.source.find("004"), std::string::npos) << n;
  }
  int found = 0;
  for (const ModelSpec& s : registry())
    for (const std::string& n : kNames) found += s.name == n;
  EXPECT_EQ(found, (int)kNames.size());
}

TEST(BaurModels, ParameterCountsMatchTheLayerTable) {
  for (const std::string& n : kNames) {
    Generator g(0);
    auto m = find_model(n).make(g);
    EXPECT_EQ(m->num_parameters(), kExpectedParams.at(n)) << n;
    int64_t buffers = 0;  // running mean and variance of every BN
    for (auto& [bn, t] : m->named_buffers()) buffers += t.numel();
    EXPECT_EQ(buffers, 2 * (64 + 128 + 256 + 256 + 256 + 256 + 128 + 64 + 32)) << n;
  }
}

TEST(BaurModels, FullSizeEvalForwardShape) {
  Generator g(1);
  auto m = find_model("sae_16").make(g);
  auto* b = dynamic_cast<Baur2018Model*>(m.get());
  ASSERT_NE(b, nullptr);
  const Tensor x = brain_batch(1, 256, 3);
  NoGradGuard ng;
  m->eval();
  EXPECT_EQ(b->encode(x).mu.shape(), (Shape{1, 64, 16, 16}));
  EXPECT_EQ(m->reconstruct(x).shape(), (Shape{1, 1, 256, 256}));
}

TEST(BaurModels, OutputAndLatentShapes) {
  const Tensor x = brain_batch(2, 64, 10);
  const std::map<std::string, Shape> z = {{"dae", {2, 512}},        {"sae_8", {2, 64, 2, 2}}, {"sae_16", {2, 64, 4, 4}},
                                          {"dvae", {2, 512}},       {"svae", {2, 64, 4, 4}}};
  for (const std::string& n : kNames) {
    SCOPED_TRACE(n);
    Generator g(1), noise(2);
    auto m = std::make_shared<Baur2018Model>(config_of(n, 64), g);
    m->set_generator(&noise);
    NoGradGuard ng;
    m->train();
    Posterior q = m->encode(x);
    EXPECT_EQ(q.mu.shape(), z.at(n));
    EXPECT_EQ(q.log_sigma.defined(), n.find("vae") != std::string::npos);
    if (q.log_sigma.defined()) {
      EXPECT_EQ(q.log_sigma.shape(), z.at(n));
    }
    EXPECT_EQ(m->reconstruct(x).shape(), x.shape());
    LossTerms l = m->loss(x);
    EXPECT_EQ(l.total.dim(), 0);
    EXPECT_TRUE(std::isfinite(l.total.item()));
    m->eval();
    Tensor y = m->reconstruct(x);
    EXPECT_EQ(y.shape(), x.shape());
    EXPECT_EQ(max_abs_diff(y, m->forward(x)), 0.0);  // eval deterministic (a VAE decodes μ)
  }
}

TEST(BaurLosses, L1SumBatchMeanPlusKLForTheVAEs) {
  const Tensor x = brain_batch(2, 64, 20);
  for (const std::string& n : {std::string("sae_16"), std::string("dvae"), std::string("svae")}) {
    SCOPED_TRACE(n);
    Generator g(1), noise(0);
    auto m = std::make_shared<Baur2018Model>(config_of(n, 64), g);
    m->set_generator(&noise);
    NoGradGuard ng;
    m->train();
    noise.set_state(3, 0);
    LossTerms l = m->loss(x);
    noise.set_state(3, 0);
    Posterior q = m->encode(x);
    Tensor xr = m->decode(q.log_sigma.defined() ? m->sample(q) : q.mu);
    auto va = xr.to_vector(), vb = x.to_vector();
    double l1 = 0;
    for (size_t i = 0; i < va.size(); ++i) l1 += std::abs(va[i] - vb[i]);
    l1 /= 2.0;
    double kl = 0;
    if (q.log_sigma.defined()) {
      auto mu = q.mu.to_vector(), ls = q.log_sigma.to_vector();
      for (size_t i = 0; i < mu.size(); ++i) {
        const double s2 = std::exp(2 * ls[i]);
        kl += 0.5 * (mu[i] * mu[i] + s2 - std::log(s2) - 1.0);
      }
      kl /= 2.0;
      EXPECT_GT(kl, 0.0);
      EXPECT_NEAR(part(l, "kl"), kl, 1e-4 * kl);
    } else {
      EXPECT_EQ(l.parts.size(), 1u);
    }
    EXPECT_NEAR(part(l, "l1"), l1, 1e-5 * l1);
    EXPECT_NEAR(l.total.item(), l1 + kl, 1e-5 * (l1 + kl));
  }
}

TEST(BaurModels, OneAdamStepLowersTheLossOnAFixedBatch) {
  const Tensor x = brain_batch(2, 64, 30);
  for (const std::string& n : kNames) {
    SCOPED_TRACE(n);
    Generator g(1), noise(0);
    auto m = std::make_shared<Baur2018Model>(config_of(n, 64), g);
    m->set_generator(&noise);
    m->train();
    train::Adam adam(m->parameters(), {.lr = 1e-4});
    noise.set_state(42, 0);  // the same ε before and after
    LossTerms before = m->loss(x);
    before.total.backward();
    for (auto& [pn, p] : m->named_parameters()) EXPECT_TRUE(p.grad().defined()) << pn << " gets no gradient";
    adam.step();
    noise.set_state(42, 0);
    NoGradGuard ng;
    EXPECT_LT(m->loss(x).total.item(), before.total.item());
  }
}

TEST(BaurModels, SaveLoadGivesIdenticalEvalOutputs) {
  const Tensor x = brain_batch(2, 64, 31);
  for (const std::string& n : kNames) {
    SCOPED_TRACE(n);
    Generator g1(1), g2(2);
    auto a = std::make_shared<Baur2018Model>(config_of(n, 64), g1);
    NoGradGuard ng;
    a->train();
    a->loss(x);  // moves the BN running statistics away from 0/1
    TempFile f("baur", n + ".safetensors");
    nn::save_state(*a, f.path);
    auto b = std::make_shared<Baur2018Model>(config_of(n, 64), g2);
    EXPECT_GT(max_abs_diff(a->parameters().front(), b->parameters().front()), 1e-3);
    nn::load_state(*b, f.path);
    a->eval();
    b->eval();
    EXPECT_EQ(max_abs_diff(a->reconstruct(x), b->reconstruct(x)), 0.0);
  }
}

TEST(BaurModels, ConfigurationErrors) {
  Baur2018Config c;
  c.image_size = 100;
  EXPECT_NE(test::error_of([&] { c.validate(); }).find("image_size 100"), std::string::npos);
  c = Baur2018Config{};
  c.latent = Baur2018Latent::spatial8;
  c.image_size = 48;  // 48 / 16 = 3: no room for the stride-2 latent conv
  EXPECT_NE(test::error_of([&] { c.validate(); }).find("multiple of 32"), std::string::npos);
  c = Baur2018Config{};
  c.decoder_channels = {256, 128};
  EXPECT_NE(test::error_of([&] { c.validate(); }).find("decoder_channels"), std::string::npos);
  Generator g(0);
  auto m = std::make_shared<Baur2018Model>(config_of("sae_16", 64), g);
  NoGradGuard ng;
  std::string e = test::error_of([&] { m->reconstruct(rand({2, 1, 32, 32}, g)); });
  EXPECT_NE(e.find("Baur2018SpatialAE::encode: expected x [N,1,64,64]"), std::string::npos) << e;
  e = test::error_of([&] { m->decode(rand({2, 64, 2, 2}, g)); });
  EXPECT_NE(e.find("expected z [N,64,4,4]"), std::string::npos) << e;
  e = test::error_of([&] { m->sample({rand({2, 64, 2, 2}, g), Tensor()}); });
  EXPECT_NE(e.find("sample"), std::string::npos) << e;
}
