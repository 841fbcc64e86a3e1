// Ops: padding, concatenation, stacking, splitting (PyTorch F.pad, torch.cat/stack/split).
// All differentiable to any order: zero pad's vjp is zero pad with negated pads (a crop), the
// replicate pad's vjp is pad_replicate_backward whose vjp is the replicate pad again, cat's vjp
// is slices, split returns slices (views). Every dtype for zero pad/cat/stack/split (gradients
// flow for f32/f64); replicate pad is f32/f64. CPU (copies multithreaded) and CUDA (kernels/cuda/shape.cu,
// spatial.cu).
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace uad {

enum class PadMode { zero, replicate };

/// Pads the trailing dims: pads = {last_lo, last_hi, second_last_lo, second_last_hi, ...}
/// (torch.nn.functional.pad order). Zero mode may take negative pads (cropping).
/// x: [..., S_k, ..., S_1] → [..., S_k + lo_k + hi_k, ..., S_1 + lo_1 + hi_1].
/// Zero mode: any number of padded dims ≤ x.dim(), every output size ≥ 0. Replicate mode
/// (edge values repeated, as mode='replicate'): 1 to 3 padded dims, pads ≥ 0, non-empty
/// padded dims. Throws uad::Error naming "pad", the shape and the pads otherwise (odd pad count,
/// more padded dims than x has, a negative output size).
Tensor pad(const Tensor& x, const Shape& pads, PadMode mode = PadMode::zero);
/// The vjp of replicate padding (its adjoint): each cell of g added into the input cell it was
/// copied from. g: the padded shape; input_shape: x's shape → input_shape. Its vjp is
/// pad(gg, pads, PadMode::replicate). Throws when g is not input_shape padded by pads.
Tensor pad_replicate_backward(const Tensor& g, const Shape& input_shape, const Shape& pads);
/// Concatenates along dim; all other dims must match (throws naming the shapes). Tensors must
/// share dtype and rank (≥ 1); dim may be negative. xs: k tensors [..., n_i, ...] → [..., Σn_i, ...].
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
/// Stacks equal-shaped tensors along a new dim (dim ∈ [−(r+1), r] for rank r): k tensors
/// [S] → [..., k, ...]. Throws naming the shapes when they differ or the list is empty.
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
/// Splits along dim into pieces of the given sizes (must add up to the dim's size). Views.
/// Throws naming "split", the sizes and the shape otherwise (or for a negative size).
std::vector<Tensor> split(const Tensor& x, const Shape& sizes, int64_t dim);

}  // namespace uad
