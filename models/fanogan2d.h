// The unified 2-D f-AnoGAN of the Baur/Denner comparative study (003_4ad4637332258bd7.txt §III.B
// "GAN-based" 2; domain_spec §1.3 "fAnoGAN 2D, unified"; [SD] models/fanogan.py,
// trainers/fAnoGAN.py), built from the unified encoder/decoder of models/unified.h.
//
// Architecture at S = 128, b = 8, z = 128 (UnifiedConfig defaults), x: [N,1,128,128] in [0,1]:
//   Encoder2d   UnifiedEncoder (BatchNorm)                      [N,128,8,8]
//               → conv_in Conv1×1 128→16 (linear) → flatten     [N,1024]
//               → fc_z Linear 1024→128 → dropout → tanh         z: [N,128] in (−1,1)
//   Generator2d fc_dec Linear 128→1024 → dropout → reshape [N,16,8,8] → conv_out Conv1×1 16→128
//               → UnifiedDecoder (LayerNorm over (H,W) per sample and channel, Keras
//               LayerNormalization([1,2]), elementwise γ, β of shape [H,W]) → sigmoid
//                                                               x̃: [N,1,128,128] in (0,1)
//   Critic2d    UnifiedEncoder (LayerNorm)                      f(x): [N,128,8,8] (the features)
//               → head Conv1×1 128→1 (= Keras Dense(1) per location) [N,1,8,8]
//               → mean over the 64 locations                    score: [N,1]
// Decisions:
//  - The sigmoid output makes [0,1] the network range: no rescaling of the data (to_network_range
//    is the identity), unlike the tanh 3-D model.
//  - Dropout (p = UnifiedConfig::dropout, 0.2) where [SD] applies its one dropout layer: on
//    fc_z's output (before the tanh) and after fc_dec; active in train mode only. The critic has
//    none. Masks come from ReconstructionModel::noise() (set_generator).
//  - The critic score is the mean of the per-location scores ([SD] reduces d over all axes in
//    its WGAN losses); the gradient penalty is taken over all of (C,H,W) (Gulrajani et al.;
//    [SD]'s norm over axis 1 only is a quirk not reproduced, domain_spec §1.3).
//  - LayerNorm eps 1e-3 (Keras), BatchNorm Keras constants (models/unified.h).
// Training: train/gan_trainer.h (WGAN-GP for G and D, Adam β = (0.5, 0.9) as [SD]; then izi_f for E
// with G and D frozen, κ = 1), never the reconstruction trainer.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/fanogan3d.h"
#include "models/unified.h"

namespace uad::models {

/// E: x [N,1,S,S] → z = tanh(dropout(fc_z(flatten(conv_in(UnifiedEncoder_BN(x)))))): [N,zdim].
/// Children "net" (UnifiedEncoder), "conv_in", "fc_z", "dropout". Throws uad::Error naming
/// Encoder2d and x's shape unless x is [N,1,S,S].
class Encoder2d : public nn::Module {
 public:
  Encoder2d(const UnifiedConfig& cfg, Generator& g);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Encoder2d"; }

 private:
  UnifiedConfig cfg_;
  std::shared_ptr<UnifiedEncoder> net_;
  std::shared_ptr<nn::Conv2d> conv_in_;
  std::shared_ptr<nn::Linear> fc_z_;
  std::shared_ptr<nn::Dropout> dropout_;
};

/// G: z [N,zdim] → x̃ = sigmoid(UnifiedDecoder_LN(conv_out(reshape(dropout(fc_dec(z)))))):
/// [N,1,S,S]. Children "fc_dec", "dropout", "conv_out", "net" (UnifiedDecoder). Throws uad::Error
/// naming Generator2d unless z is [N,zdim].
class Generator2d : public nn::Module {
 public:
  Generator2d(const UnifiedConfig& cfg, Generator& g);
  Tensor forward(const Tensor& z) override;
  std::string type_name() const override { return "Generator2d"; }

 private:
  UnifiedConfig cfg_;
  std::shared_ptr<nn::Linear> fc_dec_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Conv2d> conv_out_;
  std::shared_ptr<UnifiedDecoder> net_;
};

/// D: x [N,1,S,S] → score [N,1] (mean of the per-location Conv1×1 128→1), features
/// [N, c_n·b·b] = the flattened LayerNorm-encoder map (8·8·128 = 8192). Children "net"
/// (UnifiedEncoder with LayerNorm), "head". Throws uad::Error naming Critic2d unless x is
/// [N,1,S,S].
class Critic2d : public FeatureCritic {
 public:
  Critic2d(const UnifiedConfig& cfg, Generator& g);
  CriticOutput score_and_features(const Tensor& x) override;
  std::string type_name() const override { return "Critic2d"; }

 private:
  UnifiedConfig cfg_;
  std::shared_ptr<UnifiedEncoder> net_;
  std::shared_ptr<nn::Conv2d> head_;
};

/// The 2-D f-AnoGAN as a ReconstructionModel and GanModel: children "generator", "critic",
/// "encoder". cfg.norm is ignored (E uses batch norm, G and D layer norm, as above).
/// reconstruct(x) = G(E(x)); loss(x) = izi_f (models::izif_terms, parts {"img", "feat"});
/// x in [0,1] = network range. Only meaningful after adversarial training (train/gan_trainer.h).
class FAnoGAN2d : public UnifiedModel, public GanModel {
 public:
  FAnoGAN2d(const UnifiedConfig& cfg, Generator& g, double kappa = 1.0);
  Tensor reconstruct(const Tensor& x) override;
  LossTerms loss(const Tensor& x) override;
  /// A(x) per sample [N] (domain_spec §3 anomaly_detection.py): mean_pix (x − x̃)² + κ·mean_feat
  /// (f(x) − f(x̃))², x̃ = G(E(x)), without recording, in the current modes.
  Tensor anomaly_score(const Tensor& x);
  /// The image-level score of the evaluation (ReconstructionModel::image_score) = anomaly_score.
  Tensor image_score(const Tensor& x) override { return anomaly_score(x); }

  Generator2d& generator() override { return *gen_; }
  Critic2d& critic() override { return *critic_; }
  Encoder2d& encoder() override { return *enc_; }
  int64_t latent_dim() const override { return cfg_.zdim; }
  Tensor to_network_range(const Tensor& x) const override { return x; }
  double kappa() const override { return kappa_; }
  double default_gan_beta1() const override { return 0.5; }  // [SD] Adam(lr, 0.5, 0.9)
  std::string type_name() const override { return "FAnoGAN2d"; }

 private:
  double kappa_;
  std::shared_ptr<Generator2d> gen_;
  std::shared_ptr<Critic2d> critic_;
  std::shared_ptr<Encoder2d> enc_;
};

/// Registry entries of this family: "fanogan" (unified 2-D f-AnoGAN, 128×128, z 128).
std::vector<ModelSpec> fanogan2d_family();

}  // namespace uad::models
