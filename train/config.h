// The configuration of a training run (`uad train`), resolvable from defaults, a JSON config
// file and explicit command-line values, and written as `config.json` next to the checkpoints.
//
// Every key can be given in a config file (`--config FILE.json`, a JSON object whose keys are the
// names below) and on the command line (`--batch-size` for key "batch_size": dashes for
// underscores). Precedence, lowest first: the defaults below; on --resume the run's own
// `config.json`; the --config file; explicit command-line values.
//
// Defaults follow the unified study's run.py (domain_spec §1.1): batch 8, Adam lr 1e-4 with
// β1 = 0.5 (β2 = 0.999, Keras/PyTorch default), up to 1000 epochs, early stopping after 5
// epochs without improvement of the validation loss.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace uad::train {

struct TrainConfig {
  std::string model;                 ///< registry name (models/model.h find_model)
  std::string data;                  ///< dataset folder built by `uad data prepare` (manifest.json)
  std::string out;                   ///< run folder: config.json, last/best.safetensors, log.jsonl
  std::string view = "slices128";    ///< dataset view fed to the model (slice views: [N,1,H,W])
  std::string train_split = "train";
  std::string val_split = "val";
  int64_t epochs = 1000;             ///< total epochs of the run (a resumed run counts the done ones)
  int64_t batch_size = 8;
  double lr = 1e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  /// Early stopping: stop after this many consecutive epochs whose validation value is not
  /// below best − min_delta. 0 disables early stopping.
  int64_t patience = 5;
  double min_delta = 0.0;
  /// What early stopping watches: "loss" = the model's loss() total in eval mode (with the
  /// validation noise fixed, see train/trainer.h); "l1" = Σ_pixels |x − reconstruct(x)| averaged
  /// over the validation slices (deterministic for every model).
  std::string val_metric = "loss";
  uint64_t seed = 0;                 ///< model initialisation, loader shuffle, every training noise
  std::string device = "auto";       ///< "auto", "cpu" or "cuda" (tensor/device.h select_device)
  int64_t max_train_batches = 0;     ///< > 0: only the first batches of each training epoch (quick runs)
  int64_t max_val_batches = 0;       ///< > 0: only the first validation batches
  bool progress = true;              ///< progress bar on stderr and one summary line per epoch on stdout
  // ---- adversarial training (train/gan_trainer.h: models with TrainerKind::wgan_gp_izif) ----
  // Phase 1 trains G and D with WGAN-GP (Adam(lr, gan_beta1, gan_beta2)) for gan_epochs epochs;
  // phase 2 trains E with izi_f (Adam(lr, beta1, beta2), G and D frozen) for up to `epochs`
  // epochs with early stopping; phase 3 (001's refinement) fine-tunes E and G together on izi_f
  // (one Adam(lr, beta1, beta2) over both, D frozen) for up to refine_epochs epochs with early
  // stopping. Ignored by the reconstruction trainer.
  int64_t gan_epochs = 0;            ///< phase-1 epochs; 0 = the same as `epochs` ([SD] runs both phases numEpochs)
  int64_t n_critic = 5;              ///< critic steps (one real batch each) per generator step (001, domain_spec §3)
  double gp_lambda = 10.0;           ///< gradient-penalty weight λ (001 Eq. 2)
  double kappa = -1.0;               ///< izi_f feature weight κ (001 Eq. 6); < 0 = the model's (1)
  double gan_beta1 = -1.0;           ///< WGAN-GP Adam β1; < 0 = the model's paper value (2-D [SD] 0.5, 3-D 001 0)
  double gan_beta2 = 0.9;            ///< WGAN-GP Adam β2 (Gulrajani et al.; [SD])
  /// Refinement epochs (001 §2 step 3: E and G fine-tuned on izi_f after the encoder phase);
  /// < 0 = the model's (train::default_refine_epochs: 0 for the 2-D f-AnoGANs, 10 for fanogan3d),
  /// 0 = no refinement.
  int64_t refine_epochs = -1;
};

/// The keys of TrainConfig in declaration order (the JSON names).
const std::vector<std::string>& config_keys();

/// Sets one key from its text form ("1e-4", "8", "true", "slices128"). Throws uad::Error naming
/// the key for an unknown key (listing the valid ones) or a value that does not parse as the
/// key's type (integers must be whole, booleans true/false/1/0).
void set_config_value(TrainConfig& c, const std::string& key, const std::string& value);

/// Applies every key of a JSON object text (numbers, strings or booleans). `where` names the
/// source in errors. Throws uad::Error for invalid JSON, a non-object, an unknown key or a value
/// of the wrong type.
void apply_config_json(TrainConfig& c, const std::string& json_text, const std::string& where);
/// apply_config_json on a file's contents; throws uad::Error naming the file when unreadable.
void apply_config_file(TrainConfig& c, const std::string& path);

/// The configuration as a pretty-printed JSON object (every key of config_keys()); reading it
/// back with apply_config_json gives the same configuration (doubles printed round-trip exact).
std::string config_to_json(const TrainConfig& c);

/// Resolves a run's configuration: defaults → (resume: `<out>/config.json` when it exists) →
/// `config_file` (when non-empty) → `overrides` (key, text value) in order. `out` is taken from
/// the file/overrides to find the run's config.json. Throws uad::Error as the functions above.
TrainConfig resolve_config(const std::string& config_file, const std::vector<std::pair<std::string, std::string>>& overrides,
                           bool resume);

/// Checks the values: model, data and out non-empty; epochs, batch_size ≥ 1; lr ≥ 0 and finite;
/// beta1, beta2 ∈ [0,1); adam_eps > 0; patience, max_*_batches ≥ 0; min_delta ≥ 0; val_metric
/// "loss" or "l1"; gan_epochs ≥ 0, n_critic ≥ 1, gp_lambda ≥ 0 and finite, kappa and gan_beta1
/// finite (negative = the model's value), gan_beta1 < 1, gan_beta2 ∈ [0,1), refine_epochs ≥ −1. Throws one uad::Error naming the key (e.g. "train: --model is required").
void validate_config(const TrainConfig& c);

}  // namespace uad::train
