// Ops: convolution as three ops closed under differentiation (DESIGN.md §3; PyTorch's
// _convolution_double_backward): conv, conv_backward_input (a transposed conv) and
// conv_backward_weight. The vjp of each is written with the other two, so gradients of gradients
// (the WGAN-GP critic) need no special kernel. Transposed convolution is the same three ops with
// roles swapped. Spatial rank 2 ([N,C,H,W]) or 3 ([N,C,D,H,W]); cross-correlation as in PyTorch.
// CPU kernels: oneDNN (f32) or im2col + OpenBLAS (f32, f64), chosen per op by measurement; the
// environment variable UAD_CONV_BACKEND=auto|dnnl|im2col forces one (kernels/cpu/conv.h).
// CUDA tensors: cuDNN (kernels/cuda/dnn.h), f32 only (an f64 device convolution throws).
// All ops accept f32 or f64 (equal dtypes) and non-contiguous inputs (copied), and throw
// uad::Error naming the op and the shapes on a rank, channel, dtype or size mismatch.
#pragma once
#include "tensor/tensor.h"

namespace uad {

/// Geometry of a convolution. Each field has one entry per spatial dim, or a single entry that
/// applies to all of them (normalised by the ops).
struct ConvParams {
  Shape stride{1};
  Shape padding{0};   // zero padding on both sides, voxels
  Shape dilation{1};
};

/// y = x ⋆ w. x: [N,Cin,*S]; w: [Cout,Cin,*K] → [N,Cout,*O], O = ⌊(S + 2p − d(K−1) − 1)/s⌋ + 1.
/// Throws uad::Error naming the shapes on a channel or rank mismatch, or an empty output.
Tensor conv(const Tensor& x, const Tensor& w, const ConvParams& p);

/// ∂(Σ conv(x,w)·gy)/∂x: gy: [N,Cout,*O]; w: [Cout,Cin,*K] → input_shape [N,Cin,*S].
/// gy must have the conv output shape of input_shape (throws otherwise). Input voxels outside
/// every window (S + 2p − d(K−1) − 1 not a multiple of s) get 0. vjp: (conv(gg,w), bw(gg,gy)).
Tensor conv_backward_input(const Tensor& gy, const Tensor& w, const Shape& input_shape, const ConvParams& p);

/// ∂(Σ conv(x,w)·gy)/∂w: x: [N,Cin,*S]; gy: [N,Cout,*O] → weight_shape [Cout,Cin,*K].
/// vjp: (conv_backward_input(gy,gg), conv(x,gg)).
Tensor conv_backward_weight(const Tensor& x, const Tensor& gy, const Shape& weight_shape, const ConvParams& p);

/// 2-D convolution with bias. x: [N,Cin,H,W]; w: [Cout,Cin,kH,kW]; b: [Cout] or undefined.
/// The bias is added by the conv kernel itself (no extra pass or tensor); the recorded node has
/// inputs (x, w, b) and the bias gradient Σ_{n,h,w} gy (an op, so second order still works).
/// The same holds for conv3d and for the transposed convolutions' bias.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(), const Shape& stride = {1},
              const Shape& padding = {0}, const Shape& dilation = {1});
/// 3-D convolution with bias. x: [N,Cin,D,H,W]; w: [Cout,Cin,kD,kH,kW]; b: [Cout] or undefined.
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(), const Shape& stride = {1},
              const Shape& padding = {0}, const Shape& dilation = {1});

/// 2-D transposed convolution (PyTorch ConvTranspose2d). x: [N,Cin,H,W]; w: [Cin,Cout,kH,kW];
/// b: [Cout] or undefined → [N,Cout,Ho,Wo], Ho = (H−1)s − 2p + d(k−1) + output_padding + 1.
/// Computed as conv_backward_input(x, w, [N,Cout,Ho,Wo]) + b. output_padding must be in [0, s)
/// (PyTorch also allows s ≤ output_padding < d, which this engine rejects).
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(), const Shape& stride = {1},
                        const Shape& padding = {0}, const Shape& output_padding = {0}, const Shape& dilation = {1});
/// 3-D transposed convolution. x: [N,Cin,D,H,W]; w: [Cin,Cout,kD,kH,kW].
Tensor conv_transpose3d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(), const Shape& stride = {1},
                        const Shape& padding = {0}, const Shape& output_padding = {0}, const Shape& dilation = {1});

}  // namespace uad
