// models/gmvae.h: GMVAE dense and spatial.
//   - family entries and input shape;
//   - parameter counts against counts computed here from the layer table of the header comment
//     (domain_spec §1.2-1.3), for dense, spatial and the spatial [SD] quirk;
//   - output / latent shapes; eval deterministic, MC sampling and training stochastic;
//   - the loss terms on a hand-computed toy (textbook KL of two Gaussians, c-prior of 2
//     components, p(c|z) logits), and recomputed by hand from the model's own outputs;
//   - finite-difference gradient checks (f64) of the latent loss and of the whole loss of a
//     reduced model with respect to its input;
//   - one Adam step lowers the loss; save → load gives identical outputs.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "models/gmvae.h"
#include "tensor/ops.h"
#include "tests/error_of.h"
#include "tests/gradcheck.h"
#include "tests/model_test_util.h"
#include "train/optim.h"

using namespace uad;
using namespace uad::models;
using uad::test::brain_batch;
using uad::test::max_abs_diff;
using uad::test::TempFile;

namespace {

int64_t conv_p(int64_t in, int64_t out, int64_t k) { return in * out * k * k + out; }
int64_t bn_p(int64_t c) { return 2 * c; }
int64_t dense_p(int64_t in, int64_t out) { return in * out + out; }

// The unified encoder E1..E4 and decoder D0..D4 + out of domain_spec §1.2.
const int64_t kEncoder = conv_p(1, 32, 5) + bn_p(32) + conv_p(32, 64, 5) + bn_p(64) + conv_p(64, 128, 5) + bn_p(128) +
                         conv_p(128, 128, 5) + bn_p(128);
const int64_t kDecoder = bn_p(128) + conv_p(128, 128, 5) + bn_p(128) + conv_p(128, 64, 5) + bn_p(64) + conv_p(64, 32, 5) +
                         bn_p(32) + conv_p(32, 32, 5) + bn_p(32) + conv_p(32, 1, 1);

double part(const LossTerms& l, const std::string& name) {
  for (auto& [n, t] : l.parts)
    if (n == name) return t.item();
  ADD_FAILURE() << "no loss part " << name;
  return NAN;
}

std::shared_ptr<GMVAE> make(const GMVAEConfig& c, uint64_t seed) {
  Generator g(seed);
  return std::make_shared<GMVAE>(c, g);
}

}  // namespace

TEST(GMVAEFamily, NamesAndInputShape) {
  auto f = gmvae_family();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].name, "gmvae_dense");
  EXPECT_EQ(f[1].name, "gmvae_spatial");
  for (auto& s : f) {
    EXPECT_EQ(s.input_shape, (Shape{1, 128, 128}));
    EXPECT_NE(s.source.find("003"), std::string::npos);
  }
}

TEST(GMVAEModel, ParameterCountsFromTheLayerTable) {
  const int64_t K = 9;
  // dense: conv_in 128→16, w heads Dense 1024→1 (×2), z heads Dense 1024→128 (×2), Dense 128→1024,
  // conv_out 16→128; p(z|w,c): Dense 1→128·9 (×2) + the extra 0.1 bias [128·9].
  const int64_t dense = kEncoder + conv_p(128, 16, 1) + 2 * dense_p(1024, 1) + 2 * dense_p(1024, 128) +
                        dense_p(128, 1024) + conv_p(16, 128, 1) + 2 * dense_p(1, 128 * K) + 128 * K + kDecoder;
  // spatial: 1×1 convs 128→1 (w μ, w logvar, z μ, z logvar), p(z|w,c) 1→64 then 64→9 (×2) + bias [9],
  // conv_dec 1→128 (not in the quirk configuration).
  const int64_t spatial_quirk =
      kEncoder + 4 * conv_p(128, 1, 1) + conv_p(1, 64, 1) + 2 * conv_p(64, K, 1) + K + kDecoder;
  const int64_t spatial = spatial_quirk + conv_p(1, 128, 1);
  Generator g(0);
  auto f = gmvae_family();
  EXPECT_EQ(f[0].make(g)->num_parameters(), dense);
  EXPECT_EQ(f[1].make(g)->num_parameters(), spatial);
  GMVAEConfig q = GMVAEConfig::spatial_model();
  q.decode_encoder_features = true;
  EXPECT_EQ(make(q, 0)->num_parameters(), spatial_quirk);
  auto m = make(GMVAEConfig::dense(), 0);
  auto b = m->param("pzwc_logprec_bias");
  EXPECT_EQ(b.shape(), (Shape{128 * K}));
  EXPECT_NEAR(b.to_vector()[5], 0.1, 1e-7);
}

TEST(GMVAEModel, ShapesAndSamplingModes) {
  const Tensor x = brain_batch(2, 128, 1);
  for (bool spatial : {false, true}) {
    SCOPED_TRACE(spatial ? "spatial" : "dense");
    auto m = make(spatial ? GMVAEConfig::spatial_model() : GMVAEConfig::dense(), 1);
    Generator noise(2);
    m->set_generator(&noise);
    NoGradGuard ng;
    m->train();
    GMVAEOutputs o = m->run(x, true);
    const int64_t z = spatial ? 1 : 128, l = spatial ? 64 : 1;
    EXPECT_EQ(o.w.shape(), (Shape{2, 1, l}));
    EXPECT_EQ(o.z.shape(), (Shape{2, z, l}));
    EXPECT_EQ(o.zc_mu.shape(), (Shape{2, z, 9, l}));
    EXPECT_EQ(o.zc_logprec.shape(), (Shape{2, z, 9, l}));
    EXPECT_EQ(o.pc.shape(), (Shape{2, 9, l}));
    EXPECT_NEAR(sum(o.pc).item(), 2.0 * l, 1e-4);
    EXPECT_EQ(o.x_hat.shape(), x.shape());
    LossTerms lt = m->loss(x);
    EXPECT_EQ(lt.parts.size(), 4u);
    for (auto& [n, t] : lt.parts) EXPECT_TRUE(t.dim() == 0 && std::isfinite(t.item())) << n;
    EXPECT_GT(max_abs_diff(m->reconstruct(x), m->reconstruct(x)), 0.0);  // training decodes samples
    m->eval();
    Tensor y = m->reconstruct(x);
    EXPECT_EQ(y.shape(), x.shape());
    EXPECT_EQ(max_abs_diff(y, m->reconstruct(x)), 0.0);  // eval decodes z_mu
    EXPECT_EQ(max_abs_diff(y, m->decode(m->run(x, false).z_mu)), 0.0);
    EXPECT_TRUE(m->set_mc_sampling(true));
    EXPECT_GT(max_abs_diff(y, m->reconstruct(x)), 0.0);
  }
}

TEST(GMVAEModel, SpatialQuirkDecodesTheEncoderFeatures) {
  GMVAEConfig c = GMVAEConfig::spatial_model();
  c.decode_encoder_features = true;
  auto m = make(c, 3);
  const Tensor x = brain_batch(2, 128, 2);
  NoGradGuard ng;
  m->eval();
  m->set_mc_sampling(true);  // z is sampled but not read by the decoder
  Tensor y = m->reconstruct(x);
  EXPECT_EQ(max_abs_diff(y, m->reconstruct(x)), 0.0);
  EXPECT_NE(test::error_of([&] { m->decode(zeros({2, 1, 64})); }).find("quirk"), std::string::npos);
  GMVAEConfig bad = GMVAEConfig::dense();
  bad.decode_encoder_features = true;
  EXPECT_NE(test::error_of([&] { bad.validate(); }).find("decode_encoder_features"), std::string::npos);
}

// ---- the loss terms on a toy: N=1, Z=1, K=2, L=1 -----------------------------------------------

TEST(GMVAELoss, TermsOfATwoComponentToyByHand) {
  // q(z|x) = N(0.5, 0.25); component 0: N(0, 1) (λ = 0), component 1: N(1, 0.25) (λ = log 4).
  const Tensor zm = from_vector({0.5}, {1, 1, 1}, DType::f64), zlv = from_vector({std::log(0.25)}, {1, 1, 1}, DType::f64);
  const Tensor mu = from_vector({0.0, 1.0}, {1, 1, 2, 1}, DType::f64);
  const Tensor lp = from_vector({0.0, std::log(4.0)}, {1, 1, 2, 1}, DType::f64);
  const Tensor pc = from_vector({0.3, 0.7}, {1, 2, 1}, DType::f64);
  // Textbook KL(N(m1,v1) ‖ N(m2,v2)) = ½(log(v2/v1) + (v1 + (m1−m2)²)/v2 − 1):
  //   c=0: ½(log 4 + 0.5 − 1) = 0.4431472; c=1: ½(log 1 + 0.5/0.25 − 1) = 0.5.
  const double kl0 = 0.5 * (std::log(4.0) + 0.5 - 1.0), kl1 = 0.5 * (0.0 + 2.0 - 1.0);
  EXPECT_NEAR(GMVAE::kl_z(zm, zlv, mu, lp, pc).item(), 0.3 * kl0 + 0.7 * kl1, 2e-6);  // [SD]'s +1e-6 on e^λ
  // kl_w: ½(0.25 + 0.25 − log 0.25 − 1) = 0.4431472.
  EXPECT_NEAR(GMVAE::kl_w(zm.reshape({1, 1, 1}), zlv).item(), 0.5 * (0.5 - std::log(0.25) - 1.0), 1e-12);
  // c-prior: Σ p log(K p) = 0.3·log 0.6 + 0.7·log 1.4 = 0.0822829, floored at c_lambda.
  const double kl_u = 0.3 * std::log(0.6) + 0.7 * std::log(1.4);
  EXPECT_NEAR(kl_u, 0.0822829, 1e-6);
  EXPECT_NEAR(GMVAE::c_prior(pc, 0.05).item(), kl_u, 1e-7);
  EXPECT_NEAR(GMVAE::c_prior(pc, 1.0).item(), 1.0, 1e-12);
  // Uniform p(c): KL 0, the floor wins at any positive c_lambda.
  EXPECT_NEAR(GMVAE::c_prior(from_vector({0.5, 0.5}, {1, 2, 1}, DType::f64), 0.01).item(), 0.01, 1e-12);
  // p(c|z) logits at z = 0.5: −½(z−μ)²e^λ − λ + log π → −0.125 + log π and −0.5 − log 4 + log π.
  const Tensor logits = GMVAE::pc_logits(zm, mu, lp);
  EXPECT_EQ(logits.shape(), (Shape{1, 2, 1}));
  test::expect_values(logits, {-0.125 + std::log(M_PI), -0.5 - std::log(4.0) + std::log(M_PI)}, 1e-12);
}

TEST(GMVAELoss, TermsRecomputedFromTheModelOutputs) {
  const Tensor x = brain_batch(2, 128, 5);
  for (bool spatial : {false, true}) {
    SCOPED_TRACE(spatial ? "spatial" : "dense");
    auto m = make(spatial ? GMVAEConfig::spatial_model() : GMVAEConfig::dense(), 4);
    Generator noise(0);
    m->set_generator(&noise);
    NoGradGuard ng;
    m->train();
    noise.set_state(9, 0);
    LossTerms l = m->loss(x);
    noise.set_state(9, 0);
    GMVAEOutputs o = m->run(x, true);
    const int64_t n = 2, Z = o.z.size(1), K = 9, L = o.z.size(2);
    auto zm = o.z_mu.to_vector(), zlv = o.z_logvar.to_vector(), z = o.z.to_vector();
    auto mu = o.zc_mu.to_vector(), lp = o.zc_logprec.to_vector();
    auto wm = o.w_mu.to_vector(), wlv = o.w_logvar.to_vector();
    double kl_z = 0, c_prior = 0, kl_w = 0, pc_err = 0;
    auto pc_model = o.pc.to_vector();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t loc = 0; loc < L; ++loc) {
        std::vector<double> logit((size_t)K, 0.0);
        for (int64_t c = 0; c < K; ++c)
          for (int64_t j = 0; j < Z; ++j) {
            const size_t a = (size_t)((i * Z + j) * L + loc), b = (size_t)(((i * Z + j) * K + c) * L + loc);
            logit[(size_t)c] += -0.5 * (z[a] - mu[b]) * (z[a] - mu[b]) * std::exp(lp[b]) - lp[b] + std::log(M_PI);
          }
        double mx = *std::max_element(logit.begin(), logit.end()), den = 0;
        for (double v : logit) den += std::exp(v - mx);
        double kl_u = 0;
        for (int64_t c = 0; c < K; ++c) {
          const double p = std::exp(logit[(size_t)c] - mx) / den;
          pc_err = std::max(pc_err, std::abs(p - pc_model[(size_t)((i * K + c) * L + loc)]));
          kl_u += p * std::log(K * p + 1e-8);
          for (int64_t j = 0; j < Z; ++j) {
            const size_t a = (size_t)((i * Z + j) * L + loc), b = (size_t)(((i * Z + j) * K + c) * L + loc);
            const double v1 = std::exp(zlv[a]), v2 = std::exp(-lp[b]);
            kl_z += p * 0.5 * (std::log(v2 / v1) + (v1 + (zm[a] - mu[b]) * (zm[a] - mu[b])) / v2 - 1.0);
          }
        }
        c_prior += std::max(kl_u, 1.0);
      }
    for (size_t i = 0; i < wm.size(); ++i) kl_w += 0.5 * (wm[i] * wm[i] + std::exp(wlv[i]) - wlv[i] - 1.0);
    auto xh = o.x_hat.to_vector(), xv = x.to_vector();
    double l1 = 0;
    for (size_t i = 0; i < xv.size(); ++i) l1 += std::abs(xh[i] - xv[i]);
    l1 /= n, kl_z /= n, c_prior /= n, kl_w /= n;
    EXPECT_LT(pc_err, 1e-4);
    EXPECT_NEAR(part(l, "l1"), l1, 1e-5 * l1);
    EXPECT_NEAR(part(l, "kl_z"), kl_z, 1e-3 * std::abs(kl_z) + 1e-3);
    EXPECT_NEAR(part(l, "kl_w"), kl_w, 1e-4 * std::abs(kl_w) + 1e-5);
    EXPECT_NEAR(part(l, "c_prior"), c_prior, 1e-4 * c_prior);
    EXPECT_NEAR(l.total.item(), l1 + kl_z + kl_w + c_prior, 1e-5 * (l1 + kl_z + kl_w + c_prior));
  }
}

// ---- gradients ---------------------------------------------------------------------------------

TEST(GMVAEGrad, LatentLossMatchesFiniteDifferences) {
  // N=2, Z=3, K=4, L=2: kl_z + kl_w + c_prior with p(c|z) = softmax(logits) of z = μ + ε·σ.
  const Tensor eps = test::uniform64({2, 3, 2}, 7);
  const double c_lambda = 0.02;  // below KL(p ‖ U) of these inputs: the max takes the KL branch
  test::Fn f = [&](const std::vector<Tensor>& v) {
    Tensor z = v[0] + eps * exp(v[1] * 0.5);
    Tensor pc = softmax(GMVAE::pc_logits(z, v[2], v[3]), 1);
    return GMVAE::kl_z(v[0], v[1], v[2], v[3], pc) + GMVAE::kl_w(v[4], v[5]) + GMVAE::c_prior(pc, c_lambda);
  };
  std::vector<Tensor> xs{test::uniform64({2, 3, 2}, 1),          test::uniform64({2, 3, 2}, 2, -1.0, 0.5),
                         test::uniform64({2, 3, 4, 2}, 3, -2, 2), test::uniform64({2, 3, 4, 2}, 4, -0.5, 1.0),
                         test::uniform64({2, 1, 2}, 5),          test::uniform64({2, 1, 2}, 6)};
  {
    NoGradGuard ng;
    Tensor z = xs[0] + eps * exp(xs[1] * 0.5);
    Tensor pc = softmax(GMVAE::pc_logits(z, xs[2], xs[3]), 1);
    Tensor kl = sum(pc * log(pc * 4.0 + 1e-8), {1});
    ASSERT_GT(amin(kl).item(), 2 * c_lambda);
  }
  test::expect_gradients(f, xs, 1e-6, 1e-6, 1e-5);
}

TEST(GMVAEGrad, WholeLossOfAReducedModelMatchesFiniteDifferences) {
  // 8×8 input, bottleneck 4 (one stride-2 level), dim_z 3, K 3, f64; the same Philox draws
  // (ε and the dropout masks) at every evaluation.
  for (bool spatial : {false, true}) {
    SCOPED_TRACE(spatial ? "spatial" : "dense");
    GMVAEConfig c = spatial ? GMVAEConfig::spatial_model() : GMVAEConfig::dense();
    c.unified.image_size = 8;
    c.unified.bottleneck = 4;
    c.unified.dtype = DType::f64;
    c.dim_z = spatial ? 1 : 3;
    c.dim_c = 3;
    c.c_lambda = 0.0;
    auto m = make(c, 11);
    Generator noise(0);
    m->set_generator(&noise);
    m->train();
    test::Fn f = [&](const std::vector<Tensor>& v) {
      noise.set_state(21, 0);
      return m->loss(v[0]).total;
    };
    test::expect_gradients(f, {test::uniform64({2, 1, 8, 8}, 8, 0.0, 1.0)}, 1e-6, 1e-5, 1e-4);
  }
}

// ---- training and checkpoints --------------------------------------------------------------------

TEST(GMVAEModel, OneAdamStepLowersTheLossOnAFixedBatch) {
  const Tensor x = brain_batch(2, 128, 30);
  for (bool spatial : {false, true}) {
    SCOPED_TRACE(spatial ? "spatial" : "dense");
    auto m = make(spatial ? GMVAEConfig::spatial_model() : GMVAEConfig::dense(), 1);
    Generator noise(0);
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
}

TEST(GMVAEModel, SaveLoadGivesIdenticalEvalOutputs) {
  const Tensor x = brain_batch(2, 128, 31);
  for (bool spatial : {false, true}) {
    const GMVAEConfig c = spatial ? GMVAEConfig::spatial_model() : GMVAEConfig::dense();
    auto a = make(c, 1), b = make(c, 2);
    TempFile f("gmvae", spatial ? "s.safetensors" : "d.safetensors");
    nn::save_state(*a, f.path);
    NoGradGuard ng;
    a->eval();
    b->eval();
    EXPECT_GT(max_abs_diff(a->reconstruct(x), b->reconstruct(x)), 1e-4);
    nn::load_state(*b, f.path);
    EXPECT_EQ(max_abs_diff(a->reconstruct(x), b->reconstruct(x)), 0.0);
  }
}

TEST(GMVAEModel, InputErrors) {
  auto m = make(GMVAEConfig::dense(), 0);
  NoGradGuard ng;
  const std::string e = test::error_of([&] { m->reconstruct(zeros({2, 1, 64, 64})); });
  EXPECT_NE(e.find("GMVAE::run: expected x [N,1,128,128]"), std::string::npos) << e;
  EXPECT_NE(test::error_of([&] { m->decode(zeros({2, 5, 1})); }).find("expected z [N,128,1]"), std::string::npos);
  GMVAEConfig c;
  c.dim_c = 0;
  EXPECT_NE(test::error_of([&] { c.validate(); }).find("dim_c 0"), std::string::npos);
}

// Timing of one training step at batch 8 (not part of the suite: --gtest_also_run_disabled_tests).
TEST(GMVAEModel, DISABLED_TimeOneTrainingStepBatch8) {
  const Tensor x = brain_batch(8, 128, 40);
  for (int kind : {0, 1, 2}) {  // gmvae_dense, gmvae_spatial, ae_dense (the reference)
    const bool spatial = kind == 1;
    Generator g(1);
    std::shared_ptr<ReconstructionModel> m;
    if (kind == 2)
      m = std::make_shared<UnifiedAE>(UnifiedConfig{}, false, g);
    else
      m = make(spatial ? GMVAEConfig::spatial_model() : GMVAEConfig::dense(), 1);
    m->train();
    train::Adam adam(m->parameters(), {.lr = 1e-4});
    double best = 1e9;
    for (int it = 0; it < 4; ++it) {
      auto t0 = std::chrono::steady_clock::now();
      m->zero_grad();
      m->loss(x).total.backward();
      adam.step();
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("%s: %.1f ms per training step (batch 8, best of 4)\n",
                kind == 2 ? "ae_dense" : spatial ? "gmvae_spatial" : "gmvae_dense", best);
  }
}
