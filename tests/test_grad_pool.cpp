// Gradients of pooling, upsampling, padding and concatenation in f64: first order against
// central differences for every op (2-D and 3-D), second order (grad of grad) through the
// backward ops, whose own vjps are the forward ops again.
#include <gtest/gtest.h>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

// ---- first order -----------------------------------------------------------------------------

TEST(GradPool, AvgPoolFirstOrder) {
  Tensor x2 = uniform64({2, 2, 5, 4}, 1), x3 = uniform64({1, 2, 4, 3, 5}, 2);
  expect_gradients([](auto v) { return avg_pool2d(v[0], {2}); }, {x2});
  expect_gradients([](auto v) { return avg_pool2d(v[0], {3, 2}, {2, 1}, {1, 0}); }, {x2});
  expect_gradients([](auto v) { return avg_pool3d(v[0], {2}); }, {x3});
  expect_gradients([](auto v) { return avg_pool3d(v[0], {3, 2, 3}, {1, 2, 2}, {1, 1, 1}); }, {x3});
}

TEST(GradPool, MaxPoolFirstOrder) {
  Tensor x2 = uniform64({2, 2, 5, 4}, 3), x3 = uniform64({1, 2, 4, 3, 5}, 4);
  expect_gradients([](auto v) { return max_pool2d(v[0], {2}); }, {x2});
  expect_gradients([](auto v) { return max_pool2d(v[0], {3}, {1}, {1}); }, {x2});  // overlapping
  expect_gradients([](auto v) { return max_pool3d(v[0], {2}); }, {x3});
  expect_gradients([](auto v) { return max_pool3d(v[0], {3, 2, 3}, {2, 1, 2}, {1, 1, 1}); }, {x3});
}

TEST(GradPool, UpsampleFirstOrder) {
  Tensor x1 = uniform64({2, 2, 3}, 5), x2 = uniform64({1, 2, 3, 2}, 6), x3 = uniform64({1, 2, 2, 3, 2}, 7);
  expect_gradients([](auto v) { return upsample_nearest(v[0], {5}); }, {x1});
  expect_gradients([](auto v) { return upsample_nearest(v[0], {5, 4}); }, {x2});
  expect_gradients([](auto v) { return upsample_nearest(v[0], {4, 5, 3}); }, {x3});
  for (bool ac : {false, true}) {
    expect_gradients([ac](auto v) { return upsample_linear(v[0], {7}, ac); }, {x1});
    expect_gradients([ac](auto v) { return upsample_linear(v[0], {6, 3}, ac); }, {x2});
    expect_gradients([ac](auto v) { return upsample_linear(v[0], {3, 5, 4}, ac); }, {x3});
    expect_gradients([ac](auto v) { return upsample_linear(v[0], {1, 2, 1}, ac); }, {x3});  // down
  }
}

TEST(GradPool, BackwardOpsFirstOrder) {
  // The backward ops are linear in g; their gradients are the forward ops.
  Tensor g2 = uniform64({2, 2, 2, 2}, 8), g3 = uniform64({1, 2, 2, 1, 2}, 9);
  expect_gradients([](auto v) { return avg_pool_backward(v[0], {2, 2, 5, 4}, {2}); }, {g2});
  expect_gradients([](auto v) { return avg_pool_backward(v[0], {1, 2, 4, 3, 5}, {2}); }, {g3});
  Tensor x = uniform64({2, 2, 5, 4}, 10);
  Tensor idx = max_pool2d_with_indices(x, {2}).second;
  expect_gradients([idx](auto v) { return max_pool_backward(v[0], idx, {2, 2, 5, 4}); }, {g2});
  expect_gradients([idx](auto v) { return max_pool_gather(v[0], idx); }, {x});
  Tensor gu = uniform64({1, 2, 4, 3}, 11);
  expect_gradients([](auto v) { return upsample_nearest_backward(v[0], {1, 2, 3, 2}); }, {gu});
  expect_gradients([](auto v) { return upsample_linear_backward(v[0], {1, 2, 3, 2}, false); }, {gu});
  expect_gradients([](auto v) { return upsample_linear_backward(v[0], {1, 2, 3, 2}, true); }, {gu});
  expect_gradients([](auto v) { return pad_replicate_backward(v[0], {1, 2, 3, 1}, {1, 1, 1, 0}); }, {gu});
}

TEST(GradShape, FirstOrder) {
  Tensor x2 = uniform64({2, 3, 4}, 12), x3 = uniform64({1, 2, 2, 3, 2}, 13), y = uniform64({2, 1, 4}, 14);
  expect_gradients([](auto v) { return pad(v[0], {1, 2}); }, {x2});
  expect_gradients([](auto v) { return pad(v[0], {-1, 1, 2, -1}); }, {x2});
  expect_gradients([](auto v) { return pad(v[0], {1, 0, 0, 2, 1, 1}); }, {x3});
  expect_gradients([](auto v) { return pad(v[0], {2, 1}, PadMode::replicate); }, {x2});
  expect_gradients([](auto v) { return pad(v[0], {1, 2, 2, 0}, PadMode::replicate); }, {x2});
  expect_gradients([](auto v) { return pad(v[0], {1, 0, 0, 2, 2, 1}, PadMode::replicate); }, {x3});
  expect_gradients([](auto v) { return cat({v[0], v[1]}, 1); }, {x2, y});
  expect_gradients([](auto v) { return cat({v[1], v[0], v[1]}, -2); }, {x2, y});
  expect_gradients([](auto v) { return cat({v[0], v[0]}, 4); }, {x3});
  expect_gradients([](auto v) { return stack({v[0], mul(v[0], v[0])}, 1); }, {x2});
  expect_gradients([](auto v) { return stack({v[0], v[0]}, 5); }, {x3});
  expect_gradients([](auto v) {
    auto p = split(v[0], {1, 3}, 2);
    return mul(p[0], p[1]);  // [2,3,1] · [2,3,3] broadcast
  }, {x2});
}

// ---- second order ----------------------------------------------------------------------------

TEST(GradPool, SecondOrder) {
  Tensor x2 = uniform64({1, 2, 4, 4}, 20), x3 = uniform64({1, 1, 4, 3, 4}, 21);
  expect_second_order([](auto v) { return square(avg_pool2d(v[0], {2})); }, {x2});
  expect_second_order([](auto v) { return square(avg_pool2d(v[0], {3}, {2}, {1})); }, {x2});
  expect_second_order([](auto v) { return square(avg_pool3d(v[0], {2, 2, 3}, {1, 1, 1}, {1, 0, 1})); }, {x3});
  expect_second_order([](auto v) { return square(max_pool2d(v[0], {2})); }, {x2});
  expect_second_order([](auto v) { return square(max_pool3d(v[0], {2}, {1})); }, {x3});
  for (bool ac : {false, true}) {
    expect_second_order([ac](auto v) { return square(upsample_linear(v[0], {7, 5}, ac)); }, {x2});
    expect_second_order([ac](auto v) { return square(upsample_linear(v[0], {5, 4, 6}, ac)); }, {x3});
  }
  expect_second_order([](auto v) { return square(upsample_nearest(v[0], {6, 7})); }, {x2});
  expect_second_order([](auto v) { return square(upsample_nearest(v[0], {5, 6, 3})); }, {x3});
  // Through a backward op itself: its vjp (the forward op) must be recorded too.
  expect_second_order([](auto v) { return square(avg_pool_backward(v[0], {1, 2, 8, 8}, {2})); }, {x2});
  expect_second_order([](auto v) { return square(upsample_linear_backward(v[0], {1, 2, 2, 2}, true)); }, {x2});
}

TEST(GradShape, SecondOrder) {
  Tensor x2 = uniform64({2, 3, 4}, 22), y = uniform64({2, 2, 4}, 23), x3 = uniform64({1, 1, 2, 3, 2}, 24);
  expect_second_order([](auto v) { return square(pad(v[0], {1, 2, -1, 1})); }, {x2});
  expect_second_order([](auto v) { return square(pad(v[0], {1, 1, 1, 0}, PadMode::replicate)); }, {x2});
  expect_second_order([](auto v) { return square(pad(v[0], {1, 0, 2, 1, 0, 1}, PadMode::replicate)); }, {x3});
  expect_second_order([](auto v) { return square(pad_replicate_backward(v[0], {2, 3, 2}, {1, 1})); }, {x2});
  expect_second_order([](auto v) { return square(cat({v[0], v[1]}, 1)); }, {x2, y});
  expect_second_order([](auto v) { return mul(cat({v[0], v[1]}, 1), cat({v[1], v[0]}, 1)); }, {x2, y});
  expect_second_order([](auto v) { return square(stack({v[0], v[0]}, 0)); }, {x2});
}
