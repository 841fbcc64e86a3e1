// The MOOD VAE (models/mood_vae.h).
#include "models/mood_vae.h"

#include "tensor/ops.h"

namespace uad::models {

namespace {

nn::ConvOptions conv_options(const MoodVAEConfig& cfg, int64_t stride, int64_t padding) {
  return nn::conv_options(stride, padding, 0, cfg.init, cfg.dtype, /*bias=*/false);  // [MOOD] nets.py: bias=False everywhere
}

}  // namespace

void MoodVAEConfig::validate() const {
  check(!fmaps.empty(), "MoodVAEConfig: fmaps must not be empty");
  for (int64_t c : fmaps) check(c > 0, "MoodVAEConfig: fmaps must be positive, got ", c);
  const int64_t div = (int64_t)1 << fmaps.size();
  check(image_size > 0 && image_size % div == 0 && image_size / div >= 2, "MoodVAEConfig: image_size ", image_size,
        " must be a multiple of ", div, " with at least 2×2 after ", fmaps.size(), " stride-2 levels");
  check(zdim > 0, "MoodVAEConfig: zdim must be positive, got ", zdim);
  check(beta >= 0, "MoodVAEConfig: beta must be non-negative, got ", beta);
  check(slope >= 0, "MoodVAEConfig: slope must be non-negative, got ", slope);
  check(is_floating(dtype), "MoodVAEConfig: dtype must be f32/f64, got ", dtype_name(dtype));
}

MoodVAE::MoodVAE(const MoodVAEConfig& cfg, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  const auto& f = cfg_.fmaps;
  const int64_t k = cfg_.bottom_size(), n = (int64_t)f.size();
  auto block = [&](std::shared_ptr<nn::Module> conv) {
    auto b = std::make_shared<nn::Sequential>();
    b->push_back(conv);
    b->push_back(std::make_shared<nn::LeakyReLU>(cfg_.slope));
    return b;
  };
  encoder_ = register_module("encoder", std::make_shared<nn::Sequential>());
  for (int64_t i = 0; i < n; ++i)
    encoder_->push_back(block(std::make_shared<nn::Conv2d>(i == 0 ? 1 : f[i - 1], f[i], 3, conv_options(cfg_, 2, 1), g)));
  encoder_->push_back(std::make_shared<nn::Conv2d>(f.back(), 2 * cfg_.zdim, k, conv_options(cfg_, 1, 0), g));

  decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
  decoder_->push_back(block(std::make_shared<nn::ConvTranspose2d>(cfg_.zdim, f.back(), k, conv_options(cfg_, 1, 0), g)));
  for (int64_t i = n - 1; i > 0; --i)
    decoder_->push_back(block(std::make_shared<nn::ConvTranspose2d>(f[i], f[i - 1], 4, conv_options(cfg_, 2, 1), g)));
  decoder_->push_back(std::make_shared<nn::ConvTranspose2d>(f.front(), 1, 4, conv_options(cfg_, 2, 1), g));
}

void MoodVAE::check_input(const Tensor& x, const char* op) const {
  const int64_t s = cfg_.image_size;
  check(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s && is_floating(x.dtype()),
        "MoodVAE::", op, ": expected x [N,1,", s, ",", s, "] f32/f64, got ",
        x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("undefined"));
}

Posterior MoodVAE::encode(const Tensor& x) {
  check_input(x, "encode");
  Tensor y = (*encoder_)(x);  // [N,2z,1,1]
  return {y.slice(1, 0, cfg_.zdim), y.slice(1, cfg_.zdim, 2 * cfg_.zdim)};
}

Tensor MoodVAE::sample(const Posterior& q) {
  Tensor eps = randn(q.mu.shape(), noise(), q.mu.dtype(), q.mu.device());
  return q.mu + eps * exp(q.log_sigma);  // rsample of Normal(μ, exp(log σ))
}

Tensor MoodVAE::decode(const Tensor& z) {
  check(z.defined() && z.dim() == 4 && z.size(1) == cfg_.zdim && z.size(2) == 1 && z.size(3) == 1,
        "MoodVAE::decode: expected z [N,", cfg_.zdim, ",1,1], got ", z.defined() ? shape_str(z.shape()) : "undefined");
  return (*decoder_)(z);
}

Tensor MoodVAE::reconstruct(const Tensor& x) {
  Posterior q = encode(x);
  return decode(is_training() || mc_sampling_ ? sample(q) : q.mu);
}

LossTerms MoodVAE::loss(const Tensor& x) {
  Posterior q = encode(x);
  Tensor xr = decode(sample(q));
  Tensor l1, kl;
  if (cfg_.loss == MoodLoss::elbo) {
    l1 = l1_loss(xr, x, Reduction::batch_mean);
    kl = UnifiedVAE::kl_term(q);  // ½Σ(μ² + σ² − log σ² − 1), batch mean
  } else {
    l1 = l1_loss(xr, x, Reduction::mean);
    kl = kl_normal_std(q.mu, q.log_sigma * 2.0, Reduction::mean);
  }
  return {l1 + kl * cfg_.beta, {{"l1", l1}, {"kl", kl}}};
}

std::vector<ModelSpec> mood_family() {
  const MoodVAEConfig c;
  return {{"mood_vae", Shape{1, c.image_size, c.image_size},
           "002 (MOOD VAE, 5-layer fully conv encoder/decoder, z 256, 2-D 256x256); domain_spec §5",
           [c](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<MoodVAE>(c, g); }}};
}

}  // namespace uad::models
