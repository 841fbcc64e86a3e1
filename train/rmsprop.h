// RMSProp (Hinton, Coursera lecture 6e, 2012), with PyTorch's torch.optim.RMSprop semantics: the
// f-AnoGAN encoder is trained with RMSProp lr 5e-5 (domain_spec §3, [FA] z_encoding_izif.py).
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace uad::train {

/// RMSProp hyper-parameters (PyTorch defaults).
struct RMSPropOptions {
  double lr = 1e-2;
  double alpha = 0.99;         // smoothing of the squared-gradient average
  double eps = 1e-8;           // added OUTSIDE the square root (PyTorch; TF adds it inside)
  double weight_decay = 0.0;   // L2 added to the gradient
  double momentum = 0.0;
  bool centered = false;       // divide by the estimated variance instead of the raw second moment
};

/// One step per parameter p with gradient g (torch.optim.RMSprop, PyTorch 1.13):
///   g ← g + weight_decay·p
///   v ← α·v + (1−α)·g²
///   centered: m ← α·m + (1−α)·g;  d = √(v − m²) + eps        else d = √v + eps
///   momentum > 0: b ← momentum·b + g/d;  p ← p − lr·b           else p ← p − lr·g/d
/// State starts at zero (buffers on the parameter's device). One fused, multithreaded pass per CPU
/// parameter; a parameter on Device::cuda is updated by the same expressions as elementwise
/// tensor ops on the device (tensor/ops_elementwise.h). Parameters whose .grad is undefined are
/// skipped. Parameters must be contiguous f32/f64 leaves (throws uad::Error
/// otherwise, and for lr, eps, alpha, momentum or weight_decay out of range).
class RMSProp {
 public:
  RMSProp(std::vector<Tensor> params, RMSPropOptions opt);
  void step();
  /// Clears every parameter's .grad.
  void zero_grad();
  int64_t steps() const { return t_; }
  const RMSPropOptions& options() const { return opt_; }
  void set_lr(double lr) { opt_.lr = lr; }
  /// State buffers (for checkpoints): one per parameter, same shapes. momentum_buffer() is empty
  /// without momentum, grad_avg() empty unless centered.
  std::vector<Tensor>& square_avg() { return v_; }
  std::vector<Tensor>& momentum_buffer() { return b_; }
  std::vector<Tensor>& grad_avg() { return m_; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  std::vector<Tensor> params_, v_, m_, b_;
  RMSPropOptions opt_;
  int64_t t_ = 0;
};

}  // namespace uad::train
