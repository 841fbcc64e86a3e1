// The VAE-GAN / AAE trainer (train/adversarial_loop.h) on the tiny hand-made dataset of
// tests/test_gan_trainer.cpp (16×16 slices of smooth blobs; the writer is repeated here, test
// files are separate executables): kill-and-resume is bit-identical for the three loops
// (AnoVAEGAN: WGAN-GP critic + separate generator step; sVAE-GAN: cross-entropy discriminator
// first, combined step; Constrained AAE: AE/critic/encoder steps with the warm-up switch inside
// the run), the log's records, a short run lowers the validation loss, configuration errors.
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
#include "models/adversarial.h"
#include "models/anogan.h"
#include "tensor/ops.h"
#include "tiny_dataset.h"
#include "tests/error_of.h"
#include "tests/run_compare.h"
#include "train/adversarial_loop.h"
#include "train/config.h"

using namespace uad;
using uad::test::error_of;
using uad::test::expect_same_tensors;
using uad::test::read_log;
using uad::test::timeless;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

models::UnifiedConfig tiny_unified(bool frozen_bn = false) {
  models::UnifiedConfig c;
  c.image_size = 16;
  c.bottleneck = 4;  // 2 levels: channels 32, 64
  c.zdim = 8;
  c.bn.frozen_stats = frozen_bn;  // see tests/test_gan_trainer.cpp tiny_unified
  return c;
}

models::ModelSpec tiny_anovaegan(bool frozen_bn = false) {
  models::VaeGanOptions o;
  o.n_critic = 2;
  return {"tiny_anovaegan", {1, 16, 16}, "tests/test_vaegan_trainer.cpp",
          [frozen_bn, o](Generator& g) -> std::shared_ptr<models::ReconstructionModel> {
            return std::make_shared<models::AnoVAEGAN>(tiny_unified(frozen_bn), g, o);
          },
          models::TrainerKind::vae_gan};
}

models::ModelSpec tiny_svae_gan() {
  models::Baur2018Config c;
  c.image_size = 16;
  c.encoder_channels = {8, 8};
  c.decoder_channels = {8, 8};
  c.z_channels = 4;
  c.variational = true;
  models::VaeGanOptions o;
  o.wasserstein = false;
  o.separate_generator_step = false;
  o.critic_first = true;
  o.n_critic = 1;
  o.critic_lr_ratio = 0.1;
  return {"tiny_svae_gan", {1, 16, 16}, "tests/test_vaegan_trainer.cpp",
          [c, o](Generator& g) -> std::shared_ptr<models::ReconstructionModel> {
            return std::make_shared<models::Baur2018Gan>(c, g, o);
          },
          models::TrainerKind::vae_gan};
}

models::ModelSpec tiny_aae() {
  models::AaeOptions o;
  o.ae_steps_warmup = 2;
  o.warmup_epochs = 1;  // epoch 1: 2 AE steps per batch, later 1
  o.critic_steps = 2;
  return {"tiny_aae", {1, 16, 16}, "tests/test_vaegan_trainer.cpp",
          [o](Generator& g) -> std::shared_ptr<models::ReconstructionModel> {
            return std::make_shared<models::ConstrainedAAE>(tiny_unified(), g, o);
          },
          models::TrainerKind::latent_adversarial};
}

models::ModelSpec tiny_anogan() {
  models::AnoGanConfig c;
  c.image_size = 16;
  c.gen_channels = {8, 4};
  c.critic_channels = {4, 8};
  c.latent = 4;
  c.search_steps = 5;
  c.n_critic = 2;
  return {"tiny_anogan", {1, 16, 16}, "tests/test_vaegan_trainer.cpp",
          [c](Generator& g) -> std::shared_ptr<models::ReconstructionModel> {
            return std::make_shared<models::AnoGAN>(c, g);
          },
          models::TrainerKind::wgan_gp};
}

class LoopTrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = (fs::temp_directory_path() / ("uad_test_vaegan_trainer_" + std::to_string(::getpid()))).string();
    fs::remove_all(root_);
    fs::create_directories(root_);
    data_ = root_ + "/data";
    test::write_tiny_dataset(data_, false);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  /// `epochs` epochs over the first 2 of the 3 batches of 8 slices.
  static train::TrainConfig config(const std::string& run, const std::string& model, int64_t epochs = 3) {
    train::TrainConfig c;
    c.model = model;
    c.data = data_;
    c.out = root_ + "/" + run;
    c.view = "slices16";
    c.epochs = epochs;
    c.batch_size = 8;
    c.max_train_batches = 2;
    c.lr = 1e-3;
    c.seed = 7;
    c.device = "cpu";
    c.progress = false;
    return c;
  }
  static std::string root_, data_;
};
std::string LoopTrainerTest::root_, LoopTrainerTest::data_;





/// A straight run and runs killed after 1 step (epoch 1) and after 3 steps (epoch 2), then
/// resumed, end with the same last.safetensors (weights, Adam moments, generator states) and log.
void expect_kill_and_resume_identical(const models::ModelSpec& spec, const std::string& tag,
                                      train::TrainConfig (*config)(const std::string&, const std::string&, int64_t)) {
  {
    train::AdversarialLoopTrainer t(config(tag + "_straight", spec.name, 3), spec);
    const auto r = t.run();
    EXPECT_EQ(r.epochs_done, 3);
    EXPECT_EQ(r.steps, 6);
    EXPECT_TRUE(r.finished);
  }
  for (int64_t kill : {1, 3}) {
    const std::string run = tag + "_killed" + std::to_string(kill);
    {
      train::AdversarialLoopTrainer t(config(run, spec.name, 3), spec);
      EXPECT_TRUE(t.run(kill).killed);
    }
    {
      train::AdversarialLoopTrainer t(config(run, spec.name, 3), spec, /*resume=*/true);
      EXPECT_EQ(t.resumed(), kill == 3);  // killed in epoch 1: no checkpoint yet, starts again
      const auto r = t.run();
      EXPECT_TRUE(r.finished);
      EXPECT_EQ(r.steps, 6);
    }
    expect_same_tensors(train::last_checkpoint_path(config(tag + "_straight", spec.name, 3).out),
                        train::last_checkpoint_path(config(run, spec.name, 3).out));
    const auto a = read_log(config(tag + "_straight", spec.name, 3).out), b = read_log(config(run, spec.name, 3).out);
    ASSERT_EQ(a.size(), b.size()) << run;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(timeless(a[i]), timeless(b[i])) << run << " line " << i;
  }
}

}  // namespace

TEST_F(LoopTrainerTest, KillAndResumeIsBitIdenticalForAnoVAEGAN) {
  expect_kill_and_resume_identical(tiny_anovaegan(), "anovaegan", &config);
}

TEST_F(LoopTrainerTest, KillAndResumeIsBitIdenticalForSVAEGAN) {
  expect_kill_and_resume_identical(tiny_svae_gan(), "svaegan", &config);
}

TEST_F(LoopTrainerTest, KillAndResumeIsBitIdenticalForTheConstrainedAAE) {
  expect_kill_and_resume_identical(tiny_aae(), "aae", &config);
}

TEST_F(LoopTrainerTest, KillAndResumeIsBitIdenticalForAnoGAN) {
  expect_kill_and_resume_identical(tiny_anogan(), "anogan", &config);
  const auto log = read_log(config("anogan_straight", "tiny_anogan", 3).out);
  for (const char* k : {"critic_loss", "wasserstein", "penalty", "generator_loss"}) EXPECT_TRUE(log[0][k].is_number()) << k;
  for (const char* k : {"val_loss", "val_l1", "val_feat"}) EXPECT_TRUE(log[2][k].is_number()) << k;
}

TEST_F(LoopTrainerTest, OptimisersAndTheLog) {
  train::TrainConfig c = config("log", "tiny_aae", 2);
  {
    train::AdversarialLoopTrainer t(c, tiny_aae());
    EXPECT_STREQ(t.loop_name(), "latent_adversarial");
    t.run();
    // epoch 1: 2 batches × 2 AE steps; epoch 2: 2 × 1.
    EXPECT_EQ(t.optimizer("autoencoder").steps(), 6);
    EXPECT_EQ(t.optimizer("critic").steps(), 8);
    EXPECT_EQ(t.optimizer("encoder").steps(), 4);
    EXPECT_EQ(t.optimizer("critic").options().beta1, 0.5);
    EXPECT_EQ(t.optimizer("critic").options().beta2, 0.9);
    EXPECT_NE(error_of([&] { t.optimizer("generator"); }).find("no optimiser 'generator'"), std::string::npos);
  }
  const auto log = read_log(c.out);
  ASSERT_EQ(log.size(), 6u);
  for (const char* k : {"ae_loss", "critic_loss", "wasserstein", "penalty", "encoder_loss"})
    EXPECT_TRUE(log[0][k].is_number()) << k;
  EXPECT_NEAR(log[0]["critic_loss"].get<double>(), -log[0]["wasserstein"].get<double>() + log[0]["penalty"].get<double>(),
              1e-5 * (1 + std::abs(log[0]["critic_loss"].get<double>())));
  const json& e = log[5];
  EXPECT_EQ(e["kind"], "epoch");
  for (const char* k : {"train_ae_loss", "val_loss", "val_mse", "val_mse_z", "val_l1", "val", "best_val"})
    EXPECT_TRUE(e[k].is_number()) << k;
  EXPECT_EQ(e["stop"], "epochs");
  const auto best = io::load_safetensors(train::best_checkpoint_path(c.out));
  bool critic = false;
  for (const auto& [k, t] : best.tensors) critic |= k.rfind("latent_critic.", 0) == 0;
  EXPECT_TRUE(critic);

  train::TrainConfig v = config("log_vaegan", "tiny_anovaegan", 1);
  {
    train::AdversarialLoopTrainer t(v, tiny_anovaegan());
    t.run();
    EXPECT_EQ(t.optimizer("autoencoder").steps(), 2);
    EXPECT_EQ(t.optimizer("generator").steps(), 2);
    EXPECT_EQ(t.optimizer("critic").steps(), 4);  // n_critic 2
  }
  const auto lv = read_log(v.out);
  for (const char* k : {"loss", "l1", "kl", "generator_loss", "critic_loss", "wasserstein", "penalty"})
    EXPECT_TRUE(lv[0][k].is_number()) << k;
  EXPECT_NEAR(lv[0]["loss"].get<double>(), lv[0]["l1"].get<double>() + lv[0]["kl"].get<double>(),
              1e-4 * lv[0]["loss"].get<double>());
}

TEST_F(LoopTrainerTest, AShortRunLowersTheValidationLoss) {
  train::TrainConfig c = config("short", "tiny_anovaegan", 4);
  train::TrainResult r;
  { r = train::AdversarialLoopTrainer(c, tiny_anovaegan(/*frozen_bn=*/true)).run(); }
  ASSERT_EQ(r.val_history.size(), 4u);
  EXPECT_LT(r.val_history.back(), 0.9 * r.val_history.front());
  EXPECT_EQ(r.best_val, *std::min_element(r.val_history.begin(), r.val_history.end()));
}

TEST_F(LoopTrainerTest, BadConfigurationsGiveOneClearError) {
  models::ModelSpec plain = tiny_anovaegan();
  plain.trainer = models::TrainerKind::reconstruction;
  EXPECT_NE(error_of([&] { train::AdversarialLoopTrainer(config("bad1", "tiny_anovaegan"), plain); })
                .find("is not trained by the VAE-GAN / AAE / WGAN-GP loop"),
            std::string::npos);
  models::ModelSpec wrong = tiny_anovaegan();
  wrong.trainer = models::TrainerKind::latent_adversarial;
  EXPECT_NE(error_of([&] { train::AdversarialLoopTrainer(config("bad2", "tiny_anovaegan"), wrong); })
                .find("is not a models::LatentAdversarialModel"),
            std::string::npos);
  { train::AdversarialLoopTrainer(config("bad3", "tiny_aae", 1), tiny_aae()).run(); }
  EXPECT_NE(error_of([&] { train::AdversarialLoopTrainer(config("bad3", "tiny_aae", 1), tiny_aae()); })
                .find("already holds a run"),
            std::string::npos);
  models::ModelSpec other = tiny_anovaegan();
  other.name = "tiny_aae";  // a checkpoint of another model under the same name → shape errors
  EXPECT_NE(error_of([&] { train::AdversarialLoopTrainer(config("bad3", "tiny_aae", 2), other, true); }).find("bad3"),
            std::string::npos);
}
