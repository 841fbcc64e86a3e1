// cuda::amax_dim (kernels/cuda/reduce_minmax.cu) under the CUDA simulator against the CPU's
// amax/amin (uad::amax/amin → kernels/cpu/reduce.cpp) on the same inputs. max/min are exact in
// any order: bitwise equal, NaN propagating. Guard values around every output.
#include "tests/sim_kernel_util.h"

namespace {

using namespace uad;
using namespace uad::simtest;

template <class T> void check_minmax(int64_t outer, int64_t n, int64_t inner, bool with_nan, uint64_t seed) {
  SCOPED_TRACE("[" + std::to_string(outer) + "," + std::to_string(n) + "," + std::to_string(inner) + "]" + (with_nan ? " NaN" : "") +
               (sizeof(T) == 4 ? " f32" : " f64"));
  const DType dt = sizeof(T) == 4 ? DType::f32 : DType::f64;
  Tensor x = random_tensor({outer, n, inner}, dt, seed, -5, 5);
  if (with_nan) x.data<T>()[x.numel() / 2] = NAN;
  x.data<T>()[0] = -INFINITY;
  GuardedBuffer<T> dx = upload<T>(x), out(outer * inner);
  for (bool mn : {false, true}) {
    cuda::amax_dim(dt, dx.data(), outer, n, inner, mn, out.data());
    EXPECT_TRUE(out.guards_intact());
    Tensor want = mn ? amin(x, {1}) : amax(x, {1});
    EXPECT_TRUE(same_values(out.inside(), values_of<T>(want))) << (mn ? "amin" : "amax");
  }
}

TEST(SimMinMax, AmaxAndAminEqualTheCpu) {
  check_minmax<float>(5, 1000, 1, false, 1);  // rows > one block
  check_minmax<float>(3, 100, 1, true, 2);    // a NaN propagates
  check_minmax<float>(4, 17, 33, true, 3);    // columns
  check_minmax<double>(2, 9, 300, false, 4);  // 600 columns: several blocks
  check_minmax<double>(7, 1, 1, false, 5);    // a single element per row
}

TEST(SimMinMax, EmptyDimIsAnError) {
  DeviceArray<float> a(4), b(4);
  EXPECT_THROW(cuda::amax_dim(DType::f32, a.data(), 2, 0, 2, false, b.data()), Error);
}

}  // namespace
