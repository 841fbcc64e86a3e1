// The 3-D f-AnoGAN of 001 (Simarro Viana et al. 2021, 001_ee3d74e7538cde67.txt §2 "Model
// architecture"): the 3-D brain GAN of Kwon et al. ([3DB] cyclomon/3dbraingen Model_alphaWGAN.py,
// domain_spec §4) with WGAN-GP, a tanh at the end of the encoder and latent size 2500.
//
// Architecture at 64³, c = 64/scale (channel width c, 2c, 4c, 8c; scale = 1 is the paper's),
// L = latent (2500), x: [N,1,64,64,64] in [−1,1] (network range):
//   Critic3d  conv1 Conv3d 1→c   (k4 s2 p1) → LReLU 0.2                       [N,c,32³]
//             conv2 Conv3d c→2c  (k4 s2 p1) → LayerNorm → LReLU 0.2           [N,2c,16³]
//             conv3 Conv3d 2c→4c (k4 s2 p1) → LayerNorm → LReLU 0.2           [N,4c,8³]
//             conv4 Conv3d 4c→8c (k4 s2 p1) → LayerNorm → LReLU 0.2           [N,8c,4³] = f(x)*
//             conv5 Conv3d 8c→1  (k4 s1 p0), linear, flattened                 [N,1]
//   Encoder3d the same stack with BatchNorm3d where the critic has LayerNorm (Kwon's D/E keep
//             BN), conv5 8c→L (k4 s1 p0) → flatten → tanh (001: "we add a hyperbolic tangent
//             activation in the last encoder")                                 [N,L]
//   Generator3d z [N,L] → view [N,L,1,1,1] → ConvT3d L→8c (k4 s1 p0, no bias) → BN → ReLU [4³]
//             → 3 × [nearest ×2 → Conv3d (k3 s1 p1, no bias) → BN → ReLU]: 8c→4c (8³),
//             4c→2c (16³), 2c→c (32³) → nearest ×2 → Conv3d c→1 (k3 s1 p1, no bias) → tanh
//                                                                              [N,1,64³]
// Decisions (001 gives the architecture only as its Fig. 3, not readable in the text):
//  - Critic without batch norm (a per-sample gradient penalty is invalid with batch statistics,
//    Gulrajani et al. 2017 §4): LayerNorm over (C,D,H,W) where Kwon has BN, with one scale and
//    offset per channel (tflib's layernorm of the 2-D f-AnoGAN critic, domain_spec §3);
//    Fanogan3dConfig::ln_affine = elementwise gives PyTorch's nn.LayerNorm([C,D,H,W]).
//  - f(x) (the "*" intermediate layer of D in 001 Fig. 3) = the last hidden activation
//    (after conv4's LReLU), flattened: 8c·4³ = 32768 features, as the 2-D f-AnoGAN uses the
//    critic's last hidden layer (domain_spec §3).
//  - G's input has the encoder's size L = 2500 ("we increase the original latent space
//    dimension to 2500"; Kwon used 1000), z ~ N(0, I).
//  - Initialisation: PyTorch defaults (Kwon's code does not re-initialise).
// Adversarial training (WGAN-GP, izi_f, the refinement step) lives in train/wgan_gp.h, not in
// the reconstruction trainer.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/layers.h"
#include "models/model.h"

namespace uad::models {

/// Hyper-parameters of the 3-D f-AnoGAN. Defaults: 001 (latent 2500) and [3DB] (64³, c 64,
/// LReLU 0.2).
struct Fanogan3dConfig {
  int64_t latent = 2500;  // L: encoder output and generator input
  int64_t scale = 1;      // channel divisor: c = 64/scale (1..64, dividing 64); tests use 16-64
  double slope = 0.2;     // LeakyReLU of critic and encoder
  double kappa = 1.0;     // izi_f feature weight κ (Eq. 6; domain_spec §3 κ = 1)
  nn::LayerNormAffine ln_affine = nn::LayerNormAffine::per_channel;
  /// true: reconstruct/loss/score take x in [0,1] (the ReconstructionModel contract) and map it
  /// to the network range by 2x − 1; reconstruct maps G's output back by (y + 1)/2.
  /// false: inputs and outputs in [−1,1].
  bool unit_range_input = true;
  nn::Init init = nn::Init::pytorch;
  DType dtype = DType::f32;

  static constexpr int64_t kSize = 64;  // volume side (fixed by the 4 stride-2 levels + k4 head)
  /// Base width c = 64/scale.
  int64_t width() const { return 64 / scale; }
  /// Throws uad::Error naming the bad field (scale not dividing 64, latent ≤ 0, slope < 0).
  void validate() const;
};

/// The critic's score and its feature map f(x).
struct CriticOutput {
  Tensor score;     // [N,1]
  Tensor features;  // [N, 8c·4³] (flattened last hidden activation)
};

/// A critic that also exposes its intermediate features (for izi_f). forward() = score.
class FeatureCritic : public nn::Module {
 public:
  virtual CriticOutput score_and_features(const Tensor& x) = 0;
  Tensor forward(const Tensor& x) override { return score_and_features(x).score; }
};

/// What the adversarial trainer (train/gan_trainer.h) needs of an f-AnoGAN-style model, so that
/// one trainer serves the 2-D and 3-D models: the three networks, the latent size of G's input
/// z ~ N(0, I), the map from the data range [0,1] to the networks' range, κ of izi_f (Eq. 6 of
/// 001) and the model paper's Adam β1 for the WGAN-GP phase (β2 = 0.9 in both).
class GanModel {
 public:
  virtual ~GanModel() = default;
  /// G: z [N, latent_dim()] → x̃ (the shape of a network-range batch).
  virtual nn::Module& generator() = 0;
  /// D: score [N,1] and features f(x).
  virtual FeatureCritic& critic() = 0;
  /// E: x (network range) → z [N, latent_dim()].
  virtual nn::Module& encoder() = 0;
  virtual int64_t latent_dim() const = 0;
  /// x of the ReconstructionModel contract ([0,1]) → the networks' range.
  virtual Tensor to_network_range(const Tensor& x) const = 0;
  /// izi_f feature weight κ.
  virtual double kappa() const = 0;
  /// Adam β1 of the WGAN-GP phase in the model's paper (0 for 001 / Gulrajani, 0.5 for [SD]).
  virtual double default_gan_beta1() const = 0;
};


/// The conv stack shared by critic and encoder: children conv1..conv5, norm2..norm4.
/// x: [N,1,64³] → (head [N,out,1,1,1], hidden [N,8c,4³]). Throws uad::Error naming the model
/// and x's shape unless x is [N,1,64,64,64].
class Conv3dStack : public nn::Module {
 public:
  /// batch_norm: BatchNorm3d (encoder) instead of LayerNorm (critic); out: conv5's channels.
  Conv3dStack(const Fanogan3dConfig& cfg, bool batch_norm, int64_t out, Generator& g);
  struct Out {
    Tensor head, hidden;
  };
  Out run(const Tensor& x, const char* who);

 private:
  Fanogan3dConfig cfg_;
  std::shared_ptr<nn::Conv3d> conv_[5];
  std::shared_ptr<nn::Module> norm_[3];
};

/// The WGAN-GP critic D (no batch norm). x: [N,1,64³] → score [N,1], features [N,8c·64].
class Critic3d : public FeatureCritic {
 public:
  Critic3d(const Fanogan3dConfig& cfg, Generator& g);
  CriticOutput score_and_features(const Tensor& x) override;
  std::string type_name() const override { return "Critic3d"; }

 private:
  std::shared_ptr<Conv3dStack> net_;
};

/// The encoder E. x: [N,1,64³] → z = tanh(·): [N,L] in (−1,1).
class Encoder3d : public nn::Module {
 public:
  Encoder3d(const Fanogan3dConfig& cfg, Generator& g);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Encoder3d"; }

 private:
  std::shared_ptr<Conv3dStack> net_;
};

/// The generator G. z: [N,L] → x̃: [N,1,64³] in (−1,1). Children tconv1, bn1, conv2..conv5,
/// bn2..bn4. Throws uad::Error naming the model unless z is [N,L].
class Generator3d : public nn::Module {
 public:
  Generator3d(const Fanogan3dConfig& cfg, Generator& g);
  Tensor forward(const Tensor& z) override;
  std::string type_name() const override { return "Generator3d"; }

 private:
  Fanogan3dConfig cfg_;
  std::shared_ptr<nn::ConvTranspose3d> tconv1_;
  std::shared_ptr<nn::Conv3d> conv_[4];  // conv2..conv5
  std::shared_ptr<nn::BatchNorm> bn_[4];  // bn1..bn4
};

/// The izi_f terms of 001 Eq. 4-6 on a batch in network range: x̃ = G(E(x)),
/// L_img = ‖x − x̃‖²/n, L_feat = ‖f(x) − f(x̃)‖²/m (means over all elements of the batch),
/// total = L_img + κ·L_feat. f(x) of the real batch is computed without recording.
/// With per_sample the three are [N] (means per sample, the anomaly score A(x) of 001 / [FA]
/// anomaly_detection.py); otherwise scalars. Also returns x̃ (recon).
struct IzifTerms {
  Tensor total, img, feat, recon;
};
IzifTerms izif_terms(nn::Module& encoder, nn::Module& generator, FeatureCritic& critic, const Tensor& x, double kappa,
                     bool per_sample);

/// The whole 3-D f-AnoGAN as a ReconstructionModel: children "generator", "critic", "encoder".
/// reconstruct(x) = G(E(x)); loss(x) = izi_f (parts {"img", "feat"}) — only meaningful after
/// adversarial training; train G and D with train/wgan_gp.h (gan_iteration), E with
/// encoder_izif_step (G and D frozen), never with the reconstruction trainer alone (which would
/// step G and D as well; train/wgan_gp.h freezes them). Inputs per cfg.unit_range_input.
class FAnoGAN3d : public ReconstructionModel, public GanModel {
 public:
  FAnoGAN3d(const Fanogan3dConfig& cfg, Generator& g);
  Tensor reconstruct(const Tensor& x) override;
  LossTerms loss(const Tensor& x) override;
  /// A(x) per sample ([N]) of 001 "Anomaly score" / [FA]: mean_vox (x − x̃)² + κ·mean_feat
  /// (f(x) − f(x̃))², in network range, without recording.
  Tensor anomaly_score(const Tensor& x);
  /// The image-level score of the evaluation (ReconstructionModel::image_score) = anomaly_score.
  Tensor image_score(const Tensor& x) override { return anomaly_score(x); }
  /// x in the model's input convention → network range [−1,1].
  Tensor to_net(const Tensor& x) const;
  const Fanogan3dConfig& config() const { return cfg_; }
  Generator3d& generator() override { return *gen_; }
  Critic3d& critic() override { return *critic_; }
  Encoder3d& encoder() override { return *enc_; }
  int64_t latent_dim() const override { return cfg_.latent; }
  Tensor to_network_range(const Tensor& x) const override { return to_net(x); }
  double kappa() const override { return cfg_.kappa; }
  double default_gan_beta1() const override { return 0.0; }  // 001 / Gulrajani et al.: β = (0, 0.9)
  std::string type_name() const override { return "FAnoGAN3d"; }

 private:
  Fanogan3dConfig cfg_;
  std::shared_ptr<Generator3d> gen_;
  std::shared_ptr<Critic3d> critic_;
  std::shared_ptr<Encoder3d> enc_;
};

/// Registry entries of this family: "fanogan3d" (001, 64³, latent 2500).
std::vector<ModelSpec> fanogan_family();

}  // namespace uad::models
