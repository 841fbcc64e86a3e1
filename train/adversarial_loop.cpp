// The trainer of the VAE-GAN and Constrained-AAE loops (train/adversarial_loop.h).
#include "train/adversarial_loop.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "io/loader.h"
#include "io/safetensors.h"
#include "tensor/autograd.h"
#include "tensor/device.h"
#include "tensor/ops.h"
#include "train/progress.h"
#include "train/run_folder.h"
#include "train/run_util.h"
#include "train/wgan_gp.h"

namespace uad::train {

namespace fs = std::filesystem;
using namespace run_util;

namespace {
constexpr const char* kFormat = "uad-adversarial-loop-checkpoint";
}

struct AdversarialLoopTrainer::ValResult {
  double loss = 0, l1 = 0, seconds = 0;
  std::vector<std::pair<std::string, double>> parts;
};

AdversarialLoopTrainer::AdversarialLoopTrainer(const TrainConfig& cfg, const models::ModelSpec& spec, bool resume)
    : cfg_(cfg), spec_(spec) {
  validate_config(cfg_);
  check(spec_.trainer == models::TrainerKind::vae_gan || spec_.trainer == models::TrainerKind::latent_adversarial ||
            spec_.trainer == models::TrainerKind::wgan_gp,
        "train: model '", spec_.name, "' is not trained by the VAE-GAN / AAE / WGAN-GP loop");
  check(static_cast<bool>(spec_.make), "train: model '", spec_.name, "' has no constructor");
  device_ = select_device(cfg_.device);
  resumed_ = check_run_start(cfg_, resume);
  const std::string last = last_checkpoint_path(cfg_.out);

  io::LoaderOptions lo;
  lo.batch_size = cfg_.batch_size;
  lo.seed = derive_seed(cfg_.seed, 1);
  lo.shuffle = true;
  lo.max_epochs = cfg_.epochs;
  io::LoaderOptions vo;
  vo.batch_size = cfg_.batch_size;
  vo.shuffle = false;
  val_seed_ = derive_seed(cfg_.seed, 3);
  train_loader_ = std::make_unique<io::SliceLoader>(cfg_.data, cfg_.train_split, cfg_.view, lo);
  val_loader_ = std::make_unique<io::SliceLoader>(cfg_.data, cfg_.val_split, cfg_.view, vo);
  Shape item{1};
  for (int64_t d : train_loader_->item_shape()) item.push_back(d);
  check(spec_.input_shape.empty() || spec_.input_shape == item, "train: model '", spec_.name, "' takes inputs ",
        spec_.input_shape, " but view '", cfg_.view, "' of ", cfg_.data, " gives ", item);

  manual_seed(derive_seed(cfg_.seed, 2));
  gen_ = std::make_unique<Generator>(cfg_.seed);
  model_ = spec_.make(*gen_);
  check(model_ != nullptr, "train: the constructor of model '", spec_.name, "' returned no model");
  model_->set_generator(gen_.get());
  model_->to(device_);  // before the optimisers take the parameter handles
  auto adam = [&](std::vector<Tensor> ps, double beta1, double beta2, double lr_ratio) {
    AdamOptions a;
    a.lr = cfg_.lr * lr_ratio;
    a.beta1 = cfg_.gan_beta1 >= 0 ? cfg_.gan_beta1 : beta1;
    a.beta2 = beta2;
    a.eps = cfg_.adam_eps;
    return std::make_unique<Adam>(std::move(ps), a);
  };
  if (spec_.trainer == models::TrainerKind::vae_gan) {
    vaegan_ = dynamic_cast<models::VaeGanModel*>(model_.get());
    check(vaegan_ != nullptr, "train: model '", spec_.name, "' (", model_->type_name(), ") is not a models::VaeGanModel");
    const models::VaeGanOptions& o = vaegan_->vaegan_options();
    opts_.emplace_back("autoencoder", adam(vaegan_->autoencoder_parameters(), o.beta1, o.beta2, 1.0));
    if (o.separate_generator_step)
      opts_.emplace_back("generator", adam(vaegan_->generator_parameters(), o.beta1, o.beta2, 1.0));
    opts_.emplace_back("critic", adam(vaegan_->critic().parameters(), o.beta1, o.beta2, o.critic_lr_ratio));
  } else if (spec_.trainer == models::TrainerKind::wgan_gp) {
    wgan_ = dynamic_cast<models::WganModel*>(model_.get());
    check(wgan_ != nullptr, "train: model '", spec_.name, "' (", model_->type_name(), ") is not a models::WganModel");
    const models::AnoGanConfig& o = wgan_->wgan_config();
    opts_.emplace_back("generator", adam(wgan_->generator().parameters(), o.beta1, o.beta2, 1.0));
    opts_.emplace_back("critic", adam(wgan_->critic().parameters(), o.beta1, o.beta2, 1.0));
  } else {
    aae_ = dynamic_cast<models::LatentAdversarialModel*>(model_.get());
    check(aae_ != nullptr, "train: model '", spec_.name, "' (", model_->type_name(),
          ") is not a models::LatentAdversarialModel");
    const models::AaeOptions& o = aae_->aae_options();
    opts_.emplace_back("autoencoder", adam(aae_->autoencoder_parameters(), o.beta1, o.beta2, 1.0));
    opts_.emplace_back("critic", adam(aae_->latent_critic().parameters(), o.beta1, o.beta2, 1.0));
    opts_.emplace_back("encoder", adam(aae_->encoder_parameters(), o.beta1, o.beta2, 1.0));
  }

  if (resumed_) {
    load_last(last);
    restore(*gen_, state_.model_rng);
    restore(default_generator(), state_.default_rng);
  } else {
    state_.model_rng = state_of(*gen_);
    state_.default_rng = state_of(default_generator());
  }
  log_ = open_run_folder(cfg_, resumed_, state_.log_bytes);
}

AdversarialLoopTrainer::~AdversarialLoopTrainer() = default;

int64_t AdversarialLoopTrainer::train_size() const { return train_loader_->size(); }
int64_t AdversarialLoopTrainer::val_size() const { return val_loader_->size(); }
const char* AdversarialLoopTrainer::loop_name() const {
  return vaegan_ ? "vae_gan" : wgan_ ? "wgan_gp" : "latent_adversarial";
}

Adam& AdversarialLoopTrainer::optimizer(const std::string& name) {
  for (auto& [n, o] : opts_)
    if (n == name) return *o;
  fail("AdversarialLoopTrainer::optimizer: no optimiser '", name, "' in the ", loop_name(), " loop");
}

bool AdversarialLoopTrainer::should_stop() const {
  return state_.epoch >= cfg_.epochs || (cfg_.patience > 0 && state_.bad_epochs >= cfg_.patience);
}

StepValues AdversarialLoopTrainer::step(const Tensor& x, int64_t epoch) {
  if (vaegan_) {
    Adam* g = vaegan_->vaegan_options().separate_generator_step ? &optimizer("generator") : nullptr;
    return vaegan_step(*vaegan_, optimizer("autoencoder"), g, optimizer("critic"), x, *gen_);
  }
  if (wgan_) {
    const models::AnoGanConfig& o = wgan_->wgan_config();
    CriticStepStats c{};
    for (int64_t k = 0; k < o.n_critic; ++k)
      c = critic_step(wgan_->generator(), wgan_->critic(), optimizer("critic"), x, o.latent, *gen_, o.gp_lambda);
    const double gl =
        generator_step(wgan_->generator(), wgan_->critic(), optimizer("generator"), x.size(0), o.latent, *gen_);
    return {{"critic_loss", c.loss}, {"wasserstein", c.wasserstein}, {"penalty", c.penalty}, {"generator_loss", gl}};
  }
  return aae_step(*model_, *aae_, optimizer("autoencoder"), optimizer("critic"), optimizer("encoder"), x, epoch, *gen_);
}

// ---- checkpoints ------------------------------------------------------------------------------------

void AdversarialLoopTrainer::save_last() {
  state_.model_rng = state_of(*gen_);
  state_.default_rng = state_of(default_generator());
  state_.log_bytes = log_->bytes();
  std::map<std::string, Tensor> tensors = nn::prefixed_state_dict(model_->state_dict(), "model");
  std::map<std::string, std::string> meta = {
      {"format", kFormat},
      {"version", "1"},
      {"model", spec_.name},
      {"loop", loop_name()},
      {"config", config_to_json(cfg_)},
  };
  put_state(meta, state_);
  for (auto& [name, o] : opts_) put_adam(tensors, meta, *o, name);
  io::save_safetensors(last_checkpoint_path(cfg_.out), tensors, meta);
}

void AdversarialLoopTrainer::load_last(const std::string& path) {
  io::SafetensorsFile f = io::load_safetensors(path);
  const Meta m{f.metadata, path};
  check(f.metadata.count("format") && f.metadata.at("format") == kFormat, "train: ", path,
        " is not a uad VAE-GAN/AAE training checkpoint (no metadata format = ", kFormat, ")");
  check(m.get("model") == spec_.name, "train: ", path, " was written for model '", m.get("model"), "', not '",
        spec_.name, "'");
  const TrainState s = read_state(f.metadata, path);
  for (auto& [name, o] : opts_) check_adam(f.tensors, m, *o, name);  // validate everything before writing anything
  try {
    model_->load_state_dict(nn::sub_state_dict(f.tensors, "model"), true);
  } catch (const Error& e) {
    fail("train: ", path, ": ", e.what());
  }
  for (auto& [name, o] : opts_) take_adam(*o, f.tensors, m, name);
  state_ = s;
}

// ---- validation -------------------------------------------------------------------------------------

AdversarialLoopTrainer::ValResult AdversarialLoopTrainer::validate() {
  const auto t0 = Clock::now();
  ValResult r;
  ValidationNoise noise(*gen_, val_seed_);
  model_->eval();
  int64_t n_items = 0;
  {
    NoGradGuard ng;
    while (auto b = val_loader_->next()) {
      if (cfg_.max_val_batches > 0 && b->index >= cfg_.max_val_batches) continue;  // drain the epoch
      const Tensor x = b->image.to(device_);
      const int64_t n = x.size(0);
      const models::LossTerms t = model_->loss(x);
      r.loss += t.total.item() * (double)n;
      if (r.parts.empty())
        for (const auto& [k, v] : t.parts) r.parts.emplace_back(k, 0.0);
      for (size_t i = 0; i < t.parts.size() && i < r.parts.size(); ++i)
        r.parts[i].second += t.parts[i].second.item() * (double)n;
      if (wgan_) {  // AnoGAN: the search's "l1" part is Σ|x − G(z*)| (batch mean): no second search
        for (const auto& [k, v] : t.parts)
          if (k == "l1") r.l1 += v.item() * (double)n;
      } else {
        r.l1 += sum(abs(x - model_->reconstruct(x))).item();
      }
      n_items += n;
    }
  }
  model_->train();
  check(n_items > 0, "train: the validation split '", cfg_.val_split, "' gave no batch");
  r.loss /= (double)n_items;
  r.l1 /= (double)n_items;
  for (auto& [k, v] : r.parts) v /= (double)n_items;
  r.seconds = since(t0);
  return r;
}

// ---- the loop ---------------------------------------------------------------------------------------

TrainResult AdversarialLoopTrainer::run(int64_t kill_after_steps) {
  const auto session_start = Clock::now();
  const double seconds_before = state_.seconds;
  auto run_seconds = [&] { return seconds_before + since(session_start); };
  check(!killed_, "AdversarialLoopTrainer::run: this trainer was stopped by kill_after_steps; build a new one to resume");
  std::vector<double> val_history;
  auto finish = [&](bool killed) {
    TrainResult r;
    r.epochs_done = state_.epoch;
    r.steps = state_.step;
    r.best_val = state_.best_val;
    r.best_epoch = state_.best_epoch;
    r.early_stopped = state_.stop_reason == "early_stopping";
    r.finished = !killed && should_stop();
    r.killed = killed;
    r.val_history = val_history;
    r.seconds = since(session_start);
    return r;
  };
  if (should_stop()) return finish(false);
  state_.stopped = false;
  state_.stop_reason.clear();
  for (; loader_epoch_ < state_.epoch; ++loader_epoch_)
    while (train_loader_->next()) {
    }
  const int64_t nb_all = train_loader_->batches_per_epoch();
  const int64_t nb = cfg_.max_train_batches > 0 ? std::min(nb_all, cfg_.max_train_batches) : nb_all;
  int64_t session_steps = 0;

  while (!should_stop()) {
    const int64_t epoch = state_.epoch + 1;
    const auto t_epoch = Clock::now();
    std::unique_ptr<ProgressBar> bar;
    char label[64];
    std::snprintf(label, sizeof label, "epoch %lld/%lld", (long long)epoch, (long long)cfg_.epochs);
    if (cfg_.progress) bar = std::make_unique<ProgressBar>(nb, label);
    model_->train();
    Means means;
    int64_t steps_in_epoch = 0;
    while (auto b = train_loader_->next()) {
      if (b->index >= nb) continue;  // max_train_batches: drain the rest of the epoch
      const StepValues vals = step(b->image.to(device_), epoch);
      ++state_.step;
      ++steps_in_epoch;
      means.add(vals);
      json line;
      line["kind"] = "step";
      line["epoch"] = epoch;
      line["step"] = state_.step;
      line["batch"] = b->index;
      for (const auto& [k, v] : vals) line[k] = num(v);
      line["lr"] = cfg_.lr;
      line["seconds"] = run_seconds();
      log_->write(line.dump());
      if (bar) bar->update(steps_in_epoch, status(vals));
      if (kill_after_steps > 0 && ++session_steps >= kill_after_steps) {
        killed_ = true;
        if (bar) bar->finish("killed (test hook)");
        return finish(true);
      }
    }
    ++loader_epoch_;
    check(steps_in_epoch > 0, "train: epoch ", epoch, " of split '", cfg_.train_split, "' gave no batch");
    const auto train_means = means.mean();
    if (bar) bar->finish(status(train_means));

    const ValResult v = validate();
    const double watched = cfg_.val_metric == "l1" ? v.l1 : v.loss;
    check(std::isfinite(watched), "train: the validation ", cfg_.val_metric, " of epoch ", epoch, " is ", watched,
          " (diverged; try a lower --lr)");
    state_.epoch = epoch;
    const bool improved = watched < state_.best_val - cfg_.min_delta;
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
    val_history.push_back(watched);
    if (should_stop()) {
      state_.stopped = true;
      state_.stop_reason = cfg_.patience > 0 && state_.bad_epochs >= cfg_.patience ? "early_stopping" : "epochs";
    }
    state_.seconds = run_seconds();
    json line;
    line["kind"] = "epoch";
    line["epoch"] = epoch;
    line["step"] = state_.step;
    for (const auto& [k, x] : train_means) line[std::string("train_") + k] = num(x);
    line["val_loss"] = num(v.loss);
    for (const auto& [k, x] : v.parts) line["val_" + k] = num(x);
    line["val_l1"] = num(v.l1);
    line["val"] = num(watched);
    line["best_val"] = num(state_.best_val);
    line["best_epoch"] = state_.best_epoch;
    line["bad_epochs"] = state_.bad_epochs;
    line["improved"] = improved;
    line["stop"] = state_.stop_reason;
    line["lr"] = cfg_.lr;
    line["epoch_seconds"] = since(t_epoch);
    line["val_seconds"] = v.seconds;
    line["seconds"] = state_.seconds;
    log_->write(line.dump());
    log_->sync();
    save_last();
    if (cfg_.progress) {
      std::printf("epoch %lld/%lld: train %s | val %s %.6g (loss %.6g, l1 %.6g)%s | best %.6g (epoch %lld) | %s%s\n",
                  (long long)epoch, (long long)cfg_.epochs, status(train_means).c_str(), cfg_.val_metric.c_str(),
                  watched, v.loss, v.l1, improved ? " (best)" : "", state_.best_val, (long long)state_.best_epoch,
                  format_duration(since(t_epoch)).c_str(),
                  state_.stop_reason == "early_stopping" ? " — early stopping" : "");
      std::fflush(stdout);
    }
  }
  return finish(false);
}

}  // namespace uad::train
