// Containers and shape layers: Sequential, Reshape, Flatten.
#pragma once
#include <initializer_list>
#include <vector>

#include "layers/module.h"

namespace uad::nn {

/// Applies its children in order (PyTorch nn.Sequential); children are named "0", "1", ...
/// (so a Conv2d at position 0 of a Sequential "enc" has parameters "enc.0.weight", "enc.0.bias").
/// An empty Sequential is the identity.
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> mods);
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& mods);
  /// Appends m as child "<size()>" and returns it (with its type). Throws for a null module.
  template <class M> std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    mods_.push_back(register_module(std::to_string(mods_.size()), m));
    return m;
  }
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }

  size_t size() const { return mods_.size(); }
  /// The i-th child; throws uad::Error when out of range.
  std::shared_ptr<Module> at(size_t i) const;
  std::shared_ptr<Module> operator[](size_t i) const { return at(i); }

 private:
  std::vector<std::shared_ptr<Module>> mods_;
};

/// A new Sequential of `mods` as a shared_ptr (std::make_shared cannot forward a braced list):
///   auto enc = register_module("enc", make_sequential({conv, bn, act}));
std::shared_ptr<Sequential> make_sequential(std::initializer_list<std::shared_ptr<Module>> mods);

/// Reshapes each sample: x [N, *] → [N, *shape] (Keras Reshape(target_shape); PyTorch
/// nn.Unflatten(1, shape) on a flat input). One entry may be −1 (inferred). Throws uad::Error
/// naming the layer when the per-sample sizes do not match.
class Reshape : public Module {
 public:
  explicit Reshape(Shape shape);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Reshape"; }
  std::string extra_repr() const override { return shape_str(shape_); }

 private:
  Shape shape_;
};

/// Merges dims start..end (PyTorch nn.Flatten, default start 1: [N, *] → [N, ∏*]).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_(start_dim), end_(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override;

 private:
  int64_t start_, end_;
};

}  // namespace uad::nn
