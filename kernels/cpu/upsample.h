// CPU kernels for nearest and (bi/tri)linear upsampling, and their adjoints (PyTorch
// F.interpolate semantics, UpSample.h of PyTorch 1.13).
//
// Tensors are contiguous [P,D,H,W] planes, P = N·C; 1-D and 2-D resampling are the cases with
// unit D (and H) on both sides. Forward kernels run in parallel over (plane, output depth)
// slices, the adjoint (scatter) kernels in parallel over planes.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace uad::cpu {

/// Source index of output index `dst` for nearest resampling from n_in to n_out cells
/// (PyTorch nearest_idx): min(⌊dst·(n_in/n_out)⌋, n_in − 1) with the scale in f32, exact for
/// n_out = n_in and n_out = 2·n_in.
int64_t nearest_source(int64_t dst, int64_t n_in, int64_t n_out);

/// Linear interpolation coefficients along one dim: output o reads i0[o] with weight l0[o] and
/// i1[o] (= i0 + 1, or i0 at the last cell) with weight l1[o] = 1 − l0[o]. Source coordinate
/// (PyTorch area_pixel_compute_source_index): align_corners → o·(n_in−1)/(n_out−1) (0 when
/// n_out = 1); otherwise max((o + ½)·n_in/n_out − ½, 0). Weights are computed in T, as PyTorch.
template <class T> struct LinearCoeffs {
  std::vector<int64_t> i0, i1;
  std::vector<T> l0, l1;
};
template <class T> LinearCoeffs<T> linear_coeffs(int64_t n_in, int64_t n_out, bool align_corners);

/// y[p,d,h,w] = x[p, src(d), src(h), src(w)]. x: [P,D,H,W] → [P,out[0],out[1],out[2]].
Tensor upsample_nearest_forward(const Tensor& x, const Shape& out);
/// The adjoint: g[p,o] added into cell src(o). g: [P,OD,OH,OW]; in = {D,H,W} → [P,D,H,W].
Tensor upsample_nearest_backward(const Tensor& g, const Shape& in);

/// Trilinear interpolation (bilinear / linear when D or H are 1 on both sides).
/// x: [P,D,H,W] → [P,out[0],out[1],out[2]].
Tensor upsample_linear_forward(const Tensor& x, const Shape& out, bool align_corners);
/// The adjoint: g[p,o]·(product of the three weights) added into each of o's 8 source cells.
/// g: [P,OD,OH,OW]; in = {D,H,W} → [P,D,H,W].
Tensor upsample_linear_backward(const Tensor& g, const Shape& in, bool align_corners);

}  // namespace uad::cpu
