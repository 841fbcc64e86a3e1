// Convolution gradients in f64 against finite differences: first order for conv2d/conv3d,
// conv_transpose2d/3d and the three raw ops (stride, padding, dilation, output_padding); second
// order for conv2d, conv3d, conv_transpose2d/3d and linear; and a gradient-penalty composition
// Σ(∂D/∂x)² (the WGAN-GP critic term) differentiated once and twice.
#include <gtest/gtest.h>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

TEST(GradConv, Conv2dFirstOrder) {
  Tensor x = uniform64({1, 2, 5, 5}, 1), w = uniform64({3, 2, 3, 3}, 2), b = uniform64({3}, 3);
  expect_gradients([](auto v) { return conv2d(v[0], v[1], v[2], {1}, {1}); }, {x, w, b});
  expect_gradients([](auto v) { return conv2d(v[0], v[1], v[2], {2}, {1}); }, {x, w, b});
  expect_gradients([](auto v) { return conv2d(v[0], v[1], Tensor(), {1}, {2}, {2}); }, {x, w});
  // Rectangular: stride {2,1}, padding {0,1}, dilation {1,2}; input 6 rows so a row is uncovered.
  expect_gradients([](auto v) { return conv2d(v[0], v[1], v[2], {2, 1}, {0, 1}, {1, 2}); },
                   {uniform64({2, 2, 6, 5}, 4), uniform64({2, 2, 3, 2}, 5), uniform64({2}, 6)});
}

TEST(GradConv, Conv3dFirstOrder) {
  Tensor x = uniform64({1, 1, 4, 4, 4}, 7), w = uniform64({2, 1, 3, 3, 3}, 8), b = uniform64({2}, 9);
  expect_gradients([](auto v) { return conv3d(v[0], v[1], v[2], {1}, {1}); }, {x, w, b});
  expect_gradients([](auto v) { return conv3d(v[0], v[1], v[2], {2}, {1}); }, {x, w, b});
  expect_gradients([](auto v) { return conv3d(v[0], v[1], Tensor(), {1}, {1}, {2}); }, {x, w});
}

TEST(GradConv, ConvTransposeFirstOrder) {
  Tensor x = uniform64({1, 2, 3, 3}, 10), w = uniform64({2, 3, 3, 3}, 11), b = uniform64({3}, 12);
  expect_gradients([](auto v) { return conv_transpose2d(v[0], v[1], v[2], {2}, {1}, {1}); }, {x, w, b});
  expect_gradients([](auto v) { return conv_transpose2d(v[0], v[1], v[2], {1}, {1}, {0}, {2}); }, {x, w, b});
  expect_gradients([](auto v) { return conv_transpose2d(v[0], v[1], Tensor(), {2, 1}, {0, 1}); }, {x, w});
  Tensor x3 = uniform64({1, 1, 3, 3, 3}, 13), w3 = uniform64({1, 2, 2, 2, 2}, 14), b3 = uniform64({2}, 15);
  expect_gradients([](auto v) { return conv_transpose3d(v[0], v[1], v[2], {2}); }, {x3, w3, b3});
  expect_gradients([](auto v) { return conv_transpose3d(v[0], v[1], v[2], {2}, {1}, {1}); }, {x3, uniform64({1, 2, 3, 3, 3}, 16), b3});
}

TEST(GradConv, RawOpsFirstOrder) {
  const ConvParams p{{2}, {1}, {1}}, pd{{1}, {1}, {2}};
  Tensor x = uniform64({1, 2, 5, 5}, 17), w = uniform64({3, 2, 3, 3}, 18);
  Tensor gy = uniform64({1, 3, 3, 3}, 19);   // conv output of x with p: (5+2−3)/2+1 = 3
  Tensor gyd = uniform64({1, 3, 3, 3}, 20);  // with pd: 5+2−4−1+1 = 3
  expect_gradients([p](auto v) { return conv(v[0], v[1], p); }, {x, w});
  expect_gradients([p](auto v) { return conv_backward_input(v[0], v[1], {1, 2, 5, 5}, p); }, {gy, w});
  expect_gradients([p](auto v) { return conv_backward_weight(v[0], v[1], {3, 2, 3, 3}, p); }, {x, gy});
  expect_gradients([pd](auto v) { return conv_backward_input(v[0], v[1], {1, 2, 5, 5}, pd); }, {gyd, w});
  expect_gradients([pd](auto v) { return conv_backward_weight(v[0], v[1], {3, 2, 3, 3}, pd); }, {x, gyd});
  // Input 6 with stride 2: the last row is outside every window (zero gradient, still exact).
  expect_gradients([p](auto v) { return conv_backward_input(v[0], v[1], {1, 2, 6, 6}, p); }, {gy, w});
  const ConvParams p3{{2}, {1}, {1}};
  Tensor x3 = uniform64({1, 1, 4, 4, 4}, 21), w3 = uniform64({2, 1, 2, 2, 2}, 22), gy3 = uniform64({1, 2, 3, 3, 3}, 23);
  expect_gradients([p3](auto v) { return conv_backward_input(v[0], v[1], {1, 1, 4, 4, 4}, p3); }, {gy3, w3});
  expect_gradients([p3](auto v) { return conv_backward_weight(v[0], v[1], {2, 1, 2, 2, 2}, p3); }, {x3, gy3});
}

TEST(GradConv, SecondOrder) {
  Tensor x = uniform64({1, 2, 5, 5}, 31), w = uniform64({2, 2, 3, 3}, 32), b = uniform64({2}, 33);
  expect_second_order([](auto v) { return tanh(conv2d(v[0], v[1], v[2], {2}, {1})); }, {x, w, b});
  expect_second_order([](auto v) { return square(conv2d(v[0], v[1], Tensor(), {1}, {1}, {2})); }, {x, w});
  Tensor x3 = uniform64({1, 1, 4, 4, 4}, 34), w3 = uniform64({2, 1, 2, 2, 2}, 35), b3 = uniform64({2}, 36);
  expect_second_order([](auto v) { return tanh(conv3d(v[0], v[1], v[2], {2}, {1})); }, {x3, w3, b3});
  Tensor xt = uniform64({1, 2, 3, 3}, 37), wt = uniform64({2, 1, 3, 3}, 38), bt = uniform64({1}, 39);
  expect_second_order([](auto v) { return tanh(conv_transpose2d(v[0], v[1], v[2], {2}, {1}, {1})); }, {xt, wt, bt});
  Tensor xt3 = uniform64({1, 1, 2, 2, 2}, 40), wt3 = uniform64({1, 2, 2, 2, 2}, 41), bt3 = uniform64({2}, 42);
  expect_second_order([](auto v) { return tanh(conv_transpose3d(v[0], v[1], v[2], {2})); }, {xt3, wt3, bt3});
  expect_second_order([](auto v) { return tanh(linear(v[0], v[1], v[2])); },
                      {uniform64({3, 4}, 43), uniform64({2, 4}, 44), uniform64({2}, 45)});
}

namespace {

/// A tiny critic D(x) = Σ conv2d(tanh(conv2d(x, w1, b1, stride 2)), w2) and its gradient
/// penalty term Σ_n (Σ_pixels (∂D/∂x)²) — the WGAN-GP shape (Gulrajani et al. 2017, Eq. 3).
Tensor penalty(const std::vector<Tensor>& v) {
  GradModeGuard on(true);  // gradcheck also evaluates f under no-grad; the inner grad needs a graph
  Tensor h = tanh(conv2d(v[0], v[1], v[2], {2}, {1}));
  Tensor d = sum(conv2d(h, v[3], Tensor(), {1}, {1}));
  Tensor gx = grad({d}, {v[0]}, {}, true)[0];
  return sum(square(gx), {1, 2, 3});
}

}  // namespace

TEST(GradConv, GradientPenaltyComposition) {
  std::vector<Tensor> in{uniform64({2, 1, 5, 5}, 51), uniform64({2, 1, 3, 3}, 52), uniform64({2}, 53),
                         uniform64({1, 2, 3, 3}, 54)};
  expect_gradients(penalty, in);     // second-order derivatives of the convolutions
  expect_second_order(penalty, in);  // and third-order
}
