// cuda::{avg,max}_pool_{forward,backward} and cuda::upsample_nearest_{forward,backward}
// (kernels/cuda/pool.cu, upsample.cu) under the CUDA simulator against the CPU kernels
// (kernels/cpu/pool.h, upsample.h) on the same inputs. The GPU kernels visit windows and
// accumulate in the CPU's order (forward windows in (d,h,w) order with the CPU's pair sums;
// backward gathers in the CPU's scatter order), so every result must be bitwise equal.
// Guard values around every output buffer; NaN/−inf inputs for max pooling.
#include "tests/sim_kernel_util.h"

#include "kernels/cpu/pool.h"
#include "kernels/cpu/upsample.h"

namespace {

using namespace uad;
using namespace uad::simtest;

struct PoolCase {
  Shape in;  // [P, D, H, W]
  int64_t k[3], s[3], p[3];
};

const PoolCase kPoolCases[] = {
    {{3, 1, 9, 11}, {1, 2, 2}, {1, 2, 2}, {0, 0, 0}},  // 2-D 2×2/2: the CPU's pair path, odd extents
    {{2, 1, 10, 13}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}}, // 2-D 3×3/2 padded: overlapping windows
    {{2, 7, 6, 9}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}},   // 3-D 2×2×2/2
    {{2, 5, 6, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},   // 3-D 3³/1 padded: 27 windows per cell
    {{1, 4, 5, 300}, {1, 1, 3}, {1, 1, 3}, {0, 0, 0}}, // long W rows: several blocks
};

cuda::PoolGeometry geometry_of(const PoolCase& c) {
  cuda::PoolGeometry g;
  g.P = c.in[0];
  g.D = c.in[1];
  g.H = c.in[2];
  g.W = c.in[3];
  for (int i = 0; i < 3; ++i) {
    g.k[i] = c.k[i];
    g.s[i] = c.s[i];
    g.p[i] = c.p[i];
  }
  return g;
}

cpu::PoolWindow window_of(const PoolCase& c) {
  cpu::PoolWindow w;
  for (int i = 0; i < 3; ++i) {
    w.k[i] = c.k[i];
    w.s[i] = c.s[i];
    w.p[i] = c.p[i];
  }
  return w;
}

template <class T> void check_pool(const PoolCase& c, uint64_t seed) {
  SCOPED_TRACE("pool " + shape_str(c.in) + " k " + std::to_string(c.k[0]) + std::to_string(c.k[1]) + std::to_string(c.k[2]) + " s " +
               std::to_string(c.s[2]) + " p " + std::to_string(c.p[2]) + (sizeof(T) == 4 ? " f32" : " f64"));
  const DType dt = sizeof(T) == 4 ? DType::f32 : DType::f64;
  Tensor x = random_tensor(c.in, dt, seed, -3, 3);
  // Ties (first maximum wins), −inf and a NaN (propagates, its index is reported).
  T* xp = x.data<T>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i + 1 < n; i += 5) xp[i + 1] = xp[i];
  xp[n / 3] = -INFINITY;
  xp[n / 2] = NAN;
  const cuda::PoolGeometry geo = geometry_of(c);
  const cpu::PoolWindow win = window_of(c);
  const int64_t on = geo.out_numel();
  GuardedBuffer<T> dx_in = upload<T>(x);

  // avg
  Tensor ya = cpu::avg_pool_forward(x, win);
  ASSERT_EQ(ya.numel(), on);
  GuardedBuffer<T> dya(on);
  cuda::avg_pool_forward(dt, dx_in.data(), dya.data(), geo);
  EXPECT_TRUE(dya.guards_intact());
  EXPECT_TRUE(same_values(dya.inside(), values_of<T>(ya))) << "avg forward";
  Tensor g = random_tensor(ya.shape(), dt, seed + 1);
  Tensor gxa = cpu::avg_pool_backward(g, c.in, win);
  GuardedBuffer<T> dg = upload<T>(g), dgxa(n);
  cuda::avg_pool_backward(dt, dg.data(), dgxa.data(), geo);
  EXPECT_TRUE(dgxa.guards_intact());
  EXPECT_TRUE(same_values(dgxa.inside(), values_of<T>(gxa))) << "avg backward";

  // max
  auto [ym, im] = cpu::max_pool_forward(x, win);
  GuardedBuffer<T> dym(on);
  GuardedBuffer<int32_t> dim(on);
  cuda::max_pool_forward(dt, dx_in.data(), dym.data(), dim.data(), geo);
  EXPECT_TRUE(dym.guards_intact());
  EXPECT_TRUE(dim.guards_intact());
  EXPECT_TRUE(same_values(dym.inside(), values_of<T>(ym))) << "max forward";
  EXPECT_EQ(dim.inside(), values_of<int32_t>(im)) << "argmax";
  const int64_t plane = c.in[1] * c.in[2] * c.in[3];
  Tensor gxm = cpu::index_scatter_add(g.reshape({c.in[0], on / c.in[0]}), im.reshape({c.in[0], on / c.in[0]}), plane);
  GuardedBuffer<T> dgxm(n);
  cuda::max_pool_backward(dt, dg.data(), dim.data(), dgxm.data(), geo);
  EXPECT_TRUE(dgxm.guards_intact());
  EXPECT_TRUE(same_values(dgxm.inside(), values_of<T>(gxm))) << "max backward";
}

TEST(SimPool, AvgAndMaxPoolingEqualTheCpuBitwise) {
  uint64_t seed = 1;
  for (const PoolCase& c : kPoolCases) check_pool<float>(c, seed++);
  for (const PoolCase& c : kPoolCases) check_pool<double>(c, seed++);
}

TEST(SimPool, SmallHandComputedCase) {
  // 1 plane 1×2×4, 2×2/2 windows: y = {mean/max of (1,2,5,6), of (3,4,7,8)}.
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 8, 7};
  cuda::PoolGeometry g;
  g.P = 1, g.D = 1, g.H = 2, g.W = 4, g.k[1] = g.k[2] = 2, g.s[1] = g.s[2] = 2;
  GuardedBuffer<float> dx(x), ya(2), ym(2), gx(8);
  GuardedBuffer<int32_t> im(2);
  cuda::avg_pool_forward(DType::f32, dx.data(), ya.data(), g);
  cuda::max_pool_forward(DType::f32, dx.data(), ym.data(), im.data(), g);
  EXPECT_EQ(ya.inside(), (std::vector<float>{3.5f, 5.5f}));
  EXPECT_EQ(ym.inside(), (std::vector<float>{6, 8}));
  EXPECT_EQ(im.inside(), (std::vector<int32_t>{5, 6}));
  GuardedBuffer<float> gy(std::vector<float>{10, 20});
  cuda::max_pool_backward(DType::f32, gy.data(), im.data(), gx.data(), g);
  EXPECT_EQ(gx.inside(), (std::vector<float>{0, 0, 0, 0, 0, 10, 20, 0}));
  cuda::avg_pool_backward(DType::f32, gy.data(), gx.data(), g);
  EXPECT_EQ(gx.inside(), (std::vector<float>{2.5f, 2.5f, 5, 5, 2.5f, 2.5f, 5, 5}));
}

TEST(SimPool, RejectsBadWindows) {
  DeviceArray<float> a(64), b(64);
  cuda::PoolGeometry g;
  g.P = 1, g.H = 4, g.W = 4, g.k[2] = 2, g.p[2] = 2;  // padding > half the kernel
  EXPECT_THROW(cuda::avg_pool_forward(DType::f32, a.data(), b.data(), g), Error);
  g.p[2] = 0, g.k[2] = 9;  // kernel larger than the input
  EXPECT_THROW(cuda::avg_pool_forward(DType::f32, a.data(), b.data(), g), Error);
  g.k[2] = 2;
  EXPECT_THROW(cuda::avg_pool_forward(DType::i32, a.data(), b.data(), g), Error);
}

// ---- nearest upsampling ---------------------------------------------------------------------------

template <class T> void check_upsample(int64_t P, Shape in, Shape out, uint64_t seed) {
  SCOPED_TRACE("upsample " + shape_str(in) + " -> " + shape_str(out) + (sizeof(T) == 4 ? " f32" : " f64"));
  const DType dt = sizeof(T) == 4 ? DType::f32 : DType::f64;
  Tensor x = random_tensor({P, in[0], in[1], in[2]}, dt, seed);
  Tensor y = cpu::upsample_nearest_forward(x, out);
  const int64_t on = y.numel(), n = x.numel();
  GuardedBuffer<T> dx = upload<T>(x), dy(on);
  cuda::upsample_nearest_forward(dt, dx.data(), dy.data(), P, in.data(), out.data());
  EXPECT_TRUE(dy.guards_intact());
  EXPECT_TRUE(same_values(dy.inside(), values_of<T>(y))) << "forward";
  Tensor g = random_tensor(y.shape(), dt, seed + 1);
  Tensor gx = cpu::upsample_nearest_backward(g, in);
  GuardedBuffer<T> dg = upload<T>(g), dgx(n);
  cuda::upsample_nearest_backward(dt, dg.data(), dgx.data(), P, in.data(), out.data());
  EXPECT_TRUE(dgx.guards_intact());
  EXPECT_TRUE(same_values(dgx.inside(), values_of<T>(gx))) << "backward";
}

TEST(SimUpsample, NearestEqualsTheCpuBitwise) {
  for (int rep = 0; rep < 2; ++rep) {
    auto run = [&](auto t, int64_t P, Shape in, Shape out, uint64_t seed) {
      using T = decltype(t);
      check_upsample<T>(P, in, out, seed);
    };
    auto go = [&](auto t) {
      run(t, 3, {1, 5, 7}, {1, 10, 14}, 1);    // 2-D 2×: the CPU's pair path
      run(t, 2, {1, 7, 6}, {1, 16, 13}, 2);    // fractional factors
      run(t, 2, {3, 4, 5}, {6, 8, 10}, 3);     // 3-D 2×
      run(t, 2, {4, 6, 8}, {3, 4, 5}, 4);      // down-sampling: some cells receive nothing
      run(t, 1, {1, 1, 150}, {1, 1, 450}, 5);  // 1-D 3×, more than one block
    };
    if (rep == 0) go(float{});
    else go(double{});
  }
}

}  // namespace
