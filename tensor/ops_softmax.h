// Ops: softmax family (numerically stable: the max along dim is subtracted first).
// x: any shape, f32/f64, any strides; dim may be negative. The output has x's shape. Forward and
// first-order backward are fused kernels (kernels/cpu/softmax.h; f32 uses a vectorised Cephes
// exp, ≈1 ulp); under create_graph the vjp is written in ops (second order works). Throws
// uad::Error for a non-floating input or a dim out of range.
#pragma once
#include "tensor/tensor.h"

namespace uad {

/// softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along dim (PyTorch F.softmax). vjp: y·(g − Σ g·y).
/// An entry of −inf gets probability 0.
Tensor softmax(const Tensor& x, int64_t dim);
/// log_softmax(x)_i = x_i − log Σ_j e^{x_j} along dim (PyTorch F.log_softmax).
/// vjp: g − e^y·Σ g.
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace uad
