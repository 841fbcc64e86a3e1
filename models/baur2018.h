// The Baur-2018 family at 256×256 (Baur et al. 2018, "Deep Autoencoding Models for Unsupervised
// Anomaly Segmentation in Brain MR Images", 004_9a4588773591f227.txt, Table 1): dAE and dVAE
// (dense z ∈ R^512), sAE with an 8×8×64 (sAE₁) or 16×16×64 (sAE₃) bottleneck, sVAE (16×16×64).
// The GAN variants (sAE-GAN, sVAE-GAN, AnoGAN) are not here.
//
// No public code exists (domain_spec §2 ✘); the paper says only "We build upon the basic
// architecture proposed in [8] (Larsen et al. 2016, VAE-GAN) and perform only minor
// modifications affecting the latent space ... Across different architectures we keep the model
// complexity of the encoder-decoder part the same". Architecture at S = 256, x: [N,1,256,256]:
//   encoder  4 × [Conv2d 5×5 stride 2 pad 2 → BatchNorm → ReLU], channels 1 → 64, 128, 256, 256;
//            256² → 128² → 64² → 32² → 16² (h: [N,256,16,16])
//   latent   sae_16 / svae: z = Conv2d 5×5 stride 1 pad 2 256→64 (linear) → [N,64,16,16]
//                    (svae: a second such conv for log σ)
//            sae_8: z = Conv2d 5×5 stride 2 pad 2 256→64 (linear) → [N,64,8,8]
//            dae / dvae: the sae_8 conv → flatten [N,4096] → Linear 4096→512 = z (dvae: a second
//                    Linear for log σ); decoding Linear 512→4096 → reshape [N,64,8,8]
//   decoder  entry ConvTranspose2d 5×5 64→256 (stride 1 pad 2 for 16×16 z; stride 2 pad 2
//            output_padding 1 for 8×8 z) → BatchNorm → ReLU, then 4 × [ConvTranspose2d 5×5
//            stride 2 pad 2 output_padding 1 → BatchNorm → ReLU], channels 256 → 256, 128, 64, 32;
//            16² → 256²; out Conv2d 5×5 pad 2 32→1, identity → x̂: [N,1,256,256]
// Decisions (each its source):
//  - Blocks 5×5 stride-2 conv → BN → ReLU, channels doubling 64, 128, 256 and a ConvT decoder
//    ending in 32 channels and a 5×5 output conv: Larsen et al. [8] Table (their 64×64 encoder
//    64/128/256, decoder 256/128/32). At 256² one more level (capped at 256 channels, [8]'s
//    largest) reaches the paper's 16×16 bottleneck. Output identity instead of [8]'s tanh: the
//    paper's images are in [0,1] (004 §3 Datasets), as [SD]'s identity output.
//  - One encoder/decoder trunk for every model, only the latent differs (004 §3 Implementation:
//    "keep the model complexity of the encoder-decoder part the same", "minor modifications
//    affecting the latent space"); the dense models flatten the 8×8×64 map of sae_8 and the
//    decoding Linear feeds the same decoder (linear conv → flatten → Dense as [SD]'s dense
//    bottleneck, domain_spec §1.2). [8]'s 2048-unit dense layer is not used (65536×2048 weights).
//  - Loss = L1 summed over pixels, averaged over the batch (004 Eq. 2 λ₁‖x − x̂‖₁; [SD]'s
//    reduction, domain_spec §1.1); the VAEs add λ₂·KL(q ‖ N(0,I)), KL = ½Σ(μ² + σ² − log σ² − 1)
//    over every latent element (Eq. 2 with λ₃ = 0; λ₂ not given in 004 → 1, option kl_weight).
//    The encoder predicts log σ (as the unified VAE, models/unified.h).
//  - No dropout (004 names none). Real batch norm with Keras' constants (eps 1e-3, momentum 0.01)
//    and Keras' default initialisation (glorot uniform, zero bias) as the same group's TF code
//    [SD]; both options. Activation ReLU ([8]); `slope` > 0 gives LeakyReLU instead (option).
//  - VAE training (and set_mc_sampling) decodes z = μ + ε·σ, eval decodes μ; loss() always
//    samples (as UnifiedVAE). ε comes from the model's generator (trainer contract).
// Training in 004: Adam lr 1e-3, batch 8, 150 epochs (train/ config, not here).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/layers.h"
#include "models/model.h"
#include "models/unified.h"  // Posterior, UnifiedVAE::kl_term

namespace uad::models {

/// The latent space of a Baur-2018 model (004 Table 1).
enum class Baur2018Latent {
  dense,      // z ∈ R^zdim (dAE, dVAE)
  spatial16,  // z: [N,z_channels,S/16,S/16] (sAE₃ 16×16×64, sVAE)
  spatial8,   // z: [N,z_channels,S/32,S/32] (sAE₁ 8×8×64)
};

/// Hyper-parameters of the Baur-2018 family; defaults as the header comment (004, [8]).
struct Baur2018Config {
  int64_t image_size = 256;                        // S: input [N,1,S,S], a multiple of 32
  std::vector<int64_t> encoder_channels{64, 128, 256, 256};  // one stride-2 block each
  std::vector<int64_t> decoder_channels{256, 128, 64, 32};   // one stride-2 ConvT block each
  int64_t z_channels = 64;                         // channels of the spatial z (and of the dense map)
  int64_t zdim = 512;                              // dense latent size
  Baur2018Latent latent = Baur2018Latent::spatial16;
  bool variational = false;
  double kl_weight = 1.0;                          // λ₂ of 004 Eq. 2
  double slope = 0.0;                              // 0: ReLU ([8]); > 0: LeakyReLU(slope)
  nn::BatchNormOptions bn = nn::BatchNormOptions::keras();
  nn::Init init = nn::Init::xavier_uniform;
  DType dtype = DType::f32;

  /// Side of the encoder's output map: S / 2^|encoder_channels| (16 at the defaults).
  int64_t trunk_size() const;
  /// Stride of the latent conv: 1 for spatial16, 2 otherwise.
  int64_t z_stride() const;
  /// Side of the spatial z (and of the dense model's pre-flatten map): trunk_size / z_stride.
  int64_t z_size() const;
  /// Throws uad::Error naming the field: empty channel lists, |decoder| ≠ |encoder|,
  /// S not divisible by 2^levels·z_stride, non-positive sizes, kl_weight < 0, slope < 0,
  /// non-floating dtype.
  void validate() const;
};

/// dAE / sAE / dVAE / sVAE of 004 (header comment). Children: "encoder" (Sequential of blocks,
/// each "0" conv, "1" BN, "2" activation), "z_conv" (the latent conv; μ of a VAE),
/// "z_log_sigma_conv" (spatial VAE), "fc_z", "fc_log_sigma" (dense VAE), "fc_dec" (dense),
/// "decoder" (Sequential: "0" entry ConvT, "1" BN, "2" activation, "3".."6" blocks, "7" out conv).
class Baur2018Model : public ReconstructionModel {
 public:
  Baur2018Model(const Baur2018Config& cfg, Generator& g);
  /// x: [N,1,S,S] → q(z|x): mu [N,zdim] or [N,z_channels,z,z]; log_sigma of the same shape for a
  /// VAE, undefined for an AE (where mu is z itself). Throws uad::Error on a wrong x shape/dtype.
  Posterior encode(const Tensor& x);
  /// μ + ε·exp(log σ), ε ~ N(0,I) from generator(). Throws for an AE.
  Tensor sample(const Posterior& q);
  /// z (shape of encode's mu) → x̂: [N,1,S,S]. Throws uad::Error naming the expected z shape.
  Tensor decode(const Tensor& z);
  /// AE: decode(encode(x)); VAE: decodes a sample in training mode (or with mc sampling), μ in
  /// eval mode.
  Tensor reconstruct(const Tensor& x) override;
  /// Σ_pix|x − x̂| / N (+ kl_weight·KL for a VAE, always on a sampled z). Parts {"l1"} or
  /// {"l1", "kl"}.
  LossTerms loss(const Tensor& x) override;
  bool set_mc_sampling(bool on) override {
    mc_sampling_ = on;
    return true;
  }
  const Baur2018Config& config() const { return cfg_; }
  std::string type_name() const override;

 private:
  void check_input(const Tensor& x, const char* op) const;
  Baur2018Config cfg_;
  bool mc_sampling_ = false;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
  std::shared_ptr<nn::Conv2d> z_conv_, z_log_sigma_conv_;
  std::shared_ptr<nn::Linear> fc_z_, fc_log_sigma_, fc_dec_;
};

/// The registry entries: dae, sae_8, sae_16, dvae, svae at [1,256,256] (models/registry.cpp).
std::vector<ModelSpec> baur2018_family();

}  // namespace uad::models
