// The adversarial trainer of the f-AnoGAN models (every registry entry with
// TrainerKind::wgan_gp_izif, models::is_adversarial: the unified 2-D "fanogan" and the 3-D
// "fanogan3d"; the networks are reached through models::GanModel, so the trainer is not
// per-model). Issue 5; 001 §2 "Training
// strategy" 1-2 (Eq. 2-6); domain_spec §1.3 "fAnoGAN 2D, unified" and §3.
//
// Phase 1, "gan" (gan_epochs epochs; TrainConfig::gan_epochs, 0 = epochs): one step = one WGAN-GP
// iteration (train::gan_iteration): a critic_step on each of n_critic consecutive real batches of
// the shuffled training split, then one generator_step; the last steps of an epoch take the
// remaining (< n_critic) batches. G and D use Adam(lr, gan_beta1, gan_beta2); gan_beta1 < 0 means
// the model's paper value (GanModel::default_gan_beta1: 0.5 for [SD]'s 2-D model, 0 for 001).
// No validation and no early stopping in this phase.
// Phase 2, "encoder" (up to `epochs` epochs): one step = one izi_f update of E
// (train::encoder_izif_step, Adam(lr, beta1, beta2), G and D frozen in eval mode), then
// validation: val_loss = Σ_batches N·izi_f(x) / Σ N over the validation split (eval mode, under
// NoGradGuard, izi_f = L_img + κ·L_feat of 001 Eq. 6, κ = TrainConfig::kappa or the model's).
// Early stopping on val_loss (patience, min_delta) as the reconstruction trainer;
// best.safetensors = the whole model (G, D and E) after the best encoder epoch.
// Phase 3, "refine" (up to refine_epochs epochs; TrainConfig::refine_epochs, < 0 = the model's,
// default_refine_epochs below): 001 §2 step 3, "a fine-tuning of the networks weights" in which
// E and G are optimised together on L_Encoder (Eq. 6). One step = train::refine_step: one
// Adam(lr, beta1, beta2) over E's and G's parameters (fresh moments at the phase start), D frozen,
// G with its running batch-norm statistics (eval mode). It starts once the encoder phase is over
// (its epochs done or early stopping), at global epoch refine_start + 1 (refine_start = the last
// encoder epoch, checkpointed); bad_epochs restarts at 0 there, best_val continues, so
// best.safetensors is the best izi_f epoch over the encoder and refinement phases; early
// stopping as in phase 2. Validation as in phase 2. A finished run resumed with a larger
// refine_epochs refines it further.
// Real batches come from the loader in [0,1] and are mapped by GanModel::to_network_range
// (2x − 1 for the tanh 3-D model). Slice models read a SliceLoader, volume models (input
// [1,D,H,W]) a VolumeLoader of cfg.view (e.g. "vol64").
//
// The run folder and the reproducibility rules are those of train/trainer.h (config.json,
// last.safetensors every epoch, best.safetensors, log.jsonl cut back on resume; every random
// draw — z, ε, dropout masks — from the trainer-owned generator given to the model, whose state
// and the default generator's are checkpointed): a run killed at any point and resumed gives the
// same weights bit for bit. Epochs are counted over all phases: epoch E ∈ [1, gan_epochs] is
// phase-1 epoch E, E ∈ (gan_epochs, refine_start] (or > gan_epochs before the refinement
// started) encoder epoch E − gan_epochs, E > refine_start refinement epoch E − refine_start.
//
// last.safetensors: tensors "model.<name>" (state dict), "adam_critic|adam_generator|adam_encoder|
// adam_refine.exp_avg|exp_avg_sq.<i>"; metadata "format" = "uad-gan-checkpoint", "version" = "2",
// "model", "epoch", "step", "gan_epochs", "refine_start" (0 = not started), "best_val", "best_epoch", "bad_epochs", "stopped", "stop_reason",
// "model_rng_seed|offset", "default_rng_seed|offset", "seconds", "log_bytes", "adam_<net>_steps",
// "adam_<net>_params", "config". A version-1 checkpoint (no refinement state) loads with
// refine_start 0 and fresh refinement moments.
//
// log.jsonl records ("seconds" = training wall time of the run so far):
//   {"kind":"step","phase":"gan","epoch":E,"step":S,"batch":B,"critic_loss":..,"wasserstein":..,
//    "penalty":..,"generator_loss":..,"lr":..,"seconds":..}     (B: the last real batch used;
//    the critic values are those of the iteration's last critic step)
//   {"kind":"step","phase":"encoder"|"refine","epoch":E,"step":S,"batch":B,"loss":..,"img":..,
//    "feat":..,"lr":..,"seconds":..}
//   {"kind":"epoch","phase":"gan","epoch":E,"phase_epoch":e,"step":S,"train_critic_loss":..,
//    "train_wasserstein":..,"train_penalty":..,"train_generator_loss":..,"stop":"",
//    "lr":..,"epoch_seconds":..,"seconds":..}                  (train_* = means over the steps)
//   {"kind":"epoch","phase":"encoder"|"refine","epoch":E,"phase_epoch":e,"step":S,"train_loss":..,
//    "train_img":..,"train_feat":..,"val_loss":..,"val_img":..,"val_feat":..,"val":..,
//    "best_val":..,"best_epoch":..,"bad_epochs":..,"improved":..,"stop":""|"early_stopping"|
//    "epochs","lr":..,"epoch_seconds":..,"val_seconds":..,"seconds":..}
#pragma once
#include <memory>
#include <string>

#include "models/fanogan3d.h"
#include "models/model.h"
#include "tensor/generator.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/jsonl_log.h"
#include "train/optim.h"
#include "train/trainer.h"

namespace uad::io {
class Loader;
}

namespace uad::train {

/// The refinement epochs of a model when TrainConfig::refine_epochs < 0: 10 for the 3-D
/// f-AnoGAN (models::FAnoGAN3d; 001 introduces the step but gives no epoch count in the text we
/// have — our choice: a fine-tuning budget of 10 epochs, cut short by early stopping as the
/// encoder phase), 0 for every other model (the 2-D f-AnoGAN of [SD]/[FA] has no refinement).
int64_t default_refine_epochs(const models::GanModel& m);

class AdversarialTrainer {
 public:
  /// Prepares a run as ReconstructionTrainer does (validate_config, dataset/view checks, model
  /// built from a generator seeded with cfg.seed, resume from <out>/last.safetensors, config.json
  /// written last). Throws uad::Error with one clear message when the entry is not adversarial
  /// (models::is_adversarial) or its model is not a models::GanModel, val_metric is not "loss",
  /// the dataset/split/view is missing or its item shape differs from spec.input_shape, or the
  /// checkpoint belongs to another model or is not a GAN checkpoint; nothing is created in <out>.
  AdversarialTrainer(const TrainConfig& cfg, const models::ModelSpec& spec, bool resume = false);
  ~AdversarialTrainer();
  AdversarialTrainer(const AdversarialTrainer&) = delete;
  AdversarialTrainer& operator=(const AdversarialTrainer&) = delete;

  /// Runs the phases until the encoder's (then, with refine_epochs() > 0, the refinement's)
  /// epochs are done or early stopping ends them (a complete run returns at once). kill_after_steps > 0: the test hook of ReconstructionTrainer::run
  /// (return after that many steps of this session, without a checkpoint). TrainResult's epochs
  /// count all phases; best_epoch is a global epoch; val_history holds this session's encoder and
  /// refinement epochs' val_loss.
  TrainResult run(int64_t kill_after_steps = 0);

  /// The validation izi_f loss of the current model (the phase-2/3 validation: eval mode, fixed
  /// validation noise, generator states restored, so training is not perturbed). For tests and
  /// tools (e.g. the loss before training).
  double validation_loss();

  models::ReconstructionModel& model() { return *model_; }
  models::GanModel& gan() { return *gan_; }
  Adam& critic_optimizer() { return *opt_d_; }
  Adam& generator_optimizer() { return *opt_g_; }
  Adam& encoder_optimizer() { return *opt_e_; }
  /// The refinement optimiser (over E's then G's parameters, train::refine_parameters).
  Adam& refine_optimizer() { return *opt_r_; }
  const TrainState& state() const { return state_; }
  const TrainConfig& config() const { return cfg_; }
  Generator& model_generator() { return *gen_; }
  /// Phase-1 epochs of this run (cfg.gan_epochs, or cfg.epochs when 0).
  int64_t gan_epochs() const { return gan_epochs_; }
  /// Refinement epochs of this run (cfg.refine_epochs, or default_refine_epochs when < 0).
  int64_t refine_epochs() const { return refine_epochs_; }
  /// The last encoder epoch (global) once the refinement has started, else 0.
  int64_t refine_start() const { return refine_start_; }
  /// κ and the WGAN-GP Adam β1 in use (the config's, or the model's when negative).
  double kappa() const { return kappa_; }
  double gan_beta1() const { return gan_beta1_; }
  int64_t train_size() const;
  int64_t val_size() const;
  bool resumed() const { return resumed_; }

 private:
  struct ValResult;
  ValResult validate();
  bool encoder_done() const;
  bool should_stop() const;
  void save_last();
  void load_last(const std::string& path);
  TrainResult result(double session_seconds) const;

  TrainConfig cfg_;
  Device device_ = Device::cpu;  // where the networks and the batches live (select_device(cfg_.device))
  models::ModelSpec spec_;
  std::unique_ptr<Generator> gen_;  // before model_: outlives it
  std::shared_ptr<models::ReconstructionModel> model_;
  models::GanModel* gan_ = nullptr;
  std::unique_ptr<Adam> opt_d_, opt_g_, opt_e_, opt_r_;
  std::unique_ptr<io::Loader> train_loader_, val_loader_;
  std::unique_ptr<JsonlLog> log_;
  TrainState state_;
  int64_t gan_epochs_ = 0, refine_epochs_ = 0, refine_start_ = 0;
  double kappa_ = 1.0, gan_beta1_ = 0.0;
  bool resumed_ = false, killed_ = false;
  int64_t loader_epoch_ = 0;
  uint64_t val_seed_ = 0;
  std::string saved_config_;  // the checkpoint's config JSON on resume
};

}  // namespace uad::train
