// Reductions and views: hand-computed values, gradients (first and second order).
#include <gtest/gtest.h>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

TEST(Reduce, ForwardHandComputed) {
  Tensor x = from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values(sum(x), {21});
  expect_values(sum(x, {0}), {5, 7, 9});
  expect_values(sum(x, {1}), {6, 15});
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1}));
  expect_values(mean(x, {-1}), {2, 5});
  expect_values(amax(x, {0}), {4, 5, 6});
  expect_values(amin(x, {1}), {1, 4});
  expect_values(var(x, {1}), {1, 1});                       // unbiased
  expect_values(var(x, {1}, 0), {2.0 / 3.0, 2.0 / 3.0});    // biased
  expect_values(norm(x, 2.0), {std::sqrt(91.0)}, 1e-5);
  expect_values(norm(x, 1.0, {0}), {5, 7, 9});
  expect_values(norm(from_vector({3, 4}, {2}), 3.0), {std::cbrt(91.0)}, 1e-5);
}

TEST(Reduce, LargeFullSumIsAccurate) {
  // 1e6 × 0.1f summed: f64 accumulation keeps the f32 result at the rounding of 1e5.
  Tensor x = full({1000, 1000}, 0.1);
  EXPECT_NEAR(sum(x).item(), 100000.0, 0.01);
  Tensor y = full({4, 300000}, 1.0);
  expect_values(sum(y, {1}), {300000, 300000, 300000, 300000});
}

TEST(Reduce, StridedInput) {
  Tensor x = arange(24, DType::f64).reshape({2, 3, 4}).permute({2, 0, 1});  // [4,2,3]
  // sum over dim 1 (original dim 0): x[k,:,j] = {j*4+k, 12+j*4+k} → 2(4j+k)+12
  Tensor s = sum(x, {1});
  std::vector<double> e;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j) e.push_back(2 * (4 * j + k) + 12);
  expect_values(s, e);
}

TEST(GradReduce, FirstOrder) {
  Tensor x = uniform64({2, 3, 4}, 21);
  expect_gradients([](auto v) { return sum(v[0]); }, {x});
  expect_gradients([](auto v) { return sum(v[0], {0, 2}, true); }, {x});
  expect_gradients([](auto v) { return mean(v[0], {1}); }, {x});
  expect_gradients([](auto v) { return amax(v[0], {2}); }, {x});
  expect_gradients([](auto v) { return amin(v[0], {0, 1}); }, {x});
  expect_gradients([](auto v) { return var(v[0], {1, 2}); }, {x});
  expect_gradients([](auto v) { return var(v[0], {0}, 0, true); }, {x});
  expect_gradients([](auto v) { return norm(v[0], 2.0, {2}); }, {x});
  expect_gradients([](auto v) { return norm(v[0], 3.0); }, {x});
  expect_gradients([](auto v) { return sum_to(v[0], {3, 1}); }, {x});
}

TEST(GradView, FirstOrder) {
  Tensor x = uniform64({2, 3, 4}, 22);
  expect_gradients([](auto v) { return reshape(v[0], {4, 6}); }, {x});
  expect_gradients([](auto v) { return permute(v[0], {2, 0, 1}) * arange(3, DType::f64); }, {x});
  expect_gradients([](auto v) { return slice(v[0], 2, 1, 4, 2); }, {x});
  expect_gradients([](auto v) { return expand(unsqueeze(v[0], 0), {3, 2, 3, 4}); }, {x});
  expect_gradients([](auto v) { return flatten(transpose(v[0], 0, 2), 1); }, {x});
  expect_gradients([](auto v) { return squeeze(slice(v[0], 1, 0, 1), 1); }, {x});
  expect_gradients([](auto v) { return contiguous(transpose(v[0], 1, 2)); }, {x});
}

TEST(GradReduceView, SecondOrder) {
  Tensor x = uniform64({2, 3, 4}, 23), y = uniform64({3, 4}, 24);
  expect_second_order([](auto v) { return sum(mul(v[0], v[0]), {1}); }, {x});
  expect_second_order([](auto v) { return mean(mul(v[0], v[1])); }, {x, y});
  expect_second_order([](auto v) { return square(sum(v[0], {2})); }, {x});
  expect_second_order([](auto v) { return var(v[0], {2}); }, {x});
  expect_second_order([](auto v) { return norm(v[0], 2.0, {1, 2}); }, {x});
  expect_second_order([](auto v) { return square(reshape(v[0], {6, 4})); }, {x});
  expect_second_order([](auto v) { return mul(flatten(v[0], 1), flatten(v[0], 1)); }, {x});
  expect_second_order([](auto v) { return square(slice(permute(v[0], {1, 0, 2}), 2, 0, 3)); }, {x});
}

TEST(View, SharesStorage) {
  Tensor x = arange(6).reshape({2, 3});
  Tensor t = x.transpose(0, 1);
  EXPECT_EQ(t.impl()->storage.get(), x.impl()->storage.get());
  EXPECT_FALSE(t.is_contiguous());
  expect_values(t, {0, 3, 1, 4, 2, 5});
  expect_values(x.slice(1, 1, 3), {1, 2, 4, 5});
  EXPECT_THROW(x.reshape({4}), Error);
  EXPECT_THROW(x.squeeze(0), Error);
  EXPECT_EQ(x.reshape({-1, 2}).shape(), (Shape{3, 2}));
}
