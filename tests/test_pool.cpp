// Pooling and upsampling: forward values computed by hand (or from the formula written out in
// the test), adjoint identities of the backward ops, and error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

namespace {

/// 1..16 as a [1,1,4,4] tensor.
Tensor iota16(DType t = DType::f64) {
  std::vector<double> v(16);
  for (int i = 0; i < 16; ++i) v[i] = i + 1;
  return from_vector(v, {1, 1, 4, 4}, t);
}

/// Expects a uad::Error whose message contains every needle.
template <class F> void expect_error(F f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "no uad::Error thrown";
  } catch (const Error& e) {
    std::string m = e.what();
    for (const std::string& n : needles) EXPECT_NE(m.find(n), std::string::npos) << "'" << n << "' not in: " << m;
  }
}

/// Bilinear interpolation of a 2×2 grid q at fractional coordinates (a along H, b along W).
double bilerp(const double q[4], double a, double b) {
  return q[0] * (1 - a) * (1 - b) + q[1] * (1 - a) * b + q[2] * a * (1 - b) + q[3] * a * b;
}

/// Σ a·b over all elements.
double dot(const Tensor& a, const Tensor& b) { return sum(mul(a, b)).item(); }

}  // namespace

// ---- average pooling -------------------------------------------------------------------------

TEST(AvgPool, TwoByTwo) {
  Tensor y = avg_pool2d(iota16(), {2});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  // (1+2+5+6)/4, (3+4+7+8)/4, (9+10+13+14)/4, (11+12+15+16)/4
  expect_values(y, {3.5, 5.5, 11.5, 13.5});
  Tensor yf = avg_pool2d(iota16(DType::f32), {2, 2}, {2, 2});
  EXPECT_EQ(yf.dtype(), DType::f32);
  expect_values(yf, {3.5, 5.5, 11.5, 13.5});
}

TEST(AvgPool, PaddingCountsZeros) {
  // kernel 3, stride 1, padding 1: every window divides by 9 (count_include_pad).
  Tensor y = avg_pool2d(iota16(), {3}, {1}, {1});
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  std::vector<double> v = y.to_vector();
  EXPECT_NEAR(v[0], (1 + 2 + 5 + 6) / 9.0, 1e-12);
  EXPECT_NEAR(v[3], (3 + 4 + 7 + 8) / 9.0, 1e-12);
  EXPECT_NEAR(v[5], (1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11) / 9.0, 1e-12);
  EXPECT_NEAR(v[15], (11 + 12 + 15 + 16) / 9.0, 1e-12);
  // Rectangular kernel (1,3), stride (1,2), padding (0,1): output W = ⌊(4+2−3)/2⌋+1 = 2.
  Tensor r = avg_pool2d(iota16(), {1, 3}, {1, 2}, {0, 1});
  ASSERT_EQ(r.shape(), (Shape{1, 1, 4, 2}));
  std::vector<double> rv = r.to_vector();
  EXPECT_NEAR(rv[0], (1 + 2) / 3.0, 1e-12);      // cols −1..1
  EXPECT_NEAR(rv[1], (2 + 3 + 4) / 3.0, 1e-12);  // cols 1..3
  EXPECT_NEAR(rv[7], (14 + 15 + 16) / 3.0, 1e-12);
}

TEST(AvgPool, ThreeD) {
  // x[d,h,w] = 16d + 4h + w on 4×4×4; the 2×2×2 mean over block (od,oh,ow) is
  // 16(2od+½) + 4(2oh+½) + (2ow+½) = 32od + 8oh + 2ow + 10.5.
  Tensor x = arange(64, DType::f64).reshape({1, 1, 4, 4, 4});
  Tensor y = avg_pool3d(x, {2});
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2, 2, 2}));
  std::vector<double> e;
  for (int od = 0; od < 2; ++od)
    for (int oh = 0; oh < 2; ++oh)
      for (int ow = 0; ow < 2; ++ow) e.push_back(32 * od + 8 * oh + 2 * ow + 10.5);
  expect_values(y, e, 1e-12);
  // Several planes, strided (non-contiguous) input: channel c holds x + 100c.
  Tensor x2 = add(expand(x, {1, 2, 4, 4, 4}), mul(arange(2, DType::f64).reshape({1, 2, 1, 1, 1}), scalar_tensor(100.0, DType::f64)));
  Tensor xt = transpose(contiguous(transpose(x2, 2, 4)), 2, 4);  // same values, permuted strides
  ASSERT_FALSE(xt.is_contiguous());
  std::vector<double> v = avg_pool3d(xt, {2}).to_vector();
  for (int i = 0; i < 8; ++i) {
    EXPECT_NEAR(v[i], e[i], 1e-12);
    EXPECT_NEAR(v[8 + i], e[i] + 100, 1e-12);
  }
}

// ---- max pooling -----------------------------------------------------------------------------

TEST(MaxPool, ValuesAndIndices) {
  Tensor x = from_vector({1, 5, 2, 0,  //
                          3, 4, 8, 7,  //
                          9, 0, 1, 1,  //
                          2, 6, 1, 3},
                         {1, 1, 4, 4}, DType::f64);
  auto [y, idx] = max_pool2d_with_indices(x, {2});
  expect_values(y, {5, 8, 9, 3});
  EXPECT_EQ(idx.dtype(), DType::i32);
  expect_values(idx, {1, 6, 8, 15});
  // kernel 3, stride 2, padding 1 (−∞ padding): windows rows/cols {0,1}, {1,2,3}.
  expect_values(max_pool2d(x, {3}, {2}, {1}), {5, 8, 9, 8});
  // Negative values with padding: the pad never wins.
  expect_values(max_pool2d(neg(x), {3}, {2}, {1}), {-1, 0, 0, 0});
}

TEST(MaxPool, FirstMaximumGetsTheGradient) {
  Tensor x = full({1, 1, 2, 4}, 2.0, DType::f64);
  x.requires_grad_();
  auto [y, idx] = max_pool2d_with_indices(x, {2});
  expect_values(idx, {0, 2});
  sum(y).backward();
  expect_values(x.grad(), {1, 0, 1, 0, 0, 0, 0, 0});
}

TEST(MaxPool, NaNPropagates) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = from_vector({1, nan, 3, 4}, {1, 1, 2, 2}, DType::f64);
  EXPECT_TRUE(std::isnan(max_pool2d(x, {2}).item()));
  Tensor xf = from_vector({1, 2, 3, nan}, {1, 1, 1, 4}, DType::f32);
  std::vector<double> v = max_pool2d(xf, {1, 2}).to_vector();
  EXPECT_EQ(v[0], 2);
  EXPECT_TRUE(std::isnan(v[1]));
}

TEST(MaxPool, ThreeD) {
  // x[d,h,w] = 16d + 4h + w: the maximum of each 2×2×2 block is its far corner.
  Tensor x = arange(64, DType::f32).reshape({1, 1, 4, 4, 4});
  auto [y, idx] = max_pool3d_with_indices(x, {2});
  std::vector<double> e;
  for (int od = 0; od < 2; ++od)
    for (int oh = 0; oh < 2; ++oh)
      for (int ow = 0; ow < 2; ++ow) e.push_back(32 * od + 8 * oh + 2 * ow + 21);
  expect_values(y, e);
  expect_values(idx, e);  // flat index = value here
  // Anisotropic window (1,2,2) with stride (1,2,2) keeps D.
  Tensor z = max_pool3d(x, {1, 2, 2});
  ASSERT_EQ(z.shape(), (Shape{1, 1, 4, 2, 2}));
  expect_values(slice(z, 2, 3, 4), {53, 55, 61, 63});
}

// ---- backward ops: hand values and adjoint identities ----------------------------------------

TEST(PoolBackward, HandValues) {
  // Each output of a 2×2 average spreads a quarter onto its window.
  Tensor g = from_vector({4, 8, 12, 16}, {1, 1, 2, 2}, DType::f64);
  expect_values(avg_pool_backward(g, {1, 1, 4, 4}, {2}), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // Overlapping max windows accumulate: the peak 9 wins two windows of width 2, stride 1.
  Tensor x = from_vector({0, 9, 1, 2}, {1, 1, 1, 4}, DType::f64);
  auto [y, idx] = max_pool2d_with_indices(x, {1, 2}, {1, 1});
  expect_values(y, {9, 9, 2});
  expect_values(max_pool_backward(ones({1, 1, 1, 3}, DType::f64), idx, x.shape()), {0, 2, 0, 1});
  expect_values(max_pool_gather(from_vector({10, 20, 30, 40}, {1, 1, 1, 4}, DType::f64), idx), {20, 20, 40});
  // Nearest 3→5 (sources 0,0,1,1,2): the backward counts how often each source is read.
  expect_values(upsample_nearest_backward(ones({1, 1, 5}, DType::f64), {1, 1, 3}), {2, 2, 1});
}

TEST(PoolBackward, AdjointIdentities) {
  // <A x, g> = <x, Aᵀ g> for every linear pair.
  Tensor x2 = uniform64({2, 3, 5, 6}, 1), x3 = uniform64({1, 2, 3, 4, 5}, 2);
  {
    Tensor y = avg_pool2d(x2, {3, 2}, {2, 1}, {1, 0});
    Tensor g = uniform64(y.shape(), 3);
    EXPECT_NEAR(dot(y, g), dot(x2, avg_pool_backward(g, x2.shape(), {3, 2}, {2, 1}, {1, 0})), 1e-12);
  }
  {
    Tensor y = avg_pool3d(x3, {2}, {1}, {1});
    Tensor g = uniform64(y.shape(), 4);
    EXPECT_NEAR(dot(y, g), dot(x3, avg_pool_backward(g, x3.shape(), {2}, {1}, {1})), 1e-12);
  }
  for (bool ac : {false, true}) {
    Tensor y = upsample_linear(x3, {5, 7, 9}, ac);
    Tensor g = uniform64(y.shape(), 5);
    EXPECT_NEAR(dot(y, g), dot(x3, upsample_linear_backward(g, x3.shape(), ac)), 1e-12);
    Tensor y2 = upsample_linear(x2, {9, 4}, ac);  // mixed up/down sampling
    Tensor g2 = uniform64(y2.shape(), 6);
    EXPECT_NEAR(dot(y2, g2), dot(x2, upsample_linear_backward(g2, x2.shape(), ac)), 1e-12);
  }
  Tensor y = upsample_nearest(x3, {6, 5, 7});
  Tensor g = uniform64(y.shape(), 7);
  EXPECT_NEAR(dot(y, g), dot(x3, upsample_nearest_backward(g, x3.shape())), 1e-12);
}

// ---- upsampling ------------------------------------------------------------------------------

TEST(Upsample, NearestThreeToFive) {
  // src = ⌊dst·3/5⌋: 0,0,1,1,2.
  Tensor x = from_vector({10, 20, 30}, {1, 1, 3}, DType::f64);
  expect_values(upsample_nearest(x, {5}), {10, 10, 20, 20, 30});
  Tensor x2 = from_vector({10, 20, 30}, {1, 1, 1, 3}, DType::f32);
  expect_values(upsample_nearest(x2, {2, 5}), {10, 10, 20, 20, 30, 10, 10, 20, 20, 30});
  // Down-sampling 5→3: src = ⌊dst·5/3⌋ = 0, 1, 3.
  expect_values(upsample_nearest(from_vector({0, 1, 2, 3, 4}, {1, 1, 5}, DType::f64), {3}), {0, 1, 3});
}

TEST(Upsample, NearestDoubling3D) {
  Tensor x = arange(8, DType::f64).reshape({1, 1, 2, 2, 2});
  Tensor y = upsample_nearest(x, {4, 4, 4});
  std::vector<double> v = y.to_vector();
  for (int d = 0; d < 4; ++d)
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 4; ++w) EXPECT_EQ(v[(d * 4 + h) * 4 + w], 4 * (d / 2) + 2 * (h / 2) + (w / 2));
}

TEST(Upsample, BilinearTwoToFour) {
  const double q[4] = {1, 2, 3, 5};
  Tensor x = from_vector({q[0], q[1], q[2], q[3]}, {1, 1, 2, 2}, DType::f64);
  // align_corners=false, scale ½: src = max((o+½)/2 − ½, 0) = 0, .25, .75, 1.25; the last clips
  // to the edge cell (i0 = 1, no right neighbour), so the effective coordinates are 0,¼,¾,1.
  const double c_false[4] = {0, 0.25, 0.75, 1};
  // align_corners=true: src = o·(2−1)/(4−1) = 0, ⅓, ⅔, 1.
  const double c_true[4] = {0, 1.0 / 3, 2.0 / 3, 1};
  for (bool ac : {false, true}) {
    const double* c = ac ? c_true : c_false;
    std::vector<double> e;
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 4; ++w) e.push_back(bilerp(q, c[h], c[w]));
    expect_values(upsample_linear(x, {4, 4}, ac), e, 1e-12);
    expect_values(upsample_linear(x.to(DType::f32), {4, 4}, ac), e, 1e-6);
  }
  // Spot values: (h,w)=(1,1) without align_corners is 1·(9/16) + 2·(3/16) + 3·(3/16) + 5/16 = 29/16.
  EXPECT_NEAR(upsample_linear(x, {4, 4}).to_vector()[5], 29.0 / 16, 1e-12);
}

TEST(Upsample, LinearDownsampleAndIdentity) {
  // 4→2 without align_corners: src = (o+½)·2 − ½ = ½, 2½: means of neighbours.
  Tensor x = from_vector({1, 2, 3, 5}, {1, 1, 4}, DType::f64);
  expect_values(upsample_linear(x, {2}), {1.5, 4});
  // align_corners: 4→2 reads cells 0 and 3.
  expect_values(upsample_linear(x, {2}, true), {1, 5});
  // Same size is the identity.
  expect_values(upsample_linear(x, {4}), {1, 2, 3, 5});
  // Size 1 with align_corners reads cell 0.
  expect_values(upsample_linear(x, {1}, true), {1});
}

TEST(Upsample, Trilinear) {
  // 2×2×2 → 3×3×3: both modes give coordinates 0, ½, 1 (align_corners=false: src = (o+½)·⅔ − ½
  // = −⅙→0, ½, 7/6→edge). The value is the trilinear blend of the 8 corners.
  const double q[8] = {0, 1, 2, 3, 4, 5, 6, 10};
  Tensor x = from_vector(std::vector<double>(q, q + 8), {1, 1, 2, 2, 2}, DType::f64);
  auto tri = [&](double a, double b, double c) {
    double v = 0;
    for (int i = 0; i < 8; ++i) {
      const int d = i >> 2, h = (i >> 1) & 1, w = i & 1;
      v += q[i] * (d ? a : 1 - a) * (h ? b : 1 - b) * (w ? c : 1 - c);
    }
    return v;
  };
  const double c3[3] = {0, 0.5, 1};
  std::vector<double> e;
  for (int d = 0; d < 3; ++d)
    for (int h = 0; h < 3; ++h)
      for (int w = 0; w < 3; ++w) e.push_back(tri(c3[d], c3[h], c3[w]));
  expect_values(upsample_linear(x, {3, 3, 3}, false), e, 1e-12);
  expect_values(upsample_linear(x, {3, 3, 3}, true), e, 1e-12);
  EXPECT_NEAR(upsample_linear(x, {3, 3, 3}).to_vector()[13], 31.0 / 8, 1e-12);  // centre = mean
  // 2→4 along each dim without align_corners: coordinates 0, ¼, ¾, 1.
  const double c4[4] = {0, 0.25, 0.75, 1};
  Tensor y = upsample_linear(x.to(DType::f32), {4, 4, 4});
  std::vector<double> v = y.to_vector();
  for (int d = 0; d < 4; ++d)
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 4; ++w) EXPECT_NEAR(v[(d * 4 + h) * 4 + w], tri(c4[d], c4[h], c4[w]), 1e-5);
}

// ---- errors ----------------------------------------------------------------------------------

TEST(PoolErrors, MessagesNameOpAndShapes) {
  Tensor x3 = zeros({1, 4, 4}, DType::f64);
  expect_error([&] { avg_pool2d(x3, {2}); }, {"avg_pool2d", "[1,4,4]", "[N,C,H,W]"});
  expect_error([&] { max_pool3d(zeros({1, 1, 4, 4}), {2}); }, {"max_pool3d", "[1,1,4,4]"});
  expect_error([&] { avg_pool2d(iota16(), {2, 2, 2}); }, {"avg_pool2d", "kernel", "[2,2,2]", "[1,1,4,4]"});
  expect_error([&] { max_pool2d(iota16(), {2}, {}, {2}); }, {"max_pool2d", "padding", "[2,2]"});
  expect_error([&] { avg_pool2d(iota16(), {5}); }, {"avg_pool2d", "[1,1,4,4]", "[5,5]"});
  expect_error([&] { avg_pool2d(iota16(), {2}, {0}); }, {"avg_pool2d", "stride"});
  expect_error([&] { avg_pool2d(zeros({1, 1, 4, 4}, DType::i32), {2}); }, {"avg_pool2d", "i32"});
  expect_error([&] { upsample_nearest(iota16(), {8}); }, {"upsample_nearest", "[8]", "[1,1,4,4]"});
  expect_error([&] { upsample_linear(zeros({4, 4}), {8, 8}); }, {"upsample_linear", "[4,4]"});
  expect_error([&] { upsample_linear(iota16(), {0, 3}); }, {"upsample_linear", "[0,3]"});
  expect_error([&] { avg_pool_backward(zeros({1, 1, 3, 3}, DType::f64), {1, 1, 4, 4}, {2}); },
               {"avg_pool_backward", "[1,1,3,3]", "[1,1,2,2]"});
  expect_error([&] { upsample_linear_backward(zeros({1, 2, 8, 8}, DType::f64), {1, 1, 4, 4}); },
               {"upsample_linear_backward", "[1,2,8,8]", "[1,1,4,4]"});
  auto [y, idx] = max_pool2d_with_indices(iota16(), {2});
  expect_error([&] { max_pool_backward(zeros({1, 1, 2, 2}, DType::f64), idx.to(DType::f64), {1, 1, 4, 4}); },
               {"max_pool_backward", "i32"});
  expect_error([&] { max_pool_backward(zeros({1, 1, 2, 2}, DType::f64), idx, {1, 2, 4, 4}); },
               {"max_pool_backward", "[1,1,2,2]", "[1,2,4,4]"});
}
