// Bayesian Skip-AE (models/skip_ae.h).
#include "models/skip_ae.h"

#include <cmath>

#include "tensor/ops.h"

namespace uad::models {

// ---- configuration -------------------------------------------------------------------------------

SkipAEConfig SkipAEConfig::reference() {
  SkipAEConfig c;
  c.width = 1.0;
  c.output = SkipOutput::str_tanh;
  return c;
}

std::vector<int64_t> SkipAEConfig::channels() const {
  std::vector<int64_t> c;
  for (int64_t base : {64, 128, 256, 512, 64}) c.push_back(std::max<int64_t>(1, std::llround(width * (double)base)));
  return c;
}

void SkipAEConfig::validate() const {
  check(image_size >= 16 && image_size % 16 == 0, "SkipAEConfig: image_size ", image_size,
        " must be a positive multiple of 16 (four stride-2 levels)");
  check(width > 0, "SkipAEConfig: width must be positive, got ", width);
  check(dropout >= 0 && dropout < 1, "SkipAEConfig: dropout must be in [0,1), got ", dropout);
  check(is_floating(dtype), "SkipAEConfig: dtype must be f32/f64, got ", dtype_name(dtype));
}

// ---- model -----------------------------------------------------------------------------------------

namespace {

/// [conv or transposed conv k×k → BatchNorm → ReLU] ([STR] down_conv / up_conv).
std::shared_ptr<nn::Sequential> block(const SkipAEConfig& cfg, bool transposed, int64_t in, int64_t out, int64_t k,
                                      int64_t stride, Generator& g) {
  const int64_t pad = k / 2, out_pad = transposed && stride == 2 ? 1 : 0;
  const nn::ConvOptions co = nn::conv_options(stride, pad, out_pad, cfg.init, cfg.dtype);
  auto b = std::make_shared<nn::Sequential>();
  if (transposed)
    b->push_back(std::make_shared<nn::ConvTranspose2d>(in, out, k, co, g));
  else
    b->push_back(std::make_shared<nn::Conv2d>(in, out, k, co, g));
  nn::BatchNormOptions bo = cfg.bn;
  bo.dtype = cfg.dtype;
  b->push_back(std::make_shared<nn::BatchNorm>(out, bo, g));
  b->push_back(std::make_shared<nn::ReLU>());
  return b;
}

}  // namespace

SkipAE::SkipAE(const SkipAEConfig& cfg, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  const auto c = cfg_.channels();
  const std::vector<int64_t> enc{1, c[0], c[1], c[2], c[3], c[4]};
  for (int i = 0; i < 5; ++i)
    down_.push_back(register_module("down" + std::to_string(i + 1), block(cfg_, false, enc[i], enc[i + 1], 5, i == 0 ? 1 : 2, g)));
  for (int i = 0; i < 4; ++i)  // c5→c4, c4→c3, c3→c2, c2→c1
    up_.push_back(register_module("up" + std::to_string(i + 1), block(cfg_, true, enc[5 - i], enc[4 - i], 5, 2, g)));
  for (int i = 2; i <= 4; ++i)
    drop_.push_back(register_module("drop" + std::to_string(i), std::make_shared<nn::Dropout>(cfg_.dropout)));
  if (cfg_.output == SkipOutput::sigmoid) {
    out_ = std::make_shared<nn::Sequential>();
    out_->push_back(std::make_shared<nn::Conv2d>(c[0], 1, 1, nn::conv_options(1, 0, 0, cfg_.init, cfg_.dtype), g));
    out_->push_back(std::make_shared<nn::Sigmoid>());
  } else {
    out_ = block(cfg_, true, c[0], 1, 1, 1, g);  // [STR] up_conv5: ConvT 1×1 + BN + ReLU, then tanh
    out_->push_back(std::make_shared<nn::Tanh>());
  }
  register_module("out", out_);
}

Tensor SkipAE::reconstruct(const Tensor& x) {
  const int64_t s = cfg_.image_size;
  check(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s && is_floating(x.dtype()),
        "SkipAE::reconstruct: expected x [N,1,", s, ",", s, "] f32/f64, got ",
        x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("undefined"));
  std::vector<Tensor> e;  // x1..x5
  Tensor h = x;
  for (auto& d : down_) e.push_back(h = (*d)(h));
  Tensor y = (*up_[0])(e[4]) + e[3];
  y = (*drop_[0])((*up_[1])(y) + e[2]);
  y = (*drop_[1])((*up_[2])(y) + e[1]);
  y = (*drop_[2])((*up_[3])(y) + e[0]);
  return (*out_)(y);
}

LossTerms SkipAE::loss(const Tensor& x) {
  Tensor l1 = l1_loss(reconstruct(x), x, Reduction::batch_mean);
  return {l1, {{"l1", l1}}};
}

std::vector<ModelSpec> skip_ae_family() {
  const SkipAEConfig c;
  return {{"skip_ae", Shape{1, c.image_size, c.image_size},
           "003 §3.4.3 (Bayesian Skip-AE, ISBI 2020) after [STR] ceVae/skipae.py at width 0.5, sigmoid output; "
           "domain_spec §6",
           [c](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<SkipAE>(c, g); }}};
}

}  // namespace uad::models
