// The start and the folder of a training run: train/run_folder.h.
#include "train/run_folder.h"

#include <filesystem>
#include <string>

#include "io/atomic_file.h"
#include "tensor/error.h"
#include "train/trainer.h"

namespace uad::train {

namespace fs = std::filesystem;

bool check_run_start(const TrainConfig& cfg, bool resume) {
  check(fs::is_directory(cfg.data), "train: no dataset folder at ", cfg.data, " (build one with `uad data prepare --out ", cfg.data,
        "`)");
  check(fs::exists(fs::path(cfg.data) / "manifest.json"), "train: ", cfg.data,
        " is not a dataset folder (no manifest.json; build one with `uad data prepare`)");
  const std::string last = last_checkpoint_path(cfg.out);
  const bool have_last = fs::exists(last);
  check(resume || !have_last, "train: ", cfg.out, " already holds a run (", last, "); pass --resume to continue it or choose another --out");
  return resume && have_last;
}

std::unique_ptr<JsonlLog> open_run_folder(const TrainConfig& cfg, bool resumed, int64_t log_bytes) {
  std::error_code ec;
  fs::create_directories(cfg.out, ec);
  check(!ec && fs::is_directory(cfg.out), "train: cannot create the run folder ", cfg.out, ec ? ": " + ec.message() : std::string());
  io::write_text_file_atomic(config_path(cfg.out), config_to_json(cfg));
  return std::make_unique<JsonlLog>(log_path(cfg.out), resumed ? log_bytes : 0);
}

}  // namespace uad::train
