// The interface every reconstruction-based anomaly model implements (AE, VAE, Context AE, ...),
// and the registry that names them.
//
// Contract shared by models/ (the networks) and train/ (the trainers): a model is trained on
// healthy slices only; its reconstruction x̂ of a test slice gives the residual x − x̂.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "layers/dropout.h"
#include "layers/module.h"
#include "tensor/generator.h"
#include "tensor/tensor.h"

namespace uad::models {

/// The loss of one batch: `total` is what the optimiser minimises (a scalar); `parts` are its
/// named terms for logging (e.g. {"l1", ...}, {"kl", ...}), each a scalar.
struct LossTerms {
  Tensor total;
  std::vector<std::pair<std::string, Tensor>> parts;
};

/// A reconstruction-based anomaly model. Input x: [N,1,H,W] (2-D) or [N,1,D,H,W] (3-D),
/// intensities in [0,1].
class ReconstructionModel : public nn::Module {
 public:
  /// x → reconstruction x̂ of the same shape. In eval mode deterministic (a VAE decodes μ).
  virtual Tensor reconstruct(const Tensor& x) = 0;
  /// The training loss on a batch of healthy x (call in train mode), with its terms.
  virtual LossTerms loss(const Tensor& x) = 0;
  Tensor forward(const Tensor& x) override { return reconstruct(x); }
  /// An image-level anomaly score per sample, [N] f32, for models that define their own (the
  /// f-AnoGAN score A(x) of 001, "Anomaly score"). The default returns an undefined Tensor: the
  /// evaluation then scores an image by its anomaly map (eval/evaluate.h).
  virtual Tensor image_score(const Tensor& x) {
    (void)x;
    return Tensor();
  }
  /// Monte-Carlo sampling of the latent at inference (the Bayesian VAE of 003 §III.B: decode
  /// z = μ + ε·σ in eval mode too). Returns false (and does nothing) for models without a
  /// sampled latent; VAEs override it and return true.
  virtual bool set_mc_sampling(bool on) {
    (void)on;
    return false;
  }
  /// The generator of every random draw of the model — dropout masks (set on every Dropout of
  /// the tree, so call after construction), a VAE's ε, context masks. nullptr (the default)
  /// means default_generator(). Not owned: g must outlive the model's use. Trainers point it at
  /// a generator whose state they checkpoint.
  void set_generator(Generator* g) {
    noise_ = g;
    nn::set_dropout_generator(*this, g);
  }
  /// The generator set_generator chose (default_generator() when none).
  Generator& noise() const { return noise_ ? *noise_ : default_generator(); }

 private:
  Generator* noise_ = nullptr;
};

/// How a model is trained (which trainer `uad train` runs).
enum class TrainerKind {
  reconstruction,  ///< train/trainer.h ReconstructionTrainer: minimise loss(x) on healthy slices
  wgan_gp_izif,    ///< train/gan_trainer.h: WGAN-GP on G and D, then the izi_f encoder (f-AnoGAN, 001)
  vae_gan,             ///< train/adversarial_loop.h: VAE(-GAN) step + critic steps (AnoVAEGAN, 004 sAE-/sVAE-GAN)
  latent_adversarial,  ///< train/adversarial_loop.h: AE steps, latent critic, encoder step (Constrained AAE)
  wgan_gp,             ///< train/adversarial_loop.h: WGAN-GP of G and D only (AnoGAN; reconstruction by latent search)
};

/// One registry entry: the model's name (as typed on the command line), its input shape
/// [1,H,W] or [1,D,H,W] (without the batch dim), the paper it comes from, a constructor taking
/// the Philox generator used for its initialisation, and the trainer it needs.
struct ModelSpec {
  std::string name;
  Shape input_shape;
  std::string source;  // e.g. "003 §3.2 (unified AE, dense bottleneck); domain_spec §1.2"
  std::function<std::shared_ptr<ReconstructionModel>(Generator&)> make;
  TrainerKind trainer = TrainerKind::reconstruction;
};

/// Marks an entry as trained adversarially (TrainerKind::wgan_gp_izif).
inline void mark_adversarial(ModelSpec& spec) { spec.trainer = TrainerKind::wgan_gp_izif; }
/// True when `spec` is trained by train/gan_trainer.h.
inline bool is_adversarial(const ModelSpec& spec) { return spec.trainer == TrainerKind::wgan_gp_izif; }

/// Every registered model, in a stable order.
const std::vector<ModelSpec>& registry();
/// The entry named `name`; throws uad::Error listing the valid names when unknown.
const ModelSpec& find_model(const std::string& name);

}  // namespace uad::models
