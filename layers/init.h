// Parameter initialisers, as the reference code uses them (domain_spec.md; PyTorch
// torch.nn.init, Keras initializers). Each writes into an existing tensor in place (contiguous
// f32/f64) from a Philox Generator, so the same seed gives the same weights on every backend.
//
// Fans (PyTorch _calculate_fan_in_and_fan_out, equal to Keras' for the same layer): for a weight
// of shape [d0, d1, *K] the receptive field is r = ∏K (1 for a 2-D weight); fan_in = d1·r,
// fan_out = d0·r. For a transposed convolution's [Cin, Cout, *K] weight this gives
// fan_in = Cout·r, as PyTorch does (and as Keras does for its [*K, Cout, Cin] kernel).
#pragma once
#include <cstdint>
#include <utility>

#include "tensor/generator.h"
#include "tensor/tensor.h"

namespace uad::nn {

/// How a layer initialises its weight and bias.
enum class Init {
  /// PyTorch's default for Linear/Conv*/ConvTranspose* (reset_parameters): weight
  /// kaiming_uniform(a = √5) = U(±1/√fan_in), bias U(±1/√fan_in).
  pytorch,
  /// Keras' default for Dense/Conv2D/Conv2DTranspose: weight glorot (Xavier) uniform
  /// U(±√(6/(fan_in+fan_out))), bias zeros.
  xavier_uniform,
  /// DCGAN (Radford et al. 2016; the PyTorch DCGAN example's weights_init): weight N(0, 0.02),
  /// bias zeros; batch-norm γ ~ N(1, 0.02), β = 0.
  dcgan,
  /// He et al. 2015 normal, fan_in mode, ReLU gain: weight N(0, 2/fan_in), bias zeros.
  kaiming_normal,
};

const char* init_name(Init i);

namespace init {

/// (fan_in, fan_out) of a weight shape (see the file header). Throws uad::Error for fewer than
/// 2 dims (PyTorch's rule).
std::pair<int64_t, int64_t> fans(const Shape& weight_shape);

/// U[lo, hi) in place. t: contiguous f32/f64 (throws otherwise).
void uniform_(const Tensor& t, double lo, double hi, Generator& g);
/// N(mean, std²) in place.
void normal_(const Tensor& t, double mean, double std, Generator& g);
/// Every element = v.
void constant_(const Tensor& t, double v);
inline void zeros_(const Tensor& t) { constant_(t, 0.0); }
inline void ones_(const Tensor& t) { constant_(t, 1.0); }

/// Gain of torch.nn.init.calculate_gain for "leaky_relu" with negative slope a: √(2/(1+a²))
/// (a = 0 is ReLU's √2).
double leaky_relu_gain(double a);

/// He/Kaiming uniform (He et al. 2015; torch.nn.init.kaiming_uniform_, mode fan_in, leaky_relu):
/// U(±bound), bound = gain(a)·√(3/fan_in). With a = √5 the bound is 1/√fan_in (PyTorch's
/// default layer init).
void kaiming_uniform_(const Tensor& w, double a, Generator& g);
/// He/Kaiming normal (mode fan_in, leaky_relu): N(0, (gain(a)/√fan_in)²).
void kaiming_normal_(const Tensor& w, double a, Generator& g);
/// Glorot/Xavier uniform (Glorot & Bengio 2010; Keras glorot_uniform, torch xavier_uniform_):
/// U(±gain·√(6/(fan_in+fan_out))).
void xavier_uniform_(const Tensor& w, Generator& g, double gain = 1.0);
/// Glorot/Xavier normal (torch xavier_normal_): N(0, gain²·2/(fan_in+fan_out)). (Keras'
/// glorot_normal is truncated; this is the untruncated PyTorch version.)
void xavier_normal_(const Tensor& w, Generator& g, double gain = 1.0);

/// Initialises a layer's weight (w: [d0, d1, *K]) and bias (b: [out] or undefined) by scheme.
/// For Init::pytorch the bias bound uses the weight's fan_in.
void init_weight_bias(Init scheme, const Tensor& w, const Tensor& b, Generator& g);

}  // namespace init
}  // namespace uad::nn
