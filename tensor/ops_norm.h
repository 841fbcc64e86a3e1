// Ops: normalisation layers and dropout.
//
// All four normalisations compute x̂ = (x − μ)/sqrt(σ² + eps) with the biased variance σ² of
// their statistics group, then y = x̂·weight + bias. Forward and first-order backward are fused
// kernels — CPU: kernels/cpu/norm.h, statistics accumulated in double; CUDA: kernels/cuda/norm.cu,
// Welford in the storage dtype, deterministic — and under create_graph the
// vjp is the same formula in differentiable ops, so gradients of gradients work (WGAN-GP).
// Inputs are f32 or f64 (any strides); weight/bias/running buffers must have the input's dtype
// (running buffers of batch_norm training may be f32 or f64). Errors throw uad::Error naming the
// op and the shapes.
#pragma once
#include "tensor/generator.h"
#include "tensor/tensor.h"

namespace uad {

/// Batch normalisation over all dims but 1 (Ioffe & Szegedy 2015; PyTorch F.batch_norm).
/// x: [N,C,*] (at least 2 dims); weight, bias, running_mean, running_var: [C] (any may be
/// undefined; running buffers contiguous). training: normalise with the batch's biased
/// statistics over (N,*) and update the running buffers in place (not recorded):
/// r ← (1−momentum)·r + momentum·stat, the running variance taking the unbiased variance
/// (PyTorch's convention); eval: y = (x − running_mean)/sqrt(running_var + eps)·weight + bias.
/// Throws: a parameter of the wrong shape/dtype; training with one value per channel
/// (N·∏* == 1); eval without running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
/// Layer normalisation over the trailing `normalized_ndim` dims (Ba et al. 2016; PyTorch
/// F.layer_norm with normalized_shape = the trailing dims). x: [*, D1..Dk] with
/// k = normalized_ndim ∈ [1, x.dim()]; weight, bias: [D1..Dk] (elementwise affine) or undefined.
/// Throws for k out of range or parameters not of the trailing shape.
Tensor layer_norm(const Tensor& x, int64_t normalized_ndim, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
/// Instance normalisation (Ulyanov et al. 2016; PyTorch F.instance_norm without running stats):
/// per sample and channel over the spatial dims. x: [N,C,*] with at least one spatial dim and
/// more than one spatial element; weight, bias: [C] or undefined.
Tensor instance_norm(const Tensor& x, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), double eps = 1e-5);
/// Group normalisation (Wu & He 2018; PyTorch F.group_norm): x: [N,C,*], C split into `groups`
/// consecutive channel groups, statistics per (sample, group); weight, bias: [C] or undefined.
/// groups == C is instance norm; groups == 1 normalises over (C,*). Throws when C % groups != 0.
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
/// Inverted dropout (Srivastava et al. 2014; PyTorch F.dropout): zeroes each element with
/// probability p and scales the rest by 1/(1−p). The keep mask is uad::bernoulli(1−p) on g's
/// Philox stream (same seed and offset → same mask; g advances by ceil(numel/4) blocks); it is
/// a constant in the vjp (dx = g·mask). Returns x itself when !training or p == 0; p == 1 gives
/// zeros. x: any shape, f32/f64. Throws for p outside [0,1].
Tensor dropout(const Tensor& x, double p, bool training, Generator& g = default_generator());

/// The normalisation formula as composed differentiable ops (mean, sub, square, sqrt, mul): x
/// viewed as `view` (same numel) is normalised over `dims` of the view with the biased variance,
/// x̂ = (x − mean)/sqrt(var + eps), then scaled by weight and shifted by bias reshaped to
/// `param_view` (either may be undefined). Returns x's shape. The fused ops above compute the
/// same values; their vjps use this formula's derivative under create_graph. Exposed for tests
/// and benchmarks (e.g. layer_norm over the last dim of [R,K] is view {R,K}, dims {1},
/// param_view {1,K}). Throws when view does not match x.
Tensor normalize_composed(const Tensor& x, const Shape& view, const Shape& dims, const Tensor& weight, const Tensor& bias,
                          const Shape& param_view, double eps = 1e-5);

}  // namespace uad
