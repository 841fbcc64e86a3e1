// Training checkpoints: everything a run needs to continue bit-identically, in one safetensors
// file (io/safetensors.h, written atomically: temporary file + fsync + rename).
//
// Layout of `last.safetensors`:
//   tensors   "model.<name>"          the model's state dict (parameters and buffers)
//             "adam.exp_avg.<i>"      Adam's first moment of parameter i (Module::parameters() order)
//             "adam.exp_avg_sq.<i>"   Adam's second moment
//   metadata  "format" = "uad-train-checkpoint", "version" = "1", "model" = registry name,
//             "epoch", "step", "adam_steps", "best_val", "best_epoch", "bad_epochs", "stopped",
//             "stop_reason", "model_rng_seed", "model_rng_offset", "default_rng_seed",
//             "default_rng_offset", "seconds", "log_bytes", "config" (the resolved config JSON)
//   Integers are decimal, doubles printed with 17 significant digits (exact round trip).
// `best.safetensors` is a plain model state dict (nn::load_state reads it) with metadata
// "model", "epoch", "val".
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "layers/module.h"
#include "train/optim.h"

namespace uad::train {

/// The state of a Philox generator (tensor/generator.h): key and counter offset.
struct GeneratorState {
  uint64_t seed = 0, offset = 0;
};

/// The scalar state of a run at the end of an epoch.
struct TrainState {
  int64_t epoch = 0;          ///< completed epochs
  int64_t step = 0;           ///< optimiser steps done
  double best_val = std::numeric_limits<double>::infinity();
  int64_t best_epoch = 0;     ///< 1-based epoch of best_val (0: none yet)
  int64_t bad_epochs = 0;     ///< consecutive epochs without improvement (early-stopping counter)
  bool stopped = false;       ///< the run ended (early stopping or all epochs done)
  std::string stop_reason;    ///< "early_stopping", "epochs" or ""
  GeneratorState model_rng;   ///< the trainer-owned generator given to the model
  GeneratorState default_rng; ///< the process default generator (uad::default_generator())
  double seconds = 0;         ///< training wall time so far (all sessions)
  int64_t log_bytes = 0;      ///< size of log.jsonl when the checkpoint was written
};

/// Writes a checkpoint (layout above) atomically. Throws uad::Error naming the file on I/O errors.
void save_checkpoint(const std::string& path, const std::string& model_name, const nn::Module& model, Adam& optim,
                     const TrainState& state, const std::string& config_json);

/// What load_checkpoint returns besides the state written into model and optimiser.
struct LoadedCheckpoint {
  TrainState state;
  std::string model_name;
  std::string config_json;
};

/// Reads a checkpoint into `model` (strict: every key, every shape) and `optim` (moments and step
/// count). Throws uad::Error naming the file when it is not a training checkpoint, was written for
/// another model (`model_name` differs), or a tensor is missing or mis-shaped; the model and
/// optimiser are untouched then (everything is validated before anything is written).
LoadedCheckpoint load_checkpoint(const std::string& path, const std::string& model_name, nn::Module& model,
                                 Adam& optim);

/// Adds the fields of `s` to checkpoint metadata under the keys of the layout above (epoch, step,
/// best_val, best_epoch, bad_epochs, stopped, stop_reason, model_rng_*, default_rng_*, seconds,
/// log_bytes): the part every trainer's checkpoint shares.
void put_state(std::map<std::string, std::string>& meta, const TrainState& s);
/// Reads those fields back. Throws uad::Error naming `path` and the key when one is missing or
/// not a number.
TrainState read_state(const std::map<std::string, std::string>& meta, const std::string& path);

/// Formats a double with 17 significant digits ("inf"/"nan" as such), read back exactly by
/// std::strtod.
std::string exact_double(double v);

}  // namespace uad::train
