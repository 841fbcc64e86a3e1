// Module registry, traversal, state dicts and checkpoints (see layers/module.h).
#include "layers/module.h"

#include <set>
#include <sstream>

#include "io/safetensors.h"
#include "kernels/cpu/elementwise.h"
#include "tensor/autograd.h"
#include "tensor/ops.h"

namespace uad::nn {

Tensor Module::forward(const Tensor& x) {
  fail(type_name(), ": no single-input forward (input ", x.defined() ? shape_str(x.shape()) : "undefined",
       "); this module offers its own methods");
}

void Module::check_new_name(const std::string& name, const char* what) const {
  check(!name.empty(), type_name(), ": cannot register a ", what, " with an empty name");
  check(name.find('.') == std::string::npos, type_name(), ": ", what, " name '", name, "' contains a '.'");
  auto taken = [&](const auto& v) {
    for (auto& [n, _] : v)
      if (n == name) return true;
    return false;
  };
  check(!taken(params_) && !taken(buffers_) && !taken(children_), type_name(), ": cannot register ", what, " '", name,
        "': the name is already taken");
}

Tensor Module::register_parameter(const std::string& name, const Tensor& t) {
  check_new_name(name, "parameter");
  check(t.defined(), type_name(), ": parameter '", name, "' is undefined");
  check(is_floating(t.dtype()), type_name(), ": parameter '", name, "' must be f32/f64, got ", dtype_name(t.dtype()));
  Tensor p;
  {
    NoGradGuard ng;
    p = t.detach().contiguous();  // shares t's storage when t is contiguous (as nn.Parameter(t))
  }
  p.requires_grad_(true);
  params_.emplace_back(name, p);
  return p;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& t) {
  check_new_name(name, "buffer");
  check(t.defined(), type_name(), ": buffer '", name, "' is undefined");
  Tensor b;
  {
    NoGradGuard ng;
    b = t.detach().contiguous();
  }
  buffers_.emplace_back(name, b);
  return b;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name, "child module");
  check(m != nullptr, type_name(), ": child module '", name, "' is null");
  check(m.get() != this, type_name(), ": a module cannot be its own child ('", name, "')");
  children_.emplace_back(name, std::move(m));
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, c] : children_) c->train(on);
}

void Module::collect(const std::string& prefix, bool params, std::vector<std::pair<std::string, Tensor>>& out) const {
  for (auto& [n, t] : params ? params_ : buffers_) out.emplace_back(prefix + n, t);
  for (auto& [n, c] : children_) c->collect(prefix + n + ".", params, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> v;
  collect("", true, v);
  return v;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> v;
  collect("", false, v);
  return v;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> v;
  std::set<const TensorImpl*> seen;
  for (auto& [_, t] : named_parameters())
    if (seen.insert(t.impl()).second) v.push_back(t);
  return v;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& t : parameters()) n += t.numel();
  return n;
}

void Module::apply(const std::function<void(const std::string&, Module&)>& f) {
  std::function<void(const std::string&, Module&)> walk = [&](const std::string& name, Module& m) {
    f(name, m);
    for (auto& [n, c] : m.children_) walk(name.empty() ? n : name + "." + n, *c);
  };
  walk("", *this);
}

Tensor Module::param(const std::string& name) const {
  for (auto& [n, t] : params_)
    if (n == name) return t;
  fail(type_name(), ": no parameter named '", name, "'");
}

Tensor Module::buffer(const std::string& name) const {
  for (auto& [n, t] : buffers_)
    if (n == name) return t;
  fail(type_name(), ": no buffer named '", name, "'");
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  for (auto& [n, c] : children_)
    if (n == name) return c;
  fail(type_name(), ": no child module named '", name, "'");
}

StateDict Module::state_dict() const {
  StateDict d;
  for (auto& [n, t] : named_parameters()) d[n] = t.detach();
  for (auto& [n, t] : named_buffers()) d[n] = t.detach();
  return d;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

}  // namespace

void Module::load_state_dict(const StateDict& dict, bool strict) {
  std::vector<std::pair<std::string, Tensor>> own = named_parameters();
  for (auto& e : named_buffers()) own.push_back(e);
  std::vector<std::string> missing, unexpected, mismatched;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source)
  std::set<std::string> own_names;
  for (auto& [n, t] : own) {
    own_names.insert(n);
    auto it = dict.find(n);
    if (it == dict.end() || !it->second.defined()) {
      missing.push_back(n);
      continue;
    }
    const Tensor& src = it->second;
    if (src.shape() != t.shape()) {
      mismatched.push_back(n + " (checkpoint " + shape_str(src.shape()) + ", module " + shape_str(t.shape()) + ")");
      continue;
    }
    if (is_floating(t.dtype()) != is_floating(src.dtype())) {
      mismatched.push_back(n + " (checkpoint dtype " + dtype_name(src.dtype()) + ", module " + dtype_name(t.dtype()) + ")");
      continue;
    }
    copies.emplace_back(t, src);
  }
  for (auto& [n, _] : dict)
    if (!own_names.count(n)) unexpected.push_back(n);
  std::ostringstream err;
  if (!mismatched.empty()) err << " mismatched: " << join(mismatched) << ";";
  if (strict && !missing.empty()) err << " missing keys: " << join(missing) << ";";
  if (strict && !unexpected.empty()) err << " unexpected keys: " << join(unexpected) << ";";
  check(err.str().empty(), "load_state_dict(", type_name(), "):", err.str());
  for (auto& [dst, src] : copies) copy_into(dst, src);
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

void Module::set_requires_grad(bool on) {
  for (Tensor& p : parameters()) p.requires_grad_(on);
}

void Module::to(DType t) {
  check(is_floating(t), type_name(), ".to: only f32/f64 are supported, got ", dtype_name(t));
  auto convert = [&](const Tensor& x) {
    if (x.dtype() == t || !is_floating(x.dtype())) return;
    Tensor c = empty(x.shape(), t, x.device());
    copy_values(c, x.detach());
    TensorImpl* impl = x.impl();  // same handle, new storage: members and the registry stay in sync
    impl->storage = c.impl()->storage;
    impl->strides = c.strides();
    impl->offset = 0;
    impl->dtype = t;
    impl->grad.reset();
  };
  apply([&](const std::string&, Module& m) {
    for (auto& [_, p] : m.params_) convert(p);
    for (auto& [_, b] : m.buffers_) convert(b);
  });
}

void Module::to(Device d) {
  auto move = [&](const Tensor& x) {
    if (x.device() == d) return;
    Tensor c = to_device(x.detach(), d);
    TensorImpl* impl = x.impl();  // same handle, new storage (as to(DType))
    impl->storage = c.impl()->storage;
    impl->strides = c.strides();
    impl->offset = c.offset();
    impl->grad.reset();
  };
  apply([&](const std::string&, Module& m) {
    for (auto& [_, p] : m.params_) move(p);
    for (auto& [_, b] : m.buffers_) move(b);
  });
}

Device Module::device() const {
  for (const Tensor& p : parameters()) return p.device();
  for (auto& [_, b] : named_buffers()) return b.device();
  return Device::cpu;
}

std::string Module::repr() const {
  std::ostringstream o;
  std::function<void(const std::string&, const Module&, int)> walk = [&](const std::string& name, const Module& m, int depth) {
    o << std::string(2 * depth, ' ') << (name.empty() ? "" : name + ": ") << m.type_name() << "(" << m.extra_repr() << ")";
    int64_t own = 0;
    for (auto& [_, t] : m.params_) own += t.numel();
    if (!m.children_.empty()) o << "  [" << m.num_parameters() << " parameters]";
    else if (own) o << "  [" << own << " parameters]";
    o << "\n";
    for (auto& [n, c] : m.children_) walk(n, *c, depth + 1);
  };
  walk("", *this, 0);
  return o.str();
}

StateDict sub_state_dict(const StateDict& d, const std::string& prefix) {
  StateDict out;
  const std::string p = prefix + ".";
  for (auto& [n, t] : d)
    if (n.size() > p.size() && n.compare(0, p.size(), p) == 0) out[n.substr(p.size())] = t;
  return out;
}

StateDict prefixed_state_dict(const StateDict& d, const std::string& prefix) {
  StateDict out;
  for (auto& [n, t] : d) out[prefix + "." + n] = t;
  return out;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  check(dst.defined() && src.defined(), "copy_into: undefined tensor");
  check(dst.shape() == src.shape(), "copy_into: destination ", dst.shape(), " and source ", src.shape(), " differ");
  check(dst.is_contiguous(), "copy_into: destination of shape ", dst.shape(), " is not contiguous");
  NoGradGuard ng;
  Tensor from = src.detach();
  if (from.device() != dst.device()) from = to_device(from, dst.device());
  copy_values(dst.detach(), from);
}

void save_state(const Module& m, const std::string& path, const std::map<std::string, std::string>& metadata) {
  io::save_safetensors(path, m.state_dict(), metadata);
}

std::map<std::string, std::string> load_state(Module& m, const std::string& path, bool strict) {
  io::SafetensorsFile f = io::load_safetensors(path);
  try {
    m.load_state_dict(f.tensors, strict);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  return f.metadata;
}

}  // namespace uad::nn
