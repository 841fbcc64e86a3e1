// The 3-D f-AnoGAN networks (models/fanogan3d.h).
#include "models/fanogan3d.h"


#include "tensor/autograd.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace uad::models {

void Fanogan3dConfig::validate() const {
  check(scale >= 1 && scale <= 64 && 64 % scale == 0, "Fanogan3dConfig: scale ", scale,
        " must divide 64 (channel width 64/scale)");
  check(latent > 0, "Fanogan3dConfig: latent ", latent, " must be positive");
  check(slope >= 0, "Fanogan3dConfig: slope ", slope, " must be ≥ 0");
  check(kappa >= 0, "Fanogan3dConfig: kappa ", kappa, " must be ≥ 0");
}

namespace {

void check_volume(const Tensor& x, const char* who) {
  const int64_t s = Fanogan3dConfig::kSize;
  check(x.defined() && x.dim() == 5 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s && x.size(4) == s, who,
        ": expected x [N,1,64,64,64], got ", x.defined() ? x.shape() : Shape{});
}

}  // namespace

// ---- conv stack (critic / encoder) ---------------------------------------------------------------

Conv3dStack::Conv3dStack(const Fanogan3dConfig& cfg, bool batch_norm, int64_t out, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  const int64_t c = cfg_.width();
  const int64_t ch[5] = {1, c, 2 * c, 4 * c, 8 * c};
  for (int i = 0; i < 4; ++i) {
    nn::ConvOptions o{.stride = {2}, .padding = {1}, .bias = true, .init = cfg_.init, .dtype = cfg_.dtype};
    conv_[i] = register_module("conv" + std::to_string(i + 1), std::make_shared<nn::Conv3d>(ch[i], ch[i + 1], 4, o, g));
    if (i == 0) continue;
    const int64_t side = Fanogan3dConfig::kSize >> (i + 1);  // 16, 8, 4
    std::shared_ptr<nn::Module> norm;
    if (batch_norm) {
      nn::BatchNormOptions bo;
      bo.init = cfg_.init;
      bo.dtype = cfg_.dtype;
      norm = std::make_shared<nn::BatchNorm>(ch[i + 1], bo, g);
    } else {
      norm = std::make_shared<nn::LayerNorm>(Shape{ch[i + 1], side, side, side},
                                             nn::LayerNormOptions{.eps = 1e-5, .affine = cfg_.ln_affine, .dtype = cfg_.dtype});
    }
    norm_[i - 1] = register_module("norm" + std::to_string(i + 1), norm);
  }
  nn::ConvOptions o5{.stride = {1}, .padding = {0}, .bias = true, .init = cfg_.init, .dtype = cfg_.dtype};
  conv_[4] = register_module("conv5", std::make_shared<nn::Conv3d>(ch[4], out, 4, o5, g));
}

Conv3dStack::Out Conv3dStack::run(const Tensor& x, const char* who) {
  check_volume(x, who);
  Tensor h = leaky_relu((*conv_[0])(x), cfg_.slope);
  for (int i = 1; i < 4; ++i) h = leaky_relu((*norm_[i - 1])((*conv_[i])(h)), cfg_.slope);
  return {(*conv_[4])(h), h};
}

Critic3d::Critic3d(const Fanogan3dConfig& cfg, Generator& g) {
  net_ = register_module("net", std::make_shared<Conv3dStack>(cfg, false, 1, g));
}

CriticOutput Critic3d::score_and_features(const Tensor& x) {
  Conv3dStack::Out o = net_->run(x, "Critic3d");
  return {flatten(o.head, 1), flatten(o.hidden, 1)};
}

Encoder3d::Encoder3d(const Fanogan3dConfig& cfg, Generator& g) {
  net_ = register_module("net", std::make_shared<Conv3dStack>(cfg, true, cfg.latent, g));
}

Tensor Encoder3d::forward(const Tensor& x) { return tanh(flatten(net_->run(x, "Encoder3d").head, 1)); }

// ---- generator -----------------------------------------------------------------------------------

Generator3d::Generator3d(const Fanogan3dConfig& cfg, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  const int64_t c = cfg_.width();
  const int64_t ch[5] = {8 * c, 4 * c, 2 * c, c, 1};
  nn::BatchNormOptions bo;
  bo.init = cfg_.init;
  bo.dtype = cfg_.dtype;
  nn::ConvOptions o1{.stride = {1}, .padding = {0}, .bias = false, .init = cfg_.init, .dtype = cfg_.dtype};
  tconv1_ = register_module("tconv1", std::make_shared<nn::ConvTranspose3d>(cfg_.latent, ch[0], 4, o1, g));
  bn_[0] = register_module("bn1", std::make_shared<nn::BatchNorm>(ch[0], bo, g));
  nn::ConvOptions o{.stride = {1}, .padding = {1}, .bias = false, .init = cfg_.init, .dtype = cfg_.dtype};
  for (int i = 0; i < 4; ++i) {
    conv_[i] = register_module("conv" + std::to_string(i + 2), std::make_shared<nn::Conv3d>(ch[i], ch[i + 1], 3, o, g));
    if (i < 3) bn_[i + 1] = register_module("bn" + std::to_string(i + 2), std::make_shared<nn::BatchNorm>(ch[i + 1], bo, g));
  }
}

Tensor Generator3d::forward(const Tensor& z) {
  check(z.defined() && z.dim() == 2 && z.size(1) == cfg_.latent, "Generator3d: expected z [N,", cfg_.latent,
        "], got ", z.defined() ? z.shape() : Shape{});
  Tensor h = relu((*bn_[0])((*tconv1_)(reshape(z, {z.size(0), cfg_.latent, 1, 1, 1}))));  // [N,8c,4³]
  for (int i = 0; i < 4; ++i) {
    const int64_t s = 2 * h.size(2);
    h = (*conv_[i])(upsample_nearest(h, {s, s, s}));
    h = i < 3 ? relu((*bn_[i + 1])(h)) : tanh(h);
  }
  return h;
}

// ---- izi_f ---------------------------------------------------------------------------------------

IzifTerms izif_terms(nn::Module& encoder, nn::Module& generator, FeatureCritic& critic, const Tensor& x, double kappa,
                     bool per_sample) {
  check(x.defined() && x.dim() >= 2, "izif_terms: expected x [N,...], got ", x.defined() ? x.shape() : Shape{});
  Shape vox;
  for (int64_t d = 1; d < x.dim(); ++d) vox.push_back(d);
  Tensor fx;
  {
    NoGradGuard ng;
    fx = critic.score_and_features(x).features;
  }
  Tensor recon = generator(encoder(x));
  Tensor f_rec = critic.score_and_features(recon).features;
  Tensor img = per_sample ? mean(square(x - recon), vox) : mean(square(x - recon));
  check(recon.shape() == x.shape(), "izif_terms: G(E(x)) ", recon.shape(), " differs from x ", x.shape());
  Tensor feat = per_sample ? mean(square(fx - f_rec), {1}) : mean(square(fx - f_rec));
  return {img + feat * kappa, img, feat, recon};
}

// ---- the model -----------------------------------------------------------------------------------

FAnoGAN3d::FAnoGAN3d(const Fanogan3dConfig& cfg, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  gen_ = register_module("generator", std::make_shared<Generator3d>(cfg_, g));
  critic_ = register_module("critic", std::make_shared<Critic3d>(cfg_, g));
  enc_ = register_module("encoder", std::make_shared<Encoder3d>(cfg_, g));
}

Tensor FAnoGAN3d::to_net(const Tensor& x) const { return cfg_.unit_range_input ? x * 2.0 - 1.0 : x; }

Tensor FAnoGAN3d::reconstruct(const Tensor& x) {
  check_volume(x, "FAnoGAN3d::reconstruct");
  Tensor y = (*gen_)((*enc_)(to_net(x)));
  return cfg_.unit_range_input ? (y + 1.0) * 0.5 : y;
}

LossTerms FAnoGAN3d::loss(const Tensor& x) {
  IzifTerms t = izif_terms(*enc_, *gen_, *critic_, to_net(x), cfg_.kappa, false);
  return {t.total, {{"img", t.img}, {"feat", t.feat}}};
}

Tensor FAnoGAN3d::anomaly_score(const Tensor& x) {
  NoGradGuard ng;
  return izif_terms(*enc_, *gen_, *critic_, to_net(x), cfg_.kappa, true).total;
}

std::vector<ModelSpec> fanogan_family() {
  const Fanogan3dConfig c;
  const int64_t s = Fanogan3dConfig::kSize;
  ModelSpec spec{"fanogan3d", Shape{1, s, s, s},
                 "001 §2 (3-D f-AnoGAN, latent 2500, tanh encoder, WGAN-GP critic with layer norm); domain_spec §3-4 "
                 "(Kwon et al. 3-D brain GAN); trained by train/gan_trainer.h",
                 [c](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<FAnoGAN3d>(c, g); }};
  mark_adversarial(spec);
  return {spec};
}

}  // namespace uad::models
