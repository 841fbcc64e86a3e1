// RMSProp (torch.optim.RMSprop semantics) as one fused loop per parameter.
#include "train/rmsprop.h"

#include <cmath>

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
    v_.push_back(zeros(p.shape(), p.dtype()));
    if (opt.centered) m_.push_back(zeros(p.shape(), p.dtype()));
    if (opt.momentum > 0) b_.push_back(zeros(p.shape(), p.dtype()));
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
    g = g.detach().contiguous();
    if (p.dtype() == DType::f32)
      dispatch<float>(p.data<float>(), g.data<float>(), v_[i].data<float>(), ptr<float>(m_, i), ptr<float>(b_, i), p.numel(), opt_);
    else
      dispatch<double>(p.data<double>(), g.data<double>(), v_[i].data<double>(), ptr<double>(m_, i), ptr<double>(b_, i), p.numel(),
                       opt_);
  }
}

}  // namespace uad::train
