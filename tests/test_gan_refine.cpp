// The refinement phase of the f-AnoGAN trainer (001 §2 step 3, train::refine_step and
// train/gan_trainer.h phase 3), on the tiny dataset of tests/gan_trainer_fixture.h:
//   - one refinement step lowers izi_f on a fixed batch, moves E and G and leaves D
//     bit-identical (modes and requires_grad restored); the encoder step leaves G alone;
//   - the phase runs after the encoder phase and lowers the validation loss below the encoder's;
//     a finished run resumed with a larger refine_epochs refines further; defaults per model;
//   - it also follows an early-stopped encoder phase (bad_epochs reset) and stops early itself;
//   - a run killed during the refinement and resumed ends bit-identical to a straight run;
//   - a version-1 checkpoint (before the refinement existed) resumes into the refinement.
#include "gan_trainer_fixture.h"

namespace {

std::vector<std::vector<double>> values_of(const std::vector<Tensor>& ps) {
  std::vector<std::vector<double>> v;
  for (const Tensor& p : ps) v.push_back(p.to_vector());
  return v;
}

double eval_izif(models::FAnoGAN2d& m, const Tensor& x) {
  NoGradGuard ng;
  m.eval();
  const double v = models::izif_terms(m.encoder(), m.generator(), m.critic(), x, 1.0, false).total.item();
  m.train();
  return v;
}

}  // namespace

TEST(RefineStep, LowersIzifMovesEAndGAndLeavesDIdentical) {
  Generator g(11);
  models::FAnoGAN2d m(tiny_unified(/*frozen_bn=*/true), g);
  m.set_generator(&g);
  m.train();
  const Tensor x = rand({8, 1, 16, 16}, g) * 2.0 - 1.0;  // a fixed batch in network range
  train::AdamOptions o;
  o.lr = 1e-3;
  train::Adam opt(train::refine_parameters(m.encoder(), m.generator()), o);
  EXPECT_EQ(opt.exp_avg().size(), m.encoder().parameters().size() + m.generator().parameters().size());
  const auto d0 = values_of(m.critic().parameters()), g0 = values_of(m.generator().parameters()),
             e0 = values_of(m.encoder().parameters());
  const double before = eval_izif(m, x);
  train::IzifStepStats first{};
  for (int k = 0; k < 5; ++k) {
    const train::IzifStepStats s = train::refine_step(m.encoder(), m.generator(), m.critic(), opt, x, 1.0);
    if (k == 0) first = s;
    ASSERT_TRUE(std::isfinite(s.loss));
    EXPECT_NEAR(s.loss, s.img + s.feat, 1e-5 * (1 + s.loss));
  }
  const double after = eval_izif(m, x);
  EXPECT_LT(after, before * 0.9) << "izi_f " << before << " -> " << after;
  EXPECT_TRUE(std::isfinite(first.loss));
  EXPECT_EQ(values_of(m.critic().parameters()), d0);  // D frozen: bit-identical
  EXPECT_NE(values_of(m.generator().parameters()), g0);
  EXPECT_NE(values_of(m.encoder().parameters()), e0);
  // Modes and requires_grad are restored.
  EXPECT_TRUE(m.generator().is_training());
  EXPECT_TRUE(m.critic().is_training());
  for (const Tensor& p : m.critic().parameters()) EXPECT_TRUE(p.requires_grad());
  // Refinement vs encoder training from the same state: the encoder step leaves G as it is.
  const auto g1 = values_of(m.generator().parameters());
  train::Adam opt_e(m.encoder().parameters(), o);
  train::encoder_izif_step(m.encoder(), m.generator(), m.critic(), opt_e, x, 1.0);
  EXPECT_EQ(values_of(m.generator().parameters()), g1);
}

TEST_F(GanTrainerTest, TheRefinementPhaseRunsAfterTheEncoderPhaseAndLowersTheValidationLoss) {
  train::TrainConfig c = config("refine", 3);
  c.gan_epochs = 1;
  c.refine_epochs = 3;
  train::TrainResult r;
  {
    train::AdversarialTrainer t(c, tiny_spec(/*frozen_bn=*/true));
    EXPECT_EQ(t.refine_epochs(), 3);
    r = t.run();
    EXPECT_EQ(t.refine_start(), 1 + 3);
    EXPECT_EQ(t.encoder_optimizer().steps(), 3 * 2);
    EXPECT_EQ(t.refine_optimizer().steps(), 3 * 2);
  }
  EXPECT_TRUE(r.finished);
  EXPECT_FALSE(r.early_stopped);
  EXPECT_EQ(r.epochs_done, 1 + 3 + 3);
  EXPECT_EQ(r.steps, 1 + 3 * 2 + 3 * 2);
  ASSERT_EQ(r.val_history.size(), 6u);
  // Refining E and G goes below what E alone reached (the last encoder epoch).
  std::printf("val izi_f: encoder %.5f %.5f %.5f, refine %.5f %.5f %.5f\n", r.val_history[0], r.val_history[1],
              r.val_history[2], r.val_history[3], r.val_history[4], r.val_history[5]);
  EXPECT_LT(r.val_history.back(), r.val_history[2]);
  EXPECT_EQ(r.best_epoch, 7);
  const auto log = read_log(c.out);
  int refine_steps = 0, refine_epochs = 0;
  for (const json& l : log)
    if (l["phase"] == "refine") (l["kind"] == "step" ? refine_steps : refine_epochs)++;
  EXPECT_EQ(refine_steps, 6);
  EXPECT_EQ(refine_epochs, 3);
  EXPECT_EQ(log.back()["phase"], "refine");
  EXPECT_EQ(log.back()["phase_epoch"], 3);
  EXPECT_EQ(log.back()["stop"], "epochs");
  for (const char* k : {"train_loss", "val_loss", "val_img", "val_feat"}) EXPECT_TRUE(log.back()[k].is_number()) << k;
  const auto meta = io::load_safetensors(train::last_checkpoint_path(c.out)).metadata;
  EXPECT_EQ(meta.at("refine_start"), "4");
  EXPECT_EQ(meta.at("adam_refine_steps"), "6");
  // A finished run resumed with a larger refine_epochs refines further.
  c.refine_epochs = 4;
  {
    train::AdversarialTrainer t(c, tiny_spec(true), true);
    r = t.run();
  }
  EXPECT_EQ(r.epochs_done, 8);
  EXPECT_EQ(r.val_history.size(), 1u);
  // The 2-D f-AnoGAN has no refinement by default; the 3-D one has.
  EXPECT_EQ(train::AdversarialTrainer(config("refine_default"), tiny_spec()).refine_epochs(), 0);
  models::Fanogan3dConfig f;
  f.scale = 16;
  f.latent = 8;
  Generator g(1);
  EXPECT_EQ(train::default_refine_epochs(models::FAnoGAN3d(f, g)), 10);
}

TEST_F(GanTrainerTest, TheRefinementFollowsAnEarlyStoppedEncoderPhaseAndStopsEarlyItself) {
  train::TrainConfig c = config("refine_early", 20);
  c.model = "worsening_fanogan";
  c.gan_epochs = 1;
  c.patience = 2;
  c.refine_epochs = 10;
  train::TrainResult r;
  train::AdversarialTrainer t(c, worsening_spec());
  r = t.run();
  // Encoder: epoch 2 best, 3 and 4 bad → refinement from epoch 5 with bad_epochs reset: 5, 6 bad.
  EXPECT_EQ(t.refine_start(), 4);
  EXPECT_TRUE(r.early_stopped);
  EXPECT_EQ(r.epochs_done, 6);
  EXPECT_EQ(r.best_epoch, 2);
  ASSERT_EQ(r.val_history.size(), 5u);
  const auto log = read_log(c.out);
  EXPECT_EQ(log.back()["phase"], "refine");
  EXPECT_EQ(log.back()["stop"], "early_stopping");
  EXPECT_EQ(t.refine_optimizer().steps(), 2 * 2);
}

TEST_F(GanTrainerTest, KillAndResumeDuringTheRefinementIsBitIdentical) {
  // 1 GAN epoch (1 step), 1 encoder epoch (2 steps), 2 refinement epochs (2 steps each).
  auto cfg = [](const std::string& run) {
    train::TrainConfig c = config(run, 1);
    c.gan_epochs = 1;
    c.refine_epochs = 2;
    return c;
  };
  {
    train::AdversarialTrainer t(cfg("refine_straight"), tiny_spec());
    const auto r = t.run();
    EXPECT_EQ(r.epochs_done, 4);
    EXPECT_EQ(r.steps, 7);
  }
  const train::TrainConfig c = cfg("refine_killed");
  {  // GAN and encoder epochs done, killed 1 step into refinement epoch 1 (no refinement checkpoint)
    train::AdversarialTrainer t(c, tiny_spec());
    EXPECT_TRUE(t.run(4).killed);
    EXPECT_EQ(t.state().epoch, 2);
    EXPECT_EQ(t.refine_start(), 2);
  }
  randn({5});  // someone else draws from the default generator in between
  {  // resumed before the refinement started: refinement epoch 1 done, killed in epoch 2
    train::AdversarialTrainer t(c, tiny_spec(), true);
    EXPECT_EQ(t.refine_start(), 0);
    EXPECT_EQ(t.refine_optimizer().steps(), 0);
    EXPECT_TRUE(t.run(3).killed);
    EXPECT_EQ(t.state().epoch, 3);
  }
  {  // resumed inside the refinement
    train::AdversarialTrainer t(c, tiny_spec(), true);
    EXPECT_EQ(t.refine_start(), 2);
    EXPECT_EQ(t.refine_optimizer().steps(), 2);
    const auto r = t.run();
    EXPECT_EQ(r.epochs_done, 4);
    EXPECT_EQ(r.steps, 7);
  }
  const std::string a = cfg("refine_straight").out, b = c.out;
  expect_same_tensors(train::last_checkpoint_path(a), train::last_checkpoint_path(b));
  expect_same_tensors(train::best_checkpoint_path(a), train::best_checkpoint_path(b));
  const auto ma = io::load_safetensors(train::last_checkpoint_path(a)).metadata;
  const auto mb = io::load_safetensors(train::last_checkpoint_path(b)).metadata;
  for (const char* k : {"epoch", "step", "refine_start", "best_val", "best_epoch", "bad_epochs", "model_rng_offset",
                        "default_rng_offset", "adam_encoder_steps", "adam_refine_steps", "stop_reason"})
    EXPECT_EQ(ma.at(k), mb.at(k)) << k;
  EXPECT_EQ(ma.at("adam_refine_steps"), "4");
  const auto la = read_log(a), lb = read_log(b);
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) EXPECT_EQ(timeless(la[i]), timeless(lb[i])) << "log line " << i;
}

TEST_F(GanTrainerTest, AVersionOneCheckpointResumesIntoTheRefinement) {
  train::TrainConfig c = config("v1", 1);
  c.gan_epochs = 1;
  { train::AdversarialTrainer(c, tiny_spec()).run(); }  // finished, no refinement (the 2-D default)
  // Rewrite last.safetensors as a version-1 checkpoint: no refinement moments, no refine_start.
  const std::string last = train::last_checkpoint_path(c.out);
  io::SafetensorsFile f = io::load_safetensors(last);
  for (auto it = f.tensors.begin(); it != f.tensors.end();)
    it = it->first.rfind("adam_refine.", 0) == 0 ? f.tensors.erase(it) : std::next(it);
  for (const char* k : {"refine_start", "adam_refine_steps", "adam_refine_params"}) f.metadata.erase(k);
  f.metadata["version"] = "1";
  io::save_safetensors(last, f.tensors, f.metadata);
  c.refine_epochs = 1;
  train::AdversarialTrainer t(c, tiny_spec(), true);
  EXPECT_EQ(t.refine_start(), 0);
  const auto r = t.run();
  EXPECT_EQ(t.refine_start(), 2);
  EXPECT_EQ(r.epochs_done, 3);
  EXPECT_EQ(t.refine_optimizer().steps(), 2);
  EXPECT_EQ(io::load_safetensors(last).metadata.at("version"), "2");
}
