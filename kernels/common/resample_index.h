// Index formulas of pooling and nearest upsampling shared by the CPU and CUDA backends (one
// definition each; PyTorch 1.13 semantics).
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

}  // namespace uad::fn
