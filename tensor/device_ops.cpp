// The CUDA side of the generic tensor ops: tensor/device_ops.h.
#include "tensor/device_ops.h"

#include "kernels/cpu/loops.h"
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace uad::dev {
namespace {

cuda::Dims strides_at(const Tensor& t, const Shape& shape) { return cpu::broadcast_strides(t, shape); }

void need_cuda(const Tensor& t, const char* name) {
  check(on_cuda(t), name, ": operand of shape ", t.shape(), " is on ", device_name(t.device()), ", expected cuda");
}

}  // namespace

Tensor promote_scalar(const Tensor& t, const Tensor& other) {
  if (t.defined() && other.defined() && t.device() == Device::cpu && other.device() == Device::cuda && t.numel() == 1)
    return to_device(t, Device::cuda);
  return t;
}

bool by_value(const Tensor& s, const Tensor& other) {
  return s.defined() && other.defined() && s.device() == Device::cpu && other.device() == Device::cuda && s.numel() == 1 &&
         !s.requires_grad();
}

Tensor binary_scalar(const Tensor& a, const Tensor& s, cuda::BinaryOp op, bool scalar_first, const char* name) {
  need_cuda(a, name);
  check(s.device() == Device::cpu && s.numel() == 1, name, ": the scalar operand must be a one-element CPU tensor, got shape ",
        s.shape(), " on ", device_name(s.device()));
  const CudaBackend& b = cuda_backend(name);
  OpRange r(b, name);
  const Shape shape = cpu::broadcast_shapes(a.shape(), s.shape(), name);
  Tensor out = empty(shape, a.dtype(), Device::cuda);
  b.binary_scalar(op, a.dtype(), a.raw(), strides_at(a, shape), s.item(), scalar_first, out.raw(), shape, b.stream());
  return out;
}

Tensor unary(const Tensor& x, cuda::UnaryOp op, cuda::UnaryParams params, const char* name) {
  need_cuda(x, name);
  const CudaBackend& b = cuda_backend(name);
  OpRange r(b, name);
  Tensor out = empty(x.shape(), x.dtype(), Device::cuda);
  b.unary(op, x.dtype(), x.raw(), x.strides(), out.raw(), x.shape(), params, b.stream());
  return out;
}

Tensor binary(const Tensor& a, const Tensor& bb, cuda::BinaryOp op, const char* name) {
  need_cuda(a, name);
  need_cuda(bb, name);
  const CudaBackend& b = cuda_backend(name);
  OpRange r(b, name);
  const Shape shape = cpu::broadcast_shapes(a.shape(), bb.shape(), name);
  Tensor out = empty(shape, a.dtype(), Device::cuda);
  b.binary(op, a.dtype(), a.raw(), strides_at(a, shape), bb.raw(), strides_at(bb, shape), out.raw(), shape, b.stream());
  return out;
}

Tensor compare(const Tensor& a, const Tensor& bb, cuda::CompareOp op, const char* name) {
  need_cuda(a, name);
  need_cuda(bb, name);
  const CudaBackend& b = cuda_backend(name);
  OpRange r(b, name);
  const Shape shape = cpu::broadcast_shapes(a.shape(), bb.shape(), name);
  Tensor out = empty(shape, DType::u8, Device::cuda);
  b.compare(op, a.dtype(), a.raw(), strides_at(a, shape), bb.raw(), strides_at(bb, shape), out.data<uint8_t>(), shape, b.stream());
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& bb) {
  need_cuda(cond, "where");
  need_cuda(a, "where");
  need_cuda(bb, "where");
  const CudaBackend& b = cuda_backend("where");
  OpRange r(b, "where");
  const Shape shape = cpu::broadcast_shapes(cpu::broadcast_shapes(cond.shape(), a.shape(), "where"), bb.shape(), "where");
  Tensor out = empty(shape, a.dtype(), Device::cuda);
  b.where(a.dtype(), cond.data<uint8_t>(), strides_at(cond, shape), a.raw(), strides_at(a, shape), bb.raw(), strides_at(bb, shape),
          out.raw(), shape, b.stream());
  return out;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  need_cuda(dst, "copy");
  need_cuda(src, "copy");
  check(dst.shape() == src.shape(), "copy: shape ", src.shape(), " into ", dst.shape());
  const CudaBackend& b = cuda_backend("copy");
  OpRange r(b, "copy");
  b.cast(src.dtype(), src.raw(), src.strides(), dst.dtype(), dst.raw(), dst.strides(), dst.shape(), b.stream());
}

Tensor reduce(const Tensor& x_in, const Shape& dims, int kind) {
  need_cuda(x_in, "reduce");
  const CudaBackend& b = cuda_backend("reduce");
  OpRange r(b, kind == 0 ? "sum" : kind == 1 ? "amax" : "amin");
  Tensor x = contiguous(x_in.detach());
  Shape shape = x.shape();
  // Reduce the last listed dim first: each pass is [outer, n, inner] → [outer, inner] on a
  // contiguous buffer, so the remaining dims keep their positions (size 1 after the pass).
  for (size_t k = dims.size(); k-- > 0;) {
    const int64_t d = dims[k];
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < d; ++i) outer *= shape[i];
    for (size_t i = d + 1; i < shape.size(); ++i) inner *= shape[i];
    const int64_t n = shape[d];
    shape[d] = 1;
    Tensor out = empty(shape, x.dtype(), Device::cuda);
    if (outer * inner > 0) {
      if (kind == 0) b.sum_dim(x.dtype(), x.raw(), outer, n, inner, out.raw(), b.stream());
      else b.amax_dim(x.dtype(), x.raw(), outer, n, inner, kind == 2, out.raw(), b.stream());
    }
    x = out;
  }
  return x;
}

}  // namespace uad::dev
