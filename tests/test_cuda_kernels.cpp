// The hand-written CUDA kernels (kernels/cuda/*.cu) against the CPU ops, through their host API
// (kernels/cuda/kernels.h):
// - under the simulator (-DUAD_CUDA_SIM=ON) every kernel runs here and must equal the CPU exactly
//   (elementwise, Philox streams) or within rounding (sums, which must also be bitwise
//   reproducible, whatever the thread order);
// - in the real CUDA build (-DUAD_CUDA=ON) the same checks run on a GPU, with ulp tolerances
//   for the transcendental functions, and skip with the probe's reason when there is none;
// - in the CPU build there is nothing to run (one skipped test says so).
#if defined(UAD_CUDA_SIM)
#include "kernels/sim/sim_runtime_api.h"  // first: it defines the CUDA qualifiers the shared functors use
#endif
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cuda/kernels.h"
#include "tensor/device.h"
#include "tensor/ops.h"

#if defined(UAD_CUDA_SIM) || defined(UAD_HAVE_CUDA_KERNELS)

namespace {

using namespace uad;
using cuda::DeviceArray;
using cuda::Dims;

/// Distance in units in the last place between two values of T (0 = identical bits; NaNs of
/// either sign count as equal to each other).
template <class T> int64_t ulp_distance(T a, T b) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return INT64_MAX;
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  I ia, ib;
  std::memcpy(&ia, &a, sizeof(T));
  std::memcpy(&ib, &b, sizeof(T));
  if (ia < 0) ia = std::numeric_limits<I>::min() - ia;  // map to a monotone integer line
  if (ib < 0) ib = std::numeric_limits<I>::min() - ib;
  const int64_t d = (int64_t)ia - (int64_t)ib;
  return d < 0 ? -d : d;
}

/// The elements of a contiguous CPU tensor of type T.
template <class T> std::vector<T> host_values(const Tensor& t) {
  Tensor c = t.contiguous();
  return std::vector<T>(c.data<T>(), c.data<T>() + c.numel());
}

/// Device copy of the memory a (possibly strided, non-negative-stride) view spans, placed
/// `shift` elements past a 256-byte boundary; `ptr` addresses the view's first element.
struct Uploaded {
  DeviceArray<char> buf;
  void* ptr;
};
Uploaded upload(const Tensor& t, int shift = 0) {
  int64_t span = 1;
  for (int64_t d = 0; d < t.dim(); ++d) span += (t.shape()[d] - 1) * t.strides()[d];
  const size_t es = dtype_size(t.dtype()), bytes = (size_t)(span + shift) * es;
  Uploaded u{DeviceArray<char>(bytes), nullptr};
  u.ptr = u.buf.data() + shift * es;
  cuda::copy_to_device(u.ptr, t.raw(), (size_t)span * es);
  return u;
}

template <class T> std::vector<T> download(const void* p, int64_t n) {
  std::vector<T> h((size_t)n);
  cuda::copy_to_host(h.data(), p, (size_t)n * sizeof(T));
  return h;
}

/// Uniform values in [lo, hi) with a few exact boundary values mixed in.
Tensor inputs(const Shape& s, DType dt, uint64_t seed, double lo, double hi) {
  Generator g(seed);
  Tensor x = (rand(s, g, DType::f64) * (hi - lo) + lo).contiguous();
  double* p = x.data<double>();
  const double special[] = {0.0, lo, -0.0, 1.0, -1.0};
  for (int64_t i = 0; i < std::min<int64_t>(5, x.numel()); ++i)
    if (special[i] >= lo && special[i] <= hi) p[i * 7 % x.numel()] = special[i];
  return x.to(dt);
}

template <class T> void expect_close_ulps(const std::vector<T>& got, const Tensor& want, int64_t max_ulps, const std::string& what) {
  std::vector<T> w = host_values<T>(want);
  ASSERT_EQ(got.size(), w.size()) << what;
  for (size_t i = 0; i < w.size(); ++i)
    ASSERT_LE(ulp_distance(got[i], w[i]), max_ulps) << what << ": element " << i << " got " << got[i] << " want " << w[i];
}

struct UnaryCase {
  cuda::UnaryOp op;
  const char* name;
  double lo, hi;
  cuda::UnaryParams params;
  int64_t gpu_ulps;  // allowed difference on a GPU (CUDA libdevice vs glibc)
  Tensor (*cpu)(const Tensor&);
};

const std::vector<UnaryCase>& unary_cases() {
  static const std::vector<UnaryCase> c = {
      {cuda::UnaryOp::neg, "neg", -3, 3, {}, 0, [](const Tensor& x) { return neg(x); }},
      {cuda::UnaryOp::abs, "abs", -3, 3, {}, 0, [](const Tensor& x) { return abs(x); }},
      {cuda::UnaryOp::sign, "sign", -3, 3, {}, 0, [](const Tensor& x) { return sign(x); }},
      {cuda::UnaryOp::exp, "exp", -5, 5, {}, 2, [](const Tensor& x) { return exp(x); }},
      {cuda::UnaryOp::log, "log", 0.01, 5, {}, 2, [](const Tensor& x) { return log(x); }},
      {cuda::UnaryOp::sqrt, "sqrt", 0, 5, {}, 0, [](const Tensor& x) { return sqrt(x); }},
      {cuda::UnaryOp::square, "square", -3, 3, {}, 0, [](const Tensor& x) { return square(x); }},
      {cuda::UnaryOp::tanh, "tanh", -4, 4, {}, 4, [](const Tensor& x) { return tanh(x); }},
      {cuda::UnaryOp::sigmoid, "sigmoid", -8, 8, {}, 4, [](const Tensor& x) { return sigmoid(x); }},
      {cuda::UnaryOp::softplus, "softplus", -8, 8, {}, 4, [](const Tensor& x) { return softplus(x); }},
      {cuda::UnaryOp::relu, "relu", -3, 3, {}, 0, [](const Tensor& x) { return relu(x); }},
      {cuda::UnaryOp::leaky_relu, "leaky_relu", -3, 3, {0.2, 0}, 0, [](const Tensor& x) { return leaky_relu(x, 0.2); }},
      {cuda::UnaryOp::elu, "elu", -3, 3, {1.5, 0}, 4, [](const Tensor& x) { return elu(x, 1.5); }},
      {cuda::UnaryOp::clamp, "clamp", -3, 3, {-1, 1}, 0, [](const Tensor& x) { return clamp(x, -1, 1); }},
  };
  return c;
}

/// Runs every unary op on a [3,5,7] input (or its {1,0,2} transposed view) whose device copy is
/// shifted by `shift` elements, against the CPU op; GPU ulp allowances scaled by `ulps_scale`.
void check_unary(DType dt, bool transposed, int shift, int64_t ulps_scale) {
  for (const UnaryCase& c : unary_cases()) {
    SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dt) + (transposed ? " transposed" : "") + " shift " + std::to_string(shift));
    Tensor base = inputs({3, 5, 7}, dt, 11, c.lo, c.hi);
    Tensor x = transposed ? base.permute({1, 0, 2}) : base;
    Uploaded dx = upload(x, shift);
    DeviceArray<char> dout((size_t)x.numel() * dtype_size(x.dtype()));
    cuda::unary(c.op, x.dtype(), dx.ptr, x.strides(), dout.data(), x.shape(), c.params);
    Tensor want = c.cpu(x);
    if (x.dtype() == DType::f32)
      expect_close_ulps(download<float>(dout.data(), x.numel()), want, c.gpu_ulps * ulps_scale, c.name);
    else
      expect_close_ulps(download<double>(dout.data(), x.numel()), want, c.gpu_ulps * ulps_scale, c.name);
  }
}

struct BinaryCase {
  cuda::BinaryOp op;
  const char* name;
  double lo, hi;
  int64_t gpu_ulps;
  Tensor (*cpu)(const Tensor&, const Tensor&);
};

const std::vector<BinaryCase>& binary_cases() {
  static const std::vector<BinaryCase> c = {
      {cuda::BinaryOp::add, "add", -3, 3, 0, [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {cuda::BinaryOp::sub, "sub", -3, 3, 0, [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {cuda::BinaryOp::mul, "mul", -3, 3, 0, [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {cuda::BinaryOp::div, "div", 0.5, 3, 0, [](const Tensor& a, const Tensor& b) { return div(a, b); }},
      {cuda::BinaryOp::max, "max", -3, 3, 0, [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {cuda::BinaryOp::min, "min", -3, 3, 0, [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {cuda::BinaryOp::pow, "pow", 0.5, 2, 4, [](const Tensor& a, const Tensor& b) { return pow(a, b); }},
  };
  return c;
}

/// Every binary op on a (shape_a) ⊕ b (shape_b) with NumPy broadcasting.
void check_binary(const Shape& sa, const Shape& sb, DType dt, int shift, int64_t ulps_scale) {
  for (const BinaryCase& c : binary_cases()) {
    SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dt) + " " + shape_str(sa) + " with " + shape_str(sb));
    Tensor a = inputs(sa, dt, 21, c.lo, c.hi), b = inputs(sb, dt, 22, c.lo, c.hi);
    Tensor want = c.cpu(a, b);
    const Dims& out_shape = want.shape();
    Uploaded da = upload(a, shift), db = upload(b, shift);
    DeviceArray<char> dout((size_t)want.numel() * dtype_size(dt));
    cuda::binary(c.op, dt, da.ptr, cuda::broadcast_strides(sa, out_shape), db.ptr, cuda::broadcast_strides(sb, out_shape),
                 dout.data(), out_shape);
    if (dt == DType::f32) expect_close_ulps(download<float>(dout.data(), want.numel()), want, c.gpu_ulps * ulps_scale, c.name);
    else expect_close_ulps(download<double>(dout.data(), want.numel()), want, c.gpu_ulps * ulps_scale, c.name);
  }
}

/// fill_* against uad::rand/randn/bernoulli for a generator at (seed, offset).
void check_random(DType dt, int64_t n, uint64_t seed, uint64_t offset, int shift, int64_t normal_ulps) {
  SCOPED_TRACE(std::string(dtype_name(dt)) + " n=" + std::to_string(n) + " seed=" + std::to_string(seed) +
               " offset=" + std::to_string(offset) + " shift=" + std::to_string(shift));
  const size_t es = dtype_size(dt);
  DeviceArray<char> buf((size_t)(n + shift) * es);
  void* out = buf.data() + shift * es;
  for (int kind = 0; kind < 3; ++kind) {
    Generator g(seed);
    g.set_state(seed, offset);
    Tensor want;
    if (kind == 0) {
      want = rand({n}, g, dt);
      cuda::fill_uniform(dt, out, n, seed, offset);
    } else if (kind == 1) {
      want = randn({n}, g, dt);
      cuda::fill_normal(dt, out, n, seed, offset);
    } else {
      want = bernoulli({n}, 0.3, g, dt);
      cuda::fill_bernoulli(dt, out, n, 0.3, seed, offset);
    }
    EXPECT_EQ(g.offset(), offset + (uint64_t)(n + 3) / 4);
    const char* what = kind == 0 ? "uniform" : kind == 1 ? "normal" : "bernoulli";
    const int64_t ulps = kind == 1 ? normal_ulps : 0;
    if (dt == DType::f32) expect_close_ulps(download<float>(out, n), want, ulps, what);
    else expect_close_ulps(download<double>(out, n), want, ulps, what);
  }
}

}  // namespace

#endif

#if defined(UAD_CUDA_SIM)

namespace {

TEST(CudaKernelsSim, UnaryOpsEqualTheCpuExactly) {
  for (DType dt : {DType::f32, DType::f64}) {
    check_unary(dt, false, 0, 0);  // contiguous, aligned: the vectorised kernel
    check_unary(dt, false, 1, 0);  // contiguous but misaligned: the strided kernel
    check_unary(dt, true, 0, 0);   // a transposed view
  }
}

TEST(CudaKernelsSim, InRangeAndPositiveMasks) {
  Tensor x = from_vector({-2, -1, -0.5, 0, 0.5, 1, 2, 1e-30}, {8}, DType::f32);
  Uploaded dx = upload(x);
  DeviceArray<float> out(8);
  cuda::unary(cuda::UnaryOp::in_range, DType::f32, dx.ptr, {1}, out.data(), {8}, {-1, 1});
  EXPECT_EQ(out.to_host(), (std::vector<float>{0, 1, 1, 1, 1, 1, 0, 1}));
  cuda::unary(cuda::UnaryOp::positive, DType::f32, dx.ptr, {1}, out.data(), {8});
  EXPECT_EQ(out.to_host(), (std::vector<float>{0, 0, 0, 0, 1, 1, 1, 1}));
}

TEST(CudaKernelsSim, BinaryOpsWithBroadcastingEqualTheCpuExactly) {
  for (DType dt : {DType::f32, DType::f64}) {
    check_binary({1003}, {1003}, dt, 0, 0);                 // same shape, aligned: vectorised + tail
    check_binary({1003}, {1003}, dt, 1, 0);                 // misaligned
    check_binary({2, 3, 4, 5, 6}, {3, 1, 5, 1}, dt, 0, 0);  // 5-D broadcast
    check_binary({4, 1, 6}, {1, 5, 1}, dt, 0, 0);           // both sides broadcast
    check_binary({7, 9}, {}, dt, 0, 0);                     // scalar
    check_binary({1}, {6, 1}, dt, 0, 0);
  }
}

TEST(CudaKernelsSim, MoreThanFiveDimsAfterMergingIsAnError) {
  Tensor a = inputs({2, 1, 2, 1, 2, 1, 2, 1}, DType::f32, 1, -1, 1);
  Tensor b = inputs({1, 2, 1, 2, 1, 2, 1, 2}, DType::f32, 2, -1, 1);
  const Dims out = {2, 2, 2, 2, 2, 2, 2, 2};  // 8 dims, none mergeable
  Uploaded da = upload(a), db = upload(b);
  DeviceArray<float> dout(256);
  try {
    cuda::binary(cuda::BinaryOp::add, DType::f32, da.ptr, cuda::broadcast_strides(a.shape(), out), db.ptr,
                 cuda::broadcast_strides(b.shape(), out), dout.data(), out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at most 5"), std::string::npos) << e.what();
  }
  // Six dims that merge into one are fine.
  Tensor c = inputs({2, 2, 2, 2, 2, 2}, DType::f32, 3, -1, 1);
  Uploaded dc = upload(c);
  const Dims s6 = c.shape(), st6 = c.strides();
  cuda::binary(cuda::BinaryOp::mul, DType::f32, dc.ptr, st6, dc.ptr, st6, dout.data(), s6);
  expect_close_ulps(download<float>(dout.data(), 64), mul(c, c), 0, "6-D mul");
  EXPECT_THROW(cuda::unary(cuda::UnaryOp::exp, DType::i32, dc.ptr, {1}, dout.data(), {4}), Error);
}

TEST(CudaKernelsSim, SumAllIsCloseToTheCpuAndBitwiseReproducible) {
  for (int64_t n : {0, 1, 1000, 1 << 20 | 5}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    Tensor x = inputs({n}, DType::f32, 5, -1, 2);
    Uploaded dx = upload(x);
    DeviceArray<float> out(1);
    cuda::sum_all(DType::f32, dx.ptr, n, out.data());
    const float got = out.to_host()[0];
    const double want = sum(x.to(DType::f64)).item();
    EXPECT_NEAR(got, want, 1e-6 * (1 + sum(abs(x.to(DType::f64))).item()));
    if (n == 1000) {  // every thread order gives the same bits
      const auto saved = sim::shuffle_seed();
      for (uint64_t seed : {3u, 4u}) {
        sim::set_shuffle_seed(seed);
        cuda::sum_all(DType::f32, dx.ptr, n, out.data());
        EXPECT_EQ(out.to_host()[0], got) << "seed " << seed;
      }
      sim::set_shuffle_seed(saved);
    }
    cuda::sum_all(DType::f32, dx.ptr, n, out.data());
    EXPECT_EQ(out.to_host()[0], got) << "second run";
  }
  Tensor xd = inputs({4099}, DType::f64, 6, -1, 1);
  Uploaded dxd = upload(xd);
  DeviceArray<double> outd(1);
  cuda::sum_all(DType::f64, dxd.ptr, 4099, outd.data());
  EXPECT_NEAR(outd.to_host()[0], sum(xd).item(), 1e-12);
}

TEST(CudaKernelsSim, SumDimMatchesTheCpu) {
  for (DType dt : {DType::f32, DType::f64}) {
    for (Shape s : {Shape{7, 300, 1}, Shape{5, 33, 9}, Shape{1, 1000, 3}, Shape{4, 1, 5}, Shape{3, 0, 2}}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + shape_str(s));
      Tensor x = inputs(s, dt, 9, -1, 1);
      Tensor want = sum(x, {1});
      Uploaded dx = upload(x);
      DeviceArray<char> out((size_t)(s[0] * s[2]) * dtype_size(dt));
      cuda::sum_dim(dt, dx.ptr, s[0], s[1], s[2], out.data());
      const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
      const std::vector<double> w = want.to_vector();
      std::vector<double> got(w.size());
      if (dt == DType::f32) {
        std::vector<float> f = download<float>(out.data(), (int64_t)w.size());
        got.assign(f.begin(), f.end());
      } else {
        got = download<double>(out.data(), (int64_t)w.size());
      }
      for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(got[i], w[i], tol * (1 + std::abs(w[i]))) << "output " << i;
    }
  }
}

TEST(CudaKernelsSim, PhiloxStreamsAreBitIdenticalToTheCpuGenerator) {
  for (DType dt : {DType::f32, DType::f64}) {
    check_random(dt, 1001, 42, 0, 0, 0);
    check_random(dt, 1001, 42, 0, 1, 0);  // misaligned output: scalar stores
    check_random(dt, 37, 0xDEADBEEFCAFEull, 13, 0, 0);
    check_random(dt, 4096, 7, (1ull << 32) + 5, 0, 0);  // counter crosses into the high word
  }
  // Consecutive draws continue the stream: the device fill at the generator's new offset.
  Generator g(5);
  (void)rand({10}, g);
  Tensor second = rand({7}, g);
  DeviceArray<float> out(7);
  cuda::fill_uniform(DType::f32, out.data(), 7, 5, 3);
  expect_close_ulps(out.to_host(), second, 0, "second draw");
}

}  // namespace

#endif  // UAD_CUDA_SIM

#if defined(UAD_HAVE_CUDA_KERNELS)

namespace {

/// Skips with the probe's reason when this machine has no usable GPU.
#define UAD_REQUIRE_GPU()                                                               \
  do {                                                                                  \
    const uad::CudaProbe& p = uad::probe_cuda();                                        \
    if (!p.available()) GTEST_SKIP() << "no CUDA device: " << p.reason;                 \
  } while (0)

TEST(CudaKernelsGpu, ElementwiseMatchesTheCpu) {
  UAD_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    check_unary(dt, false, 0, 1);
    check_unary(dt, true, 0, 1);
    check_binary({2, 3, 4, 5, 6}, {3, 1, 5, 1}, dt, 0, 1);
    check_binary({1003}, {1003}, dt, 0, 1);
  }
}

TEST(CudaKernelsGpu, PhiloxStreamsMatchTheCpu) {
  UAD_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) check_random(dt, 100003, 42, 9, 0, 4);  // randn: CUDA logf/sinf/cosf ulps
}

TEST(CudaKernelsGpu, SumAllMatchesTheCpu) {
  UAD_REQUIRE_GPU();
  Tensor x = inputs({1 << 22}, DType::f32, 5, -1, 2);
  Uploaded dx = upload(x);
  DeviceArray<float> out(1);
  cuda::sum_all(DType::f32, dx.ptr, x.numel(), out.data());
  const float got = out.to_host()[0];
  EXPECT_NEAR(got, sum(x.to(DType::f64)).item(), 1e-3);
  cuda::sum_all(DType::f32, dx.ptr, x.numel(), out.data());
  EXPECT_EQ(out.to_host()[0], got) << "bitwise reproducible";
}

}  // namespace

#endif  // UAD_HAVE_CUDA_KERNELS

#if !defined(UAD_CUDA_SIM) && !defined(UAD_HAVE_CUDA_KERNELS)
#error "test_cuda_kernels is built only with -DUAD_CUDA_SIM=ON or -DUAD_CUDA=ON (tests/CMakeLists.txt)"
#endif
