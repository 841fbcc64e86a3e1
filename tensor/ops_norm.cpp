// Normalisation ops and dropout.
//
// Forward: fused kernels (kernels/cpu/norm.h; on Device::cuda kernels/cuda/norm.cu through the
// backend table, tensor/backend.h): statistics in one read of x, output in a second pass.
// Backward: a node per op whose vjp
//  - without create_graph (grad mode off inside the vjp): the fused first-order kernels (CPU or
//    device, by the input's device);
//  - with create_graph: the formula below written in differentiable ops (composed_vjp), so the
//    gradient can be differentiated again (the WGAN-GP critic's layer/instance norms).
// The formula lives once, in composed_stats/composed_vjp; the fused kernels implement the same
// algebra (PyTorch's batch_norm/layer_norm backward):
//   x̂ = (x − μ)·rstd, rstd = 1/sqrt(σ² + eps) (biased σ²), y = x̂·w + b,
//   dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)), dw = Σ g·x̂, db = Σ g.
#include "tensor/ops_norm.h"

#include <cmath>
#include <memory>

#include "kernels/common/philox.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/norm.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

namespace {

using Stats = std::shared_ptr<const std::vector<double>>;

/// Geometry of one normalisation as a view of x: statistics over `dims` of `view`; weight and
/// bias broadcast as `pview`.
struct NormGeom {
  Shape view, dims, pview;
};

void check_input(const Tensor& x, int64_t min_dim, const char* op) {
  check(x.defined(), op, ": undefined input");
  check(is_floating(x.dtype()), op, ": expected an f32/f64 input, got ", dtype_name(x.dtype()), " of shape ", x.shape());
  check(x.dim() >= min_dim, op, ": expected at least ", min_dim, " dims, got shape ", x.shape());
}

void check_param(const Tensor& p, const Tensor& x, const Shape& expect, const char* what, const char* op) {
  if (!p.defined()) return;
  check(p.shape() == expect, op, ": ", what, " has shape ", p.shape(), ", expected ", expect, " for input ", x.shape());
  check(p.dtype() == x.dtype(), op, ": ", what, " is ", dtype_name(p.dtype()), " but the input is ", dtype_name(x.dtype()));
  check(p.device() == x.device(), op, ": ", what, " is on another device than the input");
}

/// Contiguous data of t with no autograd history (what the kernels read).
Tensor data_of(const Tensor& t) {
  if (!t.defined()) return t;
  NoGradGuard ng;
  return t.detach().contiguous();
}

template <class T> T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
void* raw_or_null(const Tensor& t) { return t.defined() ? t.raw() : nullptr; }

/// The statistics a fused forward saves for its first-order vjp: double vectors on the CPU
/// (kernels/cpu/norm.h), device tensors of x's dtype on cuda (kernels/cuda/norm.cu).
struct Saved {
  Stats mean, rstd;
  Tensor dmean, drstd;
};

int64_t spatial_of(const Tensor& x) {
  int64_t s = 1;
  for (int64_t d = 2; d < x.dim(); ++d) s *= x.shape()[d];
  return s;
}

/// x̂ and rstd in ops (both recorded when grad mode is on).
std::pair<Tensor, Tensor> composed_stats(const Tensor& xv, const Shape& dims, double eps) {
  Tensor xc = sub(xv, mean(xv, dims, true));
  Tensor rstd = 1.0 / sqrt(mean(square(xc), dims, true) + eps);
  return {mul(xc, rstd), rstd};
}

/// The vjp of a normalisation with inputs {x, w, b}, written in differentiable ops.
std::vector<Tensor> composed_vjp(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& b, const NormGeom& geo,
                                 double eps, const std::vector<bool>& needs) {
  auto [xhat, rstd] = composed_stats(reshape(x, geo.view), geo.dims, eps);
  Tensor gv = reshape(g, geo.view);
  Tensor dx, dw, db;
  if (needs[0]) {
    Tensor gx = w.defined() ? mul(gv, reshape(w, geo.pview)) : gv;
    Tensor inner = sub(sub(gx, mean(gx, geo.dims, true)), mul(xhat, mean(mul(gx, xhat), geo.dims, true)));
    dx = reshape(mul(rstd, inner), x.shape());
  }
  if (w.defined() && needs[1]) dw = reshape(sum_to(mul(gv, xhat), geo.pview), w.shape());
  if (b.defined() && needs[2]) db = reshape(sum_to(gv, geo.pview), b.shape());
  return {dx, dw, db};
}

// ---- channel norms (instance, group, batch in training) ------------------------------------

/// Which statistics group a row (n, c) of [N, C, S] belongs to.
struct ChannelNormSpec {
  int64_t N, C, S;
  int64_t groups;  // instance: C; group: groups; batch: 0 (one group per channel over N)
  int64_t stat_of(int64_t n, int64_t c) const { return groups == 0 ? c : n * groups + c / (C / groups); }
  int64_t n_stats() const { return groups == 0 ? C : N * groups; }
  int64_t count() const { return groups == 0 ? N * S : (C / groups) * S; }  // elements per group
};

/// Fused statistics: mean, biased var, rstd per statistics group.
template <class T> void channel_stats(const T* x, const ChannelNormSpec& sp, double eps, std::vector<double>& mean,
                                      std::vector<double>& var, std::vector<double>& rstd) {
  const int64_t G = sp.n_stats();
  mean.resize(G);
  var.resize(G);
  rstd.resize(G);
  if (sp.groups == 0) cpu::segment_stats<T>(x, sp.N, sp.C, sp.S, eps, mean.data(), var.data(), rstd.data());
  else cpu::segment_stats<T>(x, 1, G, sp.count(), eps, mean.data(), var.data(), rstd.data());
}

/// First-order backward of a channel norm (grad mode off): dx, dw, db as needed.
template <class T>
std::vector<Tensor> channel_backward_fused(const Tensor& g_in, const Tensor& x, const Tensor& w, const Tensor& b,
                                           const ChannelNormSpec& sp, const std::vector<double>& mean,
                                           const std::vector<double>& rstd, const std::vector<bool>& needs) {
  Tensor g = data_of(g_in), xc = data_of(x), wc = data_of(w);
  const int64_t R = sp.N * sp.C, G = sp.n_stats();
  const T* wp = ptr_or_null<T>(wc);
  std::vector<double> row_mean(R), sg(R), sgx(R);
  for (int64_t n = 0; n < sp.N; ++n)
    for (int64_t c = 0; c < sp.C; ++c) row_mean[n * sp.C + c] = mean[sp.stat_of(n, c)];
  cpu::rows_grad_sums<T>(g.data<T>(), xc.data<T>(), R, sp.S, row_mean.data(), sg.data(), sgx.data());
  Tensor dx, dw, db;
  if (needs[0]) {
    std::vector<double> s1(G, 0.0), s2(G, 0.0);  // Σ g·w and Σ g·w·(x − μ) per group
    for (int64_t n = 0; n < sp.N; ++n)
      for (int64_t c = 0; c < sp.C; ++c) {
        const int64_t r = n * sp.C + c, k = sp.stat_of(n, c);
        const double wv = wp ? (double)wp[c] : 1.0;
        s1[k] += wv * sg[r];
        s2[k] += wv * sgx[r];
      }
    const double M = (double)sp.count();
    std::vector<double> a(R), bb(R), cc(R);
    for (int64_t n = 0; n < sp.N; ++n)
      for (int64_t c = 0; c < sp.C; ++c) {
        const int64_t r = n * sp.C + c, k = sp.stat_of(n, c);
        const double rs = rstd[k], m1 = s1[k] / M, m2 = s2[k] * rs / M;
        a[r] = rs * (wp ? (double)wp[c] : 1.0);
        bb[r] = -rs * rs * m2;
        cc[r] = -rs * m1;
      }
    dx = empty(x.shape(), x.dtype());
    cpu::rows_axpby<T>(g.data<T>(), xc.data<T>(), dx.data<T>(), R, sp.S, a.data(), bb.data(), row_mean.data(), cc.data());
  }
  if ((w.defined() && needs[1]) || (b.defined() && needs[2])) {
    std::vector<double> vw(sp.C, 0.0), vb(sp.C, 0.0);
    for (int64_t n = 0; n < sp.N; ++n)
      for (int64_t c = 0; c < sp.C; ++c) {
        const int64_t r = n * sp.C + c;
        vw[c] += sgx[r] * rstd[sp.stat_of(n, c)];
        vb[c] += sg[r];
      }
    if (w.defined() && needs[1]) dw = from_vector(vw, w.shape(), x.dtype());
    if (b.defined() && needs[2]) db = from_vector(vb, b.shape(), x.dtype());
  }
  return {dx, dw, db};
}

// ---- device twins of the fused channel-norm kernels (kernels/cuda/norm.cu) ----

/// Forward on cuda: y, and the saved mean/rstd per statistics group (batch: [C]; group/instance:
/// [N·groups]); batch norm updates the running buffers on the device (a buffer of another dtype
/// than x goes through a converted copy).
Tensor channel_forward_cuda(const Tensor& x, const Tensor& w, const Tensor& b, const ChannelNormSpec& sp, double eps, const char* op,
                            const Tensor& run_mean, const Tensor& run_var, double momentum, Saved& saved) {
  for (const Tensor* t : {&w, &b, &run_mean, &run_var})
    check(!t->defined() || dev::on_cuda(*t), op, ": a parameter or running buffer is on the CPU but the input ", x.shape(), " is on cuda");
  const CudaBackend& be = cuda_backend(op);
  OpRange r(be, op);
  const DType dt = x.dtype();
  Tensor xc = data_of(x), wc = data_of(w), bc = data_of(b);
  Tensor out = empty(x.shape(), dt, Device::cuda);
  saved.dmean = empty({sp.n_stats()}, dt, Device::cuda);
  saved.drstd = empty({sp.n_stats()}, dt, Device::cuda);
  if (sp.groups != 0) {
    if (x.numel() > 0)
      be.group_norm_forward(dt, xc.raw(), raw_or_null(wc), raw_or_null(bc), out.raw(), saved.dmean.raw(), saved.drstd.raw(), sp.N, sp.C,
                            sp.S, sp.groups, eps, be.stream());
    return out;
  }
  NoGradGuard ng;
  auto as_x = [&](const Tensor& t) { return !t.defined() || t.dtype() == dt ? t : cast(t, dt); };
  Tensor rm = as_x(run_mean), rv = as_x(run_var);
  be.batch_norm_forward_train(dt, xc.raw(), raw_or_null(wc), raw_or_null(bc), out.raw(), saved.dmean.raw(), saved.drstd.raw(),
                              raw_or_null(rm), raw_or_null(rv), sp.N, sp.C, sp.S, momentum, eps, be.stream());
  if (rm.defined() && rm.dtype() != run_mean.dtype()) copy_values(run_mean, rm);
  if (rv.defined() && rv.dtype() != run_var.dtype()) copy_values(run_var, rv);
  return out;
}

/// First-order backward on cuda (grad mode off): dx, dw, db as needed.
std::vector<Tensor> channel_backward_cuda(const Tensor& g_in, const Tensor& x, const Tensor& w, const Tensor& b, const ChannelNormSpec& sp,
                                          const Saved& saved, const std::vector<bool>& needs) {
  const CudaBackend& be = cuda_backend("norm backward");
  OpRange r(be, sp.groups == 0 ? "batch_norm backward" : "group_norm backward");
  const DType dt = x.dtype();
  Tensor g = data_of(g_in), xc = data_of(x), wc = data_of(w);
  Tensor dx = needs[0] ? empty(x.shape(), dt, Device::cuda) : Tensor();
  Tensor dw = w.defined() && needs[1] ? empty(w.shape(), dt, Device::cuda) : Tensor();
  Tensor db = b.defined() && needs[2] ? empty(b.shape(), dt, Device::cuda) : Tensor();
  if (sp.groups == 0)
    be.batch_norm_backward(dt, g.raw(), xc.raw(), raw_or_null(wc), saved.dmean.raw(), saved.drstd.raw(), sp.N, sp.C, sp.S, true,
                           raw_or_null(dx), raw_or_null(dw), raw_or_null(db), be.stream());
  else
    be.group_norm_backward(dt, g.raw(), xc.raw(), saved.dmean.raw(), saved.drstd.raw(), raw_or_null(wc), sp.N, sp.C, sp.S, sp.groups,
                           raw_or_null(dx), raw_or_null(dw), raw_or_null(db), be.stream());
  return {dx, dw, db};
}

/// A channel norm with batch statistics: fused forward + node (CPU or device kernels by x's
/// device). For batch norm the running buffers are updated from the same statistics (not recorded).
Tensor channel_norm(const Tensor& x, const Tensor& w, const Tensor& b, const ChannelNormSpec& sp, const NormGeom& geo,
                    double eps, const char* op, const Tensor& run_mean = Tensor(), const Tensor& run_var = Tensor(),
                    double momentum = 0.0) {
  if (dev::on_cuda(x)) {
    Saved saved;
    Tensor out = channel_forward_cuda(x, w, b, sp, eps, op, run_mean, run_var, momentum, saved);
    return record(out, op, {x, w, b}, [x, w, b, sp, geo, eps, saved](const Tensor& g, const std::vector<bool>& needs) {
      if (grad_mode_enabled()) return composed_vjp(g, x, w, b, geo, eps, needs);
      return channel_backward_cuda(g, x, w, b, sp, saved, needs);
    });
  }
  auto mean = std::make_shared<std::vector<double>>(), rstd = std::make_shared<std::vector<double>>();
  std::vector<double> var;
  Tensor xc = data_of(x), wc = data_of(w), bc = data_of(b);
  Tensor out = empty(x.shape(), x.dtype());
  UAD_DISPATCH_FLOAT(x.dtype(), op, [&] {
    channel_stats<scalar_t>(xc.data<scalar_t>(), sp, eps, *mean, var, *rstd);
    const scalar_t* wp = ptr_or_null<scalar_t>(wc);
    const scalar_t* bp = ptr_or_null<scalar_t>(bc);
    const int64_t R = sp.N * sp.C;
    std::vector<double> scale(R), shift(R);
    for (int64_t n = 0; n < sp.N; ++n)
      for (int64_t c = 0; c < sp.C; ++c) {
        const int64_t k = sp.stat_of(n, c);
        const double s = (*rstd)[k] * (wp ? (double)wp[c] : 1.0);
        scale[n * sp.C + c] = s;
        shift[n * sp.C + c] = (bp ? (double)bp[c] : 0.0) - (*mean)[k] * s;
      }
    cpu::rows_affine<scalar_t>(xc.data<scalar_t>(), out.data<scalar_t>(), R, sp.S, scale.data(), shift.data());
  });
  if (run_mean.defined() || run_var.defined()) {
    // r ← (1−m)·r + m·stat; the running variance takes the unbiased batch variance (PyTorch).
    const double n = (double)sp.count(), unbias = n / (n - 1.0);
    auto update = [&](const Tensor& r, const std::vector<double>& stat, double f) {
      if (!r.defined()) return;
      UAD_DISPATCH_FLOAT(r.dtype(), op, [&] {
        scalar_t* p = r.data<scalar_t>();
        for (int64_t c = 0; c < sp.C; ++c) p[c] = (scalar_t)((1.0 - momentum) * (double)p[c] + momentum * stat[c] * f);
      });
    };
    update(run_mean, *mean, 1.0);
    update(run_var, var, unbias);
  }
  Stats ms = mean, rs = rstd;
  return record(out, op, {x, w, b}, [x, w, b, sp, geo, eps, ms, rs](const Tensor& g, const std::vector<bool>& needs) {
    if (grad_mode_enabled()) return composed_vjp(g, x, w, b, geo, eps, needs);
    return UAD_DISPATCH_FLOAT(x.dtype(), "norm backward",
                              [&] { return channel_backward_fused<scalar_t>(g, x, w, b, sp, *ms, *rs, needs); });
  });
}

/// The vjp of y = x·scale[c] + shift[c] (x [N,C,*], pview = [1,C,1..]) in differentiable ops.
std::vector<Tensor> affine_composed_vjp(const Tensor& g, const Tensor& x, const Tensor& scale, const Shape& pview, int64_t C,
                                        const std::vector<bool>& needs) {
  Tensor dx, dscale, dshift;
  if (needs[0]) dx = mul(g, reshape(scale, pview));
  if (needs[1]) dscale = reshape(sum_to(mul(g, x), pview), {C});
  if (needs[2]) dshift = reshape(sum_to(g, pview), {C});
  return {dx, dscale, dshift};
}

/// The raw parameters of an eval-mode batch norm (the device kernel forms scale and shift itself).
struct EvalParams {
  Tensor weight, bias, running_mean, running_var;
  double eps;
};

/// Eval batch norm on cuda: y by batch_norm_forward_eval from the raw parameters (its scale and
/// shift are the expression batch_norm() forms in ops).
Tensor channel_affine_forward_cuda(const Tensor& x, const EvalParams& ep) {
  for (const Tensor* t : {&ep.weight, &ep.bias, &ep.running_mean, &ep.running_var})
    check(!t->defined() || dev::on_cuda(*t), "batch_norm: a parameter or running buffer is on the CPU but the input ", x.shape(),
          " is on cuda");
  const CudaBackend& be = cuda_backend("batch_norm");
  OpRange r(be, "batch_norm_eval");
  const int64_t N = x.shape()[0], C = x.shape()[1], S = spatial_of(x);
  Tensor xc = data_of(x), wc = data_of(ep.weight), bc = data_of(ep.bias), rm = data_of(ep.running_mean), rv = data_of(ep.running_var);
  Tensor out = empty(x.shape(), x.dtype(), Device::cuda);
  be.batch_norm_forward_eval(x.dtype(), xc.raw(), raw_or_null(wc), raw_or_null(bc), rm.raw(), rv.raw(), out.raw(), nullptr, N, C, S,
                             ep.eps, be.stream());
  return out;
}

/// First-order vjp of y = x·scale[c] + shift[c] on cuda: batch_norm_backward in eval mode with
/// weight = scale, mean = 0, rstd = 1 gives dx = g·scale, dscale = Σ g·x, dshift = Σ g.
std::vector<Tensor> channel_affine_backward_cuda(const Tensor& g_in, const Tensor& x, const Tensor& scale, const std::vector<bool>& needs) {
  const CudaBackend& be = cuda_backend("batch_norm backward");
  OpRange r(be, "batch_norm_eval backward");
  const int64_t N = x.shape()[0], C = x.shape()[1], S = spatial_of(x);
  const DType dt = x.dtype();
  Tensor g = data_of(g_in), xc = data_of(x), sc = data_of(scale);
  Tensor zero = zeros({C}, dt, Device::cuda), one = ones({C}, dt, Device::cuda);
  Tensor dx = needs[0] ? empty(x.shape(), dt, Device::cuda) : Tensor();
  Tensor dscale = needs[1] ? empty({C}, dt, Device::cuda) : Tensor();
  Tensor dshift = needs[2] ? empty({C}, dt, Device::cuda) : Tensor();
  be.batch_norm_backward(dt, g.raw(), xc.raw(), sc.raw(), zero.raw(), one.raw(), N, C, S, false, raw_or_null(dx), raw_or_null(dscale),
                         raw_or_null(dshift), be.stream());
  return {dx, dscale, dshift};
}

/// y = x·scale[c] + shift[c] for x [N,C,*] (batch norm in eval mode). scale and shift are
/// differentiable [C] tensors (computed in ops from weight, bias and the running statistics);
/// `ep` holds the raw parameters they were formed from (the device kernel's inputs).
Tensor channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift, const EvalParams& ep) {
  const int64_t N = x.shape()[0], C = x.shape()[1], S = spatial_of(x), R = N * C;
  Shape pview(x.dim(), 1);
  pview[1] = C;
  if (dev::on_cuda(x)) {
    Tensor out = channel_affine_forward_cuda(x, ep);
    return record(out, "batch_norm_eval", {x, scale, shift}, [x, scale, pview, C](const Tensor& g, const std::vector<bool>& needs) {
      if (grad_mode_enabled()) return affine_composed_vjp(g, x, scale, pview, C, needs);
      return channel_affine_backward_cuda(g, x, scale, needs);
    });
  }
  Tensor xc = data_of(x);
  Tensor out = empty(x.shape(), x.dtype());
  std::vector<double> sc = scale.to_vector(), sh = shift.to_vector(), rsc(R), rsh(R);
  for (int64_t r = 0; r < R; ++r) {
    rsc[r] = sc[r % C];
    rsh[r] = sh[r % C];
  }
  UAD_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
    cpu::rows_affine<scalar_t>(xc.data<scalar_t>(), out.data<scalar_t>(), R, S, rsc.data(), rsh.data());
  });
  return record(out, "batch_norm_eval", {x, scale, shift},
                [x, scale, pview, N, C, S, rsc](const Tensor& g, const std::vector<bool>& needs) {
                  if (grad_mode_enabled()) return affine_composed_vjp(g, x, scale, pview, C, needs);
                  Tensor dx, dscale, dshift;
                  UAD_DISPATCH_FLOAT(x.dtype(), "batch_norm backward", [&] {
                    Tensor gc = data_of(g), xc = data_of(x);
                    if (needs[0]) {
                      dx = empty(x.shape(), x.dtype());
                      cpu::rows_axpby<scalar_t>(gc.data<scalar_t>(), nullptr, dx.data<scalar_t>(), N * C, S, rsc.data(),
                                                nullptr, nullptr, nullptr);
                    }
                    if (needs[1] || needs[2]) {
                      std::vector<double> sg(N * C), sgx(N * C), vs(C, 0.0), vb(C, 0.0);
                      cpu::rows_grad_sums<scalar_t>(gc.data<scalar_t>(), xc.data<scalar_t>(), N * C, S, nullptr, sg.data(),
                                                    sgx.data());
                      for (int64_t r = 0; r < N * C; ++r) {
                        vs[r % C] += sgx[r];
                        vb[r % C] += sg[r];
                      }
                      if (needs[1]) dscale = from_vector(vs, {C}, x.dtype());
                      if (needs[2]) dshift = from_vector(vb, {C}, x.dtype());
                    }
                  });
                  return std::vector<Tensor>{dx, dscale, dshift};
                });
}

/// layer_norm on cuda: layer_norm_forward/backward (kernels/cuda/norm.cu), the same node structure
/// as the CPU path (fused first order, composed_vjp under create_graph).
Tensor layer_norm_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, const NormGeom& geo, double eps, int64_t R, int64_t K) {
  const CudaBackend& be = cuda_backend("layer_norm");
  OpRange range(be, "layer_norm");
  const DType dt = x.dtype();
  Tensor xc = data_of(x), wc = data_of(weight), bc = data_of(bias);
  Tensor out = empty(x.shape(), dt, Device::cuda);
  Saved saved;
  saved.dmean = empty({R}, dt, Device::cuda);
  saved.drstd = empty({R}, dt, Device::cuda);
  be.layer_norm_forward(dt, xc.raw(), raw_or_null(wc), raw_or_null(bc), out.raw(), saved.dmean.raw(), saved.drstd.raw(), R, K, eps,
                        be.stream());
  return record(out, "layer_norm", {x, weight, bias},
                [x, weight, bias, geo, eps, saved, R, K](const Tensor& g, const std::vector<bool>& needs) {
                  if (grad_mode_enabled()) return composed_vjp(g, x, weight, bias, geo, eps, needs);
                  const CudaBackend& b = cuda_backend("layer_norm backward");
                  OpRange r(b, "layer_norm backward");
                  Tensor gc = data_of(g), xc = data_of(x), wc = data_of(weight);
                  Tensor dx = needs[0] ? empty(x.shape(), x.dtype(), Device::cuda) : Tensor();
                  Tensor dw = weight.defined() && needs[1] ? empty(weight.shape(), x.dtype(), Device::cuda) : Tensor();
                  Tensor db = bias.defined() && needs[2] ? empty(bias.shape(), x.dtype(), Device::cuda) : Tensor();
                  b.layer_norm_backward(x.dtype(), gc.raw(), xc.raw(), saved.dmean.raw(), saved.drstd.raw(), raw_or_null(wc), R, K,
                                        raw_or_null(dx), raw_or_null(dw), raw_or_null(db), b.stream());
                  return std::vector<Tensor>{dx, dw, db};
                });
}

NormGeom channel_geom(const Tensor& x, int64_t groups, bool batch) {
  const int64_t N = x.shape()[0], C = x.shape()[1], S = spatial_of(x);
  if (batch) return {{N, C, S}, {0, 2}, {1, C, 1}};
  if (groups == C) return {{N, C, S}, {2}, {1, C, 1}};
  return {{N, groups, C / groups, S}, {2, 3}, {1, groups, C / groups, 1}};
}

}  // namespace

// ---- public ops --------------------------------------------------------------------------------

Tensor normalize_composed(const Tensor& x, const Shape& view, const Shape& dims, const Tensor& w, const Tensor& b,
                          const Shape& param_view, double eps) {
  check_input(x, 0, "normalize_composed");
  check(numel_of(view) == x.numel(), "normalize_composed: view ", view, " does not match input ", x.shape());
  Tensor y = composed_stats(reshape(x, view), dims, eps).first;
  if (w.defined()) y = mul(y, reshape(w, param_view));
  if (b.defined()) y = add(y, reshape(b, param_view));
  return reshape(y, x.shape());
}

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  check_input(x, 2, op);
  const int64_t N = x.shape()[0], C = x.shape()[1], S = spatial_of(x);
  check_param(weight, x, {C}, "weight", op);
  check_param(bias, x, {C}, "bias", op);
  for (const Tensor* r : {&running_mean, &running_var}) {
    if (!r->defined()) continue;
    check(r->shape() == Shape{C} && r->is_contiguous(), op, ": running statistics must be contiguous [", C, "], got ",
          r->shape(), " for input ", x.shape());
    check(is_floating(r->dtype()), op, ": running statistics must be f32/f64");
    check(r->device() == x.device(), op, ": running statistics are on ", device_name(r->device()), " but the input ", x.shape(), " is on ",
          device_name(x.device()));
  }
  if (training) {
    check(N * S > 1, op, ": expected more than 1 value per channel when training, got input of shape ", x.shape());
    ChannelNormSpec sp{N, C, S, 0};
    return channel_norm(x, weight, bias, sp, channel_geom(x, 0, true), eps, op, running_mean, running_var, momentum);
  }
  check(running_mean.defined() && running_var.defined(), op,
        ": eval mode needs running_mean and running_var (input of shape ", x.shape(), ")");
  check(running_mean.dtype() == x.dtype() && running_var.dtype() == x.dtype(), op,
        ": running statistics must have the input's dtype ", dtype_name(x.dtype()));
  // Eval: an affine per channel, scale = w/sqrt(rv + eps), shift = b − rm·scale.
  Tensor inv = 1.0 / sqrt(running_var.detach() + eps);
  Tensor scale = weight.defined() ? mul(weight, inv) : inv;
  Tensor shift = neg(mul(running_mean.detach(), scale));
  if (bias.defined()) shift = add(shift, bias);
  return channel_affine(x, scale, shift, EvalParams{weight, bias, running_mean, running_var, eps});
}

Tensor layer_norm(const Tensor& x, int64_t normalized_ndim, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "layer_norm";
  check_input(x, 1, op);
  check(normalized_ndim >= 1 && normalized_ndim <= x.dim(), op, ": normalized_ndim ", normalized_ndim,
        " out of range for input ", x.shape());
  const int64_t lead = x.dim() - normalized_ndim;
  Shape trailing(x.shape().begin() + lead, x.shape().end());
  check_param(weight, x, trailing, "weight", op);
  check_param(bias, x, trailing, "bias", op);
  const int64_t K = numel_of(trailing), R = K > 0 ? x.numel() / K : 0;
  check(K > 0, op, ": normalising over zero elements, input ", x.shape());
  NormGeom geo{{R, K}, {1}, {1, K}};
  if (dev::on_cuda(x)) return layer_norm_cuda(x, weight, bias, geo, eps, R, K);
  auto mean = std::make_shared<std::vector<double>>(R), rstd = std::make_shared<std::vector<double>>(R);
  Tensor xc = data_of(x), wc = data_of(weight), bc = data_of(bias);
  Tensor out = empty(x.shape(), x.dtype());
  UAD_DISPATCH_FLOAT(x.dtype(), op, [&] {
    cpu::segment_stats<scalar_t>(xc.data<scalar_t>(), 1, R, K, eps, mean->data(), nullptr, rstd->data());
    cpu::layer_norm_apply<scalar_t>(xc.data<scalar_t>(), out.data<scalar_t>(), R, K, mean->data(), rstd->data(),
                                    ptr_or_null<scalar_t>(wc), ptr_or_null<scalar_t>(bc));
  });
  Stats ms = mean, rs = rstd;
  return record(out, op, {x, weight, bias},
                [x, weight, bias, geo, eps, ms, rs, R, K](const Tensor& g, const std::vector<bool>& needs) {
                  if (grad_mode_enabled()) return composed_vjp(g, x, weight, bias, geo, eps, needs);
                  Tensor dx, dw, db;
                  UAD_DISPATCH_FLOAT(x.dtype(), "layer_norm backward", [&] {
                    Tensor gc = data_of(g), xc = data_of(x), wc = data_of(weight);
                    if (needs[0]) dx = empty(x.shape(), x.dtype());
                    if (weight.defined() && needs[1]) dw = empty(weight.shape(), x.dtype());
                    if (bias.defined() && needs[2]) db = empty(bias.shape(), x.dtype());
                    cpu::layer_norm_backward<scalar_t>(gc.data<scalar_t>(), xc.data<scalar_t>(), ms->data(), rs->data(),
                                                       ptr_or_null<scalar_t>(wc), R, K, ptr_or_null<scalar_t>(dx),
                                                       ptr_or_null<scalar_t>(dw), ptr_or_null<scalar_t>(db));
                  });
                  return std::vector<Tensor>{dx, dw, db};
                });
}

Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "instance_norm";
  check_input(x, 3, op);
  const int64_t N = x.shape()[0], C = x.shape()[1], S = spatial_of(x);
  check(S > 1, op, ": expected more than 1 spatial element, got input of shape ", x.shape());
  check_param(weight, x, {C}, "weight", op);
  check_param(bias, x, {C}, "bias", op);
  return channel_norm(x, weight, bias, ChannelNormSpec{N, C, S, C}, channel_geom(x, C, false), eps, op);
}

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "group_norm";
  check_input(x, 2, op);
  const int64_t N = x.shape()[0], C = x.shape()[1], S = spatial_of(x);
  check(groups >= 1 && C % groups == 0, op, ": ", C, " channels cannot be split into ", groups, " groups (input ",
        x.shape(), ")");
  check_param(weight, x, {C}, "weight", op);
  check_param(bias, x, {C}, "bias", op);
  check((C / groups) * S > 0, op, ": empty groups for input ", x.shape());
  return channel_norm(x, weight, bias, ChannelNormSpec{N, C, S, groups}, channel_geom(x, groups, false), eps, op);
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& g) {
  check_input(x, 0, "dropout");
  check(p >= 0.0 && p <= 1.0, "dropout: probability ", p, " outside [0,1] (input ", x.shape(), ")");
  if (!training || p == 0.0) return x;
  Tensor xc = data_of(x);
  const int64_t n = x.numel();
  const uint64_t seed = g.seed(), base = g.reserve(n);
  Tensor out, mask;
  if (dev::on_cuda(x)) {
    // The CPU's mask: keep where uniform < (float)(1−p) (fill_bernoulli on the same Philox blocks),
    // times 1/(1−p) in x's dtype; y = x·mask.
    const CudaBackend& be = cuda_backend("dropout");
    OpRange r(be, "dropout");
    NoGradGuard ng;
    Tensor keep = empty(x.shape(), x.dtype(), Device::cuda);
    be.fill_bernoulli(x.dtype(), keep.raw(), n, 1.0 - p, seed, base, be.stream());
    mask = mul(keep, full({}, p < 1.0 ? 1.0 / (1.0 - p) : 0.0, x.dtype(), Device::cuda));
    out = mul(xc, mask);
  } else {
    out = empty(x.shape(), x.dtype());
    mask = empty(x.shape(), x.dtype());
    UAD_DISPATCH_FLOAT(x.dtype(), "dropout", [&] {
      cpu::dropout_forward<scalar_t>(xc.data<scalar_t>(), out.data<scalar_t>(), mask.data<scalar_t>(), n, seed, base,
                                     (float)(1.0 - p), p < 1.0 ? (scalar_t)(1.0 / (1.0 - p)) : scalar_t(0));
    });
  }
  return record(out, "dropout", {x}, [mask](const Tensor& gr, const std::vector<bool>&) {
    return std::vector<Tensor>{mul(gr, mask)};
  });
}

}  // namespace uad
