// VAE of the unified family (models/unified.h).
#include "tensor/ops.h"
#include "models/unified.h"

namespace uad::models {

UnifiedVAE::UnifiedVAE(const UnifiedConfig& cfg, Generator& g, double kl_weight) : UnifiedModel(cfg), kl_weight_(kl_weight) {
  check(kl_weight >= 0, "UnifiedVAE: kl_weight must be non-negative, got ", kl_weight);
  encoder_ = register_module("encoder", std::make_shared<UnifiedEncoder>(cfg_, g));
  bottleneck_ = register_module("bottleneck", std::make_shared<DenseBottleneck>(cfg_, /*variational=*/true, g));
  decoder_ = register_module("decoder", std::make_shared<UnifiedDecoder>(cfg_, g));
}

Posterior UnifiedVAE::encode(const Tensor& x) {
  check_input(x, "encode");
  Tensor f = bottleneck_->features((*encoder_)(x));
  Tensor mu = bottleneck_->head_z(f);
  return {mu, bottleneck_->head_log_sigma(f)};
}

Tensor UnifiedVAE::encode_mu(const Tensor& x) {
  check_input(x, "encode_mu");
  return bottleneck_->head_z(bottleneck_->features((*encoder_)(x)));
}

Tensor UnifiedVAE::sample(const Posterior& q) {
  Tensor eps = randn(q.mu.shape(), noise(), q.mu.dtype(), q.mu.device());
  return q.mu + eps * exp(q.log_sigma);  // z = μ + ε·σ (reparameterisation, Kingma & Welling 2014)
}

Tensor UnifiedVAE::decode(const Tensor& z) { return (*decoder_)(bottleneck_->decode(z)); }

Tensor UnifiedVAE::reconstruct(const Tensor& x) {
  Posterior q = encode(x);
  return decode(is_training() || mc_sampling_ ? sample(q) : q.mu);
}

Tensor UnifiedVAE::kl_term(const Posterior& q) {
  // ½Σ(μ² + σ² − log σ² − 1) with log σ² = 2·log σ ([SD] trainers/VAE.py), batch mean.
  return kl_normal_std(q.mu, q.log_sigma * 2.0, Reduction::batch_mean);
}

LossTerms UnifiedVAE::loss(const Tensor& x) {
  // The ELBO estimate always decodes a sample (also in eval mode, as [SD]'s validation loss).
  Posterior q = encode(x);
  Tensor l1 = l1_loss(decode(sample(q)), x, Reduction::batch_mean);
  Tensor kl = kl_term(q);
  return {l1 + kl * kl_weight_, {{"l1", l1}, {"kl", kl}}};
}

}  // namespace uad::models
