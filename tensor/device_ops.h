// The CUDA side of the generic tensor ops (issue 3): what tensor/ops_*.cpp call when an operand
// lives on Device::cuda — outputs allocated on the device, the kernel of tensor/backend.h
// launched on the current stream inside an NVTX range named after the op. Each function is the
// device twin of a CPU kernel call (kernels/cpu/elementwise.h, loops.h, reduce.h) and takes the
// same tensors; none records autograd history (the calling op does).
//
// Errors: uad::Error naming the op and the shapes (from the kernels' checks), or "no CUDA
// backend" when the binary has none (tensor/backend.h).
#pragma once
#include "kernels/cuda/kernels.h"
#include "tensor/tensor.h"

namespace uad::dev {

/// True when `t` is defined and on Device::cuda.
inline bool on_cuda(const Tensor& t) { return t.defined() && t.device() == Device::cuda; }
/// True when any of the tensors is on Device::cuda.
inline bool any_cuda(std::initializer_list<Tensor> ts) {
  for (const Tensor& t : ts)
    if (on_cuda(t)) return true;
  return false;
}

/// `t` moved to `other`'s device when `t` is a one-element CPU tensor and `other` is on cuda
/// (PyTorch's rule: a CPU scalar may meet a device tensor; the copy is differentiable via
/// to_device), else `t` unchanged. The caller's device check then sees one device.
Tensor promote_scalar(const Tensor& t, const Tensor& other);

/// True when `s` is a one-element CPU tensor that needs no gradient and `other` is on cuda: a
/// binary op then passes s by value (binary_scalar) instead of copying it to the device.
bool by_value(const Tensor& s, const Tensor& other);
/// out = op(a, s) (op(s, a) when scalar_first) with s a by_value scalar, shape broadcast(a, s).
Tensor binary_scalar(const Tensor& a, const Tensor& s, cuda::BinaryOp op, bool scalar_first, const char* name);

/// out = op(x), out contiguous [x.shape()] on cuda; x any strides. f32/f64.
Tensor unary(const Tensor& x, cuda::UnaryOp op, cuda::UnaryParams params, const char* name);
/// out = op(a, b) with NumPy broadcasting; a, b on cuda with one dtype (f32/f64).
Tensor binary(const Tensor& a, const Tensor& b, cuda::BinaryOp op, const char* name);
/// u8 out = a OP b with broadcasting; any dtype.
Tensor compare(const Tensor& a, const Tensor& b, cuda::CompareOp op, const char* name);
/// out = cond ? a : b with broadcasting over the three; cond u8.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// dst (a cuda tensor or view, any strides, no self-aliasing) ← src (cuda, same shape), with dtype
/// conversion: the device twin of cpu::copy_into.
void copy_into(const Tensor& dst, const Tensor& src);
/// x summed (or max/min when kind is 1/2) over the sorted, unique `dims`, keepdim shape; x any
/// strides (made contiguous first). Sums run dim by dim from the last, each a fixed-order
/// reduction (deterministic).
Tensor reduce(const Tensor& x, const Shape& dims, int kind);

}  // namespace uad::dev
