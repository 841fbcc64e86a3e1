// Elementwise ops with NumPy broadcasting. All floating ops are differentiable (first and higher
// order: every vjp is written with these same ops). Comparisons return u8 masks (0/1) and carry
// no gradient. Binary ops require equal dtypes: a dtype or device mix throws uad::Error naming
// the op and both shapes.
#pragma once
#include "tensor/tensor.h"

namespace uad {

// ---- arithmetic (broadcasting) ------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
/// a^b elementwise (b a tensor). d/da = b·a^(b−1), d/db = a^b·ln a.
Tensor pow(const Tensor& a, const Tensor& b);
/// x^p for a scalar exponent p. d/dx = p·x^(p−1).
Tensor pow(const Tensor& x, double p);
/// Elementwise max/min of two tensors; the gradient goes to the selected input (to a on ties).
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator/(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(double s, const Tensor& a);
Tensor operator-(const Tensor& a);

// ---- unary --------------------------------------------------------------------------------
Tensor neg(const Tensor& x);
/// |x|; gradient sign(x) (0 at 0, as PyTorch).
Tensor abs(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
/// sign(x) ∈ {−1,0,1}; no gradient.
Tensor sign(const Tensor& x);
/// Clips to [lo, hi]; gradient 1 inside (bounds included), 0 outside.
Tensor clamp(const Tensor& x, double lo, double hi);
/// cond ? a : b with broadcasting; cond is u8 (nonzero = true).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// ---- activations --------------------------------------------------------------------------
Tensor relu(const Tensor& x);
/// x for x > 0, slope·x otherwise (Keras' default slope is 0.3, domain_spec §1.2).
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
/// x for x > 0, α(eˣ−1) otherwise.
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
/// log(1+eˣ), computed stably.
Tensor softplus(const Tensor& x);

// ---- comparisons (u8 results, no gradient) ------------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);

// ---- dtype ----------------------------------------------------------------------------------
/// Converts to dtype t (differentiable between f32 and f64).
Tensor cast(const Tensor& x, DType t);

}  // namespace uad
