// The reconstruction-model trainer (see train/trainer.h).
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/loader.h"
#include "layers/dropout.h"
#include "tensor/autograd.h"
#include "tensor/device.h"
#include "tensor/ops.h"
#include "train/progress.h"
#include "train/run_folder.h"
#include "train/run_util.h"

namespace uad::train {

namespace fs = std::filesystem;

std::string last_checkpoint_path(const std::string& out) { return (fs::path(out) / "last.safetensors").string(); }
std::string best_checkpoint_path(const std::string& out) { return (fs::path(out) / "best.safetensors").string(); }
std::string log_path(const std::string& out) { return (fs::path(out) / "log.jsonl").string(); }
std::string config_path(const std::string& out) { return (fs::path(out) / "config.json").string(); }

namespace {

using namespace run_util;

/// Running sums of named scalars, in first-seen order.
struct TermSums {
  std::vector<std::pair<std::string, double>> v;
  void add(const std::string& name, double x) {
    for (auto& [n, s] : v)
      if (n == name) { s += x; return; }
    v.emplace_back(name, x);
  }
};

/// One line "loss 12.3 l1 11.9 kl 0.4" of a loss and its terms.
std::string status_of(double total, const std::vector<std::pair<std::string, double>>& parts) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "loss %.5g", total);
  std::string s = buf;
  for (const auto& [n, x] : parts) {
    std::snprintf(buf, sizeof buf, " %s %.5g", n.c_str(), x);
    s += buf;
  }
  return s;
}

}  // namespace

struct ReconstructionTrainer::ValResult {
  double loss = 0, l1 = 0;
  std::vector<std::pair<std::string, double>> parts;
  double seconds = 0;
};

ReconstructionTrainer::ReconstructionTrainer(const TrainConfig& cfg, const models::ModelSpec& spec, bool resume)
    : cfg_(cfg), spec_(spec) {
  validate_config(cfg_);
  check(static_cast<bool>(spec_.make), "train: model '", spec_.name, "' has no constructor");
  device_ = select_device(cfg_.device);  // the CLI prints its note
  resumed_ = check_run_start(cfg_, resume);
  const std::string last = last_checkpoint_path(cfg_.out);

  loader_seed_ = derive_seed(cfg_.seed, 1);
  val_seed_ = derive_seed(cfg_.seed, 3);
  io::LoaderOptions lo;
  lo.batch_size = cfg_.batch_size;
  lo.seed = loader_seed_;
  lo.shuffle = true;
  lo.max_epochs = cfg_.epochs;
  train_loader_ = std::make_unique<io::SliceLoader>(cfg_.data, cfg_.train_split, cfg_.view, lo);
  io::LoaderOptions vo;
  vo.batch_size = cfg_.batch_size;
  vo.shuffle = false;
  val_loader_ = std::make_unique<io::SliceLoader>(cfg_.data, cfg_.val_split, cfg_.view, vo);
  Shape item{1};
  for (int64_t d : train_loader_->item_shape()) item.push_back(d);
  check(spec_.input_shape.empty() || spec_.input_shape == item, "train: model '", spec_.name, "' takes inputs ",
        spec_.input_shape, " but view '", cfg_.view, "' of ", cfg_.data, " gives ", item,
        " (choose the matching --view, e.g. slices", spec_.input_shape.empty() ? 0 : spec_.input_shape.back(), ")");

  // The default generator is seeded first, so even a model that (against the contract) draws its
  // initialisation from it is reproducible.
  manual_seed(derive_seed(cfg_.seed, 2));
  gen_ = std::make_unique<Generator>(cfg_.seed);
  model_ = spec_.make(*gen_);
  check(model_ != nullptr, "train: the constructor of model '", spec_.name, "' returned no model");
  model_->set_generator(gen_.get());  // every training draw of the model: dropout, ε, masks
  model_->to(device_);                // before the optimiser takes the parameter handles
  AdamOptions ao;
  ao.lr = cfg_.lr;
  ao.beta1 = cfg_.beta1;
  ao.beta2 = cfg_.beta2;
  ao.eps = cfg_.adam_eps;
  optim_ = std::make_unique<Adam>(model_->parameters(), ao);

  if (resumed_) {
    LoadedCheckpoint ck = load_checkpoint(last, spec_.name, *model_, *optim_);
    state_ = ck.state;
    restore(*gen_, state_.model_rng);
    restore(default_generator(), state_.default_rng);
    // Settings that change the trajectory: say so (resuming with them changed is allowed).
    TrainConfig old;
    try {
      apply_config_json(old, ck.config_json, last);
    } catch (const Error&) {
      old = cfg_;  // an unreadable saved config: nothing to compare
    }
    const auto was = nlohmann::json::parse(config_to_json(old)), now = nlohmann::json::parse(config_to_json(cfg_));
    for (const char* k : {"data", "view", "train_split", "batch_size", "lr", "beta1", "beta2", "adam_eps", "seed",
                          "max_train_batches"})
      if (was[k] != now[k])
        std::fprintf(stderr, "uad train: note: resuming with %s = %s (the checkpoint used %s)\n", k,
                     now[k].dump().c_str(), was[k].dump().c_str());
  } else {
    state_.model_rng = state_of(*gen_);
    state_.default_rng = state_of(default_generator());
  }

  // Everything is checked: now the run folder.
  log_ = open_run_folder(cfg_, resumed_, state_.log_bytes);
}

ReconstructionTrainer::~ReconstructionTrainer() = default;

int64_t ReconstructionTrainer::train_size() const { return train_loader_->size(); }
int64_t ReconstructionTrainer::val_size() const { return val_loader_->size(); }

bool ReconstructionTrainer::should_stop() const {
  return state_.epoch >= cfg_.epochs || (cfg_.patience > 0 && state_.bad_epochs >= cfg_.patience);
}

void ReconstructionTrainer::save_last() {
  state_.model_rng = state_of(*gen_);
  state_.default_rng = state_of(default_generator());
  state_.log_bytes = log_->bytes();
  save_checkpoint(last_checkpoint_path(cfg_.out), spec_.name, *model_, *optim_, state_, config_to_json(cfg_));
}

ReconstructionTrainer::ValResult ReconstructionTrainer::validate() {
  const auto t0 = Clock::now();
  ValResult r;
  ValidationNoise noise(*gen_, val_seed_);
  model_->eval();
  TermSums parts;
  int64_t n_items = 0;
  {
    NoGradGuard ng;
    while (auto b = val_loader_->next()) {
      if (cfg_.max_val_batches > 0 && b->index >= cfg_.max_val_batches) continue;  // drain the epoch
      const Tensor x = b->image.to(device_);
      const int64_t n = x.size(0);
      models::LossTerms lt = model_->loss(x);
      r.loss += lt.total.item() * (double)n;
      for (const auto& [name, t] : lt.parts) parts.add(name, t.item() * (double)n);
      r.l1 += l1_loss(model_->reconstruct(x), x, Reduction::sum).item();
      n_items += n;
    }
  }
  model_->train();
  check(n_items > 0, "train: the validation split '", cfg_.val_split, "' gave no batch");
  r.loss /= (double)n_items;
  r.l1 /= (double)n_items;
  for (auto& [name, s] : parts.v) r.parts.emplace_back(name, s / (double)n_items);
  r.seconds = since(t0);
  return r;
}

TrainResult ReconstructionTrainer::run(int64_t kill_after_steps) {
  using json = nlohmann::ordered_json;
  const auto session_start = Clock::now();
  const double seconds_before = state_.seconds;
  auto run_seconds = [&] { return seconds_before + since(session_start); };
  TrainResult res;
  auto fill = [&] {
    res.epochs_done = state_.epoch;
    res.steps = state_.step;
    res.best_val = state_.best_val;
    res.best_epoch = state_.best_epoch;
    res.early_stopped = state_.stop_reason == "early_stopping";
    res.finished = should_stop();
    res.seconds = since(session_start);
    return res;
  };
  check(!killed_, "ReconstructionTrainer::run: this trainer was stopped by kill_after_steps; build a new one to resume");
  if (should_stop()) {
    if (cfg_.progress)
      std::printf("run %s is complete (%lld epochs, best validation %s %.6g at epoch %lld)\n", cfg_.out.c_str(),
                  (long long)state_.epoch, cfg_.val_metric.c_str(), state_.best_val, (long long)state_.best_epoch);
    return fill();
  }
  state_.stopped = false;
  state_.stop_reason.clear();
  // The loader always starts at its epoch 0: skip the epochs already trained (cheap copies).
  for (; loader_epoch_ < state_.epoch; ++loader_epoch_)
    while (train_loader_->next()) {
    }

  model_->train();
  int64_t session_steps = 0;
  const int64_t nb_all = train_loader_->batches_per_epoch();
  const int64_t nb = cfg_.max_train_batches > 0 ? std::min(nb_all, cfg_.max_train_batches) : nb_all;
  while (!should_stop()) {
    const int64_t epoch = state_.epoch + 1;  // 1-based, being trained
    const auto t_epoch = Clock::now();
    std::unique_ptr<ProgressBar> bar;
    char label[64];
    std::snprintf(label, sizeof label, "epoch %lld/%lld", (long long)epoch, (long long)cfg_.epochs);
    if (cfg_.progress) bar = std::make_unique<ProgressBar>(nb, label);
    TermSums sums;
    double loss_sum = 0;
    int64_t steps_in_epoch = 0;
    while (auto b = train_loader_->next()) {
      if (b->index >= nb) continue;  // max_train_batches: drain the rest of the epoch
      models::LossTerms lt = model_->loss(b->image.to(device_));
      optim_->zero_grad();
      lt.total.backward();
      optim_->step();
      ++state_.step;
      ++steps_in_epoch;
      const double total = lt.total.item();
      std::vector<std::pair<std::string, double>> parts;
      for (const auto& [name, t] : lt.parts) parts.emplace_back(name, t.item());
      loss_sum += total;
      for (const auto& [name, x] : parts) sums.add(name, x);
      json line;
      line["kind"] = "step";
      line["epoch"] = epoch;
      line["step"] = state_.step;
      line["batch"] = b->index;
      line["loss"] = num(total);
      for (const auto& [name, x] : parts) line[name] = num(x);
      line["lr"] = optim_->options().lr;
      line["seconds"] = run_seconds();
      log_->write(line.dump());
      if (bar) bar->update(steps_in_epoch, status_of(total, parts));
      if (kill_after_steps > 0 && ++session_steps >= kill_after_steps) {
        killed_ = true;
        res.killed = true;
        if (bar) bar->finish("killed (test hook)");
        fill();
        res.finished = false;
        return res;
      }
    }
    ++loader_epoch_;
    check(steps_in_epoch > 0, "train: epoch ", epoch, " of split '", cfg_.train_split, "' gave no batch");
    const double train_loss = loss_sum / (double)steps_in_epoch;
    std::vector<std::pair<std::string, double>> train_parts;
    for (const auto& [name, s] : sums.v) train_parts.emplace_back(name, s / (double)steps_in_epoch);
    if (bar) bar->finish(status_of(train_loss, train_parts));

    const ValResult v = validate();
    const double watched = cfg_.val_metric == "l1" ? v.l1 : v.loss;
    check(std::isfinite(watched), "train: the validation ", cfg_.val_metric, " of epoch ", epoch, " is ", watched,
          " (diverged; try a lower --lr)");
    const bool improved = watched < state_.best_val - cfg_.min_delta;
    state_.epoch = epoch;
    if (improved) {
      state_.best_val = watched;
      state_.best_epoch = epoch;
      state_.bad_epochs = 0;
      nn::save_state(*model_, best_checkpoint_path(cfg_.out),
                     {{"model", spec_.name}, {"epoch", std::to_string(epoch)}, {"val", exact_double(watched)},
                      {"val_metric", cfg_.val_metric}});
    } else {
      ++state_.bad_epochs;
    }
    if (should_stop()) {
      state_.stopped = true;
      state_.stop_reason = state_.epoch >= cfg_.epochs && !(cfg_.patience > 0 && state_.bad_epochs >= cfg_.patience)
                               ? "epochs"
                               : "early_stopping";
    }
    res.val_history.push_back(watched);
    state_.seconds = run_seconds();

    json line;
    line["kind"] = "epoch";
    line["epoch"] = epoch;
    line["step"] = state_.step;
    line["train_loss"] = num(train_loss);
    for (const auto& [name, x] : train_parts) line["train_" + name] = num(x);
    line["val_loss"] = num(v.loss);
    for (const auto& [name, x] : v.parts) line["val_" + name] = num(x);
    line["val_l1"] = num(v.l1);
    line["val"] = num(watched);
    line["best_val"] = num(state_.best_val);
    line["best_epoch"] = state_.best_epoch;
    line["bad_epochs"] = state_.bad_epochs;
    line["improved"] = improved;
    line["stop"] = state_.stop_reason;
    line["lr"] = optim_->options().lr;
    line["epoch_seconds"] = since(t_epoch);
    line["val_seconds"] = v.seconds;
    line["seconds"] = state_.seconds;
    log_->write(line.dump());
    log_->sync();
    save_last();
    if (cfg_.progress) {
      std::printf("epoch %lld/%lld: train %s | val loss %.6g, val l1 %.6g%s | best %s %.6g (epoch %lld) | %s%s\n",
                  (long long)epoch, (long long)cfg_.epochs, status_of(train_loss, train_parts).c_str(), v.loss, v.l1,
                  improved ? " (best)" : "", cfg_.val_metric.c_str(), state_.best_val, (long long)state_.best_epoch,
                  format_duration(since(t_epoch)).c_str(),
                  state_.stop_reason == "early_stopping" ? " — early stopping" : "");
      std::fflush(stdout);
    }
  }
  return fill();
}

}  // namespace uad::train
