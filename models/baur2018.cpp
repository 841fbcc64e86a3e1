// The Baur-2018 family (models/baur2018.h).
#include "models/baur2018.h"

#include "tensor/ops.h"

namespace uad::models {

namespace {

nn::ConvOptions conv_options(const Baur2018Config& cfg, int64_t stride, int64_t padding, int64_t output_padding) {
  return nn::conv_options(stride, padding, output_padding, cfg.init, cfg.dtype);
}

std::shared_ptr<nn::Module> activation(const Baur2018Config& cfg) {
  if (cfg.slope > 0) return std::make_shared<nn::LeakyReLU>(cfg.slope);
  return std::make_shared<nn::ReLU>();
}

std::shared_ptr<nn::BatchNorm> batch_norm(const Baur2018Config& cfg, int64_t c, Generator& g) {
  nn::BatchNormOptions o = cfg.bn;
  o.dtype = cfg.dtype;
  return std::make_shared<nn::BatchNorm>(c, o, g);
}

const char* latent_name(Baur2018Latent l) {
  switch (l) {
    case Baur2018Latent::dense: return "dense";
    case Baur2018Latent::spatial16: return "spatial16";
    case Baur2018Latent::spatial8: return "spatial8";
  }
  return "?";
}

}  // namespace

// ---- Baur2018Config ----------------------------------------------------------------------------

int64_t Baur2018Config::trunk_size() const { return image_size >> (int64_t)encoder_channels.size(); }

int64_t Baur2018Config::z_stride() const { return latent == Baur2018Latent::spatial16 ? 1 : 2; }

int64_t Baur2018Config::z_size() const { return trunk_size() / z_stride(); }

void Baur2018Config::validate() const {
  check(!encoder_channels.empty() && decoder_channels.size() == encoder_channels.size(),
        "Baur2018Config: encoder_channels (", encoder_channels.size(), " levels) and decoder_channels (",
        decoder_channels.size(), " levels) must be non-empty and of one length");
  for (int64_t c : encoder_channels) check(c > 0, "Baur2018Config: encoder_channels must be positive, got ", c);
  for (int64_t c : decoder_channels) check(c > 0, "Baur2018Config: decoder_channels must be positive, got ", c);
  const int64_t div = ((int64_t)1 << encoder_channels.size()) * (latent == Baur2018Latent::spatial16 ? 1 : 2);
  check(image_size > 0 && image_size % div == 0, "Baur2018Config: image_size ", image_size,
        " must be a positive multiple of ", div, " (", encoder_channels.size(), " stride-2 levels, latent ",
        latent_name(latent), ")");
  check(z_channels > 0 && zdim > 0, "Baur2018Config: z_channels ", z_channels, " and zdim ", zdim, " must be positive");
  check(kl_weight >= 0, "Baur2018Config: kl_weight must be non-negative, got ", kl_weight);
  check(slope >= 0, "Baur2018Config: slope must be non-negative, got ", slope);
  check(is_floating(dtype), "Baur2018Config: dtype must be f32/f64, got ", dtype_name(dtype));
}

// ---- Baur2018Model -------------------------------------------------------------------------------

Baur2018Model::Baur2018Model(const Baur2018Config& cfg, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  const auto& ec = cfg_.encoder_channels;
  const auto& dc = cfg_.decoder_channels;
  const int64_t zs = cfg_.z_stride(), zc = cfg_.z_channels, zsz = cfg_.z_size();

  encoder_ = register_module("encoder", std::make_shared<nn::Sequential>());
  for (size_t i = 0; i < ec.size(); ++i) {
    auto block = std::make_shared<nn::Sequential>();
    block->push_back(std::make_shared<nn::Conv2d>(i == 0 ? 1 : ec[i - 1], ec[i], 5, conv_options(cfg_, 2, 2, 0), g));
    block->push_back(batch_norm(cfg_, ec[i], g));
    block->push_back(activation(cfg_));
    encoder_->push_back(block);
  }
  z_conv_ = register_module("z_conv", std::make_shared<nn::Conv2d>(ec.back(), zc, 5, conv_options(cfg_, zs, 2, 0), g));
  const bool dense = cfg_.latent == Baur2018Latent::dense;
  if (cfg_.variational && !dense)
    z_log_sigma_conv_ =
        register_module("z_log_sigma_conv", std::make_shared<nn::Conv2d>(ec.back(), zc, 5, conv_options(cfg_, zs, 2, 0), g));
  if (dense) {
    nn::LinearOptions lo;
    lo.init = cfg_.init;
    lo.dtype = cfg_.dtype;
    const int64_t flat = zc * zsz * zsz;
    fc_z_ = register_module("fc_z", std::make_shared<nn::Linear>(flat, cfg_.zdim, lo, g));
    if (cfg_.variational) fc_log_sigma_ = register_module("fc_log_sigma", std::make_shared<nn::Linear>(flat, cfg_.zdim, lo, g));
    fc_dec_ = register_module("fc_dec", std::make_shared<nn::Linear>(cfg_.zdim, flat, lo, g));
  }

  decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
  decoder_->push_back(std::make_shared<nn::ConvTranspose2d>(zc, ec.back(), 5, conv_options(cfg_, zs, 2, zs - 1), g));
  decoder_->push_back(batch_norm(cfg_, ec.back(), g));
  decoder_->push_back(activation(cfg_));
  for (size_t i = 0; i < dc.size(); ++i) {
    auto block = std::make_shared<nn::Sequential>();
    block->push_back(
        std::make_shared<nn::ConvTranspose2d>(i == 0 ? ec.back() : dc[i - 1], dc[i], 5, conv_options(cfg_, 2, 2, 1), g));
    block->push_back(batch_norm(cfg_, dc[i], g));
    block->push_back(activation(cfg_));
    decoder_->push_back(block);
  }
  decoder_->push_back(std::make_shared<nn::Conv2d>(dc.back(), 1, 5, conv_options(cfg_, 1, 2, 0), g));
}

std::string Baur2018Model::type_name() const {
  std::string n = cfg_.latent == Baur2018Latent::dense ? "Baur2018Dense" : "Baur2018Spatial";
  return n + (cfg_.variational ? "VAE" : "AE");
}

void Baur2018Model::check_input(const Tensor& x, const char* op) const {
  const int64_t s = cfg_.image_size;
  check(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s && is_floating(x.dtype()),
        type_name(), "::", op, ": expected x [N,1,", s, ",", s, "] f32/f64, got ",
        x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("undefined"));
}

Posterior Baur2018Model::encode(const Tensor& x) {
  check_input(x, "encode");
  Tensor h = (*encoder_)(x);
  Tensor m = (*z_conv_)(h);
  if (cfg_.latent != Baur2018Latent::dense) return {m, cfg_.variational ? (*z_log_sigma_conv_)(h) : Tensor()};
  Tensor f = flatten(m, 1);
  return {(*fc_z_)(f), cfg_.variational ? (*fc_log_sigma_)(f) : Tensor()};
}

Tensor Baur2018Model::sample(const Posterior& q) {
  check(cfg_.variational && q.log_sigma.defined(), type_name(), "::sample: needs a variational model and log σ");
  Tensor eps = randn(q.mu.shape(), noise(), q.mu.dtype(), q.mu.device());
  return q.mu + eps * exp(q.log_sigma);  // reparameterisation (Kingma & Welling 2014)
}

Tensor Baur2018Model::decode(const Tensor& z) {
  const int64_t zc = cfg_.z_channels, zsz = cfg_.z_size();
  Tensor h;
  if (cfg_.latent == Baur2018Latent::dense) {
    check(z.defined() && z.dim() == 2 && z.size(1) == cfg_.zdim, type_name(), "::decode: expected z [N,", cfg_.zdim,
          "], got ", z.defined() ? shape_str(z.shape()) : "undefined");
    h = reshape((*fc_dec_)(z), {z.size(0), zc, zsz, zsz});
  } else {
    check(z.defined() && z.dim() == 4 && z.size(1) == zc && z.size(2) == zsz && z.size(3) == zsz, type_name(),
          "::decode: expected z [N,", zc, ",", zsz, ",", zsz, "], got ", z.defined() ? shape_str(z.shape()) : "undefined");
    h = z;
  }
  return (*decoder_)(h);
}

Tensor Baur2018Model::reconstruct(const Tensor& x) {
  Posterior q = encode(x);
  if (cfg_.variational && (is_training() || mc_sampling_)) return decode(sample(q));
  return decode(q.mu);
}

LossTerms Baur2018Model::loss(const Tensor& x) {
  Posterior q = encode(x);
  if (!cfg_.variational) {
    Tensor l1 = l1_loss(decode(q.mu), x, Reduction::batch_mean);  // 004 Eq. 2, λ₁‖x − x̂‖₁
    return {l1, {{"l1", l1}}};
  }
  Tensor l1 = l1_loss(decode(sample(q)), x, Reduction::batch_mean);
  Tensor kl = UnifiedVAE::kl_term(q);  // ½Σ(μ² + σ² − log σ² − 1), batch mean
  return {l1 + kl * cfg_.kl_weight, {{"l1", l1}, {"kl", kl}}};
}

// ---- registry ------------------------------------------------------------------------------------

std::vector<ModelSpec> baur2018_family() {
  auto entry = [](const char* name, Baur2018Latent latent, bool variational, const char* source) {
    Baur2018Config c;
    c.latent = latent;
    c.variational = variational;
    return ModelSpec{name, Shape{1, c.image_size, c.image_size}, source,
                     [c](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<Baur2018Model>(c, g); }};
  };
  return {
      entry("dae", Baur2018Latent::dense, false, "004 Table 1 dAE (dense z 512, 256x256); models/baur2018.h"),
      entry("sae_8", Baur2018Latent::spatial8, false, "004 Table 1 sAE1 (spatial z 8x8x64, 256x256); models/baur2018.h"),
      entry("sae_16", Baur2018Latent::spatial16, false, "004 Table 1 sAE3 (spatial z 16x16x64, 256x256); models/baur2018.h"),
      entry("dvae", Baur2018Latent::dense, true, "004 Table 1 dVAE (dense z 512, 256x256); models/baur2018.h"),
      entry("svae", Baur2018Latent::spatial16, true, "004 Table 1 sVAE (spatial z 16x16x64, 256x256); models/baur2018.h"),
  };
}

}  // namespace uad::models
