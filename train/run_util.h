// Helpers shared by the trainers (train/trainer.cpp, train/gan_trainer.cpp,
// train/adversarial_loop.cpp, and the checkpoint reader train/checkpoint.cpp):
// per-purpose seeds, generator states, atomic text files, JSON numbers, progress status strings,
// typed checkpoint metadata and running means. Internal to train/ (namespace run_util).
#pragma once
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "io/atomic_file.h"
#include "tensor/error.h"
#include "tensor/generator.h"
#include "layers/module.h"
#include "train/checkpoint.h"
#include "train/optim.h"

namespace uad::train::run_util {

using json = nlohmann::ordered_json;

using Clock = std::chrono::steady_clock;
inline double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// SplitMix64 (Steele et al. 2014): the per-purpose seeds (loader, default generator,
/// validation) derived from the one run seed.
inline uint64_t derive_seed(uint64_t seed, uint64_t k) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (k + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline GeneratorState state_of(const Generator& g) { return {g.seed(), g.offset()}; }
inline void restore(Generator& g, const GeneratorState& s) { g.set_state(s.seed, s.offset); }

/// Fixed validation noise (train/trainer.h "Randomness"): while alive, the model's generator is at
/// (val_seed, 0) and the default generator at (derive_seed(val_seed, 1), 0) — the same every
/// epoch, so validation values compare like with like; the destructor restores both, so
/// validation never perturbs the training stream.
class ValidationNoise {
 public:
  ValidationNoise(Generator& model_gen, uint64_t val_seed)
      : gen_(model_gen), saved_model_(state_of(model_gen)), saved_default_(state_of(default_generator())) {
    gen_.set_state(val_seed, 0);
    default_generator().set_state(derive_seed(val_seed, 1), 0);
  }
  ~ValidationNoise() {
    restore(gen_, saved_model_);
    restore(default_generator(), saved_default_);
  }
  ValidationNoise(const ValidationNoise&) = delete;
  ValidationNoise& operator=(const ValidationNoise&) = delete;

 private:
  Generator& gen_;
  GeneratorState saved_model_, saved_default_;
};

/// Finite JSON number, or null (JSON has no inf/nan).
inline json num(double x) { return std::isfinite(x) ? json(x) : json(); }

inline std::string status(const std::vector<std::pair<const char*, double>>& v) {
  std::string s;
  char buf[64];
  for (const auto& [n, x] : v) {
    std::snprintf(buf, sizeof buf, "%s%s %.5g", s.empty() ? "" : " ", n, x);
    s += buf;
  }
  return s;
}

inline std::string moment_key(const char* net, const char* which, size_t i) {
  return std::string("adam_") + net + "." + which + "." + std::to_string(i);
}

/// Typed metadata of a checkpoint, with errors naming the file and key.
struct Meta {
  const std::map<std::string, std::string>& m;
  const std::string& path;
  const std::string& get(const std::string& k) const {
    auto it = m.find(k);
    check(it != m.end(), "load checkpoint: ", path, " has no metadata '", k, "'");
    return it->second;
  }
  int64_t i64(const std::string& k) const {
    const std::string& v = get(k);
    errno = 0;
    char* end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    check(!v.empty() && !errno && !*end, "load checkpoint: ", path, ": metadata ", k, " = '", v, "' is not an integer");
    return x;
  }
  uint64_t u64(const std::string& k) const {
    const std::string& v = get(k);
    errno = 0;
    char* end = nullptr;
    const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
    check(!v.empty() && v[0] != '-' && !errno && !*end, "load checkpoint: ", path, ": metadata ", k, " = '", v,
          "' is not a non-negative integer");
    return x;
  }
  double f64(const std::string& k) const {
    const std::string& v = get(k);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    check(!v.empty() && !*end, "load checkpoint: ", path, ": metadata ", k, " = '", v, "' is not a number");
    return x;
  }
};

// ---- Adam state of one network in an adversarial trainer's checkpoint ----
// Moments under moment_key(net, "exp_avg"/"exp_avg_sq", i); metadata adam_<net>_steps and
// adam_<net>_params (train/adversarial_loop.cpp, train/gan_trainer.cpp).

/// Adds `o`'s moments and step count to a checkpoint being written.
inline void put_adam(std::map<std::string, Tensor>& tensors, std::map<std::string, std::string>& meta, Adam& o,
                     const std::string& net) {
  for (size_t i = 0; i < o.exp_avg().size(); ++i) {
    tensors[moment_key(net.c_str(), "exp_avg", i)] = o.exp_avg()[i];
    tensors[moment_key(net.c_str(), "exp_avg_sq", i)] = o.exp_avg_sq()[i];
  }
  meta["adam_" + net + "_steps"] = std::to_string(o.steps());
  meta["adam_" + net + "_params"] = std::to_string(o.exp_avg().size());
}

/// Checks that a checkpoint holds `o`'s state (count, names, shapes) without writing anything.
/// Throws uad::Error naming the file and the tensor.
inline void check_adam(const std::map<std::string, Tensor>& tensors, const Meta& m, Adam& o, const std::string& net) {
  const size_t n = o.exp_avg().size();
  check(m.u64("adam_" + net + "_params") == n, "train: ", m.path, " holds Adam state of the ", net, " for ",
        m.get("adam_" + net + "_params"), " parameters, the model has ", n);
  for (size_t i = 0; i < n; ++i)
    for (const char* which : {"exp_avg", "exp_avg_sq"}) {
      const std::string key = moment_key(net.c_str(), which, i);
      auto it = tensors.find(key);
      check(it != tensors.end(), "train: ", m.path, " has no tensor ", key);
      check(it->second.shape() == o.exp_avg()[i].shape(), "train: ", m.path, ": ", key, " has shape ", it->second.shape(),
            " but the parameter has ", o.exp_avg()[i].shape());
    }
}

/// Copies the checked state into `o` (onto the parameters' device).
inline void take_adam(Adam& o, const std::map<std::string, Tensor>& tensors, const Meta& m, const std::string& net) {
  for (size_t i = 0; i < o.exp_avg().size(); ++i) {
    nn::copy_into(o.exp_avg()[i], tensors.at(moment_key(net.c_str(), "exp_avg", i)));
    nn::copy_into(o.exp_avg_sq()[i], tensors.at(moment_key(net.c_str(), "exp_avg_sq", i)));
  }
  o.set_steps(m.i64("adam_" + net + "_steps"));
}

/// Running means of named values, in first-seen order.
struct Means {
  std::vector<std::pair<const char*, double>> v;
  int64_t n = 0;
  void add(const std::vector<std::pair<const char*, double>>& xs) {
    if (v.empty())
      for (const auto& [k, x] : xs) v.emplace_back(k, 0.0);
    for (size_t i = 0; i < xs.size(); ++i) v[i].second += xs[i].second;
    ++n;
  }
  std::vector<std::pair<const char*, double>> mean() const {
    auto out = v;
    for (auto& [k, x] : out) x /= (double)std::max<int64_t>(n, 1);
    return out;
  }
};


}  // namespace uad::train::run_util
