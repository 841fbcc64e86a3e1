// softmax / log_softmax: fused stable forward (kernels/cpu/softmax.h; on Device::cuda
// kernels/cuda/softmax.cu through the backend table, tensor/backend.h); the vjp uses the fused
// first-order kernel of the input's device, or under create_graph the same formula in
// differentiable ops:
//   softmax:      dx = y·(g − Σ_dim g·y)
//   log_softmax:  dx = g − e^y·Σ_dim g
#include "tensor/ops_softmax.h"

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/softmax.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

namespace {

Tensor softmax_impl(const Tensor& x, int64_t dim_in, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check(x.defined(), op, ": undefined input");
  check(is_floating(x.dtype()), op, ": expected an f32/f64 input, got ", dtype_name(x.dtype()), " of shape ", x.shape());
  const int64_t nd = std::max<int64_t>(x.dim(), 1);
  const int64_t dim = dim_in < 0 ? dim_in + nd : dim_in;
  check(dim >= 0 && dim < nd, op, ": dim ", dim_in, " out of range for input of shape ", x.shape());
  int64_t O = 1, D = x.dim() ? x.shape()[dim] : 1, I = 1;
  for (int64_t d = 0; d < dim && d < x.dim(); ++d) O *= x.shape()[d];
  for (int64_t d = dim + 1; d < x.dim(); ++d) I *= x.shape()[d];
  Tensor xc;
  {
    NoGradGuard ng;
    xc = x.detach().contiguous();
  }
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  if (x.numel() > 0) {
    if (dev::on_cuda(x)) {
      const CudaBackend& b = cuda_backend(op);
      OpRange r(b, op);
      b.softmax_forward(x.dtype(), xc.raw(), out.raw(), O, D, I, log, b.stream());
    } else {
      UAD_DISPATCH_FLOAT(x.dtype(), op, [&] { cpu::softmax_forward<scalar_t>(xc.data<scalar_t>(), out.data<scalar_t>(), O, D, I, log); });
    }
  }
  return record(out, op, {x}, [x, y = out.detach(), dim, log, O, D, I](const Tensor& g, const std::vector<bool>&) {
    if (grad_mode_enabled()) {
      Tensor s = log ? log_softmax(x, dim) : softmax(x, dim);  // recomputed so it is part of the graph
      if (x.dim() == 0) return std::vector<Tensor>{zeros_like(x)};
      if (log) return std::vector<Tensor>{sub(g, mul(exp(s), sum(g, {dim}, true)))};
      return std::vector<Tensor>{mul(s, sub(g, sum(mul(g, s), {dim}, true)))};
    }
    Tensor gc = g.contiguous();
    Tensor dx = empty(x.shape(), x.dtype(), x.device());
    if (x.numel() > 0 && dev::on_cuda(x)) {
      const CudaBackend& b = cuda_backend("softmax backward");
      OpRange r(b, log ? "log_softmax backward" : "softmax backward");
      b.softmax_backward(x.dtype(), gc.raw(), y.raw(), dx.raw(), O, D, I, log, b.stream());
    } else if (x.numel() > 0) {
      UAD_DISPATCH_FLOAT(x.dtype(), "softmax backward", [&] {
        cpu::softmax_backward<scalar_t>(gc.data<scalar_t>(), y.data<scalar_t>(), dx.data<scalar_t>(), O, D, I, log);
      });
    }
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace uad
