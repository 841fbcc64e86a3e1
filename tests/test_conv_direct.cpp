// The direct convolution kernels (kernels/cpu/conv_direct.h): few output channels at stride 1 and
// dense (whole-input window) convolutions, against the im2col path (an independent
// implementation, itself checked by tests/test_conv.cpp on hand-computed cases), in f32 and f64,
// with and without bias; the automatic rule's choice; and one hand-computed value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/conv_im2col.h"
#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;
using cpu::ConvOp;

namespace {

/// max |a − b| / max |b| ≤ rel.
void expect_close_rel(const Tensor& a, const Tensor& b, double rel, const std::string& what) {
  const std::vector<double> av = a.to_vector(), bv = b.to_vector();
  ASSERT_EQ(av.size(), bv.size()) << what;
  double scale = 1e-30, worst = 0;
  for (double e : bv) scale = std::max(scale, std::fabs(e));
  for (size_t i = 0; i < av.size(); ++i) worst = std::max(worst, std::fabs(av[i] - bv[i]) / scale);
  EXPECT_LE(worst, rel) << what;
}

struct Case {
  int nd;
  int64_t N, Cin, Cout;
  std::vector<int64_t> in, k, pad;  // per spatial axis (nd entries)
};

cpu::ConvGeom geom(const Case& c) {
  cpu::ConvGeom g;
  g.nd = c.nd;
  g.N = c.N;
  g.Cin = c.Cin;
  g.Cout = c.Cout;
  for (int d = 0; d < c.nd; ++d) {
    const int i = 3 - c.nd + d;
    g.in[i] = c.in[d];
    g.k[i] = c.k[d];
    g.pad[i] = c.pad[d];
    g.out[i] = c.in[d] + 2 * c.pad[d] - c.k[d] + 1;
  }
  return g;
}

std::string name(const Case& c) {
  return "nd " + std::to_string(c.nd) + " N " + std::to_string(c.N) + " " + std::to_string(c.Cin) + "->" +
         std::to_string(c.Cout) + " in " + shape_str(c.in) + " k " + shape_str(c.k) + " pad " + shape_str(c.pad);
}

/// Direct (or dense) vs im2col for the three ops, T = float or double, with bias.
template <class T> void compare(const Case& c, DType dt, double tol) {
  const cpu::ConvGeom g = geom(c);
  SCOPED_TRACE(name(c));
  const bool dense = cpu::direct::dense(g);
  ASSERT_TRUE(dense || (cpu::direct::applicable(ConvOp::forward, g) &&
                        cpu::direct::applicable(ConvOp::backward_input, g) &&
                        cpu::direct::applicable(ConvOp::backward_weight, g)));
  Generator gen(5);
  Tensor x = rand({g.N * g.Cin * g.in_size()}, gen, dt) - 0.5, w = rand({g.Cout * g.Cin * g.k_size()}, gen, dt) - 0.5;
  Tensor gy = rand({g.N * g.Cout * g.out_size()}, gen, dt) - 0.5;
  Tensor bo = rand({g.Cout}, gen, dt), bi = rand({g.Cin}, gen, dt);
  const T *xp = x.data<T>(), *wp = w.data<T>(), *gp = gy.data<T>(), *bop = bo.data<T>(), *bip = bi.data<T>();
  Tensor y0 = empty({gy.numel()}, dt), y1 = empty({gy.numel()}, dt);
  Tensor gx0 = empty({x.numel()}, dt), gx1 = empty({x.numel()}, dt);
  Tensor gw0 = empty({w.numel()}, dt), gw1 = empty({w.numel()}, dt);
  cpu::im2col::forward<T>(g, xp, wp, bop, y0.data<T>());
  cpu::im2col::backward_input<T>(g, gp, wp, bip, gx0.data<T>());
  cpu::im2col::backward_weight<T>(g, xp, gp, gw0.data<T>());
  if (dense) {
    cpu::direct::dense_forward<T>(g, xp, wp, bop, y1.data<T>());
    cpu::direct::dense_backward_input<T>(g, gp, wp, bip, gx1.data<T>());
    cpu::direct::dense_backward_weight<T>(g, xp, gp, gw1.data<T>());
  } else {
    cpu::direct::forward<T>(g, xp, wp, bop, y1.data<T>());
    cpu::direct::backward_input<T>(g, gp, wp, bip, gx1.data<T>());
    cpu::direct::backward_weight<T>(g, xp, gp, gw1.data<T>());
  }
  expect_close_rel(y1, y0, tol, "forward");
  expect_close_rel(gx1, gx0, tol, "backward_input");
  expect_close_rel(gw1, gw0, tol, "backward_weight");
}

// Widths chosen to hit the 64-lane blocks, the 8-lane blocks and the scalar tail of a row.
const std::vector<Case> kFewChannels = {
    {2, 2, 3, 1, {9, 75}, {5, 5}, {2, 2}},        // Baur's output conv, small: tails of every kind
    {2, 1, 32, 1, {16, 64}, {5, 5}, {2, 2}},      // one full 64-lane block per row
    {2, 2, 4, 3, {7, 11}, {3, 2}, {0, 1}},        // rectangular kernel, asymmetric effective padding
    {2, 1, 2, 4, {6, 6}, {3, 3}, {2, 0}},         // pad = k − 1 (full correlation) on one axis
    {2, 1, 5, 2, {4, 13}, {1, 3}, {0, 1}},        // 1-row kernel
    {3, 2, 6, 1, {6, 7, 9}, {3, 3, 3}, {1, 1, 1}},  // the 3-D generator's last conv, small
    {3, 1, 3, 2, {5, 4, 17}, {2, 3, 3}, {0, 2, 1}},
};
const std::vector<Case> kDense = {
    {3, 2, 8, 5, {4, 4, 4}, {4, 4, 4}, {0, 0, 0}},  // the f-AnoGAN k4 heads on 4³ maps, small
    {2, 3, 6, 1, {3, 5}, {3, 5}, {0, 0}},
    {2, 1, 4, 7, {1, 1}, {1, 1}, {0, 0}},
    {3, 9, 2, 3, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}},  // batch > 8: the GEMM path
    {2, 2, 3, 2, {40, 30}, {40, 30}, {0, 0}},       // F = 3600: several 1024-feature chunks
};

}  // namespace

TEST(ConvDirect, FewOutputChannelsMatchIm2colF32) {
  for (const Case& c : kFewChannels) compare<float>(c, DType::f32, 1e-5);
}

TEST(ConvDirect, FewOutputChannelsMatchIm2colF64) {
  for (const Case& c : kFewChannels) compare<double>(c, DType::f64, 1e-12);
}

TEST(ConvDirect, DenseMatchesIm2col) {
  for (const Case& c : kDense) {
    compare<float>(c, DType::f32, 1e-5);
    compare<double>(c, DType::f64, 1e-12);
  }
}

TEST(ConvDirect, HandComputed) {
  // x = 1..12 as [1,1,3,4], w = [[1,0,−1]] (1×3), pad (0,1), bias 0.5: y[i,j] = x[i,j−1] −
  // x[i,j+1] + 0.5 with zeros outside: row 1,2,3,4 → [0−2, 1−3, 2−4, 3−0] = [−2,−2,−2,3];
  // row 5..8 → [−6,−2,−2,7]; row 9..12 → [−10,−2,−2,11].
  cpu::set_conv_backend(cpu::ConvBackend::automatic);
  std::vector<double> xv(12);
  for (int i = 0; i < 12; ++i) xv[i] = i + 1;
  Tensor x = from_vector(xv, {1, 1, 3, 4}), w = from_vector({1, 0, -1}, {1, 1, 1, 3});
  Tensor y = conv2d(x, w, from_vector({0.5}, {1}), {1}, {0, 1});
  EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::direct);
  expect_values(y, {-1.5, -1.5, -1.5, 3.5, -5.5, -1.5, -1.5, 7.5, -9.5, -1.5, -1.5, 11.5});
}

TEST(ConvDirect, AutomaticRuleChoosesDirectOnlyThere) {
  cpu::set_conv_backend(cpu::ConvBackend::automatic);
  Generator gen(3);
  Tensor x = rand({2, 8, 12, 12}, gen), w1 = rand({1, 8, 5, 5}, gen), w16 = rand({16, 8, 5, 5}, gen);
  (void)conv2d(x, w1, Tensor(), {1}, {2});
  EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::direct);
  (void)conv2d(x, w1, Tensor(), {2}, {2});  // stride 2: not direct
  EXPECT_NE(cpu::last_conv_backend(), cpu::ConvBackend::direct);
  (void)conv2d(x, w16, Tensor(), {1}, {2});  // 16 output channels: oneDNN
  EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::dnnl);
  (void)conv2d(rand({2, 8, 4, 4}, gen), rand({3, 8, 4, 4}, gen));  // dense
  EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::direct);
  cpu::set_conv_backend(cpu::ConvBackend::dnnl);  // forced oneDNN: never direct
  (void)conv2d(x, w1, Tensor(), {1}, {2});
  EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::dnnl);
  cpu::set_conv_backend(cpu::ConvBackend::automatic);
  EXPECT_STREQ(cpu::conv_backend_name(cpu::ConvBackend::direct), "direct");
}

TEST(ConvDirect, GradientsThroughDirectPath) {
  // f64 always takes im2col; this checks the f32 direct path inside autograd against the f64
  // reference values of the same graph (forward, input and weight gradients, bias gradient).
  cpu::set_conv_backend(cpu::ConvBackend::automatic);
  Generator gen(9);
  Tensor x = rand({2, 3, 9, 10}, gen) - 0.5, w = rand({2, 3, 3, 5}, gen) - 0.5, b = rand({2}, gen);
  auto run = [&](DType dt) {
    Tensor xx = x.to(dt).detach(), ww = w.to(dt).detach(), bb = b.to(dt).detach();
    xx.requires_grad_();
    ww.requires_grad_();
    bb.requires_grad_();
    Tensor y = conv2d(xx, ww, bb, {1}, {1, 2});
    Tensor loss = sum(square(y));
    loss.backward();
    return std::vector<Tensor>{y, xx.grad(), ww.grad(), bb.grad()};
  };
  std::vector<Tensor> a = run(DType::f32);
  EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::direct);
  std::vector<Tensor> r = run(DType::f64);
  const char* what[] = {"y", "grad x", "grad w", "grad b"};
  for (int i = 0; i < 4; ++i) expect_close_rel(a[i], r[i].to(DType::f32), 1e-5, what[i]);
}

TEST(ConvDnnlWeightCache, InPlaceWeightChangeIsSeen) {
  // kernels/cpu/conv_dnnl.h: large blocked weights are reused while the weight buffer holds the
  // same values. A weight changed in place (an optimiser step) must be reordered again: oneDNN's
  // results after each change agree with im2col's.
  Generator gen(11);
  Tensor x = rand({2, 64, 9, 9}, gen) - 0.5, w = rand({64, 64, 4, 4}, gen) - 0.5;  // w: 256 KiB
  ASSERT_GE(w.numel() * 4, 256 << 10);
  const ConvParams p{{1}, {1}, {1}};
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    cpu::set_conv_backend(cpu::ConvBackend::dnnl);
    Tensor y = conv(x, w, p), y2 = conv(x, w, p);  // the second call hits the cache
    Tensor gy = ones_like(y);
    Tensor gx = conv_backward_input(gy, w, x.shape(), p);
    EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::dnnl);
    cpu::set_conv_backend(cpu::ConvBackend::im2col);
    expect_close_rel(y, conv(x, w, p), 1e-5, "forward");
    expect_close_rel(y2, y, 0.0, "forward, cached weights");
    expect_close_rel(gx, conv_backward_input(gy, w, x.shape(), p), 1e-5, "backward_input");
    float* wp = w.data<float>();  // in place, same address: one value changed per round
    wp[round * 1000 + 7] += 1.0f;
  }
  cpu::set_conv_backend(cpu::ConvBackend::automatic);
}
