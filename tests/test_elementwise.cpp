// Elementwise ops: hand-computed forward values, broadcasting, first- and second-order gradients.
#include <gtest/gtest.h>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

TEST(Elementwise, ForwardHandComputed) {
  Tensor a = from_vector({1, -2, 3, -4}, {2, 2});
  Tensor b = from_vector({10, 20}, {2});
  expect_values(a + b, {11, 18, 13, 16});
  expect_values(a - b, {-9, -22, -7, -24});
  expect_values(a * b, {10, -40, 30, -80});
  expect_values(a / b, {0.1, -0.1, 0.3, -0.2});
  expect_values(abs(a), {1, 2, 3, 4});
  expect_values(neg(a), {-1, 2, -3, 4});
  expect_values(square(a), {1, 4, 9, 16});
  expect_values(relu(a), {1, 0, 3, 0});
  expect_values(leaky_relu(a, 0.3), {1, -0.6, 3, -1.2});
  expect_values(clamp(a, -2.5, 2), {1, -2, 2, -2.5});
  expect_values(elu(from_vector({-1, 2}, {2}), 1.0), {std::exp(-1.0) - 1.0, 2}, 1e-6);
  expect_values(exp(from_vector({0, 1}, {2})), {1, std::exp(1.0)}, 1e-5);
  expect_values(log(from_vector({1, std::exp(2.0)}, {2})), {0, 2}, 1e-5);
  expect_values(sqrt(from_vector({4, 9}, {2})), {2, 3});
  expect_values(pow(from_vector({2, 3}, {2}), 3.0), {8, 27}, 1e-5);
  expect_values(pow(from_vector({2, 9}, {2}), from_vector({3, 0.5}, {2})), {8, 3}, 1e-5);
  expect_values(tanh(from_vector({0, 1}, {2})), {0, std::tanh(1.0)});
  expect_values(sigmoid(from_vector({0, 100, -100}, {3})), {0.5, 1, 0});
  expect_values(softplus(from_vector({0, 100, -100}, {3})), {std::log(2.0), 100, 0}, 1e-5);
  expect_values(maximum(a, from_vector({0}, {1})), {1, 0, 3, 0});
  expect_values(minimum(a, from_vector({0}, {1})), {0, -2, 0, -4});
}

TEST(Elementwise, ComparisonsAndWhere) {
  Tensor a = from_vector({1, 2, 3}, {3});
  Tensor b = from_vector({2, 2, 2}, {3});
  expect_values(lt(a, b), {1, 0, 0});
  expect_values(le(a, b), {1, 1, 0});
  expect_values(gt(a, b), {0, 0, 1});
  expect_values(ge(a, b), {0, 1, 1});
  expect_values(eq(a, b), {0, 1, 0});
  expect_values(ne(a, b), {1, 0, 1});
  EXPECT_EQ(lt(a, b).dtype(), DType::u8);
  expect_values(where(gt(a, b), a, b), {2, 2, 3});
}

TEST(Elementwise, BroadcastNonContiguous) {
  // [2,3] transposed view + [3,1] column: checks the strided path against explicit indices.
  Tensor x = from_vector({0, 1, 2, 3, 4, 5}, {2, 3}).transpose(0, 1);  // [3,2]: x[i][j] = 3j+i
  Tensor c = from_vector({100, 200, 300}, {3, 1});
  Tensor y = x + c;
  ASSERT_EQ(y.shape(), (Shape{3, 2}));
  expect_values(y, {100, 103, 201, 204, 302, 305});
}

TEST(Elementwise, LargeParallelMatchesSerial) {
  Generator g(7);
  Tensor a = rand({300, 257}, g), b = rand({257}, g);
  Tensor y = a * b;
  auto av = a.to_vector(), bv = b.to_vector(), yv = y.to_vector();
  for (int64_t i = 0; i < 300; ++i)
    for (int64_t j = 0; j < 257; ++j) ASSERT_FLOAT_EQ((float)yv[i * 257 + j], (float)(av[i * 257 + j] * bv[j]));
}

TEST(Elementwise, Errors) {
  Tensor a = zeros({2, 3}), b = zeros({4});
  try {
    (void)(a + b);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("add: shapes [2,3] and [4] cannot be broadcast"), std::string::npos) << e.what();
  }
  try {
    (void)mul(zeros({2}), zeros({2}, DType::f64));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mul: dtype mix f32 and f64"), std::string::npos) << e.what();
  }
  EXPECT_THROW(exp(zeros({2}, DType::i32)), Error);
  // A tensor tagged as CUDA (its storage relabelled: this build cannot allocate device memory).
  Tensor c = zeros({2});
  c.impl()->storage->device = Device::cuda;
  try {
    (void)add(zeros({2}), c);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("add: device mix cpu and cuda"), std::string::npos) << e.what();
  }
  c.impl()->storage->device = Device::cpu;
}

TEST(GradElementwise, FirstOrder) {
  Tensor a = uniform64({2, 3}, 1), b = uniform64({3}, 2), pos = uniform64({2, 3}, 3, 0.5, 2.0);
  expect_gradients([](auto x) { return add(x[0], x[1]); }, {a, b});
  expect_gradients([](auto x) { return sub(x[0], x[1]); }, {a, b});
  expect_gradients([](auto x) { return mul(x[0], x[1]); }, {a, b});
  expect_gradients([](auto x) { return div(x[0], x[1]); }, {a, pos});
  expect_gradients([](auto x) { return pow(x[0], x[1]); }, {pos, a});
  expect_gradients([](auto x) { return pow(x[0], 3.0); }, {a});
  expect_gradients([](auto x) { return pow(x[0], 1.7); }, {pos});
  expect_gradients([](auto x) { return neg(x[0]); }, {a});
  expect_gradients([](auto x) { return abs(x[0]); }, {a});
  expect_gradients([](auto x) { return exp(x[0]); }, {a});
  expect_gradients([](auto x) { return log(x[0]); }, {pos});
  expect_gradients([](auto x) { return sqrt(x[0]); }, {pos});
  expect_gradients([](auto x) { return square(x[0]); }, {a});
  expect_gradients([](auto x) { return clamp(x[0], -0.5, 0.5); }, {a});
  expect_gradients([](auto x) { return relu(x[0]); }, {a});
  expect_gradients([](auto x) { return leaky_relu(x[0], 0.2); }, {a});
  expect_gradients([](auto x) { return elu(x[0], 1.3); }, {a});
  expect_gradients([](auto x) { return tanh(x[0]); }, {a});
  expect_gradients([](auto x) { return sigmoid(x[0]); }, {a});
  expect_gradients([](auto x) { return softplus(x[0]); }, {a});
  expect_gradients([](auto x) { return maximum(x[0], x[1]); }, {a, b});
  expect_gradients([](auto x) { return minimum(x[0], x[1]); }, {a, b});
  expect_gradients([](auto x) { return where(gt(x[0], zeros({}, DType::f64)), x[0], x[1]); }, {a, b});
  expect_gradients([](auto x) { return cast(cast(x[0], DType::f32), DType::f64) * 2.0; }, {a}, 1e-3, 1e-3, 1e-3);
}

TEST(GradElementwise, SecondOrder) {
  Tensor a = uniform64({2, 3}, 11), b = uniform64({3}, 12), pos = uniform64({2, 3}, 13, 0.5, 2.0);
  expect_second_order([](auto x) { return add(x[0], x[1]); }, {a, b});
  expect_second_order([](auto x) { return mul(x[0], x[1]); }, {a, b});
  expect_second_order([](auto x) { return div(x[0], x[1]); }, {a, pos});
  expect_second_order([](auto x) { return sqrt(x[0]); }, {pos});
  expect_second_order([](auto x) { return pow(x[0], 3.0); }, {a});
  expect_second_order([](auto x) { return pow(x[0], x[1]); }, {pos, a});
  expect_second_order([](auto x) { return mul(relu(x[0]), x[0]); }, {a});
  expect_second_order([](auto x) { return mul(leaky_relu(x[0], 0.2), x[0]); }, {a});
  expect_second_order([](auto x) { return tanh(x[0]); }, {a});
  expect_second_order([](auto x) { return sigmoid(x[0]); }, {a});
  expect_second_order([](auto x) { return exp(x[0]); }, {a});
  expect_second_order([](auto x) { return log(x[0]); }, {pos});
  expect_second_order([](auto x) { return elu(x[0], 1.0); }, {a});
  expect_second_order([](auto x) { return softplus(x[0]); }, {a});
}
