// Ops: pooling and upsampling, 2-D ([N,C,H,W]) and 3-D ([N,C,D,H,W]). Kernel/stride/padding
// take one entry per spatial dim or a single entry for all.
#pragma once
#include "tensor/tensor.h"

namespace uad {

/// Average pooling; padded cells count as zeros in the average (count_include_pad, PyTorch's
/// default). stride empty = kernel.
Tensor avg_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0});
Tensor avg_pool3d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0});
/// Max pooling (padding is −∞). The gradient goes to the first maximum of each window.
Tensor max_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0});
Tensor max_pool3d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0});

/// Nearest-neighbour upsampling to `size` (one entry per spatial dim); source index
/// ⌊dst·in/out⌋ (PyTorch mode='nearest').
Tensor upsample_nearest(const Tensor& x, const Shape& size);
/// Bilinear (2-D) / trilinear (3-D) upsampling to `size` (PyTorch mode='bilinear'/'trilinear').
Tensor upsample_linear(const Tensor& x, const Shape& size, bool align_corners = false);

}  // namespace uad
