/*
amax / amin over one dim (or a run of adjacent dims) of a contiguous tensor (issue 3) — the CPU's
cpu::reduce(..., ReduceKind::max/min) semantics: NaN propagates (MaxOp/MinOp of
kernels/cuda/block_ops.cuh, the CPU's `(b > a || b != b) ? b : a`). max/min are exact whatever
the order, so results equal the CPU bitwise (a NaN result is NaN on both).

version 1 (inner == 1): one block of 256 threads per row (grid-stride over rows), each thread a
  strided run of the row, then a block reduction (shuffle tree per warp, warp results in order).
version 1 (inner > 1): one thread per output column (o, i) scanning k = 0..n−1 in order;
  adjacent threads read adjacent addresses (coalesced). Under-fills the GPU for few columns and
  long n (as reduce.cu's sum_dim v1).
Arithmetic intensity (f32): 4 B read and 1 compare per element — memory-bound.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cstdint>

#include "kernels/cuda/block_ops.cuh"
#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr int kBlock = 256;
constexpr unsigned kMaxBlocks = 16384;

template <class T, class Op>
__global__ void __launch_bounds__(kBlock) minmax_rows_kernel(const T* __restrict__ x, int64_t rows, int64_t n, T* __restrict__ out, Op op) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform over the block: barrier-safe
    const T* row = x + r * n;
    T acc = row[0];
    for (int64_t k = threadIdx.x; k < n; k += kBlock) acc = op(acc, row[k]);
    acc = block_reduce_all<kBlock>(acc, op, row[0]);
    if (threadIdx.x == 0) out[r] = acc;
  }
}

template <class T, class Op>
__global__ void __launch_bounds__(kBlock) minmax_cols_kernel(const T* __restrict__ x, int64_t outer, int64_t n, int64_t inner,
                                                             T* __restrict__ out, Op op) {
  const int64_t total = outer * inner, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < total; j += step) {
    const int64_t o = j / inner, i = j - o * inner;
    const T* p = x + o * n * inner + i;
    T acc = p[0];
    for (int64_t k = 1; k < n; ++k) acc = op(acc, p[k * inner]);
    out[j] = acc;
  }
}

template <class T, class Op> void run(const T* x, int64_t outer, int64_t n, int64_t inner, T* out, Op op, cudaStream_t st) {
  if (inner == 1) {
    launch(minmax_rows_kernel<T, Op>, grid_for(outer, 1, 1, kMaxBlocks), kBlock, 0, st, x, outer, n, out, op);
    return;
  }
  launch(minmax_cols_kernel<T, Op>, grid_for(outer * inner, kBlock, 1, kMaxBlocks), kBlock, 0, st, x, outer, n, inner, out, op);
}

template <class T> void run_kind(const void* x, int64_t outer, int64_t n, int64_t inner, bool min, void* out, cudaStream_t st) {
  if (min) run(static_cast<const T*>(x), outer, n, inner, static_cast<T*>(out), MinOp{}, st);
  else run(static_cast<const T*>(x), outer, n, inner, static_cast<T*>(out), MaxOp{}, st);
}

}  // namespace

void amax_dim(DType dtype, const void* x, int64_t outer, int64_t n, int64_t inner, bool min, void* out, void* stream) {
  const char* op = min ? "cuda::amin_dim" : "cuda::amax_dim";
  check(outer >= 0 && inner >= 0, op, ": negative size in [", outer, ",", n, ",", inner, "]");
  check(n >= 1, op, ": reducing over an empty dim (shape [", outer, ",", n, ",", inner, "]) has no identity");
  if (outer * inner == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::f32: return run_kind<float>(x, outer, n, inner, min, out, st);
    case DType::f64: return run_kind<double>(x, outer, n, inner, min, out, st);
    default: fail(op, ": expected f32 or f64, got ", dtype_name(dtype), " (shape [", outer, ",", n, ",", inner, "])");
  }
}

}  // namespace uad::cuda
