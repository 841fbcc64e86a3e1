// Ops: softmax family (numerically stable: the max is subtracted first).
#pragma once
#include "tensor/tensor.h"

namespace uad {

/// softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along dim.
Tensor softmax(const Tensor& x, int64_t dim);
/// log_softmax(x)_i = x_i − log Σ_j e^{x_j} along dim.
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace uad
