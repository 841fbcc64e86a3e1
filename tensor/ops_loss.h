// Ops: losses. Each computes an elementwise loss and reduces it per `Reduction`.
// Inputs are f32/f64 tensors of one dtype. l1/mse/bce/kl take operands of identical shapes
// (a mismatch throws uad::Error naming both shapes, where PyTorch would broadcast with a
// warning); gaussian_nll's logvar broadcasts against x. All are differentiable to any order
// (composed from ops; bce_with_logits has a fused forward with an ops vjp).
#pragma once
#include "tensor/tensor.h"

namespace uad {

/// none: elementwise; mean: over all elements; sum: over all elements; batch_mean: summed over
/// all elements of each sample, averaged over dim 0 (the "L1 summed over pixels, averaged over
/// the batch" of domain_spec §1.1).
enum class Reduction { none, mean, sum, batch_mean };

/// Applies a reduction to an elementwise loss tensor [N,*]. none returns l itself; mean/sum/
/// batch_mean return a 0-d tensor. Throws: mean of an empty tensor; batch_mean of a 0-d tensor.
Tensor reduce_loss(const Tensor& l, Reduction r);
/// |x − y| (PyTorch F.l1_loss). The gradient at x == y is 0 (sign(0) = 0, as PyTorch).
Tensor l1_loss(const Tensor& x, const Tensor& y, Reduction r = Reduction::mean);
/// (x − y)² (PyTorch F.mse_loss).
Tensor mse_loss(const Tensor& x, const Tensor& y, Reduction r = Reduction::mean);
/// Binary cross-entropy on logits z with targets t ∈ [0,1]: max(z,0) − z·t + log(1 + e^{−|z|})
/// (PyTorch F.binary_cross_entropy_with_logits, no weights): stable for any |z|. ∂/∂z = σ(z) − t.
Tensor bce_with_logits(const Tensor& z, const Tensor& t, Reduction r = Reduction::mean);
/// KL(N(μ, e^{logvar}) ‖ N(0, I)) = ½ Σ (μ² + e^{logvar} − logvar − 1) (Kingma & Welling 2014,
/// App. B), elementwise before the reduction. mu, logvar: the same shape, e.g. [N, latent].
Tensor kl_normal_std(const Tensor& mu, const Tensor& logvar, Reduction r = Reduction::batch_mean);
/// KL(N(μ₁, e^{lv₁}) ‖ N(μ₂, e^{lv₂})) = ½ (lv₂ − lv₁ + (e^{lv₁} + (μ₁−μ₂)²)/e^{lv₂} − 1), elementwise
/// (computed as e^{lv₁−lv₂} and (μ₁−μ₂)²·e^{−lv₂}, without overflow). mu1/logvar1 and mu2/logvar2
/// pairwise of the same shape.
Tensor kl_normal(const Tensor& mu1, const Tensor& logvar1, const Tensor& mu2, const Tensor& logvar2,
                 Reduction r = Reduction::batch_mean);
/// Gaussian negative log-likelihood ½(logvar + (x−μ)²/e^{logvar}) [+ ½ log 2π when full]
/// (PyTorch F.gaussian_nll_loss parameterised by the log-variance, without its eps clamp).
/// x, mu: the same shape; logvar broadcasts against them.
Tensor gaussian_nll(const Tensor& x, const Tensor& mu, const Tensor& logvar, Reduction r = Reduction::mean,
                    bool full = false);

}  // namespace uad
