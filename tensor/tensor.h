// uad::Tensor — a cheap, reference-counted handle to strided storage plus autograd state.
//
// Layout conventions (DESIGN.md §7): NCHW / NCDHW, row-major; a tensor has 0 to 8 dims
// (models use up to 5: [N,C,D,H,W]). Views share storage and differ in shape/strides/offset.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/error.h"

namespace uad {

using Shape = std::vector<int64_t>;

/// Reference-counted raw buffer. CPU buffers are 64-byte aligned (AVX-512 loads).
struct Storage {
  void* ptr = nullptr;
  size_t nbytes = 0;
  Device device = Device::cpu;
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct Node;

/// The state behind a Tensor handle. Autograd fields: `grad_fn` is the node that produced a
/// non-leaf tensor; `requires_grad` marks leaves whose gradient is accumulated into `grad`.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;
  std::shared_ptr<TensorImpl> grad;
};

/// Number of elements of a shape (1 for a 0-d shape).
int64_t numel_of(const Shape& s);
/// Row-major contiguous strides of a shape.
Shape contiguous_strides(const Shape& s);

/// A tensor handle. Copying a Tensor copies the handle, not the data.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t dim() const { return (int64_t)impl_->shape.size(); }
  /// Size of dimension d; negative d counts from the end. Throws uad::Error when out of range.
  int64_t size(int64_t d) const;
  int64_t numel() const { return numel_of(impl_->shape); }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device; }
  int64_t offset() const { return impl_->offset; }
  bool is_contiguous() const;

  /// Typed pointer to the first element (storage + offset). Throws when T does not match dtype.
  template <class T> T* data() const {
    check(dtype_of<T>::value == impl_->dtype, "Tensor::data: requested ", dtype_name(dtype_of<T>::value),
          " but tensor is ", dtype_name(impl_->dtype));
    return static_cast<T*>(impl_->storage->ptr) + impl_->offset;
  }
  void* raw() const { return static_cast<char*>(impl_->storage->ptr) + impl_->offset * dtype_size(impl_->dtype); }

  /// The single value of a one-element tensor, converted to double.
  double item() const;
  /// All elements in row-major order, converted to double (for tests and printing; a cuda tensor
  /// is copied to the host first).
  std::vector<double> to_vector() const;

  // ---- autograd -------------------------------------------------------------------------
  bool requires_grad() const { return impl_->requires_grad || impl_->grad_fn != nullptr; }
  /// Marks a leaf as requiring grad. Throws on a non-leaf or a non-floating tensor.
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  /// The accumulated gradient of a leaf (undefined if none yet).
  Tensor grad() const { return impl_->grad ? Tensor(impl_->grad) : Tensor(); }
  void set_grad(const Tensor& g) { impl_->grad = g.impl_; }
  void zero_grad() { impl_->grad.reset(); }
  /// Reverse-mode differentiation of this tensor into every leaf that requires grad.
  /// A non-scalar tensor needs `grad_output` of its shape. Throws when the graph was freed by an
  /// earlier backward without retain_graph.
  void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  /// A tensor sharing this one's storage with no autograd history.
  Tensor detach() const;

  // ---- shape and view methods (see tensor/ops_view.h) -----------------------------------
  Tensor reshape(const Shape& s) const;
  Tensor view(const Shape& s) const { return reshape(s); }
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor expand(const Shape& s) const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  Tensor contiguous() const;
  Tensor to(DType t) const;
  /// This tensor on device `d` (a copy unless already there; differentiable: tensor/ops_view.h to_device).
  Tensor to(Device d) const;
  /// A contiguous deep copy (autograd-aware, like PyTorch's clone()).
  Tensor clone() const;

  std::string str() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// ---- factories ------------------------------------------------------------------------------
/// Uninitialised contiguous tensor of the given shape (on Device::cuda: from the backend's caching
/// allocator; throws uad::Error when the binary has no CUDA backend).
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
/// Filled tensors; on Device::cuda the fill runs on the device (throws uad::Error when the binary
/// has no CUDA backend, tensor/backend.h).
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu);
/// A 0-d tensor holding `value`.
Tensor scalar_tensor(double value, DType dtype = DType::f32);
/// 0, 1, ..., n-1 as a 1-D tensor.
Tensor arange(int64_t n, DType dtype = DType::f32);
/// A tensor with the given values (row-major); throws when values.size() != numel(shape).
Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::f32);
Tensor from_vector_f32(const std::vector<float>& values, const Shape& shape);
/// Tensors shaped like `t`, with its dtype, on its device.
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);

}  // namespace uad
