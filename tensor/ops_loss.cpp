// Losses. Each is composed from differentiable ops (so first and higher-order gradients come
// from the ops' vjps, and they run on whichever device the ops do), except bce_with_logits,
// whose stable forward is one fused functor (kernels/common/loss_functors.h; on Device::cuda the
// same functor in kernels/cuda/loss.cu's loss_forward through the backend table) with its vjp
// written in ops.
#include "tensor/ops_loss.h"

#include <cmath>

#include "kernels/common/loss_functors.h"
#include "kernels/cpu/elementwise.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

namespace {

void check_same(const Tensor& a, const Tensor& b, const char* op, const char* na, const char* nb) {
  check(a.defined() && b.defined(), op, ": undefined ", a.defined() ? nb : na);
  check(a.shape() == b.shape(), op, ": ", na, " has shape ", a.shape(), " but ", nb, " has shape ", b.shape());
  check(a.dtype() == b.dtype(), op, ": ", na, " is ", dtype_name(a.dtype()), " but ", nb, " is ", dtype_name(b.dtype()));
  check(a.device() == b.device(), op, ": ", na, " is on ", device_name(a.device()), " but ", nb, " is on ", device_name(b.device()),
        " (shape ", a.shape(), ")");
}

/// The elementwise bce_with_logits loss of z and t on cuda (loss_forward, reduction none).
Tensor bce_with_logits_cuda(const Tensor& z, const Tensor& t) {
  check(is_floating(z.dtype()), "bce_with_logits: expected f32/f64, got ", dtype_name(z.dtype()), " of shape ", z.shape());
  const CudaBackend& b = cuda_backend("bce_with_logits");
  OpRange r(b, "bce_with_logits");
  Tensor zc, tc;
  {
    NoGradGuard ng;
    zc = contiguous(z.detach());
    tc = contiguous(t.detach());
  }
  Tensor out = empty(z.shape(), z.dtype(), Device::cuda);
  b.loss_forward(cuda::LossKind::bce_with_logits, cuda::LossReduction::none, z.dtype(), zc.raw(), tc.raw(), z.numel(),
                 z.dim() ? z.shape()[0] : 1, out.raw(), b.stream());
  return out;
}

}  // namespace

Tensor reduce_loss(const Tensor& l, Reduction r) {
  check(l.defined(), "reduce_loss: undefined loss tensor");
  switch (r) {
    case Reduction::none: return l;
    case Reduction::mean:
      check(l.numel() > 0, "reduce_loss: mean of an empty loss of shape ", l.shape());
      return mean(l);
    case Reduction::sum: return sum(l);
    case Reduction::batch_mean:
      check(l.dim() >= 1 && l.shape()[0] > 0, "reduce_loss: batch_mean needs a leading batch dim, got shape ", l.shape());
      return sum(l) * (1.0 / (double)l.shape()[0]);
  }
  fail("reduce_loss: unknown reduction");
}

Tensor l1_loss(const Tensor& x, const Tensor& y, Reduction r) {
  check_same(x, y, "l1_loss", "input", "target");
  return reduce_loss(abs(sub(x, y)), r);  // abs' vjp is sign(x − y): 0 where x == y (PyTorch)
}

Tensor mse_loss(const Tensor& x, const Tensor& y, Reduction r) {
  check_same(x, y, "mse_loss", "input", "target");
  return reduce_loss(square(sub(x, y)), r);
}

Tensor bce_with_logits(const Tensor& z, const Tensor& t, Reduction r) {
  check_same(z, t, "bce_with_logits", "logits", "target");
  Tensor l = dev::on_cuda(z) ? bce_with_logits_cuda(z, t) : UAD_DISPATCH_FLOAT(z.dtype(), "bce_with_logits", [&] {
    return cpu::map_binary<scalar_t, scalar_t, scalar_t>(z, t, fn::BceWithLogits{}, "bce_with_logits");
  });
  // ∂/∂z = σ(z) − t, ∂/∂t = −z (exact everywhere, including z = 0).
  l = record(l, "bce_with_logits", {z, t}, [z, t](const Tensor& g, const std::vector<bool>& n) {
    return std::vector<Tensor>{n[0] ? mul(g, sub(sigmoid(z), t)) : Tensor(), n[1] ? neg(mul(g, z)) : Tensor()};
  });
  return reduce_loss(l, r);
}

Tensor kl_normal_std(const Tensor& mu, const Tensor& logvar, Reduction r) {
  check_same(mu, logvar, "kl_normal_std", "mu", "logvar");
  return reduce_loss((square(mu) + exp(logvar) - logvar - 1.0) * 0.5, r);
}

Tensor kl_normal(const Tensor& mu1, const Tensor& logvar1, const Tensor& mu2, const Tensor& logvar2, Reduction r) {
  check_same(mu1, logvar1, "kl_normal", "mu1", "logvar1");
  check_same(mu2, logvar2, "kl_normal", "mu2", "logvar2");
  // e^{lv1}/e^{lv2} as e^{lv1 − lv2}, (μ1−μ2)²/e^{lv2} as (μ1−μ2)²·e^{−lv2}: no overflow of e^{lv}.
  Tensor t = sub(logvar2, logvar1) + exp(sub(logvar1, logvar2)) + mul(square(sub(mu1, mu2)), exp(neg(logvar2)));
  return reduce_loss((t - 1.0) * 0.5, r);
}

Tensor gaussian_nll(const Tensor& x, const Tensor& mu, const Tensor& logvar, Reduction r, bool full) {
  check_same(x, mu, "gaussian_nll", "input", "mu");
  check(logvar.defined(), "gaussian_nll: undefined logvar");
  Tensor l = (logvar + mul(square(sub(x, mu)), exp(neg(logvar)))) * 0.5;
  if (full) l = l + 0.5 * std::log(2.0 * M_PI);
  return reduce_loss(l, r);
}

}  // namespace uad
