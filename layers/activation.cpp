#include "layers/activation.h"

#include <sstream>

#include "tensor/ops.h"

namespace uad::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope_); }
Tensor ELU::forward(const Tensor& x) { return elu(x, alpha_); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Softplus::forward(const Tensor& x) { return softplus(x); }

std::string LeakyReLU::extra_repr() const {
  std::ostringstream o;
  o << "slope=" << slope_;
  return o.str();
}

std::string ELU::extra_repr() const {
  std::ostringstream o;
  o << "alpha=" << alpha_;
  return o.str();
}

}  // namespace uad::nn
