// Normalisation layers over the ops of tensor/ops_norm.h.
#pragma once
#include "layers/init.h"
#include "layers/module.h"

namespace uad::nn {

/// Batch-norm options. `momentum` is PyTorch's: the weight of the NEW batch statistic,
/// r ← (1−momentum)·r + momentum·stat. Keras' BatchNormalization(momentum=0.99, epsilon=1e-3)
/// is momentum 0.01, eps 1e-3 here: use BatchNormOptions::keras().
struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;               // learnable γ (weight) and β (bias), [C]
  bool track_running_stats = true;  // running_mean/running_var buffers; without them eval uses batch stats
  /// [SD]'s quirk (domain_spec §1.2): tf.layers.BatchNormalization called without `training=`
  /// always normalises with its running statistics (mean 0, var 1, never updated), i.e. a
  /// learned per-channel affine γ·x/√(1+eps)+β. true reproduces that in train mode too.
  bool frozen_stats = false;
  /// Init::dcgan draws γ ~ N(1, 0.02) (the DCGAN example); every other scheme γ = 1. β = 0.
  Init init = Init::pytorch;
  DType dtype = DType::f32;
  /// PyTorch defaults (eps 1e-5, momentum 0.1).
  static BatchNormOptions pytorch() { return {}; }
  /// Keras defaults (epsilon 1e-3, momentum 0.99 = 0.01 in PyTorch's convention).
  static BatchNormOptions keras() {
    BatchNormOptions o;
    o.eps = 1e-3;
    o.momentum = 0.01;
    return o;
  }
};

/// Batch normalisation over dim 1 (one class for PyTorch's BatchNorm1d/2d/3d). x: [N,C,*] → same.
/// Train mode: batch statistics over (N,*) (biased variance), running buffers updated with the
/// unbiased variance (PyTorch); eval mode: running statistics. Parameters weight, bias [C]
/// (affine); buffers running_mean [C] (0), running_var [C] (1). PyTorch's num_batches_tracked
/// buffer is not kept (it only matters for momentum=None). Throws uad::Error naming the layer for
/// a channel mismatch (and the op's error for one value per channel in train mode).
class BatchNorm : public Module {
 public:
  explicit BatchNorm(int64_t channels, BatchNormOptions o = {}, Generator& g = default_generator());
  Tensor forward(const Tensor& x) override;
  /// γ, β and the running statistics back to their initial values (γ per options().init).
  void reset_parameters(Generator& g);
  std::string type_name() const override { return "BatchNorm"; }
  std::string extra_repr() const override;

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }
  Tensor running_mean() const { return running_mean_; }
  Tensor running_var() const { return running_var_; }
  const BatchNormOptions& options() const { return opt_; }

 private:
  int64_t c_;
  BatchNormOptions opt_;
  Tensor weight_, bias_, running_mean_, running_var_;
};

/// Where a LayerNorm's affine parameters live.
enum class LayerNormAffine {
  none,
  /// PyTorch nn.LayerNorm(elementwise_affine=True) and Keras LayerNormalization: weight and bias
  /// of the normalized shape.
  elementwise,
  /// tflib's layernorm of f-AnoGAN (domain_spec §3): statistics over (C,*) but one scale and
  /// offset per channel, [normalized_shape[0]] broadcast over the remaining normalized dims.
  per_channel,
};

struct LayerNormOptions {
  double eps = 1e-5;
  LayerNormAffine affine = LayerNormAffine::elementwise;
  DType dtype = DType::f32;
};

/// Layer normalisation over the trailing dims `normalized_shape` (Ba et al. 2016; PyTorch
/// nn.LayerNorm). x: [*, *normalized_shape] → same. Parameters weight (1) and bias (0) shaped
/// per options.affine. E.g. LayerNorm({C,H,W}) for a critic's [N,C,H,W] features, LayerNorm({H,W})
/// for Keras LayerNormalization([1,2]) (per sample and channel). Throws uad::Error naming the
/// layer when the trailing dims differ.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, LayerNormOptions o = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }
  const Shape& normalized_shape() const { return shape_; }

 private:
  Shape shape_;
  LayerNormOptions opt_;
  Tensor weight_, bias_;
};

struct InstanceNormOptions {
  double eps = 1e-5;
  bool affine = false;  // PyTorch's default; weight (1), bias (0) [C] when true
  DType dtype = DType::f32;
};

/// Instance normalisation (Ulyanov et al. 2016; PyTorch nn.InstanceNorm1d/2d/3d without running
/// statistics): per sample and channel over the spatial dims, in train and eval mode alike.
/// x: [N,C,*] with more than one spatial element → same.
class InstanceNorm : public Module {
 public:
  explicit InstanceNorm(int64_t channels, InstanceNormOptions o = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InstanceNorm"; }
  std::string extra_repr() const override;

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }

 private:
  int64_t c_;
  InstanceNormOptions opt_;
  Tensor weight_, bias_;
};

}  // namespace uad::nn
