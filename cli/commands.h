// Subcommands of the `uad` tool: one file per subcommand, each registering itself here.
#pragma once
#include <CLI/CLI.hpp>

namespace uad::cli {

/// `uad info`: build configuration, threads, and what the CUDA runtime reports.
void add_info_command(CLI::App& app);
/// `uad smoke`: trains a tiny convolutional autoencoder for a few steps on synthetic blobs and
/// prints its loss (the main job until detection lands).
void add_smoke_command(CLI::App& app);
/// `uad data prepare`: builds a dataset folder (views + manifest.json) from healthy volumes and patients.
void add_data_command(CLI::App& app);
void add_train_command(CLI::App& app);  ///< `uad train`: trains a reconstruction model into a run folder (train/trainer.h).
void add_models_command(CLI::App& app);
/// `uad detect`: one scan → reconstruction, anomaly map, segmentation (NIfTI), overview PNG, result.json.
void add_detect_command(CLI::App& app);
/// `uad evaluate`: runs side by side on a dataset's test splits → study.md / .csv / .json.
void add_evaluate_command(CLI::App& app);  ///< `uad models`: the registry as a table (name, input shape, parameters, source).

}  // namespace uad::cli
