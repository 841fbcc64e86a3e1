// The full-size 3-D f-AnoGAN critic against PyTorch: the registry's "fanogan3d" critic
// (models/fanogan3d.h Critic3d, c = 64, 11 M parameters) at 64³, batch 2, in float32.
// tests/parity/fanogan3d_critic.py builds the same critic in PyTorch from its layer table
// (domain_spec §4, LayerNorm per models/fanogan3d.h) and the test compares
//   - D(x) and D(x̃) (forward),
//   - the gradient penalty λ·mean_n (‖∇_x̂ D(x̂)_n‖₂ − 1)², λ = 10, x̂ = ε·x + (1 − ε)·x̃ with a
//     fixed ε per sample (train::gradient_penalty, the function the trainer uses),
//   - the critic loss L_D = mean D(x̃) − mean D(x) + penalty (001 Eq. 2) and its gradient w.r.t.
//     every critic parameter (16 tensors): second order through uad's autograd
//     (grad(create_graph = true) inside the penalty) vs torch.autograd.grad(create_graph=True).
// Tolerances: tests/parity/harness.h compare_tensors (norm-wise relative 1e-4, elementwise
// 1e-4·|ref| + 1e-4·max|ref|); L_D, a cancelling sum, against the magnitude of its terms. The registry's initialisation is PyTorch's; the LayerNorm scales
// and offsets (1 and 0 at initialisation) are randomised so that their gradients are not
// degenerate. The weights and inputs are exchanged as .npy files.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "models/fanogan3d.h"
#include "models/model.h"
#include "tensor/autograd.h"
#include "tensor/ops.h"
#include "tests/io_ref/io_test_util.h"
#include "tests/npy.h"
#include "tests/parity/harness.h"
#include "train/wgan_gp.h"

using namespace uad;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST(ParityFanogan3dCritic, FullSizeCriticLossPenaltyAndParameterGradients) {
  const char* env = std::getenv("UAD_PARITY_PYTHON");
  const std::string python = env ? env : test::kPython;
  if (!std::filesystem::exists(python)) GTEST_SKIP() << "no Python interpreter at " << python;
  const auto t0 = std::chrono::steady_clock::now();
  const double lambda = 10.0;
  const int64_t n = 2;

  // The registry's model (its critic at the paper's size).
  Generator g(2021);
  const models::ModelSpec& spec = models::find_model("fanogan3d");
  std::shared_ptr<models::ReconstructionModel> model = spec.make(g);
  auto* fa = dynamic_cast<models::FAnoGAN3d*>(model.get());
  ASSERT_NE(fa, nullptr) << "the registry's fanogan3d is not a models::FAnoGAN3d";
  ASSERT_EQ(fa->config().width(), 64);
  ASSERT_EQ(fa->config().ln_affine, nn::LayerNormAffine::per_channel);
  models::Critic3d& D = fa->critic();
  D.train();
  const auto named = D.named_parameters();
  ASSERT_EQ(named.size(), 16u);  // conv1..conv5 weight+bias (10), norm2..norm4 weight+bias (6)
  int64_t n_params = 0;
  for (const auto& [name, p] : named) {
    n_params += p.numel();
    if (name.find(".norm") != std::string::npos) {  // randomise the LayerNorm affines in place
      const bool w = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
      nn::copy_into(p, w ? parity::uniform(p.shape(), 50 + p.numel(), 0.5, 1.5)
                         : parity::uniform(p.shape(), 60 + p.numel(), -0.2, 0.2));
    }
  }
  EXPECT_GT(n_params, 10'000'000);
  const double t_build = seconds_since(t0);

  const Shape xs{n, 1, 64, 64, 64};
  const Tensor x = parity::uniform(xs, 7001, -1, 1), fake = parity::uniform(xs, 7002, -1, 1);
  const Tensor eps = from_vector_f32({0.3f, 0.8f}, {n, 1, 1, 1, 1});

  test::TempDir dir("parity_fanogan3d_critic");
  {
    std::ofstream f(dir / "params.json");
    f << "{\"lambda\": " << lambda << ", \"names\": [";
    for (size_t i = 0; i < named.size(); ++i) f << (i ? ", " : "") << "\"" << named[i].first << "\"";
    f << "]}\n";
  }
  for (const auto& [name, p] : named) test::write_npy(dir / ("in_" + name + ".npy"), p.detach().contiguous());
  test::write_npy(dir / "in_x.npy", x);
  test::write_npy(dir / "in_fake.npy", fake);
  test::write_npy(dir / "in_eps.npy", eps);

  // uad: the same loss as train::critic_step, on the fixed x̃ and ε.
  const auto t1 = std::chrono::steady_clock::now();
  Tensor d_real = D(x), d_fake = D(fake);
  Tensor pen = train::gradient_penalty(D, x, fake, eps, lambda);
  Tensor loss = mean(d_fake) - mean(d_real) + pen;
  std::vector<Tensor> params;
  for (const auto& [name, p] : named) params.push_back(p);
  const std::vector<Tensor> grads = grad({loss}, params);
  const double t_uad = seconds_since(t1);
  ASSERT_GT(pen.item(), 1e-2) << "degenerate case: ‖∇D‖ ≈ 1, the penalty's second-order terms would vanish";

  const auto t2 = std::chrono::steady_clock::now();
  const std::string cmd = python + " " + UAD_SOURCE_DIR + "/tests/parity/fanogan3d_critic.py " + dir.path;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "the PyTorch side failed (needs torch and numpy for " << python
                                         << "; sudo apt-get install -y python3-torch python3-numpy): " << cmd;
  const double t_torch = seconds_since(t2);

  const parity::Tol tol;  // relative 1e-4 (norm-wise and elementwise)
  double worst_out = 0, worst_grad = 0, r = 0;
  auto ref = [&](const std::string& name) { return test::read_npy(dir / (name + ".npy")); };
  EXPECT_TRUE(parity::compare_tensors("D(x)", d_real, ref("out_d_real"), tol, &r));
  worst_out = std::max(worst_out, r);
  EXPECT_TRUE(parity::compare_tensors("D(fake)", d_fake, ref("out_d_fake"), tol, &r));
  worst_out = std::max(worst_out, r);
  EXPECT_TRUE(parity::compare_tensors("penalty", reshape(pen, {1}), reshape(ref("out_penalty"), {1}), tol, &r));
  worst_out = std::max(worst_out, r);
  const double pen_rel = r;
  // L_D is a difference of terms of larger magnitude (it cancels to ~0.05 here): its error is
  // judged against the magnitude of its terms, |mean D(x̃)| + |mean D(x)| + penalty.
  parity::Tol tol_loss = tol;
  tol_loss.abs = tol.rel * (std::fabs(mean(d_fake).item()) + std::fabs(mean(d_real).item()) + pen.item());
  EXPECT_TRUE(parity::compare_tensors("L_D", reshape(loss, {1}), reshape(ref("out_loss"), {1}), tol_loss, &r));
  worst_out = std::max(worst_out, r);
  std::string worst_name;
  for (size_t i = 0; i < named.size(); ++i) {
    EXPECT_TRUE(parity::compare_tensors("dL_D/d" + named[i].first, grads[i], ref("grad_" + named[i].first), tol, &r));
    if (r > worst_grad) worst_grad = r, worst_name = named[i].first;
  }
  std::printf(
      "[parity] fanogan3d critic (%lld parameters) [%lld,1,64,64,64]: D(x), D(fake), penalty %.6g (rel %.2e), L_D: "
      "max rel %.2e; %zu parameter gradients: max rel %.2e (%s)\n"
      "         build %.1f s, uad forward+penalty+gradients %.1f s, torch (incl. start) %.1f s\n",
      (long long)n_params, (long long)n, pen.item(), pen_rel, worst_out, named.size(), worst_grad, worst_name.c_str(),
      t_build, t_uad, t_torch);
}
