/*
Elementwise losses and their reductions (issue 3): l1 |x − y|, mse (x − y)², bce_with_logits —
the scalar formulas of the CPU ops (fn::Abs/fn::Square of fn::Sub in kernels/common/functors.h,
fn::BceWithLogits in kernels/common/loss_functors.h), so the elementwise values are the CPU's.

version 1 (none): one thread per element, grid-stride, 256 threads/block.
version 1 (sum, mean, batch_mean): the loss is fused into the two-pass deterministic sum of
  reduce.cu — pass 1: G = min(ceil(n / 1024), 1024) blocks of 256 threads, each thread a fixed
  grid-stride run, block_sum → partial[b]; pass 2: one block of 1024 sums the G partials and
  applies the scale (1/n for mean, 1/batch for batch_mean). G depends on n only, so the result is
  bitwise reproducible. Accumulation in the input dtype (PyTorch CUDA); the CPU sums f32 in f64,
  so reduced f32 values agree to rounding.
Arithmetic intensity (f32): 8 B read per element (+4 B written for none); 2 FLOP (l1, mse),
  ~20 (bce: exp + log1p) — memory-bound except bce, which is near balance on sm_80.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cstdint>

#include "kernels/common/functors.h"
#include "kernels/common/loss_functors.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int kFinalBlock = 1024;
constexpr unsigned kMaxPartials = 1024;
constexpr unsigned kMaxBlocks = 16384;

struct L1 {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return fn::Abs{}(fn::Sub{}(a, b)); }
};
struct Mse {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return fn::Square{}(fn::Sub{}(a, b)); }
};

template <class T, class F>
__global__ void __launch_bounds__(kBlock) loss_none_kernel(const T* __restrict__ x, const T* __restrict__ y, T* __restrict__ out, int64_t n,
                                                           F f) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) out[j] = f(x[j], y[j]);
}

/// partial[blockIdx.x] = Σ of f over this block's grid-stride share (times `scale` when the grid
/// is one block, i.e. this is the final result).
template <class T, class F>
__global__ void __launch_bounds__(kBlock) loss_partials_kernel(const T* __restrict__ x, const T* __restrict__ y, int64_t n, F f, T scale,
                                                               T* __restrict__ partial) {
  T acc = T(0);
  const int64_t step = (int64_t)gridDim.x * kBlock;
  for (int64_t i = (int64_t)blockIdx.x * kBlock + threadIdx.x; i < n; i += step) acc += f(x[i], y[i]);
  acc = block_sum<kBlock>(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = gridDim.x == 1 ? acc * scale : acc;
}

template <class T> __global__ void __launch_bounds__(kFinalBlock) final_sum_kernel(const T* __restrict__ partial, int64_t g, T scale, T* out) {
  T acc = T(0);
  for (int64_t i = threadIdx.x; i < g; i += kFinalBlock) acc += partial[i];
  acc = block_sum<kFinalBlock>(acc);
  if (threadIdx.x == 0) *out = acc * scale;
}

template <class T, class F> void run(LossReduction r, const T* x, const T* y, int64_t n, int64_t batch, T* out, F f, cudaStream_t st) {
  if (r == LossReduction::none) {
    if (n > 0) launch(loss_none_kernel<T, F>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, st, x, y, out, n, f);
    return;
  }
  const T scale = r == LossReduction::mean ? T(1) / T(n) : r == LossReduction::batch_mean ? T(1.0 / (double)batch) : T(1);
  if (n == 0) {
    UAD_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(T), st));
    return;
  }
  const unsigned g = grid_for(n, kBlock, 4, kMaxPartials);
  if (g == 1) {
    launch(loss_partials_kernel<T, F>, 1, kBlock, 0, st, x, y, n, f, scale, out);
    return;
  }
  DeviceArray<T> partial(g);  // cudaFree synchronises; the caching allocator will make this free
  launch(loss_partials_kernel<T, F>, g, kBlock, 0, st, x, y, n, f, scale, partial.data());
  launch(final_sum_kernel<T>, 1, kFinalBlock, 0, st, (const T*)partial.data(), (int64_t)g, scale, out);
}

template <class T> void dispatch_kind(LossKind k, LossReduction r, const void* x, const void* y, int64_t n, int64_t batch, void* out,
                                      cudaStream_t st) {
  const T* xp = static_cast<const T*>(x);
  const T* yp = static_cast<const T*>(y);
  T* op = static_cast<T*>(out);
  switch (k) {
    case LossKind::l1: return run<T>(r, xp, yp, n, batch, op, L1{}, st);
    case LossKind::mse: return run<T>(r, xp, yp, n, batch, op, Mse{}, st);
    case LossKind::bce_with_logits: return run<T>(r, xp, yp, n, batch, op, fn::BceWithLogits{}, st);
  }
  fail("cuda::loss_forward: unknown loss kind ", (int)k);
}

}  // namespace

void loss_forward(LossKind kind, LossReduction reduction, DType dtype, const void* x, const void* y, int64_t n, int64_t batch, void* out,
                  void* stream) {
  const char* op = "cuda::loss_forward";
  check(n >= 0, op, ": negative element count ", n);
  check(reduction != LossReduction::mean || n > 0, op, ": mean of an empty loss");
  check(reduction != LossReduction::batch_mean || batch >= 1, op, ": batch_mean needs a batch ≥ 1, got ", batch, " (n = ", n, ")");
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::f32: return dispatch_kind<float>(kind, reduction, x, y, n, batch, out, st);
    case DType::f64: return dispatch_kind<double>(kind, reduction, x, y, n, batch, out, st);
    default: fail(op, ": expected f32 or f64, got ", dtype_name(dtype), " (n = ", n, ")");
  }
}

}  // namespace uad::cuda
