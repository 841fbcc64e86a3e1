// Host API of the hand-written CUDA kernels (issue 3), on raw device pointers. Plain C++17 with no
// CUDA types, so it is callable from g++-compiled code in the real CUDA build (uad_cuda) and in
// the simulator build (uad_sim). Not wired into the op dispatch yet (tensor/ops_*.cpp): tests and
// the later CUDA backend call it directly.
//
// Conventions: pointers are device pointers (cudaMalloc memory; host memory in the simulator);
// shapes and strides are in elements, at most 5 dimensions after merging contiguous ones;
// `stream` is a cudaStream_t (nullptr = the default stream). Every function checks its launch and
// throws uad::Error naming the op and the shapes; kernels run asynchronously on a GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "tensor/dtype.h"

namespace uad::cuda {

using Dims = std::vector<int64_t>;

// ---- device memory (thin, checked wrappers of the CUDA runtime; the caching allocator comes later) ----

/// cudaMalloc of `bytes`; throws uad::Error on failure.
void* device_alloc(size_t bytes);
/// cudaFree (nullptr is a no-op).
void device_free(void* p);
/// Host → device, device → host and device → device copies of `bytes` (synchronous).
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_device(void* dst, const void* src, size_t bytes);
/// cudaDeviceSynchronize, checked (surfaces asynchronous kernel faults on a GPU).
void synchronize();

/// Owning device buffer of `n` elements of T (move-only).
template <class T> class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t n) : p_(static_cast<T*>(device_alloc(n * sizeof(T)))), n_(n) {}
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { copy_to_device(p_, host.data(), n_ * sizeof(T)); }
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept { std::swap(p_, o.p_); std::swap(n_, o.n_); return *this; }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { device_free(p_); }
  T* data() const { return p_; }
  size_t size() const { return n_; }
  std::vector<T> to_host() const {
    std::vector<T> h(n_);
    copy_to_host(h.data(), p_, n_ * sizeof(T));
    return h;
  }
 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// ---- elementwise (kernels/cuda/elementwise.cu); formulas: kernels/common/functors.h ----

/// Unary ops, each the functor of the same name in kernels/common/functors.h (the CPU's formula).
enum class UnaryOp : uint8_t { neg, abs, sign, exp, log, sqrt, square, tanh, sigmoid, softplus, relu, leaky_relu, elu, clamp, in_range, positive };
/// Binary ops: add, sub, mul, div, maximum (Max), minimum (Min), pow.
enum class BinaryOp : uint8_t { add, sub, mul, div, max, min, pow };
/// Scalar parameters: leaky_relu slope = a; elu alpha = a; clamp/in_range [lo, hi] = [a, b].
struct UnaryParams {
  double a = 0, b = 0;
};

/// out = op(x) for a contiguous `out` of shape `shape`; `x_strides` are x's element strides viewed
/// at `shape` (0 along broadcast dims). dtype f32 or f64. Throws uad::Error for other dtypes,
/// mismatched ranks, or more than 5 dims after merging.
void unary(UnaryOp op, DType dtype, const void* x, const Dims& x_strides, void* out, const Dims& shape,
           UnaryParams params = {}, void* stream = nullptr);
/// out = op(a, b) with NumPy broadcasting already resolved: `shape` is the output shape, `out`
/// contiguous, `a_strides`/`b_strides` the inputs' element strides at `shape` (0 = broadcast).
void binary(BinaryOp op, DType dtype, const void* a, const Dims& a_strides, const void* b, const Dims& b_strides,
            void* out, const Dims& shape, void* stream = nullptr);

/// Strides of a contiguous (row-major) tensor of `shape` broadcast to `out_shape` (NumPy rules:
/// `shape` is right-aligned; size-1 dims get stride 0). Throws uad::Error if not broadcastable.
Dims broadcast_strides(const Dims& shape, const Dims& out_shape);

// ---- reductions (kernels/cuda/reduce.cu): deterministic, fixed order ----

/// *out = Σ x[0..n) for contiguous x (out: one device element). The summation order depends only
/// on n (not on the GPU), so results are bitwise reproducible. Accumulates in the input dtype.
void sum_all(DType dtype, const void* x, int64_t n, void* out, void* stream = nullptr);
/// out[o, i] = Σ_k x[o, k, i] for contiguous x of shape [outer, n, inner] and contiguous out of
/// shape [outer, inner] (sum over one dim, or a run of adjacent dims, of a contiguous tensor).
void sum_dim(DType dtype, const void* x, int64_t outer, int64_t n, int64_t inner, void* out, void* stream = nullptr);

// ---- random numbers (kernels/cuda/random.cu): the CPU's Philox stream (tensor/generator.h) ----

/// Fills out[0..n) exactly as uad::rand/randn/bernoulli do on the CPU for a Generator with this
/// `seed` whose offset is `first_block` (= Generator::reserve(n)): value i from word i%4 of Philox
/// block first_block + i/4. dtype f32 or f64; bernoulli's p in [0,1].
void fill_uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t first_block, void* stream = nullptr);
void fill_normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t first_block, void* stream = nullptr);
void fill_bernoulli(DType dtype, void* out, int64_t n, double p, uint64_t seed, uint64_t first_block, void* stream = nullptr);

}  // namespace uad::cuda
