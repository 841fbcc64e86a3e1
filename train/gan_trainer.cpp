// The adversarial (WGAN-GP + izi_f) trainer of the f-AnoGAN models (see train/gan_trainer.h).
#include "train/gan_trainer.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
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
using json = nlohmann::ordered_json;
using namespace run_util;

namespace {

constexpr const char* kFormat = "uad-gan-checkpoint";
constexpr const char* kNets[4] = {"critic", "generator", "encoder", "refine"};
constexpr int kRefine = 3;  // kNets index of the refinement optimiser (absent from version-1 checkpoints)

}  // namespace

int64_t default_refine_epochs(const models::GanModel& m) {
  return dynamic_cast<const models::FAnoGAN3d*>(&m) != nullptr ? 10 : 0;
}

struct AdversarialTrainer::ValResult {
  double loss = 0, img = 0, feat = 0, seconds = 0;
};

AdversarialTrainer::AdversarialTrainer(const TrainConfig& cfg, const models::ModelSpec& spec, bool resume)
    : cfg_(cfg), spec_(spec) {
  validate_config(cfg_);
  check(models::is_adversarial(spec_), "train: model '", spec_.name,
        "' is not trained adversarially (use the reconstruction trainer)");
  check(static_cast<bool>(spec_.make), "train: model '", spec_.name, "' has no constructor");
  check(cfg_.val_metric == "loss", "train: model '", spec_.name,
        "' watches the izi_f validation loss; val_metric must be 'loss', got '", cfg_.val_metric, "'");
  device_ = select_device(cfg_.device);
  resumed_ = check_run_start(cfg_, resume);
  const std::string last = last_checkpoint_path(cfg_.out);
  gan_epochs_ = cfg_.gan_epochs > 0 ? cfg_.gan_epochs : cfg_.epochs;

  manual_seed(derive_seed(cfg_.seed, 2));
  gen_ = std::make_unique<Generator>(cfg_.seed);
  model_ = spec_.make(*gen_);
  check(model_ != nullptr, "train: the constructor of model '", spec_.name, "' returned no model");
  gan_ = dynamic_cast<models::GanModel*>(model_.get());
  check(gan_ != nullptr, "train: model '", spec_.name, "' (", model_->type_name(),
        ") is not a models::GanModel (generator, critic, encoder)");
  model_->set_generator(gen_.get());
  model_->to(device_);  // before the optimisers take the parameter handles
  kappa_ = cfg_.kappa >= 0 ? cfg_.kappa : gan_->kappa();
  gan_beta1_ = cfg_.gan_beta1 >= 0 ? cfg_.gan_beta1 : gan_->default_gan_beta1();
  refine_epochs_ = cfg_.refine_epochs >= 0 ? cfg_.refine_epochs : default_refine_epochs(*gan_);
  AdamOptions ga;
  ga.lr = cfg_.lr;
  ga.beta1 = gan_beta1_;
  ga.beta2 = cfg_.gan_beta2;
  ga.eps = cfg_.adam_eps;
  opt_d_ = std::make_unique<Adam>(gan_->critic().parameters(), ga);
  opt_g_ = std::make_unique<Adam>(gan_->generator().parameters(), ga);
  AdamOptions ea;
  ea.lr = cfg_.lr;
  ea.beta1 = cfg_.beta1;
  ea.beta2 = cfg_.beta2;
  ea.eps = cfg_.adam_eps;
  opt_e_ = std::make_unique<Adam>(gan_->encoder().parameters(), ea);
  opt_r_ = std::make_unique<Adam>(refine_parameters(gan_->encoder(), gan_->generator()), ea);

  // Loaders: volumes for a [1,D,H,W] model, slices otherwise.
  const bool volumes = spec_.input_shape.size() == 4;
  const uint64_t loader_seed = derive_seed(cfg_.seed, 1);
  val_seed_ = derive_seed(cfg_.seed, 3);
  io::LoaderOptions lo;
  lo.batch_size = cfg_.batch_size;
  lo.seed = loader_seed;
  lo.shuffle = true;
  lo.max_epochs = gan_epochs_ + cfg_.epochs + refine_epochs_;
  io::LoaderOptions vo;
  vo.batch_size = cfg_.batch_size;
  vo.shuffle = false;
  try {
    if (volumes) {
      train_loader_ = std::make_unique<io::VolumeLoader>(cfg_.data, cfg_.train_split, cfg_.view, lo);
      val_loader_ = std::make_unique<io::VolumeLoader>(cfg_.data, cfg_.val_split, cfg_.view, vo);
    } else {
      train_loader_ = std::make_unique<io::SliceLoader>(cfg_.data, cfg_.train_split, cfg_.view, lo);
      val_loader_ = std::make_unique<io::SliceLoader>(cfg_.data, cfg_.val_split, cfg_.view, vo);
    }
  } catch (const Error& e) {
    fail("train: model '", spec_.name, "' takes ", volumes ? "volumes" : "slices", " ", spec_.input_shape,
         " (choose a matching --view", volumes ? ", e.g. vol64" : "", "): ", e.what());
  }
  Shape item{1};
  for (int64_t d : train_loader_->item_shape()) item.push_back(d);
  check(spec_.input_shape.empty() || spec_.input_shape == item, "train: model '", spec_.name, "' takes inputs ",
        spec_.input_shape, " but view '", cfg_.view, "' of ", cfg_.data, " gives ", item);

  if (resumed_) {
    load_last(last);
    restore(*gen_, state_.model_rng);
    restore(default_generator(), state_.default_rng);
    TrainConfig old;
    try {
      apply_config_json(old, saved_config_, last);
    } catch (const Error&) {
      old = cfg_;
    }
    const auto was = nlohmann::json::parse(config_to_json(old)), now = nlohmann::json::parse(config_to_json(cfg_));
    for (const char* k : {"data", "view", "train_split", "batch_size", "lr", "beta1", "beta2", "adam_eps", "seed",
                          "max_train_batches", "n_critic", "gp_lambda", "kappa", "gan_beta1", "gan_beta2", "gan_epochs", "refine_epochs"})
      if (was[k] != now[k])
        std::fprintf(stderr, "uad train: note: resuming with %s = %s (the checkpoint used %s)\n", k,
                     now[k].dump().c_str(), was[k].dump().c_str());
  } else {
    state_.model_rng = state_of(*gen_);
    state_.default_rng = state_of(default_generator());
  }

  log_ = open_run_folder(cfg_, resumed_, state_.log_bytes);
}

AdversarialTrainer::~AdversarialTrainer() = default;

int64_t AdversarialTrainer::train_size() const { return train_loader_->size(); }
int64_t AdversarialTrainer::val_size() const { return val_loader_->size(); }

bool AdversarialTrainer::encoder_done() const {
  return state_.epoch >= gan_epochs_ + cfg_.epochs ||
         (state_.epoch > gan_epochs_ && cfg_.patience > 0 && state_.bad_epochs >= cfg_.patience);
}

bool AdversarialTrainer::should_stop() const {
  if (refine_start_ == 0) return refine_epochs_ == 0 && encoder_done();
  return state_.epoch >= refine_start_ + refine_epochs_ ||
         (state_.epoch > refine_start_ && cfg_.patience > 0 && state_.bad_epochs >= cfg_.patience);
}

// ---- checkpoints ------------------------------------------------------------------------------------

void AdversarialTrainer::save_last() {
  state_.model_rng = state_of(*gen_);
  state_.default_rng = state_of(default_generator());
  state_.log_bytes = log_->bytes();
  std::map<std::string, Tensor> tensors = nn::prefixed_state_dict(model_->state_dict(), "model");
  Adam* opts[4] = {opt_d_.get(), opt_g_.get(), opt_e_.get(), opt_r_.get()};
  std::map<std::string, std::string> meta = {
      {"format", kFormat},
      {"version", "2"},
      {"model", spec_.name},
      {"gan_epochs", std::to_string(gan_epochs_)},
      {"refine_start", std::to_string(refine_start_)},
      {"config", config_to_json(cfg_)},
  };
  put_state(meta, state_);
  for (int k = 0; k < 4; ++k) put_adam(tensors, meta, *opts[k], kNets[k]);
  io::save_safetensors(last_checkpoint_path(cfg_.out), tensors, meta);
}

void AdversarialTrainer::load_last(const std::string& path) {
  io::SafetensorsFile f = io::load_safetensors(path);
  const Meta m{f.metadata, path};
  check(f.metadata.count("format") && f.metadata.at("format") == kFormat, "train: ", path,
        " is not a uad GAN training checkpoint (no metadata format = ", kFormat, ")");
  check(m.get("model") == spec_.name, "train: ", path, " was written for model '", m.get("model"), "', not '",
        spec_.name, "'");
  saved_config_ = f.metadata.count("config") ? f.metadata.at("config") : "{}";
  const TrainState s = read_state(f.metadata, path);
  const int64_t saved_gan_epochs = m.i64("gan_epochs");
  check(saved_gan_epochs == gan_epochs_ || (s.epoch <= saved_gan_epochs && s.epoch <= gan_epochs_), "train: ", path,
        " is after epoch ", s.epoch, " of a run with ", saved_gan_epochs, " GAN epochs; gan_epochs cannot change to ",
        gan_epochs_, " now");
  // Version 1 (before the refinement phase): no refine_start, no refinement moments.
  const bool has_refine = f.metadata.count("refine_start") > 0;
  const int64_t refine_start = has_refine ? m.i64("refine_start") : 0;
  check(refine_start >= 0 && refine_start <= s.epoch, "train: ", path, ": refine_start ", refine_start,
        " is not in [0, epoch ", s.epoch, "]");
  Adam* opts[4] = {opt_d_.get(), opt_g_.get(), opt_e_.get(), opt_r_.get()};
  const int n_nets = has_refine ? kRefine + 1 : kRefine;
  for (int k = 0; k < n_nets; ++k) check_adam(f.tensors, m, *opts[k], kNets[k]);  // validate everything before writing anything
  try {
    model_->load_state_dict(nn::sub_state_dict(f.tensors, "model"), true);
  } catch (const Error& e) {
    fail("train: ", path, ": ", e.what());
  }
  for (int k = 0; k < n_nets; ++k) take_adam(*opts[k], f.tensors, m, kNets[k]);
  state_ = s;
  refine_start_ = refine_start;
}

// ---- validation -------------------------------------------------------------------------------------

AdversarialTrainer::ValResult AdversarialTrainer::validate() {
  const auto t0 = Clock::now();
  ValResult r;
  ValidationNoise noise(*gen_, val_seed_);
  model_->eval();
  int64_t n_items = 0;
  {
    NoGradGuard ng;
    while (auto b = val_loader_->next()) {
      if (cfg_.max_val_batches > 0 && b->index >= cfg_.max_val_batches) continue;  // drain the epoch
      const int64_t n = b->image.size(0);
      const models::IzifTerms t = models::izif_terms(gan_->encoder(), gan_->generator(), gan_->critic(),
                                                     gan_->to_network_range(b->image.to(device_)), kappa_, false);
      r.loss += t.total.item() * (double)n;
      r.img += t.img.item() * (double)n;
      r.feat += t.feat.item() * (double)n;
      n_items += n;
    }
  }
  model_->train();
  check(n_items > 0, "train: the validation split '", cfg_.val_split, "' gave no batch");
  r.loss /= (double)n_items;
  r.img /= (double)n_items;
  r.feat /= (double)n_items;
  r.seconds = since(t0);
  return r;
}

double AdversarialTrainer::validation_loss() { return validate().loss; }

// ---- the loop ---------------------------------------------------------------------------------------

TrainResult AdversarialTrainer::result(double session_seconds) const {
  TrainResult r;
  r.epochs_done = state_.epoch;
  r.steps = state_.step;
  r.best_val = state_.best_val;
  r.best_epoch = state_.best_epoch;
  r.early_stopped = state_.stop_reason == "early_stopping";
  r.finished = should_stop();
  r.seconds = session_seconds;
  return r;
}

TrainResult AdversarialTrainer::run(int64_t kill_after_steps) {
  const auto session_start = Clock::now();
  const double seconds_before = state_.seconds;
  auto run_seconds = [&] { return seconds_before + since(session_start); };
  check(!killed_, "AdversarialTrainer::run: this trainer was stopped by kill_after_steps; build a new one to resume");
  std::vector<double> val_history;
  auto finish = [&](bool killed) {
    TrainResult r = result(since(session_start));
    r.val_history = val_history;
    r.killed = killed;
    if (killed) r.finished = false;
    return r;
  };
  if (should_stop()) {
    if (cfg_.progress)
      std::printf("run %s is complete (%lld epochs, best validation izi_f loss %.6g at epoch %lld)\n",
                  cfg_.out.c_str(), (long long)state_.epoch, state_.best_val, (long long)state_.best_epoch);
    return finish(false);
  }
  state_.stopped = false;
  state_.stop_reason.clear();
  for (; loader_epoch_ < state_.epoch; ++loader_epoch_)
    while (train_loader_->next()) {
    }

  const int64_t nb_all = train_loader_->batches_per_epoch();
  const int64_t nb = cfg_.max_train_batches > 0 ? std::min(nb_all, cfg_.max_train_batches) : nb_all;
  const int64_t latent = gan_->latent_dim();
  int64_t session_steps = 0;
  auto killed_now = [&] { return kill_after_steps > 0 && ++session_steps >= kill_after_steps; };

  while (!should_stop()) {
    // The encoder phase is over and a refinement is asked for: it starts now (deterministic from
    // the checkpointed state, so a run killed in its first epoch resumes to the same point).
    if (refine_start_ == 0 && refine_epochs_ > 0 && state_.epoch > gan_epochs_ && encoder_done()) {
      refine_start_ = state_.epoch;
      state_.bad_epochs = 0;
    }
    const int64_t epoch = state_.epoch + 1;
    const bool gan_phase = epoch <= gan_epochs_;
    const bool refine_phase = refine_start_ > 0;
    const int64_t phase_epoch = gan_phase ? epoch : refine_phase ? epoch - refine_start_ : epoch - gan_epochs_;
    const int64_t phase_total = gan_phase ? gan_epochs_ : refine_phase ? refine_epochs_ : cfg_.epochs;
    const char* phase = gan_phase ? "gan" : refine_phase ? "refine" : "encoder";
    const auto t_epoch = Clock::now();
    std::unique_ptr<ProgressBar> bar;
    char label[64];
    std::snprintf(label, sizeof label, "%s %lld/%lld", phase, (long long)phase_epoch, (long long)phase_total);
    const int64_t steps_planned = gan_phase ? (nb + cfg_.n_critic - 1) / cfg_.n_critic : nb;
    if (cfg_.progress) bar = std::make_unique<ProgressBar>(steps_planned, label);
    model_->train();
    Means means;
    int64_t steps_in_epoch = 0;
    std::vector<Tensor> chunk;
    while (auto b = train_loader_->next()) {
      if (b->index >= nb) continue;  // max_train_batches: drain the rest of the epoch
      const Tensor x = gan_->to_network_range(b->image.to(device_));
      json line;
      line["kind"] = "step";
      line["phase"] = phase;
      std::vector<std::pair<const char*, double>> vals;
      if (gan_phase) {
        chunk.push_back(x);
        if ((int64_t)chunk.size() < cfg_.n_critic && b->index + 1 < nb) continue;
        const GanIterationStats s =
            gan_iteration(gan_->generator(), gan_->critic(), *opt_g_, *opt_d_, chunk, latent, *gen_, cfg_.gp_lambda);
        chunk.clear();
        vals = {{"critic_loss", s.critic.loss},
                {"wasserstein", s.critic.wasserstein},
                {"penalty", s.critic.penalty},
                {"generator_loss", s.generator_loss}};
      } else {
        const IzifStepStats s =
            refine_phase ? refine_step(gan_->encoder(), gan_->generator(), gan_->critic(), *opt_r_, x, kappa_)
                         : encoder_izif_step(gan_->encoder(), gan_->generator(), gan_->critic(), *opt_e_, x, kappa_);
        vals = {{"loss", s.loss}, {"img", s.img}, {"feat", s.feat}};
      }
      ++state_.step;
      ++steps_in_epoch;
      means.add(vals);
      line["epoch"] = epoch;
      line["step"] = state_.step;
      line["batch"] = b->index;
      for (const auto& [k, v] : vals) line[k] = num(v);
      line["lr"] = cfg_.lr;
      line["seconds"] = run_seconds();
      log_->write(line.dump());
      if (bar) bar->update(steps_in_epoch, status(vals));
      if (killed_now()) {
        killed_ = true;
        if (bar) bar->finish("killed (test hook)");
        return finish(true);
      }
    }
    ++loader_epoch_;
    check(steps_in_epoch > 0, "train: epoch ", epoch, " of split '", cfg_.train_split, "' gave no batch");
    const auto train_means = means.mean();
    if (bar) bar->finish(status(train_means));

    json line;
    line["kind"] = "epoch";
    line["phase"] = phase;
    line["epoch"] = epoch;
    line["phase_epoch"] = phase_epoch;
    line["step"] = state_.step;
    for (const auto& [k, v] : train_means) line[std::string("train_") + k] = num(v);
    bool improved = false;
    ValResult v;
    state_.epoch = epoch;
    if (!gan_phase) {
      v = validate();
      check(std::isfinite(v.loss), "train: the validation izi_f loss of epoch ", epoch, " is ", v.loss,
            " (diverged; try a lower --lr)");
      improved = v.loss < state_.best_val - cfg_.min_delta;
      if (improved) {
        state_.best_val = v.loss;
        state_.best_epoch = epoch;
        state_.bad_epochs = 0;
        nn::save_state(*model_, best_checkpoint_path(cfg_.out),
                       {{"model", spec_.name}, {"epoch", std::to_string(epoch)}, {"val", exact_double(v.loss)},
                        {"val_metric", "izif_loss"}});
      } else {
        ++state_.bad_epochs;
      }
      val_history.push_back(v.loss);
      line["val_loss"] = num(v.loss);
      line["val_img"] = num(v.img);
      line["val_feat"] = num(v.feat);
      line["val"] = num(v.loss);
      line["best_val"] = num(state_.best_val);
      line["best_epoch"] = state_.best_epoch;
      line["bad_epochs"] = state_.bad_epochs;
      line["improved"] = improved;
    }
    if (should_stop()) {
      state_.stopped = true;
      const bool limit = refine_start_ > 0 ? state_.epoch >= refine_start_ + refine_epochs_
                                           : state_.epoch >= gan_epochs_ + cfg_.epochs;
      state_.stop_reason =
          limit && !(cfg_.patience > 0 && state_.bad_epochs >= cfg_.patience) ? "epochs" : "early_stopping";
    }
    state_.seconds = run_seconds();
    line["stop"] = state_.stop_reason;
    line["lr"] = cfg_.lr;
    line["epoch_seconds"] = since(t_epoch);
    if (!gan_phase) line["val_seconds"] = v.seconds;
    line["seconds"] = state_.seconds;
    log_->write(line.dump());
    log_->sync();
    save_last();
    if (cfg_.progress) {
      if (gan_phase)
        std::printf("gan epoch %lld/%lld: %s | %s\n", (long long)phase_epoch, (long long)phase_total,
                    status(train_means).c_str(), format_duration(since(t_epoch)).c_str());
      else
        std::printf("%s epoch %lld/%lld: train %s | val izi_f %.6g (img %.6g, feat %.6g)%s | best %.6g (epoch %lld) | %s%s\n",
                    phase, (long long)phase_epoch, (long long)phase_total, status(train_means).c_str(), v.loss, v.img, v.feat,
                    improved ? " (best)" : "", state_.best_val, (long long)state_.best_epoch,
                    format_duration(since(t_epoch)).c_str(),
                    state_.stop_reason == "early_stopping" ? " — early stopping" : "");
      std::fflush(stdout);
    }
  }
  return finish(false);
}

}  // namespace uad::train
