// GMVAE dense and spatial (models/gmvae.h).
#include "models/gmvae.h"

#include <cmath>
#include <tuple>

#include "tensor/ops.h"

namespace uad::models {

namespace {

constexpr double kPi = 3.14159265358979323846;

nn::LinearOptions linear_options(const UnifiedConfig& u) {
  nn::LinearOptions o;
  o.init = u.init;
  o.dtype = u.dtype;
  return o;
}

std::shared_ptr<nn::Conv2d> conv1x1(const UnifiedConfig& u, int64_t in, int64_t out, Generator& g) {
  return std::make_shared<nn::Conv2d>(in, out, 1, nn::conv_options(1, 0, 0, u.init, u.dtype), g);
}

std::string shape_or_undef(const Tensor& t) { return t.defined() ? shape_str(t.shape()) : "undefined"; }

}  // namespace

// ---- configuration -------------------------------------------------------------------------------

GMVAEConfig GMVAEConfig::dense() { return GMVAEConfig{}; }

GMVAEConfig GMVAEConfig::spatial_model() {
  GMVAEConfig c;
  c.spatial = true;
  c.dim_z = 1;
  return c;
}

void GMVAEConfig::validate() const {
  unified.validate();
  check(dim_c >= 1 && dim_w >= 1 && dim_z >= 1 && pzwc_hidden >= 1, "GMVAEConfig: dim_c ", dim_c, ", dim_w ", dim_w,
        ", dim_z ", dim_z, " and pzwc_hidden ", pzwc_hidden, " must be >= 1");
  check(spatial || !decode_encoder_features,
        "GMVAEConfig: decode_encoder_features is the spatial model's quirk; the dense model decodes z");
}

// ---- model -----------------------------------------------------------------------------------------

GMVAE::GMVAE(const GMVAEConfig& cfg, Generator& g) : UnifiedModel(cfg.unified), gcfg_(cfg) {
  gcfg_.validate();
  const UnifiedConfig& u = cfg_;
  const int64_t c = u.encoder_channels().back(), zk = gcfg_.dim_z * gcfg_.dim_c;
  encoder_ = register_module("encoder", std::make_shared<UnifiedEncoder>(u, g));
  if (!gcfg_.spatial) {
    const int64_t mid = u.mid_channels(), flat = u.flat_features();
    const nn::LinearOptions lo = linear_options(u);
    conv_in_ = register_module("conv_in", conv1x1(u, c, mid, g));
    fc_w_mu_ = register_module("fc_w_mu", std::make_shared<nn::Linear>(flat, gcfg_.dim_w, lo, g));
    fc_w_logvar_ = register_module("fc_w_logvar", std::make_shared<nn::Linear>(flat, gcfg_.dim_w, lo, g));
    fc_z_mu_ = register_module("fc_z_mu", std::make_shared<nn::Linear>(flat, gcfg_.dim_z, lo, g));
    fc_z_logvar_ = register_module("fc_z_logvar", std::make_shared<nn::Linear>(flat, gcfg_.dim_z, lo, g));
    fc_dec_ = register_module("fc_dec", std::make_shared<nn::Linear>(gcfg_.dim_z, flat, lo, g));
    conv_out_ = register_module("conv_out", conv1x1(u, mid, c, g));
    dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(u.dropout));
    fc_pzwc_mu_ = register_module("pzwc_mu", std::make_shared<nn::Linear>(gcfg_.dim_w, zk, lo, g));
    fc_pzwc_lp_ = register_module("pzwc_logprec", std::make_shared<nn::Linear>(gcfg_.dim_w, zk, lo, g));
  } else {
    w_mu_ = register_module("w_mu", conv1x1(u, c, gcfg_.dim_w, g));
    w_logvar_ = register_module("w_logvar", conv1x1(u, c, gcfg_.dim_w, g));
    z_mu_ = register_module("z_mu", conv1x1(u, c, gcfg_.dim_z, g));
    z_logvar_ = register_module("z_logvar", conv1x1(u, c, gcfg_.dim_z, g));
    if (!gcfg_.decode_encoder_features) conv_dec_ = register_module("conv_dec", conv1x1(u, gcfg_.dim_z, c, g));
    pzwc_hidden_ = register_module("pzwc_hidden", conv1x1(u, gcfg_.dim_w, gcfg_.pzwc_hidden, g));
    pzwc_mu_ = register_module("pzwc_mu", conv1x1(u, gcfg_.pzwc_hidden, zk, g));
    pzwc_lp_ = register_module("pzwc_logprec", conv1x1(u, gcfg_.pzwc_hidden, zk, g));
  }
  // [SD]: tf.nn.bias_add(z_wc_log_sigma, tf.Variable(tf.constant(0.1, ...))) — a trainable bias.
  lp_bias_ = register_parameter("pzwc_logprec_bias", full({zk}, 0.1, u.dtype));
  decoder_ = register_module("decoder", std::make_shared<UnifiedDecoder>(u, g));
}

std::pair<Tensor, Tensor> GMVAE::conditional_prior(const Tensor& w) {
  const int64_t n = w.size(0), l = w.size(2), zk = gcfg_.dim_z * gcfg_.dim_c;
  const Shape out{n, gcfg_.dim_z, gcfg_.dim_c, l};
  if (!gcfg_.spatial) {
    Tensor w2 = reshape(w, {n, gcfg_.dim_w});
    Tensor mu = (*fc_pzwc_mu_)(w2);
    Tensor lp = (*fc_pzwc_lp_)(w2) + lp_bias_;
    return {reshape(mu, out), reshape(lp, out)};
  }
  const int64_t b = cfg_.bottleneck;
  Tensor hid = relu((*pzwc_hidden_)(reshape(w, {n, gcfg_.dim_w, b, b})));
  Tensor mu = (*pzwc_mu_)(hid);
  Tensor lp = (*pzwc_lp_)(hid) + reshape(lp_bias_, {1, zk, 1, 1});
  return {reshape(mu, out), reshape(lp, out)};
}

Tensor GMVAE::decode(const Tensor& z) {
  const int64_t l = gcfg_.spatial ? cfg_.bottleneck * cfg_.bottleneck : 1;
  check(z.defined() && z.dim() == 3 && z.size(1) == gcfg_.dim_z && z.size(2) == l, type_name(), "::decode: expected z [N,",
        gcfg_.dim_z, ",", l, "], got ", shape_or_undef(z));
  const int64_t n = z.size(0), b = cfg_.bottleneck;
  if (!gcfg_.spatial) {
    Tensor h = (*dropout_)((*fc_dec_)(reshape(z, {n, gcfg_.dim_z})));
    h = (*conv_out_)(reshape(h, {n, cfg_.mid_channels(), b, b}));
    return (*decoder_)(h);
  }
  check(conv_dec_ != nullptr, type_name(), "::decode: with decode_encoder_features ([SD]'s quirk) the decoder does not read z");
  return (*decoder_)((*conv_dec_)(reshape(z, {n, gcfg_.dim_z, b, b})));
}

GMVAEOutputs GMVAE::run(const Tensor& x, bool decode_sample) {
  check_input(x, "run");
  const int64_t n = x.size(0);
  GMVAEOutputs o;
  Tensor h = (*encoder_)(x);
  if (!gcfg_.spatial) {
    Tensor f = flatten((*conv_in_)(h), 1);
    o.w_mu = reshape((*dropout_)((*fc_w_mu_)(f)), {n, gcfg_.dim_w, 1});
    o.w_logvar = reshape((*dropout_)((*fc_w_logvar_)(f)), {n, gcfg_.dim_w, 1});
    o.z_mu = reshape((*dropout_)((*fc_z_mu_)(f)), {n, gcfg_.dim_z, 1});
    o.z_logvar = reshape((*fc_z_logvar_)(f), {n, gcfg_.dim_z, 1});  // no dropout, as [SD]
  } else {
    const int64_t l = cfg_.bottleneck * cfg_.bottleneck;
    o.w_mu = reshape((*w_mu_)(h), {n, gcfg_.dim_w, l});
    o.w_logvar = reshape((*w_logvar_)(h), {n, gcfg_.dim_w, l});
    o.z_mu = reshape((*z_mu_)(h), {n, gcfg_.dim_z, l});
    o.z_logvar = reshape((*z_logvar_)(h), {n, gcfg_.dim_z, l});
  }
  // Reparameterisation with σ = exp(½·logvar) ([SD]: tf.exp(0.5 * log_sigma)).
  o.w = o.w_mu + randn(o.w_mu.shape(), noise(), o.w_mu.dtype(), o.w_mu.device()) * exp(o.w_logvar * 0.5);
  o.z = o.z_mu + randn(o.z_mu.shape(), noise(), o.z_mu.dtype(), o.z_mu.device()) * exp(o.z_logvar * 0.5);
  std::tie(o.zc_mu, o.zc_logprec) = conditional_prior(o.w);
  o.pc = softmax(pc_logits(o.z, o.zc_mu, o.zc_logprec), 1);
  if (gcfg_.spatial && gcfg_.decode_encoder_features)
    o.x_hat = (*decoder_)(h);  // [SD]'s quirk: the decoder reads the encoder feature map
  else
    o.x_hat = decode(decode_sample ? o.z : o.z_mu);
  return o;
}

Tensor GMVAE::reconstruct(const Tensor& x) { return run(x, is_training() || mc_sampling_).x_hat; }

LossTerms GMVAE::loss(const Tensor& x) {
  GMVAEOutputs o = run(x, /*decode_sample=*/true);
  Tensor l1 = l1_loss(o.x_hat, x, Reduction::batch_mean);
  Tensor kz = kl_z(o.z_mu, o.z_logvar, o.zc_mu, o.zc_logprec, o.pc);
  Tensor kw = kl_w(o.w_mu, o.w_logvar);
  Tensor cp = c_prior(o.pc, gcfg_.c_lambda);
  return {l1 + kz + kw + cp, {{"l1", l1}, {"kl_z", kz}, {"kl_w", kw}, {"c_prior", cp}}};
}

// ---- loss terms ------------------------------------------------------------------------------------

namespace {

void check_mixture(const char* op, const Tensor& z, const Tensor& mu, const Tensor& logprec) {
  check(z.defined() && mu.defined() && logprec.defined() && z.dim() == 3 && mu.dim() == 4 &&
            mu.shape() == logprec.shape() && mu.size(0) == z.size(0) && mu.size(1) == z.size(1) && mu.size(3) == z.size(2),
        "GMVAE::", op, ": expected z [N,Z,L] and mu, logprec [N,Z,K,L], got ", shape_or_undef(z), ", ", shape_or_undef(mu),
        ", ", shape_or_undef(logprec));
}

}  // namespace

Tensor GMVAE::pc_logits(const Tensor& z, const Tensor& mu, const Tensor& logprec) {
  check_mixture("pc_logits", z, mu, logprec);
  // [SD]: loglh = −0.5·(z − μ_c)²·e^{λ} − λ + log(π), summed over z.
  Tensor d = square(unsqueeze(z, 2) - mu) * exp(logprec) * (-0.5) - logprec + std::log(kPi);
  return sum(d, {1});
}

Tensor GMVAE::kl_z(const Tensor& z_mu, const Tensor& z_logvar, const Tensor& mu, const Tensor& logprec, const Tensor& pc) {
  check_mixture("kl_z", z_mu, mu, logprec);
  check(z_logvar.defined() && z_logvar.shape() == z_mu.shape() && pc.defined() && pc.dim() == 3 &&
            pc.size(0) == mu.size(0) && pc.size(1) == mu.size(2) && pc.size(2) == mu.size(3),
        "GMVAE::kl_z: expected z_logvar ", shape_str(z_mu.shape()), " and pc [N,K,L], got ", shape_or_undef(z_logvar), ", ",
        shape_or_undef(pc));
  // [SD] trainers/GMVAE.py: KL(N(μ, e^{lv}) ‖ N(μ_c, e^{−λ})) with the precision's +1e-6.
  Tensor m = unsqueeze(z_mu, 2), lv = unsqueeze(z_logvar, 2);
  Tensor kl = ((exp(lv) + square(m - mu)) * (exp(logprec) + 1e-6) - logprec - lv - 1.0) * 0.5;
  return reduce_loss(kl * unsqueeze(pc, 1), Reduction::batch_mean);
}

Tensor GMVAE::kl_w(const Tensor& w_mu, const Tensor& w_logvar) {
  return kl_normal_std(w_mu, w_logvar, Reduction::batch_mean);
}

Tensor GMVAE::c_prior(const Tensor& pc, double c_lambda) {
  check(pc.defined() && pc.dim() == 3, "GMVAE::c_prior: expected pc [N,K,L], got ", shape_or_undef(pc));
  const double k = (double)pc.size(1);
  Tensor kl = sum(pc * log(pc * k + 1e-8), {1});  // [N,L]: KL(p(c|z) ‖ U(K)) (+1e-8 as [SD])
  return reduce_loss(maximum(kl, full(kl.shape(), c_lambda, kl.dtype(), kl.device())), Reduction::batch_mean);
}

// ---- registry --------------------------------------------------------------------------------------

std::vector<ModelSpec> gmvae_family() {
  const GMVAEConfig d = GMVAEConfig::dense(), s = GMVAEConfig::spatial_model();
  const Shape s2{1, d.unified.image_size, d.unified.image_size};
  return {
      {"gmvae_dense", s2, "003 §III.B Latent Variable Models 3 (GMVAE dense, 9 components, z 128); domain_spec §1.3",
       [d](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<GMVAE>(d, g); }},
      {"gmvae_spatial", s2, "003 §III.B Latent Variable Models 3 (GMVAE spatial, 9 components, z 1 per 8x8 location); "
                            "domain_spec §1.3",
       [s](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<GMVAE>(s, g); }},
  };
}

}  // namespace uad::models
