// Convolution layers (PyTorch nn.Conv2d/Conv3d/ConvTranspose2d/ConvTranspose3d; cross-correlation,
// zero padding, no groups) over the ops of tensor/ops_conv.h.
#pragma once
#include "layers/init.h"
#include "layers/module.h"

namespace uad::nn {

/// Geometry and parameters of a convolution layer. Each Shape has one entry per spatial dim or a
/// single entry for all of them. output_padding only applies to transposed convolutions
/// (must be in [0, stride)). Keras "same" padding for an odd kernel k is padding (k−1)/2, plus
/// output_padding stride−1 for a transposed conv (output = input·stride), with PyTorch's
/// symmetric padding instead of TF's asymmetric one (bench/unified_ae.h). Designated
/// initialisers must follow the field order: {.stride, .padding, .output_padding, .dilation,
/// .bias, .init, .dtype}.
struct ConvOptions {
  Shape stride{1};
  Shape padding{0};
  Shape output_padding{0};
  Shape dilation{1};
  bool bias = true;
  Init init = Init::pytorch;
  DType dtype = DType::f32;
};

/// ConvOptions with one stride, padding and output padding for every spatial dim (the models'
/// common case), dilation 1.
inline ConvOptions conv_options(int64_t stride, int64_t padding, int64_t output_padding, Init init, DType dtype,
                                bool bias = true) {
  ConvOptions o;
  o.stride = {stride};
  o.padding = {padding};
  o.output_padding = {output_padding};
  o.bias = bias;
  o.init = init;
  o.dtype = dtype;
  return o;
}

/// A convolution or transposed convolution of spatial rank 2 or 3 (the four public classes below
/// fix rank and kind). Input x: [N, in, *S] with |S| = rank.
///   conv:       weight [out, in, *K];  output size ⌊(S + 2p − d(K−1) − 1)/s⌋ + 1
///   transposed: weight [in, out, *K];  output size (S−1)s − 2p + d(K−1) + output_padding + 1
/// bias [out] when options.bias. Parameter count in·out·∏K + out.
/// Throws uad::Error naming the layer for a wrong rank or channel count (and the op's errors for
/// an empty output).
class ConvNd : public Module {
 public:
  ConvNd(int rank, bool transposed, int64_t in_channels, int64_t out_channels, Shape kernel, ConvOptions o, Generator& g);
  Tensor forward(const Tensor& x) override;
  /// Re-draws the parameters with options().init.
  void reset_parameters(Generator& g);
  std::string type_name() const override;
  std::string extra_repr() const override;

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }  // undefined without bias
  const ConvOptions& options() const { return opt_; }
  const Shape& kernel() const { return kernel_; }
  int rank() const { return rank_; }
  bool transposed() const { return transposed_; }

 private:
  int rank_;
  bool transposed_;
  int64_t in_, out_;
  Shape kernel_;
  ConvOptions opt_;
  Tensor weight_, bias_;
};

/// nn.Conv2d: x [N,in,H,W] → [N,out,Ho,Wo]; kernel one entry (square) or {kH,kW}.
class Conv2d : public ConvNd {
 public:
  Conv2d(int64_t in, int64_t out, Shape kernel, ConvOptions o = {}, Generator& g = default_generator())
      : ConvNd(2, false, in, out, std::move(kernel), std::move(o), g) {}
  Conv2d(int64_t in, int64_t out, int64_t kernel, ConvOptions o = {}, Generator& g = default_generator())
      : ConvNd(2, false, in, out, {kernel}, std::move(o), g) {}
};

/// nn.Conv3d: x [N,in,D,H,W] → [N,out,Do,Ho,Wo].
class Conv3d : public ConvNd {
 public:
  Conv3d(int64_t in, int64_t out, Shape kernel, ConvOptions o = {}, Generator& g = default_generator())
      : ConvNd(3, false, in, out, std::move(kernel), std::move(o), g) {}
  Conv3d(int64_t in, int64_t out, int64_t kernel, ConvOptions o = {}, Generator& g = default_generator())
      : ConvNd(3, false, in, out, {kernel}, std::move(o), g) {}
};

/// nn.ConvTranspose2d: x [N,in,H,W] → [N,out,Ho,Wo]; weight [in,out,kH,kW].
class ConvTranspose2d : public ConvNd {
 public:
  ConvTranspose2d(int64_t in, int64_t out, Shape kernel, ConvOptions o = {}, Generator& g = default_generator())
      : ConvNd(2, true, in, out, std::move(kernel), std::move(o), g) {}
  ConvTranspose2d(int64_t in, int64_t out, int64_t kernel, ConvOptions o = {}, Generator& g = default_generator())
      : ConvNd(2, true, in, out, {kernel}, std::move(o), g) {}
};

/// nn.ConvTranspose3d: x [N,in,D,H,W] → [N,out,Do,Ho,Wo]; weight [in,out,kD,kH,kW].
class ConvTranspose3d : public ConvNd {
 public:
  ConvTranspose3d(int64_t in, int64_t out, Shape kernel, ConvOptions o = {}, Generator& g = default_generator())
      : ConvNd(3, true, in, out, std::move(kernel), std::move(o), g) {}
  ConvTranspose3d(int64_t in, int64_t out, int64_t kernel, ConvOptions o = {}, Generator& g = default_generator())
      : ConvNd(3, true, in, out, {kernel}, std::move(o), g) {}
};

}  // namespace uad::nn
