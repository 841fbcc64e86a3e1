// The unified 2-D f-AnoGAN networks (models/fanogan2d.h).
#include "models/fanogan2d.h"

#include "tensor/autograd.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace uad::models {

namespace {

/// cfg with the given block normalisation.
UnifiedConfig with_norm(UnifiedConfig cfg, UnifiedNorm n) {
  cfg.norm = n;
  cfg.validate();
  return cfg;
}

void check_image(const UnifiedConfig& cfg, const Tensor& x, const char* who) {
  const int64_t s = cfg.image_size;
  check(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s && is_floating(x.dtype()),
        who, ": expected x [N,1,", s, ",", s, "] f32/f64, got ",
        x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("undefined"));
}

nn::ConvOptions conv1x1(const UnifiedConfig& cfg) { return nn::conv_options(1, 0, 0, cfg.init, cfg.dtype); }

nn::LinearOptions linear_options(const UnifiedConfig& cfg) {
  nn::LinearOptions o;
  o.init = cfg.init;
  o.dtype = cfg.dtype;
  return o;
}

}  // namespace

// ---- encoder ---------------------------------------------------------------------------------------

Encoder2d::Encoder2d(const UnifiedConfig& cfg, Generator& g) : cfg_(with_norm(cfg, UnifiedNorm::batch)) {
  net_ = register_module("net", std::make_shared<UnifiedEncoder>(cfg_, g));
  conv_in_ = register_module(
      "conv_in", std::make_shared<nn::Conv2d>(cfg_.encoder_channels().back(), cfg_.mid_channels(), 1, conv1x1(cfg_), g));
  fc_z_ = register_module("fc_z", std::make_shared<nn::Linear>(cfg_.flat_features(), cfg_.zdim, linear_options(cfg_), g));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(cfg_.dropout));
}

Tensor Encoder2d::forward(const Tensor& x) {
  check_image(cfg_, x, "Encoder2d");
  Tensor f = flatten((*conv_in_)((*net_)(x)), 1);
  return tanh((*dropout_)((*fc_z_)(f)));
}

// ---- generator -------------------------------------------------------------------------------------

Generator2d::Generator2d(const UnifiedConfig& cfg, Generator& g) : cfg_(with_norm(cfg, UnifiedNorm::layer)) {
  fc_dec_ = register_module("fc_dec", std::make_shared<nn::Linear>(cfg_.zdim, cfg_.flat_features(), linear_options(cfg_), g));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(cfg_.dropout));
  conv_out_ = register_module(
      "conv_out", std::make_shared<nn::Conv2d>(cfg_.mid_channels(), cfg_.encoder_channels().back(), 1, conv1x1(cfg_), g));
  net_ = register_module("net", std::make_shared<UnifiedDecoder>(cfg_, g));
}

Tensor Generator2d::forward(const Tensor& z) {
  check(z.defined() && z.dim() == 2 && z.size(1) == cfg_.zdim, "Generator2d: expected z [N,", cfg_.zdim, "], got ",
        z.defined() ? shape_str(z.shape()) : std::string("undefined"));
  Tensor h = reshape((*dropout_)((*fc_dec_)(z)), {z.size(0), cfg_.mid_channels(), cfg_.bottleneck, cfg_.bottleneck});
  return sigmoid((*net_)((*conv_out_)(h)));
}

// ---- critic ----------------------------------------------------------------------------------------

Critic2d::Critic2d(const UnifiedConfig& cfg, Generator& g) : cfg_(with_norm(cfg, UnifiedNorm::layer)) {
  net_ = register_module("net", std::make_shared<UnifiedEncoder>(cfg_, g));
  head_ = register_module("head", std::make_shared<nn::Conv2d>(cfg_.encoder_channels().back(), 1, 1, conv1x1(cfg_), g));
}

CriticOutput Critic2d::score_and_features(const Tensor& x) {
  check_image(cfg_, x, "Critic2d");
  Tensor f = (*net_)(x);                        // [N,c,b,b]
  Tensor score = mean((*head_)(f), {2, 3});     // [N,1]: mean of the per-location scores
  return {score, flatten(f, 1)};
}

// ---- the model -------------------------------------------------------------------------------------

FAnoGAN2d::FAnoGAN2d(const UnifiedConfig& cfg, Generator& g, double kappa) : UnifiedModel(cfg), kappa_(kappa) {
  check(kappa >= 0, "FAnoGAN2d: kappa ", kappa, " must be >= 0");
  gen_ = register_module("generator", std::make_shared<Generator2d>(cfg_, g));
  critic_ = register_module("critic", std::make_shared<Critic2d>(cfg_, g));
  enc_ = register_module("encoder", std::make_shared<Encoder2d>(cfg_, g));
}

Tensor FAnoGAN2d::reconstruct(const Tensor& x) {
  check_input(x, "reconstruct");
  return (*gen_)((*enc_)(x));
}

LossTerms FAnoGAN2d::loss(const Tensor& x) {
  check_input(x, "loss");
  IzifTerms t = izif_terms(*enc_, *gen_, *critic_, x, kappa_, false);
  return {t.total, {{"img", t.img}, {"feat", t.feat}}};
}

Tensor FAnoGAN2d::anomaly_score(const Tensor& x) {
  check_input(x, "anomaly_score");
  NoGradGuard ng;
  return izif_terms(*enc_, *gen_, *critic_, x, kappa_, true).total;
}

std::vector<ModelSpec> fanogan2d_family() {
  const UnifiedConfig u;  // 128×128, bottleneck 8×8, z 128, dropout 0.2
  ModelSpec s{"fanogan", Shape{1, u.image_size, u.image_size},
              "003 §III.B GAN-based 2 (f-AnoGAN); domain_spec §1.3 fAnoGAN 2D unified",
              [u](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<FAnoGAN2d>(u, g); }};
  mark_adversarial(s);
  return {s};
}

}  // namespace uad::models
