// AnoGAN: DCGAN generator and critic, iterative latent search (models/anogan.h).
#include "models/anogan.h"

#include <cmath>

#include "tensor/autograd.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace uad::models {

void AnoGanConfig::validate() const {
  auto side = [](size_t levels) { return int64_t(4) << levels; };
  check(!gen_channels.empty() && image_size == side(gen_channels.size()), "AnoGanConfig: image_size ", image_size,
        " must be 4·2^|gen_channels| = ", side(gen_channels.size()));
  check(!critic_channels.empty() && image_size == side(critic_channels.size()), "AnoGanConfig: image_size ",
        image_size, " must be 4·2^|critic_channels| = ", side(critic_channels.size()));
  check(latent > 0 && search_steps > 0 && n_critic > 0, "AnoGanConfig: latent ", latent, ", search_steps ",
        search_steps, " and n_critic ", n_critic, " must be positive");
  check(search_lambda >= 0 && search_lambda <= 1 && search_lr > 0 && gp_lambda >= 0, "AnoGanConfig: search_lambda ",
        search_lambda, " must be in [0,1], search_lr ", search_lr, " > 0, gp_lambda ", gp_lambda, " >= 0");
}

namespace {

nn::ConvOptions up_down(const AnoGanConfig& c) { return nn::conv_options(2, 1, 0, c.init, c.dtype); }

nn::BatchNormOptions bn_options(const AnoGanConfig& c) {
  nn::BatchNormOptions o;  // PyTorch defaults (eps 1e-5, momentum 0.1), as the DCGAN example
  o.init = c.init;
  o.dtype = c.dtype;
  return o;
}

void check_image(const AnoGanConfig& c, const Tensor& x, const char* who) {
  const int64_t s = c.image_size;
  check(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s && is_floating(x.dtype()),
        who, ": expected x [N,1,", s, ",", s, "] f32/f64, got ",
        x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("undefined"));
}

}  // namespace

DcganGenerator::DcganGenerator(const AnoGanConfig& cfg, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  nn::LinearOptions lo;
  lo.init = cfg_.init;
  lo.dtype = cfg_.dtype;
  const int64_t c0 = cfg_.gen_channels.front();
  fc_ = register_module("fc", std::make_shared<nn::Linear>(cfg_.latent, c0 * 16, lo, g));
  bn0_ = register_module("bn0", std::make_shared<nn::BatchNorm>(c0, bn_options(cfg_), g));
  blocks_ = register_module("blocks", std::make_shared<nn::Sequential>());
  for (size_t i = 1; i < cfg_.gen_channels.size(); ++i) {
    auto b = std::make_shared<nn::Sequential>();
    b->push_back(std::make_shared<nn::ConvTranspose2d>(cfg_.gen_channels[i - 1], cfg_.gen_channels[i], Shape{4},
                                                       up_down(cfg_), g));
    b->push_back(std::make_shared<nn::BatchNorm>(cfg_.gen_channels[i], bn_options(cfg_), g));
    b->push_back(std::make_shared<nn::ReLU>());
    blocks_->push_back(b);
  }
  out_ = register_module("out",
                         std::make_shared<nn::ConvTranspose2d>(cfg_.gen_channels.back(), 1, Shape{4}, up_down(cfg_), g));
}

Tensor DcganGenerator::forward(const Tensor& z) {
  check(z.defined() && z.dim() == 2 && z.size(1) == cfg_.latent, "DcganGenerator: expected z [N,", cfg_.latent,
        "], got ", z.defined() ? shape_str(z.shape()) : std::string("undefined"));
  Tensor h = relu((*bn0_)(reshape((*fc_)(z), {z.size(0), cfg_.gen_channels.front(), 4, 4})));
  return sigmoid((*out_)((*blocks_)(h)));
}

DcganCritic::DcganCritic(const AnoGanConfig& cfg, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  net_ = register_module("net", std::make_shared<nn::Sequential>());
  int64_t in = 1;
  for (int64_t c : cfg_.critic_channels) {
    auto b = std::make_shared<nn::Sequential>();
    b->push_back(std::make_shared<nn::Conv2d>(in, c, 4, up_down(cfg_), g));
    b->push_back(std::make_shared<nn::LeakyReLU>(0.2));
    net_->push_back(b);
    in = c;
  }
  nn::LinearOptions lo;
  lo.init = cfg_.init;
  lo.dtype = cfg_.dtype;
  head_ = register_module("head", std::make_shared<nn::Linear>(in * 16, 1, lo, g));
}

CriticOutput DcganCritic::score_and_features(const Tensor& x) {
  check_image(cfg_, x, "DcganCritic");
  Tensor f = flatten((*net_)(x), 1);  // [N, c·4·4]
  return {(*head_)(f), f};
}

AnoGAN::AnoGAN(const AnoGanConfig& cfg, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  gen_ = register_module("generator", std::make_shared<DcganGenerator>(cfg_, g));
  critic_ = register_module("critic", std::make_shared<DcganCritic>(cfg_, g));
}

LatentSearch AnoGAN::search(const Tensor& x) {
  check_image(cfg_, x, "AnoGAN::search");
  const int64_t n = x.size(0);
  const double lam = cfg_.search_lambda, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  // Frozen networks: gradients flow to z only.
  std::vector<Tensor> params = parameters();
  std::vector<bool> flags;
  for (Tensor& p : params) {
    flags.push_back(p.requires_grad());
    p.requires_grad_(false);
  }
  struct Restore {
    std::vector<Tensor>& p;
    std::vector<bool>& f;
    ~Restore() {
      for (size_t i = 0; i < p.size(); ++i) p[i].requires_grad_(f[i]);
    }
  } restore{params, flags};
  Tensor fx;
  Tensor z, m, v;
  {
    NoGradGuard ng;
    fx = critic_->score_and_features(x).features.detach();
    z = randn({n, cfg_.latent}, noise(), x.dtype(), x.device());
    m = zeros_like(z);
    v = zeros_like(z);
  }
  auto terms = [&](const Tensor& zz, Tensor* x_hat) {
    Tensor xg = (*gen_)(zz);
    if (x_hat) *x_hat = xg;
    Tensor l1 = sum(abs(x - xg), {1, 2, 3});                                  // [N]
    Tensor feat = sum(abs(fx - critic_->score_and_features(xg).features), {1});  // [N]
    return std::pair<Tensor, Tensor>{l1, feat};
  };
  for (int64_t t = 1; t <= cfg_.search_steps; ++t) {
    Tensor gz;
    {
      GradModeGuard on(true);
      Tensor zt = z.detach();
      zt.requires_grad_();
      auto [l1, feat] = terms(zt, nullptr);
      Tensor total = sum(l1 * (1.0 - lam) + feat * lam);  // per-sample objectives are independent
      gz = grad({total}, {zt})[0];
    }
    NoGradGuard ng;  // Adam (Kingma & Ba 2015, Algorithm 1) on z
    m = m * b1 + gz * (1.0 - b1);
    v = v * b2 + square(gz) * (1.0 - b2);
    const double c1 = 1.0 - std::pow(b1, (double)t), c2 = 1.0 - std::pow(b2, (double)t);
    z = z - (m / c1) / (sqrt(v / c2) + eps) * cfg_.search_lr;
  }
  NoGradGuard ng;
  LatentSearch r;
  r.z = z;
  auto [l1, feat] = terms(z, &r.x_hat);
  r.l1 = l1;
  r.feat = feat;
  r.score = l1 * (1.0 - lam) + feat * lam;
  return r;
}

LossTerms AnoGAN::loss(const Tensor& x) {
  LatentSearch s = search(x);
  return {mean(s.score), {{"l1", mean(s.l1)}, {"feat", mean(s.feat)}}};
}

std::vector<ModelSpec> anogan_family() {
  const AnoGanConfig c;
  return {ModelSpec{"anogan", Shape{1, c.image_size, c.image_size},
                    "004 §3 / Table 1 AnoGAN (DCGAN, latent 64, 100-step latent search; Schlegl et al. 2017); "
                    "models/anogan.h",
                    [c](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<AnoGAN>(c, g); },
                    TrainerKind::wgan_gp}};
}

}  // namespace uad::models
