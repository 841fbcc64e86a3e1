// Activations as parameter-free modules (for Sequential), over the ops of
// tensor/ops_elementwise.h. x: any shape → same.
#pragma once
#include "layers/module.h"

namespace uad::nn {

/// max(x, 0).
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

/// x for x > 0, slope·x otherwise. PyTorch's default slope is 0.01; Keras' LeakyReLU() is 0.3
/// (domain_spec §1.2), tf.nn.leaky_relu's 0.2.
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double slope = 0.01) : slope_(slope) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;
  double slope() const { return slope_; }

 private:
  double slope_;
};

/// x for x > 0, α(eˣ − 1) otherwise (Clevert et al. 2016).
class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ELU"; }
  std::string extra_repr() const override;

 private:
  double alpha_;
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Tanh"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sigmoid"; }
};

/// log(1 + eˣ) (PyTorch nn.Softplus with β = 1).
class Softplus : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Softplus"; }
};

/// Returns its input (a placeholder, e.g. the linear output of a layer stack).
class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
};

}  // namespace uad::nn
