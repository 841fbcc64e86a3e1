// The trainer of reconstruction models (models/model.h ReconstructionModel: AE, VAE, Context AE,
// ...): epochs of Adam steps on a dataset's training slices, validation after each epoch, early
// stopping, a checkpoint every epoch, exact resume, a progress bar and a JSON-lines log
// (issue 5 item 3; settings of domain_spec §1.1).
//
// Run folder (TrainConfig::out):
//   config.json        the resolved configuration (train/config.h), written before training
//   last.safetensors   checkpoint after every epoch (train/checkpoint.h): model, Adam moments and
//                      step count, generator states, epoch, best-so-far, early-stopping counter
//   best.safetensors   the model state dict of the epoch with the best validation value
//   log.jsonl          one line per optimiser step and one per epoch (below)
// Every file is replaced atomically (temporary file + rename) except log.jsonl, which is appended
// line by line and cut back to the checkpoint's recorded size on resume.
//
// Per epoch: model.train(); for each batch x [N,1,H,W] of the training split (shuffled per epoch,
// io/loader.h) the model's loss(x).total is minimised by one Adam step (β1 0.5, β2 0.999, lr 1e-4
// by default). Then validation: model.eval() under NoGradGuard over the whole validation split:
//   val_loss = Σ_batches N·loss(x).total / Σ N    (each term of loss(x).parts likewise)
//   val_l1   = Σ_slices Σ_pixels |x − reconstruct(x)| / #slices   (L1 summed over pixels,
//              averaged over slices as domain_spec §1.1 — comparable across models)
// Early stopping watches val_loss (TrainConfig::val_metric "loss", default) or val_l1 ("l1"):
// an epoch improves when its value < best − min_delta; after `patience` consecutive epochs
// without improvement training stops (SD trainers/AEMODEL.py indicate_early_stopping).
//
// Randomness, and why a resumed run is bit-identical to an uninterrupted one:
//   * the loader's shuffle of epoch e depends only on (loader seed, e) (io/loader.h);
//   * the model is built with ModelSpec::make(g) from a trainer-owned Generator g seeded with
//     TrainConfig::seed (so its initial weights depend on the seed only). CONTRACT with models/:
//     a model draws every training-time random number (dropout masks, VAE ε, context masks)
//     from ReconstructionModel::noise(), which the trainer points at g (set_generator, which also
//     sets every nn::Dropout of the tree); a model that still draws from uad::default_generator()
//     is reproducible too, by the next point;
//   * the trainer seeds default_generator() (a process-wide side effect) and saves the state
//     (seed, offset) of both generators in every checkpoint; resume restores them;
//   * validation noise is fixed: before validating, both generators are set to a fixed
//     validation state (the same every epoch, so val_loss compares like with like even for a
//     model whose loss() samples in eval mode) and restored afterwards, so validation never
//     perturbs the training stream.
// Kernels are deterministic for a fixed thread count, so with the same seed and thread count a
// run killed at any point and resumed from last.safetensors ends with the same weights bit for
// bit (and the same log lines, except the "seconds" fields).
//
// log.jsonl records (numbers as JSON numbers; "seconds" = training wall time of the whole run so
// far, all sessions):
//   {"kind":"step","epoch":E,"step":S,"batch":B,"loss":L,"<term>":T...,"lr":LR,"seconds":SEC}
//      E 1-based epoch, S 1-based optimiser step of the run, B 0-based batch within the epoch,
//      loss = loss(x).total, one field per loss(x).parts name.
//   {"kind":"epoch","epoch":E,"step":S,"train_loss":..,"train_<term>":..,"val_loss":..,
//    "val_<term>":..,"val_l1":..,"val":(the watched value),"best_val":..,"best_epoch":..,
//    "bad_epochs":..,"improved":true|false,"stop":""|"early_stopping"|"epochs","lr":LR,
//    "epoch_seconds":..,"val_seconds":..,"seconds":SEC}
//      train_* are means over the epoch's steps.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"
#include "tensor/generator.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/jsonl_log.h"
#include "train/optim.h"

namespace uad::io {
class SliceLoader;
}

namespace uad::train {

/// What one ReconstructionTrainer::run did.
struct TrainResult {
  int64_t epochs_done = 0;      ///< completed epochs of the run (all sessions)
  int64_t steps = 0;            ///< optimiser steps of the run (all sessions)
  double best_val = 0;          ///< best watched validation value
  int64_t best_epoch = 0;       ///< its 1-based epoch
  bool early_stopped = false;   ///< ended by early stopping
  bool finished = false;        ///< the run is complete (early stopping or all epochs)
  bool killed = false;          ///< stopped by run(kill_after_steps) without a checkpoint
  std::vector<double> val_history;  ///< watched validation value of each epoch of this session
  double seconds = 0;           ///< wall time of this session
};

class ReconstructionTrainer {
 public:
  /// Prepares a run of model `spec` on `cfg` (validate_config): checks that `cfg.data` holds a
  /// dataset, opens the training and validation loaders of cfg.view, checks that the view's slice
  /// shape [1,H,W] is spec.input_shape, builds the model and Adam. With `resume` and an existing
  /// `<out>/last.safetensors` it continues that run (model, optimiser, generators, counters, log);
  /// with resume and no checkpoint yet it starts from scratch (a run killed in its first epoch).
  /// Without resume, an `<out>` that already holds last.safetensors is an error (nothing is
  /// overwritten). Writes `<out>/config.json`. Throws uad::Error with one clear message for a bad
  /// configuration, a missing dataset/split/view, a shape mismatch, or a checkpoint of another
  /// model; nothing is created in `<out>` then.
  ReconstructionTrainer(const TrainConfig& cfg, const models::ModelSpec& spec, bool resume = false);
  ~ReconstructionTrainer();
  ReconstructionTrainer(const ReconstructionTrainer&) = delete;
  ReconstructionTrainer& operator=(const ReconstructionTrainer&) = delete;

  /// Trains until cfg.epochs epochs are done or early stopping triggers (see the file comment).
  /// A run that is already complete returns at once. kill_after_steps > 0 is a test hook: return
  /// right after that many optimiser steps of this session as if the process had been killed —
  /// no checkpoint, the log keeps the lines of the unfinished epoch (resume drops them).
  TrainResult run(int64_t kill_after_steps = 0);

  models::ReconstructionModel& model() { return *model_; }
  Adam& optimizer() { return *optim_; }
  const TrainState& state() const { return state_; }
  const TrainConfig& config() const { return cfg_; }
  /// The generator the model was built with (its training noise, see the file comment).
  Generator& model_generator() { return *gen_; }
  /// Items (slices) of the training / validation split.
  int64_t train_size() const;
  int64_t val_size() const;
  /// True when the constructor continued a checkpoint.
  bool resumed() const { return resumed_; }

 private:
  struct ValResult;
  ValResult validate();
  bool should_stop() const;
  void save_last();

  TrainConfig cfg_;
  Device device_ = Device::cpu;  // where the model and the batches live (select_device(cfg_.device))
  models::ModelSpec spec_;
  std::unique_ptr<Generator> gen_;  // declared before model_: outlives it
  std::shared_ptr<models::ReconstructionModel> model_;
  std::unique_ptr<Adam> optim_;
  std::unique_ptr<io::SliceLoader> train_loader_, val_loader_;
  std::unique_ptr<JsonlLog> log_;
  TrainState state_;
  bool resumed_ = false;
  bool killed_ = false;
  int64_t loader_epoch_ = 0;  // the epoch train_loader_ serves next
  uint64_t loader_seed_ = 0, val_seed_ = 0;
};

/// Path helpers: <out>/last.safetensors, <out>/best.safetensors, <out>/log.jsonl, <out>/config.json.
std::string last_checkpoint_path(const std::string& out);
std::string best_checkpoint_path(const std::string& out);
std::string log_path(const std::string& out);
std::string config_path(const std::string& out);

}  // namespace uad::train
