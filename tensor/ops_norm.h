// Ops: normalisation layers and dropout.
#pragma once
#include "tensor/generator.h"
#include "tensor/tensor.h"

namespace uad {

/// Batch normalisation over all dims but 1 (Ioffe & Szegedy 2015). x: [N,C,*]; weight, bias,
/// running_mean, running_var: [C] (any may be undefined). training: normalise with the batch's
/// biased statistics and update the running buffers in place (not recorded):
/// r ← (1−momentum)·r + momentum·stat, the running variance taking the unbiased variance
/// (PyTorch's convention); eval: use the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
/// Layer normalisation over the trailing `normalized_ndim` dims (Ba et al. 2016). weight, bias:
/// the trailing shape, or undefined.
Tensor layer_norm(const Tensor& x, int64_t normalized_ndim, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
/// Instance normalisation: per sample and channel over the spatial dims. x: [N,C,*]; weight,
/// bias: [C] or undefined.
Tensor instance_norm(const Tensor& x, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), double eps = 1e-5);
/// Group normalisation (Wu & He 2018): C split into `groups`; weight, bias: [C] or undefined.
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
/// Inverted dropout: zeroes each element with probability p (Philox bernoulli mask from g) and
/// scales the rest by 1/(1−p). Identity when !training or p == 0.
Tensor dropout(const Tensor& x, double p, bool training, Generator& g = default_generator());

}  // namespace uad
