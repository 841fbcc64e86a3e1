// cuda::softmax_forward/backward (kernels/cuda/softmax.cu) under the CUDA simulator against the
// CPU kernels (kernels/cpu/softmax.h) on the same inputs. Rows (inner == 1) sum in a block tree,
// so they are compared by normalised MSE (order_tol: the CPU's SIMD order differs); columns
// (inner > 1) follow the CPU's order: equal up to FMA contraction (fma_tol). Guard values around
// every output; NaN rows (all −inf) must be NaN in both.
#include "tests/sim_kernel_util.h"

#include "kernels/cpu/softmax.h"

namespace {

using namespace uad;
using namespace uad::simtest;

struct Geometry {
  int64_t O, D, I;
};

template <class T> void check_softmax(const Geometry& s, bool log, uint64_t seed) {
  SCOPED_TRACE(std::string(log ? "log_softmax" : "softmax") + " [" + std::to_string(s.O) + "," + std::to_string(s.D) + "," +
               std::to_string(s.I) + "] " + (sizeof(T) == 4 ? "f32" : "f64"));
  const DType dt = sizeof(T) == 4 ? DType::f32 : DType::f64;
  const int64_t n = s.O * s.D * s.I;
  std::vector<T> x = values_of<T>(random_tensor({n}, dt, seed, -6, 6));
  std::vector<T> g = values_of<T>(random_tensor({n}, dt, seed + 1, -1, 1));
  if (n > 3 && s.D > 1) x[3] = -INFINITY;  // a masked entry: e^{-inf} = 0
  std::vector<T> y_cpu((size_t)n), dx_cpu((size_t)n);
  cpu::softmax_forward<T>(x.data(), y_cpu.data(), s.O, s.D, s.I, log);
  cpu::softmax_backward<T>(g.data(), y_cpu.data(), dx_cpu.data(), s.O, s.D, s.I, log);

  GuardedBuffer<T> dx_in(x), dg(g), dy(n), ddx(n);
  cuda::softmax_forward(dt, dx_in.data(), dy.data(), s.O, s.D, s.I, log);
  EXPECT_TRUE(dy.guards_intact());
  const std::vector<T> y = dy.inside();
  // Backward from the CPU's y, so forward and backward are judged separately.
  GuardedBuffer<T> dyc(y_cpu);
  cuda::softmax_backward(dt, dg.data(), dyc.data(), ddx.data(), s.O, s.D, s.I, log);
  EXPECT_TRUE(ddx.guards_intact());
  const std::vector<T> dx = ddx.inside();
  if (s.I > 1) {
    EXPECT_TRUE(close_values(y, y_cpu, fma_tol<T>())) << "forward";
    EXPECT_TRUE(close_values(dx, dx_cpu, fma_tol<T>())) << "backward";
  } else {
    EXPECT_TRUE(close_values(y, y_cpu, order_tol<T>())) << "forward";
    EXPECT_TRUE(close_values(dx, dx_cpu, order_tol<T>())) << "backward";
  }
  if (!log) {  // rows sum to 1
    for (int64_t o = 0; o < s.O; ++o)
      for (int64_t i = 0; i < s.I; ++i) {
        double sum = 0;
        for (int64_t d = 0; d < s.D; ++d) sum += y[(size_t)((o * s.D + d) * s.I + i)];
        ASSERT_NEAR(sum, 1.0, sizeof(T) == 4 ? 1e-5 : 1e-12) << "o=" << o << " i=" << i;
      }
  }
}

const Geometry kShapes[] = {
    {7, 1000, 1},  // rows longer than a 256-thread block, not a multiple of it
    {5, 37, 1},    // short rows: 32-thread blocks, most lanes idle
    {3, 300, 1},   // 128-thread blocks
    {4, 1, 1},     // a single element per row: y = 1 (log: 0)
    {3, 17, 33},   // columns: one thread per (o, i), 99 columns (not a multiple of 256)
    {2, 5, 300},   // 600 columns: more than one block
};

TEST(SimSoftmax, MatchesTheCpuF32) {
  uint64_t seed = 1;
  for (const Geometry& s : kShapes)
    for (bool log : {false, true}) check_softmax<float>(s, log, seed++);
}

TEST(SimSoftmax, MatchesTheCpuF64) {
  uint64_t seed = 100;
  for (const Geometry& s : kShapes)
    for (bool log : {false, true}) check_softmax<double>(s, log, seed++);
}

TEST(SimSoftmax, LargeInputsDoNotOverflowAndAllMinusInfRowsGiveNaN) {
  // Values near the f32 limit: the subtracted max keeps e^{x−m} ≤ 1.
  std::vector<float> x = {1e30f, 1e30f, -1e30f, 3e38f, 3e38f, 0.f, -INFINITY, -INFINITY, -INFINITY};
  GuardedBuffer<float> dx(x), dy(9);
  cuda::softmax_forward(DType::f32, dx.data(), dy.data(), 3, 3, 1, false);
  const std::vector<float> y = dy.inside();
  EXPECT_FLOAT_EQ(y[0], 0.5f);
  EXPECT_FLOAT_EQ(y[1], 0.5f);
  EXPECT_EQ(y[2], 0.f);
  EXPECT_FLOAT_EQ(y[3], 0.5f);
  EXPECT_EQ(y[5], 0.f);
  for (int i = 6; i < 9; ++i) EXPECT_TRUE(std::isnan(y[i])) << i;  // as the CPU (and PyTorch)
  std::vector<float> y_cpu(9);
  cpu::softmax_forward<float>(x.data(), y_cpu.data(), 3, 3, 1, false);
  EXPECT_TRUE(same_values(y, y_cpu));
  EXPECT_TRUE(dy.guards_intact());
}

TEST(SimSoftmax, RowResultsAreBitwiseReproducibleUnderShuffledThreadOrder) {
  const int64_t O = 3, D = 777;
  std::vector<float> x = values_of<float>(random_tensor({O * D}, DType::f32, 9, -4, 4));
  GuardedBuffer<float> dx(x), dy(O * D);
  cuda::softmax_forward(DType::f32, dx.data(), dy.data(), O, D, 1, true);
  const std::vector<float> ref = dy.inside();
  with_shuffles([&] {
    cuda::softmax_forward(DType::f32, dx.data(), dy.data(), O, D, 1, true);
    EXPECT_TRUE(same_values(dy.inside(), ref));
  });
}

TEST(SimSoftmax, RejectsOtherDtypesAndNegativeSizes) {
  DeviceArray<float> a(4), b(4);
  EXPECT_THROW(cuda::softmax_forward(DType::i32, a.data(), b.data(), 1, 4, 1, false), Error);
  EXPECT_THROW(cuda::softmax_forward(DType::f32, a.data(), b.data(), 1, -4, 1, false), Error);
  cuda::softmax_forward(DType::f32, a.data(), b.data(), 0, 4, 1, false);  // empty: nothing to do
}

}  // namespace
