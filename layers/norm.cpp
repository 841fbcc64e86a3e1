#include "layers/norm.h"

#include <sstream>

#include "tensor/ops.h"

namespace uad::nn {

namespace {

std::string shape_or_undefined(const Tensor& x) { return x.defined() ? shape_str(x.shape()) : "undefined"; }

std::string num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

// ---- BatchNorm -----------------------------------------------------------------------------

BatchNorm::BatchNorm(int64_t channels, BatchNormOptions o, Generator& g) : c_(channels), opt_(o) {
  check(c_ > 0, "BatchNorm: channels must be positive, got ", c_);
  check(o.eps > 0 && o.momentum >= 0 && o.momentum <= 1, "BatchNorm: eps ", o.eps, " must be > 0 and momentum ", o.momentum,
        " in [0,1]");
  check(is_floating(o.dtype), "BatchNorm: dtype must be f32/f64");
  if (o.affine) {
    weight_ = register_parameter("weight", empty({c_}, o.dtype));
    bias_ = register_parameter("bias", empty({c_}, o.dtype));
  }
  if (o.track_running_stats) {
    running_mean_ = register_buffer("running_mean", empty({c_}, o.dtype));
    running_var_ = register_buffer("running_var", empty({c_}, o.dtype));
  }
  check(!o.frozen_stats || o.track_running_stats, "BatchNorm: frozen_stats needs track_running_stats");
  reset_parameters(g);
}

void BatchNorm::reset_parameters(Generator& g) {
  if (weight_.defined()) {
    if (opt_.init == Init::dcgan) init::normal_(weight_, 1.0, 0.02, g);
    else init::ones_(weight_);
    init::zeros_(bias_);
  }
  if (running_mean_.defined()) {
    init::zeros_(running_mean_);
    init::ones_(running_var_);
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  check(x.defined() && x.dim() >= 2 && x.size(1) == c_, "BatchNorm(", c_, "): expected input [N,", c_, ",*], got ",
        shape_or_undefined(x));
  // Batch statistics in train mode, and always when there are no running statistics (PyTorch).
  const bool batch_stats = (is_training() && !opt_.frozen_stats) || !opt_.track_running_stats;
  return batch_norm(x, weight_, bias_, running_mean_, running_var_, batch_stats, opt_.momentum, opt_.eps);
}

std::string BatchNorm::extra_repr() const {
  std::string s = std::to_string(c_) + ", eps=" + num(opt_.eps) + ", momentum=" + num(opt_.momentum);
  if (!opt_.affine) s += ", affine=false";
  if (!opt_.track_running_stats) s += ", track_running_stats=false";
  if (opt_.frozen_stats) s += ", frozen_stats=true";
  return s;
}

// ---- LayerNorm -----------------------------------------------------------------------------

LayerNorm::LayerNorm(Shape normalized_shape, LayerNormOptions o) : shape_(std::move(normalized_shape)), opt_(o) {
  check(!shape_.empty(), "LayerNorm: normalized_shape must have at least one dim");
  for (int64_t d : shape_) check(d > 0, "LayerNorm: normalized_shape ", shape_, " must be positive");
  check(o.eps > 0, "LayerNorm: eps must be > 0, got ", o.eps);
  check(is_floating(o.dtype), "LayerNorm: dtype must be f32/f64");
  if (o.affine != LayerNormAffine::none) {
    Shape ps = o.affine == LayerNormAffine::elementwise ? shape_ : Shape{shape_[0]};
    weight_ = register_parameter("weight", ones(ps, o.dtype));
    bias_ = register_parameter("bias", zeros(ps, o.dtype));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  const int64_t k = (int64_t)shape_.size();
  bool ok = x.defined() && x.dim() >= k;
  for (int64_t i = 0; ok && i < k; ++i) ok = x.shape()[x.dim() - k + i] == shape_[i];
  check(ok, "LayerNorm(", shape_, "): expected input [*,", shape_str(shape_).substr(1), ", got ", shape_or_undefined(x));
  if (opt_.affine != LayerNormAffine::per_channel) return layer_norm(x, k, weight_, bias_, opt_.eps);
  Shape pv(k, 1);  // [C,1,...,1] broadcast over the normalized dims after the channel
  pv[0] = shape_[0];
  Tensor y = layer_norm(x, k, Tensor(), Tensor(), opt_.eps);
  return add(mul(y, reshape(weight_, pv)), reshape(bias_, pv));
}

std::string LayerNorm::extra_repr() const {
  const char* a = opt_.affine == LayerNormAffine::none ? "none" : opt_.affine == LayerNormAffine::elementwise ? "elementwise" : "per_channel";
  return shape_str(shape_) + ", eps=" + num(opt_.eps) + ", affine=" + a;
}

// ---- InstanceNorm --------------------------------------------------------------------------

InstanceNorm::InstanceNorm(int64_t channels, InstanceNormOptions o) : c_(channels), opt_(o) {
  check(c_ > 0, "InstanceNorm: channels must be positive, got ", c_);
  check(o.eps > 0, "InstanceNorm: eps must be > 0, got ", o.eps);
  check(is_floating(o.dtype), "InstanceNorm: dtype must be f32/f64");
  if (o.affine) {
    weight_ = register_parameter("weight", ones({c_}, o.dtype));
    bias_ = register_parameter("bias", zeros({c_}, o.dtype));
  }
}

Tensor InstanceNorm::forward(const Tensor& x) {
  check(x.defined() && x.dim() >= 3 && x.size(1) == c_, "InstanceNorm(", c_, "): expected input [N,", c_,
        ",*spatial], got ", shape_or_undefined(x));
  return instance_norm(x, weight_, bias_, opt_.eps);
}

std::string InstanceNorm::extra_repr() const {
  return std::to_string(c_) + ", eps=" + num(opt_.eps) + (opt_.affine ? ", affine=true" : "");
}

}  // namespace uad::nn
