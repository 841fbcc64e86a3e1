// RMSProp: two steps computed by hand for each variant (plain, momentum, centered, weight decay),
// and several steps against torch.optim.RMSprop (tests/parity/rmsprop_check.py, run once for all
// cases through the parity harness' work dir, npy files and comparison).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "tests/error_of.h"
#include "tests/parity/harness.h"
#include "train/rmsprop.h"

using namespace uad;
using namespace uad::train;
using uad::test::error_of;

namespace {

/// One parameter leaf (f64) with the given values.
Tensor leaf(const std::vector<double>& v, DType t = DType::f64) {
  Tensor p = from_vector(v, {(int64_t)v.size()}, t);
  p.requires_grad_();
  return p;
}

/// Runs two steps with the given per-step gradients and returns the parameter after each.
std::pair<std::vector<double>, std::vector<double>> two_steps(const RMSPropOptions& o, const std::vector<double>& p0,
                                                              const std::vector<double>& g1, const std::vector<double>& g2) {
  Tensor p = leaf(p0);
  RMSProp opt({p}, o);
  p.set_grad(from_vector(g1, {(int64_t)g1.size()}, DType::f64));
  opt.step();
  std::vector<double> a = p.to_vector();
  p.set_grad(from_vector(g2, {(int64_t)g2.size()}, DType::f64));
  opt.step();
  EXPECT_EQ(opt.steps(), 2);
  return {a, p.to_vector()};
}

constexpr double kTol = 1e-12;

}  // namespace

// Parameter 1.0, gradients 0.5 then −0.25, lr 0.1, α 0.9, eps 1e-8 (each line is one update of
// the formula in train/rmsprop.h, written out by hand).
TEST(RMSProp, PlainTwoStepsByHand) {
  RMSPropOptions o;
  o.lr = 0.1;
  o.alpha = 0.9;
  auto [s1, s2] = two_steps(o, {1.0}, {0.5}, {-0.25});
  const double v1 = 0.1 * 0.25;                     // 0.025
  const double p1 = 1.0 - 0.1 * 0.5 / (std::sqrt(v1) + 1e-8);  // 1 − 0.05/0.1581139 ≈ 0.6837723
  const double v2 = 0.9 * v1 + 0.1 * 0.0625;        // 0.02875
  const double p2 = p1 + 0.1 * 0.25 / (std::sqrt(v2) + 1e-8);  // + 0.025/0.1695582 ≈ 0.8312142
  EXPECT_NEAR(s1[0], p1, kTol);
  EXPECT_NEAR(s2[0], p2, kTol);
  EXPECT_NEAR(s1[0], 0.6837722, 1e-6);
  EXPECT_NEAR(s2[0], 0.8312142, 1e-6);
}

TEST(RMSProp, CenteredTwoStepsByHand) {
  RMSPropOptions o;
  o.lr = 0.1;
  o.alpha = 0.9;
  o.centered = true;
  auto [s1, s2] = two_steps(o, {1.0}, {0.5}, {-0.25});
  // v1 = 0.025, m1 = 0.05, √(v1 − m1²) = √0.0225 = 0.15 → p1 = 1 − 0.05/0.15 = 2/3.
  EXPECT_NEAR(s1[0], 1.0 - 0.05 / (0.15 + 1e-8), kTol);
  EXPECT_NEAR(s1[0], 2.0 / 3.0, 1e-7);
  // v2 = 0.02875, m2 = 0.9·0.05 − 0.025 = 0.02, √(0.02875 − 0.0004) = √0.02835.
  EXPECT_NEAR(s2[0], s1[0] + 0.1 * 0.25 / (std::sqrt(0.02835) + 1e-8), kTol);
}

TEST(RMSProp, MomentumTwoStepsByHand) {
  RMSPropOptions o;
  o.lr = 0.1;
  o.alpha = 0.9;
  o.momentum = 0.5;
  auto [s1, s2] = two_steps(o, {1.0, -2.0}, {0.5, 1.0}, {-0.25, 1.0});
  // Element 0: b1 = 0.5/(√0.025 + eps), b2 = 0.5·b1 − 0.25/(√0.02875 + eps).
  const double b1 = 0.5 / (std::sqrt(0.025) + 1e-8), b2 = 0.5 * b1 - 0.25 / (std::sqrt(0.02875) + 1e-8);
  EXPECT_NEAR(s1[0], 1.0 - 0.1 * b1, kTol);
  EXPECT_NEAR(s2[0], 1.0 - 0.1 * b1 - 0.1 * b2, kTol);
  // Element 1 (constant gradient 1): v1 = 0.1, v2 = 0.19; b1 = 1/√0.1, b2 = 0.5·b1 + 1/√0.19.
  const double c1 = 1.0 / (std::sqrt(0.1) + 1e-8), c2 = 0.5 * c1 + 1.0 / (std::sqrt(0.19) + 1e-8);
  EXPECT_NEAR(s1[1], -2.0 - 0.1 * c1, kTol);
  EXPECT_NEAR(s2[1], -2.0 - 0.1 * c1 - 0.1 * c2, kTol);
}

TEST(RMSProp, WeightDecayTwoStepsByHand) {
  RMSPropOptions o;
  o.lr = 0.1;
  o.alpha = 0.9;
  o.weight_decay = 0.2;
  auto [s1, s2] = two_steps(o, {1.0}, {0.5}, {-0.25});
  const double ga = 0.5 + 0.2 * 1.0;  // 0.7
  const double v1 = 0.1 * ga * ga;
  const double p1 = 1.0 - 0.1 * ga / (std::sqrt(v1) + 1e-8);  // = 1 − 0.1/√0.1 ≈ 0.6837723
  const double gb = -0.25 + 0.2 * p1;
  const double v2 = 0.9 * v1 + 0.1 * gb * gb;
  EXPECT_NEAR(s1[0], p1, kTol);
  EXPECT_NEAR(s2[0], p1 - 0.1 * gb / (std::sqrt(v2) + 1e-8), kTol);
}

TEST(RMSProp, SkipsMissingGradientsAndLowersAQuadratic) {
  Tensor a = leaf({3.0, -4.0}), b = leaf({5.0});
  RMSProp opt({a, b}, RMSPropOptions{.lr = 0.05});
  double first = 0, last = 0;
  for (int it = 0; it < 200; ++it) {
    opt.zero_grad();
    Tensor loss = sum(square(a));  // b gets no gradient
    loss.backward();
    if (it == 0) first = loss.item();
    last = loss.item();
    opt.step();
  }
  EXPECT_LT(last, 0.01 * first);
  EXPECT_EQ(b.to_vector(), std::vector<double>{5.0});
  EXPECT_EQ(opt.square_avg().size(), 2u);
  EXPECT_TRUE(opt.momentum_buffer().empty());
  EXPECT_TRUE(opt.grad_avg().empty());
}

TEST(RMSProp, Errors) {
  Tensor x = leaf({1.0});
  Tensor y = mul(x, x);  // not a leaf
  EXPECT_NE(error_of([&] { RMSProp({y}, {}); }).find("parameter 0 must be a contiguous floating leaf"), std::string::npos);
  EXPECT_NE(error_of([&] { RMSProp({x}, RMSPropOptions{.alpha = 1.5}); }).find("RMSProp: invalid options"), std::string::npos);
  EXPECT_NE(error_of([&] { RMSProp({x}, RMSPropOptions{.lr = -1}); }).find("RMSProp: invalid options"), std::string::npos);
  RMSProp opt({x}, {});
  x.set_grad(from_vector({1, 2}, {2}, DType::f64));
  EXPECT_NE(error_of([&] { opt.step(); }).find("gradient shape [2]"), std::string::npos);
}

// torch.optim.RMSprop on the same parameter and gradients, 3 steps, every variant, f64 (tight)
// and f32 (one case large enough for the multithreaded loop).
TEST(RMSProp, MatchesPyTorch) {
  struct Case {
    std::string label;
    RMSPropOptions o;
    DType dtype;
    int64_t n;
  };
  const std::vector<Case> cases = {
      {"defaults", {}, DType::f64, 50},
      {"f-AnoGAN encoder lr 5e-5", {.lr = 5e-5}, DType::f64, 50},
      {"momentum", {.lr = 0.01, .momentum = 0.9}, DType::f64, 50},
      {"centered", {.lr = 0.01, .alpha = 0.9, .centered = true}, DType::f64, 50},
      {"centered+momentum+wd", {.lr = 0.02, .alpha = 0.95, .eps = 1e-6, .weight_decay = 0.1, .momentum = 0.5, .centered = true},
       DType::f64, 50},
      {"f32 large", {.lr = 1e-3, .momentum = 0.9, .centered = true}, DType::f32, 70000},
  };
  const int steps = 3;
  std::vector<std::string> dirs;
  std::vector<std::vector<Tensor>> ours;
  for (size_t c = 0; c < cases.size(); ++c) {
    const Case& k = cases[c];
    std::string dir = parity::Workdir::get().new_case("rmsprop");
    dirs.push_back(dir);
    Tensor p0 = (parity::uniform({k.n}, 100 + c) * 2.0).to(k.dtype).contiguous();
    test::write_npy(dir + "/in_p.npy", p0);
    Tensor p = p0.clone().detach();
    p.requires_grad_();
    RMSProp opt({p}, k.o);
    std::vector<Tensor> after;
    for (int s = 0; s < steps; ++s) {
      Tensor g = parity::uniform({k.n}, 200 + 10 * c + s).to(k.dtype).contiguous();
      test::write_npy(dir + "/in_g" + std::to_string(s) + ".npy", g);
      p.set_grad(g);
      opt.step();
      after.push_back(p.detach().clone());
    }
    ours.push_back(after);
    parity::Params o;
    o.num("lr", k.o.lr).num("alpha", k.o.alpha).num("eps", k.o.eps).num("weight_decay", k.o.weight_decay);
    o.num("momentum", k.o.momentum).flag("centered", k.o.centered);
    std::ofstream f(dir + "/params.json");
    f << "{\"options\": " << o.json() << ", \"steps\": " << steps << "}\n";
  }
  std::string cmd = std::string("/usr/bin/python3 ") + UAD_SOURCE_DIR + "/tests/parity/rmsprop_check.py";
  for (auto& d : dirs) cmd += " " + d;
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string text;
  char buf[1024];
  while (size_t r = fread(buf, 1, sizeof buf, pipe)) text.append(buf, r);
  ASSERT_EQ(pclose(pipe), 0) << "rmsprop_check.py: " << text;
  ASSERT_EQ(text.rfind("ok ", 0), 0u) << text;
  for (size_t c = 0; c < cases.size(); ++c) {
    parity::Tol tol;
    tol.rel = tol.elem_rel = cases[c].dtype == DType::f64 ? 1e-12 : 2e-6;
    tol.elem_floor = cases[c].dtype == DType::f64 ? 1e-13 : 1e-6;
    for (int s = 0; s < steps; ++s) {
      Tensor ref = test::read_npy(dirs[c] + "/out_" + std::to_string(s) + ".npy");
      EXPECT_TRUE(parity::compare_tensors(cases[c].label + " step " + std::to_string(s + 1), ours[c][s], ref, tol));
    }
  }
}
