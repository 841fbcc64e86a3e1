// CPU kernels for 2-D and 3-D average/max pooling (PyTorch semantics, ceil_mode=False).
//
// Every kernel works on contiguous tensors viewed as [P,D,H,W] planes, P = N·C; 2-D pooling is
// the D = 1 case with a unit window along D. Forward kernels run in parallel over (plane, output
// depth) slices; backward (scatter) kernels in parallel over planes, so no two threads write the
// same element. Callers (tensor/ops_pool.cpp) check shapes; these functions trust them.
#pragma once
#include <utility>

#include "tensor/tensor.h"

namespace uad::cpu {

/// A pooling window along (D,H,W): kernel size, stride and padding on both sides, in voxels.
struct PoolWindow {
  int64_t k[3] = {1, 1, 1};
  int64_t s[3] = {1, 1, 1};
  int64_t p[3] = {0, 0, 0};
};

/// Output extent along one dim: ⌊(n + 2p − k)/s⌋ + 1 (PyTorch pooling_output_shape, ceil_mode
/// False). Valid only when n + 2p ≥ k.
inline int64_t pool_out_size(int64_t n, int64_t k, int64_t s, int64_t p) { return (n + 2 * p - k) / s + 1; }

/// Average pooling with count_include_pad: y = Σ_window x / (kD·kH·kW), padded cells are zeros.
/// x: [P,D,H,W] contiguous → [P,OD,OH,OW].
Tensor avg_pool_forward(const Tensor& x, const PoolWindow& w);

/// The adjoint of avg_pool_forward: every g[o]/(kD·kH·kW) added to the (unpadded) cells of o's
/// window. g: [P,OD,OH,OW] contiguous; in = {P,D,H,W} → [P,D,H,W].
Tensor avg_pool_backward(const Tensor& g, const Shape& in, const PoolWindow& w);

/// Max pooling (padding is −∞, NaN propagates as in PyTorch). x: [P,D,H,W] contiguous →
/// {y [P,OD,OH,OW], argmax [P,OD,OH,OW] i32}; argmax is the flat index d·H·W + h·W + w of the
/// first maximum of each window within its plane (PyTorch's max_pool indices).
std::pair<Tensor, Tensor> max_pool_forward(const Tensor& x, const PoolWindow& w);

/// Scatter-add: out[p, idx[p,q]] += g[p,q]. g: [P,Q] any float contiguous, idx: [P,Q] i32
/// contiguous → [P,plane] (zero where nothing lands).
Tensor index_scatter_add(const Tensor& g, const Tensor& idx, int64_t plane);

/// Gather: y[p,q] = x[p, idx[p,q]]. x: [P,plane] contiguous, idx: [P,Q] i32 → [P,Q].
Tensor index_gather(const Tensor& x, const Tensor& idx);

}  // namespace uad::cpu
