// Normalisations, dropout and softmax: hand-computed forward values, running statistics,
// fused-vs-composed agreement on shapes that exercise the chunked/parallel kernels, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

namespace {

constexpr double kEps = 1e-5;

/// max |a − b| over all elements (same shape required).
double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  std::vector<double> x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

}  // namespace

// ---- layer norm --------------------------------------------------------------------------------

TEST(LayerNorm, HandComputed) {
  // mean 2.5, biased variance 1.25.
  Tensor x = from_vector({1, 2, 3, 4}, {1, 4});
  const double s = 1.0 / std::sqrt(1.25 + kEps);
  expect_values(layer_norm(x, 1), {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s}, 1e-6);
  // With weight and bias: y = x̂·w + b per position.
  Tensor w = from_vector({1, 2, 0, -1}, {4}), b = from_vector({0, 1, 2, 3}, {4});
  expect_values(layer_norm(x, 1, w, b), {-1.5 * s, 1 - 1.0 * s, 2, 3 - 1.5 * s}, 1e-6);
  // Two rows normalised independently; second row [10, 10, 10, 14]: mean 11, var 3.
  Tensor x2 = from_vector({1, 2, 3, 4, 10, 10, 10, 14}, {2, 4}, DType::f64);
  const double s2 = 1.0 / std::sqrt(3.0 + kEps);
  expect_values(layer_norm(x2, 1), {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, -s2, -s2, -s2, 3 * s2}, 1e-9);
  // Over the two trailing dims of [1,2,2] = the same four values.
  expect_values(layer_norm(x.reshape({1, 2, 2}), 2), {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s}, 1e-6);
}

TEST(LayerNorm, FusedMatchesComposedLargeRows) {
  // Two rows of 3·4099 elements: several statistics chunks per row, fewer rows than threads.
  Tensor x = rand({2, 3, 4099}) * 4.0 + 7.0;  // mean far from 0 checks the shifted sums
  Tensor w = rand({3, 4099}), b = rand({3, 4099});
  Tensor fused = layer_norm(x, 2, w, b);
  Tensor ref = normalize_composed(x, {2, 3 * 4099}, {1}, w, b, {1, 3 * 4099});
  EXPECT_LT(max_abs_diff(fused, ref), 2e-5);
  // Many short rows (parallel over rows).
  Tensor y = rand({3000, 7}, default_generator(), DType::f64);
  EXPECT_LT(max_abs_diff(layer_norm(y, 1), normalize_composed(y, {3000, 7}, {1}, Tensor(), Tensor(), {1, 7})), 1e-12);
}

TEST(LayerNorm, FusedBackwardMatchesComposed) {
  // First-order gradients from the fused kernels (no create_graph) against autograd through the
  // composed formula, on shapes large enough for the chunked and row-blocked paths.
  for (Shape s : {Shape{2, 5000}, Shape{200, 33}}) {
    Tensor x = uniform64(s, 5, -2, 3), w = uniform64({s[1]}, 6), b = uniform64({s[1]}, 7), gy = uniform64(s, 8);
    Tensor xa = x.clone().requires_grad_(), wa = w.clone().requires_grad_(), ba = b.clone().requires_grad_();
    Tensor xb = x.clone().requires_grad_(), wb = w.clone().requires_grad_(), bb = b.clone().requires_grad_();
    auto ga = grad({layer_norm(xa, 1, wa, ba)}, {xa, wa, ba}, {gy});
    auto gb = grad({normalize_composed(xb, s, {1}, wb, bb, {1, s[1]})}, {xb, wb, bb}, {gy});
    for (int i = 0; i < 3; ++i) EXPECT_LT(max_abs_diff(ga[i], gb[i]), 1e-10) << "input " << i << " shape " << shape_str(s);
  }
}

TEST(LayerNorm, Errors) {
  Tensor x = zeros({2, 3});
  EXPECT_THROW(layer_norm(x, 3), Error);
  EXPECT_THROW(layer_norm(x, 0), Error);
  EXPECT_THROW(layer_norm(x, 1, zeros({2})), Error);
  EXPECT_THROW(layer_norm(x, 1, zeros({3}, DType::f64)), Error);
}

// ---- batch norm --------------------------------------------------------------------------------

TEST(BatchNorm, TrainingHandComputedAndRunningStats) {
  // x [N=2, C=2, 2]: channel 0 = {1, 3, 5, 7} (mean 4, biased var 5, unbiased 20/3),
  //                  channel 1 = {2, 2, 2, 6} (mean 3, biased var 3, unbiased 4).
  Tensor x = from_vector({1, 3, 2, 2, 5, 7, 2, 6}, {2, 2, 2});
  Tensor rm = zeros({2}), rv = ones({2});
  Tensor w = from_vector({2, 1}, {2}), b = from_vector({0, -1}, {2});
  Tensor y = batch_norm(x, w, b, rm, rv, true, 0.1);
  const double s0 = 2.0 / std::sqrt(5.0 + kEps), s1 = 1.0 / std::sqrt(3.0 + kEps);
  expect_values(y, {-3 * s0, -1 * s0, -1 - s1, -1 - s1, 1 * s0, 3 * s0, -1 - s1, -1 + 3 * s1}, 1e-5);
  // r ← 0.9·r + 0.1·stat, the variance unbiased.
  expect_values(rm, {0.4, 0.3}, 1e-6);
  expect_values(rv, {0.9 + 0.1 * 20.0 / 3.0, 0.9 + 0.1 * 4.0}, 1e-6);
  // A second step moves the buffers again from their new values.
  batch_norm(x, w, b, rm, rv, true, 0.5);
  expect_values(rm, {0.5 * 0.4 + 0.5 * 4, 0.5 * 0.3 + 0.5 * 3}, 1e-6);
}

TEST(BatchNorm, EvalUsesRunningStats) {
  Tensor x = from_vector({1, 3, 2, 2, 5, 7, 2, 6}, {2, 2, 2}, DType::f64);
  Tensor rm = from_vector({1, -1}, {2}, DType::f64), rv = from_vector({4, 0.25}, {2}, DType::f64);
  Tensor w = from_vector({2, 1}, {2}, DType::f64), b = from_vector({0.5, 0}, {2}, DType::f64);
  Tensor y = batch_norm(x, w, b, rm, rv, false);
  const double a0 = 2.0 / std::sqrt(4 + kEps), a1 = 1.0 / std::sqrt(0.25 + kEps);
  expect_values(y, {0.5 + a0 * 0, 0.5 + a0 * 2, a1 * 3, a1 * 3, 0.5 + a0 * 4, 0.5 + a0 * 6, a1 * 3, a1 * 7}, 1e-9);
  expect_values(rm, {1, -1});  // eval leaves the buffers alone
  // Without affine parameters.
  expect_values(batch_norm(x.slice(0, 0, 1), Tensor(), Tensor(), rm, rv, false),
                {0, 2 / std::sqrt(4 + kEps), 3 * a1, 3 * a1}, 1e-9);
}

TEST(BatchNorm, FusedMatchesComposedAndBackward) {
  // [3, 4, 70·70]: chunked per (n, c) segment; batch statistics over (N, H·W).
  Tensor x = uniform64({3, 4, 70, 70}, 11, -1, 5), w = uniform64({4}, 12), b = uniform64({4}, 13);
  Tensor gy = uniform64(x.shape(), 14);
  Tensor xa = x.clone().requires_grad_(), wa = w.clone().requires_grad_(), ba = b.clone().requires_grad_();
  Tensor xb = x.clone().requires_grad_(), wb = w.clone().requires_grad_(), bb = b.clone().requires_grad_();
  Tensor ya = batch_norm(xa, wa, ba, Tensor(), Tensor(), true);
  Tensor yb = normalize_composed(xb, {3, 4, 4900}, {0, 2}, wb, bb, {1, 4, 1});
  EXPECT_LT(max_abs_diff(ya, yb), 1e-12);
  auto ga = grad({ya}, {xa, wa, ba}, {gy});
  auto gb = grad({yb}, {xb, wb, bb}, {gy});
  for (int i = 0; i < 3; ++i) EXPECT_LT(max_abs_diff(ga[i], gb[i]), 1e-10) << "input " << i;
}

TEST(BatchNorm, Errors) {
  EXPECT_THROW(batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true), Error);  // 1 value per channel
  EXPECT_THROW(batch_norm(zeros({2, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false), Error);  // eval without stats
  EXPECT_THROW(batch_norm(zeros({2, 3}), zeros({2}), Tensor(), Tensor(), Tensor(), true), Error);
  EXPECT_THROW(batch_norm(zeros({2, 3}), Tensor(), Tensor(), zeros({4}), ones({4}), true), Error);
  EXPECT_THROW(batch_norm(zeros({3}), Tensor(), Tensor(), Tensor(), Tensor(), true), Error);
}

// ---- instance and group norm -----------------------------------------------------------------

TEST(InstanceNorm, HandComputed) {
  // [N=1, C=2, 4]: channel 0 = {1,2,3,4}, channel 1 = {0,0,0,8} (mean 2, var 12).
  Tensor x = from_vector({1, 2, 3, 4, 0, 0, 0, 8}, {1, 2, 4});
  const double s = 1.0 / std::sqrt(1.25 + kEps), s1 = 1.0 / std::sqrt(12.0 + kEps);
  expect_values(instance_norm(x), {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, -2 * s1, -2 * s1, -2 * s1, 6 * s1}, 1e-6);
  Tensor w = from_vector({2, -1}, {2}), b = from_vector({1, 0}, {2});
  expect_values(instance_norm(x, w, b), {1 - 3 * s, 1 - s, 1 + s, 1 + 3 * s, 2 * s1, 2 * s1, 2 * s1, -6 * s1}, 1e-6);
  EXPECT_THROW(instance_norm(zeros({2, 3})), Error);
  EXPECT_THROW(instance_norm(zeros({2, 3, 1})), Error);
}

TEST(GroupNorm, HandComputedAndEquivalences) {
  // [1, C=4, 2] with 2 groups: group 0 = channels 0,1 = {1,2,3,4}; group 1 = {0,0,0,8}.
  Tensor x = from_vector({1, 2, 3, 4, 0, 0, 0, 8}, {1, 4, 2});
  const double s = 1.0 / std::sqrt(1.25 + kEps), s1 = 1.0 / std::sqrt(12.0 + kEps);
  Tensor w = from_vector({1, 2, 3, 4}, {4}), b = from_vector({0, 0, 1, 1}, {4});
  expect_values(group_norm(x, 2, w, b), {-1.5 * s, -0.5 * s, 1 * s, 3 * s, 1 - 6 * s1, 1 - 6 * s1, 1 - 8 * s1, 1 + 24 * s1},
                1e-6);
  // groups = C is instance norm; groups = 1 is layer norm over (C, *) without affine.
  Tensor y = uniform64({3, 4, 5, 6}, 31), wc = uniform64({4}, 32), bc = uniform64({4}, 33);
  EXPECT_LT(max_abs_diff(group_norm(y, 4, wc, bc), instance_norm(y, wc, bc)), 1e-12);
  EXPECT_LT(max_abs_diff(group_norm(y, 1), layer_norm(y, 3)), 1e-12);
  EXPECT_THROW(group_norm(y, 3), Error);
  EXPECT_THROW(group_norm(y, 0), Error);
}

TEST(GroupNorm, FusedBackwardMatchesComposed) {
  Tensor x = uniform64({2, 6, 1500}, 41, 0, 3), w = uniform64({6}, 42), b = uniform64({6}, 43), gy = uniform64(x.shape(), 44);
  Tensor xa = x.clone().requires_grad_(), wa = w.clone().requires_grad_(), ba = b.clone().requires_grad_();
  Tensor xb = x.clone().requires_grad_(), wb = w.clone().requires_grad_(), bb = b.clone().requires_grad_();
  Tensor ya = group_norm(xa, 3, wa, ba), yb = normalize_composed(xb, {2, 3, 2, 1500}, {2, 3}, wb, bb, {1, 3, 2, 1});
  EXPECT_LT(max_abs_diff(ya, yb), 1e-12);
  auto ga = grad({ya}, {xa, wa, ba}, {gy});
  auto gb = grad({yb}, {xb, wb, bb}, {gy});
  for (int i = 0; i < 3; ++i) EXPECT_LT(max_abs_diff(ga[i], gb[i]), 1e-10) << "input " << i;
}

// ---- dropout -----------------------------------------------------------------------------------

TEST(Dropout, RateScalingAndDeterminism) {
  const double p = 0.3;
  Tensor x = ones({100000});
  Generator g1(77), g2(77), g3(78);
  Tensor y = dropout(x, p, true, g1);
  std::vector<double> v = y.to_vector();
  int64_t zeros_n = 0;
  for (double e : v) {
    if (e == 0) ++zeros_n;
    else EXPECT_NEAR(e, 1.0 / (1.0 - p), 1e-6);
  }
  // Binomial(1e5, 0.3): σ ≈ 145, so ±1% (= 1000) is ~7σ.
  EXPECT_NEAR((double)zeros_n / 1e5, p, 0.01);
  EXPECT_EQ(dropout(x, p, true, g2).to_vector(), v);        // same seed → same mask
  EXPECT_NE(dropout(x, p, true, g3).to_vector(), v);        // other seed → other mask
  EXPECT_NE(dropout(x, p, true, g1).to_vector(), v);        // the generator advanced
  // The mask is uad::bernoulli(1 − p) on the same stream.
  Generator gb(77);
  Tensor keep = bernoulli({100000}, 1.0 - p, gb);
  EXPECT_EQ(y.to_vector(), (keep * (1.0 / (1.0 - p))).to_vector());
}

TEST(Dropout, IdentityAndEdgeCases) {
  Tensor x = from_vector({1, -2, 3}, {3});
  Generator g(1);
  expect_values(dropout(x, 0.5, false, g), {1, -2, 3});
  expect_values(dropout(x, 0.0, true, g), {1, -2, 3});
  expect_values(dropout(x, 1.0, true, g), {0, 0, 0});
  EXPECT_THROW(dropout(x, 1.5, true, g), Error);
  // Gradient: the mask itself (a constant).
  Tensor xl = uniform64({1000}, 3).requires_grad_();
  Generator gd(9);
  Tensor y = dropout(xl, 0.25, true, gd);
  Tensor gx = grad({sum(y)}, {xl})[0];
  std::vector<double> yv = y.to_vector(), xv = xl.to_vector(), gv = gx.to_vector();
  for (size_t i = 0; i < gv.size(); ++i) EXPECT_NEAR(gv[i] * xv[i], yv[i], 1e-12);
}

// ---- softmax -----------------------------------------------------------------------------------

TEST(Softmax, HandComputed) {
  // softmax([0, ln2, ln3]) = [1, 2, 3]/6.
  Tensor x = from_vector({0, std::log(2.0), std::log(3.0), 1000, 1000, 1000}, {2, 3}, DType::f64);
  expect_values(softmax(x, 1), {1.0 / 6, 2.0 / 6, 3.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-12);
  expect_values(log_softmax(x, -1), {std::log(1.0 / 6), std::log(2.0 / 6), std::log(0.5), -std::log(3.0), -std::log(3.0),
                                     -std::log(3.0)},
                1e-12);
  // Along dim 0 (the strided path): columns (0,1000), (ln2,1000), (ln3,1000) → first row ≈ 0.
  Tensor c = softmax(x, 0);
  expect_values(c, {0, 0, 0, 1, 1, 1}, 1e-12);
  // f32 uses the polynomial exp: still within ~1 ulp.
  Tensor xf = from_vector({0, std::log(2.0), std::log(3.0)}, {3});
  expect_values(softmax(xf, 0), {1.0 / 6, 2.0 / 6, 3.0 / 6}, 1e-7);
  expect_values(log_softmax(xf, 0), {std::log(1.0 / 6), std::log(2.0 / 6), std::log(0.5)}, 1e-6);
  // A −inf entry gets probability exactly 0.
  Tensor m = from_vector({-INFINITY, 0, 0}, {3});
  expect_values(softmax(m, 0), {0, 0.5, 0.5}, 1e-7);
}

TEST(Softmax, RowsSumToOneAndMatchFormula) {
  // Shapes covering inner == 1, inner < chunk, inner > chunk (600 > 512), in f32 and f64.
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = rand({3, 5, 600}, default_generator(), dt) * 20.0 - 10.0;
    for (int64_t d : {0, 1, 2}) {
      Tensor y = softmax(x, d);
      Tensor s = sum(y, {d});
      for (double v : s.to_vector()) EXPECT_NEAR(v, 1.0, 1e-5);
      Tensor e = exp(x - amax(x, {d}, true));
      Tensor ref = e / sum(e, {d}, true);
      EXPECT_LT(max_abs_diff(y, ref), dt == DType::f32 ? 1e-6 : 1e-14) << "dim " << d;
      Tensor lref = (x - amax(x, {d}, true)) - log(sum(e, {d}, true));
      EXPECT_LT(max_abs_diff(log_softmax(x, d), lref), dt == DType::f32 ? 1e-5 : 1e-13) << "dim " << d;
    }
  }
  EXPECT_THROW(softmax(zeros({2, 3}), 2), Error);
}

TEST(Softmax, FusedBackwardMatchesComposed) {
  for (int64_t d : {0, 1}) {
    Tensor x = uniform64({40, 700}, 51, -3, 3), gy = uniform64({40, 700}, 52);
    Tensor xa = x.clone().requires_grad_(), xb = x.clone().requires_grad_();
    Tensor ga = grad({softmax(xa, d)}, {xa}, {gy})[0];
    Tensor eb = exp(xb - amax(xb, {d}, true).detach());
    Tensor gb = grad({eb / sum(eb, {d}, true)}, {xb}, {gy})[0];
    EXPECT_LT(max_abs_diff(ga, gb), 1e-13);
    Tensor la = grad({log_softmax(xa, d)}, {xa}, {gy})[0];
    Tensor lb = grad({xb - log(sum(exp(xb), {d}, true))}, {xb}, {gy})[0];
    EXPECT_LT(max_abs_diff(la, lb), 1e-12);
  }
}
