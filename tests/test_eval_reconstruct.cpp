// eval/reconstruct.h (anomaly-map methods) and eval/run.h (loading a run), on tiny models whose
// reconstructions and gradients are known in closed form.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "eval/reconstruct.h"
#include "eval/run.h"
#include "layers/dropout.h"
#include "model_test_util.h"
#include "tensor/ops.h"

namespace uad {
namespace {

namespace fs = std::filesystem;
using eval::MapMethod;
using eval::MapOptions;

/// x̂ = a·x; loss = mean_batch Σ_pix (x − c)² (part "l1" so the gradient methods use it).
class ToyModel : public models::ReconstructionModel {
 public:
  ToyModel(double a, double c) : a_(a), c_(c) {}
  Tensor reconstruct(const Tensor& x) override { return x * a_; }
  models::LossTerms loss(const Tensor& x) override {
    Tensor l = sum(square(x - c_)) / (double)x.size(0);
    return {l, {{"l1", l}}};
  }
  std::string type_name() const override { return "ToyModel"; }
  Tensor image_score(const Tensor& x) override { return sum(x, {1, 2, 3}); }

 private:
  double a_, c_;
};

/// x̂ = dropout_p(x): the Monte-Carlo mean converges to x.
class DropoutModel : public models::ReconstructionModel {
 public:
  explicit DropoutModel(double p) { drop_ = register_module("drop", std::make_shared<nn::Dropout>(p)); }
  Tensor reconstruct(const Tensor& x) override { return drop_->forward(x); }
  models::LossTerms loss(const Tensor& x) override { return {sum(x), {}}; }
  std::string type_name() const override { return "DropoutModel"; }

 private:
  std::shared_ptr<nn::Dropout> drop_;
};

/// A [Z,H,W] stack: slice z filled with (z+1)/10 + tiny ramp; brain on slices 1 and 3 only.
void stack(Tensor& x, Tensor& brain) {
  x = empty({4, 3, 5});
  brain = zeros({4, 3, 5}, DType::u8);
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = (float)((i / 15 + 1) * 0.1 + (i % 15) * 0.001);
  uint8_t* b = brain.data<uint8_t>();
  for (int64_t i = 0; i < 15; ++i) b[15 + i] = 1;
  b[45 + 7] = 1;  // slice 3: a single brain voxel is enough
}

TEST(EvalReconstruct, ResidualReconstructsOnlySlicesWithBrain) {
  ToyModel m(0.5, 0.0);
  Tensor x, brain;
  stack(x, brain);
  eval::ReconstructStats st;
  MapOptions o;
  o.batch = 1;  // two batches
  Tensor r = eval::reconstruct_stack(m, {1, 3, 5}, x, brain, o, &st);
  EXPECT_EQ(st.slices, 2);
  auto vx = x.to_vector(), vr = r.to_vector();
  for (size_t i = 0; i < vx.size(); ++i) {
    const int64_t z = (int64_t)i / 15;
    const double want = (z == 1 || z == 3) ? 0.5 * vx[i] : vx[i];
    EXPECT_NEAR(vr[i], want, 1e-7) << i;
  }
}

TEST(EvalReconstruct, RestorationFollowsTheClosedFormGradientFlow) {
  // L = Σ (x − c)² per slice ⇒ x_{t+1} = x_t − lr·2(x_t − c) ⇒ x_s = c + (x_0 − c)(1 − 2lr)^s.
  const double c = 0.3, lr = 0.05;
  const int steps = 7;
  ToyModel m(1.0, c);
  Tensor x, brain;
  stack(x, brain);
  MapOptions o;
  o.method = MapMethod::restoration;
  o.restoration_steps = steps;
  o.restoration_lr = lr;
  o.batch = 2;
  Tensor r = eval::reconstruct_stack(m, {1, 3, 5}, x, brain, o);
  auto vx = x.to_vector(), vr = r.to_vector();
  const double f = std::pow(1 - 2 * lr, steps);
  for (size_t i = 0; i < vx.size(); ++i) {
    const int64_t z = (int64_t)i / 15;
    const double want = (z == 1 || z == 3) ? c + (vx[i] - c) * f : vx[i];
    EXPECT_NEAR(vr[i], want, 1e-6) << i;
  }
}

TEST(EvalReconstruct, RestorationTotalVariationTermPullsTowardsTheInput) {
  // With a huge TV weight and a loss that is flat (c = x) the first step is −lr·λ·∂TV(x_r − x)/∂x_r
  // at x_r = x, where TV's subgradient at 0 is 0 (sign(0) = 0): nothing moves.
  ToyModel m(1.0, 0.0);
  Tensor x = full({1, 4, 4}, 0.0), brain = ones({1, 4, 4}, DType::u8);
  MapOptions o;
  o.method = MapMethod::restoration;
  o.restoration_steps = 3;
  o.tv_weight = 100;
  Tensor r = eval::reconstruct_stack(m, {1, 4, 4}, x, brain, o);
  EXPECT_LT(test::max_abs(r), 1e-12);
}

TEST(EvalReconstruct, RestorationStepsAreProjectedOntoTheImageRange) {
  // L = Σ (x − 5)² pulls every pixel up; a huge step would overshoot to ~1e3 — the projection
  // keeps the restored image in [0,1], so it ends at 1 (and never at NaN/Inf).
  ToyModel m(1.0, 5.0);
  Tensor x = full({1, 4, 4}, 0.5), brain = ones({1, 4, 4}, DType::u8);
  MapOptions o;
  o.method = MapMethod::restoration;
  o.restoration_steps = 4;
  o.restoration_lr = 100;
  for (double v : eval::reconstruct_stack(m, {1, 4, 4}, x, brain, o).to_vector()) EXPECT_EQ(v, 1.0);
}

TEST(EvalReconstruct, TotalVariationHandCase) {
  // [[0,1],[3,2]]: vertical |3−0| + |2−1| = 4, horizontal |1−0| + |2−3| = 2.
  Tensor d = from_vector({0, 1, 3, 2}, {1, 1, 2, 2}, DType::f64);
  EXPECT_DOUBLE_EQ(eval::total_variation(d).item(), 6.0);
}

TEST(EvalReconstruct, GradientMapIsResidualTimesLossGradient) {
  // x̂ = 0.5x; ∂L/∂x = 2(x − c) (per slice); a = |x − 0.5x|·|2(x − c)|; x̂_map = x − f·a.
  const double c = 0.25, f = 0.5;
  ToyModel m(0.5, c);
  Tensor x, brain;
  stack(x, brain);
  MapOptions o;
  o.method = MapMethod::gradient;
  o.gradient_factor = f;
  Tensor r = eval::reconstruct_stack(m, {1, 3, 5}, x, brain, o);
  auto vx = x.to_vector(), vr = r.to_vector();
  for (size_t i = 0; i < vx.size(); ++i) {
    const int64_t z = (int64_t)i / 15;
    const double a = std::fabs(0.5 * vx[i]) * std::fabs(2 * (vx[i] - c));
    const double want = (z == 1 || z == 3) ? vx[i] - f * a : vx[i];
    EXPECT_NEAR(vr[i], want, 1e-6) << i;
  }
}

TEST(EvalReconstruct, MonteCarloAveragesDropoutPassesAndRestoresTheModel) {
  DropoutModel m(0.5);
  Tensor x = full({1, 8, 8}, 0.4), brain = ones({1, 8, 8}, DType::u8);
  MapOptions o;
  o.method = MapMethod::monte_carlo;
  o.mc_samples = 400;
  Tensor r = eval::reconstruct_stack(m, {1, 8, 8}, x, brain, o);
  // Each pass is 0 or 0.8 per pixel (inverted dropout); the mean of 400 has std 0.4/20 = 0.02.
  auto v = r.to_vector();
  double mean = 0;
  for (double e : v) mean += e / (double)v.size();
  EXPECT_NEAR(mean, 0.4, 0.01);
  for (double e : v) EXPECT_NEAR(e, 0.4, 0.1);
  // Not all equal: the passes were stochastic.
  EXPECT_GT(*std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end()), 1e-3);
  // Afterwards dropout is off again in eval mode: a residual pass is the identity.
  Tensor r2 = eval::reconstruct_stack(m, {1, 8, 8}, x, brain, MapOptions{});
  EXPECT_EQ(test::max_abs_diff(r2, x), 0.0);
  // Same seed, same map.
  Tensor r3 = eval::reconstruct_stack(m, {1, 8, 8}, x, brain, o);
  EXPECT_EQ(test::max_abs_diff(r, r3), 0.0);
}

TEST(EvalReconstruct, MonteCarloOnADeterministicModelIsAnError) {
  ToyModel m(1.0, 0.0);
  Tensor x = full({1, 4, 4}, 0.4), brain = ones({1, 4, 4}, DType::u8);
  MapOptions o;
  o.method = MapMethod::monte_carlo;
  try {
    eval::reconstruct_stack(m, {1, 4, 4}, x, brain, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("monte_carlo needs a model with dropout"), std::string::npos) << e.what();
  }
}

TEST(EvalReconstruct, BadShapesAndOptionsAreErrors) {
  ToyModel m(1.0, 0.0);
  Tensor x = full({2, 4, 4}, 0.4), brain = ones({2, 4, 4}, DType::u8);
  EXPECT_THROW(eval::reconstruct_stack(m, {1, 8, 8}, x, brain, MapOptions{}), Error);      // slice size
  EXPECT_THROW(eval::reconstruct_stack(m, {1, 4, 4}, x, ones({2, 4, 5}), MapOptions{}), Error);  // mask shape
  EXPECT_THROW(eval::reconstruct_stack(m, {1, 4, 4}, x.reshape({2, 16}), brain, MapOptions{}), Error);
  MapOptions o;
  o.batch = 0;
  EXPECT_THROW(eval::validate(o), Error);
  o = {};
  o.restoration_lr = -1;
  EXPECT_THROW(eval::validate(o), Error);
  EXPECT_THROW(eval::parse_map_method("magic"), Error);
  EXPECT_EQ(eval::parse_map_method("mc"), MapMethod::monte_carlo);
}

TEST(EvalReconstruct, ModelImageScoreIsTheMeanOverBrainSlices) {
  ToyModel m(1.0, 0.0);  // score = Σ pixels of the slice
  Tensor x, brain;
  stack(x, brain);
  auto v = x.to_vector();
  double s1 = 0, s3 = 0;
  for (int i = 0; i < 15; ++i) s1 += v[15 + i], s3 += v[45 + i];
  EXPECT_NEAR(eval::model_image_score(m, {1, 3, 5}, x, brain, 1), (s1 + s3) / 2, 1e-5);
  // A model without its own score: NaN.
  DropoutModel d(0.1);
  EXPECT_TRUE(std::isnan(eval::model_image_score(d, {1, 3, 5}, x, brain)));
}

TEST(EvalRun, MissingFolderConfigOrCheckpointIsOneClearError) {
  const fs::path dir = fs::temp_directory_path() / ("uad_eval_run_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto msg = [&](const std::string& d) {
    try {
      eval::load_run(d);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg(dir.string()).find("does not exist"), std::string::npos);
  fs::create_directories(dir);
  EXPECT_NE(msg(dir.string()).find("no config.json"), std::string::npos);
  std::ofstream(dir / "config.json") << R"({"model": "ae_dense", "data": "x", "out": "y"})";
  EXPECT_NE(msg(dir.string()).find("no checkpoint"), std::string::npos);
  std::ofstream(dir / "config.json") << R"({"model": "no_such_model", "data": "x", "out": "y"})";
  EXPECT_NE(msg(dir.string()).find("unknown model"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace uad
