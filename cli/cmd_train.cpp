// `uad train`: trains a model of the registry (models/model.h) on a dataset folder built by
// `uad data prepare`, into a run folder (config.json, last.safetensors every epoch,
// best.safetensors, log.jsonl): reconstruction models with train/trainer.h, the f-AnoGAN models
// (models::is_adversarial: TrainerKind::wgan_gp_izif) with train/gan_trainer.h. Values come from
// the defaults, the run's own config.json on --resume, a --config JSON file, then the explicit
// options (train/config.h).
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "models/fanogan3d.h"
#include "models/model.h"
#include "tensor/device.h"
#include "train/config.h"
#include "train/progress.h"
#include "train/adversarial_loop.h"
#include "train/gan_trainer.h"
#include "train/trainer.h"

namespace uad::cli {

namespace {

/// One command-line option bound to a config key, as text (parsed and checked by train/config.h).
struct KeyOption {
  std::string key;
  std::string value;
  CLI::Option* opt = nullptr;
};

struct TrainCli {
  std::vector<KeyOption> keys;
  std::string config_file;
  bool resume = false;
  bool no_progress = false;
  int64_t kill_after_steps = 0;
};

/// The part every trainer shares: the resume line, the run, and its outcome ("best validation
/// <val_name> ..."). Trainer: ReconstructionTrainer, AdversarialTrainer or AdversarialLoopTrainer.
template <class Trainer>
void run_and_report(Trainer& trainer, const TrainCli& c, const train::TrainConfig& cfg, const std::string& val_name) {
  if (trainer.resumed())
    std::printf("continuing after epoch %lld (step %lld, best %s %.6g at epoch %lld)\n", (long long)trainer.state().epoch,
                (long long)trainer.state().step, val_name.c_str(), trainer.state().best_val,
                (long long)trainer.state().best_epoch);
  std::fflush(stdout);  // before the progress bar, which writes to stderr
  const train::TrainResult r = trainer.run(c.kill_after_steps);
  if (r.killed) {
    std::printf("stopped after %lld steps (--kill-after-steps); resume with --resume\n", (long long)c.kill_after_steps);
    return;
  }
  std::printf("done: %lld epochs, %lld steps in %s%s; best validation %s %.6g at epoch %lld -> %s\n",
              (long long)r.epochs_done, (long long)r.steps, train::format_duration(r.seconds).c_str(),
              r.early_stopped ? " (early stopping)" : "", val_name.c_str(), r.best_val, (long long)r.best_epoch,
              train::best_checkpoint_path(cfg.out).c_str());
}

/// `uad train` for the f-AnoGAN models (TrainerKind::wgan_gp_izif): WGAN-GP for G and D, then
/// izi_f for E (train/gan_trainer.h).
void run_adversarial(const TrainCli& c, const train::TrainConfig& cfg, const models::ModelSpec& spec) {
  train::AdversarialTrainer trainer(cfg, spec, c.resume);
  std::printf("%s %s (%lld parameters) adversarially on %s/%s: %lld training and %lld validation items, batch %lld, "
              "%lld WGAN-GP epochs (n_critic %lld, lambda %g, Adam beta (%g, %g)) then up to %lld encoder epochs "
              "(izi_f, kappa %g) -> %s\n",
              trainer.resumed() ? "resuming" : "training", spec.name.c_str(),
              (long long)trainer.model().num_parameters(), cfg.data.c_str(), cfg.view.c_str(),
              (long long)trainer.train_size(), (long long)trainer.val_size(), (long long)cfg.batch_size,
              (long long)trainer.gan_epochs(), (long long)cfg.n_critic, cfg.gp_lambda, trainer.gan_beta1(),
              cfg.gan_beta2, (long long)cfg.epochs, trainer.kappa(), cfg.out.c_str());
  run_and_report(trainer, c, cfg, "izi_f loss");
}

/// `uad train` for the VAE-GAN, AAE and AnoGAN models (TrainerKind::vae_gan, latent_adversarial, wgan_gp):
/// train/adversarial_loop.h.
void run_adversarial_loop(const TrainCli& c, const train::TrainConfig& cfg, const models::ModelSpec& spec) {
  train::AdversarialLoopTrainer trainer(cfg, spec, c.resume);
  std::printf("%s %s (%lld parameters, %s loop) on %s/%s: %lld training and %lld validation slices, batch %lld -> %s\n",
              trainer.resumed() ? "resuming" : "training", spec.name.c_str(),
              (long long)trainer.model().num_parameters(), trainer.loop_name(), cfg.data.c_str(), cfg.view.c_str(),
              (long long)trainer.train_size(), (long long)trainer.val_size(), (long long)cfg.batch_size,
              cfg.out.c_str());
  run_and_report(trainer, c, cfg, cfg.val_metric);
}

void run_train(TrainCli& c) {
  std::vector<std::pair<std::string, std::string>> overrides;
  for (const auto& k : c.keys)
    if (k.opt->count() > 0) overrides.emplace_back(k.key, k.value);
  overrides.emplace_back("progress", c.no_progress ? "false" : "true");  // per invocation, never inherited on --resume
  const train::TrainConfig cfg = train::resolve_config(c.config_file, overrides, c.resume);
  train::validate_config(cfg);
  const models::ModelSpec& spec = models::find_model(cfg.model);  // unknown → error listing the names
  std::string note;
  select_device(cfg.device, &note);
  if (!note.empty()) std::printf("%s\n", note.c_str());
  if (models::is_adversarial(spec)) {
    run_adversarial(c, cfg, spec);
    return;
  }
  if (spec.trainer == models::TrainerKind::vae_gan || spec.trainer == models::TrainerKind::latent_adversarial ||
      spec.trainer == models::TrainerKind::wgan_gp) {
    run_adversarial_loop(c, cfg, spec);
    return;
  }
  train::ReconstructionTrainer trainer(cfg, spec, c.resume);
  std::printf("%s %s (%lld parameters) on %s/%s: %lld training and %lld validation slices, batch %lld -> %s\n",
              trainer.resumed() ? "resuming" : "training", spec.name.c_str(),
              (long long)trainer.model().num_parameters(), cfg.data.c_str(), cfg.view.c_str(),
              (long long)trainer.train_size(), (long long)trainer.val_size(), (long long)cfg.batch_size,
              cfg.out.c_str());
  run_and_report(trainer, c, cfg, cfg.val_metric);
}

}  // namespace

void add_train_command(CLI::App& app) {
  static TrainCli c;
  auto* cmd = app.add_subcommand(
      "train",
      "Train a model on a prepared dataset (reconstruction models: Adam, early stopping on the validation loss; "
      "f-AnoGAN models: WGAN-GP, then the izi_f encoder with early stopping; a checkpoint every epoch, exact --resume)");
  const train::TrainConfig d;
  struct Spec {
    const char* flag;
    const char* type;
    const char* key;
    std::string help;
  };
  const std::vector<Spec> specs = {
      {"--model", "NAME", "model", "model name (`uad models` lists them)"},
      {"--data", "DIR", "data", "dataset folder built by `uad data prepare`"},
      {"--out", "DIR", "out", "run folder: config.json, last.safetensors, best.safetensors, log.jsonl"},
      {"--epochs", "INT", "epochs", "total epochs (default " + std::to_string(d.epochs) + ", early stopping usually ends sooner)"},
      {"--batch-size", "INT", "batch_size", "batch size (default " + std::to_string(d.batch_size) + ")"},
      {"--lr", "FLOAT", "lr", "Adam learning rate (default 1e-4)"},
      {"--beta1", "FLOAT", "beta1", "Adam beta1 (default 0.5, domain_spec 1.1)"},
      {"--beta2", "FLOAT", "beta2", "Adam beta2 (default 0.999)"},
      {"--patience", "INT", "patience", "early stopping: epochs without improvement (default 5; 0 = off)"},
      {"--min-delta", "FLOAT", "min_delta", "early stopping: improvement needed (default 0)"},
      {"--val-metric", "loss|l1", "val_metric", "what early stopping watches: loss (the model's loss, default) or l1"},
      {"--view", "VIEW", "view", "dataset view (default slices128)"},
      {"--train-split", "SPLIT", "train_split", "training split (default train)"},
      {"--val-split", "SPLIT", "val_split", "validation split (default val)"},
      {"--device", "auto|cpu|cuda", "device", "auto, cpu or cuda (default auto)"},
      {"--seed", "UINT", "seed", "seed of the initialisation, the shuffle and every training noise (default 0)"},
      {"--max-train-batches", "INT", "max_train_batches", "only the first N batches of each epoch (quick runs; 0 = all)"},
      {"--max-val-batches", "INT", "max_val_batches", "only the first N validation batches (0 = all)"},
      {"--gan-epochs", "INT", "gan_epochs",
       "f-AnoGAN models: WGAN-GP epochs before the encoder's (default 0 = the same as --epochs)"},
      {"--n-critic", "INT", "n_critic", "f-AnoGAN models: critic steps per generator step (default 5)"},
      {"--gp-lambda", "FLOAT", "gp_lambda", "f-AnoGAN models: gradient-penalty weight (default 10)"},
      {"--kappa", "FLOAT", "kappa", "f-AnoGAN models: izi_f feature-loss weight (default: the model's, 1)"},
      {"--refine-epochs", "INT", "refine_epochs",
       "f-AnoGAN models: epochs refining E and G together after the encoder (001 step 3; default: the model's, 10 for "
       "fanogan3d, 0 for fanogan)"},
      {"--gan-beta1", "FLOAT", "gan_beta1",
       "f-AnoGAN models: WGAN-GP Adam beta1 (default: the model's paper value, 0.5 for fanogan, 0 for fanogan3d)"},
      {"--gan-beta2", "FLOAT", "gan_beta2", "f-AnoGAN models: WGAN-GP Adam beta2 (default 0.9)"},
  };
  c.keys.reserve(specs.size());  // the options keep pointers into the strings
  for (const auto& s : specs) {
    c.keys.push_back({s.key, "", nullptr});
    c.keys.back().opt = cmd->add_option(s.flag, c.keys.back().value, s.help)->type_name(s.type);
  }
  cmd->add_option("--config", c.config_file,
                  "JSON file of settings (keys as the options with _ for -, e.g. {\"batch_size\": 8}); explicit options "
                  "override it")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--resume", c.resume,
                "continue the run in --out from its last.safetensors (its config.json supplies the settings not given)");
  cmd->add_flag("--no-progress", c.no_progress, "no progress bar or per-epoch lines");
  cmd->add_option("--kill-after-steps", c.kill_after_steps,
                  "testing: stop after N optimiser steps as if killed (no checkpoint), to exercise --resume")
      ->group("");
  cmd->callback([] { run_train(c); });
}

}  // namespace uad::cli
