// Anomaly maps, item 1 of issue 6: how a trained model turns a scan into a "reconstruction" x̂
// whose residual x − x̂ is the pixel-wise anomaly evidence (post-processed by eval/postprocess.h).
//
// Methods (003 §III.B and domain_spec §1.3):
//   residual     x̂ = reconstruct(x), one deterministic pass in eval mode (AE, VAE decoding μ,
//                f-AnoGAN's G(E(x)), ...).
//   monte_carlo  x̂ = mean of N stochastic reconstructions: dropout kept active at inference
//                (Bayesian AE, dropout 0.2) and, for a VAE, z sampled instead of μ (Bayesian
//                VAE, N = 100) — [SD] utils/Evaluation.py numMonteCarloSamples.
//   restoration  You et al. (003 §III.B "Latent Variable Models" 3; domain_spec §1.3): start from
//                x_r = x and take `steps` gradient steps
//                    x_r ← clamp(x_r − lr·∇_{x_r}[ L(x_r) + λ_TV·TV(x_r − x) ], 0, 1)
//                where L is the model's training loss per slice (the negative ELBO of a VAE:
//                L1sum + KL) and TV the anisotropic total variation Σ|∂_h| + Σ|∂_w| per slice —
//                the restored x_r stays close to x in the TV sense while moving towards the
//                learnt normal manifold; the clamp (a projected gradient step onto the
//                models' input range, our addition) keeps large steps from diverging. x̂ = x_r. Defaults: 500 steps (the paper; [SD]'s code
//                uses 150), lr 1e-3 ([SD]), λ_TV 0 (the code tunes it on validation data).
//   gradient     the Context VAE's map (Zimmerer et al.; domain_spec §1.3): a = |x − x̂| ⊙
//                |∂(L1sum + KL)/∂x|, reported as x̂ = x − f·a so that the residual is f·a
//                (f = gradient_factor, 1 by default: the residual is a itself).
// Slices without any brain voxel are not passed through the model: x̂ = x there (residual 0),
// as [SD] evaluates only slices that contain brain.
#pragma once
#include <cstdint>
#include <string>

#include "models/model.h"
#include "tensor/tensor.h"

namespace uad::eval {

enum class MapMethod { residual, monte_carlo, restoration, gradient };

/// "residual", "monte_carlo" (alias "mc"), "restoration", "gradient". Throws uad::Error listing
/// the valid names otherwise.
MapMethod parse_map_method(const std::string& name);
std::string map_method_name(MapMethod m);

struct MapOptions {
  MapMethod method = MapMethod::residual;
  int64_t batch = 16;             ///< slices per forward pass
  int mc_samples = 100;           ///< monte_carlo: N reconstructions averaged (≥ 2)
  int restoration_steps = 500;    ///< restoration: gradient steps (You et al.; [SD] code: 150)
  double restoration_lr = 1e-3;   ///< restoration: step size ([SD] VAE_You.py)
  double tv_weight = 0.0;         ///< restoration: λ_TV ≥ 0
  double gradient_factor = 1.0;   ///< gradient: f in x̂ = x − f·a (> 0)
  uint64_t seed = 0;              ///< noise of the stochastic methods (dropout masks, ε)
};

/// Checks the options (batch ≥ 1, mc_samples ≥ 2, steps ≥ 1, lr > 0, tv ≥ 0, factor > 0);
/// throws uad::Error naming the bad field.
void validate(const MapOptions& o);

/// What a reconstruction pass cost.
struct ReconstructStats {
  int64_t slices = 0;       ///< slices passed through the model (2-D) or volumes (3-D)
  double seconds = 0;       ///< wall time of the model passes
};

/// Reconstructs a stack of axial slices x: [Z,H,W] f32 in [0,1] (2-D models, input [1,H,W]) or
/// a volume [D,H,W] (3-D models, input [1,D,H,W]) with `o.method`; brain: u8 [Z,H,W] (slices
/// without brain are skipped: x̂ = x). Returns x̂ f32 of x's shape. The stochastic methods draw
/// from a generator seeded with o.seed; afterwards the model is in eval mode with Monte-Carlo
/// switches off and its generator reset to the default (set_generator(nullptr)). Throws
/// uad::Error when the shapes differ from each other or from the model's input shape, or when
/// the method does not apply to the model (monte_carlo on a model without dropout or sampling;
/// gradient on a model whose loss is not differentiable w.r.t. x).
Tensor reconstruct_stack(models::ReconstructionModel& model, const Shape& model_input, const Tensor& x,
                         const Tensor& brain, const MapOptions& o, ReconstructStats* stats = nullptr);

/// The model's own image-level score of the stack (models::ReconstructionModel::image_score,
/// e.g. f-AnoGAN's A(x) of 001): the mean over the slices that contain brain (2-D) or the
/// volume's score (3-D). Returns NaN when the model defines no score.
double model_image_score(models::ReconstructionModel& model, const Shape& model_input, const Tensor& x,
                         const Tensor& brain, int64_t batch = 16);

/// Anisotropic total variation of d: [N,1,H,W] per sample, summed: Σ|d[h+1,w] − d[h,w]| +
/// Σ|d[h,w+1] − d[h,w]| (differentiable; the TV term of the restoration).
Tensor total_variation(const Tensor& d);

}  // namespace uad::eval
