// uad::nn::Module — the base of every layer and model (PyTorch's nn.Module, reduced to what the
// models of issue 5 need).
//
// A module owns named parameters (leaf tensors that require grad), named buffers (state that is
// saved but not trained, e.g. batch norm's running statistics) and named child modules. Names
// compose with dots, PyTorch-style: a Sequential "enc" whose first child is a Conv2d gives
// "enc.0.weight", "enc.0.bias". The registry holds Tensor *handles*; a layer keeps the same
// handles as members, so:
//   - never reassign a registered tensor; change its values in place (copy_into, the
//     initialisers of layers/init.h, load_state_dict all write into the existing storage), so
//     optimisers constructed from parameters() keep seeing the live tensors;
//   - to(DType) converts in place too (the handles stay the same), but must be called before an
//     optimiser is built (its moment buffers keep their dtype).
// Modules are created with std::make_shared and are not copyable (a copy would alias every
// tensor). A model subclasses Module, registers its children in its constructor and overrides
// forward() (single input) or adds its own methods (several inputs/outputs).
//
// Example:
//   struct Net : nn::Module {
//     std::shared_ptr<nn::Conv2d> conv;
//     std::shared_ptr<nn::Linear> fc;
//     Net(Generator& g) {
//       conv = register_module("conv", std::make_shared<nn::Conv2d>(1, 8, 3, nn::ConvOptions{.padding = {1}}, g));
//       fc = register_module("fc", std::make_shared<nn::Linear>(8 * 16 * 16, 10, nn::LinearOptions{}, g));
//     }
//     Tensor forward(const Tensor& x) override { return (*fc)(flatten(relu((*conv)(x)), 1)); }
//   };
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace uad::nn {

/// Name → tensor (parameters and buffers) of a module tree, sorted by name.
using StateDict = std::map<std::string, Tensor>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The module's computation on one input. The base version throws uad::Error naming the type
  /// (a model with several inputs or outputs offers its own methods instead).
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  /// Type name for messages and repr(), e.g. "Conv2d".
  virtual std::string type_name() const { return "Module"; }
  /// One line of hyper-parameters for repr(), e.g. "1, 32, kernel=[5,5], stride=[2]".
  virtual std::string extra_repr() const { return ""; }
  /// The tree as indented text, one module per line with its parameter count.
  std::string repr() const;

  // ---- mode -------------------------------------------------------------------------------
  /// Sets training mode on this module and every descendant (batch norm statistics, dropout).
  void train(bool on = true);
  /// train(false).
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- traversal --------------------------------------------------------------------------
  /// Every parameter of the tree (own first, then children in registration order), each tensor
  /// once even when a child is registered under two names — what an optimiser takes.
  std::vector<Tensor> parameters() const;
  /// Parameters with their dotted names (duplicates kept, as PyTorch's state_dict).
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  /// Direct children in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  /// Calls f(dotted name, module) for this module ("" as its name) and every descendant, depth
  /// first, parents before children.
  void apply(const std::function<void(const std::string&, Module&)>& f);
  /// Total number of parameter elements (each shared tensor counted once).
  int64_t num_parameters() const;

  /// The registered parameter/buffer/child of this module (not descendants) called `name`.
  /// Throws uad::Error naming the module type and the name when there is none.
  Tensor param(const std::string& name) const;
  Tensor buffer(const std::string& name) const;
  std::shared_ptr<Module> child(const std::string& name) const;

  // ---- state ------------------------------------------------------------------------------
  /// Parameters and buffers by dotted name. The tensors are detached handles sharing storage with
  /// the module's (writing into them changes the module, as in PyTorch).
  StateDict state_dict() const;
  /// Copies the values of `dict` into the module's existing tensors (so optimisers keep their
  /// references), converting the dtype when it differs. Everything is validated before anything
  /// is written. Throws uad::Error listing every mis-shaped key (always an error), and with
  /// `strict` every missing key (in the module, not in dict) and unexpected key (in dict, not in
  /// the module); with !strict those are skipped. An undefined dict tensor counts as missing.
  void load_state_dict(const StateDict& dict, bool strict = true);
  /// Clears the .grad of every parameter.
  void zero_grad();
  /// Sets requires_grad on every parameter (false freezes the module: no gradients are taken
  /// for it, e.g. G and D while the f-AnoGAN encoder trains).
  void set_requires_grad(bool on);
  /// Converts every parameter and buffer to dtype t in place (the handles stay valid; grads are
  /// cleared). Floating dtypes only. Call before building optimisers.
  void to(DType t);
  /// Moves every parameter and buffer to device d in place (the handles stay valid, so
  /// optimisers built afterwards see device tensors; grads are cleared). Build optimisers after
  /// the move. Throws uad::Error when the binary has no CUDA backend (tensor/backend.h).
  void to(Device d);
  /// The device of the first parameter (or buffer); cpu for a module without tensors.
  Device device() const;

 protected:
  /// Registers `t` as parameter `name` (made a contiguous leaf that requires grad) and returns
  /// the registered handle — keep it as the member. Names: non-empty, no '.', unique within the
  /// module among parameters, buffers and children (throws uad::Error otherwise).
  Tensor register_parameter(const std::string& name, const Tensor& t);
  /// Registers a buffer (saved in the state dict, never trained). Same naming rules.
  Tensor register_buffer(const std::string& name, const Tensor& t);
  /// Registers a child module and returns it (with its own type). Same naming rules; throws for
  /// a null module.
  template <class M> std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, std::static_pointer_cast<Module>(m));
    return m;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> m);

 private:
  void check_new_name(const std::string& name, const char* what) const;
  void collect(const std::string& prefix, bool params, std::vector<std::pair<std::string, Tensor>>& out) const;

  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

/// The entries of d under `prefix` ("enc" selects "enc.0.weight" as "0.weight"), e.g. to load a
/// sub-network from a whole-model checkpoint: gen->load_state_dict(sub_state_dict(sd, "gen")).
StateDict sub_state_dict(const StateDict& d, const std::string& prefix);
/// d with "<prefix>." prepended to every name (the inverse of sub_state_dict).
StateDict prefixed_state_dict(const StateDict& d, const std::string& prefix);

/// Copies src's values into dst's storage (no autograd recording, dst keeps its dtype and
/// device; src is converted and, when on another device, transferred). dst must be contiguous
/// and have src's shape (throws uad::Error naming both).
void copy_into(const Tensor& dst, const Tensor& src);

/// Saves m.state_dict() to a safetensors file (io/safetensors.h; atomic: temp file + rename).
void save_state(const Module& m, const std::string& path, const std::map<std::string, std::string>& metadata = {});
/// Loads a safetensors file into m (load_state_dict with `strict`) and returns its metadata.
/// Throws uad::Error naming the file on a bad file, or the keys on a mismatch.
std::map<std::string, std::string> load_state(Module& m, const std::string& path, bool strict = true);

}  // namespace uad::nn
