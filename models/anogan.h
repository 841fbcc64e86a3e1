// AnoGAN (Schlegl et al. 2017, ref. [13] of 004_9a4588773591f227.txt) as used by the Baur-2018
// comparison (004 §3: "AnoGAN [13], latent 64"; "The required iterative reconstruction of testing
// samples was computed in 100 steps"): a DCGAN (Radford et al. 2016) at 256², trained with
// WGAN-GP (train/adversarial_loop.h, TrainerKind::wgan_gp), whose reconstruction of x is G(z*),
// z* found by an iterative search over the latent.
//
// Architecture (S = 256, latent 64, all UNVERIFIED — 004 gives only the latent size; the DCGAN
// layout of Radford et al. with one 4×4 stride-2 level per doubling):
//   generator  Linear 64 → 512·4·4 → reshape [N,512,4,4] → BatchNorm → ReLU,
//              5 × [ConvTranspose2d 4×4 s2 p1 → BatchNorm → ReLU], channels 512 → 256, 128, 64, 32, 16
//              (4² → 128²), ConvTranspose2d 4×4 s2 p1 16 → 1 → sigmoid     x̃: [N,1,256,256] in (0,1)
//   critic     6 × [Conv2d 4×4 s2 p1 → LeakyReLU(0.2)], channels 1 → 16, 32, 64, 128, 256, 512
//              (256² → 4²), no normalisation (WGAN-GP forbids batch norm in the critic; Gulrajani
//              et al. §4); features f(x) = the [N,512,4,4] map flattened; head Linear 8192 → 1.
//   Sigmoid output: the data range [0,1] is the network range (as models/fanogan2d.h).
// Iterative latent search (Schlegl 2017 §2.2-2.3, Eq. 3-5): z₀ ~ N(0, I) from the model's noise
// generator, then `search_steps` (100, 004) Adam steps on z minimising, per sample,
//   L(z) = (1 − λ)·Σ_pix |x − G(z)| + λ·Σ_feat |f(x) − f(G(z))|,   λ = 0.1 (Schlegl 2017 §3),
// Adam lr search_lr = 0.05, β = (0.9, 0.999) (UNVERIFIED: neither paper gives the optimiser's step
// size; Schlegl's code uses Adam). G and D are used in their current modes with frozen parameters.
// reconstruct(x) = G(z*); image_score(x) = L(z*) per sample (the anomaly score A(x), Eq. 5);
// loss(x) = batch mean of L(z*), parts {"l1", "feat"} (the validation loss of the trainer).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/layers.h"
#include "models/fanogan3d.h"  // FeatureCritic, CriticOutput
#include "models/model.h"

namespace uad::models {

struct AnoGanConfig {
  int64_t image_size = 256;                                    // S, = 4·2^(|gen_channels|)
  int64_t latent = 64;                                         // 004 Table 1
  std::vector<int64_t> gen_channels{512, 256, 128, 64, 32, 16};  // at 4², 8², ..., S/2
  std::vector<int64_t> critic_channels{16, 32, 64, 128, 256, 512};  // at S/2, ..., 4²
  int64_t search_steps = 100;  // 004 §3
  double search_lambda = 0.1;  // Schlegl 2017 λ
  double search_lr = 0.05;     // Adam step size on z (unverified)
  int64_t n_critic = 5;        // WGAN-GP (Gulrajani et al.)
  double gp_lambda = 10.0;
  double beta1 = 0.0, beta2 = 0.9;  // WGAN-GP Adam (001, Gulrajani et al.)
  nn::Init init = nn::Init::dcgan;  // N(0, 0.02) weights, BN γ ~ N(1, 0.02) (Radford et al.)
  DType dtype = DType::f32;
  /// Throws uad::Error naming the field: S ≠ 4·2^|gen_channels| or 4·2^|critic_channels|,
  /// non-positive latent / steps, λ outside [0,1].
  void validate() const;
};

/// z [N,latent] → x̃ [N,1,S,S]. Children "fc", "bn0", "blocks" (Sequential of {ConvT, BN, ReLU}),
/// "out".
class DcganGenerator : public nn::Module {
 public:
  DcganGenerator(const AnoGanConfig& cfg, Generator& g);
  Tensor forward(const Tensor& z) override;
  std::string type_name() const override { return "DcganGenerator"; }

 private:
  AnoGanConfig cfg_;
  std::shared_ptr<nn::Linear> fc_;
  std::shared_ptr<nn::BatchNorm> bn0_;
  std::shared_ptr<nn::Sequential> blocks_;
  std::shared_ptr<nn::ConvTranspose2d> out_;
};

/// x [N,1,S,S] → score [N,1], features [N, c_last·16]. Children "net", "head".
class DcganCritic : public FeatureCritic {
 public:
  DcganCritic(const AnoGanConfig& cfg, Generator& g);
  CriticOutput score_and_features(const Tensor& x) override;
  std::string type_name() const override { return "DcganCritic"; }

 private:
  AnoGanConfig cfg_;
  std::shared_ptr<nn::Sequential> net_;
  std::shared_ptr<nn::Linear> head_;
};

/// What train/adversarial_loop.h's WGAN-GP loop needs (no encoder, unlike GanModel).
class WganModel {
 public:
  virtual ~WganModel() = default;
  virtual nn::Module& generator() = 0;
  virtual FeatureCritic& critic() = 0;
  virtual int64_t latent_dim() const = 0;
  virtual const AnoGanConfig& wgan_config() const = 0;
};

/// The result of the latent search: z* [N,latent], G(z*) [N,1,S,S], per-sample terms [N].
struct LatentSearch {
  Tensor z, x_hat, score, l1, feat;
};

/// AnoGAN: children "generator", "critic".
class AnoGAN : public ReconstructionModel, public WganModel {
 public:
  AnoGAN(const AnoGanConfig& cfg, Generator& g);
  /// The iterative search (header comment), without recording. Throws uad::Error unless x is
  /// [N,1,S,S].
  LatentSearch search(const Tensor& x);
  Tensor reconstruct(const Tensor& x) override { return search(x).x_hat; }
  LossTerms loss(const Tensor& x) override;
  Tensor image_score(const Tensor& x) override { return search(x).score; }
  nn::Module& generator() override { return *gen_; }
  FeatureCritic& critic() override { return *critic_; }
  int64_t latent_dim() const override { return cfg_.latent; }
  const AnoGanConfig& wgan_config() const override { return cfg_; }
  std::string type_name() const override { return "AnoGAN"; }

 private:
  AnoGanConfig cfg_;
  std::shared_ptr<DcganGenerator> gen_;
  std::shared_ptr<DcganCritic> critic_;
};

/// Registry entry "anogan" (256², latent 64, TrainerKind::wgan_gp).
std::vector<ModelSpec> anogan_family();

}  // namespace uad::models
