// RMSProp (torch.optim.RMSprop semantics) as one fused loop per parameter on the CPU; on
// Device::cuda the same expressions as elementwise tensor ops (no fused kernel: RMSProp trains
// only the f-AnoGAN encoder, a handful of launches per parameter is cheap there).
#include "train/rmsprop.h"

#include <cmath>

#include "tensor/autograd.h"
#include "tensor/ops.h"

namespace uad::train {

namespace {

/// v, m (centered) and b (momentum) may be null when unused.
template <class T, bool Centered, bool Momentum>
void update(T* w, const T* gp, T* v, T* m, T* b, int64_t n, const RMSPropOptions& o) {
  const T alpha = (T)o.alpha, wd = (T)o.weight_decay, lr = (T)o.lr, eps = (T)o.eps, mom = (T)o.momentum;
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t j = 0; j < n; ++j) {
    const T g = gp[j] + wd * w[j];
    v[j] = alpha * v[j] + (1 - alpha) * g * g;
    T avg;
    if constexpr (Centered) {
      m[j] = alpha * m[j] + (1 - alpha) * g;
      avg = std::sqrt(v[j] - m[j] * m[j]) + eps;
    } else {
      avg = std::sqrt(v[j]) + eps;
    }
    if constexpr (Momentum) {
      b[j] = mom * b[j] + g / avg;
      w[j] -= lr * b[j];
    } else {
      w[j] -= lr * g / avg;
    }
  }
}

template <class T>
void dispatch(T* w, const T* g, T* v, T* m, T* b, int64_t n, const RMSPropOptions& o) {
  const bool c = o.centered, mo = o.momentum > 0;
  if (c && mo) update<T, true, true>(w, g, v, m, b, n, o);
  else if (c) update<T, true, false>(w, g, v, m, b, n, o);
  else if (mo) update<T, false, true>(w, g, v, m, b, n, o);
  else update<T, false, false>(w, g, v, m, b, n, o);
}

/// The update of one cuda parameter in tensor ops of its dtype, term by term the CPU loop's
/// expressions with the scalars rounded to T as there; m (centered) and b (momentum) may be
/// undefined when unused. The state buffers and w are written in place.
template <class T>
void update_cuda(const Tensor& w, const Tensor& g_in, const Tensor& v, const Tensor& m, const Tensor& b, const RMSPropOptions& o) {
  NoGradGuard ng;
  const T alpha = (T)o.alpha, wd = (T)o.weight_decay, lr = (T)o.lr, eps = (T)o.eps, mom = (T)o.momentum, one_m_alpha = T(1) - alpha;
  const Tensor wv = w.detach();
  const Tensor g = add(g_in, wv * (double)wd);
  copy_values(v, add(v * (double)alpha, mul(g * (double)one_m_alpha, g)));
  Tensor avg;
  if (o.centered) {
    copy_values(m, add(m * (double)alpha, g * (double)one_m_alpha));
    avg = sqrt(sub(v, mul(m, m))) + (double)eps;
  } else {
    avg = sqrt(v) + (double)eps;
  }
  if (o.momentum > 0) {
    copy_values(b, add(b * (double)mom, div(g, avg)));
    copy_values(wv, sub(wv, b * (double)lr));
  } else {
    copy_values(wv, sub(wv, div(g * (double)lr, avg)));
  }
}

template <class T> T* ptr(std::vector<Tensor>& v, size_t i) { return v.empty() ? nullptr : v[i].data<T>(); }

}  // namespace

RMSProp::RMSProp(std::vector<Tensor> params, RMSPropOptions opt) : params_(std::move(params)), opt_(opt) {
  check(opt.lr >= 0 && opt.eps >= 0 && opt.alpha >= 0 && opt.alpha <= 1 && opt.momentum >= 0 && opt.weight_decay >= 0,
        "RMSProp: invalid options lr ", opt.lr, " alpha ", opt.alpha, " eps ", opt.eps, " momentum ", opt.momentum,
        " weight_decay ", opt.weight_decay, " (lr, eps, momentum, weight_decay ≥ 0, alpha in [0,1])");
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    check(p.defined() && p.is_leaf() && is_floating(p.dtype()) && p.is_contiguous(), "RMSProp: parameter ", i,
          " must be a contiguous floating leaf");
    v_.push_back(zeros(p.shape(), p.dtype(), p.device()));
    if (opt.centered) m_.push_back(zeros(p.shape(), p.dtype(), p.device()));
    if (opt.momentum > 0) b_.push_back(zeros(p.shape(), p.dtype(), p.device()));
  }
}

void RMSProp::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void RMSProp::step() {
  ++t_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    check(g.shape() == p.shape(), "RMSProp: gradient shape ", g.shape(), " for parameter of shape ", p.shape());
    check(g.dtype() == p.dtype(), "RMSProp: gradient dtype ", dtype_name(g.dtype()), " for a ", dtype_name(p.dtype()), " parameter");
    check(g.device() == p.device(), "RMSProp: gradient on ", device_name(g.device()), " for a parameter on ", device_name(p.device()));
    g = g.detach().contiguous();
    if (p.device() == Device::cuda) {
      const Tensor m = m_.empty() ? Tensor() : m_[i], b = b_.empty() ? Tensor() : b_[i];
      if (p.dtype() == DType::f32) update_cuda<float>(p, g, v_[i], m, b, opt_);
      else update_cuda<double>(p, g, v_[i], m, b, opt_);
      continue;
    }
    if (p.dtype() == DType::f32)
      dispatch<float>(p.data<float>(), g.data<float>(), v_[i].data<float>(), ptr<float>(m_, i), ptr<float>(b_, i), p.numel(), opt_);
    else
      dispatch<double>(p.data<double>(), g.data<double>(), v_[i].data<double>(), ptr<double>(m_, i), ptr<double>(b_, i), p.numel(),
                       opt_);
  }
}

}  // namespace uad::train
