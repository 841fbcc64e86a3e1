// Adam (Kingma & Ba 2015, Algorithm 1) as one fused loop per parameter on the CPU, and one fused
// multi-tensor launch (kernels/cuda/adam.cu via the backend table) for the parameters on cuda.
#include "train/optim.h"

#include <cmath>

#include "kernels/common/optim_functors.h"
#include "kernels/cpu/elementwise.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"

namespace uad::train {

namespace {

/// The formula is fn::adam_update (kernels/common/optim_functors.h), shared with the CUDA kernel.
template <class T> void update(T* w, const T* gp, T* m, T* v, int64_t n, const AdamOptions& o, int64_t t) {
  const fn::AdamScalars<T> s = fn::adam_scalars<T>(o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, t);
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t j = 0; j < n; ++j) fn::adam_update(w[j], gp[j], m[j], v[j], s);
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions opt) : params_(std::move(params)), opt_(opt) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    check(p.defined() && p.is_leaf() && is_floating(p.dtype()) && p.is_contiguous(),
          "Adam: parameter ", i, " must be a contiguous floating leaf");
    m_.push_back(zeros(p.shape(), p.dtype(), p.device()));
    v_.push_back(zeros(p.shape(), p.dtype(), p.device()));
  }
}

void Adam::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void Adam::step() {
  ++t_;
  // Device parameters are collected per dtype and updated by one multi-tensor adam_step call;
  // `keep` holds their contiguous gradients until it is enqueued (the caching allocator is
  // stream-ordered, so releasing them afterwards is safe while the kernel runs).
  std::vector<cuda::AdamTensor> dev_f32, dev_f64;
  std::vector<Tensor> keep;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    check(g.shape() == p.shape(), "Adam: gradient shape ", g.shape(), " for parameter of shape ", p.shape());
    check(g.dtype() == p.dtype() && g.device() == p.device(), "Adam: gradient of parameter ", i, " (shape ", p.shape(), ") is ",
          dtype_name(g.dtype()), " on ", device_name(g.device()), ", the parameter ", dtype_name(p.dtype()), " on ",
          device_name(p.device()));
    g = g.detach().contiguous();
    if (p.device() == Device::cuda) {
      keep.push_back(g);
      (p.dtype() == DType::f32 ? dev_f32 : dev_f64).push_back({p.raw(), g.raw(), m_[i].raw(), v_[i].raw(), p.numel()});
      continue;
    }
    if (p.dtype() == DType::f32)
      update<float>(p.data<float>(), g.data<float>(), m_[i].data<float>(), v_[i].data<float>(), p.numel(), opt_, t_);
    else
      update<double>(p.data<double>(), g.data<double>(), m_[i].data<double>(), v_[i].data<double>(), p.numel(), opt_, t_);
  }
  if (dev_f32.empty() && dev_f64.empty()) return;
  const CudaBackend& b = cuda_backend("Adam");
  OpRange r(b, "adam_step");
  const cuda::AdamStepParams prm{opt_.lr, opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay, t_};
  if (!dev_f32.empty()) b.adam_step(DType::f32, dev_f32, prm, b.stream());
  if (!dev_f64.empty()) b.adam_step(DType::f64, dev_f64, prm, b.stream());
}

}  // namespace uad::train
