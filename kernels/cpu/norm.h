// Fused CPU kernels of the normalisations (batch, layer, instance and group norm).
//
// Every normalisation here is one of two layouts over a contiguous buffer:
//  - "segment statistics": x viewed as [A, G, S] with statistics per g over (A, S). Batch norm is
//    A = N, G = C, S = spatial; instance norm A = 1, G = N·C; group norm A = 1, G = N·groups,
//    S = (C/groups)·spatial; layer norm A = 1, G = rows, S = normalised size.
//  - "rows": x viewed as [R, S] with a per-row affine (the output and backward passes).
//
// Numerics: statistics are accumulated in double whatever the storage type, per fixed chunk of
// at most kNormChunk contiguous elements (a two-pass mean/M2 while the chunk sits in cache), and
// chunks are merged with Chan et al.'s pairwise update in a fixed order, so the result does not
// depend on the thread count. The variance is the biased one (divide by the count).
//
// Versions (llm.c habit): v1 = per-chunk two-pass + Chan merge, parallel over chunks (current).
#pragma once
#include <cstdint>

namespace uad::cpu {

/// Elements per statistics chunk (fits L1/L2 so the second pass is a cache hit).
constexpr int64_t kNormChunk = 4096;

/// Per-group mean, biased variance and rstd = 1/sqrt(var + eps) of x viewed as contiguous
/// [A, G, S], reducing A and S. mean, var, rstd: arrays of G (var may be null).
template <class T> void segment_stats(const T* x, int64_t A, int64_t G, int64_t S, double eps, double* mean, double* var,
                                      double* rstd);

/// y[r, s] = x[r, s]·scale[r] + shift[r] for contiguous [R, S].
template <class T> void rows_affine(const T* x, T* y, int64_t R, int64_t S, const double* scale, const double* shift);

/// Per-row Σ_s g[r,s] and Σ_s g[r,s]·(x[r,s] − shift[r]) in double for contiguous [R, S]
/// (shift may be null = 0; passing the row's mean avoids cancellation).
template <class T> void rows_grad_sums(const T* g, const T* x, int64_t R, int64_t S, const double* shift, double* sum_g,
                                       double* sum_gx);

/// dx[r, s] = a[r]·g[r, s] + b[r]·(x[r, s] − m[r]) + c[r] for contiguous [R, S]; b, m, c may be
/// null (0; with b null x is not read).
template <class T> void rows_axpby(const T* g, const T* x, T* dx, int64_t R, int64_t S, const double* a, const double* b,
                                   const double* m, const double* c);

/// Layer norm output: y[r, k] = (x[r, k] − mean[r])·rstd[r]·w[k] + b[k] for contiguous [R, K];
/// w and b may be null (1 and 0).
template <class T> void layer_norm_apply(const T* x, T* y, int64_t R, int64_t K, const double* mean, const double* rstd,
                                         const T* w, const T* b);

/// Layer norm first-order backward for contiguous [R, K] (PyTorch's LayerNormBackward formula):
///   dx = rstd·(g·w − mean_k(g·w) − x̂·mean_k(g·w·x̂)),  dw[k] = Σ_r g·x̂,  db[k] = Σ_r g,
/// with x̂ = (x − mean)·rstd. w may be null (1); dx, dw, db may be null (not computed).
template <class T> void layer_norm_backward(const T* g, const T* x, const double* mean, const double* rstd, const T* w,
                                            int64_t R, int64_t K, T* dx, T* dw, T* db);

/// Inverted dropout over n contiguous elements: keep element i where the Philox uniform of word
/// i (stream of `seed` from counter block `block0`, the layout of uad::bernoulli) is < keep_prob;
/// mask[i] = keep ? scale : 0 and y[i] = x[i]·mask[i].
template <class T> void dropout_forward(const T* x, T* y, T* mask, int64_t n, uint64_t seed, uint64_t block0, float keep_prob,
                                        T scale);

}  // namespace uad::cpu
