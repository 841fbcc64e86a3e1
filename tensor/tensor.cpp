// Tensor handle, storage and factories.
#include "tensor/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "kernels/cpu/elementwise.h"
#include "tensor/allocator.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace uad {

Storage::Storage(size_t n, Device dev) : nbytes(n), device(dev) {
  if (dev == Device::cpu) ptr = cpu_alloc(n);
  else ptr = cuda_backend("empty").alloc(n);
}

Storage::~Storage() {
  if (device == Device::cpu) cpu_free(ptr, nbytes);
  else if (ptr) cuda_backend_or_null()->free(ptr);
}

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int64_t d = (int64_t)s.size() - 1; d >= 0; --d) {
    st[d] = acc;
    acc *= s[d];
  }
  return st;
}

int64_t Tensor::size(int64_t d) const {
  int64_t nd = dim();
  if (d < 0) d += nd;
  check(d >= 0 && d < nd, "Tensor::size: dim ", d, " out of range for shape ", shape());
  return impl_->shape[d];
}

bool Tensor::is_contiguous() const {
  int64_t acc = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (impl_->shape[d] != 1 && impl_->strides[d] != acc) return false;
    acc *= impl_->shape[d];
  }
  return true;
}

double Tensor::item() const {
  check(numel() == 1, "Tensor::item: tensor has ", numel(), " elements (shape ", shape(), "), expected 1");
  return to_vector()[0];
}

std::vector<double> Tensor::to_vector() const {
  Tensor c = device() == Device::cpu ? contiguous() : uad::to_device(detach(), Device::cpu);
  std::vector<double> v(c.numel());
  UAD_DISPATCH_ALL(c.dtype(), "to_vector", [&] {
    const scalar_t* p = c.data<scalar_t>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = (double)p[i];
  });
  return v;
}

Tensor& Tensor::requires_grad_(bool on) {
  check(is_leaf(), "requires_grad_: only leaves can be marked (this tensor was produced by ", impl_->grad_fn ? impl_->grad_fn->name : "?", ")");
  check(!on || is_floating(dtype()), "requires_grad_: only floating tensors can require grad, got ", dtype_name(dtype()));
  impl_->requires_grad = on;
  return *this;
}

void Tensor::backward(const Tensor& grad_output, bool retain_graph, bool create_graph) const {
  uad::backward({*this}, grad_output.defined() ? std::vector<Tensor>{grad_output} : std::vector<Tensor>{}, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  auto t = std::make_shared<TensorImpl>();
  t->storage = impl_->storage;
  t->shape = impl_->shape;
  t->strides = impl_->strides;
  t->offset = impl_->offset;
  t->dtype = impl_->dtype;
  return Tensor(t);
}

Tensor Tensor::reshape(const Shape& s) const { return uad::reshape(*this, s); }
Tensor Tensor::permute(const Shape& d) const { return uad::permute(*this, d); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return uad::transpose(*this, a, b); }
Tensor Tensor::slice(int64_t dim, int64_t s, int64_t e, int64_t step) const { return uad::slice(*this, dim, s, e, step); }
Tensor Tensor::expand(const Shape& s) const { return uad::expand(*this, s); }
Tensor Tensor::squeeze(int64_t d) const { return uad::squeeze(*this, d); }
Tensor Tensor::unsqueeze(int64_t d) const { return uad::unsqueeze(*this, d); }
Tensor Tensor::flatten(int64_t s, int64_t e) const { return uad::flatten(*this, s, e); }
Tensor Tensor::contiguous() const { return uad::contiguous(*this); }
Tensor Tensor::to(DType t) const { return uad::cast(*this, t); }
Tensor Tensor::to(Device d) const { return uad::to_device(*this, d); }
Tensor Tensor::clone() const { return uad::clone(*this); }

std::string Tensor::str() const {
  std::ostringstream o;
  o << "Tensor(" << dtype_name(dtype()) << ", shape=" << shape_str(shape());
  if (numel() <= 16) {
    o << ", values=[";
    auto v = to_vector();
    for (size_t i = 0; i < v.size(); ++i) o << (i ? ", " : "") << v[i];
    o << "]";
  }
  o << ")";
  return o.str();
}

Tensor empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t v : shape) check(v >= 0, "empty: negative dimension in shape ", shape);
  check(shape.size() <= 8, "empty: at most 8 dimensions, got shape ", shape);
  auto t = std::make_shared<TensorImpl>();
  t->storage = std::make_shared<Storage>((size_t)numel_of(shape) * dtype_size(dtype), device);
  t->shape = shape;
  t->strides = contiguous_strides(shape);
  t->dtype = dtype;
  return Tensor(t);
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device == Device::cuda) {
    const CudaBackend& b = cuda_backend("full");
    b.fill(dtype, t.raw(), t.numel(), value, b.stream());
    return t;
  }
  UAD_DISPATCH_ALL(dtype, "full", [&] {
    scalar_t* p = t.data<scalar_t>();
    const scalar_t v = (scalar_t)value;
    const int64_t n = t.numel();
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  });
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) {
  if (device == Device::cuda) return full(shape, 0.0, dtype, device);
  Tensor t = empty(shape, dtype);
  std::memset(t.raw(), 0, (size_t)t.numel() * dtype_size(dtype));
  return t;
}
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }

Tensor arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  UAD_DISPATCH_ALL(dtype, "arange", [&] {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = (scalar_t)i;
  });
  return t;
}

Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  check((int64_t)values.size() == numel_of(shape), "from_vector: ", values.size(), " values for shape ", shape);
  Tensor t = empty(shape, dtype);
  UAD_DISPATCH_ALL(dtype, "from_vector", [&] {
    scalar_t* p = t.data<scalar_t>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = (scalar_t)values[i];
  });
  return t;
}

Tensor from_vector_f32(const std::vector<float>& values, const Shape& shape) {
  check((int64_t)values.size() == numel_of(shape), "from_vector_f32: ", values.size(), " values for shape ", shape);
  Tensor t = empty(shape, DType::f32);
  std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

namespace cpu {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) fail(op, ": shapes ", a, " and ", b, " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape st(shape.size(), 0);
  size_t off = shape.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i)
    st[off + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  check(dst.shape() == src.shape(), "copy: shape ", src.shape(), " into ", dst.shape());
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    std::memcpy(dst.raw(), src.raw(), (size_t)dst.numel() * dtype_size(dst.dtype()));
    return;
  }
  UAD_DISPATCH_ALL(dst.dtype(), "copy", [&] {
    using To = scalar_t;
    UAD_DISPATCH_ALL(src.dtype(), "copy", [&] {
      using Ti = scalar_t;
      strided_loop<2>(dst.shape(), {dst.strides(), src.strides()}, {(char*)dst.data<To>(), (char*)src.data<Ti>()},
                      {sizeof(To), sizeof(Ti)}, [&](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
                        To* o = (To*)p[0];
                        const Ti* a = (const Ti*)p[1];
                        if (s[0] == 1 && s[1] == 1) {
                          for (int64_t i = 0; i < n; ++i) o[i] = (To)a[i];
                        } else {
                          for (int64_t i = 0; i < n; ++i) o[i * s[0]] = (To)a[i * s[1]];
                        }
                      });
    });
  });
}

}  // namespace cpu
}  // namespace uad
