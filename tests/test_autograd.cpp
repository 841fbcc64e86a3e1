// Autograd engine: accumulation, grad(), no-grad, detach, freed graphs, error messages.
#include <gtest/gtest.h>

#include "kernels/common/philox.h"
#include "tests/error_of.h"
#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;


TEST(Autograd, LeafAccumulation) {
  Tensor x = from_vector({1, 2, 3}, {3}, DType::f64);
  x.requires_grad_();
  Tensor y = sum(x * x);  // dy/dx = 2x
  y.backward();
  expect_values(x.grad(), {2, 4, 6});
  Tensor z = sum(x * 3.0);
  z.backward();  // accumulates
  expect_values(x.grad(), {5, 7, 9});
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, DiamondAndReuse) {
  Tensor x = from_vector({2}, {1}, DType::f64);
  x.requires_grad_();
  Tensor a = x * x, b = exp(x);
  Tensor y = sum(a * b + a);  // x²eˣ + x² → (2x + x²)eˣ + 2x
  auto g = grad({y}, {x});
  expect_values(g[0], {(4 + 4) * std::exp(2.0) + 4}, 1e-9);
}

TEST(Autograd, GradOfGradHandComputed) {
  Tensor x = from_vector({1.5}, {1}, DType::f64);
  x.requires_grad_();
  Tensor y = sum(pow(x, 3.0));
  Tensor dy = grad({y}, {x}, {}, true)[0];         // 3x²
  Tensor d2y = grad({sum(dy)}, {x}, {}, true)[0];  // 6x
  Tensor d3y = grad({sum(d2y)}, {x})[0];           // 6
  expect_values(dy, {3 * 1.5 * 1.5}, 1e-12);
  expect_values(d2y, {9}, 1e-12);
  expect_values(d3y, {6}, 1e-12);
}

TEST(Autograd, NonLeafInputsAndUnused) {
  Tensor x = from_vector({1, 2}, {2}, DType::f64);
  x.requires_grad_();
  Tensor h = x * 2.0;
  Tensor y = sum(h * h);
  Tensor u = from_vector({1}, {1}, DType::f64);
  u.requires_grad_();
  auto g = grad({y}, {h, u}, {}, false, -1, true);
  expect_values(g[0], {4, 8});  // 2h
  EXPECT_FALSE(g[1].defined());
  Tensor y2 = sum(x * x);
  EXPECT_NE(error_of([&] { grad({y2}, {u}); }).find("was not used"), std::string::npos);
}

TEST(Autograd, NoGradAndDetach) {
  Tensor x = ones({2});
  x.requires_grad_();
  {
    NoGradGuard ng;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
  }
  Tensor d = (x * 2.0).detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Autograd, ErrorsNameTheProblem) {
  Tensor x = ones({2, 2});
  x.requires_grad_();
  Tensor y = x * x;
  EXPECT_NE(error_of([&] { y.backward(); }).find("not a scalar"), std::string::npos);
  Tensor s = sum(tanh(x));
  s.backward();
  EXPECT_NE(error_of([&] { s.backward(); }).find("backward through a freed graph"), std::string::npos);
  Tensor s2 = sum(tanh(x));
  s2.backward({}, true);
  s2.backward();  // retained: works
  expect_values(x.grad(), std::vector<double>(4, 3 * (1 - std::pow(std::tanh(1.0), 2))), 1e-6);
  EXPECT_NE(error_of([&] { ones({2}).requires_grad_(); grad({sum(ones({2}))}, {x}); }).find("does not require grad"), std::string::npos);
  EXPECT_NE(error_of([&] { zeros({2}, DType::i32).requires_grad_(); }).find("only floating"), std::string::npos);
  EXPECT_NE(error_of([&] { y.backward(ones({3})); }).find("grad_output 0 has shape [3]"), std::string::npos);
}

TEST(Philox, KnownAnswerVectors) {
  // Random123 kat_vectors: philox4x32 10 rounds.
  philox::U4 z = philox::philox4x32_10({{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(z.x[0], 0x6627e8d5u);
  EXPECT_EQ(z.x[1], 0xe169c58du);
  EXPECT_EQ(z.x[2], 0xbc57ac4cu);
  EXPECT_EQ(z.x[3], 0x9b00dbd8u);
  philox::U4 f = philox::philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  EXPECT_EQ(f.x[0], 0x408f276du);
  EXPECT_EQ(f.x[1], 0x41c83b0eu);
  EXPECT_EQ(f.x[2], 0xa20bc7c6u);
  EXPECT_EQ(f.x[3], 0x6d5451fdu);
  philox::U4 p = philox::philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(p.x[0], 0xd16cfe09u);
  EXPECT_EQ(p.x[1], 0x94fdccebu);
  EXPECT_EQ(p.x[2], 0x5001e420u);
  EXPECT_EQ(p.x[3], 0x24126ea1u);
}

TEST(Philox, StreamSpecAndStatistics) {
  Generator g(42);
  Tensor u = rand({10}, g);
  EXPECT_EQ(g.offset(), 3u);  // ceil(10/4) blocks
  philox::U4 w = philox::block_words(42, 2);
  EXPECT_FLOAT_EQ((float)u.to_vector()[9], philox::to_uniform(w.x[1]));
  Generator g2(42);
  EXPECT_EQ(rand({10}, g2).to_vector(), u.to_vector());  // reproducible
  Generator g3(5);
  Tensor n = randn({200000}, g3);
  EXPECT_NEAR(mean(n).item(), 0.0, 0.01);
  EXPECT_NEAR(var(n).item(), 1.0, 0.02);
  Tensor b = bernoulli({200000}, 0.3, g3);
  EXPECT_NEAR(mean(b).item(), 0.3, 0.01);
  Tensor r = rand({200000}, g3);
  EXPECT_GE(amin(r).item(), 0.0);
  EXPECT_LT(amax(r).item(), 1.0);
  EXPECT_NEAR(mean(r).item(), 0.5, 0.005);
}
