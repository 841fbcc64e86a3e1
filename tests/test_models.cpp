// models/: the unified 2-D family (models/unified.h) and the registry (models/model.h).
//   - parameter counts against a count computed here from the layer table of domain_spec §1.2;
//   - output and latent shapes; the loss formulas recomputed from the model's own pieces with
//     the same Philox draws (VAE KL, Context AE/VAE masking, Constrained AE latent term);
//   - one Adam step lowers the loss on a fixed batch (same noise seed before and after);
//   - save → load through safetensors gives identical eval outputs;
//   - ae_dense equals bench::unified_ae (the functional twin checked against PyTorch) with the
//     same weights, in eval and in train mode (dropout and BN statistics), gradients included;
//   - context masks: placement inside the nonzero bounding box, per sample, the [SD] quirk;
//   - unknown model names list the valid ones.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <map>

#include "bench/unified_ae.h"
#include "models/model.h"
#include "models/unified.h"
#include "tensor/ops.h"
#include "tests/error_of.h"
#include "tests/model_test_util.h"
#include "train/optim.h"

using namespace uad;
using namespace uad::models;
using uad::test::max_abs_diff;
using uad::test::max_abs;
using uad::test::TempFile;

namespace {

// ---- helpers -----------------------------------------------------------------------------------


/// A batch of brain-like slices [n,1,128,128]: an ellipse (intensity 0.5–0.95, brighter towards
/// its centre) on a zero background, shifted and sized per sample — so the nonzero bounding box
/// differs between samples.
Tensor brain_batch(int64_t n, uint64_t seed) {
  Generator g(seed);
  const int64_t s = 128;
  Tensor c = arange(s);
  Tensor yy = c.reshape({1, 1, s, 1}), xx = c.reshape({1, 1, 1, s});
  Tensor p = rand({n, 5, 1, 1}, g);
  Tensor cy = p.slice(1, 0, 1) * 20.0 + 54.0, cx = p.slice(1, 1, 2) * 20.0 + 54.0;
  Tensor ay = p.slice(1, 2, 3) * 15.0 + 35.0, ax = p.slice(1, 3, 4) * 15.0 + 30.0;
  Tensor r2 = square((yy - cy) / ay) + square((xx - cx) / ax);
  Tensor tex = 0.5 + 0.35 * exp(neg(r2) * 2.0) + p.slice(1, 4, 5) * 0.1;
  return where(lt(r2, ones({1})), tex, zeros({1})).contiguous();
}

/// [n,1,s,s] with ones inside the inclusive box rows [r0,r1] × cols [c0,c1] of each sample.
Tensor box_image(int64_t s, const std::vector<std::array<int64_t, 4>>& boxes) {
  const int64_t n = (int64_t)boxes.size();
  std::vector<double> v((size_t)(n * s * s), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    auto [r0, r1, c0, c1] = boxes[(size_t)i];
    for (int64_t r = r0; r <= r1; ++r)
      for (int64_t q = c0; q <= c1; ++q) v[(size_t)((i * s + r) * s + q)] = 1.0;
  }
  return from_vector(v, {n, 1, s, s});
}

UnifiedModel& unified(ReconstructionModel& m) {
  auto* u = dynamic_cast<UnifiedModel*>(&m);
  if (!u) throw std::runtime_error("not a unified model");
  return *u;
}

// ---- the reference parameter count (domain_spec §1.2 table), computed independently ----------

int64_t conv_p(int64_t in, int64_t out, int64_t k) { return in * out * k * k + out; }  // weight + bias
int64_t bn_p(int64_t c) { return 2 * c; }                                             // γ, β
int64_t dense_p(int64_t in, int64_t out) { return in * out + out; }

// E1..E4: Conv 5×5 + BN, channels 1→32→64→128→128.
const int64_t kEncoder = conv_p(1, 32, 5) + bn_p(32) + conv_p(32, 64, 5) + bn_p(64) + conv_p(64, 128, 5) + bn_p(128) +
                         conv_p(128, 128, 5) + bn_p(128);
// D0 BN, D1..D4: ConvT 5×5 + BN, 128→128→64→32→32, out Conv 1×1 32→1.
const int64_t kDecoder = bn_p(128) + conv_p(128, 128, 5) + bn_p(128) + conv_p(128, 64, 5) + bn_p(64) + conv_p(64, 32, 5) +
                         bn_p(32) + conv_p(32, 32, 5) + bn_p(32) + conv_p(32, 1, 1);
// Conv1×1 128→16, Dense 1024→128 (z), Dense 128→1024, Conv1×1 16→128.
const int64_t kDense = conv_p(128, 16, 1) + dense_p(16 * 8 * 8, 128) + dense_p(128, 16 * 8 * 8) + conv_p(16, 128, 1);
const int64_t kLogSigmaHead = dense_p(16 * 8 * 8, 128);

const std::map<std::string, int64_t> kExpectedParams = {
    {"ae_dense", kEncoder + kDense + kDecoder},
    {"ae_spatial", kEncoder + kDecoder},
    {"vae", kEncoder + kDense + kLogSigmaHead + kDecoder},
    {"context_ae", kEncoder + kDense + kDecoder},
    {"context_vae", kEncoder + kDense + kLogSigmaHead + kDecoder},
    {"constrained_ae", kEncoder + kDense + kDecoder},
};

/// The registry entries of the unified family (the registry holds other families too).
std::vector<ModelSpec> unified_specs() {
  std::vector<ModelSpec> r;
  for (const ModelSpec& s : registry())
    if (kExpectedParams.count(s.name)) r.push_back(s);
  return r;
}

}  // namespace

// ---- registry ----------------------------------------------------------------------------------

TEST(Registry, ListsTheUnifiedFamilyFirstAndEveryNameOnce) {
  std::vector<std::string> names;
  for (const ModelSpec& s : registry()) {
    EXPECT_FALSE(s.source.empty()) << s.name;
    EXPECT_EQ(&find_model(s.name), &s) << s.name << " is not unique";
    names.push_back(s.name);
  }
  ASSERT_GE(names.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 6),
            (std::vector<std::string>{"ae_dense", "ae_spatial", "vae", "context_ae", "context_vae", "constrained_ae"}));
  for (const ModelSpec& s : unified_specs()) EXPECT_EQ(s.input_shape, (Shape{1, 128, 128})) << s.name;
}

TEST(Registry, UnknownNameListsTheValidNames) {
  const std::string e = test::error_of([] { find_model("vea"); });
  EXPECT_NE(e.find("unknown model 'vea'"), std::string::npos) << e;
  for (const ModelSpec& s : registry()) EXPECT_NE(e.find(s.name), std::string::npos) << e;
}

// ---- architecture --------------------------------------------------------------------------------

TEST(Models, ParameterCountsMatchTheReferenceArchitecture) {
  ASSERT_EQ(kExpectedParams.size(), unified_specs().size());
  for (const ModelSpec& s : unified_specs()) {
    Generator g(0);
    auto m = s.make(g);
    EXPECT_EQ(m->num_parameters(), kExpectedParams.at(s.name)) << s.name;
    // Every BN keeps running mean and variance: 2·C buffer elements per BN layer.
    int64_t buffers = 0;
    for (auto& [n, t] : m->named_buffers()) buffers += t.numel();
    EXPECT_EQ(buffers, 2 * (32 + 64 + 128 + 128 + 128 + 128 + 64 + 32 + 32)) << s.name;
  }
}

TEST(Models, OutputAndLatentShapes) {
  const Tensor x = brain_batch(2, 10);
  for (const ModelSpec& s : unified_specs()) {
    SCOPED_TRACE(s.name);
    Generator g(1), noise(2);
    auto m = s.make(g);
    unified(*m).set_generator(&noise);
    NoGradGuard ng;
    m->train();
    EXPECT_EQ(m->reconstruct(x).shape(), x.shape());
    LossTerms l = m->loss(x);
    EXPECT_EQ(l.total.dim(), 0);
    EXPECT_TRUE(std::isfinite(l.total.item()));
    EXPECT_FALSE(l.parts.empty());
    for (auto& [n, t] : l.parts) EXPECT_EQ(t.dim(), 0) << n;
    m->eval();
    Tensor y = m->reconstruct(x);
    EXPECT_EQ(y.shape(), x.shape());
    EXPECT_EQ(max_abs_diff(y, m->forward(x)), 0.0);  // eval is deterministic; forward = reconstruct
  }
  Generator g(1);
  UnifiedConfig cfg;
  NoGradGuard ng;
  auto dense = std::make_shared<UnifiedAE>(cfg, false, g);
  auto spatial = std::make_shared<UnifiedAE>(cfg, true, g);
  auto vae = std::make_shared<UnifiedVAE>(cfg, g);
  EXPECT_EQ(dense->encode(x).shape(), (Shape{2, 128}));
  EXPECT_EQ(spatial->encode(x).shape(), (Shape{2, 128, 8, 8}));
  Posterior q = vae->encode(x);
  EXPECT_EQ(q.mu.shape(), (Shape{2, 128}));
  EXPECT_EQ(q.log_sigma.shape(), (Shape{2, 128}));
}

TEST(Models, ConfigurationRules) {
  UnifiedConfig c64;
  c64.image_size = 64;
  EXPECT_EQ(c64.levels(), 3);
  EXPECT_EQ(c64.encoder_channels(), (std::vector<int64_t>{1, 32, 64, 128}));
  EXPECT_EQ(c64.decoder_channels(), (std::vector<int64_t>{128, 128, 64, 32}));
  UnifiedConfig c128;
  EXPECT_EQ(c128.levels(), 4);
  EXPECT_EQ(c128.encoder_channels(), (std::vector<int64_t>{1, 32, 64, 128, 128}));
  EXPECT_EQ(c128.decoder_channels(), (std::vector<int64_t>{128, 128, 64, 32, 32}));
  EXPECT_EQ(c128.mid_channels(), 16);
  EXPECT_EQ(c128.flat_features(), 1024);
  Generator g(0);
  auto m = std::make_shared<UnifiedAE>(c64, false, g);
  NoGradGuard ng;
  EXPECT_EQ(m->reconstruct(rand({2, 1, 64, 64}, g)).shape(), (Shape{2, 1, 64, 64}));

  // Keras LayerNormalization([1,2]) variant ([SD] use_batchnorm=False): γ, β of shape [H,W].
  UnifiedConfig ln = c64;
  ln.norm = UnifiedNorm::layer;
  auto lm = std::make_shared<UnifiedAE>(ln, false, g);
  const int64_t ln_params = conv_p(1, 32, 5) + conv_p(32, 64, 5) + conv_p(64, 128, 5) + 2 * (32 * 32 + 16 * 16 + 8 * 8) +
                            conv_p(128, 16, 1) + dense_p(1024, 128) + dense_p(128, 1024) + conv_p(16, 128, 1) + 2 * 8 * 8 +
                            conv_p(128, 128, 5) + conv_p(128, 64, 5) + conv_p(64, 32, 5) + 2 * (16 * 16 + 32 * 32 + 64 * 64) +
                            conv_p(32, 1, 1);
  EXPECT_EQ(lm->num_parameters(), ln_params);
  EXPECT_TRUE(lm->named_buffers().empty());
  EXPECT_EQ(lm->reconstruct(rand({2, 1, 64, 64}, g)).shape(), (Shape{2, 1, 64, 64}));

  UnifiedConfig bad;
  bad.image_size = 100;
  EXPECT_NE(test::error_of([&] { bad.validate(); }).find("image_size 100"), std::string::npos);
  std::string e = test::error_of([&] { m->reconstruct(rand({2, 1, 128, 128}, g)); });
  EXPECT_NE(e.find("UnifiedAE::encode: expected x [N,1,64,64]"), std::string::npos) << e;
  EXPECT_NE(e.find("[2,1,128,128]"), std::string::npos) << e;
}

TEST(Models, MonteCarloDropoutOfTheBayesianAE) {
  Generator g(4), noise(0);
  auto m = find_model("ae_dense").make(g);
  unified(*m).set_generator(&noise);
  const Tensor x = brain_batch(1, 16);
  NoGradGuard ng;
  m->eval();
  Tensor y = m->reconstruct(x);
  EXPECT_EQ(nn::set_mc_dropout(*m, true), 1);  // the bottleneck's one Dropout (z and decoder)
  Tensor y1 = m->reconstruct(x), y2 = m->reconstruct(x);
  EXPECT_GT(max_abs_diff(y1, y2), 0.0);
  EXPECT_GT(max_abs_diff(y, y1), 0.0);
  nn::set_mc_dropout(*m, false);
  EXPECT_EQ(max_abs_diff(y, m->reconstruct(x)), 0.0);
}

TEST(Models, FrozenBatchNormQuirkUsesRunningStatisticsInTraining) {
  UnifiedConfig cfg;
  cfg.bn.frozen_stats = true;  // [SD]: BN always in inference mode
  cfg.dropout = 0.0;
  Generator g(3);
  auto m = std::make_shared<UnifiedAE>(cfg, false, g);
  const Tensor x = brain_batch(2, 15);
  NoGradGuard ng;
  m->train();
  Tensor yt = m->reconstruct(x);
  m->eval();
  EXPECT_EQ(max_abs_diff(yt, m->reconstruct(x)), 0.0);
}

// ---- loss formulas, recomputed from the model's pieces with the same Philox draws --------------

namespace {

/// Σ|a − b| / N (L1 summed per sample, averaged over the batch) computed by hand.
double l1_sum_batch_mean(const Tensor& a, const Tensor& b) {
  auto va = a.to_vector(), vb = b.to_vector();
  double s = 0;
  for (size_t i = 0; i < va.size(); ++i) s += std::abs(va[i] - vb[i]);
  return s / (double)a.size(0);
}

/// mean (a − b)² over all elements.
double mse_by_hand(const Tensor& a, const Tensor& b) {
  auto va = a.to_vector(), vb = b.to_vector();
  double s = 0;
  for (size_t i = 0; i < va.size(); ++i) s += (va[i] - vb[i]) * (va[i] - vb[i]);
  return s / (double)va.size();
}

/// ½Σ(μ² + σ² − log σ² − 1) / N with σ = exp(log σ) ([SD] trainers/VAE.py).
double kl_by_hand(const Posterior& q) {
  auto mu = q.mu.to_vector(), ls = q.log_sigma.to_vector();
  double s = 0;
  for (size_t i = 0; i < mu.size(); ++i) {
    const double sigma = std::exp(ls[i]);
    s += 0.5 * (mu[i] * mu[i] + sigma * sigma - std::log(sigma * sigma) - 1.0);
  }
  return s / (double)q.mu.size(0);
}

double part(const LossTerms& l, const std::string& name) {
  for (auto& [n, t] : l.parts)
    if (n == name) return t.item();
  ADD_FAILURE() << "no loss part " << name;
  return NAN;
}

}  // namespace

TEST(Losses, AEIsL1SummedOverPixelsAveragedOverTheBatch) {
  Generator g(1), noise(0);
  auto m = std::make_shared<UnifiedAE>(UnifiedConfig{}, true, g);
  m->set_generator(&noise);
  const Tensor x = brain_batch(2, 20);
  NoGradGuard ng;
  noise.set_state(3, 0);
  LossTerms l = m->loss(x);
  noise.set_state(3, 0);
  const double want = l1_sum_batch_mean(m->reconstruct(x), x);
  EXPECT_NEAR(l.total.item(), want, 1e-5 * want);
  EXPECT_NEAR(part(l, "l1"), want, 1e-5 * want);
  noise.set_state(4, 0);  // another dropout mask on z: another loss
  EXPECT_GT(std::abs(m->loss(x).total.item() - want), 1e-6 * want);
}

TEST(Losses, VAEIsL1SumPlusKLOfLogSigma) {
  Generator g(1), noise(0);
  auto vae = std::make_shared<UnifiedVAE>(UnifiedConfig{}, g);
  vae->set_generator(&noise);
  const Tensor x = brain_batch(2, 21);
  NoGradGuard ng;
  vae->train();
  noise.set_state(3, 0);
  LossTerms l = vae->loss(x);
  noise.set_state(3, 0);  // the same draws: dropout(μ), dropout(log σ), ε, dropout(decoder)
  Posterior q = vae->encode(x);
  Tensor z = vae->sample(q);
  const double l1 = l1_sum_batch_mean(vae->decode(z), x), kl = kl_by_hand(q);
  EXPECT_GT(kl, 0.0);
  EXPECT_NEAR(part(l, "l1"), l1, 1e-5 * l1);
  EXPECT_NEAR(part(l, "kl"), kl, 1e-4 * kl);
  EXPECT_NEAR(l.total.item(), l1 + kl, 1e-5 * (l1 + kl));
  // z = μ + ε·σ: (z − μ)/σ is the standard normal ε (256 values).
  auto zv = z.to_vector(), mu = q.mu.to_vector(), ls = q.log_sigma.to_vector();
  double m1 = 0, m2 = 0;
  for (size_t i = 0; i < zv.size(); ++i) {
    const double e = (zv[i] - mu[i]) / std::exp(ls[i]);
    m1 += e / zv.size(), m2 += e * e / zv.size();
  }
  EXPECT_LT(std::abs(m1), 0.25);
  EXPECT_NEAR(m2, 1.0, 0.3);
  // Training reconstructions sample; eval decodes μ (deterministic) unless MC sampling is on.
  EXPECT_GT(max_abs_diff(vae->reconstruct(x), vae->reconstruct(x)), 0.0);
  vae->eval();
  Tensor y = vae->reconstruct(x);
  EXPECT_EQ(max_abs_diff(y, vae->decode(vae->encode(x).mu)), 0.0);
  vae->set_mc_sampling(true);
  EXPECT_GT(max_abs_diff(y, vae->reconstruct(x)), 0.0);
}

TEST(Losses, ContextAEInpaintsTheMaskedInputInTrainingOnly) {
  Generator g(1), noise(0);
  auto m = std::make_shared<ContextAE>(UnifiedConfig{}, g);
  m->set_generator(&noise);
  const Tensor x = brain_batch(2, 22);
  NoGradGuard ng;
  noise.set_state(3, 0);
  LossTerms l = m->loss(x);
  noise.set_state(3, 0);  // the mask is drawn first, then the dropout masks
  Tensor mask = context_mask(x, noise);
  const double want = l1_sum_batch_mean(m->reconstruct(x * mask), x);
  EXPECT_NEAR(l.total.item(), want, 1e-5 * want);
  for (int64_t i = 0; i < 2; ++i) EXPECT_LT(sum(mask.slice(0, i, i + 1)).item(), 128.0 * 128.0 - 399.0);
  m->eval();  // validation: no mask ([SD] feeds x_ce = x)
  const double plain = l1_sum_batch_mean(m->reconstruct(x), x);
  EXPECT_NEAR(m->loss(x).total.item(), plain, 1e-5 * plain);
}

TEST(Losses, ContextVAEAddsTheMaskedBranchDecodedFromMu) {
  for (bool quirk : {false, true}) {
    SCOPED_TRACE(quirk ? "target x_ce ([SD] quirk)" : "target x");
    Generator g(1), noise(0);
    auto m = std::make_shared<ContextVAE>(UnifiedConfig{}, g, ContextMaskOptions{}, quirk);
    m->set_generator(&noise);
    const Tensor x = brain_batch(2, 23);
    NoGradGuard ng;
    noise.set_state(3, 0);
    LossTerms l = m->loss(x);
    noise.set_state(3, 0);
    Posterior q = m->encode(x);
    const double l1 = l1_sum_batch_mean(m->decode(m->sample(q)), x), kl = kl_by_hand(q);
    Tensor x_ce = x * context_mask(x, noise);
    const double l1_ce = l1_sum_batch_mean(m->decode(m->encode_mu(x_ce)), quirk ? x_ce : x);
    EXPECT_NEAR(part(l, "l1"), l1, 1e-5 * l1);
    EXPECT_NEAR(part(l, "kl"), kl, 1e-4 * kl);
    EXPECT_NEAR(part(l, "l1_ce"), l1_ce, 1e-5 * l1_ce);
    EXPECT_NEAR(l.total.item(), l1 + kl + l1_ce, 1e-5 * (l1 + kl + l1_ce));
  }
}

TEST(Losses, ConstrainedAEIsPixelMSEPlusRhoLatentMSE) {
  for (double rho : {1.0, 2.5}) {
    Generator g(1), noise(0);
    auto m = std::make_shared<ConstrainedAE>(UnifiedConfig{}, g, rho);
    m->set_generator(&noise);
    const Tensor x = brain_batch(2, 24);
    NoGradGuard ng;
    noise.set_state(3, 0);
    LossTerms l = m->loss(x);
    noise.set_state(3, 0);
    Tensor z = m->encode(x);
    Tensor x_hat = m->decode(z);
    Tensor z_rec = m->encode(x_hat);
    const double mse = mse_by_hand(x_hat, x), mse_z = mse_by_hand(z, z_rec);
    EXPECT_GT(mse_z, 0.0);
    EXPECT_NEAR(part(l, "mse"), mse, 1e-5 * mse);
    EXPECT_NEAR(part(l, "mse_z"), mse_z, 1e-4 * mse_z);
    EXPECT_NEAR(l.total.item(), mse + rho * mse_z, 1e-5 * (mse + rho * mse_z));
  }
}

// ---- training and checkpoints ------------------------------------------------------------------

TEST(Models, OneAdamStepLowersTheLossOnAFixedBatch) {
  const Tensor x = brain_batch(2, 30);
  for (const ModelSpec& s : unified_specs()) {
    SCOPED_TRACE(s.name);
    Generator g(1), noise(0);
    auto m = s.make(g);
    unified(*m).set_generator(&noise);
    m->train();
    train::Adam adam(m->parameters(), {.lr = 1e-4, .beta1 = 0.5});
    noise.set_state(42, 0);  // the same dropout masks, ε and context masks before and after
    LossTerms before = m->loss(x);
    before.total.backward();
    for (auto& [n, p] : m->named_parameters()) EXPECT_TRUE(p.grad().defined()) << n << " gets no gradient";
    adam.step();
    noise.set_state(42, 0);
    NoGradGuard ng;
    const double after = m->loss(x).total.item();
    EXPECT_LT(after, before.total.item());
  }
}

TEST(Models, SaveLoadGivesIdenticalEvalOutputs) {
  const Tensor x = brain_batch(2, 31);
  for (const ModelSpec& s : unified_specs()) {
    SCOPED_TRACE(s.name);
    Generator g1(1), g2(2);
    auto a = s.make(g1);
    NoGradGuard ng;
    a->train();
    a->loss(x);  // moves the BN running statistics away from 0/1
    TempFile f("models", s.name + ".safetensors");
    nn::save_state(*a, f.path);
    auto b = s.make(g2);
    const Tensor w = b->parameters().front();
    EXPECT_GT(max_abs_diff(a->parameters().front(), w), 1e-3);  // differently initialised before loading
    nn::load_state(*b, f.path);
    a->eval();
    b->eval();
    const Tensor x1 = x.slice(0, 0, 1);
    EXPECT_EQ(max_abs_diff(a->reconstruct(x1), b->reconstruct(x1)), 0.0);
  }
}

// ---- ae_dense == bench::unified_ae (the functional twin checked against PyTorch) ---------------

namespace {

/// bench::UnifiedAEParams names → the module's state-dict names.
std::map<std::string, std::string> bench_to_module_names() {
  std::map<std::string, std::string> m;
  auto layer = [&](const std::string& b, const std::string& mod) {
    m[b + "_w"] = mod + ".weight";
    m[b + "_b"] = mod + ".bias";
  };
  auto bn = [&](const std::string& b, const std::string& mod) {
    m[b + "_bn_w"] = mod + ".weight";
    m[b + "_bn_b"] = mod + ".bias";
    m[b + "_bn_rm"] = mod + ".running_mean";
    m[b + "_bn_rv"] = mod + ".running_var";
  };
  for (int i = 0; i < 4; ++i) {
    const std::string e = "enc" + std::to_string(i), d = "dec" + std::to_string(i);
    layer(e, "encoder." + std::to_string(i) + ".0");
    bn(e, "encoder." + std::to_string(i) + ".1");
    layer(d, "decoder." + std::to_string(i + 2) + ".0");
    bn(d, "decoder." + std::to_string(i + 2) + ".1");
  }
  layer("mid", "bottleneck.conv_in");
  layer("fcz", "bottleneck.fc_z");
  layer("fcd", "bottleneck.fc_dec");
  layer("mid2", "bottleneck.conv_out");
  bn("d0", "decoder.0");
  layer("out", "decoder.6");
  return m;
}

}  // namespace

TEST(Models, DenseAEEqualsBenchUnifiedAEWithTheSameWeights) {
  bench::UnifiedAEParams p = bench::init_unified_ae(7);
  Generator pg(3);
  for (auto& [name, t] : p.named_tensors()) {  // BN γ/β and running buffers away from 1/0
    if (name.ends_with("_bn_w") || name.ends_with("_bn_rv")) nn::copy_into(t, rand(t.shape(), pg) * 0.8 + 0.6);
    if (name.ends_with("_bn_b") || name.ends_with("_bn_rm")) nn::copy_into(t, rand(t.shape(), pg) * 0.4 - 0.2);
  }
  Generator init(9), noise(0);
  auto m = find_model("ae_dense").make(init);
  unified(*m).set_generator(&noise);
  const auto names = bench_to_module_names();
  nn::StateDict sd;
  for (auto& [name, t] : p.named_tensors()) sd[names.at(name)] = t.detach();
  m->load_state_dict(sd);  // strict: the mapping covers every tensor of the module
  const Tensor x = brain_batch(2, 32);
  auto close = [](const Tensor& a, const Tensor& b) { return max_abs_diff(a, b) <= 1e-6 * std::max(1.0, max_abs(a)); };

  {  // eval: running statistics, no dropout
    NoGradGuard ng;
    m->eval();
    Generator unused(0);
    EXPECT_TRUE(close(bench::unified_ae_forward(p, x, false, unused), m->reconstruct(x)));
  }
  // train: batch statistics, dropout from generators in the same state
  m->train();
  Generator gb(5);
  noise.set_state(5, 0);
  Tensor yb = bench::unified_ae_forward(p, x, true, gb);
  Tensor ym = m->reconstruct(x);
  EXPECT_TRUE(close(yb, ym)) << max_abs_diff(yb, ym);
  noise.set_state(6, 0);
  EXPECT_FALSE(close(yb, m->reconstruct(x)));  // the dropout masks matter
  // Running statistics after the same number of training passes (bench 1, module 2 → run the
  // bench once more with the seed-6 stream so both saw the same batches).
  gb.set_state(6, 0);
  bench::unified_ae_forward(p, x, true, gb);
  const nn::StateDict msd = m->state_dict();
  for (auto& [name, t] : p.named_tensors()) {
    if (bench::UnifiedAEParams::is_buffer(name)) {
      EXPECT_TRUE(close(t, msd.at(names.at(name)))) << name;
    }
  }
  // Loss and every parameter gradient.
  gb.set_state(5, 0);
  noise.set_state(5, 0);
  Tensor lb = bench::unified_ae_loss(bench::unified_ae_forward(p, x, true, gb), x);
  Tensor lm = m->loss(x).total;
  EXPECT_NEAR(lb.item(), lm.item(), 1e-6 * lb.item());
  lb.backward();
  lm.backward();
  std::map<std::string, Tensor> mp;
  for (auto& [n, t] : m->named_parameters()) mp[n] = t;
  for (auto& [name, t] : p.named_tensors()) {
    if (bench::UnifiedAEParams::is_buffer(name)) continue;
    Tensor gm = mp.at(names.at(name)).grad();
    ASSERT_TRUE(gm.defined() && t.grad().defined()) << name;
    EXPECT_LE(max_abs_diff(t.grad(), gm), 1e-5 * std::max(1e-3, max_abs(t.grad()))) << name;
  }
}

// ---- context masks -------------------------------------------------------------------------------

TEST(ContextMask, NoSquareWithoutRoomInTheBoundingBox) {
  Generator g(1);
  const Tensor empty = zeros({2, 1, 64, 64});
  EXPECT_EQ(max_abs_diff(context_mask(empty, g), ones({2, 1, 64, 64})), 0.0);
  // Box rows/cols [10,30]: [SD] needs r0 < r1 − 20, i.e. 10 < 10 — false, no square.
  const Tensor small = box_image(64, {{10, 30, 10, 30}});
  EXPECT_EQ(max_abs_diff(context_mask(small, g), ones({1, 1, 64, 64})), 0.0);
  // [10,31]: one position left, r = c = 10 or 11; the square stays inside the box.
  const Tensor fits = box_image(64, {{10, 31, 10, 31}});
  Tensor m = context_mask(fits, g);
  EXPECT_LE(sum(mul(1.0 - m, 1.0 - fits)).item(), 0.0);  // no zero outside the box
  EXPECT_GE(sum(1.0 - m).item(), 400.0);
}

TEST(ContextMask, SquaresFollowTheReferenceDraws) {
  // Two samples with different boxes; the draws of sample i are u[i, 0..6] of rand([2,7]) (f64):
  // k = 1 + ⌊3·u0⌋ squares, corner j at (r0 + ⌊u_{1+2j}·(r1−20−r0+1)⌋, c0 + ⌊u_{2+2j}·(c1−20−c0+1)⌋),
  // i.e. Python's random.randint(r0, r1 − 20) inclusive, as [SD] retrieve_masked_batch.
  const std::vector<std::array<int64_t, 4>> boxes{{5, 70, 12, 100}, {40, 120, 3, 60}};
  const Tensor x = box_image(128, boxes);
  Generator g(77), h(77);
  const Tensor m = context_mask(x, g);
  const auto u = rand({2, 7}, h, DType::f64).to_vector();
  const auto mv = m.to_vector();
  int k_seen[4] = {0, 0, 0, 0};
  for (int64_t i = 0; i < 2; ++i) {
    auto [r0, r1, c0, c1] = boxes[(size_t)i];
    std::vector<double> want(128 * 128, 1.0);
    const int k = 1 + (int)std::floor(3 * u[i * 7]);
    ++k_seen[k];
    for (int j = 0; j < k; ++j) {
      const int64_t r = r0 + (int64_t)std::floor(u[i * 7 + 1 + 2 * j] * (double)(r1 - 20 - r0 + 1));
      const int64_t c = c0 + (int64_t)std::floor(u[i * 7 + 2 + 2 * j] * (double)(c1 - 20 - c0 + 1));
      ASSERT_TRUE(r >= r0 && r + 19 < r1 && c >= c0 && c + 19 < c1);
      for (int64_t a = r; a < r + 20; ++a)
        for (int64_t b = c; b < c + 20; ++b) want[(size_t)(a * 128 + b)] = 0.0;
    }
    for (int64_t q = 0; q < 128 * 128; ++q) ASSERT_EQ(mv[(size_t)(i * 128 * 128 + q)], want[(size_t)q]) << "sample " << i;
  }
  EXPECT_EQ(m.shape(), (Shape{2, 1, 128, 128}));
  EXPECT_EQ(m.dtype(), DType::f32);
}

TEST(ContextMask, PerSampleByDefaultLastSampleForAllAsTheReferenceQuirk) {
  const Tensor x = box_image(128, {{0, 60, 0, 60}, {64, 127, 64, 127}, {30, 100, 20, 110}});
  Generator g(5), h(5);
  const Tensor own = context_mask(x, g);
  ContextMaskOptions quirk;
  quirk.last_sample_for_batch = true;
  const Tensor last = context_mask(x, h, quirk);
  for (int64_t i = 0; i < 3; ++i) {
    Tensor mi = own.slice(0, i, i + 1), xi = x.slice(0, i, i + 1);
    EXPECT_EQ(sum(mul(1.0 - mi, 1.0 - xi)).item(), 0.0) << "sample " << i << " zeroed outside its box";
    EXPECT_GE(sum(1.0 - mi).item(), 400.0);
    EXPECT_EQ(max_abs_diff(last.slice(0, i, i + 1), own.slice(0, 2, 3)), 0.0);
  }
  EXPECT_GT(max_abs_diff(own.slice(0, 0, 1), own.slice(0, 1, 2)), 0.0);
  EXPECT_NE(test::error_of([] {
              Generator g(0);
              context_mask(zeros({4, 4}), g);
            }).find("context_mask: expected x [N,C,H,W]"),
            std::string::npos);
  ContextMaskOptions bad;
  bad.min_squares = 4;  // > max_squares
  const std::string e = test::error_of([&] {
    Generator g(0);
    std::make_shared<ContextAE>(UnifiedConfig{}, g, bad);
  });
  EXPECT_NE(e.find("ContextAE: context masks need size ≥ 1 and 1 ≤ min_squares ≤ max_squares, got size 20, squares 4..3"),
            std::string::npos) << e;
}
