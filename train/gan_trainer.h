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
// Real batches come from the loader in [0,1] and are mapped by GanModel::to_network_range
// (2x − 1 for the tanh 3-D model). Slice models read a SliceLoader, volume models (input
// [1,D,H,W]) a VolumeLoader of cfg.view (e.g. "vol64").
//
// The run folder and the reproducibility rules are those of train/trainer.h (config.json,
// last.safetensors every epoch, best.safetensors, log.jsonl cut back on resume; every random
// draw — z, ε, dropout masks — from the trainer-owned generator given to the model, whose state
// and the default generator's are checkpointed): a run killed at any point and resumed gives the
// same weights bit for bit. Epochs are counted over both phases: epoch E ∈ [1, gan_epochs] is
// phase-1 epoch E, E > gan_epochs is encoder epoch E − gan_epochs.
//
// last.safetensors: tensors "model.<name>" (state dict), "adam_critic|adam_generator|adam_encoder
// .exp_avg|exp_avg_sq.<i>"; metadata "format" = "uad-gan-checkpoint", "version" = "1", "model",
// "epoch", "step", "gan_epochs", "best_val", "best_epoch", "bad_epochs", "stopped", "stop_reason",
// "model_rng_seed|offset", "default_rng_seed|offset", "seconds", "log_bytes", "adam_<net>_steps",
// "adam_<net>_params", "config".
//
// log.jsonl records ("seconds" = training wall time of the run so far):
//   {"kind":"step","phase":"gan","epoch":E,"step":S,"batch":B,"critic_loss":..,"wasserstein":..,
//    "penalty":..,"generator_loss":..,"lr":..,"seconds":..}     (B: the last real batch used;
//    the critic values are those of the iteration's last critic step)
//   {"kind":"step","phase":"encoder","epoch":E,"step":S,"batch":B,"loss":..,"img":..,"feat":..,
//    "lr":..,"seconds":..}
//   {"kind":"epoch","phase":"gan","epoch":E,"phase_epoch":e,"step":S,"train_critic_loss":..,
//    "train_wasserstein":..,"train_penalty":..,"train_generator_loss":..,"stop":"",
//    "lr":..,"epoch_seconds":..,"seconds":..}                  (train_* = means over the steps)
//   {"kind":"epoch","phase":"encoder","epoch":E,"phase_epoch":e,"step":S,"train_loss":..,
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

  /// Runs both phases until the encoder's epochs are done or early stopping triggers (a complete
  /// run returns at once). kill_after_steps > 0: the test hook of ReconstructionTrainer::run
  /// (return after that many steps of this session, without a checkpoint). TrainResult's epochs
  /// count both phases; best_epoch is a global epoch; val_history holds this session's encoder
  /// epochs' val_loss.
  TrainResult run(int64_t kill_after_steps = 0);

  models::ReconstructionModel& model() { return *model_; }
  models::GanModel& gan() { return *gan_; }
  Adam& critic_optimizer() { return *opt_d_; }
  Adam& generator_optimizer() { return *opt_g_; }
  Adam& encoder_optimizer() { return *opt_e_; }
  const TrainState& state() const { return state_; }
  const TrainConfig& config() const { return cfg_; }
  Generator& model_generator() { return *gen_; }
  /// Phase-1 epochs of this run (cfg.gan_epochs, or cfg.epochs when 0).
  int64_t gan_epochs() const { return gan_epochs_; }
  /// κ and the WGAN-GP Adam β1 in use (the config's, or the model's when negative).
  double kappa() const { return kappa_; }
  double gan_beta1() const { return gan_beta1_; }
  int64_t train_size() const;
  int64_t val_size() const;
  bool resumed() const { return resumed_; }

 private:
  struct ValResult;
  ValResult validate();
  bool should_stop() const;
  void save_last();
  void load_last(const std::string& path);
  TrainResult result(double session_seconds) const;

  TrainConfig cfg_;
  models::ModelSpec spec_;
  std::unique_ptr<Generator> gen_;  // before model_: outlives it
  std::shared_ptr<models::ReconstructionModel> model_;
  models::GanModel* gan_ = nullptr;
  std::unique_ptr<Adam> opt_d_, opt_g_, opt_e_;
  std::unique_ptr<io::Loader> train_loader_, val_loader_;
  std::unique_ptr<JsonlLog> log_;
  TrainState state_;
  int64_t gan_epochs_ = 0;
  double kappa_ = 1.0, gan_beta1_ = 0.0;
  bool resumed_ = false, killed_ = false;
  int64_t loader_epoch_ = 0;
  uint64_t val_seed_ = 0;
  std::string saved_config_;  // the checkpoint's config JSON on resume
};

}  // namespace uad::train
