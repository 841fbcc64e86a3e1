// Constrained AE of the unified family (models/unified.h).
#include "models/unified.h"
#include "tensor/ops.h"

namespace uad::models {

ConstrainedAE::ConstrainedAE(const UnifiedConfig& cfg, Generator& g, double rho)
    : UnifiedAE(cfg, /*spatial=*/false, g), rho_(rho) {
  check(rho >= 0, "ConstrainedAE: rho must be non-negative, got ", rho);
}

LossTerms ConstrainedAE::loss(const Tensor& x) {
  Tensor z = encode(x);
  Tensor x_hat = decode(z);
  Tensor z_rec = encode(x_hat);  // the same encoder, 1×1 conv, Linear and dropout ([SD])
  // Every sample has the same number of pixels (latents), so the batch mean of the per-sample
  // means is the mean over all elements ([SD] trainers/ConstrainedAE.py: reduce_mean over
  // [1,2,3] resp. [1], then over the batch). Gradients flow through both z and z_rec.
  Tensor mse = mse_loss(x_hat, x, Reduction::mean);
  Tensor mse_z = mse_loss(z, z_rec, Reduction::mean);
  return {mse + mse_z * rho_, {{"mse", mse}, {"mse_z", mse_z}}};
}

}  // namespace uad::models
