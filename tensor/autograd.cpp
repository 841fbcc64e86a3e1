// The backward engine: topological traversal of recorded Nodes, gradient accumulation, and
// recording of the backward pass itself when create_graph is set.
#include "tensor/autograd.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "tensor/ops.h"

namespace uad {

namespace {
thread_local bool g_grad_mode = true;
}

bool grad_mode_enabled() { return g_grad_mode; }
NoGradGuard::NoGradGuard() : prev_(g_grad_mode) { g_grad_mode = false; }
NoGradGuard::~NoGradGuard() { g_grad_mode = prev_; }
GradModeGuard::GradModeGuard(bool on) : prev_(g_grad_mode) { g_grad_mode = on; }
GradModeGuard::~GradModeGuard() { g_grad_mode = prev_; }

Tensor record(Tensor out, const char* name, const std::vector<Tensor>& inputs, VjpFn vjp) {
  if (!g_grad_mode) return out;
  bool any = false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) any = true;
  if (!any) return out;
  // An op that returned one of its inputs unchanged is the identity: its history is the input's.
  for (const Tensor& t : inputs)
    if (t.defined() && t.impl() == out.impl()) return out;
  check(!out.grad_fn(), "autograd: op '", name, "' tried to record onto a tensor that already has a history (op '",
        out.grad_fn() ? out.grad_fn()->name : "", "'); ops must return a new tensor");
  auto node = std::make_shared<Node>();
  node->name = name;
  node->edges.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined() || !t.requires_grad()) continue;
    if (t.grad_fn()) node->edges[i].fn = t.grad_fn();
    else node->edges[i].leaf = t.impl_ptr();
  }
  node->vjp = std::move(vjp);
  node->out_shape = out.shape();
  node->out_dtype = out.dtype();
  out.impl()->grad_fn = std::move(node);
  return out;
}

namespace {

Tensor accumulate(const Tensor& acc, const Tensor& g) { return acc.defined() ? add(acc, g) : g; }

/// Runs the reverse pass. Targets are non-leaf nodes (by Node*) and leaves (by TensorImpl*).
/// When `into_leaves` is set, every leaf requiring grad is a target and its .grad accumulates.
struct Engine {
  std::unordered_map<const Node*, int> target_node;        // node → index into results
  std::unordered_map<const TensorImpl*, int> target_leaf;  // leaf → index into results
  bool into_leaves = false;
  std::unordered_map<const Node*, bool> needed;
  std::vector<Node*> order;  // reverse topological (consumers first) after build()

  bool leaf_is_target(const TensorImpl* l) const { return into_leaves || target_leaf.count(l); }

  bool mark(Node* n) {  // memoised: does n lead to any target?
    auto it = needed.find(n);
    if (it != needed.end()) return it->second;
    needed[n] = false;
    bool need = target_node.count(n) > 0;
    for (Edge& e : n->edges) {
      if (e.fn) need = mark(e.fn.get()) || need;
      else if (e.leaf && leaf_is_target(e.leaf.get())) need = true;
    }
    needed[n] = need;
    return need;
  }

  void build(const std::vector<Node*>& roots) {
    // Iterative DFS post-order (deep graphs must not overflow the stack).
    std::unordered_set<const Node*> seen;
    std::vector<std::pair<Node*, size_t>> stack;
    for (Node* r : roots) {
      if (!r || seen.count(r)) continue;
      seen.insert(r);
      stack.push_back({r, 0});
      while (!stack.empty()) {
        auto& [n, i] = stack.back();
        if (i < n->edges.size()) {
          Node* c = n->edges[i++].fn.get();
          if (c && !seen.count(c)) {
            seen.insert(c);
            stack.push_back({c, 0});
          }
        } else {
          order.push_back(n);
          stack.pop_back();
        }
      }
    }
    std::reverse(order.begin(), order.end());
    for (auto it = order.rbegin(); it != order.rend(); ++it) mark(*it);  // leaves-first memo
  }
};

void check_grad_shape(const Tensor& g, const Shape& expect, DType dt, const std::string& where) {
  check(g.shape() == expect, "autograd: ", where, " produced a gradient of shape ", g.shape(), " for a tensor of shape ", expect);
  check(g.dtype() == dt, "autograd: ", where, " produced a ", dtype_name(g.dtype()), " gradient for a ", dtype_name(dt), " tensor");
}

std::vector<Tensor> seed_grads(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs) {
  check(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "grad: ", outputs.size(), " outputs but ",
        grad_outputs.size(), " grad_outputs");
  std::vector<Tensor> seeds(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& o = outputs[k];
    check(o.defined(), "grad: output ", k, " is undefined");
    check(o.requires_grad(), "grad: output ", k, " (shape ", o.shape(), ") does not require grad and has no grad_fn");
    if (!grad_outputs.empty() && grad_outputs[k].defined()) {
      check(grad_outputs[k].shape() == o.shape(), "grad: grad_output ", k, " has shape ", grad_outputs[k].shape(),
            " but the output has shape ", o.shape());
      seeds[k] = grad_outputs[k];
    } else {
      check(o.numel() == 1, "grad: output ", k, " of shape ", o.shape(),
            " is not a scalar; grad can be implicitly created only for scalar outputs — pass grad_outputs");
      seeds[k] = ones(o.shape(), o.dtype(), o.device());
    }
  }
  return seeds;
}

/// Shared by grad() and backward(): returns gradients per target index.
std::vector<Tensor> run(Engine& eng, const std::vector<Tensor>& outputs, const std::vector<Tensor>& seeds,
                        size_t n_results, bool create_graph, bool retain_graph) {
  GradModeGuard mode(create_graph);
  std::vector<Tensor> results(n_results);
  std::unordered_map<const Node*, Tensor> grads;
  std::vector<Node*> roots;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& o = outputs[k];
    if (o.grad_fn()) {
      Node* n = o.grad_fn().get();
      grads[n] = accumulate(grads[n], seeds[k]);
      roots.push_back(n);
    } else {  // the output is itself a leaf
      auto it = eng.target_leaf.find(o.impl());
      if (it != eng.target_leaf.end()) results[it->second] = accumulate(results[it->second], seeds[k]);
      else if (eng.into_leaves) o.impl()->grad = accumulate(o.grad(), seeds[k]).impl_ptr();
    }
  }
  eng.build(roots);
  for (Node* n : eng.order) {
    if (!eng.needed[n]) continue;
    auto git = grads.find(n);
    if (git == grads.end()) continue;
    Tensor g = git->second;
    grads.erase(git);
    auto tn = eng.target_node.find(n);
    if (tn != eng.target_node.end()) results[tn->second] = accumulate(results[tn->second], g);
    std::vector<bool> needs(n->edges.size(), false);
    bool any = false;
    for (size_t i = 0; i < n->edges.size(); ++i) {
      const Edge& e = n->edges[i];
      needs[i] = (e.fn && eng.needed[e.fn.get()]) || (e.leaf && eng.leaf_is_target(e.leaf.get()));
      any = any || needs[i];
    }
    if (!any) continue;
    check(!n->released, "autograd: backward through a freed graph — the saved tensors of op '", n->name,
          "' were released by an earlier backward; pass retain_graph=true to backward twice");
    check_grad_shape(g, n->out_shape, n->out_dtype, "the gradient flowing into '" + n->name + "'");
    std::vector<Tensor> gin = n->vjp(g, needs);
    check(gin.size() == n->edges.size(), "autograd: vjp of '", n->name, "' returned ", gin.size(), " gradients for ",
          n->edges.size(), " inputs");
    for (size_t i = 0; i < gin.size(); ++i) {
      if (!needs[i] || !gin[i].defined()) continue;
      const Edge& e = n->edges[i];
      if (e.fn) {
        check_grad_shape(gin[i], e.fn->out_shape, e.fn->out_dtype, "vjp of '" + n->name + "'");
        grads[e.fn.get()] = accumulate(grads[e.fn.get()], gin[i]);
      } else {
        check_grad_shape(gin[i], e.leaf->shape, e.leaf->dtype, "vjp of '" + n->name + "'");
        auto it = eng.target_leaf.find(e.leaf.get());
        if (it != eng.target_leaf.end()) {
          results[it->second] = accumulate(results[it->second], gin[i]);
        } else if (eng.into_leaves) {
          Tensor prev = e.leaf->grad ? Tensor(e.leaf->grad) : Tensor();
          Tensor gi = create_graph ? gin[i] : gin[i].detach();
          e.leaf->grad = accumulate(prev, gi).impl_ptr();
        }
      }
    }
    if (!retain_graph) {
      n->vjp = nullptr;
      n->released = true;
    }
  }
  return results;
}

}  // namespace

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph, int retain_graph,
                         bool allow_unused) {
  std::vector<Tensor> seeds = seed_grads(outputs, grad_outputs);
  Engine eng;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    check(x.defined() && x.requires_grad(), "grad: input ", i, (x.defined() ? " (shape " + shape_str(x.shape()) + ")" : ""),
          " does not require grad");
    if (x.grad_fn()) eng.target_node[x.grad_fn().get()] = (int)i;
    else eng.target_leaf[x.impl()] = (int)i;
  }
  bool retain = retain_graph < 0 ? create_graph : retain_graph != 0;
  std::vector<Tensor> res = run(eng, outputs, seeds, inputs.size(), create_graph, retain);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!res[i].defined()) {
      check(allow_unused, "grad: input ", i, " (shape ", inputs[i].shape(),
            ") was not used to compute the outputs; pass allow_unused=true");
    } else if (!create_graph) {
      res[i] = res[i].detach();
    }
  }
  return res;
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
              bool create_graph) {
  std::vector<Tensor> seeds = seed_grads(outputs, grad_outputs);
  Engine eng;
  eng.into_leaves = true;
  run(eng, outputs, seeds, 0, create_graph, retain_graph || create_graph);
}

}  // namespace uad
