// Deterministic warp and block sums (fixed combination order, no atomics) for the reduction
// kernels. Device code only; include after kernels/cuda/portable.cuh.
#pragma once
#include "kernels/cuda/portable.cuh"

namespace uad::cuda {

/// Sum of v over the 32 lanes of the warp by a shuffle-down tree (offsets 16, 8, 4, 2, 1); the
/// result is valid in lane 0. All 32 lanes must call it (full-mask shuffles).
template <class T> __device__ __forceinline__ T warp_sum(T v) {
  UAD_UNROLL
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

/// Sum of v over a 1-D block of BLOCK threads (a multiple of 32, ≤ 1024): a shuffle tree in each
/// warp, the warp sums through shared memory, a shuffle tree in warp 0. The result is valid in
/// thread 0. Every thread of the block must call it (it contains two __syncthreads; the second
/// lets a caller invoke it again, e.g. in a loop over rows).
template <int BLOCK, class T> __device__ T block_sum(T v) {
  static_assert(BLOCK % 32 == 0 && BLOCK <= 1024, "block_sum: BLOCK must be a multiple of 32, at most 1024");
  __shared__ T warp_sums[BLOCK / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) v = warp_sum(lane < BLOCK / 32 ? warp_sums[lane] : T(0));
  __syncthreads();
  return v;
}

}  // namespace uad::cuda
