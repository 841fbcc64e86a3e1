// Training of the adversarially regularised reconstruction models of models/adversarial.h and
// models/anogan.h: the VAE-GAN loop (TrainerKind::vae_gan: AnoVAEGAN of 003/[SD], sAE-GAN and
// sVAE-GAN of 004), the latent-adversarial loop (TrainerKind::latent_adversarial: the Constrained
// AAE of [SD]) and the plain WGAN-GP loop (TrainerKind::wgan_gp: AnoGAN of 004), as step
// functions and one trainer (issue 5 item 3 "adversarial training (the AAE's latent critic;
// VAE-GAN pixel + adversarial)").
//
// vaegan_step (one batch x, models::VaeGanOptions o of the model):
//   critic update, n_critic times (before the VAE update when o.critic_first, else after):
//     x̂ = vae_forward(x).x_hat without recording (a fresh sample and dropout mask each time);
//     WGAN-GP (o.wasserstein): L_D = mean D(x̂) − mean D(x) + λ·GP, GP = train::gradient_penalty
//       (ε ~ U[0,1] per sample) or, with o.gp_axis1_quirk, [SD]'s norm over H only
//       (gradient_penalty_axis1);
//     else 004 Eq. 3: L_D = BCE(D(x), 1) + BCE(D(x̂), 0) on logits (batch means).
//   VAE update (critic frozen): L = rec (L1sum (+ KL)); without a separate generator step the
//     adversarial term is added: + adv_weight·(−mean D(x̂)) (WGAN) or adv_weight·BCE(D(x̂), 1)
//     (= −log Dis(x̂), 004 Eq. 2); opt_ae over autoencoder_parameters().
//   generator update (o.separate_generator_step, AnoVAEGAN): x̂ from a new forward pass,
//     L_G = −mean D(x̂), only generator_parameters() get gradients (opt_g).
// aae_step (one batch x, models::AaeOptions o, 1-based epoch e):
//   AE updates: (e ≤ o.warmup_epochs ? o.ae_steps_warmup : o.ae_steps) steps of opt_ae on
//     ReconstructionModel::loss(x) (Constrained AE: MSE_pix + ρ·MSE_z);
//   critic updates (o.critic_steps): z = Enc(x) without recording, z_p ~ N(0, I) [N,zdim],
//     L_D = mean D(z) − mean D(z_p) + GP(z_p + ... ) (train::gradient_penalty with real z_p, fake
//     z and ε ~ U[0,1]; o.extrapolating_interpolate: real z_p, fake z, weight 1 + ε, i.e.
//     z_p + ε(z_p − z), [SD]'s quirk);
//   one encoder update: L_E = −mean D(Enc(x)), critic frozen, opt_e over encoder_parameters().
// All random draws (ε, z_p, the model's sampling and dropout) come from the Generator argument /
// the model's noise() (the trainer points both at its checkpointed generator).
//
// AdversarialLoopTrainer: the run folder, reproducibility and resume rules of train/trainer.h
// (config.json, last.safetensors every epoch, best.safetensors, log.jsonl cut back on resume; a
// run killed anywhere and resumed ends bit-identical). Optimisers (all Adam, lr = cfg.lr; β1 =
// cfg.gan_beta1 when ≥ 0, else the model's; β2 the model's; the critic's lr × critic_lr_ratio):
//   vae_gan:            "autoencoder", "generator" (separate step only), "critic"
//   latent_adversarial: "autoencoder", "critic", "encoder"
//   wgan_gp:            "generator", "critic" (β from the model's AnoGanConfig: (0, 0.9))
// The WGAN-GP loop (AnoGAN, models/anogan.h): per batch n_critic train::critic_step on the same
// real batch, then one train::generator_step (train/wgan_gp.h; [SD]'s per-batch schedule of its
// fAnoGAN, domain_spec §1.3), λ from the model's config. Its validation loss is the latent
// search's (slow: 100 G/D passes per batch; use --max-val-batches), and val_l1 its "l1" part (the
// same Σ|x − G(z*)|, without a second search).
// The step counts, penalty scale and Adam β of each loop are the model's (VaeGanOptions,
// AaeOptions, AnoGanConfig: the papers' values); TrainConfig's n_critic, gp_lambda, kappa and
// gan_beta2 belong to train/gan_trainer.h and are not used here (gan_beta1 ≥ 0 overrides β1).
// Validation after every epoch (eval mode, NoGradGuard, fixed generator states as trainer.h):
//   val_loss = Σ N·loss(x).total / Σ N (and each part), val_l1 = Σ_slices Σ_pix |x − x̂| / #slices;
// early stopping watches cfg.val_metric ("loss" default; "l1" = [SD]'s validation L1 of the AAE).
// last.safetensors: "model.<name>", "adam_<opt>.exp_avg|exp_avg_sq.<i>"; metadata "format" =
// "uad-adversarial-loop-checkpoint", "version" 1, "model", "loop", TrainState fields,
// "adam_<opt>_steps|_params", "config".
// log.jsonl: {"kind":"step","epoch","step","batch", <the step's values>, "lr","seconds"} and
// {"kind":"epoch","epoch","step","train_<value>"..,"val_loss","val_<part>"..,"val_l1","val",
// "best_val","best_epoch","bad_epochs","improved","stop","lr","epoch_seconds","val_seconds","seconds"}.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/adversarial.h"
#include "models/anogan.h"
#include "train/config.h"
#include "train/jsonl_log.h"
#include "train/optim.h"
#include "train/trainer.h"

namespace uad::io {
class SliceLoader;
}

namespace uad::train {

/// Named values of one step, in a fixed order (for the log and the progress bar).
using StepValues = std::vector<std::pair<const char*, double>>;

/// [SD]'s WGAN-GP penalty quirk (domain_spec §1.3 ◐): x̂ = ε·real + (1 − ε)·fake, g = ∇_x̂ D(x̂)
/// [N,C,H,W], λ·mean over (N,C,W) of (‖g‖₂ over H − 1)² (TF's reduction over axis 1 of NHWC).
/// Differentiable w.r.t. D's parameters when recording. Throws uad::Error unless real and fake
/// are [N,C,H,W] of one shape and eps [N,1,1,1].
Tensor gradient_penalty_axis1(nn::Module& critic, const Tensor& real, const Tensor& fake, const Tensor& eps,
                              double lambda);

/// The losses of one critic update (before it): L_D, mean D(real) − mean D(fake) and the
/// penalty (0 for the cross-entropy discriminator).
struct CriticUpdate {
  double loss, wasserstein, penalty;
};

/// The sub-updates of vaegan_step (file comment), each returning its loss before the update:
/// one critic update (x̂ drawn without recording; ε from g) ...
CriticUpdate vaegan_critic_update(models::VaeGanModel& m, Adam& opt_d, const Tensor& x, Generator& g);
/// ... the VAE update (critic frozen; with the adversarial term when there is no separate
/// generator step). Values: loss, then the model's parts (l1, kl), then "adversarial" (combined).
StepValues vaegan_autoencoder_update(models::VaeGanModel& m, Adam& opt_ae, const Tensor& x);
/// ... the generator update −E[D(x̂)] (critic and non-generator parameters frozen).
double vaegan_generator_update(models::VaeGanModel& m, Adam& opt_g, const Tensor& x);

/// The sub-updates of aae_step, each returning its loss before the update: the AE update on
/// model.loss(x) ...
double aae_autoencoder_update(models::ReconstructionModel& model, models::LatentAdversarialModel& m, Adam& opt_ae,
                              const Tensor& x);
/// ... one latent critic update (z_p and ε from g) ...
CriticUpdate aae_critic_update(models::LatentAdversarialModel& m, Adam& opt_d, const Tensor& x, Generator& g);
/// ... and the encoder update −E[D(Enc(x))].
double aae_encoder_update(models::LatentAdversarialModel& m, Adam& opt_e, const Tensor& x);

/// One VAE-GAN batch update (file comment). opt_g may be null when the model has no separate
/// generator step. Values: loss, l1, (kl), [generator_loss], critic_loss, (wasserstein, penalty
/// | -). Throws uad::Error when x is undefined.
StepValues vaegan_step(models::VaeGanModel& m, Adam& opt_ae, Adam* opt_g, Adam& opt_d, const Tensor& x, Generator& g);

/// One Constrained-AAE batch update (file comment): `model` is m as a ReconstructionModel (its
/// loss()). Values: ae_loss, critic_loss, wasserstein, penalty, encoder_loss.
StepValues aae_step(models::ReconstructionModel& model, models::LatentAdversarialModel& m, Adam& opt_ae, Adam& opt_d,
                    Adam& opt_e, const Tensor& x, int64_t epoch, Generator& g);

class AdversarialLoopTrainer {
 public:
  /// As ReconstructionTrainer's constructor; throws uad::Error when spec.trainer is neither
  /// vae_gan nor latent_adversarial or the model does not implement the matching interface.
  AdversarialLoopTrainer(const TrainConfig& cfg, const models::ModelSpec& spec, bool resume = false);
  ~AdversarialLoopTrainer();
  AdversarialLoopTrainer(const AdversarialLoopTrainer&) = delete;
  AdversarialLoopTrainer& operator=(const AdversarialLoopTrainer&) = delete;

  /// As ReconstructionTrainer::run (kill_after_steps: the test hook; one step = one batch).
  TrainResult run(int64_t kill_after_steps = 0);

  models::ReconstructionModel& model() { return *model_; }
  /// The optimiser named `name` (file comment); throws uad::Error when absent.
  Adam& optimizer(const std::string& name);
  const TrainState& state() const { return state_; }
  const TrainConfig& config() const { return cfg_; }
  Generator& model_generator() { return *gen_; }
  int64_t train_size() const;
  int64_t val_size() const;
  bool resumed() const { return resumed_; }
  /// "vae_gan", "latent_adversarial" or "wgan_gp".
  const char* loop_name() const;

 private:
  struct ValResult;
  ValResult validate();
  bool should_stop() const;
  void save_last();
  void load_last(const std::string& path);
  StepValues step(const Tensor& x, int64_t epoch);

  TrainConfig cfg_;
  Device device_ = Device::cpu;  // where the model and the batches live (select_device(cfg_.device))
  models::ModelSpec spec_;
  std::unique_ptr<Generator> gen_;
  std::shared_ptr<models::ReconstructionModel> model_;
  models::VaeGanModel* vaegan_ = nullptr;
  models::LatentAdversarialModel* aae_ = nullptr;
  models::WganModel* wgan_ = nullptr;
  std::vector<std::pair<std::string, std::unique_ptr<Adam>>> opts_;
  std::unique_ptr<io::SliceLoader> train_loader_, val_loader_;
  std::unique_ptr<JsonlLog> log_;
  TrainState state_;
  bool resumed_ = false, killed_ = false;
  int64_t loader_epoch_ = 0;
  uint64_t val_seed_ = 0;
};

}  // namespace uad::train
