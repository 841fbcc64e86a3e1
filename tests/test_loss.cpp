// Losses: every loss under every reduction on hand-computed cases, KL identities, stability.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

namespace {

/// The loss under all four reductions: {none values, mean, sum, batch_mean} for a [2,2] input.
void expect_reductions(const std::function<Tensor(Reduction)>& f, const std::vector<double>& none, double tol = 1e-6) {
  expect_values(f(Reduction::none), none, tol);
  double s = 0;
  for (double v : none) s += v;
  expect_values(f(Reduction::mean), {s / (double)none.size()}, tol);
  expect_values(f(Reduction::sum), {s}, tol);
  expect_values(f(Reduction::batch_mean), {s / 2.0}, tol);  // summed per sample, averaged over N = 2
  EXPECT_EQ(f(Reduction::mean).dim(), 0);
}

}  // namespace

TEST(Loss, ReduceLoss) {
  Tensor l = from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  expect_values(reduce_loss(l, Reduction::none), {1, 2, 3, 4, 5, 6});
  expect_values(reduce_loss(l, Reduction::mean), {3.5});
  expect_values(reduce_loss(l, Reduction::sum), {21});
  expect_values(reduce_loss(l, Reduction::batch_mean), {7});
  EXPECT_THROW(reduce_loss(scalar_tensor(1.0), Reduction::batch_mean), Error);
}

TEST(Loss, L1AndMse) {
  Tensor x = from_vector({1, 2, 3, 4}, {2, 2}), y = from_vector({1, 0, 5, 4.5}, {2, 2});
  expect_reductions([&](Reduction r) { return l1_loss(x, y, r); }, {0, 2, 2, 0.5});
  expect_reductions([&](Reduction r) { return mse_loss(x, y, r); }, {0, 4, 4, 0.25});
  EXPECT_THROW(l1_loss(x, zeros({4}), Reduction::mean), Error);
  EXPECT_THROW(mse_loss(x, zeros({2, 2}, DType::f64), Reduction::mean), Error);
}

TEST(Loss, L1GradientIsZeroAtEquality) {
  Tensor x = from_vector({1, 2, 3}, {3}, DType::f64).requires_grad_();
  Tensor y = from_vector({1, 3, 2}, {3}, DType::f64);
  expect_values(grad({l1_loss(x, y, Reduction::sum)}, {x})[0], {0, -1, 1}, 1e-15);
  expect_values(grad({l1_loss(x, y, Reduction::mean)}, {x})[0], {0, -1.0 / 3, 1.0 / 3}, 1e-15);
}

TEST(Loss, BceWithLogits) {
  // max(z,0) − z·t + log(1 + e^{−|z|}) by hand.
  Tensor z = from_vector({0, 2, -3, 100}, {2, 2}, DType::f64), t = from_vector({1, 0, 0.5, 1}, {2, 2}, DType::f64);
  expect_reductions([&](Reduction r) { return bce_with_logits(z, t, r); },
                    {std::log(2.0), 2 + std::log1p(std::exp(-2.0)), 1.5 + std::log1p(std::exp(-3.0)), std::exp(-100.0)},
                    1e-12);
  // Equals the textbook −[t·log σ(z) + (1−t)·log(1−σ(z))] where that is well conditioned.
  Tensor zz = uniform64({50}, 3, -4, 4), tt = uniform64({50}, 4, 0, 1);
  Tensor s = sigmoid(zz);
  Tensor naive = neg(tt * log(s) + (1.0 - tt) * log(1.0 - s));
  std::vector<double> a = bce_with_logits(zz, tt, Reduction::none).to_vector(), b = naive.to_vector();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-12);
  // Stable for huge logits in f32 (the naive form gives inf or nan).
  Tensor zf = from_vector({-200, 200}, {2}), tf = from_vector({1, 0}, {2});
  expect_values(bce_with_logits(zf, tf, Reduction::none), {200, 200}, 1e-3);
  // The gradient at z = 0 is σ(0) − t exactly.
  Tensor z0 = zeros({1}, DType::f64).requires_grad_();
  expect_values(grad({bce_with_logits(z0, ones({1}, DType::f64), Reduction::sum)}, {z0})[0], {-0.5}, 1e-15);
}

TEST(Loss, KlNormalStd) {
  // ½(μ² + e^{lv} − lv − 1): N(0,1) → 0; μ = 1 → ½; lv = ln 2 → ½(1 − ln 2); μ = 2, lv = −1 → ½(4 + e^{−1}).
  Tensor mu = from_vector({0, 1, 0, 2}, {2, 2}, DType::f64), lv = from_vector({0, 0, std::log(2.0), -1}, {2, 2}, DType::f64);
  expect_reductions([&](Reduction r) { return kl_normal_std(mu, lv, r); },
                    {0, 0.5, 0.5 * (1 - std::log(2.0)), 0.5 * (4 + std::exp(-1.0))}, 1e-12);
  expect_values(kl_normal_std(zeros({4, 8}), zeros({4, 8})), {0});  // N(0, I) to itself
  EXPECT_THROW(kl_normal_std(zeros({2}), zeros({3})), Error);
}

TEST(Loss, KlNormal) {
  Tensor m = uniform64({3, 4}, 10), v = uniform64({3, 4}, 11);
  // Identical Gaussians: 0 for every element.
  for (double e : kl_normal(m, v, m, v, Reduction::none).to_vector()) EXPECT_NEAR(e, 0.0, 1e-15);
  // Against N(0, I) it is kl_normal_std.
  Tensor z = zeros({3, 4}, DType::f64);
  expect_values(kl_normal(m, v, z, z, Reduction::batch_mean), kl_normal_std(m, v, Reduction::batch_mean).to_vector(), 1e-12);
  // Hand case: μ1 = 1, lv1 = ln 4, μ2 = −1, lv2 = ln 2: ½(ln2 − ln4 + (4 + 4)/2 − 1) = ½(3 − ln 2).
  Tensor a = from_vector({1, 0, 1, 1}, {2, 2}, DType::f64), la = from_vector({std::log(4.0), 0, 0, 0}, {2, 2}, DType::f64);
  Tensor b = from_vector({-1, 0, 0, 1}, {2, 2}, DType::f64), lb = from_vector({std::log(2.0), 1, 0, 0}, {2, 2}, DType::f64);
  // element 1: ½(1 − 0 + e^{−1} − 1) = ½e^{−1}; element 2: ½(0 + 1 + 1 − 1) = ½; element 3: 0.
  expect_reductions([&](Reduction r) { return kl_normal(a, la, b, lb, r); },
                    {0.5 * (3 - std::log(2.0)), 0.5 * std::exp(-1.0), 0.5, 0}, 1e-12);
}

TEST(Loss, GaussianNll) {
  // ½(lv + (x−μ)²/e^{lv}): x=1, μ=0, lv=0 → ½; x=2, μ=0, lv=ln4 → ½(ln4 + 1); x=μ, lv=−2 → −1; x=3, μ=1, lv=0 → 2.
  Tensor x = from_vector({1, 2, 5, 3}, {2, 2}, DType::f64), mu = from_vector({0, 0, 5, 1}, {2, 2}, DType::f64);
  Tensor lv = from_vector({0, std::log(4.0), -2, 0}, {2, 2}, DType::f64);
  std::vector<double> e = {0.5, 0.5 * (std::log(4.0) + 1), -1, 2};
  expect_reductions([&](Reduction r) { return gaussian_nll(x, mu, lv, r); }, e, 1e-12);
  const double c = 0.5 * std::log(2 * M_PI);
  expect_values(gaussian_nll(x, mu, lv, Reduction::none, true), {e[0] + c, e[1] + c, e[2] + c, e[3] + c}, 1e-12);
  // A shared scalar log-variance broadcasts.
  expect_values(gaussian_nll(x, mu, zeros({}, DType::f64), Reduction::sum), {0.5 + 2 + 0 + 2}, 1e-12);
  EXPECT_THROW(gaussian_nll(x, zeros({3}, DType::f64), lv), Error);
}
