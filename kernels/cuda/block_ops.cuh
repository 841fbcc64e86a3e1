// Deterministic warp/block reductions beyond the plain sum of block_reduce.cuh: max/min (NaN
// propagating, as the CPU's reduce), pairs of sums, and Welford moments merged with Chan et al.'s
// update. Every combination order is fixed by the block size alone (shuffle-down trees, then the
// warp results in warp order), so results are bitwise reproducible. Device code only; include
// after kernels/cuda/portable.cuh.
#pragma once
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/portable.cuh"

namespace uad::cuda {

/// NaN-propagating maximum and minimum (the CPU's ReduceKind::max/min: a NaN wins).
struct MaxOp {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return (b > a || b != b) ? b : a; }
};
struct MinOp {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return (b < a || b != b) ? b : a; }
};

/// op-reduction over the 32 lanes by a shuffle-down tree; valid in lane 0. All lanes must call.
template <class T, class Op> __device__ __forceinline__ T warp_reduce(T v, Op op) {
  UAD_UNROLL
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, offset));
  return v;
}

/// op-reduction over a 1-D block of BLOCK threads (multiple of 32, ≤ 1024), broadcast to every
/// thread (unlike block_sum, whose result is in thread 0 only). `identity` fills the unused
/// warp slots. Every thread must call it; it contains two __syncthreads.
template <int BLOCK, class T, class Op> __device__ T block_reduce_all(T v, Op op, T identity) {
  static_assert(BLOCK % 32 == 0 && BLOCK <= 1024, "block_reduce_all: BLOCK must be a multiple of 32, at most 1024");
  __shared__ T partial[BLOCK / 32 + 1];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_reduce(v, op);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_reduce(lane < BLOCK / 32 ? partial[lane] : identity, op);
    if (lane == 0) partial[BLOCK / 32] = v;
  }
  __syncthreads();
  v = partial[BLOCK / 32];
  __syncthreads();  // the slots may be reused by the next call
  return v;
}

struct SumOp {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

/// Two sums at once (one barrier pair instead of two), broadcast to every thread.
template <class T> struct Pair {
  T a, b;
};
struct PairSumOp {
  template <class T> __device__ __forceinline__ Pair<T> operator()(Pair<T> x, Pair<T> y) const { return {x.a + y.a, x.b + y.b}; }
};
template <class T> __device__ __forceinline__ Pair<T> shfl_down(Pair<T> v, int offset) {
  return {__shfl_down_sync(0xffffffffu, v.a, offset), __shfl_down_sync(0xffffffffu, v.b, offset)};
}
template <int BLOCK, class T> __device__ Pair<T> block_sum_pair_all(Pair<T> v) {
  static_assert(BLOCK % 32 == 0 && BLOCK <= 1024, "block_sum_pair_all: BLOCK must be a multiple of 32, at most 1024");
  __shared__ Pair<T> partial[BLOCK / 32 + 1];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  UAD_UNROLL
  for (int offset = 16; offset > 0; offset >>= 1) v = PairSumOp{}(v, shfl_down(v, offset));
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < BLOCK / 32 ? partial[lane] : Pair<T>{T(0), T(0)};
    UAD_UNROLL
    for (int offset = 16; offset > 0; offset >>= 1) v = PairSumOp{}(v, shfl_down(v, offset));
    if (lane == 0) partial[BLOCK / 32] = v;
  }
  __syncthreads();
  v = partial[BLOCK / 32];
  __syncthreads();
  return v;
}

/// Welford running moments: count n, mean and M2 = Σ (x − mean)² (Welford 1962), merged with
/// Chan, Golub & LeVeque (1979): n = na + nb, δ = mb − ma, mean = ma + δ·nb/n,
/// M2 = M2a + M2b + δ²·na·nb/n. The count is kept in T (exact up to 2^24 in f32 per thread
/// partial; the merged counts are exact integers below 2^24 for f32 and 2^53 for f64 — the
/// rounding of a larger f32 count only scales the weights by < 1 ulp).
template <class T> struct Welford {
  T n, mean, m2;
};
template <class T> __device__ __forceinline__ void welford_add(Welford<T>& w, T x) {
  w.n += T(1);
  const T d = x - w.mean;
  w.mean += d / w.n;
  w.m2 += d * (x - w.mean);
}
template <class T> __device__ __forceinline__ Welford<T> welford_merge(const Welford<T>& a, const Welford<T>& b) {
  if (b.n == T(0)) return a;
  if (a.n == T(0)) return b;
  const T n = a.n + b.n, d = b.mean - a.mean, fb = b.n / n;
  return {n, a.mean + d * fb, a.m2 + b.m2 + d * d * a.n * fb};
}
template <class T> __device__ __forceinline__ Welford<T> welford_warp(Welford<T> w) {
  UAD_UNROLL
  for (int offset = 16; offset > 0; offset >>= 1) {
    Welford<T> o{__shfl_down_sync(0xffffffffu, w.n, offset), __shfl_down_sync(0xffffffffu, w.mean, offset),
                 __shfl_down_sync(0xffffffffu, w.m2, offset)};
    w = welford_merge(w, o);
  }
  return w;
}
/// Block-wide Welford merge in a fixed order, broadcast to every thread.
template <int BLOCK, class T> __device__ Welford<T> welford_block_all(Welford<T> w) {
  static_assert(BLOCK % 32 == 0 && BLOCK <= 1024, "welford_block_all: BLOCK must be a multiple of 32, at most 1024");
  __shared__ Welford<T> partial[BLOCK / 32 + 1];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  w = welford_warp(w);
  if (lane == 0) partial[warp] = w;
  __syncthreads();
  if (warp == 0) {
    w = welford_warp(lane < BLOCK / 32 ? partial[lane] : Welford<T>{T(0), T(0), T(0)});
    if (lane == 0) partial[BLOCK / 32] = w;
  }
  __syncthreads();
  w = partial[BLOCK / 32];
  __syncthreads();
  return w;
}

}  // namespace uad::cuda
