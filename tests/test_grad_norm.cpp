// Gradients of the normalisations, dropout, softmax family and losses against finite
// differences in f64: first order (fused first-order kernels) and second order (the composed
// vjps used under create_graph), tiny shapes.
#include <gtest/gtest.h>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

TEST(GradNorm, LayerNormFirstOrder) {
  Tensor x = uniform64({3, 4}, 1), w = uniform64({4}, 2), b = uniform64({4}, 3);
  expect_gradients([](auto v) { return layer_norm(v[0], 1); }, {x});
  expect_gradients([](auto v) { return layer_norm(v[0], 1, v[1], v[2]); }, {x, w, b});
  Tensor x3 = uniform64({2, 2, 3, 2}, 4), w3 = uniform64({2, 3, 2}, 5), b3 = uniform64({2, 3, 2}, 6);
  expect_gradients([](auto v) { return layer_norm(v[0], 3, v[1], v[2]); }, {x3, w3, b3});
  expect_gradients([](auto v) { return layer_norm(v[0], 2, Tensor(), v[1]); }, {x3, uniform64({3, 2}, 7)});
  // A non-contiguous input.
  expect_gradients([](auto v) { return layer_norm(transpose(v[0], 0, 1), 1, v[1]); }, {uniform64({4, 3}, 8), w});
}

TEST(GradNorm, LayerNormSecondOrder) {
  // Over 1, 2 and 3 trailing dims, with and without weight/bias.
  Tensor x1 = uniform64({3, 4}, 11), w1 = uniform64({4}, 12), b1 = uniform64({4}, 13);
  expect_second_order([](auto v) { return layer_norm(v[0], 1); }, {x1});
  expect_second_order([](auto v) { return layer_norm(v[0], 1, v[1], v[2]); }, {x1, w1, b1});
  Tensor x2 = uniform64({2, 3, 2}, 14), w2 = uniform64({3, 2}, 15), b2 = uniform64({3, 2}, 16);
  expect_second_order([](auto v) { return layer_norm(v[0], 2); }, {x2});
  expect_second_order([](auto v) { return layer_norm(v[0], 2, v[1], v[2]); }, {x2, w2, b2});
  expect_second_order([](auto v) { return layer_norm(v[0], 2, v[1]); }, {x2, w2});
  Tensor x3 = uniform64({2, 2, 2, 2}, 17), w3 = uniform64({2, 2, 2}, 18), b3 = uniform64({2, 2, 2}, 19);
  expect_second_order([](auto v) { return layer_norm(v[0], 3); }, {x3});
  expect_second_order([](auto v) { return layer_norm(v[0], 3, v[1], v[2]); }, {x3, w3, b3});
}

TEST(GradNorm, GradientPenaltyThroughLayerNorm) {
  // The WGAN-GP pattern: ‖∂D/∂x‖² differentiated w.r.t. the critic's parameters, where
  // D = Σ layer_norm(x)·w·a (a fixed). Checked as a second-order derivative in (x, w, b).
  Tensor x = uniform64({2, 3, 2}, 21), w = uniform64({3, 2}, 22), b = uniform64({3, 2}, 23);
  expect_second_order([](auto v) { return square(layer_norm(v[0], 2, v[1], v[2])); }, {x, w, b});
}

TEST(GradNorm, InstanceNorm) {
  Tensor x = uniform64({2, 3, 4}, 31), w = uniform64({3}, 32), b = uniform64({3}, 33);
  expect_gradients([](auto v) { return instance_norm(v[0]); }, {x});
  expect_gradients([](auto v) { return instance_norm(v[0], v[1], v[2]); }, {x, w, b});
  expect_second_order([](auto v) { return instance_norm(v[0]); }, {x});
  expect_second_order([](auto v) { return instance_norm(v[0], v[1], v[2]); }, {x, w, b});
  Tensor x4 = uniform64({1, 2, 2, 3}, 34);  // two spatial dims
  expect_second_order([](auto v) { return instance_norm(v[0], v[1]); }, {x4, uniform64({2}, 35)});
}

TEST(GradNorm, GroupNorm) {
  Tensor x = uniform64({2, 4, 3}, 41), w = uniform64({4}, 42), b = uniform64({4}, 43);
  expect_gradients([](auto v) { return group_norm(v[0], 2, v[1], v[2]); }, {x, w, b});
  expect_gradients([](auto v) { return group_norm(v[0], 1); }, {x});
  expect_second_order([](auto v) { return group_norm(v[0], 2, v[1], v[2]); }, {x, w, b});
  expect_second_order([](auto v) { return group_norm(v[0], 4); }, {x});
}

TEST(GradNorm, BatchNormTraining) {
  Tensor x = uniform64({3, 2, 2}, 51), w = uniform64({2}, 52), b = uniform64({2}, 53);
  Tensor rm = zeros({2}, DType::f64), rv = ones({2}, DType::f64);
  expect_gradients([&](auto v) { return batch_norm(v[0], v[1], v[2], rm, rv, true); }, {x, w, b});
  expect_gradients([](auto v) { return batch_norm(v[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }, {x});
  expect_gradients([](auto v) { return batch_norm(v[0], v[1], Tensor(), Tensor(), Tensor(), true); },
                   {uniform64({4, 3}, 54), uniform64({3}, 55)});  // [N, C]
  expect_second_order([](auto v) { return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), true); }, {x, w, b});
  expect_second_order([](auto v) { return batch_norm(v[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }, {x});
}

TEST(GradNorm, BatchNormEval) {
  Tensor x = uniform64({3, 2, 2}, 61), w = uniform64({2}, 62), b = uniform64({2}, 63);
  Tensor rm = uniform64({2}, 64), rv = uniform64({2}, 65, 0.5, 2.0);
  expect_gradients([&](auto v) { return batch_norm(v[0], v[1], v[2], rm, rv, false); }, {x, w, b});
  expect_second_order([&](auto v) { return square(batch_norm(v[0], v[1], v[2], rm, rv, false)); }, {x, w, b});
}

TEST(GradNorm, Dropout) {
  // A fresh generator per call: the same mask at every finite-difference evaluation.
  Tensor x = uniform64({4, 5}, 71);
  expect_gradients([](auto v) { Generator g(5); return dropout(v[0], 0.4, true, g); }, {x});
  expect_second_order([](auto v) { Generator g(5); return square(dropout(v[0], 0.4, true, g)); }, {x});
}

TEST(GradNorm, Softmax) {
  Tensor x = uniform64({3, 4}, 81, -2, 2);
  for (int64_t d : {0, 1}) {
    expect_gradients([d](auto v) { return softmax(v[0], d); }, {x});
    expect_gradients([d](auto v) { return log_softmax(v[0], d); }, {x});
    expect_second_order([d](auto v) { return softmax(v[0], d); }, {x});
    expect_second_order([d](auto v) { return log_softmax(v[0], d); }, {x});
  }
  Tensor x3 = uniform64({2, 3, 2}, 82, -2, 2);
  expect_gradients([](auto v) { return softmax(v[0], 1); }, {x3});
  expect_second_order([](auto v) { return log_softmax(v[0], 1); }, {x3});
}

TEST(GradLoss, FirstAndSecondOrder) {
  // Inputs kept away from x == y (the kink of |x − y|) and in a safe range for exp.
  Tensor x = uniform64({2, 3}, 91), y = uniform64({2, 3}, 92) + 3.0, t = uniform64({2, 3}, 93, 0, 1);
  Tensor m2 = uniform64({2, 3}, 94), l2 = uniform64({2, 3}, 95);
  for (Reduction r : {Reduction::none, Reduction::mean, Reduction::sum, Reduction::batch_mean}) {
    expect_gradients([r](auto v) { return l1_loss(v[0], v[1], r); }, {x, y});
    expect_gradients([r](auto v) { return mse_loss(v[0], v[1], r); }, {x, y});
    expect_gradients([r](auto v) { return bce_with_logits(v[0], v[1], r); }, {x, t});
    expect_gradients([r](auto v) { return kl_normal_std(v[0], v[1], r); }, {x, m2});
    expect_gradients([r](auto v) { return kl_normal(v[0], v[1], v[2], v[3], r); }, {x, t, m2, l2});
    expect_gradients([r](auto v) { return gaussian_nll(v[0], v[1], v[2], r, true); }, {x, m2, l2});
  }
  // Second order (through a square so the l1 / mse Hessians are not trivially constant).
  expect_second_order([](auto v) { return square(l1_loss(v[0], v[1], Reduction::sum)); }, {x, y});
  expect_second_order([](auto v) { return mse_loss(v[0], v[1], Reduction::mean); }, {x, y});
  expect_second_order([](auto v) { return bce_with_logits(v[0], v[1], Reduction::mean); }, {x, t});
  expect_second_order([](auto v) { return kl_normal_std(v[0], v[1], Reduction::batch_mean); }, {x, m2});
  expect_second_order([](auto v) { return kl_normal(v[0], v[1], v[2], v[3], Reduction::sum); }, {x, t, m2, l2});
  expect_second_order([](auto v) { return gaussian_nll(v[0], v[1], v[2], Reduction::mean); }, {x, m2, l2});
}
