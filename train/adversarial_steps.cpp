// The VAE-GAN and Constrained-AAE batch updates (train/adversarial_loop.h).
#include "tensor/autograd.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "train/adversarial_loop.h"
#include "train/wgan_gp.h"

namespace uad::train {

namespace {

/// RAII: the given parameters get no gradients (requires_grad restored afterwards).
class FreezeParams {
 public:
  explicit FreezeParams(std::vector<Tensor> ps) : ps_(std::move(ps)) {
    for (Tensor& p : ps_) {
      flags_.push_back(p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~FreezeParams() {
    for (size_t i = 0; i < ps_.size(); ++i) ps_[i].requires_grad_(flags_[i]);
  }
  FreezeParams(const FreezeParams&) = delete;
  FreezeParams& operator=(const FreezeParams&) = delete;

 private:
  std::vector<Tensor> ps_;
  std::vector<bool> flags_;
};

/// The parameters of `all` that are not in `keep` (by identity of the storage).
std::vector<Tensor> except(const std::vector<Tensor>& all, const std::vector<Tensor>& keep) {
  std::vector<Tensor> out;
  for (const Tensor& p : all) {
    bool found = false;
    for (const Tensor& k : keep) found = found || k.raw() == p.raw();
    if (!found) out.push_back(p);
  }
  return out;
}

void minimise(Adam& opt, const Tensor& loss) {
  opt.zero_grad();
  loss.backward();
  opt.step();
}

Shape per_sample_shape(const Tensor& x) {
  Shape s(x.dim(), 1);
  s[0] = x.size(0);
  return s;
}

}  // namespace

Tensor gradient_penalty_axis1(nn::Module& critic, const Tensor& real, const Tensor& fake, const Tensor& eps,
                              double lambda) {
  check(real.defined() && fake.defined() && eps.defined() && real.dim() == 4 && real.shape() == fake.shape() &&
            eps.shape() == per_sample_shape(real),
        "gradient_penalty_axis1: expected real and fake [N,C,H,W] of one shape and eps [N,1,1,1], got real ",
        real.defined() ? real.shape() : Shape{}, ", fake ", fake.defined() ? fake.shape() : Shape{}, ", eps ",
        eps.defined() ? eps.shape() : Shape{});
  const bool outer = grad_mode_enabled();
  Tensor gx;
  {
    GradModeGuard on(true);
    Tensor x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).detach();
    x_hat.requires_grad_();
    Tensor d = critic(x_hat);
    gx = grad({d}, {x_hat}, {ones_like(d)}, /*create_graph=*/outer)[0];
  }
  return mean(square(norm(gx, 2.0, {2}) - 1.0)) * lambda;  // NCHW axis 2 = NHWC axis 1 (H)
}

CriticUpdate vaegan_critic_update(models::VaeGanModel& m, Adam& opt_d, const Tensor& x, Generator& g) {
  check(x.defined() && x.dim() >= 2, "vaegan_critic_update: expected a batch [N,...], got ",
        x.defined() ? x.shape() : Shape{});
  const models::VaeGanOptions& o = m.vaegan_options();
  nn::Module& D = m.critic();
  Tensor fake;
  {
    NoGradGuard ng;
    fake = m.vae_forward(x).x_hat;
  }
  CriticUpdate r{};
  Tensor loss;
  if (o.wasserstein) {
    Tensor eps = rand(per_sample_shape(x), g, x.dtype(), x.device());
    Tensor d_real = mean(D(x)), d_fake = mean(D(fake));
    Tensor pen = o.gp_axis1_quirk ? gradient_penalty_axis1(D, x, fake, eps, o.gp_lambda)
                                  : gradient_penalty(D, x, fake, eps, o.gp_lambda);
    loss = d_fake - d_real + pen;
    r.wasserstein = d_real.item() - d_fake.item();
    r.penalty = pen.item();
  } else {
    Tensor l_real = D(x), l_fake = D(fake);
    loss = bce_with_logits(l_real, ones_like(l_real)) + bce_with_logits(l_fake, zeros_like(l_fake));
  }
  minimise(opt_d, loss);
  r.loss = loss.item();
  return r;
}

StepValues vaegan_autoencoder_update(models::VaeGanModel& m, Adam& opt_ae, const Tensor& x) {
  const models::VaeGanOptions& o = m.vaegan_options();
  nn::Module& D = m.critic();
  FreezeParams fd(D.parameters());
  models::VaeGanForward f = m.vae_forward(x);
  Tensor total = f.rec.total;
  double adv = 0;
  const bool combined = !o.separate_generator_step && o.adv_weight > 0;
  if (combined) {
    Tensor l = D(f.x_hat);
    Tensor a = o.wasserstein ? -mean(l) : bce_with_logits(l, ones_like(l));
    total = total + a * o.adv_weight;
    adv = a.item();
  }
  minimise(opt_ae, total);
  StepValues vals{{"loss", total.item()}};
  for (const auto& [name, t] : f.rec.parts)
    vals.emplace_back(name == "l1" ? "l1" : name == "kl" ? "kl" : "rec_part", t.item());
  if (!o.separate_generator_step) vals.emplace_back("adversarial", adv);
  return vals;
}

double vaegan_generator_update(models::VaeGanModel& m, Adam& opt_g, const Tensor& x) {
  FreezeParams fd(m.critic().parameters());
  FreezeParams fe(except(m.autoencoder_parameters(), m.generator_parameters()));
  Tensor gl = -mean(m.critic()(m.vae_forward(x).x_hat));
  minimise(opt_g, gl);
  return gl.item();
}

StepValues vaegan_step(models::VaeGanModel& m, Adam& opt_ae, Adam* opt_g, Adam& opt_d, const Tensor& x, Generator& g) {
  check(x.defined() && x.dim() >= 2, "vaegan_step: expected a batch [N,...], got ", x.defined() ? x.shape() : Shape{});
  const models::VaeGanOptions& o = m.vaegan_options();
  check(!o.separate_generator_step || opt_g != nullptr, "vaegan_step: the model has a generator step but no optimiser");
  CriticUpdate c{};
  auto critic_updates = [&] {
    for (int64_t k = 0; k < o.n_critic; ++k) c = vaegan_critic_update(m, opt_d, x, g);
  };
  if (o.critic_first) critic_updates();
  StepValues vals = vaegan_autoencoder_update(m, opt_ae, x);
  if (o.separate_generator_step) vals.emplace_back("generator_loss", vaegan_generator_update(m, *opt_g, x));
  if (!o.critic_first) critic_updates();
  vals.emplace_back("critic_loss", c.loss);
  if (o.wasserstein) {
    vals.emplace_back("wasserstein", c.wasserstein);
    vals.emplace_back("penalty", c.penalty);
  }
  return vals;
}

double aae_autoencoder_update(models::ReconstructionModel& model, models::LatentAdversarialModel& m, Adam& opt_ae,
                              const Tensor& x) {
  FreezeParams fd(m.latent_critic().parameters());
  Tensor l = model.loss(x).total;
  minimise(opt_ae, l);
  return l.item();
}

CriticUpdate aae_critic_update(models::LatentAdversarialModel& m, Adam& opt_d, const Tensor& x, Generator& g) {
  check(x.defined() && x.dim() >= 2, "aae_critic_update: expected a batch [N,...], got ",
        x.defined() ? x.shape() : Shape{});
  const models::AaeOptions& o = m.aae_options();
  nn::Module& D = m.latent_critic();
  Tensor z;
  {
    NoGradGuard ng;
    z = m.encode_latent(x);
  }
  const int64_t n = x.size(0);
  Tensor z_p = randn({n, m.latent_dim()}, g, z.dtype(), z.device());
  Tensor eps = rand({n, 1}, g, z.dtype(), z.device());
  // standard: ε·z_p + (1 − ε)·z; quirk: (1 + ε)·z_p − ε·z = z_p + ε(z_p − z) (extrapolates).
  Tensor pen = gradient_penalty(D, z_p, z, o.extrapolating_interpolate ? eps + 1.0 : eps, o.gp_lambda);
  Tensor d_real = mean(D(z_p)), d_fake = mean(D(z));
  Tensor loss = d_fake - d_real + pen;
  minimise(opt_d, loss);
  return {loss.item(), d_real.item() - d_fake.item(), pen.item()};
}

double aae_encoder_update(models::LatentAdversarialModel& m, Adam& opt_e, const Tensor& x) {
  FreezeParams fd(m.latent_critic().parameters());
  Tensor l = -mean(m.latent_critic()(m.encode_latent(x)));
  minimise(opt_e, l);
  return l.item();
}

StepValues aae_step(models::ReconstructionModel& model, models::LatentAdversarialModel& m, Adam& opt_ae, Adam& opt_d,
                    Adam& opt_e, const Tensor& x, int64_t epoch, Generator& g) {
  check(x.defined() && x.dim() >= 2, "aae_step: expected a batch [N,...], got ", x.defined() ? x.shape() : Shape{});
  const models::AaeOptions& o = m.aae_options();
  double ae_loss = 0;
  const int64_t n_ae = epoch <= o.warmup_epochs ? o.ae_steps_warmup : o.ae_steps;
  for (int64_t k = 0; k < n_ae; ++k) ae_loss = aae_autoencoder_update(model, m, opt_ae, x);
  CriticUpdate c{};
  for (int64_t k = 0; k < o.critic_steps; ++k) c = aae_critic_update(m, opt_d, x, g);
  const double enc = aae_encoder_update(m, opt_e, x);
  return {{"ae_loss", ae_loss},
          {"critic_loss", c.loss},
          {"wasserstein", c.wasserstein},
          {"penalty", c.penalty},
          {"encoder_loss", enc}};
}

}  // namespace uad::train
