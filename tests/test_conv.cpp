// Convolution forward values on hand-computed cases (stride, padding, dilation, output_padding,
// 2-D and 3-D, transposed), oneDNN vs im2col agreement on random inputs, and error messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/conv.h"
#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

namespace {

Tensor iota(const Shape& s, double start = 0, DType t = DType::f32) {
  std::vector<double> v(numel_of(s));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + (double)i;
  return from_vector(v, s, t);
}

/// Runs the same body under each backend: the hand-computed cases must hold for both paths.
template <class F> void for_each_backend(F f) {
  for (cpu::ConvBackend b : {cpu::ConvBackend::im2col, cpu::ConvBackend::dnnl, cpu::ConvBackend::automatic}) {
    SCOPED_TRACE(cpu::conv_backend_name(b));
    cpu::set_conv_backend(b);
    f();
  }
  cpu::set_conv_backend(cpu::ConvBackend::automatic);
}

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no throw, expected: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Conv, Conv2dHandComputed) {
  for_each_backend([] {
    // x = 1..9 (3×3), w = [[1,2],[3,4]]: out[0,0] = 1·1+2·2+4·3+5·4 = 37, then 47, 67, 77; + bias 1.
    Tensor x = iota({1, 1, 3, 3}, 1), w = from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
    expect_values(conv2d(x, w), {37, 47, 67, 77});
    expect_values(conv2d(x, w, from_vector({1}, {1})), {38, 48, 68, 78});
    // Stride 2, padding 1, 3×3 ones on 1..16 (4×4): window sums of the clipped 3×3 neighbourhoods
    // centred at (0,0), (0,2), (2,0), (2,2): 1+2+5+6 = 14, 2+3+4+6+7+8 = 30, 57, 99.
    Tensor x4 = iota({1, 1, 4, 4}, 1);
    expect_values(conv2d(x4, ones({1, 1, 3, 3}), Tensor(), {2}, {1}), {14, 30, 57, 99});
    // Dilation 2 on x[i,j] = 5i+j (5×5): out = x[i,j] + 2x[i,j+2] + 3x[i+2,j] + 4x[i+2,j+2]
    //                                        = 10(5i+j) + 82.
    Tensor y = conv2d(iota({1, 1, 5, 5}), w, Tensor(), {1}, {0}, {2});
    EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
    expect_values(y, {82, 92, 102, 132, 142, 152, 182, 192, 202});
    // Rectangular stride {1,2} with padding {0,1}: 1×3 kernel [1,1,1] on rows of 1..8 ([2,4]).
    Tensor yr = conv2d(iota({1, 1, 2, 4}, 1), ones({1, 1, 1, 3}), Tensor(), {1, 2}, {0, 1});
    EXPECT_EQ(yr.shape(), (Shape{1, 1, 2, 2}));
    expect_values(yr, {1 + 2, 2 + 3 + 4, 5 + 6, 6 + 7 + 8});
    // 1×1 kernel, 2 samples, 2→3 channels: out[n,o] = Σ_c w[o,c] x[n,c] (+ b[o]).
    Tensor xp = iota({2, 2, 1, 2}, 1);  // n0: c0 = {1,2}, c1 = {3,4}; n1: c0 = {5,6}, c1 = {7,8}
    Tensor wp = from_vector({1, 0, 0, 1, 1, -1}, {3, 2, 1, 1});
    expect_values(conv2d(xp, wp, from_vector({0, 0, 10}, {3})), {1, 2, 3, 4, 8, 8, 5, 6, 7, 8, 8, 8});
  });
}

TEST(Conv, Conv3dHandComputed) {
  for_each_backend([] {
    // x[d,h,w] = 9d+3h+w (3×3×3), 2×2×2 ones: out = 8(9d+3h+w) + 4·(9+3+1) = 8v + 52.
    Tensor x = iota({1, 1, 3, 3, 3});
    expect_values(conv3d(x, ones({1, 1, 2, 2, 2})), {52, 60, 76, 84, 124, 132, 148, 156});
    // Stride 2, padding 1: windows {0} and {1,2} per axis.
    expect_values(conv3d(x, ones({1, 1, 2, 2, 2}), Tensor(), {2}, {1}), {0, 3, 9, 24, 27, 60, 72, 156});
    // Dilation 2 with a 2×2×2 kernel of ones on 3×3×3: the 8 corners 0+2+6+8+18+20+24+26 = 104.
    expect_values(conv3d(x, ones({1, 1, 2, 2, 2}), from_vector({-4}, {1}), {1}, {0}, {2}), {100});
  });
}

TEST(Conv, ConvTransposeHandComputed) {
  for_each_backend([] {
    Tensor x = from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
    // Stride 2, 2×2 ones: each input pixel fills a 2×2 block.
    expect_values(conv_transpose2d(x, ones({1, 1, 2, 2}), Tensor(), {2}),
                  {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    // Stride 2, 3×3 ones, padding 1, output_padding 1: Ho = (2−1)·2 − 2 + 2 + 1 + 1 = 4; output
    // row o sees input rows {0}, {0,1}, {1}, {1} (the full 5×5 result cropped by 1 on the left).
    Tensor y = conv_transpose2d(x, ones({1, 1, 3, 3}), Tensor(), {2}, {1}, {1});
    EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
    expect_values(y, {1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4});
    // Dilation 2, stride 1: out[r,c] = x[r%2, c%2] · w[r/2, c/2].
    Tensor w = from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
    expect_values(conv_transpose2d(x, w, Tensor(), {1}, {0}, {0}, {2}),
                  {1, 2, 2, 4, 3, 4, 6, 8, 3, 6, 4, 8, 9, 12, 12, 16});
    // Channels 2→3 with bias; weight [Cin,Cout,1,1] = c·3+o+1: out[o] = (o+1) + 2(o+4) + b[o].
    Tensor wc = iota({2, 3, 1, 1}, 1);
    expect_values(conv_transpose2d(from_vector({1, 2}, {1, 2, 1, 1}), wc, from_vector({1, 2, 3}, {3})), {10, 14, 18});
    // 3-D, stride 2, 2×2×2 ones: out[d,h,w] = x[d/2,h/2,w/2].
    Tensor x3 = iota({1, 1, 2, 2, 2}, 1);
    Tensor y3 = conv_transpose3d(x3, ones({1, 1, 2, 2, 2}), Tensor(), {2});
    EXPECT_EQ(y3.shape(), (Shape{1, 1, 4, 4, 4}));
    std::vector<double> e;
    for (int d = 0; d < 4; ++d)
      for (int h = 0; h < 4; ++h)
        for (int w3 = 0; w3 < 4; ++w3) e.push_back(1 + (d / 2) * 4 + (h / 2) * 2 + w3 / 2);
    expect_values(y3, e);
    // 3-D with padding 1 and output_padding 1 (stride 2, 3×3×3 ones): rows as in 2-D → a separable
    // product of the 1-D window counts: out[d,h,w] = Σ over R(d)×R(h)×R(w) of x.
    Tensor y3p = conv_transpose3d(ones({1, 1, 2, 2, 2}), ones({1, 1, 3, 3, 3}), Tensor(), {2}, {1}, {1});
    EXPECT_EQ(y3p.shape(), (Shape{1, 1, 4, 4, 4}));
    const int cnt[4] = {1, 2, 1, 1};
    e.clear();
    for (int d = 0; d < 4; ++d)
      for (int h = 0; h < 4; ++h)
        for (int w3 = 0; w3 < 4; ++w3) e.push_back(cnt[d] * cnt[h] * cnt[w3]);
    expect_values(y3p, e);
  });
}

TEST(Conv, BackwardInputUncoveredRowsAreZero) {
  for_each_backend([] {
    // Input 5, kernel 2, stride 2: outputs cover rows/cols 0..3; row/col 4 gets no gradient.
    Tensor gx = conv_backward_input(ones({1, 1, 2, 2}), ones({1, 1, 2, 2}), {1, 1, 5, 5}, {{2}, {0}, {1}});
    std::vector<double> e;
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j) e.push_back(i < 4 && j < 4 ? 1 : 0);
    expect_values(gx, e);
    // conv_backward_weight: Σ_o gy[o]·x[window(o)] for x = 1..25 (5×5), gy = ones, stride 2: tap
    // (a,b) sums x[2i+a, 2j+b] over i,j ∈ {0,1}: (1+3+11+13) = 28, 32, 48, 52.
    Tensor gw = conv_backward_weight(iota({1, 1, 5, 5}, 1), ones({1, 1, 2, 2}), {1, 1, 2, 2}, {{2}, {0}, {1}});
    expect_values(gw, {28, 32, 48, 52});
  });
}

TEST(Conv, NonContiguousInputs) {
  Generator gen(9);
  Tensor xc = rand({2, 5, 5, 3}, gen, DType::f64);
  Tensor x = permute(xc, {0, 3, 1, 2});  // [2,3,5,5] channels-last view
  Tensor w = rand({4, 3, 3, 3}, gen, DType::f64);
  expect_values(conv2d(x, w, Tensor(), {1}, {1}), conv2d(x.contiguous(), w, Tensor(), {1}, {1}).to_vector(), 1e-12);
}

namespace {

struct Case {
  Shape x, w;
  ConvParams p;
};

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double e : v) m = std::max(m, std::fabs(e));
  return m;
}

void expect_close_rel(const Tensor& a, const Tensor& b, double rel, const std::string& what) {
  auto av = a.to_vector(), bv = b.to_vector();
  ASSERT_EQ(av.size(), bv.size());
  const double scale = std::max(max_abs(bv), 1e-30);
  double worst = 0;
  for (size_t i = 0; i < av.size(); ++i) worst = std::max(worst, std::fabs(av[i] - bv[i]) / scale);
  EXPECT_LE(worst, rel) << what;
}

}  // namespace

TEST(Conv, OneDnnMatchesIm2col) {
  const std::vector<Case> cases = {
      {{2, 3, 9, 9}, {16, 3, 3, 3}, {{1}, {1}, {1}}},
      {{2, 16, 12, 10}, {32, 16, 5, 5}, {{2}, {2}, {1}}},
      {{1, 1, 16, 16}, {32, 1, 5, 5}, {{2}, {2}, {1}}},
      {{2, 20, 11, 9}, {8, 20, 3, 2}, {{2, 1}, {1, 0}, {2, 1}}},
      {{1, 32, 8, 8}, {32, 32, 5, 5}, {{2}, {2}, {1}}},
      {{2, 1, 8, 8, 8}, {16, 1, 4, 4, 4}, {{2}, {1}, {1}}},
      {{1, 16, 6, 7, 5}, {16, 16, 3, 3, 3}, {{1, 2, 1}, {1}, {1, 1, 2}}},
      {{1, 4, 7, 7}, {6, 4, 1, 1}, {{1}, {0}, {1}}},
  };
  Generator gen(42);
  for (const Case& c : cases) {
    const std::string name = shape_str(c.x) + " * " + shape_str(c.w);
    Tensor x = rand(c.x, gen) - 0.5, w = rand(c.w, gen) - 0.5;
    std::vector<Tensor> res[2];
    for (int k = 0; k < 2; ++k) {
      cpu::set_conv_backend(k == 0 ? cpu::ConvBackend::im2col : cpu::ConvBackend::dnnl);
      Tensor y = conv(x, w, c.p);
      EXPECT_EQ(cpu::last_conv_backend(), k == 0 ? cpu::ConvBackend::im2col : cpu::ConvBackend::dnnl) << name;
      Generator g2(7);
      Tensor gy = rand(y.shape(), g2) - 0.5;
      Tensor gx = conv_backward_input(gy, w, c.x, c.p);
      EXPECT_EQ(cpu::last_conv_backend(), k == 0 ? cpu::ConvBackend::im2col : cpu::ConvBackend::dnnl) << name;
      Tensor gw = conv_backward_weight(x, gy, c.w, c.p);
      EXPECT_EQ(cpu::last_conv_backend(), k == 0 ? cpu::ConvBackend::im2col : cpu::ConvBackend::dnnl) << name;
      res[k] = {y, gx, gw};
    }
    expect_close_rel(res[1][0], res[0][0], 1e-5, "forward " + name);
    expect_close_rel(res[1][1], res[0][1], 1e-5, "backward_input " + name);
    expect_close_rel(res[1][2], res[0][2], 1e-5, "backward_weight " + name);
  }
  // The f32 im2col path against the f64 one (an independent check of the single-precision GEMMs).
  cpu::set_conv_backend(cpu::ConvBackend::im2col);
  Tensor x = rand({2, 8, 10, 10}, gen) - 0.5, w = rand({8, 8, 3, 3}, gen) - 0.5;
  expect_close_rel(conv2d(x, w, Tensor(), {2}, {1}), conv2d(x.to(DType::f64), w.to(DType::f64), Tensor(), {2}, {1}), 1e-5,
                   "f32 vs f64");
  cpu::set_conv_backend(cpu::ConvBackend::automatic);
}

TEST(Conv, BackendSelection) {
  cpu::set_conv_backend(cpu::ConvBackend::im2col);
  EXPECT_EQ(cpu::conv_backend(), cpu::ConvBackend::im2col);
  (void)conv2d(ones({1, 1, 4, 4}), ones({1, 1, 3, 3}));
  EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::im2col);
  cpu::set_conv_backend(cpu::ConvBackend::dnnl);
  (void)conv2d(ones({1, 1, 4, 4}), ones({1, 1, 3, 3}));
  EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::dnnl);
  (void)conv2d(ones({1, 1, 4, 4}, DType::f64), ones({1, 1, 3, 3}, DType::f64));  // oneDNN has no f64
  EXPECT_EQ(cpu::last_conv_backend(), cpu::ConvBackend::im2col);
  cpu::set_conv_backend(cpu::ConvBackend::automatic);
  EXPECT_STREQ(cpu::conv_backend_name(cpu::ConvBackend::dnnl), "dnnl");
}

TEST(Conv, Errors) {
  expect_error([] { (void)conv2d(zeros({1, 3, 5, 5}), zeros({4, 2, 3, 3})); },
               "conv2d: input [1,3,5,5] has 3 channels but weight [4,2,3,3] expects 2");
  expect_error([] { (void)conv3d(zeros({1, 2, 4, 4, 4}), zeros({4, 3, 3, 3, 3})); },
               "conv3d: input [1,2,4,4,4] has 2 channels but weight [4,3,3,3,3] expects 3");
  expect_error([] { (void)conv_transpose2d(zeros({1, 3, 5, 5}), zeros({2, 4, 3, 3})); },
               "conv_transpose2d: input [1,3,5,5] has 3 channels but weight [2,4,3,3] expects 2");
  expect_error([] { (void)conv2d(zeros({1, 1, 2, 2}), zeros({1, 1, 3, 3})); }, "conv2d: output would be empty");
  expect_error([] { (void)conv2d(zeros({1, 1, 5, 5}), zeros({1, 1, 3, 3}), zeros({2})); }, "conv2d: bias [2] must be [1]");
  expect_error([] { (void)conv2d(zeros({1, 1, 5, 5, 5}), zeros({1, 1, 3, 3, 3})); }, "conv2d: expected input [N,C,H,W]");
  expect_error([] { (void)conv2d(zeros({1, 1, 5, 5}), zeros({1, 1, 3, 3}), Tensor(), {0}); }, "conv2d: stride [0] must be >= 1");
  expect_error([] { (void)conv2d(zeros({1, 1, 5, 5}), zeros({1, 1, 3, 3}, DType::f64)); }, "conv2d: dtype mix f32 and f64");
  expect_error([] { (void)conv_transpose2d(zeros({1, 1, 3, 3}), zeros({1, 1, 3, 3}), Tensor(), {2}, {1}, {2}); },
               "conv_transpose2d: output_padding [2] must be >= 0 and smaller than the stride [2,2]");
  expect_error([] { (void)conv_backward_input(zeros({1, 2, 3, 3}), zeros({2, 1, 3, 3}), {1, 1, 6, 6}, {}); },
               "conv_backward_input: gradient [1,2,3,3] does not match the output [1,2,4,4]");
  expect_error([] { (void)conv_backward_weight(zeros({1, 1, 6, 6}), zeros({1, 2, 3, 3}), {2, 1, 3, 3}, {}); },
               "conv_backward_weight: gradient [1,2,3,3] does not match the output [1,2,4,4]");
}
