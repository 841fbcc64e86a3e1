// A trained run folder (written by `uad train`, train/trainer.h or train/gan_trainer.h), loaded
// for inference: its resolved configuration, its registry entry and the model with the weights
// of the best validation epoch, in eval mode.
#pragma once
#include <memory>
#include <string>

#include "models/model.h"
#include "train/config.h"

namespace uad::eval {

/// A run ready for inference.
struct LoadedRun {
  std::string dir;                                    ///< the run folder as given
  std::string name;                                   ///< display name: the folder's last component
  train::TrainConfig config;                          ///< `<dir>/config.json`
  const models::ModelSpec* spec = nullptr;            ///< the registry entry of config.model
  std::shared_ptr<models::ReconstructionModel> model; ///< best.safetensors (else last), eval mode
  std::string checkpoint;                             ///< the file the weights came from
  std::string checkpoint_epoch;                       ///< its "epoch" metadata ("" when absent)
};

/// Loads `<dir>/config.json` and the weights of `<dir>/best.safetensors` (falling back to the
/// model part of `last.safetensors` when no best exists yet) into a freshly built model of the
/// configured registry name, in eval mode, on the CPU. Throws uad::Error with one message naming
/// the folder when it does not exist, has no config.json (not a run folder), names an unknown
/// model, has no checkpoint, or the checkpoint does not fit the model (wrong architecture).
LoadedRun load_run(const std::string& dir);

}  // namespace uad::eval
