// Optimiser update formulas shared by the CPU (train/optim.cpp) and CUDA (kernels/cuda/adam.cu)
// backends — one definition each.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/host_device.h"

namespace uad::fn {

/// The per-step scalars of Adam in the parameter dtype T: β1, β2, the L2 weight decay, the
/// bias-corrected step lr/(1 − β1ᵗ), 1/sqrt(1 − β2ᵗ) and ε (bias corrections in double, as
/// PyTorch's _single_tensor_adam computes them on the host).
template <class T> struct AdamScalars {
  T b1, b2, wd, step, rbc2, eps;
};
template <class T> inline AdamScalars<T> adam_scalars(double lr, double beta1, double beta2, double eps, double weight_decay, int64_t t) {
  const double bc1 = 1.0 - std::pow(beta1, (double)t), bc2 = 1.0 - std::pow(beta2, (double)t);
  return {(T)beta1, (T)beta2, (T)weight_decay, (T)(lr / bc1), (T)(1.0 / std::sqrt(bc2)), (T)eps};
}

/// One Adam update of one element (Kingma & Ba 2015, Algorithm 1, with PyTorch Adam's L2 term):
/// g ← g + wd·w; m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
/// w ← w − (lr/(1−β1ᵗ))·m / (sqrt(v)/sqrt(1−β2ᵗ) + ε), all in T.
template <class T> UAD_HD inline void adam_update(T& w, T g, T& m, T& v, const AdamScalars<T>& s) {
  const T gj = g + s.wd * w;
  m = s.b1 * m + (T(1) - s.b1) * gj;
  v = s.b2 * v + (T(1) - s.b2) * gj * gj;
  w -= s.step * m / (std::sqrt(v) * s.rbc2 + s.eps);
}

}  // namespace uad::fn
