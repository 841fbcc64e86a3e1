#include "eval/run.h"

#include <filesystem>

#include "io/safetensors.h"
#include "layers/module.h"
#include "tensor/error.h"
#include "tensor/generator.h"

namespace fs = std::filesystem;

namespace uad::eval {

LoadedRun load_run(const std::string& dir) {
  check(fs::is_directory(dir), "run folder '", dir, "' does not exist (train one with `uad train --out ", dir, "`)");
  const fs::path cfg_path = fs::path(dir) / "config.json";
  check(fs::is_regular_file(cfg_path), "'", dir, "' is not a run folder: no config.json");
  LoadedRun r;
  r.dir = dir;
  r.name = fs::path(dir).lexically_normal().filename().string();
  if (r.name.empty() || r.name == ".") r.name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
  train::apply_config_file(r.config, cfg_path.string());
  r.spec = &models::find_model(r.config.model);
  Generator g(r.config.seed);
  r.model = r.spec->make(g);

  const fs::path best = fs::path(dir) / "best.safetensors";
  const fs::path last = fs::path(dir) / "last.safetensors";
  try {
    if (fs::is_regular_file(best)) {
      r.checkpoint = best.string();
      auto meta = nn::load_state(*r.model, r.checkpoint);
      if (auto it = meta.find("epoch"); it != meta.end()) r.checkpoint_epoch = it->second;
    } else if (fs::is_regular_file(last)) {
      r.checkpoint = last.string();
      io::SafetensorsFile f = io::load_safetensors(r.checkpoint);
      r.model->load_state_dict(nn::sub_state_dict(f.tensors, "model"));
      if (auto it = f.metadata.find("epoch"); it != f.metadata.end()) r.checkpoint_epoch = it->second;
    } else {
      fail("run folder '", dir, "' has no checkpoint (best.safetensors or last.safetensors): train it first");
    }
  } catch (const Error& e) {
    if (r.checkpoint.empty()) throw;
    fail("cannot load '", r.checkpoint, "' into model '", r.config.model, "': ", e.what());
  }
  r.model->eval();
  return r;
}

}  // namespace uad::eval
