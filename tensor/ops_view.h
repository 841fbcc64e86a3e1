// Views and copies. Views share storage (no data copied) and are differentiable.
#pragma once
#include "tensor/tensor.h"

namespace uad {

/// Same data in a new shape (one -1 entry is inferred). A view when x is contiguous, else a copy.
/// Throws when numel differs.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Reorders dimensions: out.shape[i] = x.shape[dims[i]]. A view.
Tensor permute(const Tensor& x, const Shape& dims);
/// Swaps two dimensions. A view.
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
/// Elements start, start+step, … < end along dim (end clipped to the size). A view.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
/// The vjp of slice: a zero tensor of `shape` with g written into the slice. Differentiable
/// (its own vjp is slice).
Tensor slice_backward(const Tensor& g, const Shape& shape, int64_t dim, int64_t start, int64_t end, int64_t step);
/// Broadcasts size-1 dims (and new leading dims) to `shape` with stride 0. A view.
Tensor expand(const Tensor& x, const Shape& shape);
/// Removes dim (must have size 1) / inserts a size-1 dim at position d.
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
/// Merges dims start..end into one.
Tensor flatten(const Tensor& x, int64_t start = 0, int64_t end = -1);
/// x itself when contiguous, else a contiguous copy.
Tensor contiguous(const Tensor& x);
/// A contiguous copy that keeps the autograd history.
Tensor clone(const Tensor& x);
/// dst ← src in place, elementwise with dtype conversion, no autograd recording: both on the CPU
/// (kernels/cpu cpu::copy_into) or both on cuda (the device's strided copy). dst may be any
/// non-self-overlapping view. Throws uad::Error for differing shapes or devices.
void copy_values(const Tensor& dst, const Tensor& src);
/// x on device `d`: x itself when already there, else a contiguous copy (host ↔ device through
/// the backend's pinned staging, tensor/backend.h). Differentiable for floating dtypes: the vjp
/// moves the gradient back. Throws uad::Error when the binary has no CUDA backend.
Tensor to_device(const Tensor& x, Device d);

}  // namespace uad
