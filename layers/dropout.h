// Dropout as a module, with a Monte-Carlo switch (Gal & Ghahramani 2016: dropout kept on at
// inference, averaged over several passes; domain_spec §1.3 "Bayesian AE/VAE").
#pragma once
#include "layers/module.h"
#include "tensor/generator.h"

namespace uad::nn {

/// Inverted dropout (tensor/ops_norm.h dropout): each element zeroed with probability p, the rest
/// scaled by 1/(1−p). Active in train mode, or in any mode when set_mc(true); the identity (the
/// input itself) otherwise. Masks come from the Philox stream of generator() (the process default
/// unless set_generator was called), so a seeded generator reproduces them. x: any shape → same.
/// Throws uad::Error for p outside [0,1].
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* g = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;

  /// Monte-Carlo dropout: keep dropping in eval mode too.
  void set_mc(bool on) { mc_ = on; }
  bool mc() const { return mc_; }
  /// Whether forward() drops now ((training or mc) and p > 0).
  bool active() const { return (is_training() || mc_) && p_ > 0; }
  double p() const { return p_; }
  /// The generator of the masks (not owned; nullptr = default_generator()).
  void set_generator(Generator* g) { gen_ = g; }
  Generator& generator() const { return gen_ ? *gen_ : default_generator(); }

 private:
  double p_;
  bool mc_ = false;
  Generator* gen_;
};

/// set_mc(on) on every Dropout of the tree; returns how many were found.
int set_mc_dropout(Module& root, bool on);
/// set_generator(g) on every Dropout of the tree (g not owned; must outlive the modules' use).
int set_dropout_generator(Module& root, Generator* g);

}  // namespace uad::nn
