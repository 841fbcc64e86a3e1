// Reverse-mode autograd with gradients of gradients (DESIGN.md §3).
//
// Every op records a Node whose vector-Jacobian product (vjp) is written with the same
// differentiable public ops as the forward. With create_graph the backward pass itself is
// recorded, so grad(grad(f)) — the WGAN gradient penalty (Eq. 2, 001_ee3d74e7538cde67.txt) —
// composes with no extra work.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace uad {

/// A vjp: given the gradient g of the op's output and which inputs need a gradient, returns one
/// tensor per input (undefined where not needed). Written with differentiable ops only.
using VjpFn = std::function<std::vector<Tensor>(const Tensor& g, const std::vector<bool>& needs)>;

/// Where an op input's gradient flows: to the node that produced it, or to a leaf.
struct Edge {
  std::shared_ptr<Node> fn;            // producer of a non-leaf input
  std::shared_ptr<TensorImpl> leaf;    // a leaf input that requires grad
  bool active() const { return fn || leaf; }
};

/// One recorded op application.
struct Node {
  std::string name;              // the op's name, e.g. "conv", "mul"
  std::vector<Edge> edges;       // one per op input
  VjpFn vjp;                     // released after a backward without retain_graph
  Shape out_shape;               // shape of the op's output (checks incoming gradients)
  DType out_dtype = DType::f32;
  bool released = false;
};

/// Is recording enabled on this thread? (true unless inside a NoGradGuard)
bool grad_mode_enabled();

/// RAII: disables recording on this thread for its lifetime (like torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
 private:
  bool prev_;
};

/// RAII: sets recording on or off for its lifetime.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;
 private:
  bool prev_;
};

/// Attaches a Node to `out` when recording is on and any input requires grad; returns `out`.
/// Ops call this once after computing their forward result.
Tensor record(Tensor out, const char* name, const std::vector<Tensor>& inputs, VjpFn vjp);

/// Gradients of `outputs` with respect to `inputs` (torch.autograd.grad).
///  - grad_outputs: one per output; may be empty only if every output is a scalar (seeded with 1).
///  - create_graph: record the backward pass so the result can be differentiated again.
///  - retain_graph: keep saved tensors for another pass (defaults to create_graph).
///  - allow_unused: return an undefined Tensor for an input not reached; otherwise throw.
/// Throws uad::Error for a non-scalar output without grad_output, a shape mismatch, an input that
/// does not require grad, or a graph freed by an earlier pass.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false,
                         int retain_graph = -1, bool allow_unused = false);

/// Accumulates d(sum of outputs·grad_outputs) into the `.grad` of every leaf requiring grad.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

}  // namespace uad
