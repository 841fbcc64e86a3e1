// The fixture and helpers shared by the adversarial-trainer tests (tests/test_gan_trainer.cpp,
// tests/test_gan_refine.cpp): a tiny dataset (tests/tiny_dataset.h: 16×16 slices of smooth
// blobs; 64³ volumes for the 3-D model), the 2-D f-AnoGAN at 16×16 (models::FAnoGAN2d,
// bottleneck 4, z 8; the registry's 128² one is too slow for a unit test), a model whose
// validation loss only gets worse (for early stopping), checkpoint/log comparison helpers.
// Include from one test file per executable (it defines the fixture's statics).
#pragma once

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
#include "models/fanogan2d.h"
#include "tensor/autograd.h"
#include "tensor/ops.h"
#include "tiny_dataset.h"
#include "tests/error_of.h"
#include "tests/run_compare.h"
#include "train/config.h"
#include "train/gan_trainer.h"
#include "train/wgan_gp.h"

using namespace uad;
using uad::test::error_of;
using uad::test::expect_same_tensors;
using uad::test::read_log;
using uad::test::timeless;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// frozen_bn: the encoder's batch norm always uses its (initial) running statistics ([SD]'s
/// quirk, domain_spec §1.2), so the eval-mode encoder of validation is the trained one even after
/// a few steps (with Keras' momentum 0.01 the running statistics need hundreds of steps).
models::UnifiedConfig tiny_unified(bool frozen_bn = false) {
  models::UnifiedConfig c;
  c.image_size = 16;
  c.bottleneck = 4;  // 2 levels: channels 32, 64
  c.zdim = 8;
  c.bn.frozen_stats = frozen_bn;
  return c;  // dropout 0.2 stays: the resume test covers the model's noise
}

models::ModelSpec tiny_spec(bool frozen_bn = false) {
  models::ModelSpec s{"tiny_fanogan", {1, 16, 16}, "tests/test_gan_trainer.cpp",
                      [frozen_bn](Generator& g) -> std::shared_ptr<models::ReconstructionModel> {
                        return std::make_shared<models::FAnoGAN2d>(tiny_unified(frozen_bn), g);
                      }};
  models::mark_adversarial(s);
  return s;
}

/// Wraps G: while grad mode is off (validation runs under NoGradGuard; the critic steps' fakes
/// too, but in the GAN phase the count is 0), adds `calls` to x̃, where calls counts E's
/// training-mode forwards (a buffer). So every encoder epoch's validation loss is worse than the
/// last: for the early-stopping test.
class CountingEncoder : public nn::Module {
 public:
  CountingEncoder(std::shared_ptr<models::Encoder2d> e) : e_(register_module("e", e)) {
    calls_ = register_buffer("calls", zeros({1}));
  }
  Tensor forward(const Tensor& x) override {
    if (is_training()) calls_.data<float>()[0] += 1.f;
    return (*e_)(x);
  }
  double calls() const { return calls_.item(); }

 private:
  std::shared_ptr<models::Encoder2d> e_;
  Tensor calls_;
};

class WorseningGenerator : public nn::Module {
 public:
  WorseningGenerator(std::shared_ptr<models::Generator2d> g, CountingEncoder* e) : g_(register_module("g", g)), e_(e) {}
  Tensor forward(const Tensor& z) override {
    Tensor y = (*g_)(z);
    return grad_mode_enabled() ? y : y + e_->calls();
  }

 private:
  std::shared_ptr<models::Generator2d> g_;
  CountingEncoder* e_;
};

class WorseningGan : public models::ReconstructionModel, public models::GanModel {
 public:
  explicit WorseningGan(Generator& g) {
    const auto c = tiny_unified();
    enc_ = register_module("encoder", std::make_shared<CountingEncoder>(std::make_shared<models::Encoder2d>(c, g)));
    gen_ = register_module("generator",
                           std::make_shared<WorseningGenerator>(std::make_shared<models::Generator2d>(c, g), enc_.get()));
    critic_ = register_module("critic", std::make_shared<models::Critic2d>(c, g));
  }
  Tensor reconstruct(const Tensor& x) override { return (*gen_)((*enc_)(x)); }
  models::LossTerms loss(const Tensor& x) override {
    auto t = models::izif_terms(*enc_, *gen_, *critic_, x, 1.0, false);
    return {t.total, {{"img", t.img}, {"feat", t.feat}}};
  }
  nn::Module& generator() override { return *gen_; }
  models::FeatureCritic& critic() override { return *critic_; }
  nn::Module& encoder() override { return *enc_; }
  int64_t latent_dim() const override { return 8; }
  Tensor to_network_range(const Tensor& x) const override { return x; }
  double kappa() const override { return 1.0; }
  double default_gan_beta1() const override { return 0.5; }

 private:
  std::shared_ptr<CountingEncoder> enc_;
  std::shared_ptr<WorseningGenerator> gen_;
  std::shared_ptr<models::Critic2d> critic_;
};

models::ModelSpec worsening_spec() {
  models::ModelSpec s{"worsening_fanogan", {1, 16, 16}, "tests/test_gan_trainer.cpp",
                      [](Generator& g) -> std::shared_ptr<models::ReconstructionModel> {
                        return std::make_shared<WorseningGan>(g);
                      }};
  models::mark_adversarial(s);
  return s;
}

class GanTrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = (fs::temp_directory_path() / ("uad_test_gan_trainer_" + std::to_string(::getpid()))).string();
    fs::remove_all(root_);
    fs::create_directories(root_);
    data_ = root_ + "/data";
    test::write_tiny_dataset(data_, false);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  /// 2 GAN epochs + up to `epochs` encoder epochs over the first 2 of the 3 batches of 8 slices:
  /// 1 WGAN-GP iteration (n_critic 2) per GAN epoch, 2 izi_f steps per encoder epoch.
  static train::TrainConfig config(const std::string& run, int64_t epochs = 2) {
    train::TrainConfig c;
    c.model = "tiny_fanogan";
    c.data = data_;
    c.out = root_ + "/" + run;
    c.view = "slices16";
    c.epochs = epochs;
    c.gan_epochs = 2;
    c.n_critic = 2;
    c.batch_size = 8;
    c.max_train_batches = 2;
    c.lr = 1e-3;
    c.seed = 5;
    c.device = "cpu";
    c.progress = false;
    return c;
  }
  static std::string root_, data_;
};
inline std::string GanTrainerTest::root_, GanTrainerTest::data_;




}  // namespace
