#include "layers/sequential.h"

#include <algorithm>

#include "tensor/ops.h"

namespace uad::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> mods) {
  for (const auto& m : mods) push_back(m);
}

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& mods) {
  for (const auto& m : mods) push_back(m);
}

std::shared_ptr<Sequential> make_sequential(std::initializer_list<std::shared_ptr<Module>> mods) {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>(mods));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& m : mods_) h = m->forward(h);
  return h;
}

std::shared_ptr<Module> Sequential::at(size_t i) const {
  check(i < mods_.size(), "Sequential: index ", i, " out of range for ", mods_.size(), " modules");
  return mods_[i];
}

Reshape::Reshape(Shape shape) : shape_(std::move(shape)) {
  int inferred = 0;
  for (int64_t d : shape_) {
    check(d > 0 || d == -1, "Reshape: sizes must be positive or -1, got ", shape_);
    inferred += d == -1;
  }
  check(inferred <= 1, "Reshape: at most one -1 in ", shape_);
}

Tensor Reshape::forward(const Tensor& x) {
  check(x.defined() && x.dim() >= 1, "Reshape(", shape_, "): expected a batched input, got ",
        x.defined() ? shape_str(x.shape()) : "undefined");
  int64_t per = x.numel() / std::max<int64_t>(x.size(0), 1), known = 1;
  for (int64_t d : shape_) known *= d == -1 ? 1 : d;
  const bool has_minus = std::find(shape_.begin(), shape_.end(), -1) != shape_.end();
  check(has_minus ? (known > 0 && per % known == 0) : per == known, "Reshape(", shape_, "): input ", x.shape(),
        " has ", per, " values per sample");
  Shape s{x.size(0)};
  s.insert(s.end(), shape_.begin(), shape_.end());
  if (has_minus) *std::find(s.begin() + 1, s.end(), -1) = per / known;
  return reshape(x, s);
}

Tensor Flatten::forward(const Tensor& x) { return flatten(x, start_, end_); }

std::string Flatten::extra_repr() const { return "start=" + std::to_string(start_) + ", end=" + std::to_string(end_); }

}  // namespace uad::nn
