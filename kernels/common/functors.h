// Scalar formulas shared by the CPU and CUDA backends — one definition of each.
// Each functor is a template over the scalar type (float or double).
#pragma once
#include <cmath>

#include "kernels/common/host_device.h"

namespace uad::fn {

struct Add { template <class T> UAD_HD T operator()(T a, T b) const { return a + b; } };
struct Sub { template <class T> UAD_HD T operator()(T a, T b) const { return a - b; } };
struct Mul { template <class T> UAD_HD T operator()(T a, T b) const { return a * b; } };
struct Div { template <class T> UAD_HD T operator()(T a, T b) const { return a / b; } };
struct Max { template <class T> UAD_HD T operator()(T a, T b) const { return a > b ? a : b; } };
struct Min { template <class T> UAD_HD T operator()(T a, T b) const { return a < b ? a : b; } };
struct Pow { template <class T> UAD_HD T operator()(T a, T b) const { return std::pow(a, b); } };

struct Neg { template <class T> UAD_HD T operator()(T a) const { return -a; } };
struct Abs { template <class T> UAD_HD T operator()(T a) const { return a < T(0) ? -a : a; } };
/// sign(a) ∈ {-1, 0, 1} (the derivative of |a|, with 0 at 0 as in PyTorch).
struct Sign { template <class T> UAD_HD T operator()(T a) const { return T((a > T(0)) - (a < T(0))); } };
struct Exp { template <class T> UAD_HD T operator()(T a) const { return std::exp(a); } };
struct Log { template <class T> UAD_HD T operator()(T a) const { return std::log(a); } };
struct Sqrt { template <class T> UAD_HD T operator()(T a) const { return std::sqrt(a); } };
struct Square { template <class T> UAD_HD T operator()(T a) const { return a * a; } };
struct Tanh { template <class T> UAD_HD T operator()(T a) const { return std::tanh(a); } };
/// σ(a) = 1/(1+e^{-a}), computed without overflow for large |a|.
struct Sigmoid {
  template <class T> UAD_HD T operator()(T a) const {
    if (a >= T(0)) return T(1) / (T(1) + std::exp(-a));
    T e = std::exp(a);
    return e / (T(1) + e);
  }
};
/// softplus(a) = log(1+e^a) = max(a,0) + log1p(e^{-|a|}) (stable form).
struct Softplus {
  template <class T> UAD_HD T operator()(T a) const {
    return (a > T(0) ? a : T(0)) + std::log1p(std::exp(-(a < T(0) ? -a : a)));
  }
};
struct Relu { template <class T> UAD_HD T operator()(T a) const { return a > T(0) ? a : T(0); } };
/// leaky_relu(a) = a for a > 0, slope·a otherwise (Keras LeakyReLU default slope 0.3; 0.2 in 001).
struct LeakyRelu {
  double slope;
  template <class T> UAD_HD T operator()(T a) const { return a > T(0) ? a : T(slope) * a; }
};
/// elu(a) = a for a > 0, α(e^a − 1) otherwise (Clevert et al. 2016).
struct Elu {
  double alpha;
  template <class T> UAD_HD T operator()(T a) const { return a > T(0) ? a : T(alpha) * (std::exp(a) - T(1)); }
};
struct Clamp {
  double lo, hi;
  template <class T> UAD_HD T operator()(T a) const { return a < T(lo) ? T(lo) : (a > T(hi) ? T(hi) : a); }
};
/// 1 where lo ≤ a ≤ hi (the derivative mask of clamp).
struct InRange {
  double lo, hi;
  template <class T> UAD_HD T operator()(T a) const { return (a >= T(lo) && a <= T(hi)) ? T(1) : T(0); }
};
/// Step function: 1 where a > 0 (the derivative mask of relu).
struct Positive { template <class T> UAD_HD T operator()(T a) const { return a > T(0) ? T(1) : T(0); } };

}  // namespace uad::fn
