// GMVAE dense and GMVAE spatial of the unified family: the Gaussian-mixture VAE of Dilokthanakul
// et al. as used for brain MRI by You et al. and benchmarked in 003 §III.B "Latent Variable
// Models" 3 (GMVAE, 9 components); domain_spec §1.3; [SD]
// models/gaussian_mixture_variational_autoencoder{,_spatial}.py and trainers/GMVAE{,_spatial}.py.
//
// Generative model: w ~ N(0, I) (dim_w), c ~ Cat(1/K) (K = dim_c), z | w,c ~ N(μ_c(w), 1/e^{λ_c(w)})
// (dim_z per location), x | z ~ the unified decoder. Inference: q(w|x), q(z|x) diagonal Gaussians.
//
// Architecture at 128×128 (UnifiedConfig: encoder/decoder of models/unified.h, b = 8, n = 4):
//   dense   (h = UnifiedEncoder(x) [N,128,8,8]) → conv_in 1×1 128→16 → flatten f [N,1024];
//           heads Linear 1024→dim_w: w_mu, w_logvar; Linear 1024→dim_z: z_mu, z_logvar;
//           decoding: Linear dim_z→1024 → dropout → reshape [N,16,8,8] → conv_out 1×1 16→128 →
//           UnifiedDecoder. One Dropout(p = cfg.unified.dropout) applied to w_mu, w_logvar,
//           z_mu and the decoding Linear, NOT to z_logvar ([SD] calls dropout_layer on
//           z_log_sigma without its `dropout` flag: a Keras Dropout without `training` is inactive
//           in TF1 graph mode).
//           p(z|w,c): Linear dim_w→dim_z·K (μ) and Linear dim_w→dim_z·K (λ) plus an extra
//           trainable bias vector [dim_z·K] initialised to 0.1 ([SD]'s tf.Variable(0.1) bias_add).
//   spatial heads are 1×1 convs 128→dim_w (w_mu, w_logvar) and 128→dim_z (z_mu, z_logvar) on h;
//           p(z|w,c): conv 1×1 dim_w→64 + ReLU → 1×1 convs 64→dim_z·K (μ, λ) + the 0.1 bias.
//           No dropout anywhere ([SD] spatial model has none).
//           Decoder input: conv_dec 1×1 dim_z→128 on the sampled z map [N,dim_z,8,8] (our
//           default: the decoder is a function of the latent, as a VAE requires). With
//           GMVAEConfig::decode_encoder_features the decoder is fed h itself and conv_dec does not
//           exist — [SD]'s quirk (domain_spec §1.3 ◐): the reconstruction then bypasses z.
// Naming: [SD] calls the variance heads "log_sigma" but uses them as log σ² (σ = exp(½·)); here
// they are `*_logvar`. λ ("z_wc_log_sigma_inv") is a log precision: var_c = e^{−λ}.
// Channel layout of the p(z|w,c) outputs: index z·K + c (TF's reshape to [.., dim_z, dim_c]).
//
// Loss ([SD] trainers/GMVAE*.py; every term summed over latent units and locations, averaged
// over the batch), parts {"l1", "kl_z", "kl_w", "c_prior"}:
//   l1      = Σ_pix |x − x̂|, x̂ decoded from a sampled z
//   kl_z    = Σ_c p(c|z)·KL(q(z|x) ‖ p(z|w,c)) with the per-unit
//             KL = ½[(e^{lv} + (μ − μ_c)²)·(e^{λ_c} + 1e-6) − λ_c − lv − 1]
//   kl_w    = KL(q(w|x) ‖ N(0,I)) = ½Σ(μ_w² + e^{lv_w} − lv_w − 1)
//   c_prior = max(Σ_c p(c)·log(K·p(c) + 1e-8), c_lambda) per location: KL(p(c|z) ‖ U(K)) floored
//             at c_lambda — positive sign, the max keeps the term constant (no gradient) while
//             the posterior over c is less peaked than KL = c_lambda; it only penalises a p(c|z)
//             collapsing onto fewer components (KL ≤ log K = 2.197 at K = 9).
//   p(c|z)  = softmax_c Σ_z[−½(z − μ_c)²·e^{λ_c} − λ_c + log π] on the sampled z ([SD]'s formula,
//             with its "−λ" and "log π" rather than the Gaussian's "+½λ − ½log 2π": kept as is).
// Randomness (all from noise()): the head dropout masks (w_mu, w_logvar, z_mu), ε_w, ε_z, then
// the decoding dropout mask.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/unified.h"

namespace uad::models {

/// Hyper-parameters of the GMVAE. Defaults: [SD] run.py / mains (dim_c 9, dim_w 1, c_lambda 1;
/// dim_z 128 dense, 1 spatial).
struct GMVAEConfig {
  UnifiedConfig unified;  // encoder/decoder, dropout (dense bottleneck only), init, dtype
  bool spatial = false;
  int64_t dim_c = 9;  // K mixture components
  int64_t dim_w = 1;
  int64_t dim_z = 128;  // per sample (dense) or per bottleneck location (spatial)
  double c_lambda = 1.0;
  int64_t pzwc_hidden = 64;  // spatial p(z|w,c) 1×1 conv width ([SD] conv_7)
  /// [SD]'s spatial quirk: the decoder reads the encoder feature map, not z. Off by default.
  bool decode_encoder_features = false;

  /// The dense model (dim_z 128).
  static GMVAEConfig dense();
  /// The spatial model (dim_z 1 per 8×8 location).
  static GMVAEConfig spatial_model();
  /// Throws uad::Error naming the bad field (dims < 1, the quirk on a dense model, and the
  /// UnifiedConfig's own checks).
  void validate() const;
};

/// All latent quantities of one forward pass. Layout: latents [N,dim,L] with L = 1 (dense) or
/// b·b (spatial, row-major locations); mixture parameters [N,dim_z,K,L]; p(c|z) [N,K,L].
struct GMVAEOutputs {
  Tensor w_mu, w_logvar, w;         // [N,dim_w,L]
  Tensor z_mu, z_logvar, z;         // [N,dim_z,L]
  Tensor zc_mu, zc_logprec;         // [N,dim_z,K,L]: μ_c(w), λ_c(w)
  Tensor pc;                        // [N,K,L] p(c|z) on the sampled z
  Tensor x_hat;                     // [N,1,S,S]
};

/// The GMVAE (dense or spatial, per GMVAEConfig::spatial). Children "encoder", the heads
/// ("conv_in", "fc_w_mu", "fc_w_logvar", "fc_z_mu", "fc_z_logvar", "fc_dec", "conv_out",
/// "dropout" dense; "w_mu", "w_logvar", "z_mu", "z_logvar", ["conv_dec"] spatial), the prior
/// network ("pzwc_mu", "pzwc_logprec", ["pzwc_hidden"] spatial) with own parameter
/// "pzwc_logprec_bias" [dim_z·K], and "decoder".
class GMVAE : public UnifiedModel {
 public:
  GMVAE(const GMVAEConfig& cfg, Generator& g);
  /// Encodes x [N,1,S,S], samples w and z (ε from noise()), evaluates p(z|w,c) and p(c|z), and
  /// decodes the sampled z (`decode_sample`) or z_mu. Throws uad::Error for a wrong x.
  GMVAEOutputs run(const Tensor& x, bool decode_sample);
  /// z [N,dim_z,L] → x̂ [N,1,S,S] (dense: through fc_dec/conv_out; spatial: conv_dec). Throws for
  /// the spatial quirk configuration (its decoder does not read z) or a wrong z shape.
  Tensor decode(const Tensor& z);
  /// Train mode or set_mc_sampling(true): decodes a sampled z; eval: z_mu (deterministic).
  Tensor reconstruct(const Tensor& x) override;
  /// The loss of the file comment on a sampled z (eval mode too, as the VAE).
  LossTerms loss(const Tensor& x) override;
  bool set_mc_sampling(bool on) override {
    mc_sampling_ = on;
    return true;
  }
  const GMVAEConfig& gmvae_config() const { return gcfg_; }
  std::string type_name() const override { return gcfg_.spatial ? "GMVAESpatial" : "GMVAE"; }

  // ---- the loss terms on the canonical layout (one formula each; used by loss() and tests) --
  /// p(c|z) logits [N,K,L] = Σ_z[−½(z − μ_c)²·e^{λ_c} − λ_c + log π]. z [N,Z,L]; mu, logprec
  /// [N,Z,K,L]. Throws uad::Error for mismatched shapes.
  static Tensor pc_logits(const Tensor& z, const Tensor& mu, const Tensor& logprec);
  /// Σ_c p(c)·KL(q(z|x) ‖ p(z|w,c)) summed over Z and L, batch mean: [] (0-d).
  static Tensor kl_z(const Tensor& z_mu, const Tensor& z_logvar, const Tensor& mu, const Tensor& logprec,
                     const Tensor& pc);
  /// ½Σ(μ² + e^{lv} − lv − 1) summed over dim and L, batch mean: [].
  static Tensor kl_w(const Tensor& w_mu, const Tensor& w_logvar);
  /// Σ_L max(Σ_c p(c)·log(K·p(c) + 1e-8), c_lambda), batch mean: []. pc [N,K,L].
  static Tensor c_prior(const Tensor& pc, double c_lambda);

 private:
  /// p(z|w,c) of the sampled w [N,dim_w,L]: (μ_c, λ_c), each [N,dim_z,K,L].
  std::pair<Tensor, Tensor> conditional_prior(const Tensor& w);

  GMVAEConfig gcfg_;
  bool mc_sampling_ = false;
  std::shared_ptr<UnifiedEncoder> encoder_;
  std::shared_ptr<UnifiedDecoder> decoder_;
  // dense
  std::shared_ptr<nn::Conv2d> conv_in_, conv_out_;
  std::shared_ptr<nn::Linear> fc_w_mu_, fc_w_logvar_, fc_z_mu_, fc_z_logvar_, fc_dec_, fc_pzwc_mu_, fc_pzwc_lp_;
  std::shared_ptr<nn::Dropout> dropout_;
  // spatial
  std::shared_ptr<nn::Conv2d> w_mu_, w_logvar_, z_mu_, z_logvar_, conv_dec_, pzwc_hidden_, pzwc_mu_, pzwc_lp_;
  Tensor lp_bias_;
};

/// Registry entries "gmvae_dense" and "gmvae_spatial" (128×128).
std::vector<ModelSpec> gmvae_family();

}  // namespace uad::models
