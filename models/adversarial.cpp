// AnoVAEGAN, the Baur-2018 sAE-GAN / sVAE-GAN and the Constrained AAE (models/adversarial.h).
#include "models/adversarial.h"

#include "models/anogan.h"

#include "tensor/error.h"
#include "tensor/ops.h"

namespace uad::models {

namespace {

UnifiedConfig with_norm(UnifiedConfig cfg, UnifiedNorm n) {
  cfg.norm = n;
  cfg.validate();
  return cfg;
}

/// The parameters of m whose name starts with one of `prefixes`, in m's order.
std::vector<Tensor> params_under(const nn::Module& m, const std::vector<std::string>& prefixes) {
  std::vector<Tensor> out;
  for (const auto& [name, p] : m.named_parameters())
    for (const auto& pre : prefixes)
      if (name.rfind(pre, 0) == 0) {
        out.push_back(p);
        break;
      }
  return out;
}

std::vector<Tensor> concat(std::vector<Tensor> a, const std::vector<Tensor>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

// ---- AnoVAEGAN --------------------------------------------------------------------------------------

AnoVAEGAN::AnoVAEGAN(const UnifiedConfig& cfg, Generator& g, VaeGanOptions opt, double kl_weight)
    : UnifiedModel(with_norm(cfg, UnifiedNorm::batch)), opt_(opt), kl_weight_(kl_weight) {
  check(kl_weight >= 0 && opt.n_critic >= 1 && opt.gp_lambda >= 0, "AnoVAEGAN: kl_weight ", kl_weight, ", n_critic ",
        opt.n_critic, " and gp_lambda ", opt.gp_lambda, " must be >= 0 (n_critic >= 1)");
  encoder_ = register_module("encoder", std::make_shared<UnifiedEncoder>(cfg_, g));
  bottleneck_ = register_module("bottleneck", std::make_shared<DenseBottleneck>(cfg_, /*variational=*/true, g));
  generator_ = register_module("generator", std::make_shared<UnifiedDecoder>(with_norm(cfg_, UnifiedNorm::layer), g));
  critic_ = register_module("critic", std::make_shared<Critic2d>(cfg_, g));
}

Posterior AnoVAEGAN::encode(const Tensor& x) {
  check_input(x, "encode");
  Tensor f = bottleneck_->features((*encoder_)(x));
  return {bottleneck_->head_z(f), bottleneck_->head_log_sigma(f)};
}

Tensor AnoVAEGAN::decode(const Tensor& z) { return (*generator_)(bottleneck_->decode(z)); }

Tensor AnoVAEGAN::reconstruct(const Tensor& x) {
  Posterior q = encode(x);
  if (!(is_training() || mc_sampling_)) return decode(q.mu);
  return decode(q.mu + randn(q.mu.shape(), noise(), q.mu.dtype(), q.mu.device()) * exp(q.log_sigma));
}

VaeGanForward AnoVAEGAN::vae_forward(const Tensor& x) {
  Posterior q = encode(x);
  Tensor z = q.mu + randn(q.mu.shape(), noise(), q.mu.dtype(), q.mu.device()) * exp(q.log_sigma);  // as UnifiedVAE::sample
  Tensor x_hat = decode(z);
  Tensor l1 = l1_loss(x_hat, x, Reduction::batch_mean);
  Tensor kl = UnifiedVAE::kl_term(q);
  return {{l1 + kl * kl_weight_, {{"l1", l1}, {"kl", kl}}}, x_hat};
}

LossTerms AnoVAEGAN::loss(const Tensor& x) { return vae_forward(x).rec; }

std::vector<Tensor> AnoVAEGAN::autoencoder_parameters() const {
  return concat(concat(encoder_->parameters(), bottleneck_->parameters()), generator_->parameters());
}

std::vector<Tensor> AnoVAEGAN::generator_parameters() const {
  return concat(params_under(*bottleneck_, {"fc_dec.", "conv_out."}), generator_->parameters());
}

// ---- Baur 2018 sAE-GAN / sVAE-GAN -------------------------------------------------------------------

Baur2018Discriminator::Baur2018Discriminator(int64_t image_size, std::vector<int64_t> channels, nn::Init init,
                                             DType dtype, Generator& g)
    : size_(image_size) {
  check(!channels.empty() && image_size % (int64_t(1) << channels.size()) == 0, "Baur2018Discriminator: image size ",
        image_size, " must be divisible by 2^", channels.size());
  net_ = register_module("net", std::make_shared<nn::Sequential>());
  int64_t in = 1;
  for (int64_t c : channels) {
    auto block = std::make_shared<nn::Sequential>();
    block->push_back(std::make_shared<nn::Conv2d>(in, c, 5, nn::conv_options(2, 2, 0, init, dtype), g));
    block->push_back(std::make_shared<nn::LeakyReLU>(0.2));
    net_->push_back(block);
    in = c;
  }
  head_ = register_module("head", std::make_shared<nn::Conv2d>(in, 1, 1, nn::conv_options(1, 0, 0, init, dtype), g));
}

Tensor Baur2018Discriminator::forward(const Tensor& x) {
  check(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == size_ && x.size(3) == size_,
        "Baur2018Discriminator: expected x [N,1,", size_, ",", size_, "], got ",
        x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  return mean((*head_)((*net_)(x)), {2, 3});  // [N,1]
}

Baur2018Gan::Baur2018Gan(const Baur2018Config& cfg, Generator& g, VaeGanOptions opt)
    : opt_(opt), variational_(cfg.variational) {
  check(opt.n_critic >= 1 && opt.adv_weight >= 0, "Baur2018Gan: n_critic ", opt.n_critic, " must be >= 1 and adv_weight ",
        opt.adv_weight, " >= 0");
  vae_ = register_module("vae", std::make_shared<Baur2018Model>(cfg, g));
  critic_ = register_module("critic", std::make_shared<Baur2018Discriminator>(
                                          cfg.image_size, std::vector<int64_t>{32, 64, 128, 256}, cfg.init, cfg.dtype, g));
}

VaeGanForward Baur2018Gan::vae_forward(const Tensor& x) {
  const Baur2018Config& c = vae_->config();
  Posterior q = vae_->encode(x);
  Tensor x_hat = vae_->decode(c.variational ? vae_->sample(q) : q.mu);
  Tensor l1 = l1_loss(x_hat, x, Reduction::batch_mean);
  if (!c.variational) return {{l1, {{"l1", l1}}}, x_hat};
  Tensor kl = UnifiedVAE::kl_term(q);  // over every latent element, batch mean (as Baur2018Model::loss)
  return {{l1 + kl * c.kl_weight, {{"l1", l1}, {"kl", kl}}}, x_hat};
}

std::vector<Tensor> Baur2018Gan::generator_parameters() const { return params_under(*vae_, {"fc_dec.", "decoder."}); }

// ---- Constrained AAE --------------------------------------------------------------------------------

LatentCritic::LatentCritic(int64_t zdim, std::vector<int64_t> hidden, nn::Init init, DType dtype, Generator& g) {
  nn::LinearOptions o;
  o.init = init;
  o.dtype = dtype;
  int64_t in = zdim;
  for (int64_t h : hidden) {
    push_back(std::make_shared<nn::Linear>(in, h, o, g));
    push_back(std::make_shared<nn::LeakyReLU>(0.2));  // tf.nn.leaky_relu default α
    in = h;
  }
  push_back(std::make_shared<nn::Linear>(in, 1, o, g));
}

ConstrainedAAE::ConstrainedAAE(const UnifiedConfig& cfg, Generator& g, AaeOptions opt, double rho)
    : ConstrainedAE(cfg, g, rho), opt_(opt) {
  check(opt.ae_steps_warmup >= 1 && opt.ae_steps >= 1 && opt.critic_steps >= 1 && opt.gp_lambda >= 0,
        "ConstrainedAAE: step counts must be >= 1 and gp_lambda >= 0");
  critic_ = register_module("latent_critic", std::make_shared<LatentCritic>(cfg_.zdim, std::vector<int64_t>{100, 50},
                                                                            cfg_.init, cfg_.dtype, g));
}

std::vector<Tensor> ConstrainedAAE::encoder_parameters() const {
  return concat(encoder_->parameters(), params_under(*bottleneck_, {"conv_in.", "fc_z."}));
}

std::vector<Tensor> ConstrainedAAE::autoencoder_parameters() const {
  return concat(concat(encoder_->parameters(), bottleneck_->parameters()), decoder_->parameters());
}

// ---- registry ---------------------------------------------------------------------------------------

std::vector<ModelSpec> adversarial_family() {
  const UnifiedConfig u;  // 128×128, bottleneck 8×8, z 128, dropout 0.2
  std::vector<ModelSpec> out;
  ModelSpec a{"anovaegan", Shape{1, u.image_size, u.image_size},
              "003 §III.B GAN-based 1 (AnoVAEGAN); domain_spec §1.3 AnoVAEGAN; models/adversarial.h",
              [u](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<AnoVAEGAN>(u, g); },
              TrainerKind::vae_gan};
  out.push_back(a);
  for (bool variational : {false, true}) {
    Baur2018Config c;
    c.latent = Baur2018Latent::spatial16;
    c.variational = variational;
    VaeGanOptions o;
    o.wasserstein = false;
    o.separate_generator_step = false;
    o.critic_first = true;
    o.n_critic = 1;
    o.beta1 = 0.9;  // Adam defaults: 004 names no β (unverified)
    o.beta2 = 0.999;
    o.critic_lr_ratio = 0.1;  // 004 §3: 1e-3 reconstruction, 1e-4 adversarial
    out.push_back(ModelSpec{variational ? "svae_gan" : "sae_gan", Shape{1, c.image_size, c.image_size},
                            variational ? "004 Eq. 2-3, Table 1 sVAE-GAN (z 16x16x64, 256x256); models/adversarial.h"
                                        : "004 Table 1 sAE-GAN (z 16x16x64, 256x256); models/adversarial.h",
                            [c, o](Generator& g) -> std::shared_ptr<ReconstructionModel> {
                              return std::make_shared<Baur2018Gan>(c, g, o);
                            },
                            TrainerKind::vae_gan});
  }
  out.push_back(ModelSpec{"constrained_aae", Shape{1, u.image_size, u.image_size},
                          "003 §III.B Autoencoders 5 (Constrained AAE); domain_spec §1.3; models/adversarial.h",
                          [u](Generator& g) -> std::shared_ptr<ReconstructionModel> {
                            return std::make_shared<ConstrainedAAE>(u, g);
                          },
                          TrainerKind::latent_adversarial});
  for (ModelSpec& s : anogan_family()) out.push_back(std::move(s));
  return out;
}

}  // namespace uad::models
