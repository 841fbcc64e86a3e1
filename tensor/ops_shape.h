// Ops: padding, concatenation, stacking, splitting.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace uad {

enum class PadMode { zero, replicate };

/// Pads the trailing dims: pads = {last_lo, last_hi, second_last_lo, second_last_hi, ...}
/// (torch.nn.functional.pad order). Zero mode may take negative pads (cropping).
Tensor pad(const Tensor& x, const Shape& pads, PadMode mode = PadMode::zero);
/// Concatenates along dim; all other dims must match (throws naming the shapes).
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
/// Stacks equal-shaped tensors along a new dim.
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
/// Splits along dim into pieces of the given sizes (must add up to the dim's size). Views.
std::vector<Tensor> split(const Tensor& x, const Shape& sizes, int64_t dim);

}  // namespace uad
