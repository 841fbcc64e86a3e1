// Initialisers (see layers/init.h for the formulas and their sources).
#include "layers/init.h"

#include <cmath>

#include "layers/module.h"
#include "tensor/autograd.h"
#include "tensor/ops.h"

namespace uad::nn {

const char* init_name(Init i) {
  switch (i) {
    case Init::pytorch: return "pytorch";
    case Init::xavier_uniform: return "xavier_uniform";
    case Init::dcgan: return "dcgan";
    case Init::kaiming_normal: return "kaiming_normal";
  }
  return "?";
}

namespace init {

namespace {

void check_target(const Tensor& t, const char* op) {
  check(t.defined(), op, ": undefined tensor");
  check(is_floating(t.dtype()), op, ": expected an f32/f64 tensor, got ", dtype_name(t.dtype()), " of shape ", t.shape());
  check(t.is_contiguous(), op, ": tensor of shape ", t.shape(), " is not contiguous");
}

}  // namespace

std::pair<int64_t, int64_t> fans(const Shape& s) {
  check(s.size() >= 2, "init::fans: fan in/out need a weight of at least 2 dims, got ", s);
  int64_t r = 1;
  for (size_t i = 2; i < s.size(); ++i) r *= s[i];
  return {s[1] * r, s[0] * r};
}

void uniform_(const Tensor& t, double lo, double hi, Generator& g) {
  check_target(t, "init::uniform_");
  check(lo <= hi, "init::uniform_: lo ", lo, " > hi ", hi);
  NoGradGuard ng;
  copy_into(t, rand(t.shape(), g, t.dtype()) * (hi - lo) + lo);
}

void normal_(const Tensor& t, double mean, double std, Generator& g) {
  check_target(t, "init::normal_");
  check(std >= 0, "init::normal_: negative std ", std);
  NoGradGuard ng;
  copy_into(t, randn(t.shape(), g, t.dtype()) * std + mean);
}

void constant_(const Tensor& t, double v) {
  check_target(t, "init::constant_");
  NoGradGuard ng;
  copy_into(t, full(t.shape(), v, t.dtype()));
}

double leaky_relu_gain(double a) { return std::sqrt(2.0 / (1.0 + a * a)); }

void kaiming_uniform_(const Tensor& w, double a, Generator& g) {
  const double bound = leaky_relu_gain(a) * std::sqrt(3.0 / (double)fans(w.shape()).first);
  uniform_(w, -bound, bound, g);
}

void kaiming_normal_(const Tensor& w, double a, Generator& g) {
  normal_(w, 0.0, leaky_relu_gain(a) / std::sqrt((double)fans(w.shape()).first), g);
}

void xavier_uniform_(const Tensor& w, Generator& g, double gain) {
  auto [fi, fo] = fans(w.shape());
  const double bound = gain * std::sqrt(6.0 / (double)(fi + fo));
  uniform_(w, -bound, bound, g);
}

void xavier_normal_(const Tensor& w, Generator& g, double gain) {
  auto [fi, fo] = fans(w.shape());
  normal_(w, 0.0, gain * std::sqrt(2.0 / (double)(fi + fo)), g);
}

void init_weight_bias(Init scheme, const Tensor& w, const Tensor& b, Generator& g) {
  switch (scheme) {
    case Init::pytorch: {
      kaiming_uniform_(w, std::sqrt(5.0), g);
      if (b.defined()) {
        const int64_t fan_in = fans(w.shape()).first;
        const double bound = fan_in > 0 ? 1.0 / std::sqrt((double)fan_in) : 0.0;
        uniform_(b, -bound, bound, g);
      }
      return;
    }
    case Init::xavier_uniform: xavier_uniform_(w, g); break;
    case Init::dcgan: normal_(w, 0.0, 0.02, g); break;
    case Init::kaiming_normal: kaiming_normal_(w, 0.0, g); break;
  }
  if (b.defined()) zeros_(b);
}

}  // namespace init
}  // namespace uad::nn
