// The MOOD VAE of Chatterjee et al. 2020 (002_fd8564ff93c5580e.txt: "a 5-layer fully
// convolutional encoder and decoder", "256 latent variables", trained on the ELBO with Adam
// lr 1e-4), 2-D on 256×256 slices of the MOOD brain volumes (256³). The paper gives no layer
// table; the architecture is the MOOD challenge example VAE it is the closest public code to
// (domain_spec §5 ◐; [MOOD] example_algos/models/aes.py VAE with its class defaults, nets.py
// BasicEncoder/BasicGenerator), x: [N,1,256,256]:
//   E1-E4  Conv2d 3×3 stride 2 pad 1, no bias → LeakyReLU(0.01); 1 → 16 → 64 → 256 → 1024,
//          256² → 128² → 64² → 32² → 16²
//   E5     Conv2d (S/16)×(S/16) = 16×16, stride 1, pad 0, no bias, linear; 1024 → 2·256 → 1×1;
//          channels [0, z) are μ, [z, 2z) log σ ([MOOD] torch.chunk(y, 2, dim=1), std = exp)
//   D1     ConvTranspose2d 16×16 stride 1 pad 0, no bias → LeakyReLU; 256 → 1024, 1² → 16²
//   D2-D4  ConvTranspose2d 4×4 stride 2 pad 1, no bias → LeakyReLU; 1024 → 256 → 64 → 16
//   D5     ConvTranspose2d 4×4 stride 2 pad 1, no bias, linear; 16 → 1 → x̂: [N,1,256,256]
// Decisions (each its source):
//  - 2-D, as the paper (slices: "encodes the full context of brain MR slices"; 3-D is named as
//    future work) at 256² (domain_spec §5 "Architecture for a 256² input"; MOOD brain volumes are
//    256³). image_size is an option (the E5/D1 kernel is S/16; S = 128 gives 8×8 kernels).
//  - No normalisation, no bias anywhere, LeakyReLU with PyTorch's default slope 0.01, PyTorch's
//    default initialisation ([MOOD] VAE class defaults: normalization_op None, conv params
//    bias=False, nn.LeakyReLU()). Note the E5 weight alone is 1024·512·16·16 = 134M parameters.
//  - Loss (default, the paper's ELBO): Σ_pix|x − x̂| + KL(q ‖ N(0,I)) summed over the 256 latents
//    (KL = ½Σ(μ² + σ² − log σ² − 1)), averaged over the batch; the L1 pixel error is [MOOD]'s
//    (002 says only "error on the pixel-wise reconstructions"). MoodLoss::reference is [MOOD]
//    ce_vae.py's: mean_pix|x − x̂| + β·mean_z KL with β = 0.01 (domain_spec §5); its
//    context-encoding branch is not part of 002's model and is not here.
//  - Data range: [MOOD] scales to [−1,1]; the model is range-agnostic (linear output), the
//    pipeline's [0,1] is used as is.
//  - Training decodes z = μ + ε·σ (ε from the model's generator, trainer contract); eval decodes
//    μ ([MOOD] forward(sample=False)); loss() always samples.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/layers.h"
#include "models/model.h"
#include "models/unified.h"  // Posterior, UnifiedVAE::kl_term

namespace uad::models {

/// The ELBO's reductions (header comment).
enum class MoodLoss {
  elbo,       // Σ_pix L1 + Σ_z KL, batch mean (002's ELBO; default)
  reference,  // mean_pix L1 + beta·mean_z KL ([MOOD] ce_vae.py, β = 0.01)
};

/// Hyper-parameters of the MOOD VAE; defaults as the header comment.
struct MoodVAEConfig {
  int64_t image_size = 256;                         // S: input [N,1,S,S], a multiple of 2^|fmaps|
  std::vector<int64_t> fmaps{16, 64, 256, 1024};    // E1..E4 channels (decoder reversed)
  int64_t zdim = 256;                               // latent size (002: 256 latent variables)
  double slope = 0.01;                              // LeakyReLU (PyTorch default)
  MoodLoss loss = MoodLoss::elbo;
  double beta = 1.0;                                // KL weight (reference(): 0.01)
  nn::Init init = nn::Init::pytorch;
  DType dtype = DType::f32;

  /// [MOOD] ce_vae.py's loss: MoodLoss::reference with β = 0.01.
  static MoodVAEConfig reference_loss() {
    MoodVAEConfig c;
    c.loss = MoodLoss::reference;
    c.beta = 0.01;
    return c;
  }
  /// Side of the last encoder map and kernel of E5/D1: S / 2^|fmaps| (16 at the defaults).
  int64_t bottom_size() const { return image_size >> (int64_t)fmaps.size(); }
  /// Throws uad::Error naming the field: empty or non-positive fmaps, S not a multiple of
  /// 2^|fmaps| or bottom_size() < 2 ([MOOD]'s "one image dimension has already perished"),
  /// zdim ≤ 0, beta < 0, slope < 0, non-floating dtype.
  void validate() const;
};

/// The MOOD VAE (header comment). Children "encoder" (Sequential: per level "i" a Sequential
/// "0" conv, "1" LeakyReLU; last "4" the E5 conv), "decoder" (Sequential: "0" D1 block,
/// "1".."3" D2-D4 blocks, "4" D5 conv).
class MoodVAE : public ReconstructionModel {
 public:
  MoodVAE(const MoodVAEConfig& cfg, Generator& g);
  /// x: [N,1,S,S] → (μ, log σ), each [N,zdim,1,1]. Throws uad::Error on a wrong x shape/dtype.
  Posterior encode(const Tensor& x);
  /// μ + ε·exp(log σ), ε ~ N(0,I) from generator().
  Tensor sample(const Posterior& q);
  /// z: [N,zdim,1,1] → x̂: [N,1,S,S]. Throws uad::Error naming the expected z shape.
  Tensor decode(const Tensor& z);
  /// Training mode (or mc sampling): decodes a sample; eval: decodes μ.
  Tensor reconstruct(const Tensor& x) override;
  /// The ELBO per config().loss on a sampled z; parts {"l1", "kl"} (each reduced as the total).
  LossTerms loss(const Tensor& x) override;
  bool set_mc_sampling(bool on) override {
    mc_sampling_ = on;
    return true;
  }
  const MoodVAEConfig& config() const { return cfg_; }
  std::string type_name() const override { return "MoodVAE"; }

 private:
  void check_input(const Tensor& x, const char* op) const;
  MoodVAEConfig cfg_;
  bool mc_sampling_ = false;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
};

/// The registry entry: mood_vae at [1,256,256] (models/registry.cpp).
std::vector<ModelSpec> mood_family();

}  // namespace uad::models
