/*
Softmax and log_softmax along one dim (issue 3) of a contiguous tensor viewed as [O, D, I], forward
and first-order backward — the CPU's kernels/cpu/softmax.cpp on the GPU. The exponential is the
CPU's fn::fast_exp (kernels/common/softmax_exp.h), the max is subtracted first (stable), an all
−inf row gives NaN as on the CPU (m := 0, then 0/0).

version 1 (rows, I == 1): one block per row (grid-stride over rows), BLOCK = 32/128/256 threads
  chosen from D (a short row does not idle 224 threads). Each thread walks the row with stride
  BLOCK; the max and the sum of e^{x−m} are block reductions (kernels/cuda/block_ops.cuh: shuffle
  tree per warp, then the warp results in warp order) broadcast to every thread; a third pass
  writes y. Three reads of the row (the second and third from L1/L2 for rows up to ~100 KB).
  Summation order: a fixed tree (deterministic), not the CPU's SIMD order — the f32 results agree
  with the CPU to rounding (normalised MSE ~1e-14), not bitwise.
version 1 (columns, I > 1): one thread per (o, i) column walking d = 0..D−1 in order, like the
  CPU's strided path: adjacent threads read adjacent addresses (coalesced), and the order of
  every max and sum is the CPU's: equal to the CPU up to FMA contraction (the compilers may fuse
  a·b + c differently), i.e. last-bit differences.
Backward: the same two shapes; softmax dx = y·(g − Σ g·y), log_softmax dx = g − e^{y}·Σ g.
Arithmetic intensity (f32, rows): forward reads 4 B and writes 4 B per element (the re-reads hit
  cache), ~20 FLOP (fast_exp polynomial) — memory-bound on sm_80/sm_90 (ridge ~10-20 FLOP/B is not
  reached at 2.5 FLOP/B). Backward: 8 B read + 4 B written, ~4 FLOP (softmax), ~22 (log_softmax).
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cmath>
#include <cstdint>

#include "kernels/common/softmax_exp.h"
#include "kernels/cuda/block_ops.cuh"
#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr unsigned kColBlock = 256;
constexpr unsigned kMaxBlocks = 16384;

template <class T> __device__ __forceinline__ T neg_inf() { return -T(INFINITY); }
template <class T> __device__ __forceinline__ bool is_neg_inf(T v) { return v == -T(INFINITY); }

template <class T, int BLOCK>
__global__ void __launch_bounds__(BLOCK) softmax_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t D,
                                                             bool log) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform over the block: barrier-safe
    const T* xr = x + r * D;
    T* yr = y + r * D;
    T m = neg_inf<T>();
    for (int64_t d = threadIdx.x; d < D; d += BLOCK) m = MaxOp{}(m, xr[d]);
    m = block_reduce_all<BLOCK>(m, MaxOp{}, neg_inf<T>());
    if (is_neg_inf(m)) m = T(0);
    T s = T(0);
    for (int64_t d = threadIdx.x; d < D; d += BLOCK) s += fn::fast_exp(xr[d] - m);
    s = block_reduce_all<BLOCK>(s, SumOp{}, T(0));
    if (log) {
      const T ls = m + std::log(s);
      for (int64_t d = threadIdx.x; d < D; d += BLOCK) yr[d] = xr[d] - ls;
    } else {
      const T inv = T(1) / s;
      for (int64_t d = threadIdx.x; d < D; d += BLOCK) yr[d] = fn::fast_exp(xr[d] - m) * inv;
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kColBlock) softmax_cols_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t O, int64_t D,
                                                                 int64_t I, bool log) {
  const int64_t total = O * I, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < total; j += step) {
    const int64_t o = j / I, i = j - o * I;
    const T* xp = x + o * D * I + i;
    T* yp = y + o * D * I + i;
    T m = neg_inf<T>();
    for (int64_t d = 0; d < D; ++d) m = xp[d * I] > m ? xp[d * I] : m;  // the CPU's max (NaN is skipped, then poisons s)
    if (is_neg_inf(m)) m = T(0);
    T s = T(0);
    for (int64_t d = 0; d < D; ++d) s += fn::fast_exp(xp[d * I] - m);
    if (log) {
      const T ls = m + std::log(s);
      for (int64_t d = 0; d < D; ++d) yp[d * I] = xp[d * I] - ls;
    } else {
      const T inv = T(1) / s;
      for (int64_t d = 0; d < D; ++d) yp[d * I] = fn::fast_exp(xp[d * I] - m) * inv;
    }
  }
}

template <class T, int BLOCK>
__global__ void __launch_bounds__(BLOCK) softmax_bwd_rows_kernel(const T* __restrict__ g, const T* __restrict__ y, T* __restrict__ dx,
                                                                 int64_t rows, int64_t D, bool log) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* gr = g + r * D;
    const T* yr = y + r * D;
    T* o = dx + r * D;
    T s = T(0);
    if (log)
      for (int64_t d = threadIdx.x; d < D; d += BLOCK) s += gr[d];
    else
      for (int64_t d = threadIdx.x; d < D; d += BLOCK) s += gr[d] * yr[d];
    s = block_reduce_all<BLOCK>(s, SumOp{}, T(0));
    if (log)
      for (int64_t d = threadIdx.x; d < D; d += BLOCK) o[d] = gr[d] - fn::fast_exp(yr[d]) * s;
    else
      for (int64_t d = threadIdx.x; d < D; d += BLOCK) o[d] = yr[d] * (gr[d] - s);
  }
}

template <class T>
__global__ void __launch_bounds__(kColBlock) softmax_bwd_cols_kernel(const T* __restrict__ g, const T* __restrict__ y,
                                                                     T* __restrict__ dx, int64_t O, int64_t D, int64_t I, bool log) {
  const int64_t total = O * I, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < total; j += step) {
    const int64_t o = j / I, i = j - o * I, off = o * D * I + i;
    const T* gp = g + off;
    const T* yp = y + off;
    T* op = dx + off;
    T s = T(0);
    if (log)
      for (int64_t d = 0; d < D; ++d) s += gp[d * I];
    else
      for (int64_t d = 0; d < D; ++d) s += gp[d * I] * yp[d * I];
    if (log)
      for (int64_t d = 0; d < D; ++d) op[d * I] = gp[d * I] - fn::fast_exp(yp[d * I]) * s;
    else
      for (int64_t d = 0; d < D; ++d) op[d * I] = yp[d * I] * (gp[d * I] - s);
  }
}

/// Threads per row block: enough to cover a short row in one sweep, 256 for long rows.
int row_block(int64_t D) { return D <= 64 ? 32 : D <= 512 ? 128 : 256; }

template <class T> void forward_t(const T* x, T* y, int64_t O, int64_t D, int64_t I, bool log, cudaStream_t st) {
  if (I == 1) {
    const unsigned grid = grid_for(O, 1, 1, kMaxBlocks);
    switch (row_block(D)) {
      case 32: return launch(softmax_rows_kernel<T, 32>, grid, 32, 0, st, x, y, O, D, log);
      case 128: return launch(softmax_rows_kernel<T, 128>, grid, 128, 0, st, x, y, O, D, log);
      default: return launch(softmax_rows_kernel<T, 256>, grid, 256, 0, st, x, y, O, D, log);
    }
  }
  launch(softmax_cols_kernel<T>, grid_for(O * I, kColBlock, 1, kMaxBlocks), kColBlock, 0, st, x, y, O, D, I, log);
}

template <class T> void backward_t(const T* g, const T* y, T* dx, int64_t O, int64_t D, int64_t I, bool log, cudaStream_t st) {
  if (I == 1) {
    const unsigned grid = grid_for(O, 1, 1, kMaxBlocks);
    switch (row_block(D)) {
      case 32: return launch(softmax_bwd_rows_kernel<T, 32>, grid, 32, 0, st, g, y, dx, O, D, log);
      case 128: return launch(softmax_bwd_rows_kernel<T, 128>, grid, 128, 0, st, g, y, dx, O, D, log);
      default: return launch(softmax_bwd_rows_kernel<T, 256>, grid, 256, 0, st, g, y, dx, O, D, log);
    }
  }
  launch(softmax_bwd_cols_kernel<T>, grid_for(O * I, kColBlock, 1, kMaxBlocks), kColBlock, 0, st, g, y, dx, O, D, I, log);
}

void check_sizes(const char* op, int64_t O, int64_t D, int64_t I) {
  check(O >= 0 && D >= 0 && I >= 0, op, ": negative size in [", O, ",", D, ",", I, "]");
}

}  // namespace

void softmax_forward(DType dtype, const void* x, void* y, int64_t outer, int64_t dim, int64_t inner, bool log, void* stream) {
  const char* op = log ? "cuda::log_softmax" : "cuda::softmax";
  check_sizes(op, outer, dim, inner);
  if (outer * dim * inner == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::f32: return forward_t(static_cast<const float*>(x), static_cast<float*>(y), outer, dim, inner, log, st);
    case DType::f64: return forward_t(static_cast<const double*>(x), static_cast<double*>(y), outer, dim, inner, log, st);
    default: fail(op, ": expected f32 or f64, got ", dtype_name(dtype), " (shape [", outer, ",", dim, ",", inner, "])");
  }
}

void softmax_backward(DType dtype, const void* g, const void* y, void* dx, int64_t outer, int64_t dim, int64_t inner, bool log,
                      void* stream) {
  const char* op = log ? "cuda::log_softmax_backward" : "cuda::softmax_backward";
  check_sizes(op, outer, dim, inner);
  if (outer * dim * inner == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::f32:
      return backward_t(static_cast<const float*>(g), static_cast<const float*>(y), static_cast<float*>(dx), outer, dim, inner, log, st);
    case DType::f64:
      return backward_t(static_cast<const double*>(g), static_cast<const double*>(y), static_cast<double*>(dx), outer, dim, inner,
                        log, st);
    default: fail(op, ": expected f32 or f64, got ", dtype_name(dtype), " (shape [", outer, ",", dim, ",", inner, "])");
  }
}

}  // namespace uad::cuda
