// Scalar loss formulas shared by the CPU and CUDA backends (one definition each).
#pragma once
#include <cmath>

#include "kernels/common/host_device.h"

namespace uad::fn {

/// Binary cross-entropy on a logit z with target t, in the stable form
/// max(z,0) − z·t + log(1 + e^{−|z|}) (PyTorch's binary_cross_entropy_with_logits): no
/// overflow for large |z| and no cancellation when the loss is tiny.
struct BceWithLogits {
  template <class T> UAD_HD T operator()(T z, T t) const {
    const T az = z < T(0) ? -z : z;
    return (z > T(0) ? z : T(0)) - z * t + std::log1p(std::exp(-az));
  }
};

}  // namespace uad::fn
