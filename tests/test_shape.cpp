// Padding, concatenation, stacking, splitting: hand-computed values, views, error messages.
#include <gtest/gtest.h>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

namespace {

template <class F> void expect_error(F f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "no uad::Error thrown";
  } catch (const Error& e) {
    std::string m = e.what();
    for (const std::string& n : needles) EXPECT_NE(m.find(n), std::string::npos) << "'" << n << "' not in: " << m;
  }
}

Tensor m23(DType t = DType::f64) { return from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, t); }

}  // namespace

// ---- pad -------------------------------------------------------------------------------------

TEST(Pad, ZeroLastDim) {
  Tensor y = pad(m23(), {1, 2});
  EXPECT_EQ(y.shape(), (Shape{2, 6}));
  expect_values(y, {0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0});
}

TEST(Pad, ZeroTwoDims) {
  // {W_lo=1, W_hi=0, H_lo=0, H_hi=1}
  Tensor y = pad(m23(DType::f32), {1, 0, 0, 1});
  EXPECT_EQ(y.shape(), (Shape{3, 4}));
  EXPECT_EQ(y.dtype(), DType::f32);
  expect_values(y, {0, 1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0});
}

TEST(Pad, NegativeCrops) {
  expect_values(pad(m23(), {-1, 0}), {2, 3, 5, 6});
  expect_values(pad(m23(), {1, -1}), {0, 1, 2, 0, 4, 5});
  expect_values(pad(m23(), {0, 0, -1, 1}), {4, 5, 6, 0, 0, 0});
  EXPECT_EQ(pad(m23(), {-2, -1}).shape(), (Shape{2, 0}));
  // Non-contiguous input (transposed) and an integer tensor.
  Tensor t = transpose(m23(), 0, 1);  // [[1,4],[2,5],[3,6]]
  expect_values(pad(t, {1, 0, -1, 0}), {0, 2, 5, 0, 3, 6});
  // A 1-d tensor.
  expect_values(pad(from_vector({7, 8}, {2}, DType::f64), {1, 2}), {0, 7, 8, 0, 0});
  expect_values(pad(from_vector({7, 8, 9}, {3}, DType::f64), {-1, -1}), {8});
  Tensor i = from_vector({7, 8}, {1, 2}, DType::i32);
  EXPECT_EQ(pad(i, {1, 1}).dtype(), DType::i32);
  expect_values(pad(i, {1, 1}), {0, 7, 8, 0});
}

TEST(Pad, ZeroThreeDims) {
  Tensor x = arange(8, DType::f64).reshape({1, 1, 2, 2, 2});
  Tensor y = pad(x, {1, 1, 1, 1, 1, 1});
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 4, 4}));
  std::vector<double> v = y.to_vector();
  for (int d = 0; d < 4; ++d)
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 4; ++w) {
        const bool in = d >= 1 && d <= 2 && h >= 1 && h <= 2 && w >= 1 && w <= 2;
        EXPECT_EQ(v[(d * 4 + h) * 4 + w], in ? 4 * (d - 1) + 2 * (h - 1) + (w - 1) : 0);
      }
}

TEST(Pad, Replicate) {
  Tensor x = from_vector({1, 2, 3, 4}, {1, 1, 2, 2}, DType::f64);
  // W: lo 1, hi 1; H: lo 1, hi 0.
  expect_values(pad(x, {1, 1, 1, 0}, PadMode::replicate), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4});
  // One padded dim of a 2-d tensor.
  expect_values(pad(m23(DType::f32), {2, 1}, PadMode::replicate), {1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6});
  // Three padded dims: out[d,h,w] = x[clamp(d−1), clamp(h), clamp(w−2)].
  Tensor x3 = arange(8, DType::f64).reshape({1, 1, 2, 2, 2});
  Tensor y = pad(x3, {2, 0, 0, 1, 1, 1}, PadMode::replicate);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 3, 4}));
  std::vector<double> v = y.to_vector();
  auto cl = [](int i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); };
  for (int d = 0; d < 4; ++d)
    for (int h = 0; h < 3; ++h)
      for (int w = 0; w < 4; ++w)
        EXPECT_EQ(v[(d * 3 + h) * 4 + w], 4 * cl(d - 1, 2) + 2 * cl(h, 2) + cl(w - 2, 2));
}

TEST(Pad, ReplicateBackwardSumsEdges) {
  // 1-D [1,2,3] padded {2,1}: cell 0 is read 3 times, cell 2 twice.
  Tensor g = ones({1, 6}, DType::f64);
  expect_values(pad_replicate_backward(g, {1, 3}, {2, 1}), {3, 1, 2});
}

// ---- cat / stack / split -----------------------------------------------------------------------

TEST(Cat, Dims) {
  Tensor a = m23(), b = from_vector({7, 8, 9}, {1, 3}, DType::f64), c = from_vector({10, 20}, {2, 1}, DType::f64);
  expect_values(cat({a, b}, 0), {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor y = cat({a, c}, -1);
  EXPECT_EQ(y.shape(), (Shape{2, 4}));
  expect_values(y, {1, 2, 3, 10, 4, 5, 6, 20});
  // Non-contiguous piece, a zero-sized piece, a single piece.
  Tensor t = transpose(from_vector({1, 2, 3, 4}, {2, 2}, DType::f64), 0, 1);  // [[1,3],[2,4]]
  expect_values(cat({c, t, zeros({2, 0}, DType::f64)}, 1), {10, 1, 3, 20, 2, 4});
  expect_values(cat({a}, 1), {1, 2, 3, 4, 5, 6});
  // Integer tensors.
  Tensor i = from_vector({1, 2}, {2}, DType::i32);
  expect_values(cat({i, i}, 0), {1, 2, 1, 2});
}

TEST(Cat, LargeChannels) {
  // Big enough to take the multithreaded path: [2, 3+5, 64, 64].
  Tensor a = full({2, 3, 64, 64}, 1.0), b = full({2, 5, 64, 64}, 2.0);
  Tensor y = cat({a, b}, 1);
  ASSERT_EQ(y.shape(), (Shape{2, 8, 64, 64}));
  EXPECT_NEAR(sum(y).item(), 2 * 64 * 64 * (3 * 1.0 + 5 * 2.0), 1e-3);
  EXPECT_EQ(y.to_vector()[8 * 4096 + 2 * 4096], 1.0);  // n=1, c=2
  EXPECT_EQ(y.to_vector()[8 * 4096 + 3 * 4096], 2.0);  // n=1, c=3
}

TEST(Stack, NewDim) {
  Tensor a = from_vector({1, 2}, {2}, DType::f64), b = from_vector({3, 4}, {2}, DType::f64);
  Tensor s0 = stack({a, b}, 0);
  EXPECT_EQ(s0.shape(), (Shape{2, 2}));
  expect_values(s0, {1, 2, 3, 4});
  Tensor s1 = stack({a, b}, -1);
  EXPECT_EQ(s1.shape(), (Shape{2, 2}));
  expect_values(s1, {1, 3, 2, 4});
}

TEST(Split, ViewsAndSizes) {
  Tensor x = arange(10, DType::f64).reshape({2, 5});
  std::vector<Tensor> p = split(x, {2, 0, 3}, 1);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(p[1].shape(), (Shape{2, 0}));
  expect_values(p[0], {0, 1, 5, 6});
  expect_values(p[2], {2, 3, 4, 7, 8, 9});
  EXPECT_EQ(p[2].impl()->storage.get(), x.impl()->storage.get());  // a view
  expect_values(split(x, {1, 1}, 0)[1], {5, 6, 7, 8, 9});
}

// ---- errors ----------------------------------------------------------------------------------

TEST(ShapeErrors, MessagesNameOpAndShapes) {
  Tensor a = m23();
  expect_error([&] { cat({a, zeros({3, 2}, DType::f64)}, 0); }, {"cat", "[3,2]", "[2,3]"});
  expect_error([&] { cat({a, zeros({2, 3, 1}, DType::f64)}, 0); }, {"cat", "[2,3,1]", "[2,3]"});
  expect_error([&] { cat({a, m23(DType::f32)}, 0); }, {"cat", "f32", "f64"});
  expect_error([&] { cat({}, 0); }, {"cat", "empty"});
  expect_error([&] { cat({a, a}, 2); }, {"cat", "dim 2", "[2,3]"});
  expect_error([&] { stack({a, zeros({3, 2}, DType::f64)}, 0); }, {"stack", "[3,2]", "[2,3]"});
  expect_error([&] { split(a, {1, 1}, 1); }, {"split", "[1,1]", "[2,3]", "add up to 2"});
  expect_error([&] { split(a, {4, -1}, 1); }, {"split", "negative", "[4,-1]"});
  expect_error([&] { pad(a, {1}); }, {"pad", "[1]", "even"});
  expect_error([&] { pad(a, {1, 1, 1, 1, 1, 1}); }, {"pad", "[2,3]", "3 dims"});
  expect_error([&] { pad(a, {-2, -2}); }, {"pad", "[2,3]", "[-2,-2]", "negative size"});
  expect_error([&] { pad(a, {-1, 0}, PadMode::replicate); }, {"pad (replicate)", "[-1,0]", "[2,3]"});
  expect_error([&] { pad(zeros({1, 1, 1, 1, 1}), {1, 1, 1, 1, 1, 1, 1, 1}, PadMode::replicate); },
               {"pad (replicate)", "1 to 3"});
  expect_error([&] { pad_replicate_backward(zeros({2, 4}, DType::f64), {2, 3}, {1, 1}); },
               {"pad_replicate_backward", "[2,4]", "[2,3]", "[2,5]"});
}
