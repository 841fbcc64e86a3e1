// Training checkpoints in safetensors (see train/checkpoint.h for the layout).
#include "train/checkpoint.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "io/safetensors.h"
#include "tensor/error.h"
#include "train/run_util.h"

namespace uad::train {

namespace {

constexpr const char* kFormat = "uad-train-checkpoint";

std::string moment_key(const char* which, size_t i) { return std::string("adam.") + which + "." + std::to_string(i); }


}  // namespace

std::string exact_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void put_state(std::map<std::string, std::string>& meta, const TrainState& s) {
  meta["epoch"] = std::to_string(s.epoch);
  meta["step"] = std::to_string(s.step);
  meta["best_val"] = exact_double(s.best_val);
  meta["best_epoch"] = std::to_string(s.best_epoch);
  meta["bad_epochs"] = std::to_string(s.bad_epochs);
  meta["stopped"] = s.stopped ? "true" : "false";
  meta["stop_reason"] = s.stop_reason;
  meta["model_rng_seed"] = std::to_string(s.model_rng.seed);
  meta["model_rng_offset"] = std::to_string(s.model_rng.offset);
  meta["default_rng_seed"] = std::to_string(s.default_rng.seed);
  meta["default_rng_offset"] = std::to_string(s.default_rng.offset);
  meta["seconds"] = exact_double(s.seconds);
  meta["log_bytes"] = std::to_string(s.log_bytes);
}

TrainState read_state(const std::map<std::string, std::string>& meta, const std::string& path) {
  const run_util::Meta m{meta, path};
  TrainState s;
  s.epoch = m.i64("epoch");
  s.step = m.i64("step");
  s.best_val = m.f64("best_val");
  s.best_epoch = m.i64("best_epoch");
  s.bad_epochs = m.i64("bad_epochs");
  s.stopped = m.get("stopped") == "true";
  s.stop_reason = m.get("stop_reason");
  s.model_rng = {m.u64("model_rng_seed"), m.u64("model_rng_offset")};
  s.default_rng = {m.u64("default_rng_seed"), m.u64("default_rng_offset")};
  s.seconds = m.f64("seconds");
  s.log_bytes = m.i64("log_bytes");
  return s;
}

void save_checkpoint(const std::string& path, const std::string& model_name, const nn::Module& model, Adam& optim,
                     const TrainState& s, const std::string& config_json) {
  std::map<std::string, Tensor> tensors = nn::prefixed_state_dict(model.state_dict(), "model");
  for (size_t i = 0; i < optim.exp_avg().size(); ++i) {
    tensors[moment_key("exp_avg", i)] = optim.exp_avg()[i];
    tensors[moment_key("exp_avg_sq", i)] = optim.exp_avg_sq()[i];
  }
  std::map<std::string, std::string> meta = {
      {"format", kFormat},
      {"version", "1"},
      {"model", model_name},
      {"adam_steps", std::to_string(optim.steps())},
      {"adam_params", std::to_string(optim.exp_avg().size())},
      {"config", config_json},
  };
  put_state(meta, s);
  io::save_safetensors(path, tensors, meta);
}

LoadedCheckpoint load_checkpoint(const std::string& path, const std::string& model_name, nn::Module& model,
                                 Adam& optim) {
  io::SafetensorsFile f = io::load_safetensors(path);
  const run_util::Meta m{f.metadata, path};
  check(f.metadata.count("format") && f.metadata.at("format") == kFormat, "load_checkpoint: ", path,
        " is not a uad training checkpoint (no metadata format = ", kFormat, ")");
  LoadedCheckpoint out;
  out.model_name = m.get("model");
  check(out.model_name == model_name, "load_checkpoint: ", path, " was written for model '", out.model_name,
        "', not '", model_name, "'");
  out.config_json = f.metadata.count("config") ? f.metadata.at("config") : "{}";
  out.state = read_state(f.metadata, path);
  const int64_t adam_steps = m.i64("adam_steps");

  // Validate the optimiser tensors before anything is written.
  const size_t n = optim.exp_avg().size();
  check(m.u64("adam_params") == n, "load_checkpoint: ", path, " holds Adam state for ", m.get("adam_params"),
        " parameters, the model has ", n);
  for (size_t i = 0; i < n; ++i)
    for (const char* which : {"exp_avg", "exp_avg_sq"}) {
      const std::string k = moment_key(which, i);
      auto it = f.tensors.find(k);
      check(it != f.tensors.end(), "load_checkpoint: ", path, " has no tensor ", k);
      check(it->second.shape() == optim.exp_avg()[i].shape(), "load_checkpoint: ", path, ": ", k, " has shape ",
            it->second.shape(), " but the parameter has ", optim.exp_avg()[i].shape());
    }
  try {
    model.load_state_dict(nn::sub_state_dict(f.tensors, "model"), true);  // validates fully before writing
  } catch (const Error& e) {
    fail("load_checkpoint: ", path, ": ", e.what());
  }
  for (size_t i = 0; i < n; ++i) {
    nn::copy_into(optim.exp_avg()[i], f.tensors.at(moment_key("exp_avg", i)));
    nn::copy_into(optim.exp_avg_sq()[i], f.tensors.at(moment_key("exp_avg_sq", i)));
  }
  optim.set_steps(adam_steps);
  return out;
}

}  // namespace uad::train
