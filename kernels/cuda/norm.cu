/*
Normalisations (issue 3): layer, group (instance = groups == C) and batch norm, forward and
first-order backward, on contiguous buffers — the algebra of tensor/ops_norm.cpp and
kernels/cpu/norm.cpp (PyTorch's formulas):
  x̂ = (x − μ)·rstd, rstd = 1/sqrt(σ² + eps) with the biased σ², y = x̂·w + b,
  dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)), dw = Σ g·x̂, db = Σ g.
Statistics accumulate in the storage type (as PyTorch on CUDA; the CPU uses double), by Welford
per thread and Chan et al.'s merge across the block in a fixed order (kernels/cuda/block_ops.cuh),
so they are deterministic; they agree with the CPU's to rounding (tests use a normalised MSE).

version 1:
  row statistics (layer norm rows [R, K]; group norm rows (n, group) of (C/G)·S contiguous
    elements): one block per row (grid-stride), 32/128/256 threads by row length, each thread a
    strided Welford run, then the block merge. A row is read once.
  batch statistics (S < 1024): one block of 256 per channel over its N runs of S elements, same
    merge; thread 0 writes mean/rstd and updates the running buffers (r ← (1−m)·r + m·stat,
    unbiased variance for running_var, PyTorch's convention).
  apply: one thread per element, grid-stride: y = (x − μ)·rstd·w + b (stat and parameter indices
    by division). Eval batch norm uses the CPU's expression x·scale + shift with
    scale = w·(1/sqrt(rv + eps)), shift = b − rm·scale: equal up to FMA contraction.
  backward rows (layer/group): one block per row: Σ g·w and Σ g·w·(x − μ) as one pair reduction,
    then dx in a second sweep of the (cached) row.
  backward parameters: layer norm dw/db: one thread per column k summing rows in order
    (coalesced); group/batch norm (S < 1024): one block per channel, pair reduction of Σ g and
    Σ g·x̂. batch norm dx: elementwise from the per-channel sums.
version 2 (kernels/cuda/norm_split.cuh), when v1 would leave the GPU idle:
  few long rows (splits_for(rows, K) > 1: rows < 1024 and K > 4096, e.g. instance norm of 64³
    volumes): each row is cut into up to 1024/rows chunks of ≥ 4096 elements, one 256-thread block
    each, producing Welford (or pair-sum) partials; a second kernel (one thread per statistic)
    merges them in chunk order; dx is then an elementwise pass.
  batch statistics and channel sums with S ≥ 1024: the rows (n, c) are reduced (and split) the
    same way and the finalize kernel merges, per channel, n = 0..N−1 then the chunks in order.
  layer norm dw/db with many rows: ~64-row blocks × 256-column blocks (2-D grid) write partial
    column sums; a second pass adds them in row-block order.
  The split counts depend on the sizes only, so every result stays bitwise reproducible.
Arithmetic intensity (f32): forward reads x twice (stats, apply) and writes y: 12 B/element,
  ~12 FLOP (Welford 5 incl. a division, apply 3) — memory-bound. Backward: rows read g, x twice
  and write dx: 20 B, ~12 FLOP; parameter sums read g, x again: +8 B.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cmath>
#include <cstdint>

#include "kernels/cuda/block_ops.cuh"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/norm_split.cuh"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr unsigned kBlock = 256;
constexpr unsigned kMaxBlocks = 16384;

/// Where an element's statistics and parameters live: stat = (j / stat_div) % stat_mod,
/// channel = (j / S) % C (parameters w[channel], b[channel]).
struct Index {
  int64_t stat_div, stat_mod, S, C;
  __device__ __forceinline__ int64_t stat(int64_t j) const { return (j / stat_div) % stat_mod; }
  __device__ __forceinline__ int64_t channel(int64_t j) const { return (j / S) % C; }
};

/// mean[r], rstd[r] of the contiguous rows [rows, K].
template <class T, int BLOCK>
__global__ void __launch_bounds__(BLOCK) row_stats_kernel(const T* __restrict__ x, int64_t rows, int64_t K, T eps, T* __restrict__ mean,
                                                          T* __restrict__ rstd) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform over the block: barrier-safe
    const T* xr = x + r * K;
    Welford<T> w{T(0), T(0), T(0)};
    for (int64_t k = threadIdx.x; k < K; k += BLOCK) welford_add(w, xr[k]);
    w = welford_block_all<BLOCK>(w);
    if (threadIdx.x == 0) {
      mean[r] = w.mean;
      rstd[r] = T(1) / std::sqrt(w.m2 / w.n + eps);
    }
  }
}

/// Batch statistics of channel c over x[n, c, s] (n < N, s < S), running buffers updated.
template <class T>
__global__ void __launch_bounds__(kBlock) channel_stats_kernel(const T* __restrict__ x, int64_t N, int64_t C, int64_t S, T eps,
                                                               T* __restrict__ mean, T* __restrict__ rstd, T* running_mean,
                                                               T* running_var, double momentum) {
  const int64_t M = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    Welford<T> w{T(0), T(0), T(0)};
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = x + (n * C + c) * S;
      for (int64_t s = threadIdx.x; s < S; s += kBlock) welford_add(w, xr[s]);
    }
    w = welford_block_all<(int)kBlock>(w);
    if (threadIdx.x == 0) {
      const T var = w.m2 / w.n;
      mean[c] = w.mean;
      rstd[c] = T(1) / std::sqrt(var + eps);
      if (running_mean) running_mean[c] = (T)((1.0 - momentum) * (double)running_mean[c] + momentum * (double)w.mean);
      if (running_var)
        running_var[c] = (T)((1.0 - momentum) * (double)running_var[c] + momentum * (double)w.m2 / (double)(M - 1));
    }
  }
}

/// y[j] = (x[j] − mean[stat])·rstd[stat]·w[channel] + b[channel] (w, b may be null).
template <class T>
__global__ void __launch_bounds__(kBlock) apply_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, Index ix,
                                                       const T* __restrict__ mean, const T* __restrict__ rstd, const T* w,
                                                       const T* b) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    const int64_t s = ix.stat(j), c = ix.channel(j);
    T v = (x[j] - mean[s]) * rstd[s];
    if (w) v = v * w[c];
    if (b) v = v + b[c];
    y[j] = v;
  }
}

/// Eval batch norm, the CPU's expression: y = x·scale + shift, scale = w·inv, shift = b − rm·scale.
template <class T>
__global__ void __launch_bounds__(kBlock) eval_apply_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, int64_t S, int64_t C,
                                                            const T* __restrict__ rm, const T* __restrict__ rv, const T* w, const T* b,
                                                            T eps) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    const int64_t c = (j / S) % C;
    const T inv = T(1) / std::sqrt(rv[c] + eps);
    const T scale = w ? w[c] * inv : inv;
    T shift = -(rm[c] * scale);
    if (b) shift = shift + b[c];
    y[j] = x[j] * scale + shift;
  }
}

/// rstd[c] = 1/sqrt(rv[c] + eps) (the eval statistics, for the backward pass).
template <class T> __global__ void __launch_bounds__(kBlock) eval_rstd_kernel(const T* __restrict__ rv, T* __restrict__ rstd, int64_t C, T eps) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < C; c += step) rstd[c] = T(1) / std::sqrt(rv[c] + eps);
}

/// dx of layer/group norm for contiguous rows [rows, K] with per-row mean/rstd; the parameter of
/// element k of row r is w[((r·K + k) / S) % C].
template <class T, int BLOCK>
__global__ void __launch_bounds__(BLOCK) row_backward_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                                             const T* __restrict__ rstd, const T* w, int64_t rows, int64_t K, int64_t S,
                                                             int64_t C, T* __restrict__ dx) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* gr = g + r * K;
    const T* xr = x + r * K;
    const T m = mean[r], rs = rstd[r];
    Pair<T> p{T(0), T(0)};
    for (int64_t k = threadIdx.x; k < K; k += BLOCK) {
      const T gw = w ? gr[k] * w[((r * K + k) / S) % C] : gr[k];
      p.a += gw;
      p.b += gw * (xr[k] - m);
    }
    p = block_sum_pair_all<BLOCK>(p);
    const T m1 = p.a / T(K), m2 = p.b * rs / T(K);  // mean(g·w), mean(g·w·x̂)
    for (int64_t k = threadIdx.x; k < K; k += BLOCK) {
      const T gw = w ? gr[k] * w[((r * K + k) / S) % C] : gr[k];
      dx[r * K + k] = rs * (gw - m1 - (xr[k] - m) * rs * m2);
    }
  }
}

/// Layer norm parameter gradients: dw[k] = Σ_r g·(x − mean_r)·rstd_r, db[k] = Σ_r g (rows in order).
template <class T>
__global__ void __launch_bounds__(kBlock) column_grads_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                                              const T* __restrict__ rstd, int64_t R, int64_t K, T* dw, T* db) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < K; k += step) {
    T sw = T(0), sb = T(0);
    for (int64_t r = 0; r < R; ++r) {
      const T gv = g[r * K + k];
      sw += gv * (x[r * K + k] - mean[r]) * rstd[r];
      sb += gv;
    }
    if (dw) dw[k] = sw;
    if (db) db[k] = sb;
  }
}

/// Per channel c of [N, C, S]: sum_g[c] = Σ g, sum_gx[c] = Σ g·(x − mean[st])·rstd[st] with
/// st = c (groups == 0: batch norm) or n·groups + c/(C/groups) (group norm).
template <class T>
__global__ void __launch_bounds__(kBlock) channel_grads_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                                               const T* __restrict__ rstd, int64_t N, int64_t C, int64_t S, int64_t groups,
                                                               T* __restrict__ sum_g, T* __restrict__ sum_gx) {
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    Pair<T> p{T(0), T(0)};
    for (int64_t n = 0; n < N; ++n) {
      const int64_t st = groups == 0 ? c : n * groups + c / (C / groups);
      const T m = mean[st], rs = rstd[st];
      const int64_t off = (n * C + c) * S;
      for (int64_t s = threadIdx.x; s < S; s += kBlock) {
        const T gv = g[off + s];
        p.a += gv;
        p.b += gv * (x[off + s] - m) * rs;
      }
    }
    p = block_sum_pair_all<(int)kBlock>(p);
    if (threadIdx.x == 0) {
      sum_g[c] = p.a;
      sum_gx[c] = p.b;
    }
  }
}

/// Batch norm dx from the per-channel sums: training dx = rstd·w·(g − Σg/M − x̂·Σg·x̂/M);
/// eval dx = rstd·w·g (the statistics are constants).
template <class T>
__global__ void __launch_bounds__(kBlock) batch_dx_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                                          const T* __restrict__ rstd, const T* w, const T* __restrict__ sum_g,
                                                          const T* __restrict__ sum_gx, int64_t n, int64_t S, int64_t C, T M,
                                                          bool training, T* __restrict__ dx) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    const int64_t c = (j / S) % C;
    const T rs = rstd[c], a = w ? rs * w[c] : rs;
    if (training) {
      const T xh = (x[j] - mean[c]) * rs;
      dx[j] = a * (g[j] - sum_g[c] / M - xh * sum_gx[c] / M);
    } else {
      dx[j] = a * g[j];
    }
  }
}

int row_block(int64_t K) { return K <= 64 ? 32 : K <= 512 ? 128 : 256; }

/// Spatial size from which batch statistics and channel sums use the split-row kernels
/// (norm_split.cuh); below it one block per channel walks its N runs of S elements.
constexpr int64_t kSplitRowMin = 1024;

template <class T> void row_stats(const T* x, int64_t rows, int64_t K, double eps, T* mean, T* rstd, cudaStream_t st) {
  const int64_t sp = norm_split::splits_for(rows, K);
  if (sp > 1) {  // version 2: few long rows
    DeviceArray<Welford<T>> part((size_t)(rows * sp));  // cudaFree synchronises before the buffer is reused
    launch(norm_split::welford_partials_kernel<T>, grid_for(rows * sp, 1, 1, kMaxBlocks), norm_split::kBlock, 0, st, x, rows, K, sp,
           norm_split::chunk_for(K, sp), part.data());
    launch(norm_split::welford_finalize_kernel<T>, grid_for(rows, kBlock, 1, kMaxBlocks), kBlock, 0, st, (const Welford<T>*)part.data(),
           (int64_t)1, rows, sp, (T)eps, mean, rstd, (T*)nullptr, (T*)nullptr, 0.0, K);
    return;
  }
  const unsigned grid = grid_for(rows, 1, 1, kMaxBlocks);
  switch (row_block(K)) {
    case 32: return launch(row_stats_kernel<T, 32>, grid, 32, 0, st, x, rows, K, (T)eps, mean, rstd);
    case 128: return launch(row_stats_kernel<T, 128>, grid, 128, 0, st, x, rows, K, (T)eps, mean, rstd);
    default: return launch(row_stats_kernel<T, 256>, grid, 256, 0, st, x, rows, K, (T)eps, mean, rstd);
  }
}

/// Batch statistics per channel of [N, C, S] (+ running buffers).
template <class T>
void batch_stats(const T* x, int64_t N, int64_t C, int64_t S, double eps, T* mean, T* rstd, T* rm, T* rv, double momentum, cudaStream_t st) {
  if (S >= kSplitRowMin) {  // version 2: rows (n, c) split, merged per channel over n and splits
    const int64_t rows = N * C, sp = norm_split::splits_for(rows, S);
    DeviceArray<Welford<T>> part((size_t)(rows * sp));
    launch(norm_split::welford_partials_kernel<T>, grid_for(rows * sp, 1, 1, kMaxBlocks), norm_split::kBlock, 0, st, x, rows, S, sp,
           norm_split::chunk_for(S, sp), part.data());
    launch(norm_split::welford_finalize_kernel<T>, grid_for(C, kBlock, 1, kMaxBlocks), kBlock, 0, st, (const Welford<T>*)part.data(), N, C,
           sp, (T)eps, mean, rstd, rm, rv, momentum, N * S);
    return;
  }
  launch(channel_stats_kernel<T>, grid_for(C, 1, 1, kMaxBlocks), kBlock, 0, st, x, N, C, S, (T)eps, mean, rstd, rm, rv, momentum);
}

/// dx of layer norm (S = 1, C = K) or group norm (rows (n, group) of K = (C/G)·S elements).
template <class T>
void row_backward(const T* g, const T* x, const T* mean, const T* rstd, const T* w, int64_t rows, int64_t K, int64_t S, int64_t C, T* dx,
                  cudaStream_t st) {
  const int64_t sp = norm_split::splits_for(rows, K);
  if (sp > 1) {  // version 2: split sums, then an elementwise pass
    DeviceArray<Pair<T>> part((size_t)(rows * sp));
    DeviceArray<T> sa((size_t)rows), sb((size_t)rows);
    launch(norm_split::pair_partials_kernel<T, norm_split::PairMode::rows>, grid_for(rows * sp, 1, 1, kMaxBlocks), norm_split::kBlock, 0, st,
           g, x, mean, rstd, w, rows, K, sp, norm_split::chunk_for(K, sp), norm_split::PairIndex{S, C, 0, 0}, part.data());
    launch(norm_split::pair_finalize_kernel<T>, grid_for(rows, kBlock, 1, kMaxBlocks), kBlock, 0, st, (const Pair<T>*)part.data(),
           (int64_t)1, rows, sp, sa.data(), sb.data());
    launch(norm_split::rows_dx_kernel<T>, grid_for(rows * K, kBlock, 1, kMaxBlocks), kBlock, 0, st, g, x, mean, rstd, w,
           (const T*)sa.data(), (const T*)sb.data(), rows * K, K, S, C, dx);
    return;
  }
  const unsigned grid = grid_for(rows, 1, 1, kMaxBlocks);
  switch (row_block(K)) {
    case 32: return launch(row_backward_kernel<T, 32>, grid, 32, 0, st, g, x, mean, rstd, w, rows, K, S, C, dx);
    case 128: return launch(row_backward_kernel<T, 128>, grid, 128, 0, st, g, x, mean, rstd, w, rows, K, S, C, dx);
    default: return launch(row_backward_kernel<T, 256>, grid, 256, 0, st, g, x, mean, rstd, w, rows, K, S, C, dx);
  }
}

/// Layer norm dw[k] = Σ_r g·x̂, db[k] = Σ_r g (either may be null).
template <class T> void column_grads(const T* g, const T* x, const T* mean, const T* rstd, int64_t R, int64_t K, T* dw, T* db, cudaStream_t st) {
  const int64_t nrb = norm_split::row_blocks_for(R, K);
  if (nrb > 1) {  // version 2: row blocks, then the partials summed in block order
    DeviceArray<Pair<T>> part((size_t)(nrb * K));
    launch(norm_split::column_partials_kernel<T>, dim3(grid_for(K, kBlock, 1, kMaxBlocks), (unsigned)nrb), kBlock, 0, st, g, x, mean, rstd,
           R, K, nrb, part.data());
    launch(norm_split::pair_finalize_kernel<T>, grid_for(K, kBlock, 1, kMaxBlocks), kBlock, 0, st, (const Pair<T>*)part.data(), nrb, K,
           (int64_t)1, dw, db);
    return;
  }
  launch(column_grads_kernel<T>, grid_for(K, kBlock, 1, kMaxBlocks), kBlock, 0, st, g, x, mean, rstd, R, K, dw, db);
}

template <class T> void apply(const T* x, T* y, int64_t n, Index ix, const T* mean, const T* rstd, const T* w, const T* b, cudaStream_t st) {
  launch(apply_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, st, x, y, n, ix, mean, rstd, w, b);
}

/// Σ g and Σ g·x̂ per channel c of [N, C, S] (x̂ from the statistics of batch norm, groups == 0,
/// or group norm).
template <class T>
void channel_grads(const T* g, const T* x, const T* mean, const T* rstd, int64_t N, int64_t C, int64_t S, int64_t groups, T* sum_g,
                   T* sum_gx, cudaStream_t st) {
  if (S >= kSplitRowMin) {  // version 2: rows (n, c) split, summed per channel over n and splits
    const int64_t rows = N * C, sp = norm_split::splits_for(rows, S);
    DeviceArray<Pair<T>> part((size_t)(rows * sp));
    launch(norm_split::pair_partials_kernel<T, norm_split::PairMode::channels>, grid_for(rows * sp, 1, 1, kMaxBlocks), norm_split::kBlock, 0,
           st, g, x, mean, rstd, (const T*)nullptr, rows, S, sp, norm_split::chunk_for(S, sp), norm_split::PairIndex{0, 0, C, groups},
           part.data());
    launch(norm_split::pair_finalize_kernel<T>, grid_for(C, kBlock, 1, kMaxBlocks), kBlock, 0, st, (const Pair<T>*)part.data(), N, C, sp,
           sum_g, sum_gx);
    return;
  }
  launch(channel_grads_kernel<T>, grid_for(C, 1, 1, kMaxBlocks), kBlock, 0, st, g, x, mean, rstd, N, C, S, groups, sum_g, sum_gx);
}

#define UAD_NORM_DISPATCH(op, dtype, shape_msg, ...)                                              \
  switch (dtype) {                                                                                \
    case DType::f32: {                                                                            \
      using T = float;                                                                            \
      __VA_ARGS__;                                                                                \
      return;                                                                                     \
    }                                                                                             \
    case DType::f64: {                                                                            \
      using T = double;                                                                           \
      __VA_ARGS__;                                                                                \
      return;                                                                                     \
    }                                                                                             \
    default: fail(op, ": expected f32 or f64, got ", dtype_name(dtype), " (", shape_msg, ")"); \
  }

template <class T> const T* cp(const void* p) { return static_cast<const T*>(p); }
template <class T> T* mp(void* p) { return static_cast<T*>(p); }

}  // namespace

void layer_norm_forward(DType dtype, const void* x, const void* weight, const void* bias, void* y, void* mean, void* rstd, int64_t R,
                        int64_t K, double eps, void* stream) {
  check(R >= 0 && K > 0, "cuda::layer_norm_forward: bad shape [", R, ",", K, "]");
  check(mean && rstd, "cuda::layer_norm_forward: mean and rstd buffers are required");
  if (R == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  UAD_NORM_DISPATCH("cuda::layer_norm_forward", dtype, shape_str({R, K}), {
    row_stats<T>(cp<T>(x), R, K, eps, mp<T>(mean), mp<T>(rstd), st);
    apply<T>(cp<T>(x), mp<T>(y), R * K, Index{K, R, 1, K}, cp<T>(mean), cp<T>(rstd), cp<T>(weight), cp<T>(bias), st);
  })
}

void layer_norm_backward(DType dtype, const void* g, const void* x, const void* mean, const void* rstd, const void* weight, int64_t R,
                         int64_t K, void* dx, void* dweight, void* dbias, void* stream) {
  check(R >= 0 && K > 0, "cuda::layer_norm_backward: bad shape [", R, ",", K, "]");
  auto st = static_cast<cudaStream_t>(stream);
  UAD_NORM_DISPATCH("cuda::layer_norm_backward", dtype, shape_str({R, K}), {
    if (dx && R > 0) row_backward<T>(cp<T>(g), cp<T>(x), cp<T>(mean), cp<T>(rstd), cp<T>(weight), R, K, 1, K, mp<T>(dx), st);
    if (dweight || dbias) column_grads<T>(cp<T>(g), cp<T>(x), cp<T>(mean), cp<T>(rstd), R, K, mp<T>(dweight), mp<T>(dbias), st);
  })
}

void group_norm_forward(DType dtype, const void* x, const void* weight, const void* bias, void* y, void* mean, void* rstd, int64_t N,
                        int64_t C, int64_t S, int64_t groups, double eps, void* stream) {
  check(N >= 0 && C > 0 && S > 0 && groups >= 1 && C % groups == 0, "cuda::group_norm_forward: ", C, " channels in ", groups,
        " groups, shape [", N, ",", C, ",", S, "]");
  check(mean && rstd, "cuda::group_norm_forward: mean and rstd buffers are required");
  if (N == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  const int64_t M = C / groups * S, rows = N * groups;
  UAD_NORM_DISPATCH("cuda::group_norm_forward", dtype, shape_str({N, C, S}), {
    row_stats<T>(cp<T>(x), rows, M, eps, mp<T>(mean), mp<T>(rstd), st);
    apply<T>(cp<T>(x), mp<T>(y), N * C * S, Index{M, rows, S, C}, cp<T>(mean), cp<T>(rstd), cp<T>(weight), cp<T>(bias), st);
  })
}

void group_norm_backward(DType dtype, const void* g, const void* x, const void* mean, const void* rstd, const void* weight, int64_t N,
                         int64_t C, int64_t S, int64_t groups, void* dx, void* dweight, void* dbias, void* stream) {
  check(N >= 0 && C > 0 && S > 0 && groups >= 1 && C % groups == 0, "cuda::group_norm_backward: ", C, " channels in ", groups,
        " groups, shape [", N, ",", C, ",", S, "]");
  auto st = static_cast<cudaStream_t>(stream);
  const int64_t M = C / groups * S, rows = N * groups;
  UAD_NORM_DISPATCH("cuda::group_norm_backward", dtype, shape_str({N, C, S}), {
    if (dx && N > 0) row_backward<T>(cp<T>(g), cp<T>(x), cp<T>(mean), cp<T>(rstd), cp<T>(weight), rows, M, S, C, mp<T>(dx), st);
    if (dweight || dbias) {
      DeviceArray<T> sg((size_t)C), sgx((size_t)C);
      channel_grads<T>(cp<T>(g), cp<T>(x), cp<T>(mean), cp<T>(rstd), N, C, S, groups, sg.data(), sgx.data(), st);
      if (dweight) UAD_CUDA_CHECK(cudaMemcpyAsync(dweight, sgx.data(), sizeof(T) * C, cudaMemcpyDeviceToDevice, st));
      if (dbias) UAD_CUDA_CHECK(cudaMemcpyAsync(dbias, sg.data(), sizeof(T) * C, cudaMemcpyDeviceToDevice, st));
      UAD_CUDA_CHECK(cudaStreamSynchronize(st));  // before the temporaries are freed
    }
  })
}

void batch_norm_forward_train(DType dtype, const void* x, const void* weight, const void* bias, void* y, void* mean, void* rstd,
                              void* running_mean, void* running_var, int64_t N, int64_t C, int64_t S, double momentum, double eps,
                              void* stream) {
  check(N >= 0 && C > 0 && S >= 0, "cuda::batch_norm_forward_train: bad shape [", N, ",", C, ",", S, "]");
  check(N * S > 1, "cuda::batch_norm_forward_train: expected more than 1 value per channel, got shape [", N, ",", C, ",", S, "]");
  check(mean && rstd, "cuda::batch_norm_forward_train: mean and rstd buffers are required");
  auto st = static_cast<cudaStream_t>(stream);
  UAD_NORM_DISPATCH("cuda::batch_norm_forward_train", dtype, shape_str({N, C, S}), {
    batch_stats<T>(cp<T>(x), N, C, S, eps, mp<T>(mean), mp<T>(rstd), mp<T>(running_mean), mp<T>(running_var), momentum, st);
    apply<T>(cp<T>(x), mp<T>(y), N * C * S, Index{S, C, S, C}, cp<T>(mean), cp<T>(rstd), cp<T>(weight), cp<T>(bias), st);
  })
}

void batch_norm_forward_eval(DType dtype, const void* x, const void* weight, const void* bias, const void* running_mean,
                             const void* running_var, void* y, void* rstd, int64_t N, int64_t C, int64_t S, double eps, void* stream) {
  check(N >= 0 && C > 0 && S >= 0, "cuda::batch_norm_forward_eval: bad shape [", N, ",", C, ",", S, "]");
  check(running_mean && running_var, "cuda::batch_norm_forward_eval: running statistics are required");
  auto st = static_cast<cudaStream_t>(stream);
  UAD_NORM_DISPATCH("cuda::batch_norm_forward_eval", dtype, shape_str({N, C, S}), {
    if (N * S > 0)
      launch(eval_apply_kernel<T>, grid_for(N * C * S, kBlock, 1, kMaxBlocks), kBlock, 0, st, cp<T>(x), mp<T>(y), N * C * S, S, C,
             cp<T>(running_mean), cp<T>(running_var), cp<T>(weight), cp<T>(bias), (T)eps);
    if (rstd) launch(eval_rstd_kernel<T>, grid_for(C, kBlock, 1, kMaxBlocks), kBlock, 0, st, cp<T>(running_var), mp<T>(rstd), C, (T)eps);
  })
}

void batch_norm_backward(DType dtype, const void* g, const void* x, const void* weight, const void* mean, const void* rstd, int64_t N,
                         int64_t C, int64_t S, bool training, void* dx, void* dweight, void* dbias, void* stream) {
  check(N >= 0 && C > 0 && S >= 0, "cuda::batch_norm_backward: bad shape [", N, ",", C, ",", S, "]");
  auto st = static_cast<cudaStream_t>(stream);
  UAD_NORM_DISPATCH("cuda::batch_norm_backward", dtype, shape_str({N, C, S}), {
    DeviceArray<T> sg((size_t)C), sgx((size_t)C);
    channel_grads<T>(cp<T>(g), cp<T>(x), cp<T>(mean), cp<T>(rstd), N, C, S, 0, sg.data(), sgx.data(), st);
    if (dx && N * S > 0)
      launch(batch_dx_kernel<T>, grid_for(N * C * S, kBlock, 1, kMaxBlocks), kBlock, 0, st, cp<T>(g), cp<T>(x), cp<T>(mean), cp<T>(rstd),
             cp<T>(weight), cp<T>(sg.data()), cp<T>(sgx.data()), N * C * S, S, C, (T)(N * S), training, mp<T>(dx));
    if (dweight) UAD_CUDA_CHECK(cudaMemcpyAsync(dweight, sgx.data(), sizeof(T) * C, cudaMemcpyDeviceToDevice, st));
    if (dbias) UAD_CUDA_CHECK(cudaMemcpyAsync(dbias, sg.data(), sizeof(T) * C, cudaMemcpyDeviceToDevice, st));
    UAD_CUDA_CHECK(cudaStreamSynchronize(st));  // before the temporaries are freed
  })
}

}  // namespace uad::cuda
