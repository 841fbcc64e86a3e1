// Training configuration: one table of keys drives parsing, JSON output and the key list.
#include "train/config.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <variant>

#include "tensor/error.h"

namespace uad::train {

namespace {

using Member = std::variant<std::string TrainConfig::*, int64_t TrainConfig::*, uint64_t TrainConfig::*,
                            double TrainConfig::*, bool TrainConfig::*>;

struct Key {
  const char* name;
  Member member;
};

const std::vector<Key>& table() {
  static const std::vector<Key> t = {
      {"model", &TrainConfig::model},
      {"data", &TrainConfig::data},
      {"out", &TrainConfig::out},
      {"view", &TrainConfig::view},
      {"train_split", &TrainConfig::train_split},
      {"val_split", &TrainConfig::val_split},
      {"epochs", &TrainConfig::epochs},
      {"batch_size", &TrainConfig::batch_size},
      {"lr", &TrainConfig::lr},
      {"beta1", &TrainConfig::beta1},
      {"beta2", &TrainConfig::beta2},
      {"adam_eps", &TrainConfig::adam_eps},
      {"patience", &TrainConfig::patience},
      {"min_delta", &TrainConfig::min_delta},
      {"val_metric", &TrainConfig::val_metric},
      {"seed", &TrainConfig::seed},
      {"device", &TrainConfig::device},
      {"max_train_batches", &TrainConfig::max_train_batches},
      {"max_val_batches", &TrainConfig::max_val_batches},
      {"progress", &TrainConfig::progress},
      {"gan_epochs", &TrainConfig::gan_epochs},
      {"n_critic", &TrainConfig::n_critic},
      {"gp_lambda", &TrainConfig::gp_lambda},
      {"kappa", &TrainConfig::kappa},
      {"gan_beta1", &TrainConfig::gan_beta1},
      {"gan_beta2", &TrainConfig::gan_beta2},
      {"refine_epochs", &TrainConfig::refine_epochs},
  };
  return t;
}

std::string key_list() {
  std::string s;
  for (const auto& k : table()) s += (s.empty() ? "" : ", ") + std::string(k.name);
  return s;
}

const Key& find_key(const std::string& key) {
  for (const auto& k : table())
    if (key == k.name) return k;
  fail("train config: unknown key '", key, "' (valid keys: ", key_list(), ")");
}

[[noreturn]] void bad_value(const std::string& key, const std::string& value, const char* what) {
  fail("train config: ", key, " = '", value, "' is not ", what);
}

int64_t parse_int(const std::string& key, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || errno || *end) bad_value(key, v, "an integer");
  return x;
}

uint64_t parse_uint(const std::string& key, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  if (v.empty() || v[0] == '-') bad_value(key, v, "a non-negative integer");
  const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (errno || *end) bad_value(key, v, "a non-negative integer");
  return x;
}

double parse_double(const std::string& key, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || errno || *end) bad_value(key, v, "a number");
  return x;
}

bool parse_bool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  bad_value(key, v, "a boolean (true/false)");
}

}  // namespace

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& e : table()) k.push_back(e.name);
    return k;
  }();
  return keys;
}

void set_config_value(TrainConfig& c, const std::string& key, const std::string& value) {
  const Key& k = find_key(key);
  std::visit(
      [&](auto m) {
        using T = std::remove_reference_t<decltype(c.*m)>;
        if constexpr (std::is_same_v<T, std::string>) c.*m = value;
        else if constexpr (std::is_same_v<T, int64_t>) c.*m = parse_int(key, value);
        else if constexpr (std::is_same_v<T, uint64_t>) c.*m = parse_uint(key, value);
        else if constexpr (std::is_same_v<T, double>) c.*m = parse_double(key, value);
        else c.*m = parse_bool(key, value);
      },
      k.member);
}

void apply_config_json(TrainConfig& c, const std::string& text, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail("train config: ", where, " is not valid JSON: ", e.what());
  }
  check(j.is_object(), "train config: ", where, " must hold a JSON object of settings");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    std::string s;
    if (v.is_string()) s = v.get<std::string>();
    else if (v.is_boolean()) s = v.get<bool>() ? "true" : "false";
    else if (v.is_number_unsigned()) s = std::to_string(v.get<uint64_t>());
    else if (v.is_number_integer()) s = std::to_string(v.get<int64_t>());
    else if (v.is_number_float()) s = v.dump();
    else fail("train config: ", where, ": key '", key, "' must be a number, a string or a boolean, got ", v.dump());
    try {
      set_config_value(c, key, s);
    } catch (const Error& e) {
      fail(e.what(), " (in ", where, ")");
    }
  }
}

void apply_config_file(TrainConfig& c, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  check(f.good(), "train config: cannot read config file ", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  apply_config_json(c, ss.str(), path);
}

std::string config_to_json(const TrainConfig& c) {
  nlohmann::ordered_json j;
  for (const auto& k : table()) std::visit([&](auto m) { j[k.name] = c.*m; }, k.member);
  return j.dump(2) + "\n";
}

TrainConfig resolve_config(const std::string& config_file, const std::vector<std::pair<std::string, std::string>>& overrides,
                           bool resume) {
  auto layered = [&](TrainConfig c) {
    if (!config_file.empty()) apply_config_file(c, config_file);
    for (const auto& [k, v] : overrides) set_config_value(c, k, v);
    return c;
  };
  TrainConfig c = layered(TrainConfig{});
  if (resume && !c.out.empty()) {
    const std::string saved = (std::filesystem::path(c.out) / "config.json").string();
    if (std::filesystem::exists(saved)) {
      TrainConfig base;
      apply_config_file(base, saved);
      c = layered(base);
    }
  }
  return c;
}

void validate_config(const TrainConfig& c) {
  check(!c.model.empty(), "train: --model is required (the model name; `uad models` lists them)");
  check(!c.data.empty(), "train: --data is required (a dataset folder built by `uad data prepare`)");
  check(!c.out.empty(), "train: --out is required (the run folder)");
  check(!c.view.empty(), "train: --view must not be empty");
  check(c.epochs >= 1, "train: epochs must be >= 1, got ", c.epochs);
  check(c.batch_size >= 1, "train: batch_size must be >= 1, got ", c.batch_size);
  check(std::isfinite(c.lr) && c.lr >= 0, "train: lr must be a finite number >= 0, got ", c.lr);
  check(c.beta1 >= 0 && c.beta1 < 1, "train: beta1 must be in [0,1), got ", c.beta1);
  check(c.beta2 >= 0 && c.beta2 < 1, "train: beta2 must be in [0,1), got ", c.beta2);
  check(c.adam_eps > 0, "train: adam_eps must be > 0, got ", c.adam_eps);
  check(c.patience >= 0, "train: patience must be >= 0 (0 disables early stopping), got ", c.patience);
  check(c.min_delta >= 0, "train: min_delta must be >= 0, got ", c.min_delta);
  check(c.max_train_batches >= 0, "train: max_train_batches must be >= 0, got ", c.max_train_batches);
  check(c.max_val_batches >= 0, "train: max_val_batches must be >= 0, got ", c.max_val_batches);
  check(c.val_metric == "loss" || c.val_metric == "l1", "train: val_metric must be 'loss' or 'l1', got '", c.val_metric,
        "'");
  check(c.gan_epochs >= 0, "train: gan_epochs must be >= 0 (0 = the same as epochs), got ", c.gan_epochs);
  check(c.n_critic >= 1, "train: n_critic must be >= 1, got ", c.n_critic);
  check(std::isfinite(c.gp_lambda) && c.gp_lambda >= 0, "train: gp_lambda must be a finite number >= 0, got ",
        c.gp_lambda);
  check(std::isfinite(c.kappa), "train: kappa must be finite (< 0 = the model's value), got ", c.kappa);
  check(std::isfinite(c.gan_beta1) && c.gan_beta1 < 1, "train: gan_beta1 must be < 1 (< 0 = the model's value), got ",
        c.gan_beta1);
  check(c.gan_beta2 >= 0 && c.gan_beta2 < 1, "train: gan_beta2 must be in [0,1), got ", c.gan_beta2);
  check(c.refine_epochs >= -1, "train: refine_epochs must be >= 0 (or -1 = the model's value), got ", c.refine_epochs);
}

}  // namespace uad::train
