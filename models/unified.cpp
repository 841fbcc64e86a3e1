// The shared pieces of the unified family (models/unified.h): configuration, encoder, decoder,
// dense bottleneck, and the model base class.
#include "models/unified.h"

#include <algorithm>

#include "tensor/ops.h"

namespace uad::models {

namespace {

bool is_pow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

/// The block normalisation of the configuration for a [N,c,s,s] activation.
std::shared_ptr<nn::Module> make_norm(const UnifiedConfig& cfg, int64_t channels, int64_t spatial, Generator& g) {
  if (cfg.norm == UnifiedNorm::layer) {
    nn::LayerNormOptions o;
    o.eps = cfg.bn.eps;  // Keras LayerNormalization's epsilon is 1e-3 as well
    o.dtype = cfg.dtype;
    return std::make_shared<nn::LayerNorm>(Shape{spatial, spatial}, o);
  }
  nn::BatchNormOptions o = cfg.bn;
  o.dtype = cfg.dtype;
  return std::make_shared<nn::BatchNorm>(channels, o, g);
}

nn::ConvOptions conv_options(const UnifiedConfig& cfg, int64_t stride, int64_t padding, int64_t output_padding) {
  return nn::conv_options(stride, padding, output_padding, cfg.init, cfg.dtype);
}

}  // namespace

// ---- UnifiedConfig ---------------------------------------------------------------------------

int UnifiedConfig::levels() const {
  int n = 0;
  for (int64_t s = image_size; s > bottleneck; s /= 2) ++n;
  return n;
}

std::vector<int64_t> UnifiedConfig::encoder_channels() const {
  std::vector<int64_t> c{1};
  for (int i = 0; i < levels(); ++i) c.push_back(std::min<int64_t>(128, (int64_t)32 << i));
  return c;
}

std::vector<int64_t> UnifiedConfig::decoder_channels() const {
  std::vector<int64_t> c{encoder_channels().back()};
  for (int i = 0; i < levels(); ++i) c.push_back(std::max<int64_t>(32, (int64_t)128 >> i));
  return c;
}

int64_t UnifiedConfig::mid_channels() const { return encoder_channels().back() / 8; }

int64_t UnifiedConfig::flat_features() const { return mid_channels() * bottleneck * bottleneck; }

void UnifiedConfig::validate() const {
  check(is_pow2(image_size) && is_pow2(bottleneck) && bottleneck < image_size, "UnifiedConfig: image_size ", image_size,
        " and bottleneck ", bottleneck, " must be powers of two with bottleneck < image_size");
  check(zdim > 0, "UnifiedConfig: zdim must be positive, got ", zdim);
  check(dropout >= 0 && dropout < 1, "UnifiedConfig: dropout must be in [0,1), got ", dropout);
  check(is_floating(dtype), "UnifiedConfig: dtype must be f32/f64, got ", dtype_name(dtype));
}

// ---- encoder / decoder -----------------------------------------------------------------------

UnifiedEncoder::UnifiedEncoder(const UnifiedConfig& cfg, Generator& g) {
  cfg.validate();
  const auto ch = cfg.encoder_channels();
  int64_t s = cfg.image_size;
  for (int i = 0; i < cfg.levels(); ++i) {
    s /= 2;
    auto block = std::make_shared<nn::Sequential>();
    block->push_back(std::make_shared<nn::Conv2d>(ch[i], ch[i + 1], 5, conv_options(cfg, 2, 2, 0), g));
    block->push_back(make_norm(cfg, ch[i + 1], s, g));
    block->push_back(std::make_shared<nn::LeakyReLU>(cfg.slope));
    push_back(block);
  }
}

UnifiedDecoder::UnifiedDecoder(const UnifiedConfig& cfg, Generator& g) {
  cfg.validate();
  const auto ch = cfg.decoder_channels();
  int64_t s = cfg.bottleneck;
  push_back(make_norm(cfg, ch[0], s, g));  // D0: the norm applied first, then ReLU
  push_back(std::make_shared<nn::ReLU>());
  for (int i = 0; i < cfg.levels(); ++i) {
    s *= 2;
    auto block = std::make_shared<nn::Sequential>();
    block->push_back(std::make_shared<nn::ConvTranspose2d>(ch[i], ch[i + 1], 5, conv_options(cfg, 2, 2, 1), g));
    block->push_back(make_norm(cfg, ch[i + 1], s, g));
    block->push_back(std::make_shared<nn::LeakyReLU>(cfg.slope));
    push_back(block);
  }
  push_back(std::make_shared<nn::Conv2d>(ch.back(), 1, 1, conv_options(cfg, 1, 0, 0), g));
}

// ---- dense bottleneck ------------------------------------------------------------------------

DenseBottleneck::DenseBottleneck(const UnifiedConfig& cfg, bool variational, Generator& g) : cfg_(cfg) {
  cfg.validate();
  const int64_t c = cfg.encoder_channels().back(), mid = cfg.mid_channels(), flat = cfg.flat_features();
  nn::ConvOptions co;
  co.init = cfg.init;
  co.dtype = cfg.dtype;
  nn::LinearOptions lo;
  lo.init = cfg.init;
  lo.dtype = cfg.dtype;
  conv_in_ = register_module("conv_in", std::make_shared<nn::Conv2d>(c, mid, 1, co, g));
  fc_z_ = register_module("fc_z", std::make_shared<nn::Linear>(flat, cfg.zdim, lo, g));
  if (variational) fc_log_sigma_ = register_module("fc_log_sigma", std::make_shared<nn::Linear>(flat, cfg.zdim, lo, g));
  fc_dec_ = register_module("fc_dec", std::make_shared<nn::Linear>(cfg.zdim, flat, lo, g));
  conv_out_ = register_module("conv_out", std::make_shared<nn::Conv2d>(mid, c, 1, co, g));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(cfg.dropout));
}

Tensor DenseBottleneck::features(const Tensor& h) { return flatten((*conv_in_)(h), 1); }

Tensor DenseBottleneck::head_z(const Tensor& f) { return (*dropout_)((*fc_z_)(f)); }

Tensor DenseBottleneck::head_log_sigma(const Tensor& f) {
  check(fc_log_sigma_ != nullptr, "DenseBottleneck::head_log_sigma: this bottleneck is not variational");
  return (*dropout_)((*fc_log_sigma_)(f));
}

Tensor DenseBottleneck::decode(const Tensor& z) {
  check(z.defined() && z.dim() == 2 && z.size(1) == cfg_.zdim, "DenseBottleneck::decode: expected z [N,", cfg_.zdim,
        "], got ", z.defined() ? shape_str(z.shape()) : "undefined");
  Tensor h = (*dropout_)((*fc_dec_)(z));
  h = reshape(h, {z.size(0), cfg_.mid_channels(), cfg_.bottleneck, cfg_.bottleneck});
  return (*conv_out_)(h);
}

// ---- model base ------------------------------------------------------------------------------

void UnifiedModel::check_input(const Tensor& x, const char* op) const {
  const int64_t s = cfg_.image_size;
  check(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s && is_floating(x.dtype()),
        type_name(), "::", op, ": expected x [N,1,", s, ",", s, "] f32/f64, got ",
        x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("undefined"));
}

}  // namespace uad::models
