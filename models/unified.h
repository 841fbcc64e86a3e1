// The unified 2-D model family of the Baur/Denner comparative study (003_4ad4637332258bd7.txt
// §III.B "Network Architecture and Models", Fig. 4; domain_spec.md §1.2-1.3, [SD]
// models/customlayers.py and models/*.py): one encoder/decoder shared by every model, with a
// dense (z ∈ R^128) or spatial (z ∈ R^{8×8×128}) bottleneck.
//
// Architecture at S = 128, bottleneck b = 8 (n = log2(S/b) = 4 stride-2 levels), x: [N,1,128,128]:
//   encoder  n × [Conv2d 5×5 stride 2 pad 2 → Norm → LeakyReLU(0.3)], channels
//            1 → min(128, 32·2^i) = 32, 64, 128, 128; 128² → 64² → 32² → 16² → 8²
//   dense    Conv1×1 128→16 (=128/8, linear) → flatten [N,1024] → Linear 1024→128 = z → dropout;
//            decoding: Linear 128→1024 → dropout → reshape [N,16,8,8] → Conv1×1 16→128
//   spatial  z = dropout(E4 output) [N,128,8,8], straight to the decoder
//   decoder  D0 Norm → ReLU, then n × [ConvTranspose2d 5×5 stride 2 pad 2 output_padding 1 →
//            Norm → LeakyReLU(0.3)], channels 128 → max(32, 128/2^i) = 128, 64, 32, 32;
//            out Conv1×1 32→1, identity → x̂: [N,1,128,128]
// Decisions (kept identical to bench/unified_ae.h, whose functional AE equals ae_dense — tested):
//  - Block order Conv → Norm → LeakyReLU ([SD] build_unified_encoder's list order).
//  - "same" padding as PyTorch's symmetric pad 2 (TF pads 1 before / 2 after on even inputs; the
//    output sizes are the same, the sampling grid is shifted by one pixel).
//  - Real batch norm (batch statistics in training, running statistics in eval) with Keras'
//    constants eps 1e-3, momentum 0.99 (0.01 here). [SD]'s BN never leaves inference mode
//    (domain_spec §1.2 ◐); UnifiedConfig::bn.frozen_stats = true reproduces that quirk.
//  - Dropout (p = 0.2) on z AND after the decoding Linear, as [SD] autoencoder.py calls its one
//    dropout layer at both places; the VAE drops μ and log σ as [SD] variational_autoencoder.py.
//  - Flatten in NCHW (C,H,W) order instead of TF's (H,W,C) (a fixed permutation of the Linear
//    weights, equivalent for a network trained from scratch).
//  - Initialisation: Keras' defaults of the reference (glorot uniform weights, zero biases;
//    Init::xavier_uniform), configurable.
// Randomness (dropout masks, the VAE's ε, the context masks) comes from one Philox generator per
// model: ReconstructionModel::set_generator (default: the process default_generator()).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/layers.h"
#include "models/model.h"

namespace uad::models {

/// Normalisation of the encoder/decoder blocks: BatchNorm (the unified AE family), or Keras
/// LayerNormalization([1,2]) = nn::LayerNorm({H,W}) per sample and channel over H, W ([SD]'s
/// use_batchnorm=False, for the critics and generators of the GAN models).
enum class UnifiedNorm { batch, layer };

/// Hyper-parameters of the unified family. Defaults: 003 Table II (dropout 0.2) and [SD] run.py
/// (128×128 input, intermediateResolutions 8×8, zDim 128).
struct UnifiedConfig {
  int64_t image_size = 128;  // S: input [N,1,S,S]; S/bottleneck a power of two ≥ 2
  int64_t bottleneck = 8;    // b: spatial size of the bottleneck (intermediateResolutions)
  int64_t zdim = 128;        // dense latent size
  double dropout = 0.2;      // 003 Table II p_r
  double slope = 0.3;        // Keras LeakyReLU() default α
  UnifiedNorm norm = UnifiedNorm::batch;
  nn::BatchNormOptions bn = nn::BatchNormOptions::keras();  // eps 1e-3, momentum 0.01
  nn::Init init = nn::Init::xavier_uniform;                 // Keras defaults of [SD]
  DType dtype = DType::f32;

  /// Number of stride-2 levels n = log2(S/b).
  int levels() const;
  /// Encoder channels [1, c_1..c_n], c_i = min(128, 32·2^(i−1)): {1,32,64,128,128} at 128/8.
  std::vector<int64_t> encoder_channels() const;
  /// Decoder channels [c_n(enc), d_1..d_n], d_i = max(32, 128/2^(i−1)): {128,128,64,32,32}.
  std::vector<int64_t> decoder_channels() const;
  /// Channels of the dense bottleneck's 1×1 conv: c_n(enc)/8 = 16 ([SD]: shape[3] // 8).
  int64_t mid_channels() const;
  /// Flattened size mid·b·b = 1024.
  int64_t flat_features() const;
  /// Throws uad::Error naming the bad field (sizes not powers of two, b ≥ S, zdim ≤ 0, dropout
  /// outside [0,1)).
  void validate() const;
};

/// The unified encoder: n blocks [Conv2d 5×5 s2 → Norm → LeakyReLU], each a Sequential
/// (children "0".."n-1"; in a block "0" conv, "1" norm, "2" activation).
/// x: [N,1,S,S] → [N,c_n,b,b]. Throws uad::Error (from the layers) on a wrong input shape.
class UnifiedEncoder : public nn::Sequential {
 public:
  UnifiedEncoder(const UnifiedConfig& cfg, Generator& g);
  std::string type_name() const override { return "UnifiedEncoder"; }
};

/// The unified decoder: "0" D0 norm, "1" ReLU, "2".."n+1" blocks [ConvTranspose2d 5×5 s2 →
/// Norm → LeakyReLU], "n+2" Conv1×1 → 1 channel (identity output).
/// h: [N,c_n,b,b] → x̂: [N,1,S,S].
class UnifiedDecoder : public nn::Sequential {
 public:
  UnifiedDecoder(const UnifiedConfig& cfg, Generator& g);
  std::string type_name() const override { return "UnifiedDecoder"; }
};

/// The dense bottleneck ([SD] autoencoder.py "Bottleneck" scope): children "conv_in"
/// (Conv1×1 c_n→mid), "fc_z" (Linear flat→zdim; μ for a VAE), optionally "fc_log_sigma"
/// (variational: the second head, log σ), "fc_dec" (Linear zdim→flat), "conv_out"
/// (Conv1×1 mid→c_n), "dropout" (one Dropout(p) applied at every dropout site).
class DenseBottleneck : public nn::Module {
 public:
  DenseBottleneck(const UnifiedConfig& cfg, bool variational, Generator& g);
  /// Encoder features h: [N,c_n,b,b] → flatten(conv_in(h)): [N,flat].
  Tensor features(const Tensor& h);
  /// dropout(fc_z(f)): [N,flat] → [N,zdim] (z of the AE, μ of the VAE).
  Tensor head_z(const Tensor& f);
  /// dropout(fc_log_sigma(f)): [N,flat] → [N,zdim] (log σ). Throws when not variational.
  Tensor head_log_sigma(const Tensor& f);
  /// conv_out(reshape(dropout(fc_dec(z)), [N,mid,b,b])): [N,zdim] → [N,c_n,b,b].
  Tensor decode(const Tensor& z);
  std::string type_name() const override { return "DenseBottleneck"; }
  std::shared_ptr<nn::Dropout> dropout() const { return dropout_; }

 private:
  UnifiedConfig cfg_;
  std::shared_ptr<nn::Conv2d> conv_in_, conv_out_;
  std::shared_ptr<nn::Linear> fc_z_, fc_log_sigma_, fc_dec_;
  std::shared_ptr<nn::Dropout> dropout_;
};

/// Base of the unified models: the configuration and the Philox generator of the model's noise.
class UnifiedModel : public ReconstructionModel {
 public:
  explicit UnifiedModel(const UnifiedConfig& cfg) : cfg_(cfg) { cfg_.validate(); }
  const UnifiedConfig& config() const { return cfg_; }

 protected:
  /// Checks x: [N,1,S,S] of a floating dtype; throws uad::Error naming `op`, the model and x.
  void check_input(const Tensor& x, const char* op) const;
  UnifiedConfig cfg_;
};

/// AE (dense) and AE (spatial) (003 §III.B "Autoencoders" 1-2; [SD] autoencoder.py,
/// autoencoder_spatial.py; trainers/AE.py). Children "encoder", "bottleneck" (dense) or
/// "dropout" (spatial), "decoder". Loss: L1 summed over pixels, averaged over the batch (Eq. 1
/// with [SD]'s reduction; parts {"l1"}).
class UnifiedAE : public UnifiedModel {
 public:
  UnifiedAE(const UnifiedConfig& cfg, bool spatial, Generator& g);
  /// x: [N,1,S,S] → z: [N,zdim] (dense) or [N,c_n,b,b] (spatial), dropout applied in training.
  Tensor encode(const Tensor& x);
  /// z → x̂: [N,1,S,S] (dense: through the bottleneck's decoding half, with its dropout).
  Tensor decode(const Tensor& z);
  Tensor reconstruct(const Tensor& x) override;
  LossTerms loss(const Tensor& x) override;
  bool spatial() const { return spatial_; }
  std::string type_name() const override { return spatial_ ? "UnifiedAESpatial" : "UnifiedAE"; }

 protected:
  bool spatial_;
  std::shared_ptr<UnifiedEncoder> encoder_;
  std::shared_ptr<DenseBottleneck> bottleneck_;  // dense only
  std::shared_ptr<nn::Dropout> z_dropout_;       // spatial only
  std::shared_ptr<UnifiedDecoder> decoder_;
};

/// μ and log σ of a VAE's q(z|x), each [N,zdim].
struct Posterior {
  Tensor mu, log_sigma;
};

/// VAE (003 §II.A Eq. "L_VAE", §III.B "Latent Variable Models" 1; [SD]
/// variational_autoencoder.py, trainers/VAE.py). Dense bottleneck with two heads μ and log σ
/// (the code's log σ, not log σ²), z = μ + ε·σ, ε ~ N(0, I) from the model's Philox stream.
/// Loss = mean_batch(L1sum + λ_KL·KL), KL = ½Σ(μ² + σ² − log σ² − 1), λ_KL = 1 (Table II),
/// always on a sampled z (in eval mode too, as [SD]'s validation loss). Parts {"l1", "kl"}.
class UnifiedVAE : public UnifiedModel {
 public:
  UnifiedVAE(const UnifiedConfig& cfg, Generator& g, double kl_weight = 1.0);
  /// x: [N,1,S,S] → (μ, log σ), dropout applied to both heads in training ([SD]).
  Posterior encode(const Tensor& x);
  /// μ only (dropout applied in training), e.g. the Context VAE's masked branch.
  Tensor encode_mu(const Tensor& x);
  /// μ + ε·exp(log σ) with ε from generator().
  Tensor sample(const Posterior& q);
  /// z: [N,zdim] → x̂: [N,1,S,S].
  Tensor decode(const Tensor& z);
  /// Training mode (or set_mc_sampling(true)): decodes a sample z; eval: decodes μ.
  Tensor reconstruct(const Tensor& x) override;
  LossTerms loss(const Tensor& x) override;
  /// Monte-Carlo reconstructions (the Bayesian VAE, 003 §III.B): sample z in eval mode too.
  bool set_mc_sampling(bool on) override {
    mc_sampling_ = on;
    return true;
  }
  /// KL(q ‖ N(0,I)) per the formula above, averaged over the batch: [] (0-d).
  static Tensor kl_term(const Posterior& q);
  std::string type_name() const override { return "UnifiedVAE"; }

 protected:
  double kl_weight_;
  bool mc_sampling_ = false;
  std::shared_ptr<UnifiedEncoder> encoder_;
  std::shared_ptr<DenseBottleneck> bottleneck_;
  std::shared_ptr<UnifiedDecoder> decoder_;
};

/// How the context (inpainting) masks are drawn ([SD] trainers/CE.py retrieve_masked_batch).
struct ContextMaskOptions {
  int64_t size = 20;        // square side, pixels
  int64_t min_squares = 1;  // number of squares ~ U{min..max} per sample
  int64_t max_squares = 3;
  /// [SD]'s quirk (domain_spec §1.3 ◐): the loop rebinds `m`, so the LAST sample's mask is
  /// applied to the whole batch. Off by default (each sample gets its own mask).
  bool last_sample_for_batch = false;
};

/// Context masks for x: [N,C,H,W] → mask [N,1,H,W] of x's dtype, 1 = kept, 0 = zeroed.
/// Per sample: the bounding box [r0,r1]×[c0,c1] (inclusive) of the pixels where any channel of x
/// is > 0 stands in for the brain mask's; k ~ U{min..max} squares of side `size` are zeroed, the
/// top-left corner drawn uniformly in [r0, r1−size]×[c0, c1−size] — only when r0 < r1−size and
/// c0 < c1−size (as [SD]; an empty or small box gets no square). Draws one rand([N,
/// 1+2·max_squares]) from g (f64 stream). Throws uad::Error for a non-4-D, non-floating or
/// non-CPU x, or options with size < 1 or 1 ≤ min ≤ max violated (the Context models' constructors
/// check their options the same way).
Tensor context_mask(const Tensor& x, Generator& g, const ContextMaskOptions& o = {});

/// Context AE (003 §III.B "Autoencoders" 3, Zimmerer et al. [7]; [SD] trainers/CE.py): the dense
/// AE trained to inpaint: loss = L1sum(AE(x ⊙ m), x) (batch mean) with m = context_mask(x).
/// Masks are drawn in training mode only: in eval mode (validation) the loss is the plain AE's,
/// as [SD] feeds x_ce = x outside training; reconstruct(x) never masks. Parts {"l1"}.
class ContextAE : public UnifiedAE {
 public:
  ContextAE(const UnifiedConfig& cfg, Generator& g, ContextMaskOptions mask = {});
  LossTerms loss(const Tensor& x) override;
  const ContextMaskOptions& mask_options() const { return mask_; }
  std::string type_name() const override { return "ContextAE"; }

 private:
  ContextMaskOptions mask_;
};

/// Context VAE (ceVAE, 003 §III.B "Latent Variable Models" 2, Zimmerer et al. [7]; [SD]
/// context_encoder_variational_autoencoder.py, trainers/ceVAE.py): one VAE, shared encoder and
/// decoder; the masked input x_ce = x ⊙ m is decoded from μ(x_ce).
/// Loss = mean_batch(L1sum(x̂, x) + KL + L1sum(x̂_ce, target)), target = x (the inpainting
/// objective of [7]) or, with `ce_target_masked`, x_ce ([SD]'s quirk, domain_spec §1.3 ◐).
/// Masks in training mode only (eval: x_ce = x, as the Context AE). Parts {"l1", "kl", "l1_ce"}.
class ContextVAE : public UnifiedVAE {
 public:
  ContextVAE(const UnifiedConfig& cfg, Generator& g, ContextMaskOptions mask = {}, bool ce_target_masked = false);
  LossTerms loss(const Tensor& x) override;
  std::string type_name() const override { return "ContextVAE"; }

 private:
  ContextMaskOptions mask_;
  bool ce_target_masked_;
};

/// Constrained AE (003 §III.B "Autoencoders" 4, Chen & Konukoglu [5]; [SD]
/// constrained_autoencoder.py, trainers/ConstrainedAE.py): the dense AE with a latent
/// consistency term, z_rec = Enc(x̂) through the same encoder, bottleneck head and dropout.
/// Loss = mean_batch(mean_pix (x − x̂)² + ρ·mean_z (z − z_rec)²), ρ = 1. Parts {"mse", "mse_z"}.
/// The second encoder pass updates the BN running statistics with x̂'s batch statistics too.
class ConstrainedAE : public UnifiedAE {
 public:
  ConstrainedAE(const UnifiedConfig& cfg, Generator& g, double rho = 1.0);
  LossTerms loss(const Tensor& x) override;
  double rho() const { return rho_; }
  std::string type_name() const override { return "ConstrainedAE"; }

 private:
  double rho_;
};

}  // namespace uad::models
