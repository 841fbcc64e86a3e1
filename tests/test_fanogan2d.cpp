// The unified 2-D f-AnoGAN (models/fanogan2d.h) with the WGAN-GP/izi_f steps of train/wgan_gp.h:
//   - output shapes and ranges of G (sigmoid), D (score, 8·8·128 features), E (tanh) at 128²;
//   - full-size parameter counts against counts computed here from the layer table of
//     domain_spec §1.2-1.3 ([SD] models/fanogan.py), not from the code;
//   - a critic step lowers L_D on a fixed batch (same z, ε); an izi_f step lowers the encoder
//     loss on a fixed batch and leaves G and D bit-identical;
//   - the anomaly score from the pieces; save → load identical outputs; the registry entry;
//   - PyTorch parity of the 2-D critic's loss, gradient penalty and parameter gradients (the
//     penalty's gradients are second order), on a reduced critic: the same layer types and
//     per-location head, 32×32 input with bottleneck 8 (two levels, channels 32, 64), f64.
//     The torch twin is the script kTorchCritic below, run with /usr/bin/python3.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "models/fanogan2d.h"
#include "tensor/autograd.h"
#include "tensor/ops.h"
#include "tests/error_of.h"
#include "tests/io_ref/io_test_util.h"
#include "tests/model_test_util.h"
#include "tests/npy.h"
#include "train/wgan_gp.h"

using namespace uad;
using namespace uad::models;

namespace {

/// 32×32 input, bottleneck 8 (2 levels: channels 32, 64), z 16; no dropout (deterministic steps).
UnifiedConfig small_config(DType dt = DType::f32) {
  UnifiedConfig c;
  c.image_size = 32;
  c.bottleneck = 8;
  c.zdim = 16;
  c.dropout = 0.0;
  c.dtype = dt;
  return c;
}

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

}  // namespace

TEST(Fanogan2d, ShapesAndRangesAtFullSize) {
  Generator g(1), noise(2);
  const ModelSpec& spec = find_model("fanogan");
  EXPECT_EQ(spec.input_shape, (Shape{1, 128, 128}));
  auto base = spec.make(g);
  auto& m = dynamic_cast<FAnoGAN2d&>(*base);
  m.eval();
  NoGradGuard ng;
  const Tensor x = test::brain_batch(2, 128, 3);
  Tensor z = m.encoder()(x);
  EXPECT_EQ(z.shape(), (Shape{2, 128}));
  for (double v : z.to_vector()) EXPECT_LT(std::abs(v), 1.0);  // tanh
  Tensor xg = m.generator()(randn({2, 128}, noise));
  EXPECT_EQ(xg.shape(), (Shape{2, 1, 128, 128}));
  for (double v : xg.to_vector()) EXPECT_TRUE(v > 0.0 && v < 1.0);  // sigmoid
  CriticOutput d = m.critic().score_and_features(x);
  EXPECT_EQ(d.score.shape(), (Shape{2, 1}));
  EXPECT_EQ(d.features.shape(), (Shape{2, 8 * 8 * 128}));
  EXPECT_EQ(m.critic().forward(x).to_vector(), d.score.to_vector());
  EXPECT_EQ(m.reconstruct(x).shape(), x.shape());
  EXPECT_EQ(m.latent_dim(), 128);
  EXPECT_EQ(m.default_gan_beta1(), 0.5);
  EXPECT_EQ(m.to_network_range(x).to_vector(), x.to_vector());
}

// Counted from the layer table (domain_spec §1.2: E1..E4 Conv 5×5 1→32→64→128→128, D1..D4
// ConvT 5×5 128→128→64→32→32, out Conv1×1 32→1; §1.3 fAnoGAN: encoder with BN + Conv1×1 128→16
// + Dense 1024→128; generator Dense 128→1024 + Conv1×1 16→128 + decoder with LayerNorm([1,2])
// (γ, β of shape [H,W]); critic encoder with LayerNorm + Dense(1) per location).
TEST(Fanogan2d, FullSizeParameterCountsMatchTheLayerTable) {
  auto conv = [](int64_t i, int64_t o, int64_t k) { return i * o * k * k + o; };
  auto dense = [](int64_t i, int64_t o) { return i * o + o; };
  auto ln = [](int64_t s) { return 2 * s * s; };
  const int64_t enc_convs = conv(1, 32, 5) + conv(32, 64, 5) + conv(64, 128, 5) + conv(128, 128, 5);
  const int64_t bn = 2 * (32 + 64 + 128 + 128);
  const int64_t enc_ln = ln(64) + ln(32) + ln(16) + ln(8);
  const int64_t encoder = enc_convs + bn + conv(128, 16, 1) + dense(1024, 128);
  const int64_t critic = enc_convs + enc_ln + conv(128, 1, 1);
  const int64_t generator = dense(128, 1024) + conv(16, 128, 1) + ln(8) + conv(128, 128, 5) + ln(16) +
                            conv(128, 64, 5) + ln(32) + conv(64, 32, 5) + ln(64) + conv(32, 32, 5) + ln(128) +
                            conv(32, 1, 1);
  Generator g(0);
  auto m = find_model("fanogan").make(g);
  auto& f = dynamic_cast<FAnoGAN2d&>(*m);
  EXPECT_EQ(f.encoder().num_parameters(), encoder);
  EXPECT_EQ(f.critic().num_parameters(), critic);
  EXPECT_EQ(f.generator().num_parameters(), generator);
  EXPECT_EQ(m->num_parameters(), encoder + critic + generator);
  std::printf("fanogan parameters: G %lld, D %lld, E %lld, total %lld\n", (long long)generator, (long long)critic,
              (long long)encoder, (long long)(encoder + critic + generator));
}

TEST(Fanogan2d, RegistryEntryAndErrors) {
  const ModelSpec& s = find_model("fanogan");
  EXPECT_TRUE(is_adversarial(s));  // ModelSpec::trainer == TrainerKind::wgan_gp_izif
  EXPECT_TRUE(is_adversarial(find_model("fanogan3d")));
  EXPECT_FALSE(is_adversarial(find_model("ae_dense")));
  EXPECT_NE(s.source.find("f-AnoGAN"), std::string::npos);
  Generator g(1);
  FAnoGAN2d m(small_config(), g);
  std::string e = test::error_of([&] { m.critic()(zeros({2, 1, 16, 16})); });
  EXPECT_NE(e.find("Critic2d"), std::string::npos) << e;
  EXPECT_NE(e.find("[2,1,16,16]"), std::string::npos) << e;
  e = test::error_of([&] { m.generator()(zeros({2, 9})); });
  EXPECT_NE(e.find("Generator2d"), std::string::npos) << e;
  e = test::error_of([&] { m.encoder()(zeros({2, 2, 32, 32})); });
  EXPECT_NE(e.find("Encoder2d"), std::string::npos) << e;
  e = test::error_of([&] { FAnoGAN2d(small_config(), g, -1.0); });
  EXPECT_NE(e.find("kappa"), std::string::npos) << e;
}

TEST(Fanogan2d, CriticStepLowersTheCriticLossOnAFixedBatch) {
  Generator g(1);
  FAnoGAN2d m(small_config(), g);
  const Tensor x = test::brain_batch(4, 32, 5);
  train::Adam opt(m.critic().parameters(), train::wgan_adam(1e-3));
  const nn::StateDict gen_before = snapshot(m.generator());
  Generator draws(7);
  const train::CriticStepStats a = train::critic_step(m.generator(), m.critic(), opt, x, 16, draws, 10.0);
  draws.set_state(7, 0);  // the same z and ε: the stats are those of the updated critic
  const train::CriticStepStats b = train::critic_step(m.generator(), m.critic(), opt, x, 16, draws, 10.0);
  EXPECT_LT(b.loss, a.loss);
  EXPECT_GT(b.wasserstein, a.wasserstein);
  EXPECT_NEAR(a.loss, -a.wasserstein + a.penalty, 1e-5 * (1 + std::abs(a.loss)));
  expect_identical(gen_before, m.generator());  // G has no BatchNorm: nothing of it moves
}

TEST(Fanogan2d, IzifStepLowersTheEncoderLossWithGAndDFrozen) {
  Generator g(1);
  FAnoGAN2d m(small_config(), g);
  const Tensor x = test::brain_batch(4, 32, 6);
  const nn::StateDict gen_before = snapshot(m.generator()), critic_before = snapshot(m.critic());
  train::Adam opt(m.encoder().parameters(), {.lr = 1e-3, .beta1 = 0.5, .beta2 = 0.999});
  m.train();
  const train::IzifStepStats a = train::encoder_izif_step(m.encoder(), m.generator(), m.critic(), opt, x, 1.0);
  const train::IzifStepStats b = train::encoder_izif_step(m.encoder(), m.generator(), m.critic(), opt, x, 1.0);
  EXPECT_LT(b.loss, a.loss);
  EXPECT_NEAR(a.loss, a.img + a.feat, 1e-6 * (1 + a.loss));
  expect_identical(gen_before, m.generator());
  expect_identical(critic_before, m.critic());
  for (auto& [k, p] : m.generator().named_parameters()) EXPECT_FALSE(p.grad().defined()) << k;
  for (auto& [k, p] : m.critic().named_parameters()) EXPECT_FALSE(p.grad().defined()) << k;
  for (auto& [k, p] : m.encoder().named_parameters()) EXPECT_TRUE(p.grad().defined()) << k;
  // loss(x) is the same izi_f.
  NoGradGuard ng;
  const LossTerms l = m.loss(x);
  ASSERT_EQ(l.parts.size(), 2u);
  EXPECT_EQ(l.parts[0].first, "img");
  EXPECT_NEAR(l.total.item(), l.parts[0].second.item() + l.parts[1].second.item(), 1e-6);
}

TEST(Fanogan2d, AnomalyScoreFromThePieces) {
  Generator g(1);
  FAnoGAN2d m(small_config(), g, 0.5);
  m.eval();
  const Tensor x = test::brain_batch(2, 32, 8);
  NoGradGuard ng;
  const Tensor score = m.anomaly_score(x);
  ASSERT_EQ(score.shape(), (Shape{2}));
  const Tensor rec = m.reconstruct(x);
  const Tensor fx = m.critic().score_and_features(x).features, fr = m.critic().score_and_features(rec).features;
  const std::vector<double> r = (x - rec).to_vector(), ff = (fx - fr).to_vector(), s = score.to_vector();
  const size_t nv = r.size() / 2, nf = ff.size() / 2;
  for (size_t i = 0; i < 2; ++i) {
    double a = 0, b = 0;
    for (size_t k = 0; k < nv; ++k) a += r[i * nv + k] * r[i * nv + k];
    for (size_t k = 0; k < nf; ++k) b += ff[i * nf + k] * ff[i * nf + k];
    EXPECT_NEAR(s[i], a / nv + 0.5 * b / nf, 1e-5 * (1 + s[i])) << i;
  }
  EXPECT_EQ(m.image_score(x).to_vector(), s);  // the evaluation's image-level score
  EXPECT_EQ(train::anomaly_score(m.encoder(), m.generator(), m.critic(), x, 0.5).to_vector(), s);
}

TEST(Fanogan2d, SaveLoadGivesIdenticalOutputs) {
  UnifiedConfig c = small_config();
  c.dropout = 0.2;
  Generator g1(1), g2(2);
  FAnoGAN2d a(c, g1), b(c, g2);
  test::TempFile f("fanogan2d", "state.safetensors");
  nn::save_state(a, f.path);
  nn::load_state(b, f.path);
  a.eval();
  b.eval();
  NoGradGuard ng;
  const Tensor x = test::brain_batch(2, 32, 9);
  EXPECT_EQ(a.reconstruct(x).to_vector(), b.reconstruct(x).to_vector());
  EXPECT_EQ(a.anomaly_score(x).to_vector(), b.anomaly_score(x).to_vector());
  EXPECT_EQ(a.critic()(x).to_vector(), b.critic()(x).to_vector());
}

// ---- PyTorch parity of the critic loss (Eq. 2 of 001) ---------------------------------------------

namespace {

/// The torch twin of Critic2d (UnifiedEncoder with LayerNorm over (H,W), per-location 1×1 head,
/// mean over locations) and of train::gradient_penalty / critic_step's loss, in float64.
const char* kTorchCritic = R"PY(
import sys, json, numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(2)
d = sys.argv[1]
meta = json.load(open(d + "/meta.json"))
P = {n: torch.from_numpy(np.load(d + "/p_" + n + ".npy")).requires_grad_(True) for n in meta["params"]}
real = torch.from_numpy(np.load(d + "/real.npy"))
fake = torch.from_numpy(np.load(d + "/fake.npy"))
eps = torch.from_numpy(np.load(d + "/eps.npy"))
lam = meta["lambda"]
def critic(x):
    h = x
    for i in range(meta["levels"]):
        h = F.conv2d(h, P["net.%d.0.weight" % i], P["net.%d.0.bias" % i], stride=2, padding=2)
        h = F.layer_norm(h, h.shape[2:], P["net.%d.1.weight" % i], P["net.%d.1.bias" % i], eps=1e-3)
        h = F.leaky_relu(h, 0.3)
    return F.conv2d(h, P["head.weight"], P["head.bias"]).mean(dim=(2, 3))
x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
dh = critic(x_hat)
(g,) = torch.autograd.grad(dh, x_hat, grad_outputs=torch.ones_like(dh), create_graph=True)
pen = lam * ((g.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
loss = critic(fake).mean() - critic(real).mean() + pen
grads = torch.autograd.grad(loss, [P[n] for n in meta["params"]])
np.save(d + "/t_loss.npy", loss.detach().numpy().reshape(1))
np.save(d + "/t_pen.npy", pen.detach().numpy().reshape(1))
for n, gr in zip(meta["params"], grads):
    np.save(d + "/t_grad_" + n + ".npy", gr.numpy())
)PY";

}  // namespace

TEST(Fanogan2d, CriticLossPenaltyAndGradientsMatchPyTorch) {
  // Needs PyTorch: only a missing interpreter skips (a missing torch fails, with the script's error).
  if (!std::filesystem::exists(test::kPython)) GTEST_SKIP() << test::kPython << " not found";
  const UnifiedConfig c = small_config(DType::f64);
  Generator g(3);
  Critic2d critic(c, g);
  // Non-trivial LayerNorm affine parameters (they start at 1 and 0).
  Generator pg(4);
  for (auto& [k, p] : critic.named_parameters())
    if (k.find(".1.") != std::string::npos) {
      NoGradGuard ng;
      nn::copy_into(p, rand(p.shape(), pg, DType::f64) * 0.5 + (k.find("weight") != std::string::npos ? 0.75 : -0.25));
    }
  const int64_t n = 3;
  const Tensor real = test::brain_batch(n, 32, 10).to(DType::f64);
  Generator xg(11);
  const Tensor fake = rand({n, 1, 32, 32}, xg, DType::f64);
  const Tensor eps = rand({n, 1, 1, 1}, xg, DType::f64);
  const double lambda = 10.0;
  // uad: the penalty of train/wgan_gp.h and the critic loss of critic_step.
  Tensor pen = train::gradient_penalty(critic, real, fake, eps, lambda);
  Tensor loss = mean(critic(fake)) - mean(critic(real)) + pen;
  const auto named = critic.named_parameters();
  std::vector<Tensor> params;
  for (auto& [k, p] : named) params.push_back(p);
  const std::vector<Tensor> grads = grad({loss}, params);
  ASSERT_GT(pen.item(), 1e-2) << "degenerate case: ‖∇D‖ ≈ 1";

  test::TempDir dir("fanogan2d_parity");
  std::string names;
  for (auto& [k, p] : named) {
    test::write_npy(dir / ("p_" + k + ".npy"), p);
    names += (names.empty() ? "\"" : ", \"") + k + "\"";
  }
  test::write_npy(dir / "real.npy", real);
  test::write_npy(dir / "fake.npy", fake);
  test::write_npy(dir / "eps.npy", eps);
  std::ofstream(dir / "meta.json") << "{\"params\": [" << names << "], \"levels\": " << c.levels()
                                   << ", \"lambda\": " << lambda << "}\n";
  std::ofstream(dir / "critic.py") << kTorchCritic;
  const std::string cmd = std::string(test::kPython) + " " + (dir / "critic.py") + " " + dir.path;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  EXPECT_NEAR(loss.item(), test::read_npy(dir / "t_loss.npy").item(), 1e-10 * (1 + std::abs(loss.item())));
  EXPECT_NEAR(pen.item(), test::read_npy(dir / "t_pen.npy").item(), 1e-10 * (1 + pen.item()));
  int nonzero = 0;
  for (size_t i = 0; i < named.size(); ++i) {
    const Tensor ref = test::read_npy(dir / ("t_grad_" + named[i].first + ".npy"));
    ASSERT_EQ(ref.shape(), grads[i].shape()) << named[i].first;
    // The conv biases before a LayerNorm and the head's bias have gradient 0 (a per-channel
    // constant is normalised away; the penalty does not see the head's bias): ~1e-16 in both.
    EXPECT_LE(test::max_abs_diff(grads[i], ref), 1e-9 * test::max_abs(ref) + 1e-13) << named[i].first;
    nonzero += test::max_abs(ref) > 1e-6;
  }
  EXPECT_EQ(nonzero, (int)named.size() - 3);  // all but the three biases above
}
