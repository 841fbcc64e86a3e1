// Optimisers that update leaf parameters in place from their accumulated .grad.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace uad::train {

/// Adam hyper-parameters (Kingma & Ba 2015, Algorithm 1). The unified study uses β1 = 0.5
/// (domain_spec §1.1); WGAN-GP uses β = (0, 0.9) (001, Gulrajani et al.).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // L2 added to the gradient (PyTorch Adam, not AdamW)
};

/// Adam: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; p ← p − lr·m̂/(√v̂ + ε) with bias-corrected
/// m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ). One fused, multithreaded pass per CPU parameter; the parameters
/// on Device::cuda (moment buffers made on the parameter's device) are updated together by one
/// fused multi-tensor launch per dtype (kernels/cuda/adam.cu, the same formula
/// kernels/common/optim_functors.h, so the same numbers as the CPU step). Parameters whose .grad is
/// undefined are skipped. Parameters must be contiguous f32/f64 leaves (throws otherwise), each
/// .grad of the parameter's dtype and device (throws uad::Error naming the parameter otherwise).
class Adam {
 public:
  Adam(std::vector<Tensor> params, AdamOptions opt);
  void step();
  /// Clears every parameter's .grad.
  void zero_grad();
  int64_t steps() const { return t_; }
  const AdamOptions& options() const { return opt_; }
  void set_lr(double lr) { opt_.lr = lr; }
  /// First/second moment buffers (for checkpoints): one per parameter, same shapes.
  std::vector<Tensor>& exp_avg() { return m_; }
  std::vector<Tensor>& exp_avg_sq() { return v_; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  std::vector<Tensor> params_, m_, v_;
  AdamOptions opt_;
  int64_t t_ = 0;
};

}  // namespace uad::train
