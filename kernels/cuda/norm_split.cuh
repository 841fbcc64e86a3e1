// Split-row reductions of kernels/cuda/norm.cu (version 2): when rows are few and long (group or
// instance norm of 3-D volumes, batch norm with a large spatial size), one block per row would
// leave most SMs idle, so each row is cut into `splits` chunks reduced by separate blocks into
// partials (Welford moments or pairs of sums), and a second kernel merges each statistic's
// partials sequentially in a fixed order. The split count depends on the sizes only (never on the
// device), so results stay bitwise reproducible. Device code + launch helpers; included by
// norm.cu only, after kernels/cuda/launch.cuh.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/block_ops.cuh"
#include "kernels/cuda/launch.cuh"

namespace uad::cuda::norm_split {

constexpr int kBlock = 256;
constexpr int64_t kChunkMin = 4096;      // elements per block at least (16 per thread)
constexpr int64_t kTargetBlocks = 1024;  // ~8 resident blocks on each of ~130 SMs
constexpr unsigned kMaxBlocks = 16384;

/// Blocks per row for `rows` rows of S elements: enough to fill the GPU, none with less than
/// kChunkMin elements.
inline int64_t splits_for(int64_t rows, int64_t S) {
  const int64_t by_size = (S + kChunkMin - 1) / kChunkMin;
  const int64_t by_fill = (kTargetBlocks + rows - 1) / std::max<int64_t>(rows, 1);
  return std::max<int64_t>(1, std::min(by_size, by_fill));
}
inline int64_t chunk_for(int64_t S, int64_t splits) { return (S + splits - 1) / splits; }

/// partial[r·splits + sp] = Welford moments of x[r·S + k], k ∈ [sp·chunk, min(S, (sp+1)·chunk)).
template <class T>
__global__ void __launch_bounds__(kBlock) welford_partials_kernel(const T* __restrict__ x, int64_t rows, int64_t S, int64_t splits, int64_t chunk,
                                                                  Welford<T>* __restrict__ partial) {
  const int64_t tasks = rows * splits;
  for (int64_t t = blockIdx.x; t < tasks; t += gridDim.x) {  // uniform over the block: barrier-safe
    const int64_t r = t / splits, b = (t - r * splits) * chunk, e = b + chunk < S ? b + chunk : S;
    const T* xr = x + r * S;
    Welford<T> w{T(0), T(0), T(0)};
    for (int64_t k = b + threadIdx.x; k < e; k += kBlock) welford_add(w, xr[k]);
    w = welford_block_all<kBlock>(w);
    if (threadIdx.x == 0) partial[t] = w;
  }
}

/// Statistic g of rows laid out as [A, G, S]: merges partial[(a·G + g)·splits + sp] for a < A,
/// sp < splits in that order; writes mean, rstd and (when non-null) the running buffers
/// (r ← (1−m)·r + m·stat, unbiased variance over `count` values).
template <class T>
__global__ void __launch_bounds__(kBlock) welford_finalize_kernel(const Welford<T>* __restrict__ partial, int64_t A, int64_t G, int64_t splits,
                                                                  T eps, T* __restrict__ mean, T* __restrict__ rstd, T* running_mean,
                                                                  T* running_var, double momentum, int64_t count) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; g < G; g += step) {
    Welford<T> m{T(0), T(0), T(0)};
    for (int64_t a = 0; a < A; ++a)
      for (int64_t sp = 0; sp < splits; ++sp) m = welford_merge(m, partial[(a * G + g) * splits + sp]);
    mean[g] = m.mean;
    rstd[g] = T(1) / std::sqrt(m.m2 / m.n + eps);
    if (running_mean) running_mean[g] = (T)((1.0 - momentum) * (double)running_mean[g] + momentum * (double)m.mean);
    if (running_var) running_var[g] = (T)((1.0 - momentum) * (double)running_var[g] + momentum * (double)m.m2 / (double)(count - 1));
  }
}

/// What a pair partial sums over row r, element k (x, g at r·S + k):
///  ROWS (layer/group dx): (g·w, g·w·(x − mean[r])), w[((r·S + k) / PS) % PC] (w may be null);
///  CHANNELS (dw/db of group/batch norm, r = n·C + c): (g, g·(x − mean[st])·rstd[st]) with
///    st = c (groups == 0, batch norm) or n·groups + c/(C/groups).
enum class PairMode { rows, channels };
struct PairIndex {
  int64_t PS, PC;     // ROWS: parameter run and count
  int64_t C, groups;  // CHANNELS
};

template <class T, PairMode MODE>
__global__ void __launch_bounds__(kBlock) pair_partials_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                                               const T* __restrict__ rstd, const T* w, int64_t rows, int64_t S, int64_t splits,
                                                               int64_t chunk, PairIndex ix, Pair<T>* __restrict__ partial) {
  const int64_t tasks = rows * splits;
  for (int64_t t = blockIdx.x; t < tasks; t += gridDim.x) {
    const int64_t r = t / splits, b = (t - r * splits) * chunk, e = b + chunk < S ? b + chunk : S;
    const T* gr = g + r * S;
    const T* xr = x + r * S;
    Pair<T> p{T(0), T(0)};
    if (MODE == PairMode::rows) {
      const T m = mean[r];
      for (int64_t k = b + threadIdx.x; k < e; k += kBlock) {
        const T gw = w ? gr[k] * w[((r * S + k) / ix.PS) % ix.PC] : gr[k];
        p.a += gw;
        p.b += gw * (xr[k] - m);
      }
    } else {
      const int64_t n = r / ix.C, c = r - n * ix.C;
      const int64_t st = ix.groups == 0 ? c : n * ix.groups + c / (ix.C / ix.groups);
      const T m = mean[st], rs = rstd[st];
      for (int64_t k = b + threadIdx.x; k < e; k += kBlock) {
        const T gv = gr[k];
        p.a += gv;
        p.b += gv * (xr[k] - m) * rs;
      }
    }
    p = block_sum_pair_all<kBlock>(p);
    if (threadIdx.x == 0) partial[t] = p;
  }
}

/// Sum of the pair partials of [A, G, splits] per g, in order: out_a[g], out_b[g] = Σ_a Σ_sp
/// (either output may be null).
template <class T>
__global__ void __launch_bounds__(kBlock) pair_finalize_kernel(const Pair<T>* __restrict__ partial, int64_t A, int64_t G, int64_t splits,
                                                               T* __restrict__ out_a, T* __restrict__ out_b) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; g < G; g += step) {
    Pair<T> s{T(0), T(0)};
    for (int64_t a = 0; a < A; ++a)
      for (int64_t sp = 0; sp < splits; ++sp) {
        const Pair<T> q = partial[(a * G + g) * splits + sp];
        s.a += q.a;
        s.b += q.b;
      }
    if (out_a) out_a[g] = s.a;
    if (out_b) out_b[g] = s.b;
  }
}

/// Layer/group norm dx from per-row sums sa = Σ g·w, sb = Σ g·w·(x − mean) over K elements:
/// dx = rstd·(g·w − sa/K − (x − mean)·rstd·(sb·rstd/K)), the fused v1 kernel's expression.
template <class T>
__global__ void __launch_bounds__(kBlock) rows_dx_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                                         const T* __restrict__ rstd, const T* w, const T* __restrict__ sa, const T* __restrict__ sb,
                                                         int64_t n, int64_t K, int64_t PS, int64_t PC, T* __restrict__ dx) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    const int64_t r = j / K;
    const T rs = rstd[r], m1 = sa[r] / T(K), m2 = sb[r] * rs / T(K);
    const T gw = w ? g[j] * w[(j / PS) % PC] : g[j];
    dx[j] = rs * (gw - m1 - (x[j] - mean[r]) * rs * m2);
  }
}

/// Layer norm dw/db partials: partial[rb·K + k] = Σ over rows [R·rb/nrb, R·(rb+1)/nrb) of
/// (g·(x − mean)·rstd, g); grid (ceil(K/256), nrb).
template <class T>
__global__ void __launch_bounds__(kBlock) column_partials_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                                                 const T* __restrict__ rstd, int64_t R, int64_t K, int64_t nrb,
                                                                 Pair<T>* __restrict__ partial) {
  const int64_t rb = blockIdx.y, r0 = R * rb / nrb, r1 = R * (rb + 1) / nrb, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < K; k += step) {
    Pair<T> p{T(0), T(0)};
    for (int64_t r = r0; r < r1; ++r) {
      const T gv = g[r * K + k];
      p.a += gv * (x[r * K + k] - mean[r]) * rstd[r];
      p.b += gv;
    }
    partial[rb * K + k] = p;
  }
}

/// Row blocks for the layer norm column sums: ~64 rows each, enough blocks to fill the GPU.
inline int64_t row_blocks_for(int64_t R, int64_t K) {
  const int64_t col_blocks = (K + kBlock - 1) / kBlock;
  const int64_t by_rows = (R + 63) / 64, by_fill = (kTargetBlocks + col_blocks - 1) / col_blocks;
  return std::max<int64_t>(1, std::min<int64_t>({by_rows, by_fill, 65535}));
}

}  // namespace uad::cuda::norm_split
