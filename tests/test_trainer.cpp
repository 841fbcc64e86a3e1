// The reconstruction trainer (train/trainer.h) on a tiny hand-made dataset (16×16 slices of
// smooth blobs, tests/tiny_dataset.h) with a tiny convolutional autoencoder of
// this file, which draws noise through all three channels a model may use (dropout masks, its
// kept generator pointer, the process default generator): kill-and-resume gives bit-identical
// weights, optimiser state and log; early stopping stops after `patience` bad epochs and keeps
// the best weights; a short run lowers the validation loss; config files and overrides; the
// JSONL log's records; the documented errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/manifest.h"
#include "io/nifti.h"
#include "io/safetensors.h"
#include "layers/layers.h"
#include "tensor/ops.h"
#include "tiny_dataset.h"
#include "tests/error_of.h"
#include "tests/run_compare.h"
#include "train/config.h"
#include "train/trainer.h"

using namespace uad;
using uad::test::error_of;
using uad::test::expect_same_tensors;
using uad::test::read_log;
using uad::test::timeless;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// ---- the tiny model ---------------------------------------------------------------------------

/// [N,1,16,16] → conv 1→4 s2 → conv 4→8 s2 ([N,8,4,4]) → dropout 0.2 → + 0.05·ε (ε from the
/// default generator) → two transposed convs → sigmoid. In train mode the input also gets
/// 0.01·U[0,1) noise from the generator given at construction. loss = l1 (summed over pixels,
/// batch mean) + reg (1e-3·mean z²); ε is drawn in loss() in any mode (as a VAE's loss).
/// With `worsen`, a buffer counts training loss() calls and loss() in eval mode adds 100× it, so the
/// validation loss can only get worse (for the early-stopping test).
class TinyAE : public models::ReconstructionModel {
 public:
  TinyAE(Generator& g, bool worsen) : g_(&g), worsen_(worsen) {
    c1_ = register_module("c1", std::make_shared<nn::Conv2d>(1, 4, 3, nn::ConvOptions{.stride = {2}, .padding = {1}}, g));
    c2_ = register_module("c2", std::make_shared<nn::Conv2d>(4, 8, 3, nn::ConvOptions{.stride = {2}, .padding = {1}}, g));
    drop_ = register_module("drop", std::make_shared<nn::Dropout>(0.2));
    const nn::ConvOptions up{.stride = {2}, .padding = {1}, .output_padding = {1}};
    d1_ = register_module("d1", std::make_shared<nn::ConvTranspose2d>(8, 4, 3, up, g));
    d2_ = register_module("d2", std::make_shared<nn::ConvTranspose2d>(4, 1, 3, up, g));
    calls_ = register_buffer("calls", zeros({1}));
  }
  std::string type_name() const override { return "TinyAE"; }
  Tensor encode(const Tensor& x) { return (*drop_)(leaky_relu((*c2_)(leaky_relu((*c1_)(x), 0.2)), 0.2)); }
  Tensor decode(const Tensor& z) { return sigmoid((*d2_)(leaky_relu((*d1_)(z), 0.2))); }
  Tensor reconstruct(const Tensor& x) override { return decode(encode(x)); }
  models::LossTerms loss(const Tensor& x) override {
    Tensor in = is_training() ? x + rand(x.shape(), *g_) * 0.01 : x;
    Tensor z = encode(in);
    z = z + randn(z.shape()) * 0.05;  // default generator
    Tensor l1 = l1_loss(decode(z), x, Reduction::batch_mean);
    Tensor reg = mean(square(z)) * 1e-3;
    Tensor total = l1 + reg;
    if (worsen_) {
      if (is_training()) calls_.data<float>()[0] += 1.f;
      else total = total + 100.0 * calls_.item();
    }
    return {total, {{"l1", l1}, {"reg", reg}}};
  }

 private:
  Generator* g_;
  bool worsen_;
  std::shared_ptr<nn::Conv2d> c1_, c2_;
  std::shared_ptr<nn::Dropout> drop_;
  std::shared_ptr<nn::ConvTranspose2d> d1_, d2_;
  Tensor calls_;
};

models::ModelSpec tiny_spec(bool worsen = false, Shape input = {1, 16, 16}) {
  return {worsen ? "tiny_worsening_ae" : "tiny_ae", input, "tests/test_trainer.cpp",
          [worsen](Generator& g) -> std::shared_ptr<models::ReconstructionModel> {
            return std::make_shared<TinyAE>(g, worsen);
          }};
}

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = (fs::temp_directory_path() / ("uad_test_trainer_" + std::to_string(::getpid()))).string();
    fs::remove_all(root_);
    fs::create_directories(root_);
    data_ = root_ + "/data";
    test::write_tiny_dataset(data_, false);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static train::TrainConfig config(const std::string& run, int64_t epochs = 3) {
    train::TrainConfig c;
    c.model = "tiny_ae";
    c.data = data_;
    c.out = root_ + "/" + run;
    c.view = "slices16";
    c.epochs = epochs;
    c.batch_size = 8;
    c.lr = 1e-2;
    c.seed = 5;
    c.device = "cpu";
    c.progress = false;
    return c;
  }
  static std::string root_, data_;
};
std::string TrainerTest::root_, TrainerTest::data_;

/// Every tensor of two safetensors files is bit-identical (same names, shapes, bytes).

/// Largest |a − b| over the model tensors of two state files (prefix "model" for checkpoints,
/// "" for a plain state dict).
double max_model_diff(const std::string& a, const std::string& pa, const std::string& b, const std::string& pb) {
  auto select = [](const std::string& file, const std::string& prefix) {
    const auto t = io::load_safetensors(file).tensors;
    return prefix.empty() ? nn::StateDict(t.begin(), t.end()) : nn::sub_state_dict(t, prefix);
  };
  const auto ta = select(a, pa), tb = select(b, pb);
  EXPECT_EQ(ta.size(), tb.size());
  double d = 0;
  for (const auto& [name, x] : ta) d = std::max(d, amax(abs(x - tb.at(name))).item());
  return d;
}



}  // namespace

TEST_F(TrainerTest, KillAndResumeIsBitIdenticalToAStraightRun) {
  {
    train::ReconstructionTrainer t(config("straight"), tiny_spec());
    const auto r = t.run();
    EXPECT_EQ(r.epochs_done, 3);
    EXPECT_EQ(r.steps, 9);
    EXPECT_TRUE(r.finished);
  }
  const train::TrainConfig c = config("killed");
  {  // killed after 2 of the 3 steps of epoch 1: no checkpoint yet
    train::ReconstructionTrainer t(c, tiny_spec());
    EXPECT_TRUE(t.run(2).killed);
  }
  EXPECT_FALSE(fs::exists(train::last_checkpoint_path(c.out)));
  manual_seed(999);  // someone else uses the default generator in between
  randn({1000});
  {  // resume without a checkpoint starts again; killed after the 3 steps of epoch 1, before its checkpoint
    train::ReconstructionTrainer t(c, tiny_spec(), true);
    EXPECT_FALSE(t.resumed());
    EXPECT_TRUE(t.run(3).killed);
  }
  EXPECT_FALSE(fs::exists(train::last_checkpoint_path(c.out)));
  {  // epoch 1 completes (checkpoint), killed 1 step into epoch 2
    train::ReconstructionTrainer t(c, tiny_spec(), true);
    EXPECT_TRUE(t.run(4).killed);
    EXPECT_EQ(t.state().epoch, 1);
  }
  randn({77});
  {
    train::ReconstructionTrainer t(c, tiny_spec(), true);
    EXPECT_TRUE(t.resumed());
    EXPECT_EQ(t.state().epoch, 1);
    EXPECT_EQ(t.state().step, 3);
    EXPECT_EQ(t.optimizer().steps(), 3);
    const auto r = t.run();
    EXPECT_EQ(r.epochs_done, 3);
    EXPECT_EQ(r.steps, 9);
    EXPECT_EQ(r.val_history.size(), 2u);
  }
  const std::string a = config("straight").out, b = c.out;
  // Weights, buffers, Adam moments (and the metadata's counters and generator states).
  expect_same_tensors(train::last_checkpoint_path(a), train::last_checkpoint_path(b));
  expect_same_tensors(train::best_checkpoint_path(a), train::best_checkpoint_path(b));
  const auto ma = io::load_safetensors(train::last_checkpoint_path(a)).metadata;
  const auto mb = io::load_safetensors(train::last_checkpoint_path(b)).metadata;
  for (const char* k : {"epoch", "step", "adam_steps", "best_val", "best_epoch", "bad_epochs", "model_rng_offset",
                        "default_rng_seed", "default_rng_offset"})
    EXPECT_EQ(ma.at(k), mb.at(k)) << k;
  EXPECT_NE(ma.at("model_rng_offset"), "0");  // the model did draw from the trainer's generator
  // Identical log: the killed sessions' partial epochs were cut on resume.
  const auto la = read_log(a), lb = read_log(b);
  ASSERT_EQ(la.size(), 12u);  // 9 steps + 3 epochs
  ASSERT_EQ(lb.size(), la.size());
  for (size_t i = 0; i < la.size(); ++i) EXPECT_EQ(timeless(la[i]), timeless(lb[i])) << "log line " << i;
}

TEST_F(TrainerTest, ResumingAFinishedRunDoesNothing) {
  train::TrainConfig c = config("finished", 2);
  { train::ReconstructionTrainer(c, tiny_spec()).run(); }
  const auto before = fs::file_size(train::log_path(c.out));
  {
    train::ReconstructionTrainer t(c, tiny_spec(), true);
    const auto r = t.run();
    EXPECT_TRUE(r.finished);
    EXPECT_EQ(r.epochs_done, 2);
    EXPECT_TRUE(r.val_history.empty());
  }
  EXPECT_EQ(fs::file_size(train::log_path(c.out)), before);
  c.epochs = 3;  // extending a run that ran out of epochs continues it
  train::ReconstructionTrainer t(c, tiny_spec(), true);
  const auto r = t.run();
  EXPECT_EQ(r.epochs_done, 3);
  EXPECT_EQ(r.val_history.size(), 1u);
}

TEST_F(TrainerTest, EarlyStoppingAfterPatienceKeepsTheBestWeights) {
  train::TrainConfig c = config("early", 20);
  c.patience = 2;
  train::TrainResult r;
  {
    train::ReconstructionTrainer t(c, tiny_spec(true));
    r = t.run();
  }
  // Validation gets worse every epoch: epoch 1 is best, epochs 2 and 3 are the 2 bad ones.
  EXPECT_TRUE(r.early_stopped);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.epochs_done, 3);
  EXPECT_EQ(r.best_epoch, 1);
  ASSERT_EQ(r.val_history.size(), 3u);
  EXPECT_LT(r.val_history[0], r.val_history[1]);
  EXPECT_EQ(r.best_val, r.val_history[0]);
  const auto log = read_log(c.out);
  std::vector<json> epochs;
  for (const auto& l : log)
    if (l["kind"] == "epoch") epochs.push_back(l);
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_EQ(epochs[0]["improved"], true);
  EXPECT_EQ(epochs[1]["bad_epochs"], 1);
  EXPECT_EQ(epochs[2]["bad_epochs"], 2);
  EXPECT_EQ(epochs[1]["stop"], "");
  EXPECT_EQ(epochs[2]["stop"], "early_stopping");
  // best.safetensors = the weights after epoch 1 = the last weights of a 1-epoch run (same seed).
  train::TrainConfig one = config("early_one", 1);
  one.patience = 2;
  { train::ReconstructionTrainer(one, tiny_spec(true)).run(); }
  EXPECT_EQ(max_model_diff(train::best_checkpoint_path(c.out), "", train::last_checkpoint_path(one.out), "model"), 0.0);
  EXPECT_GT(max_model_diff(train::best_checkpoint_path(c.out), "", train::last_checkpoint_path(c.out), "model"), 1e-4);
  const auto meta = io::load_safetensors(train::best_checkpoint_path(c.out)).metadata;
  EXPECT_EQ(meta.at("epoch"), "1");
  EXPECT_EQ(meta.at("model"), "tiny_worsening_ae");
  // Resuming an early-stopped run does nothing.
  train::ReconstructionTrainer again(c, tiny_spec(true), true);
  EXPECT_TRUE(again.run().val_history.empty());
}

TEST_F(TrainerTest, AShortRunLowersTheValidationLoss) {
  // lr 0: Adam leaves the weights alone, so the validation loss is the untrained model's.
  train::TrainConfig c0 = config("untrained", 1);
  c0.lr = 0;
  train::TrainResult r0;
  { r0 = train::ReconstructionTrainer(c0, tiny_spec()).run(); }
  train::TrainConfig c = config("short", 6);
  train::TrainResult r;
  { r = train::ReconstructionTrainer(c, tiny_spec()).run(); }
  ASSERT_EQ(r.val_history.size(), 6u);
  EXPECT_LT(r.val_history.back(), 0.6 * r0.val_history[0]) << "untrained " << r0.val_history[0];
  EXPECT_LT(r.val_history.back(), r.val_history.front());
  // The watched value is val_loss; val_l1 is logged beside it.
  const auto log = read_log(c.out);
  EXPECT_EQ(log.back()["val"], log.back()["val_loss"]);
  EXPECT_GT(log.back()["val_l1"].get<double>(), 0.0);
  // With val_metric l1 early stopping watches the reconstruction L1 instead.
  train::TrainConfig cl = config("l1metric", 1);
  cl.val_metric = "l1";
  train::TrainResult rl;
  { rl = train::ReconstructionTrainer(cl, tiny_spec()).run(); }
  const auto ll = read_log(cl.out);
  EXPECT_EQ(ll.back()["val"], ll.back()["val_l1"]);
  EXPECT_NE(ll.back()["val_l1"], ll.back()["val_loss"]);
  EXPECT_EQ(rl.best_val, ll.back()["val_l1"].get<double>());
}

TEST_F(TrainerTest, TheLogHasOneLinePerStepAndPerEpochWithTheDocumentedFields) {
  train::TrainConfig c = config("log", 2);
  c.max_train_batches = 2;  // 2 of the 3 batches per epoch
  { train::ReconstructionTrainer(c, tiny_spec()).run(); }
  const auto log = read_log(c.out);
  ASSERT_EQ(log.size(), 6u);  // 2 × (2 steps + 1 epoch)
  int64_t step = 0;
  double last_seconds = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    const json& l = log[i];
    const bool is_epoch = i % 3 == 2;
    EXPECT_EQ(l["kind"], is_epoch ? "epoch" : "step") << i;
    EXPECT_EQ(l["epoch"], (int64_t)i / 3 + 1) << i;
    EXPECT_GE(l["seconds"].get<double>(), last_seconds);
    last_seconds = l["seconds"];
    EXPECT_EQ(l["lr"], 1e-2);
    if (!is_epoch) {
      EXPECT_EQ(l["step"], ++step);
      EXPECT_EQ(l["batch"], (int64_t)i % 3);
      for (const char* k : {"loss", "l1", "reg"}) EXPECT_TRUE(l[k].is_number()) << k;
      EXPECT_NEAR(l["loss"].get<double>(), l["l1"].get<double>() + l["reg"].get<double>(), 1e-4);
    } else {
      EXPECT_EQ(l["step"], step);
      for (const char* k : {"train_loss", "train_l1", "train_reg", "val_loss", "val_l1", "val_reg", "val", "best_val",
                            "epoch_seconds", "val_seconds"})
        EXPECT_TRUE(l[k].is_number()) << k;
      for (const char* k : {"best_epoch", "bad_epochs"}) EXPECT_TRUE(l[k].is_number_integer()) << k;
      EXPECT_TRUE(l["improved"].is_boolean());
      EXPECT_TRUE(l["stop"].is_string());
      // train_loss is the mean of the epoch's step losses.
      const double mean = (log[i - 2]["loss"].get<double>() + log[i - 1]["loss"].get<double>()) / 2;
      EXPECT_NEAR(l["train_loss"].get<double>(), mean, 1e-9);
    }
  }
  EXPECT_EQ(log.back()["stop"], "epochs");
  // The resolved configuration sits next to the checkpoints and reads back to the same values.
  train::TrainConfig back;
  train::apply_config_file(back, train::config_path(c.out));
  EXPECT_EQ(train::config_to_json(back), train::config_to_json(c));
}

TEST_F(TrainerTest, ConfigFileValuesAreUsedAndExplicitOptionsOverrideThem) {
  const std::string file = root_ + "/cfg.json";
  std::ofstream(file) << R"({"model": "tiny_ae", "epochs": 4, "lr": 0.003, "batch_size": 4, "seed": 7,
                            "progress": false, "val_metric": "l1", "out": ")" + root_ + R"(/cfgrun"})";
  const auto c = train::resolve_config(file, {{"lr", "0.5"}, {"data", "/x"}}, false);
  EXPECT_EQ(c.model, "tiny_ae");
  EXPECT_EQ(c.epochs, 4);
  EXPECT_EQ(c.batch_size, 4);
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.lr, 0.5);          // the explicit value wins
  EXPECT_EQ(c.data, "/x");
  EXPECT_EQ(c.beta1, 0.5);       // defaults (domain_spec §1.1) where nothing is given
  EXPECT_EQ(c.patience, 5);
  EXPECT_FALSE(c.progress);
  EXPECT_EQ(c.val_metric, "l1");
  // Resume: the run's own config.json is the base, then the file, then the options.
  fs::create_directories(root_ + "/cfgrun");
  std::ofstream(train::config_path(root_ + "/cfgrun")) << R"({"epochs": 9, "patience": 3, "view": "slices16"})";
  const auto r = train::resolve_config(file, {{"epochs", "11"}}, true);
  EXPECT_EQ(r.epochs, 11);
  EXPECT_EQ(r.patience, 3);
  EXPECT_EQ(r.view, "slices16");
  EXPECT_EQ(r.lr, 0.003);
  // Round trip of every key, with doubles exact.
  train::TrainConfig x;
  x.lr = 1.0 / 3.0;
  x.seed = 18446744073709551615ull;
  x.model = "m";
  train::TrainConfig y;
  train::apply_config_json(y, train::config_to_json(x), "test");
  EXPECT_EQ(y.lr, x.lr);
  EXPECT_EQ(y.seed, x.seed);
  EXPECT_EQ(train::config_to_json(y), train::config_to_json(x));
  EXPECT_EQ(train::config_keys().size(), 27u);
  // Errors name the key.
  train::TrainConfig z;
  EXPECT_NE(error_of([&] { train::set_config_value(z, "learning_rate", "1"); }).find("unknown key 'learning_rate'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { train::set_config_value(z, "epochs", "2.5"); }).find("epochs = '2.5' is not an integer"),
            std::string::npos);
  EXPECT_NE(error_of([&] { train::set_config_value(z, "seed", "-1"); }).find("seed"), std::string::npos);
  EXPECT_NE(error_of([&] { train::apply_config_json(z, R"({"lr": [1]})", "f.json"); }).find("'lr' must be a number"),
            std::string::npos);
  EXPECT_NE(error_of([&] { train::apply_config_json(z, "[1]", "f.json"); }).find("JSON object"), std::string::npos);
  EXPECT_NE(error_of([&] { train::apply_config_file(z, root_ + "/none.json"); }).find("cannot read"), std::string::npos);
  train::TrainConfig v = config("unused");
  v.val_metric = "psnr";
  EXPECT_NE(error_of([&] { train::validate_config(v); }).find("val_metric"), std::string::npos);
  v = config("unused");
  v.model.clear();
  EXPECT_NE(error_of([&] { train::validate_config(v); }).find("--model is required"), std::string::npos);
}

TEST_F(TrainerTest, BadInputsGiveOneClearErrorAndCreateNothing) {
  train::TrainConfig c = config("bad");
  c.data = root_ + "/no_such_dataset";
  EXPECT_NE(error_of([&] { train::ReconstructionTrainer(c, tiny_spec()); }).find("no dataset folder"), std::string::npos);
  c = config("bad");
  c.view = "slices128";
  EXPECT_NE(error_of([&] { train::ReconstructionTrainer(c, tiny_spec()); }).find("view 'slices128'"), std::string::npos);
  c = config("bad");
  EXPECT_NE(error_of([&] { train::ReconstructionTrainer(c, tiny_spec(false, {1, 32, 32})); }).find("takes inputs [1,32,32]"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(c.out));
  // An existing run is not overwritten without --resume; another model's checkpoint is refused.
  c = config("existing", 1);
  { train::ReconstructionTrainer(c, tiny_spec()).run(); }
  EXPECT_NE(error_of([&] { train::ReconstructionTrainer(c, tiny_spec()); }).find("already holds a run"), std::string::npos);
  EXPECT_NE(error_of([&] { train::ReconstructionTrainer(c, tiny_spec(true), true); }).find("was written for model 'tiny_ae'"),
            std::string::npos);
  nn::Module empty_model;
  train::Adam no_params({}, {});
  EXPECT_NE(error_of([&] { train::load_checkpoint(train::best_checkpoint_path(c.out), "tiny_ae", empty_model, no_params); })
                .find("not a uad training checkpoint"),
            std::string::npos);
}
