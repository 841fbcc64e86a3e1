#include "layers/linear.h"

#include "tensor/ops.h"

namespace uad::nn {

Linear::Linear(int64_t in_features, int64_t out_features, LinearOptions o, Generator& g)
    : in_(in_features), out_(out_features), opt_(o) {
  check(in_ > 0 && out_ > 0, "Linear: features must be positive, got in ", in_, " out ", out_);
  check(is_floating(o.dtype), "Linear: dtype must be f32/f64");
  weight_ = register_parameter("weight", empty({out_, in_}, o.dtype));
  if (o.bias) bias_ = register_parameter("bias", empty({out_}, o.dtype));
  reset_parameters(g);
}

void Linear::reset_parameters(Generator& g) { init::init_weight_bias(opt_.init, weight_, bias_, g); }

Tensor Linear::forward(const Tensor& x) {
  check(x.defined() && x.dim() >= 1 && x.size(-1) == in_, "Linear(", in_, ", ", out_, "): expected input [*, ", in_,
        "], got ", x.defined() ? shape_str(x.shape()) : "undefined");
  if (x.dim() == 2) return linear(x, weight_, bias_);
  Shape out_shape = x.shape();
  out_shape.back() = out_;
  return reshape(linear(reshape(x, {-1, in_}), weight_, bias_), out_shape);
}

std::string Linear::extra_repr() const {
  return std::to_string(in_) + ", " + std::to_string(out_) + (opt_.bias ? "" : ", bias=false") + ", init=" +
         init_name(opt_.init);
}

}  // namespace uad::nn
