// Finite-difference gradient checks in float64 (first and second order), used by every op test.
//
// First order: L(x) = Σ f(x)·w with a fixed random w; the analytic ∂L/∂x from autograd is compared
// with central differences (L(x+εeᵢ) − L(x−εeᵢ))/2ε.
// Second order: h(x) = Σ ∂L/∂x · v with a fixed random v, computed with create_graph; ∂h/∂x from
// autograd (a gradient of a gradient) is compared with central differences of h, where h itself
// is evaluated from first-order gradients.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tensor/ops.h"

namespace uad::test {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

/// f64 tensor of uniform values in [lo, hi) from a fixed seed.
inline Tensor uniform64(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Generator g(seed);
  return rand(s, g, DType::f64) * (hi - lo) + lo;
}

/// Copies values into fresh leaves that require grad.
inline std::vector<Tensor> leaves(const std::vector<Tensor>& xs) {
  std::vector<Tensor> out;
  for (const Tensor& x : xs) {
    Tensor c = x.detach().clone();
    if (is_floating(c.dtype())) c.requires_grad_();
    out.push_back(c);
  }
  return out;
}

inline double value_of(const Fn& f, const std::vector<Tensor>& xs, const Tensor& w) {
  NoGradGuard ng;
  return sum(mul(f(xs), w)).item();
}

/// Asserts first-order gradients of f at xs (f64) match central differences.
inline void expect_gradients(const Fn& f, const std::vector<Tensor>& xs_in, double eps = 1e-6, double atol = 1e-6,
                             double rtol = 1e-5, std::vector<bool> check_input = {}) {
  std::vector<Tensor> xs = leaves(xs_in);
  Tensor y = f(xs);
  Tensor w = uniform64(y.shape(), 1234, 0.5, 1.5);
  Tensor L = sum(mul(y, w));
  std::vector<Tensor> ins;
  std::vector<size_t> idx;
  for (size_t i = 0; i < xs.size(); ++i)
    if (is_floating(xs[i].dtype()) && (check_input.empty() || check_input[i])) { ins.push_back(xs[i]); idx.push_back(i); }
  std::vector<Tensor> g = grad({L}, ins, {}, false, -1, true);
  for (size_t k = 0; k < ins.size(); ++k) {
    Tensor xi = xs[idx[k]];
    std::vector<double> ana = g[k].defined() ? g[k].to_vector() : std::vector<double>(xi.numel(), 0.0);
    double* p = xi.data<double>();
    for (int64_t e = 0; e < xi.numel(); ++e) {
      double orig = p[e];
      p[e] = orig + eps;
      double lp = value_of(f, xs, w);
      p[e] = orig - eps;
      double lm = value_of(f, xs, w);
      p[e] = orig;
      double num = (lp - lm) / (2 * eps);
      ASSERT_NEAR(ana[e], num, atol + rtol * std::fabs(num)) << "input " << idx[k] << " element " << e;
    }
  }
}

/// Asserts second-order gradients (gradient of the gradient) of f at xs match central
/// differences of the analytic first-order gradient.
inline void expect_second_order(const Fn& f, const std::vector<Tensor>& xs_in, double eps = 1e-5, double atol = 1e-5,
                                double rtol = 1e-4) {
  std::vector<Tensor> xs = leaves(xs_in);
  Tensor w, v0;
  std::vector<Tensor> vs;
  {
    NoGradGuard ng;
    Tensor y = f(xs);
    w = uniform64(y.shape(), 99, 0.5, 1.5);
    for (size_t i = 0; i < xs.size(); ++i) vs.push_back(uniform64(xs[i].shape(), 500 + i, -1.0, 1.0));
  }
  auto h = [&](const std::vector<Tensor>& at, bool create) {
    Tensor L = sum(mul(f(at), w));
    std::vector<Tensor> g = grad({L}, at, {}, create, -1, true);
    Tensor acc = zeros({}, DType::f64);
    for (size_t i = 0; i < at.size(); ++i)
      if (g[i].defined()) acc = add(acc, sum(mul(g[i], vs[i])));
    return acc;
  };
  Tensor H = h(xs, true);
  // A gradient that does not depend on x (linear f) is not recorded: its derivative is 0, and the
  // finite differences below must agree.
  std::vector<Tensor> g2(xs.size());
  if (H.requires_grad()) g2 = grad({H}, xs, {}, false, -1, true);
  for (size_t k = 0; k < xs.size(); ++k) {
    std::vector<double> ana = g2[k].defined() ? g2[k].to_vector() : std::vector<double>(xs[k].numel(), 0.0);
    double* p = xs[k].data<double>();
    for (int64_t e = 0; e < xs[k].numel(); ++e) {
      double orig = p[e];
      p[e] = orig + eps;
      double hp = h(xs, false).item();
      p[e] = orig - eps;
      double hm = h(xs, false).item();
      p[e] = orig;
      double num = (hp - hm) / (2 * eps);
      ASSERT_NEAR(ana[e], num, atol + rtol * std::fabs(num)) << "second order: input " << k << " element " << e;
    }
  }
}

/// Asserts two value lists are elementwise equal within tol.
inline void expect_values(const Tensor& t, const std::vector<double>& expect, double tol = 1e-6) {
  std::vector<double> v = t.to_vector();
  ASSERT_EQ(v.size(), expect.size()) << "shape " << shape_str(t.shape());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], expect[i], tol) << "element " << i;
}

}  // namespace uad::test
