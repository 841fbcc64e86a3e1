// matmul / linear: hand-computed values, strided (transposed, sliced, expanded) operands,
// batching, errors, first- and second-order gradients.
#include <gtest/gtest.h>

#include "tests/gradcheck.h"

using namespace uad;
using namespace uad::test;

namespace {

/// Naive reference product of the last two dims (a 2-D operand broadcast over the batch).
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b) {
  const int64_t B = a.dim() == 3 ? a.size(0) : (b.dim() == 3 ? b.size(0) : 1);
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  auto av = a.to_vector(), bv = b.to_vector();
  std::vector<double> out(B * M * N, 0.0);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t ao = a.dim() == 3 ? i * M * K : 0, bo = b.dim() == 3 ? i * K * N : 0;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += av[ao + m * K + k] * bv[bo + k * N + n];
        out[(i * M + m) * N + n] = s;
      }
  }
  return out;
}

}  // namespace

TEST(Linalg, MatmulHandComputed) {
  Tensor a = from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_vector({7, 8, 9, 10, 11, 12}, {3, 2});
  // [1 2 3]·[7 9 11]ᵀ = 58, [1 2 3]·[8 10 12]ᵀ = 64, [4 5 6]·… = 139, 154
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{2, 2}));
  expect_values(c, {58, 64, 139, 154});
  expect_values(matmul(a.to(DType::f64), b.to(DType::f64)), {58, 64, 139, 154});
  // aᵀ·a: [3,3], entry (i,j) = Σ_r a[r,i] a[r,j]
  expect_values(matmul(transpose(a, 0, 1), a), {17, 22, 27, 22, 29, 36, 27, 36, 45});
  // a·aᵀ: [[14, 32], [32, 77]]
  expect_values(matmul(a, transpose(a, 0, 1)), {14, 32, 32, 77});
}

TEST(Linalg, MatmulStridedOperands) {
  Generator gen(3);
  Tensor big = rand({6, 10}, gen, DType::f64);
  // Row slice with a leading dimension of 10, a column slice (non-unit column stride → copy), an
  // expanded operand (stride 0 → copy) and a transposed view (BLAS transpose flag).
  Tensor a = slice(big, 1, 2, 7);                 // [6,5] rows 10 apart
  Tensor b = rand({5, 4}, gen, DType::f64);
  expect_values(matmul(a, b), naive_matmul(a.contiguous(), b), 1e-12);
  Tensor cs = slice(big, 1, 0, 10, 2);            // [6,5] column stride 2
  expect_values(matmul(cs, b), naive_matmul(cs.contiguous(), b), 1e-12);
  Tensor e = expand(rand({1, 5}, gen, DType::f64), {3, 5});
  expect_values(matmul(e, b), naive_matmul(e.contiguous(), b), 1e-12);
  Tensor bt = transpose(rand({4, 5}, gen, DType::f64), 0, 1);  // [5,4] column-major
  expect_values(matmul(a, bt), naive_matmul(a.contiguous(), bt.contiguous()), 1e-12);
  Tensor at = transpose(rand({5, 6}, gen, DType::f64), 0, 1);  // [6,5] column-major
  expect_values(matmul(at, bt), naive_matmul(at.contiguous(), bt.contiguous()), 1e-12);
  // A single row / column (degenerate strides).
  Tensor row = slice(big, 0, 2, 3);  // [1,10]
  Tensor col = slice(transpose(big, 0, 1), 1, 1, 2);  // [10,1], stride 10
  expect_values(matmul(row, col), naive_matmul(row.contiguous(), col.contiguous()), 1e-12);
  expect_values(matmul(col, row), naive_matmul(col.contiguous(), row.contiguous()), 1e-12);
}

TEST(Linalg, MatmulBatched) {
  Generator gen(4);
  Tensor a3 = rand({3, 4, 5}, gen, DType::f64), b3 = rand({3, 5, 2}, gen, DType::f64);
  Tensor a2 = rand({4, 5}, gen, DType::f64), b2 = rand({5, 2}, gen, DType::f64);
  Tensor c = matmul(a3, b3);
  EXPECT_EQ(c.shape(), (Shape{3, 4, 2}));
  expect_values(c, naive_matmul(a3, b3), 1e-12);
  expect_values(matmul(a3, b2), naive_matmul(a3, b2), 1e-12);  // b broadcast: one [12,5]×[5,2] GEMM
  expect_values(matmul(a2, b3), naive_matmul(a2, b3), 1e-12);  // a broadcast
  EXPECT_EQ(matmul(a2, b3).shape(), (Shape{3, 4, 2}));
  // Batched transposed views: permute a [3,5,4] buffer to [3,4,5].
  Tensor ap = permute(rand({3, 5, 4}, gen, DType::f64), {0, 2, 1});
  expect_values(matmul(ap, b3), naive_matmul(ap.contiguous(), b3), 1e-12);
  expect_values(matmul(ap, b2), naive_matmul(ap.contiguous(), b2), 1e-12);
}

TEST(Linalg, LargeF32MatchesNaive) {
  Generator gen(5);
  Tensor a = rand({96, 130}, gen), b = rand({130, 70}, gen);
  expect_values(matmul(a, b), naive_matmul(a, b), 1e-3);
}

TEST(Linalg, LinearHandComputed) {
  Tensor x = from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = from_vector({1, 0, -1, 2, 1, 0}, {2, 3});
  Tensor b = from_vector({10, 20}, {2});
  // y[i,o] = Σ_k x[i,k] w[o,k] + b[o]: row 0: (1−3)+10 = 8, (2+2)+20 = 24; row 1: (4−6)+10 = 8, (8+5)+20 = 33
  expect_values(linear(x, w, b), {8, 24, 8, 33});
  expect_values(linear(x, w), {-2, 4, -2, 13});
  Tensor x3 = from_vector({1, 2, 3, 4, 5, 6}, {2, 1, 3});
  Tensor y3 = linear(x3, w, b);
  EXPECT_EQ(y3.shape(), (Shape{2, 1, 2}));
  expect_values(y3, {8, 24, 8, 33});
}

TEST(Linalg, Errors) {
  try {
    (void)matmul(zeros({2, 3}), zeros({4, 5}));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("matmul: shapes [2,3] and [4,5] do not match"), std::string::npos) << e.what();
  }
  EXPECT_THROW(matmul(zeros({2, 3, 4}), zeros({3, 4, 5})), Error);  // batch 2 vs 3
  EXPECT_THROW(matmul(zeros({2, 3}), zeros({3, 4}, DType::f64)), Error);
  EXPECT_THROW(matmul(zeros({3}), zeros({3, 4})), Error);
  try {
    (void)linear(zeros({2, 3}), zeros({4, 5}));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linear: input [2,3] has 3 features but weight [4,5] expects 5"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(linear(zeros({2, 3}), zeros({4, 3}), zeros({3})), Error);
}

TEST(GradLinalg, FirstOrder) {
  Tensor a = uniform64({3, 4}, 11), b = uniform64({4, 2}, 12);
  expect_gradients([](auto v) { return matmul(v[0], v[1]); }, {a, b});
  // Transposed operands go through BLAS transpose flags; gradients must still be right.
  Tensor at = uniform64({4, 3}, 13);
  expect_gradients([](auto v) { return matmul(transpose(v[0], 0, 1), v[1]); }, {at, b});
  Tensor a3 = uniform64({2, 3, 4}, 14), b3 = uniform64({2, 4, 2}, 15);
  expect_gradients([](auto v) { return matmul(v[0], v[1]); }, {a3, b3});
  expect_gradients([](auto v) { return matmul(v[0], v[1]); }, {a3, b});   // b broadcast over batch
  expect_gradients([](auto v) { return matmul(v[0], v[1]); }, {a, b3});   // a broadcast over batch
  Tensor x = uniform64({5, 4}, 16), w = uniform64({3, 4}, 17), bias = uniform64({3}, 18);
  expect_gradients([](auto v) { return linear(v[0], v[1], v[2]); }, {x, w, bias});
  expect_gradients([](auto v) { return linear(v[0], v[1]); }, {uniform64({2, 3, 4}, 19), w});
}

TEST(GradLinalg, SecondOrder) {
  Tensor x = uniform64({4, 3}, 21), w = uniform64({2, 3}, 22), b = uniform64({2}, 23);
  expect_second_order([](auto v) { return tanh(linear(v[0], v[1], v[2])); }, {x, w, b});
  expect_second_order([](auto v) { return square(matmul(v[0], v[1])); }, {uniform64({2, 3, 4}, 24), uniform64({4, 2}, 25)});
  // A gradient penalty through a two-layer MLP: Σ (∂ Σ mlp(x) / ∂x)², differentiated again.
  Tensor w2 = uniform64({1, 2}, 26);
  expect_second_order(
      [](auto v) {
        GradModeGuard on(true);  // gradcheck evaluates f under no-grad too; the inner grad needs a graph
        Tensor h = tanh(linear(v[0], v[1], v[2]));
        Tensor y = sum(linear(h, v[3]));
        Tensor gx = grad({y}, {v[0]}, {}, true)[0];
        return sum(square(gx), {1});
      },
      {x, w, b, w2});
}
