// Adam (Kingma & Ba 2015, Algorithm 1) as one fused loop per parameter.
#include "train/optim.h"

#include <cmath>

#include "kernels/cpu/elementwise.h"
#include "tensor/autograd.h"

namespace uad::train {

namespace {

template <class T>
void update(T* w, const T* gp, T* m, T* v, int64_t n, const AdamOptions& o, double bc1, double bc2) {
  const T b1 = (T)o.beta1, b2 = (T)o.beta2, wd = (T)o.weight_decay;
  const T step = (T)(o.lr / bc1), rbc2 = (T)(1.0 / std::sqrt(bc2)), eps = (T)o.eps;
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t j = 0; j < n; ++j) {
    T gj = gp[j] + wd * w[j];
    m[j] = b1 * m[j] + (1 - b1) * gj;
    v[j] = b2 * v[j] + (1 - b2) * gj * gj;
    w[j] -= step * m[j] / (std::sqrt(v[j]) * rbc2 + eps);
  }
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions opt) : params_(std::move(params)), opt_(opt) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    check(p.defined() && p.is_leaf() && is_floating(p.dtype()) && p.is_contiguous(),
          "Adam: parameter ", i, " must be a contiguous floating leaf");
    m_.push_back(zeros(p.shape(), p.dtype()));
    v_.push_back(zeros(p.shape(), p.dtype()));
  }
}

void Adam::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void Adam::step() {
  ++t_;
  const double bc1 = 1.0 - std::pow(opt_.beta1, (double)t_);
  const double bc2 = 1.0 - std::pow(opt_.beta2, (double)t_);
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    check(g.shape() == p.shape(), "Adam: gradient shape ", g.shape(), " for parameter of shape ", p.shape());
    g = g.detach().contiguous();
    if (p.dtype() == DType::f32)
      update<float>(p.data<float>(), g.data<float>(), m_[i].data<float>(), v_[i].data<float>(), p.numel(), opt_, bc1, bc2);
    else
      update<double>(p.data<double>(), g.data<double>(), m_[i].data<double>(), v_[i].data<double>(), p.numel(), opt_, bc1, bc2);
  }
}

}  // namespace uad::train
