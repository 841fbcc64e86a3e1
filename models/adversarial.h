// The adversarially trained reconstruction models of issue 5 that are not f-AnoGAN: the unified
// AnoVAEGAN (003 §III.B "GAN-based" 1; domain_spec §1.3 "AnoVAEGAN", [SD] models/anovaegan.py,
// trainers/AnoVAEGAN.py), the Baur-2018 spatial AE-GAN and VAE-GAN (004 Eq. 2-3, Table 1;
// domain_spec §2 ✘: no public code), and the unified Constrained AAE (domain_spec §1.3
// "Constrained AAE", [SD] constrained_adversarial_autoencoder.py, trainers/ConstrainedAAE.py).
// Training: train/adversarial_loop.h (TrainerKind::vae_gan, TrainerKind::latent_adversarial), not
// the reconstruction trainer. Validation (and early stopping) uses ReconstructionModel::loss:
// L1sum (+ KL) for the VAE-GANs, MSE_pix + ρ·MSE_z for the Constrained AAE ([SD] watches the
// validation L1 for it: `--val-metric l1`).
//
// AnoVAEGAN at S = 128, b = 8, z = 128 (UnifiedConfig defaults), x: [N,1,128,128] in [0,1]:
//   encoder    UnifiedEncoder (BatchNorm)                       [N,128,8,8]
//   bottleneck DenseBottleneck (variational: μ, log σ heads; dropout 0.2 as the unified VAE)
//              z = μ + ε·σ → fc_dec → reshape → conv_out        [N,128,8,8]
//   generator  UnifiedDecoder with LayerNorm, linear output     x̂: [N,1,128,128]
//   critic     Critic2d (UnifiedEncoder with LayerNorm → per-location Conv1×1 → 1, averaged) [N,1]
//   The generator's parameters (for the adversarial generator step) are the decoder's and the
//   decoding half of the bottleneck (fc_dec, conv_out).
//   Loss of the VAE step: mean_batch(L1sum + 1.0·KL) (as UnifiedVAE); generator step −E[D(x̂)];
//   critic: WGAN-GP (λ 10) with fake = x̂ of the same x; Adam(lr, 0.5, 0.9) for all three.
//   ◐ [SD]'s penalty reduces the gradient norm over axis 1 only (H in NHWC):
//   VaeGanOptions::gp_axis1_quirk reproduces it (off by default: the standard per-sample norm).
//
// Baur-2018 sAE-GAN / sVAE-GAN (004 §2 Eq. 2-3) at 256², z 16×16×64: the existing sae_16 / svae
// networks (models/baur2018.h) plus a discriminator Dis on x or x̂:
//   Baur2018Discriminator  4 × [Conv2d 5×5 stride 2 pad 2 → LeakyReLU(0.2)], channels
//            1 → 32, 64, 128, 256 (256² → 16²) → Conv1×1 256→1 per location → mean → logit [N,1]
//   UNVERIFIED (no public code, domain_spec §2): 004 builds on Larsen et al. [8], whose
//   discriminator is conv 32 → 128 → 256 → 256 (5×5, BN, ReLU) → FC 512 → FC 1 sigmoid; at 256²
//   that FC has 64·64·256·512 ≈ 537M weights, so the FC head is replaced by the per-location 1×1
//   head of [SD]'s critic, and no BN (real and reconstructed batches are scored separately).
//   Loss (004 Eq. 2): L = λ₁‖x − x̂‖₁ + λ₂KL − λ₃ log Dis(x̂), Dis: L = −log Dis(x) −
//   log(1 − Dis(x̂)) (Eq. 3, sigmoid cross entropy on logits); λ₁ = 1, λ₂ = 1 (baur2018.h),
//   λ₃ not given → 1 (option). Per batch the discriminator is trained first, then the
//   encoder-decoder (004 §2). Learning rates 1e-3 (reconstruction) and 1e-4 (adversarial) in
//   004 §3: the critic's lr is lr·critic_lr_ratio, ratio 0.1. Adam β = (0.9, 0.999) (004 names
//   none; UNVERIFIED). One discriminator step per batch (004: "for every training batch, first
//   the discriminator is trained, then the encoder-decoder").
//   The registry entries use these options; `uad train --lr 1e-3` gives 004's learning rates.
//
// Constrained AAE (unified, 128²): ConstrainedAE (models/unified.h, loss MSE_pix + ρ·MSE_z, ρ 1)
// plus a latent critic Dense 128→100 → leaky_relu(0.2) → Dense 100→50 → leaky_relu(0.2) →
// Dense 50→1 ("latent_critic"); prior z ~ N(0, I); WGAN-GP in latent space (scale 10). Loop per
// batch (train/adversarial_loop.h): AE steps (20 while epoch ≤ 5, then 1) on the ConstrainedAE
// loss, 20 critic steps, one encoder step on −E[D(z)] (z = Enc(x), dropout active);
// Adam(lr, 0.5, 0.9). ◐ [SD]'s interpolate z + ε(z − z_prior) extrapolates:
// AaeOptions::extrapolating_interpolate reproduces it (off by default: z_prior + ε(z − z_prior)).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/baur2018.h"
#include "models/fanogan2d.h"
#include "models/unified.h"

namespace uad::models {

/// How a VAE-GAN model is trained (train/adversarial_loop.h vaegan_step).
struct VaeGanOptions {
  bool wasserstein = true;          ///< WGAN-GP critic (AnoVAEGAN); false: sigmoid cross entropy (004 Eq. 3)
  bool separate_generator_step = true;  ///< AnoVAEGAN: VAE step, then a generator-only step on −E[D(x̂)];
                                        ///< false: the adversarial term is added to the VAE step (004 Eq. 2)
  bool critic_first = false;        ///< 004: Dis is trained before the encoder-decoder
  int64_t n_critic = 5;             ///< critic steps per batch
  double gp_lambda = 10.0;          ///< WGAN-GP scale
  bool gp_axis1_quirk = false;      ///< [SD]'s norm over axis 1 only (see the header comment)
  double adv_weight = 1.0;          ///< λ₃ of the adversarial term (combined step only)
  double beta1 = 0.5, beta2 = 0.9;  ///< Adam β of all optimisers ([SD] Adam(lr, 0.5, 0.9))
  double critic_lr_ratio = 1.0;     ///< critic lr = lr·ratio (004: 1e-4 vs 1e-3 → 0.1)
};

/// The x̂ and reconstruction loss of one VAE-GAN forward pass (training mode: sampled z).
struct VaeGanForward {
  LossTerms rec;  ///< L1sum (+ KL) terms, batch mean
  Tensor x_hat;   ///< [N,1,S,S]
};

/// What train/adversarial_loop.h needs of a VAE-GAN-style model.
class VaeGanModel {
 public:
  virtual ~VaeGanModel() = default;
  /// One encoder → (sample) → decoder pass: the reconstruction loss and x̂ (recorded).
  virtual VaeGanForward vae_forward(const Tensor& x) = 0;
  /// Encoder and decoder parameters (the VAE step's optimiser).
  virtual std::vector<Tensor> autoencoder_parameters() const = 0;
  /// The decoder's parameters (the generator step's optimiser; unused without a separate step).
  virtual std::vector<Tensor> generator_parameters() const = 0;
  /// x → score/logit [N,1].
  virtual nn::Module& critic() = 0;
  virtual const VaeGanOptions& vaegan_options() const = 0;
};

/// AnoVAEGAN (header comment). Children "encoder", "bottleneck", "generator", "critic".
class AnoVAEGAN : public UnifiedModel, public VaeGanModel {
 public:
  AnoVAEGAN(const UnifiedConfig& cfg, Generator& g, VaeGanOptions opt = {}, double kl_weight = 1.0);
  /// x: [N,1,S,S] → (μ, log σ) [N,zdim] each. Throws uad::Error on a wrong x.
  Posterior encode(const Tensor& x);
  /// z [N,zdim] → x̂ [N,1,S,S].
  Tensor decode(const Tensor& z);
  /// Training mode or MC sampling: decodes a sample; eval: μ.
  Tensor reconstruct(const Tensor& x) override;
  /// mean_batch(L1sum + kl_weight·KL) on a sampled z; parts {"l1", "kl"}.
  LossTerms loss(const Tensor& x) override;
  bool set_mc_sampling(bool on) override {
    mc_sampling_ = on;
    return true;
  }
  VaeGanForward vae_forward(const Tensor& x) override;
  std::vector<Tensor> autoencoder_parameters() const override;
  std::vector<Tensor> generator_parameters() const override;
  nn::Module& critic() override { return *critic_; }
  const VaeGanOptions& vaegan_options() const override { return opt_; }
  std::string type_name() const override { return "AnoVAEGAN"; }

 private:
  VaeGanOptions opt_;
  double kl_weight_;
  bool mc_sampling_ = false;
  std::shared_ptr<UnifiedEncoder> encoder_;
  std::shared_ptr<DenseBottleneck> bottleneck_;
  std::shared_ptr<UnifiedDecoder> generator_;
  std::shared_ptr<Critic2d> critic_;
};

/// The 004 discriminator (header comment): x [N,1,S,S] → logit [N,1]. Children "net"
/// (Sequential of blocks "i" = {"0" conv, "1" LeakyReLU}), "head". Throws uad::Error naming
/// Baur2018Discriminator unless x is [N,1,S,S].
class Baur2018Discriminator : public nn::Module {
 public:
  Baur2018Discriminator(int64_t image_size, std::vector<int64_t> channels, nn::Init init, DType dtype, Generator& g);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Baur2018Discriminator"; }

 private:
  int64_t size_;
  std::shared_ptr<nn::Sequential> net_;
  std::shared_ptr<nn::Conv2d> head_;
};

/// sAE-GAN / sVAE-GAN of 004: children "vae" (Baur2018Model), "critic" (Baur2018Discriminator).
/// reconstruct and loss are the wrapped model's (loss = L1sum (+ KL), the validation loss).
class Baur2018Gan : public ReconstructionModel, public VaeGanModel {
 public:
  Baur2018Gan(const Baur2018Config& cfg, Generator& g, VaeGanOptions opt);
  Tensor reconstruct(const Tensor& x) override { return vae_->reconstruct(x); }
  LossTerms loss(const Tensor& x) override { return vae_->loss(x); }
  bool set_mc_sampling(bool on) override { return vae_->set_mc_sampling(on); }
  VaeGanForward vae_forward(const Tensor& x) override;
  std::vector<Tensor> autoencoder_parameters() const override { return vae_->parameters(); }
  std::vector<Tensor> generator_parameters() const override;
  nn::Module& critic() override { return *critic_; }
  const VaeGanOptions& vaegan_options() const override { return opt_; }
  Baur2018Model& vae() { return *vae_; }
  std::string type_name() const override { return variational_ ? "SVAEGAN" : "SAEGAN"; }

 private:
  VaeGanOptions opt_;
  bool variational_;
  std::shared_ptr<Baur2018Model> vae_;
  std::shared_ptr<Baur2018Discriminator> critic_;
};

/// Options of the latent-adversarial (AAE) loop (train/adversarial_loop.h aae_step).
struct AaeOptions {
  int64_t ae_steps_warmup = 20;  ///< AE steps per batch while epoch ≤ warmup_epochs
  int64_t warmup_epochs = 5;
  int64_t ae_steps = 1;          ///< AE steps per batch afterwards
  int64_t critic_steps = 20;
  double gp_lambda = 10.0;
  bool extrapolating_interpolate = false;  ///< [SD]'s z + ε(z − z_prior) quirk
  double beta1 = 0.5, beta2 = 0.9;
};

/// What train/adversarial_loop.h needs of a latent-adversarial model.
class LatentAdversarialModel {
 public:
  virtual ~LatentAdversarialModel() = default;
  /// x → z [N,zdim] (training mode: with dropout), recorded.
  virtual Tensor encode_latent(const Tensor& x) = 0;
  /// The encoder's parameters (the encoder step's optimiser).
  virtual std::vector<Tensor> encoder_parameters() const = 0;
  /// Encoder + decoder (the AE step's optimiser, minimising ReconstructionModel::loss).
  virtual std::vector<Tensor> autoencoder_parameters() const = 0;
  /// z [N,zdim] → score [N,1].
  virtual nn::Module& latent_critic() = 0;
  virtual int64_t latent_dim() const = 0;
  virtual const AaeOptions& aae_options() const = 0;
};

/// Dense 128→100 → leaky(0.2) → 100→50 → leaky(0.2) → 50→1: z [N,zdim] → [N,1].
class LatentCritic : public nn::Sequential {
 public:
  LatentCritic(int64_t zdim, std::vector<int64_t> hidden, nn::Init init, DType dtype, Generator& g);
  std::string type_name() const override { return "LatentCritic"; }
};

/// Constrained AAE: ConstrainedAE + child "latent_critic".
class ConstrainedAAE : public ConstrainedAE, public LatentAdversarialModel {
 public:
  ConstrainedAAE(const UnifiedConfig& cfg, Generator& g, AaeOptions opt = {}, double rho = 1.0);
  Tensor encode_latent(const Tensor& x) override { return encode(x); }
  std::vector<Tensor> encoder_parameters() const override;
  std::vector<Tensor> autoencoder_parameters() const override;
  nn::Module& latent_critic() override { return *critic_; }
  int64_t latent_dim() const override { return cfg_.zdim; }
  const AaeOptions& aae_options() const override { return opt_; }
  std::string type_name() const override { return "ConstrainedAAE"; }

 private:
  AaeOptions opt_;
  std::shared_ptr<LatentCritic> critic_;
};

/// Registry entries: "anovaegan" (128²), "sae_gan", "svae_gan" (256²), "constrained_aae" (128²),
/// then models/anogan.h's "anogan" (256²).
std::vector<ModelSpec> adversarial_family();

}  // namespace uad::models
