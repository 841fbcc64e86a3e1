// Scale-space autoencoder (003 §3.4.4, Baur et al. MICCAI 2020 "Scale-Space Autoencoders for
// Unsupervised Anomaly Segmentation in Brain MRI"): the input's Laplacian pyramid, one small AE
// per level, and the reconstruction = the collapse (inverse transform) of the reconstructed
// pyramid. No official code exists; level counts and sizes are unverified (domain_spec §6 ✘), so
// the choices below are ours:
//   - levels L = 3 at 128×128: band-pass B0 [N,1,128,128], B1 [N,1,64,64] and the low-pass
//     residual G2 [N,1,32,32]. With G0 = x, G_{l+1} = down(G_l), B_l = G_l − up(G_{l+1}),
//     and the collapse G_l = B_l + up(G_{l+1}) (exact inverse for any down/up);
//     down = 2×2 average pooling (stride 2), up = bilinear ×2 (PyTorch align_corners=False). Both
//     are the differentiable ops of tensor/ops_pool.h (avg_pool2d, upsample_linear).
//   - one dense unified AE per level (models/unified.h UnifiedAE with UnifiedConfig image_size =
//     128/2^l, bottleneck 8, z 128, dropout 0.2): 4, 3 and 2 stride-2 levels, encoder channels
//     {32,64,128,128}, {32,64,128}, {32,64}; decoder channels per the unified rule. The AEs'
//     outputs are linear (band-pass levels are signed).
// Loss = Σ_levels L1sum(AE_l(P_l), P_l) (each summed over pixels, batch mean); parts {"l1_0",
// ..., "l1_{L-1}"} (the finest first). Randomness: each level AE's dropout from noise().
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/unified.h"

namespace uad::models {

struct ScaleSpaceConfig {
  UnifiedConfig unified;  // the finest level's AE; level l uses image_size / 2^l
  int levels = 3;         // pyramid levels including the low-pass residual

  /// The level-l AE's configuration (image_size / 2^l).
  UnifiedConfig level_config(int l) const;
  /// Throws uad::Error naming the bad field (levels < 1, a coarsest level not larger than the
  /// bottleneck, and the UnifiedConfig's own checks).
  void validate() const;
};

/// Laplacian pyramid of x [N,C,H,W] (H, W divisible by 2^(levels−1)): {B0, .., B_{L−2}, G_{L−1}}
/// per the file comment, level l of size [N,C,H/2^l,W/2^l]. Differentiable. Throws uad::Error for
/// a non-4-D x, levels outside [1,30], or sizes not divisible.
std::vector<Tensor> laplacian_pyramid(const Tensor& x, int levels);
/// The inverse: G_{L−1} ← P_{L−1}; G_l = P_l + up(G_{l+1}); returns G_0. Throws for an empty list
/// or a level whose size is not twice the next one's.
Tensor collapse_pyramid(const std::vector<Tensor>& pyramid);

/// The scale-space AE. Children "level0".."level{L-1}" (UnifiedAE, dense).
class ScaleSpaceAE : public ReconstructionModel {
 public:
  ScaleSpaceAE(const ScaleSpaceConfig& cfg, Generator& g);
  /// The reconstructed pyramid of x [N,1,S,S]: one AE output per level.
  std::vector<Tensor> reconstruct_pyramid(const Tensor& x);
  /// collapse(reconstruct_pyramid(x)): [N,1,S,S]. Throws uad::Error for a wrong x.
  Tensor reconstruct(const Tensor& x) override;
  LossTerms loss(const Tensor& x) override;
  const ScaleSpaceConfig& config() const { return cfg_; }
  UnifiedAE& level(int l) const { return *aes_.at((size_t)l); }
  std::string type_name() const override { return "ScaleSpaceAE"; }

 private:
  void check_input(const Tensor& x, const char* op) const;
  ScaleSpaceConfig cfg_;
  std::vector<std::shared_ptr<UnifiedAE>> aes_;
};

/// Registry entry "scale_space_ae" (128×128, 3 levels).
std::vector<ModelSpec> scale_space_family();

}  // namespace uad::models
