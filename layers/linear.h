// Fully connected layer (PyTorch nn.Linear, Keras Dense).
#pragma once
#include "layers/init.h"
#include "layers/module.h"

namespace uad::nn {

struct LinearOptions {
  bool bias = true;
  Init init = Init::pytorch;
  DType dtype = DType::f32;
};

/// y = x·Wᵀ + b. x: [*, in] (any number of leading dims, at least one) → [*, out].
/// Parameters: weight [out, in], bias [out] (if options.bias); count out·in + out.
/// Throws uad::Error naming the layer when the trailing dim is not `in`.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, LinearOptions o = {}, Generator& g = default_generator());
  Tensor forward(const Tensor& x) override;
  /// Re-draws the parameters with options().init.
  void reset_parameters(Generator& g);
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }  // undefined without bias
  const LinearOptions& options() const { return opt_; }

 private:
  int64_t in_, out_;
  LinearOptions opt_;
  Tensor weight_, bias_;
};

}  // namespace uad::nn
