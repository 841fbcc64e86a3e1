// The start and the folder of a training run, shared by the three trainers (train/trainer.cpp,
// train/adversarial_loop.cpp, train/gan_trainer.cpp).
#pragma once
#include <cstdint>
#include <memory>

#include "train/config.h"
#include "train/jsonl_log.h"

namespace uad::train {

/// The checks every trainer makes before building anything: cfg.data is a dataset folder (has
/// manifest.json), and cfg.out holds no run unless `resume`. Returns whether the run resumes
/// (resume requested and a last checkpoint exists). Throws uad::Error naming the folder and the
/// command that fixes it.
bool check_run_start(const TrainConfig& cfg, bool resume);

/// Creates cfg.out, writes the resolved configuration (config_path, atomically) and opens the
/// JSONL log (log_path): truncated to `log_bytes` when resuming, so lines written after the last
/// checkpoint are dropped. Throws uad::Error when the folder cannot be created.
std::unique_ptr<JsonlLog> open_run_folder(const TrainConfig& cfg, bool resumed, int64_t log_bytes);

}  // namespace uad::train
