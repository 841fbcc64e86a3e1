// WGAN-GP and izi_f training steps (train/wgan_gp.h).
#include "train/wgan_gp.h"

#include "tensor/autograd.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace uad::train {

namespace {

/// RAII: no gradients into m's parameters (each parameter's requires_grad restored afterwards),
/// and optionally eval mode (the root's previous mode restored on the whole tree).
class Freeze {
 public:
  Freeze(nn::Module& m, bool eval) : m_(m), params_(m.parameters()), eval_(eval), was_training_(m.is_training()) {
    for (const Tensor& p : params_) flags_.push_back(p.requires_grad());
    m_.set_requires_grad(false);
    if (eval_) m_.eval();
  }
  ~Freeze() {
    for (size_t i = 0; i < params_.size(); ++i) params_[i].requires_grad_(flags_[i]);
    if (eval_) m_.train(was_training_);
  }
  Freeze(const Freeze&) = delete;
  Freeze& operator=(const Freeze&) = delete;

 private:
  nn::Module& m_;
  std::vector<Tensor> params_;
  std::vector<bool> flags_;
  bool eval_, was_training_;
};

/// RAII: eval mode on m's tree (parameters untouched), the root's previous mode restored.
class EvalMode {
 public:
  explicit EvalMode(nn::Module& m) : m_(m), was_training_(m.is_training()) { m_.eval(); }
  ~EvalMode() { m_.train(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  nn::Module& m_;
  bool was_training_;
};

/// [N,1,...,1] of real's rank.
Shape per_sample_shape(const Tensor& real) {
  Shape s(real.dim(), 1);
  s[0] = real.size(0);
  return s;
}

}  // namespace

AdamOptions wgan_adam(double lr) {
  AdamOptions o;
  o.lr = lr;
  o.beta1 = 0.0;
  o.beta2 = 0.9;
  return o;
}

Tensor gradient_penalty(nn::Module& critic, const Tensor& real, const Tensor& fake, const Tensor& eps, double lambda) {
  check(real.defined() && fake.defined() && eps.defined() && real.dim() >= 2 && real.shape() == fake.shape() &&
            eps.shape() == per_sample_shape(real),
        "gradient_penalty: expected real and fake [N,...] of one shape and eps [N,1,...,1], got real ",
        real.defined() ? real.shape() : Shape{}, ", fake ", fake.defined() ? fake.shape() : Shape{}, ", eps ",
        eps.defined() ? eps.shape() : Shape{});
  // ∇_x̂ D needs recording even under a NoGradGuard (evaluation); the graph of the gradient is
  // kept only when the caller records (then the penalty is differentiable w.r.t. θ_D).
  const bool outer = grad_mode_enabled();
  Tensor gx;
  {
    GradModeGuard on(true);
    Tensor x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).detach();
    x_hat.requires_grad_();
    Tensor d = critic(x_hat);
    check(d.dim() >= 1 && d.size(0) == real.size(0) && d.numel() == real.size(0),
          "gradient_penalty: the critic must give one score per sample, got ", d.shape(), " for x ", real.shape());
    gx = grad({d}, {x_hat}, {ones_like(d)}, /*create_graph=*/outer)[0];
  }
  Shape dims;
  for (int64_t k = 1; k < gx.dim(); ++k) dims.push_back(k);
  return mean(square(norm(gx, 2.0, dims) - 1.0)) * lambda;
}

CriticStepStats critic_step(nn::Module& G, models::FeatureCritic& D, Adam& opt_d, const Tensor& real, int64_t latent,
                            Generator& g, double lambda) {
  check(real.defined() && real.dim() >= 2, "critic_step: expected a real batch [N,...], got ",
        real.defined() ? real.shape() : Shape{});
  const int64_t n = real.size(0);
  Tensor z = randn({n, latent}, g, real.dtype(), real.device());
  Tensor eps = rand(per_sample_shape(real), g, real.dtype(), real.device());
  Tensor fake;
  {
    NoGradGuard ng;
    fake = G(z);
  }
  check(fake.shape() == real.shape(), "critic_step: G(z) ", fake.shape(), " differs from the real batch ",
        real.shape());
  Tensor d_real = mean(D(real)), d_fake = mean(D(fake));
  Tensor pen = gradient_penalty(D, real, fake, eps, lambda);
  Tensor loss = d_fake - d_real + pen;
  opt_d.zero_grad();
  loss.backward();
  opt_d.step();
  return {loss.item(), d_real.item() - d_fake.item(), pen.item()};
}

double generator_step(nn::Module& G, models::FeatureCritic& D, Adam& opt_g, int64_t n, int64_t latent, Generator& g) {
  check(n > 0 && latent > 0, "generator_step: batch ", n, " and latent ", latent, " must be positive");
  Freeze fd(D, false);
  const std::vector<Tensor> gp = G.parameters();
  Tensor z = randn({n, latent}, g, gp.empty() ? DType::f32 : gp.front().dtype(), gp.empty() ? Device::cpu : gp.front().device());
  Tensor loss = -mean(D(G(z)));
  opt_g.zero_grad();
  loss.backward();
  opt_g.step();
  return loss.item();
}

GanIterationStats gan_iteration(nn::Module& G, models::FeatureCritic& D, Adam& opt_g, Adam& opt_d,
                                const std::vector<Tensor>& real_batches, int64_t latent, Generator& g, double lambda) {
  check(!real_batches.empty(), "gan_iteration: no real batches (n_critic = 0)");
  GanIterationStats s{};
  for (const Tensor& x : real_batches) s.critic = critic_step(G, D, opt_d, x, latent, g, lambda);
  s.generator_loss = generator_step(G, D, opt_g, real_batches.back().size(0), latent, g);
  return s;
}

namespace {

template <class Opt>
IzifStepStats izif_step(nn::Module& E, nn::Module& G, models::FeatureCritic& D, Opt& opt, const Tensor& x,
                        double kappa) {
  Freeze fg(G, true), fd(D, true);
  models::IzifTerms t = models::izif_terms(E, G, D, x, kappa, false);
  opt.zero_grad();
  t.total.backward();
  opt.step();
  return {t.total.item(), t.img.item(), t.feat.item()};
}

}  // namespace

IzifStepStats encoder_izif_step(nn::Module& E, nn::Module& G, models::FeatureCritic& D, RMSProp& opt, const Tensor& x,
                                double kappa) {
  return izif_step(E, G, D, opt, x, kappa);
}

IzifStepStats encoder_izif_step(nn::Module& E, nn::Module& G, models::FeatureCritic& D, Adam& opt, const Tensor& x,
                                double kappa) {
  return izif_step(E, G, D, opt, x, kappa);
}

std::vector<Tensor> refine_parameters(nn::Module& E, nn::Module& G) {
  std::vector<Tensor> p = E.parameters();
  for (const Tensor& t : G.parameters()) p.push_back(t);
  return p;
}

IzifStepStats refine_step(nn::Module& E, nn::Module& G, models::FeatureCritic& D, Adam& opt, const Tensor& x,
                          double kappa) {
  check(x.defined() && x.dim() >= 2, "refine_step: expected a real batch [N,...], got ", x.defined() ? x.shape() : Shape{});
  Freeze fd(D, true);  // D: no gradients, eval mode
  EvalMode ge(G);      // G: trained, but with its running batch-norm statistics (see the header)
  models::IzifTerms t = models::izif_terms(E, G, D, x, kappa, false);
  opt.zero_grad();
  t.total.backward();
  opt.step();
  return {t.total.item(), t.img.item(), t.feat.item()};
}

Tensor anomaly_score(nn::Module& E, nn::Module& G, models::FeatureCritic& D, const Tensor& x, double kappa) {
  NoGradGuard ng;
  return models::izif_terms(E, G, D, x, kappa, true).total;
}

}  // namespace uad::train
