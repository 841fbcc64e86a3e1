// Index formulas of pooling, nearest and linear upsampling shared by the CPU and CUDA backends
// (one definition each; PyTorch 1.13 semantics).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/host_device.h"

namespace uad::fn {

/// Cells [lo, hi) of the pooling window of output index o along one dim of n cells: start =
/// o·s − p, end = min(start + k, n), start clipped to 0 (PyTorch AvgPoolKernel.cpp /
/// MaxPoolKernel.cpp, ceil_mode = False). Empty when hi ≤ lo.
UAD_HD inline void pool_window(int64_t o, int64_t k, int64_t s, int64_t p, int64_t n, int64_t& lo, int64_t& hi) {
  lo = o * s - p;
  hi = lo + k < n ? lo + k : n;
  lo = lo > 0 ? lo : 0;
}

/// Source index of output index dst for nearest resampling from n_in to n_out cells (PyTorch
/// nearest_idx): min(⌊dst·(n_in/n_out)⌋, n_in − 1) with the scale in f32; exact shortcuts for
/// n_out = n_in and n_out = 2·n_in.
UAD_HD inline int64_t nearest_source(int64_t dst, int64_t n_in, int64_t n_out) {
  if (n_out == n_in) return dst;
  if (n_out == 2 * n_in) return dst >> 1;
  const float scale = (float)n_in / (float)n_out;
  const int64_t i = (int64_t)std::floor((float)dst * scale);
  return i < n_in - 1 ? i : n_in - 1;
}

/// Source cells and weights of output index o for linear resampling from n_in to n_out cells
/// along one dim (PyTorch 1.13 UpSample.h area_pixel_compute_scale /
/// area_pixel_compute_source_index / guard_index_and_lambda): out[o] = l0·in[i0] + l1·in[i1].
/// The scale is (n_in−1)/(n_out−1) with align_corners (0 for n_out = 1), else n_in/n_out with the
/// half-pixel source (scale·(o + ½) − ½, clipped at 0, in double as PyTorch); n_in = n_out is the
/// identity.
template <class T>
UAD_HD inline void linear_source(int64_t o, int64_t n_in, int64_t n_out, bool align_corners, int64_t& i0, int64_t& i1, T& l0,
                                 T& l1) {
  if (n_in == n_out) {  // identity (PyTorch's compute_source_index_and_lambda shortcut)
    i0 = i1 = o;
    l0 = T(1);
    l1 = T(0);
    return;
  }
  T scale;
  if (align_corners) scale = n_out > 1 ? T(n_in - 1) / T(n_out - 1) : T(0);
  else scale = T(n_in) / T(n_out);
  T src;
  if (align_corners) {
    src = scale * T(o);
  } else {
    src = T((double)scale * ((double)o + 0.5) - 0.5);
    if (src < T(0)) src = T(0);
  }
  int64_t i = (int64_t)std::floor((double)src);
  if (i > n_in - 1) i = n_in - 1;
  T lambda = src - T(i);
  lambda = lambda < T(0) ? T(0) : lambda > T(1) ? T(1) : lambda;
  i0 = i;
  i1 = i + (i < n_in - 1 ? 1 : 0);
  l1 = lambda;
  l0 = T(1) - lambda;
}

}  // namespace uad::fn
