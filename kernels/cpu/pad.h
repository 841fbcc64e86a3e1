// CPU copy kernels for padding and concatenation.
//
// Replicate padding works on contiguous [P,D,H,W] planes (P = product of the unpadded leading
// dims; fewer than three padded dims are unit D/H with zero pads), multithreaded over
// (plane, output depth) slices forward and over planes for the adjoint.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace uad::cpu {

/// Replicate (edge) padding, PyTorch F.pad(mode='replicate'): out[p,d,h,w] =
/// x[p, clamp(d − lo[0], 0, D−1), clamp(h − lo[1], 0, H−1), clamp(w − lo[2], 0, W−1)].
/// x: [P,D,H,W] contiguous; lo, hi ≥ 0 per (D,H,W) → [P, D+lo0+hi0, H+lo1+hi1, W+lo2+hi2].
Tensor pad_replicate_forward(const Tensor& x, const int64_t lo[3], const int64_t hi[3]);

/// The adjoint of pad_replicate_forward: every g cell added into the input cell it was copied
/// from. g: [P,OD,OH,OW] contiguous; in = {D,H,W} → [P,D,H,W].
Tensor pad_replicate_backward(const Tensor& g, const Shape& in, const int64_t lo[3]);

/// Zero (constant 0) padding with possibly negative pads, any number of dims: out has shape
/// `out_shape`, x's cells at index i land at i + lo (per dim) when inside out, the rest is 0.
/// x: any strides; lo: one entry per dim of x.
Tensor pad_zero_forward(const Tensor& x, const Shape& out_shape, const Shape& lo);

/// Concatenation along dim of tensors of equal dtype whose other dims match (checked by the
/// caller), written into a new contiguous tensor of shape out_shape.
Tensor cat_forward(const std::vector<Tensor>& xs, int64_t dim, const Shape& out_shape);

}  // namespace uad::cpu
