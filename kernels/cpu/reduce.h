// CPU reduction kernels (sum, max, min over a set of dims) for strided inputs.
#pragma once
#include "tensor/tensor.h"

namespace uad::cpu {

enum class ReduceKind { sum, max, min };

/// Reduces x over `dims` (normalised, ascending). The result has x's shape with the reduced dims
/// set to 1 (callers reshape for keepdim=false). f32 sums accumulate in f64.
Tensor reduce(const Tensor& x, const Shape& dims, ReduceKind kind);

}  // namespace uad::cpu
