// Second-order PyTorch parity: gradients of gradients of the ops that appear in critics and
// penalties (WGAN-GP through conv/norm/activation layers, the ceVAE's gradient scoring, the
// restoration's gradient steps). For each case both engines compute g = ∂(Σ f·gy)/∂x with
// create_graph and h = Σ g·v, then ∂h/∂(every input): see parity_second_order in
// tests/parity/harness.h (tolerances there). Piecewise-linear ops (relu, leaky_relu, pooling,
// upsampling, pad) have zero second derivatives and no graph for h, so they are covered inside
// composite cases (the WGAN-GP critic, tests/test_parity_wgan_gp.cpp) rather than alone.
#include <gtest/gtest.h>

#include "tests/parity/harness.h"

using namespace uad;
using namespace uad::parity;

namespace {
using V = std::vector<Tensor>;
}

TEST(ParitySecondOrder, LinearAndConv) {
  parity_second_order("linear", Params(), {{"x", uniform({4, 6}, 1)}, {"w", uniform({3, 6}, 2)}, {"b", uniform({3}, 3)}},
                      [](const V& v) { return V{linear(v[0], v[1], v[2])}; }, 0);
  Params c2 = Params().ints("stride", {2, 2}).ints("padding", {2, 2}).ints("dilation", {1, 1});
  parity_second_order("conv2d", c2, {{"x", uniform({2, 2, 9, 8}, 4)}, {"w", uniform({3, 2, 5, 5}, 5)}, {"b", uniform({3}, 6)}},
                      [](const V& v) { return V{conv2d(v[0], v[1], v[2], {2, 2}, {2, 2})}; }, 0, {}, "conv2d wrt x");
  parity_second_order("conv2d", c2, {{"x", uniform({2, 2, 9, 8}, 4)}, {"w", uniform({3, 2, 5, 5}, 5)}, {"b", uniform({3}, 6)}},
                      [](const V& v) { return V{conv2d(v[0], v[1], v[2], {2, 2}, {2, 2})}; }, 1, {}, "conv2d wrt w");
  Params c3 = Params().ints("stride", {2, 2, 2}).ints("padding", {1, 1, 1}).ints("dilation", {1, 1, 1});
  parity_second_order("conv3d", c3, {{"x", uniform({2, 2, 6, 5, 6}, 7)}, {"w", uniform({3, 2, 4, 4, 4}, 8)}, {"b", uniform({3}, 9)}},
                      [](const V& v) { return V{conv3d(v[0], v[1], v[2], {2, 2, 2}, {1, 1, 1})}; }, 0, {}, "conv3d wrt x");
  Params t2 = Params().ints("stride", {2, 2}).ints("padding", {2, 2}).ints("output_padding", {1, 1}).ints("dilation", {1, 1});
  parity_second_order("conv_transpose2d", t2,
                      {{"x", uniform({2, 3, 4, 5}, 10)}, {"w", uniform({3, 2, 5, 5}, 11)}, {"b", uniform({2}, 12)}},
                      [](const V& v) { return V{conv_transpose2d(v[0], v[1], v[2], {2, 2}, {2, 2}, {1, 1})}; }, 0, {},
                      "conv_transpose2d wrt x");
  Params t3 = Params().ints("stride", {2, 2, 2}).ints("padding", {1, 1, 1}).ints("output_padding", {1, 1, 1}).ints("dilation", {1, 1, 1});
  parity_second_order("conv_transpose3d", t3,
                      {{"x", uniform({1, 2, 3, 3, 2}, 13)}, {"w", uniform({2, 3, 3, 3, 3}, 14)}, {"b", uniform({3}, 15)}},
                      [](const V& v) { return V{conv_transpose3d(v[0], v[1], v[2], {2, 2, 2}, {1, 1, 1}, {1, 1, 1})}; }, 1, {},
                      "conv_transpose3d wrt w");
}

TEST(ParitySecondOrder, Norms) {
  for (Shape xs : {Shape{6, 3}, Shape{3, 3, 4, 5}}) {
    Params p = Params().flag("training", true).num("momentum", 0.1).num("eps", 1e-5);
    parity_second_order("batch_norm", p,
                        {{"x", uniform(xs, 20, -1, 2)}, {"weight", uniform({3}, 21, 0.5, 1.5)}, {"bias", uniform({3}, 22)},
                         {"running_mean", zeros({3}), false}, {"running_var", ones({3}), false}},
                        [](const V& v) { return V{batch_norm(v[0], v[1], v[2], v[3], v[4], true, 0.1, 1e-5)}; }, 0, {},
                        "batch_norm train " + shape_str(xs));
  }
  parity_second_order("layer_norm", Params().num("normalized_ndim", 3).num("eps", 1e-5),
                      {{"x", uniform({2, 3, 4, 5}, 23, -1, 2)}, {"weight", uniform({3, 4, 5}, 24, 0.5, 1.5)},
                       {"bias", uniform({3, 4, 5}, 25)}},
                      [](const V& v) { return V{layer_norm(v[0], 3, v[1], v[2], 1e-5)}; }, 0, {}, "layer_norm (C,H,W)");
  parity_second_order("instance_norm", Params().num("eps", 1e-5),
                      {{"x", uniform({2, 3, 4, 3, 2}, 26, -1, 2)}, {"weight", uniform({3}, 27, 0.5, 1.5)}, {"bias", uniform({3}, 28)}},
                      [](const V& v) { return V{instance_norm(v[0], v[1], v[2])}; }, 0, {}, "instance_norm 3-D");
  parity_second_order("group_norm", Params().num("groups", 2).num("eps", 1e-5),
                      {{"x", uniform({2, 4, 3, 5}, 29, -1, 2)}, {"weight", uniform({4}, 30, 0.5, 1.5)}, {"bias", uniform({4}, 31)}},
                      [](const V& v) { return V{group_norm(v[0], 2, v[1], v[2])}; }, 0, {}, "group_norm");
}

TEST(ParitySecondOrder, ActivationsSoftmaxLosses) {
  struct Act { const char* name; double param; std::function<Tensor(const Tensor&)> f; };
  const std::vector<Act> acts{
      {"elu", 1.0, [](const Tensor& x) { return elu(x, 1.0); }},
      {"tanh", 0, [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", 0, [](const Tensor& x) { return sigmoid(x); }},
      {"softplus", 0, [](const Tensor& x) { return softplus(x); }},
  };
  for (const Act& a : acts) {
    auto f = a.f;
    parity_second_order("activation", Params().str("name", a.name).num("alpha", a.param), {{"x", uniform({3, 4, 5}, 40, -4, 4)}},
                        [f](const V& v) { return V{f(v[0])}; }, 0, {}, a.name);
  }
  parity_second_order("softmax", Params().num("dim", 1), {{"x", uniform({3, 6, 2}, 41, -3, 3)}},
                      [](const V& v) { return V{softmax(v[0], 1)}; }, 0);
  parity_second_order("log_softmax", Params().num("dim", -1), {{"x", uniform({4, 7}, 42, -3, 3)}},
                      [](const V& v) { return V{log_softmax(v[0], -1)}; }, 0);
  parity_second_order("loss", Params().str("name", "mse").str("reduction", "batch_mean"),
                      {{"x", uniform({3, 8}, 43)}, {"y", uniform({3, 8}, 44)}},
                      [](const V& v) { return V{mse_loss(v[0], v[1], Reduction::batch_mean)}; }, 0, {}, "mse");
  parity_second_order("loss", Params().str("name", "bce_with_logits").str("reduction", "mean"),
                      {{"x", uniform({3, 8}, 45, -5, 5)}, {"y", uniform({3, 8}, 46, 0, 1)}},
                      [](const V& v) { return V{bce_with_logits(v[0], v[1], Reduction::mean)}; }, 0, {}, "bce_with_logits");
  parity_second_order("loss", Params().str("name", "kl_normal_std").str("reduction", "batch_mean"),
                      {{"x", uniform({3, 8}, 47)}, {"logvar", uniform({3, 8}, 48)}},
                      [](const V& v) { return V{kl_normal_std(v[0], v[1], Reduction::batch_mean)}; }, 1, {}, "kl_normal_std wrt logvar");
  parity_second_order("loss", Params().str("name", "gaussian_nll").str("reduction", "mean").flag("full", true),
                      {{"x", uniform({3, 8}, 49)}, {"y", uniform({3, 8}, 50)}, {"logvar", uniform({3, 8}, 51)}},
                      [](const V& v) { return V{gaussian_nll(v[0], v[1], v[2], Reduction::mean, true)}; }, 2, {},
                      "gaussian_nll wrt logvar");
}
