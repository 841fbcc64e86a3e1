// Reductions over dimensions. `dims` may hold negative indices; an empty `dims` reduces all.
// f32 sums accumulate in f64 in a fixed order (deterministic for a given thread count).
#pragma once
#include "tensor/tensor.h"

namespace uad {

/// Σ over dims. x: any shape → the shape with dims removed (or kept as 1 with keepdim).
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Arithmetic mean over dims.
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Maximum over dims. The gradient is split evenly among tied maxima (PyTorch's amax).
Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Minimum over dims (gradient as amax).
Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Variance over dims: Σ(x−mean)²/(n−correction); correction 1 = unbiased (PyTorch default),
/// 0 = biased (what the norms use).
Tensor var(const Tensor& x, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
/// p-norm (Σ|x|^p)^(1/p) over dims, p > 0. p = 2 is sqrt(Σx²).
Tensor norm(const Tensor& x, double p = 2.0, const Shape& dims = {}, bool keepdim = false);
/// Sums g down to `shape` (the reverse of broadcasting); used by every broadcasting vjp.
/// Throws when g cannot be reduced to shape.
Tensor sum_to(const Tensor& g, const Shape& shape);

/// Normalises dims against rank nd (negatives, duplicates); empty → all dims. Throws naming op.
Shape normalize_dims(const Shape& dims, int64_t nd, const char* op);

}  // namespace uad
