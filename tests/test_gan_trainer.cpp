// The adversarial trainer (train/gan_trainer.h) on tiny hand-made datasets (16×16 slices of
// smooth blobs; 64³ volumes for the 3-D model), written here as NIfTI stacks + manifest:
//   - kill-and-resume (killed in the GAN phase, in the encoder phase, and before the first
//     checkpoint) ends with bit-identical weights, optimiser moments and log;
//   - early stopping in the encoder phase keeps the best encoder epoch (a test model whose
//     validation loss can only get worse);
//   - a short run lowers the encoder's validation loss;
//   - the log's records of both phases; bad configurations give one clear error;
//   - the 3-D model trains on a volume view (VolumeLoader) (and refines, 1 epoch);
// The refinement phase has its own file, tests/test_gan_refine.cpp.
// The 2-D model is models::FAnoGAN2d at 16×16 (bottleneck 4, z 8; the registry's 128² one is
// too slow for a unit test); the 3-D one FAnoGAN3d at scale 16, latent 8. Fixture and helpers:
// tests/gan_trainer_fixture.h.
#include "gan_trainer_fixture.h"

TEST_F(GanTrainerTest, KillAndResumeIsBitIdenticalToAStraightRun) {
  {
    train::AdversarialTrainer t(config("straight"), tiny_spec());
    const auto r = t.run();
    EXPECT_EQ(r.epochs_done, 4);
    EXPECT_EQ(r.steps, 2 * 1 + 2 * 2);
    EXPECT_TRUE(r.finished);
    EXPECT_EQ(t.critic_optimizer().steps(), 2 * 2);  // every real batch of the 2 GAN epochs
    EXPECT_EQ(t.generator_optimizer().steps(), 2);
    EXPECT_EQ(t.encoder_optimizer().steps(), 2 * 2);
    EXPECT_EQ(t.gan_beta1(), 0.5);  // the model's default
  }
  const train::TrainConfig c = config("killed");
  {  // killed after the only step of the first epoch, before its checkpoint
    train::AdversarialTrainer t(c, tiny_spec());
    EXPECT_TRUE(t.run(1).killed);
  }
  EXPECT_FALSE(fs::exists(train::last_checkpoint_path(c.out)));
  manual_seed(999);  // someone else draws from the default generator in between
  randn({100});
  {  // GAN epoch 1 done (checkpoint), killed after the step of GAN epoch 2
    train::AdversarialTrainer t(c, tiny_spec(), true);
    EXPECT_FALSE(t.resumed());
    EXPECT_TRUE(t.run(2).killed);
    EXPECT_EQ(t.state().epoch, 1);
  }
  {  // resumed in the GAN phase: GAN epoch 2 done, killed 1 step into encoder epoch 1 (global 3)
    train::AdversarialTrainer t(c, tiny_spec(), true);
    EXPECT_TRUE(t.resumed());
    EXPECT_EQ(t.state().step, 1);
    EXPECT_EQ(t.critic_optimizer().steps(), 2);
    EXPECT_EQ(t.generator_optimizer().steps(), 1);
    EXPECT_TRUE(t.run(2).killed);
    EXPECT_EQ(t.state().epoch, 2);
  }
  {  // resumed at the phase change: encoder epoch 1 done, killed 1 step into encoder epoch 2
    train::AdversarialTrainer t(c, tiny_spec(), true);
    EXPECT_EQ(t.encoder_optimizer().steps(), 0);
    EXPECT_TRUE(t.run(3).killed);
    EXPECT_EQ(t.state().epoch, 3);
  }
  randn({7});
  {
    train::AdversarialTrainer t(c, tiny_spec(), true);
    EXPECT_EQ(t.state().epoch, 3);
    EXPECT_EQ(t.encoder_optimizer().steps(), 2);
    const auto r = t.run();
    EXPECT_EQ(r.epochs_done, 4);
    EXPECT_EQ(r.steps, 6);
    EXPECT_EQ(r.val_history.size(), 1u);
  }
  const std::string a = config("straight").out, b = c.out;
  expect_same_tensors(train::last_checkpoint_path(a), train::last_checkpoint_path(b));
  expect_same_tensors(train::best_checkpoint_path(a), train::best_checkpoint_path(b));
  const auto ma = io::load_safetensors(train::last_checkpoint_path(a)).metadata;
  const auto mb = io::load_safetensors(train::last_checkpoint_path(b)).metadata;
  for (const char* k : {"epoch", "step", "best_val", "best_epoch", "bad_epochs", "model_rng_offset", "default_rng_seed",
                        "default_rng_offset", "adam_critic_steps", "adam_generator_steps", "adam_encoder_steps"})
    EXPECT_EQ(ma.at(k), mb.at(k)) << k;
  EXPECT_NE(ma.at("model_rng_offset"), "0");
  const auto la = read_log(a), lb = read_log(b);
  ASSERT_EQ(la.size(), 10u);  // 6 steps + 4 epochs
  ASSERT_EQ(lb.size(), la.size());
  for (size_t i = 0; i < la.size(); ++i) EXPECT_EQ(timeless(la[i]), timeless(lb[i])) << "log line " << i;
  // A finished run resumes to nothing.
  train::AdversarialTrainer again(c, tiny_spec(), true);
  const auto r = again.run();
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.val_history.empty());
}

TEST_F(GanTrainerTest, TheLogRecordsBothPhases) {
  train::TrainConfig c = config("log", 1);
  c.max_train_batches = 0;  // all 3 batches: 2 WGAN-GP iterations (2 + 1 batches) per GAN epoch
  { train::AdversarialTrainer(c, tiny_spec()).run(); }
  const auto log = read_log(c.out);
  // GAN epoch: 2 steps + epoch line, twice; encoder epoch: 3 steps + epoch line.
  ASSERT_EQ(log.size(), 10u);
  const char* kinds[10] = {"step", "step", "epoch", "step", "step", "epoch", "step", "step", "step", "epoch"};
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i]["kind"], kinds[i]) << i;
    EXPECT_EQ(log[i]["phase"], i < 6 ? "gan" : "encoder") << i;
  }
  for (const char* k : {"critic_loss", "wasserstein", "penalty", "generator_loss"}) EXPECT_TRUE(log[0][k].is_number()) << k;
  EXPECT_EQ(log[0]["batch"], 1);  // the iteration's last real batch (n_critic 2)
  EXPECT_EQ(log[1]["batch"], 2);  // the remaining batch of the epoch
  EXPECT_NEAR(log[0]["critic_loss"].get<double>(), -log[0]["wasserstein"].get<double>() + log[0]["penalty"].get<double>(),
              1e-5 * (1 + std::abs(log[0]["critic_loss"].get<double>())));
  EXPECT_EQ(log[5]["epoch"], 2);
  EXPECT_EQ(log[5]["phase_epoch"], 2);
  EXPECT_FALSE(log[5].contains("val_loss"));
  for (const char* k : {"loss", "img", "feat"}) EXPECT_TRUE(log[6][k].is_number()) << k;
  const json& e = log[9];
  EXPECT_EQ(e["epoch"], 3);
  EXPECT_EQ(e["phase_epoch"], 1);
  EXPECT_EQ(e["step"], 7);
  for (const char* k : {"train_loss", "train_img", "train_feat", "val_loss", "val_img", "val_feat", "val", "best_val"})
    EXPECT_TRUE(e[k].is_number()) << k;
  EXPECT_NEAR(e["val_loss"].get<double>(), e["val_img"].get<double>() + e["val_feat"].get<double>(), 1e-6);
  EXPECT_EQ(e["stop"], "epochs");
  EXPECT_EQ(e["best_epoch"], 3);
  EXPECT_TRUE(fs::exists(train::best_checkpoint_path(c.out)));
  // best.safetensors holds the whole model (G, D and E).
  const auto best = io::load_safetensors(train::best_checkpoint_path(c.out));
  for (const char* net : {"generator.", "critic.", "encoder."}) {
    bool found = false;
    for (const auto& [k, t] : best.tensors) found |= k.rfind(net, 0) == 0;
    EXPECT_TRUE(found) << net;
  }
  EXPECT_EQ(best.metadata.at("epoch"), "3");
}

TEST_F(GanTrainerTest, EarlyStoppingInTheEncoderPhaseKeepsTheBestEpoch) {
  train::TrainConfig c = config("early", 20);
  c.model = "worsening_fanogan";
  c.gan_epochs = 1;
  c.patience = 2;
  train::TrainResult r;
  { r = train::AdversarialTrainer(c, worsening_spec()).run(); }
  EXPECT_TRUE(r.early_stopped);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.epochs_done, 1 + 3);  // best encoder epoch 1, then 2 bad ones
  EXPECT_EQ(r.best_epoch, 2);       // global epoch of encoder epoch 1
  ASSERT_EQ(r.val_history.size(), 3u);
  EXPECT_LT(r.val_history[0], r.val_history[1]);
  EXPECT_LT(r.val_history[1], r.val_history[2]);
  EXPECT_EQ(r.best_val, r.val_history[0]);
  const auto log = read_log(c.out);
  EXPECT_EQ(log.back()["stop"], "early_stopping");
  EXPECT_EQ(log.back()["bad_epochs"], 2);
  // best.safetensors = the model after encoder epoch 1: its step counter buffer says 2 E steps.
  const auto best = io::load_safetensors(train::best_checkpoint_path(c.out));
  EXPECT_EQ(best.tensors.at("encoder.calls").to_vector()[0], 2.0);
  EXPECT_EQ(best.metadata.at("epoch"), "2");
}

TEST_F(GanTrainerTest, AShortRunLowersTheEncodersValidationLoss) {
  train::TrainConfig c = config("short", 5);
  c.gan_epochs = 1;
  train::TrainResult r;
  { r = train::AdversarialTrainer(c, tiny_spec(/*frozen_bn=*/true)).run(); }
  ASSERT_EQ(r.val_history.size(), 5u);
  // G has had one WGAN-GP iteration, so what E can reach is limited: the loss falls slowly
  // (1.074 → 1.050 here), but it falls, and the last epoch is the best.
  EXPECT_LT(r.val_history.back(), r.val_history.front() - 0.01);
  EXPECT_EQ(r.best_epoch, 1 + 5);
  EXPECT_EQ(r.best_val, r.val_history.back());
}

TEST_F(GanTrainerTest, BadConfigurationsGiveOneClearError) {
  train::TrainConfig c = config("bad");
  c.n_critic = 0;
  EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, tiny_spec()); }).find("n_critic must be >= 1"), std::string::npos);
  c = config("bad");
  c.gan_beta2 = 1.0;
  EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, tiny_spec()); }).find("gan_beta2"), std::string::npos);
  c = config("bad");
  c.refine_epochs = -2;
  EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, tiny_spec()); }).find("refine_epochs"), std::string::npos);
  c = config("bad");
  c.val_metric = "l1";
  EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, tiny_spec()); }).find("val_metric must be 'loss'"),
            std::string::npos);
  c = config("bad");
  models::ModelSpec unmarked = tiny_spec();
  unmarked.name = "tiny_unmarked_fanogan";  // not marked adversarial (a reconstruction entry)
  {
    models::ModelSpec fresh{unmarked.name, unmarked.input_shape, unmarked.source, unmarked.make};
    EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, fresh); }).find("not trained adversarially"),
              std::string::npos);
  }
  models::ModelSpec not_gan{"tiny_ae_marked", {1, 16, 16}, "tests/test_gan_trainer.cpp",
                            [](Generator& g) -> std::shared_ptr<models::ReconstructionModel> {
                              return std::make_shared<models::UnifiedAE>(tiny_unified(), false, g);
                            }};
  models::mark_adversarial(not_gan);
  EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, not_gan); }).find("is not a models::GanModel"),
            std::string::npos);
  c = config("bad");
  c.view = "vol64";
  EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, tiny_spec()); }).find("view"), std::string::npos);
  models::ModelSpec big = tiny_spec();
  big.input_shape = {1, 32, 32};
  c = config("bad");
  EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, big); }).find("takes inputs [1,32,32]"), std::string::npos);
  EXPECT_FALSE(fs::exists(c.out));
  // The keys parse from text, and a GAN checkpoint is refused by another model.
  train::TrainConfig k;
  train::set_config_value(k, "n_critic", "3");
  train::set_config_value(k, "gp_lambda", "2.5");
  train::set_config_value(k, "gan_beta1", "0");
  EXPECT_EQ(k.refine_epochs, -1);  // the model's
  train::set_config_value(k, "refine_epochs", "4");
  EXPECT_EQ(k.refine_epochs, 4);
  EXPECT_EQ(k.n_critic, 3);
  EXPECT_EQ(k.gp_lambda, 2.5);
  EXPECT_EQ(k.gan_beta1, 0.0);
  EXPECT_NE(error_of([&] { train::set_config_value(k, "n_critic", "x"); }).find("n_critic"), std::string::npos);
  c = config("existing", 1);
  c.gan_epochs = 1;
  c.max_train_batches = 1;
  { train::AdversarialTrainer(c, tiny_spec()).run(); }
  EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, tiny_spec()); }).find("already holds a run"), std::string::npos);
  EXPECT_NE(error_of([&] { train::AdversarialTrainer(c, worsening_spec(), true); }).find("was written for model"),
            std::string::npos);
}

TEST_F(GanTrainerTest, TheThreeDModelTrainsOnAVolumeView) {
  const std::string data = root_ + "/data3d";
  test::write_tiny_dataset(data, true);
  models::Fanogan3dConfig f;
  f.scale = 16;
  f.latent = 8;
  models::ModelSpec spec{"tiny_fanogan3d", {1, 64, 64, 64}, "tests/test_gan_trainer.cpp",
                         [f](Generator& g) -> std::shared_ptr<models::ReconstructionModel> {
                           return std::make_shared<models::FAnoGAN3d>(f, g);
                         }};
  models::mark_adversarial(spec);
  train::TrainConfig c = config("vol", 1);
  c.model = spec.name;
  c.data = data;
  c.view = "vol64";
  c.gan_epochs = 1;
  c.batch_size = 1;
  train::TrainResult r;
  {
    train::AdversarialTrainer t(c, spec);
    EXPECT_EQ(t.train_size(), 2);
    EXPECT_EQ(t.gan_beta1(), 0.0);  // 001's β = (0, 0.9)
    EXPECT_EQ(t.refine_epochs(), 10);  // the model's default
  }
  fs::remove_all(c.out);
  c.refine_epochs = 1;
  {
    train::AdversarialTrainer t(c, spec);
    r = t.run();
  }
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.steps, 1 + 2 + 2);  // one WGAN-GP iteration (2 critic steps), 2 encoder steps, 2 refinement steps
  ASSERT_EQ(r.val_history.size(), 2u);
  EXPECT_TRUE(std::isfinite(r.val_history[0]));
  EXPECT_TRUE(std::isfinite(r.val_history[1]));
  EXPECT_TRUE(fs::exists(train::best_checkpoint_path(c.out)));
  // A slice view for the 3-D model is refused with a hint.
  c = config("vol_bad", 1);
  c.data = data;
  c.view = "slices16";
  const std::string e = error_of([&] { train::AdversarialTrainer(c, spec); });
  EXPECT_NE(e.find("vol64"), std::string::npos) << e;
}
