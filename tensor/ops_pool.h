// Ops: pooling and upsampling, 2-D ([N,C,H,W]) and 3-D ([N,C,D,H,W]). Kernel/stride/padding
// take one entry per spatial dim or a single entry for all.
//
// Semantics are PyTorch's (torch.nn.functional.avg_pool2d/3d with count_include_pad=True and
// ceil_mode=False, max_pool2d/3d, interpolate). Output extent of pooling per spatial dim:
// O = ⌊(S + 2p − k)/s⌋ + 1. Every op is differentiable to any order: the vjps are the linear
// "backward" ops declared below, and each backward op's own vjp is the forward op again
// (avg_pool ↔ avg_pool_backward, upsample ↔ upsample_*_backward, max-pool gather ↔ scatter with
// the argmax indices held constant). CPU (f32, f64; forward kernels multithreaded over N·C) and CUDA
// (kernels/cuda/pool.cu, upsample.cu, spatial.cu; f32, f64).
//
// Errors (uad::Error, naming the op and the shapes): wrong rank, non-floating dtype, a
// kernel/stride/padding list with neither 1 nor one-per-dim entries, kernel or stride < 1,
// padding < 0 or > kernel/2, an empty output, a size list of the wrong length.
#pragma once
#include <utility>

#include "tensor/tensor.h"

namespace uad {

/// Average pooling; padded cells count as zeros in the average (count_include_pad, PyTorch's
/// default). stride empty = kernel.
/// x: [N,C,H,W] (2d) / [N,C,D,H,W] (3d) → [N,C,OH,OW] / [N,C,OD,OH,OW].
Tensor avg_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0});
Tensor avg_pool3d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0});
/// Max pooling (padding is −∞). The gradient goes to the first maximum of each window (in
/// d, h, w scan order); NaN propagates as in PyTorch. Shapes as avg_pool2d/3d.
Tensor max_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0});
Tensor max_pool3d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0});

/// Max pooling that also returns the argmax of each window as an i32 tensor of the output's
/// shape holding the flat index d·H·W + h·W + w within the input's (n,c) plane (as PyTorch's
/// return_indices=True, but i32). The first element is differentiable like max_pool2d/3d.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Shape& kernel, const Shape& stride = {},
                                                  const Shape& padding = {0});
std::pair<Tensor, Tensor> max_pool3d_with_indices(const Tensor& x, const Shape& kernel, const Shape& stride = {},
                                                  const Shape& padding = {0});

/// Nearest-neighbour upsampling to `size` (one entry per spatial dim); source index
/// ⌊dst·in/out⌋ (PyTorch mode='nearest'). x: [N,C,W], [N,C,H,W] or [N,C,D,H,W]; any output size
/// ≥ 1 (down-sampling works too).
Tensor upsample_nearest(const Tensor& x, const Shape& size);
/// Bilinear (2-D) / trilinear (3-D) upsampling to `size` (PyTorch mode='bilinear'/'trilinear';
/// a 3-d input [N,C,W] is mode='linear'). Source coordinate per dim: align_corners →
/// dst·(in−1)/(out−1); else max((dst+½)·in/out − ½, 0) (PyTorch area_pixel_compute_source_index).
Tensor upsample_linear(const Tensor& x, const Shape& size, bool align_corners = false);

// ---- the backward ops (public so vjps stay differentiable; useful on their own) ------------

/// The vjp of avg_pool2d/3d: the adjoint linear map, g[o]/(∏k) added into every unpadded cell of
/// window o. g: the pooled shape; input_shape: [N,C,H,W] or [N,C,D,H,W] (selects 2-D or 3-D) →
/// input_shape. Its vjp is avg_pool2d/3d. Throws when g's shape is not the pooled input_shape.
Tensor avg_pool_backward(const Tensor& g, const Shape& input_shape, const Shape& kernel, const Shape& stride = {},
                         const Shape& padding = {0});

/// The vjp of max pooling: out[n,c,indices[n,c,o]] += g[n,c,o], zero elsewhere. g and indices
/// (i32, from max_pool*_with_indices) share the pooled shape [N,C,*O]; input_shape [N,C,*S].
/// Linear in g; its vjp is max_pool_gather with the same (constant) indices.
Tensor max_pool_backward(const Tensor& g, const Tensor& indices, const Shape& input_shape);
/// out[n,c,o] = x[n,c,indices[n,c,o]] (indices flat within each (n,c) plane, as above).
/// x: [N,C,*S]; indices i32 [N,C,*O] → [N,C,*O]. Its vjp is max_pool_backward.
Tensor max_pool_gather(const Tensor& x, const Tensor& indices);

/// The vjp of upsample_nearest: every g cell added into its source cell. g: [N,C,*size];
/// input_shape [N,C,*S] → input_shape. Its vjp is upsample_nearest(gg, size).
Tensor upsample_nearest_backward(const Tensor& g, const Shape& input_shape);
/// The vjp of upsample_linear: every g cell, times each interpolation weight, added into the
/// 2^dims source cells it was interpolated from. g: [N,C,*size]; input_shape [N,C,*S] →
/// input_shape. Its vjp is upsample_linear(gg, size, align_corners).
Tensor upsample_linear_backward(const Tensor& g, const Shape& input_shape, bool align_corners = false);

}  // namespace uad
