// View ops (shared storage) and copies, with their vjps.
#include "tensor/ops_view.h"

#include <algorithm>

#include "kernels/cpu/elementwise.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

namespace {

int64_t wrap_dim(int64_t d, int64_t nd, const char* op) {
  int64_t e = d < 0 ? d + nd : d;
  check(e >= 0 && e < nd, op, ": dim ", d, " out of range for a ", nd, "-d tensor");
  return e;
}

/// A new TensorImpl aliasing x's storage with the given geometry.
Tensor alias(const Tensor& x, Shape shape, Shape strides, int64_t offset) {
  auto t = std::make_shared<TensorImpl>();
  t->storage = x.impl()->storage;
  t->shape = std::move(shape);
  t->strides = std::move(strides);
  t->offset = offset;
  t->dtype = x.dtype();
  return Tensor(t);
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape_in) {
  Shape shape = shape_in;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      check(infer < 0, "reshape: more than one -1 in ", shape_in);
      infer = (int64_t)i;
    } else {
      check(shape[i] >= 0, "reshape: negative size in ", shape_in);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    check(known > 0 && x.numel() % known == 0, "reshape: cannot reshape ", x.shape(), " into ", shape_in);
    shape[infer] = x.numel() / known;
  }
  check(numel_of(shape) == x.numel(), "reshape: cannot reshape ", x.shape(), " (", x.numel(), " elements) into ", shape_in);
  if (shape == x.shape()) return x;
  Tensor src = x.is_contiguous() ? x : contiguous(x);
  Tensor out = alias(src, shape, contiguous_strides(shape), src.offset());
  return record(out, "reshape", {src}, [xs = src.shape()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{reshape(g, xs)};
  });
}

Tensor permute(const Tensor& x, const Shape& dims) {
  const int64_t nd = x.dim();
  check((int64_t)dims.size() == nd, "permute: ", dims.size(), " dims given for shape ", x.shape());
  Shape shape(nd), strides(nd), inv(nd);
  std::vector<bool> used(nd, false);
  for (int64_t i = 0; i < nd; ++i) {
    int64_t d = wrap_dim(dims[i], nd, "permute");
    check(!used[d], "permute: repeated dim in ", dims);
    used[d] = true;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
    inv[d] = i;
  }
  Tensor out = alias(x, shape, strides, x.offset());
  return record(out, "permute", {x}, [inv](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{permute(g, inv)};
  });
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  const int64_t nd = x.dim();
  Shape p(nd);
  for (int64_t i = 0; i < nd; ++i) p[i] = i;
  std::swap(p[wrap_dim(d0, nd, "transpose")], p[wrap_dim(d1, nd, "transpose")]);
  return permute(x, p);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const int64_t nd = x.dim();
  dim = wrap_dim(dim, nd, "slice");
  const int64_t n = x.shape()[dim];
  check(step > 0, "slice: step must be positive, got ", step);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape shape = x.shape(), strides = x.strides();
  shape[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  Tensor out = alias(x, shape, strides, x.offset() + start * x.strides()[dim]);
  return record(out, "slice", {x}, [xs = x.shape(), dim, start, end, step](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{slice_backward(g, xs, dim, start, end, step)};
  });
}

Tensor slice_backward(const Tensor& g, const Shape& shape, int64_t dim, int64_t start, int64_t end, int64_t step) {
  Tensor out = zeros(shape, g.dtype(), g.device());
  Tensor dst = slice(out.detach(), dim, start, end, step);
  check(dst.shape() == g.shape(), "slice_backward: gradient shape ", g.shape(), " does not match slice shape ", dst.shape());
  copy_values(dst, g);
  return record(out, "slice_backward", {g}, [dim, start, end, step](const Tensor& gg, const std::vector<bool>&) {
    return std::vector<Tensor>{slice(gg, dim, start, end, step)};
  });
}

Tensor expand(const Tensor& x, const Shape& shape) {
  const int64_t nd = (int64_t)shape.size(), xd = x.dim();
  check(nd >= xd, "expand: cannot expand shape ", x.shape(), " to ", shape);
  if (shape == x.shape()) return x;
  Shape strides(nd, 0);
  for (int64_t d = 0; d < nd; ++d) {
    int64_t xdim = d - (nd - xd);
    if (xdim < 0) continue;
    if (x.shape()[xdim] == shape[d]) strides[d] = x.strides()[xdim];
    else check(x.shape()[xdim] == 1, "expand: cannot expand shape ", x.shape(), " to ", shape);
  }
  Tensor out = alias(x, shape, strides, x.offset());
  return record(out, "expand", {x}, [xs = x.shape()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{sum_to(g, xs)};
  });
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  dim = wrap_dim(dim, x.dim(), "squeeze");
  check(x.shape()[dim] == 1, "squeeze: dim ", dim, " of shape ", x.shape(), " is not 1");
  Shape s = x.shape();
  s.erase(s.begin() + dim);
  return reshape(x, s);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  dim = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape s = x.shape();
  s.insert(s.begin() + dim, 1);
  return reshape(x, s);
}

Tensor flatten(const Tensor& x, int64_t start, int64_t end) {
  const int64_t nd = x.dim();
  if (nd == 0) return reshape(x, {1});
  start = wrap_dim(start, nd, "flatten");
  end = wrap_dim(end, nd, "flatten");
  check(start <= end, "flatten: start ", start, " after end ", end);
  Shape s(x.shape().begin(), x.shape().begin() + start);
  int64_t m = 1;
  for (int64_t d = start; d <= end; ++d) m *= x.shape()[d];
  s.push_back(m);
  s.insert(s.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, s);
}

Tensor clone(const Tensor& x) {
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  copy_values(out, x);
  return record(out, "clone", {x}, [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g}; });
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

void copy_values(const Tensor& dst, const Tensor& src) {
  check(dst.device() == src.device(), "copy: from ", device_name(src.device()), " to ", device_name(dst.device()), " (shape ",
        src.shape(), ")");
  if (dev::on_cuda(dst)) dev::copy_into(dst, src);
  else cpu::copy_into(dst, src);
}

Tensor to_device(const Tensor& x, Device d) {
  check(x.defined(), "to_device: undefined tensor");
  if (x.device() == d) return x;
  Tensor src = x.device() == Device::cpu ? contiguous(x.detach()) : Tensor();
  if (x.device() == Device::cuda) {  // make it contiguous on the device, then one copy
    src = empty(x.shape(), x.dtype(), Device::cuda);
    dev::copy_into(src, x);
  }
  Tensor out = empty(x.shape(), x.dtype(), d);
  const CudaBackend& b = cuda_backend("to_device");
  OpRange r(b, d == Device::cuda ? "to_device(cuda)" : "to_device(cpu)");
  const size_t bytes = (size_t)x.numel() * dtype_size(x.dtype());
  if (bytes > 0) {
    if (d == Device::cuda) b.copy_to_device(out.raw(), src.raw(), bytes);
    else b.copy_to_host(out.raw(), src.raw(), bytes);
  }
  if (!is_floating(x.dtype())) return out;
  return record(out, "to_device", {x}, [from = x.device()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{to_device(g, from)};
  });
}

}  // namespace uad
