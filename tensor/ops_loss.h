// Ops: losses. Each reduces per `Reduction`.
#pragma once
#include "tensor/tensor.h"

namespace uad {

/// none: elementwise; mean: over all elements; sum: over all elements; batch_mean: summed over
/// all elements of each sample, averaged over dim 0 (the "L1 summed over pixels, averaged over
/// the batch" of domain_spec §1.1).
enum class Reduction { none, mean, sum, batch_mean };

/// Applies a reduction to an elementwise loss tensor [N,*].
Tensor reduce_loss(const Tensor& l, Reduction r);
/// |x − y|.
Tensor l1_loss(const Tensor& x, const Tensor& y, Reduction r = Reduction::mean);
/// (x − y)².
Tensor mse_loss(const Tensor& x, const Tensor& y, Reduction r = Reduction::mean);
/// Binary cross-entropy on logits z with targets t ∈ [0,1]: max(z,0) − z·t + log(1 + e^{−|z|}).
Tensor bce_with_logits(const Tensor& z, const Tensor& t, Reduction r = Reduction::mean);
/// KL(N(μ, e^{logvar}) ‖ N(0, I)) = ½ Σ (μ² + e^{logvar} − logvar − 1) (Kingma & Welling 2014,
/// App. B), elementwise before the reduction.
Tensor kl_normal_std(const Tensor& mu, const Tensor& logvar, Reduction r = Reduction::batch_mean);
/// KL(N(μ₁, e^{lv₁}) ‖ N(μ₂, e^{lv₂})) = ½ (lv₂ − lv₁ + (e^{lv₁} + (μ₁−μ₂)²)/e^{lv₂} − 1), elementwise.
Tensor kl_normal(const Tensor& mu1, const Tensor& logvar1, const Tensor& mu2, const Tensor& logvar2,
                 Reduction r = Reduction::batch_mean);
/// Gaussian negative log-likelihood ½(logvar + (x−μ)²/e^{logvar}) [+ ½ log 2π when full].
Tensor gaussian_nll(const Tensor& x, const Tensor& mu, const Tensor& logvar, Reduction r = Reduction::mean,
                    bool full = false);

}  // namespace uad
