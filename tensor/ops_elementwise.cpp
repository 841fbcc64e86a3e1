// Elementwise ops: forward via kernels/cpu/elementwise.h, vjps written in these same ops.
#include "tensor/ops_elementwise.h"

#include <limits>

#include "kernels/common/functors.h"
#include "kernels/cpu/elementwise.h"
#include "tensor/autograd.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

namespace {

void check_operand(const Tensor& t, const char* op) { check(t.defined(), op, ": undefined tensor"); }

void check_pair(const Tensor& a, const Tensor& b, const char* op) {
  check(a.defined() && b.defined(), op, ": undefined tensor");
  check(a.device() == b.device(), op, ": device mix ", device_name(a.device()), " and ", device_name(b.device()), " (shapes ",
        a.shape(), " and ", b.shape(), ")");
  check_operand(a, op);
  check_operand(b, op);
  check(a.dtype() == b.dtype(), op, ": dtype mix ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()), " (shapes ",
        a.shape(), " and ", b.shape(), ")");
}

/// The operands of a binary op: a one-element CPU operand meeting a cuda one stays where it is
/// when it needs no gradient (binary_forward passes it by value: no device copy) and is moved
/// otherwise (dev::promote_scalar; differentiable, so the graph records the move).
struct Operands {
  Tensor a, b;
  Operands(const Tensor& x, const Tensor& y)
      : a(dev::by_value(x, y) ? x : dev::promote_scalar(x, y)), b(dev::by_value(y, x) ? y : dev::promote_scalar(y, x)) {}
};

template <class F> Tensor binary_forward(const Tensor& a, const Tensor& b, F f, cuda::BinaryOp cop, const char* op) {
  if (dev::by_value(b, a)) return dev::binary_scalar(a, b, cop, /*scalar_first=*/false, op);
  if (dev::by_value(a, b)) return dev::binary_scalar(b, a, cop, /*scalar_first=*/true, op);
  check_pair(a, b, op);
  if (dev::on_cuda(a)) return dev::binary(a, b, cop, op);
  return UAD_DISPATCH_FLOAT(a.dtype(), op, [&] { return cpu::map_binary<scalar_t, scalar_t, scalar_t>(a, b, f, op); });
}

template <class F>
Tensor unary_forward(const Tensor& x, F f, cuda::UnaryOp cop, const char* op, cuda::UnaryParams prm = {}) {
  check_operand(x, op);
  if (dev::on_cuda(x)) return dev::unary(x, cop, prm, op);
  return UAD_DISPATCH_FLOAT(x.dtype(), op, [&] { return cpu::map_unary<scalar_t, scalar_t>(x, f); });
}

template <class F> Tensor compare(const Tensor& a_in, const Tensor& b_in, F f, cuda::CompareOp cop, const char* op) {
  const Tensor a = dev::promote_scalar(a_in, b_in), b = dev::promote_scalar(b_in, a_in);
  check_pair(a, b, op);
  if (dev::on_cuda(a)) return dev::compare(a, b, cop, op);
  return UAD_DISPATCH_ALL(a.dtype(), op, [&] {
    return cpu::map_binary<scalar_t, scalar_t, uint8_t>(a, b, [f](scalar_t x, scalar_t y) { return (uint8_t)f(x, y); }, op);
  });
}

Tensor scalar_like(double s, const Tensor& t) { return scalar_tensor(s, t.dtype()); }

/// pow(x, p) on cuda with the CPU's special cases (p = 2: square, 1: copy, 0.5: sqrt; else
/// fn::Pow against a one-element exponent).
Tensor pow_scalar_cuda(const Tensor& x, double p) {
  if (p == 2.0) return dev::unary(x, cuda::UnaryOp::square, {}, "pow");
  if (p == 1.0) return clone(x.detach());
  if (p == 0.5) return dev::unary(x, cuda::UnaryOp::sqrt, {}, "pow");
  return dev::binary(x, full({}, p, x.dtype(), Device::cuda), cuda::BinaryOp::pow, "pow");
}

/// The output saved for a vjp: when the backward is itself recorded (create_graph) the output is
/// recomputed from the input so its own history is part of the graph; otherwise the detached
/// forward result is reused (no cycle node → output → node).
template <class Recompute> Tensor saved_or_recomputed(const Tensor& saved, Recompute r) {
  return grad_mode_enabled() ? r() : saved;
}

}  // namespace

// ---- arithmetic ------------------------------------------------------------------------------
Tensor add(const Tensor& a_in, const Tensor& b_in) {
  Operands o(a_in, b_in);
  const Tensor &a = o.a, &b = o.b;
  Tensor out = binary_forward(a, b, fn::Add{}, cuda::BinaryOp::add, "add");
  return record(out, "add", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<bool>& n) {
    return std::vector<Tensor>{n[0] ? sum_to(g, sa) : Tensor(), n[1] ? sum_to(g, sb) : Tensor()};
  });
}

Tensor sub(const Tensor& a_in, const Tensor& b_in) {
  Operands o(a_in, b_in);
  const Tensor &a = o.a, &b = o.b;
  Tensor out = binary_forward(a, b, fn::Sub{}, cuda::BinaryOp::sub, "sub");
  return record(out, "sub", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<bool>& n) {
    return std::vector<Tensor>{n[0] ? sum_to(g, sa) : Tensor(), n[1] ? sum_to(neg(g), sb) : Tensor()};
  });
}

Tensor mul(const Tensor& a_in, const Tensor& b_in) {
  Operands o(a_in, b_in);
  const Tensor &a = o.a, &b = o.b;
  Tensor out = binary_forward(a, b, fn::Mul{}, cuda::BinaryOp::mul, "mul");
  return record(out, "mul", {a, b}, [a, b](const Tensor& g, const std::vector<bool>& n) {
    return std::vector<Tensor>{n[0] ? sum_to(mul(g, b), a.shape()) : Tensor(), n[1] ? sum_to(mul(g, a), b.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a_in, const Tensor& b_in) {
  Operands o(a_in, b_in);
  const Tensor &a = o.a, &b = o.b;
  Tensor out = binary_forward(a, b, fn::Div{}, cuda::BinaryOp::div, "div");
  return record(out, "div", {a, b}, [a, b](const Tensor& g, const std::vector<bool>& n) {
    Tensor ga, gb;
    if (n[0]) ga = sum_to(div(g, b), a.shape());
    if (n[1]) gb = sum_to(neg(div(mul(g, a), mul(b, b))), b.shape());
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor pow(const Tensor& a_in, const Tensor& b_in) {
  Operands o(a_in, b_in);
  const Tensor &a = o.a, &b = o.b;
  Tensor out = binary_forward(a, b, fn::Pow{}, cuda::BinaryOp::pow, "pow");
  return record(out, "pow", {a, b}, [a, b](const Tensor& g, const std::vector<bool>& n) {
    Tensor ga, gb;
    if (n[0]) ga = sum_to(mul(g, mul(b, pow(a, sub(b, scalar_like(1.0, b))))), a.shape());
    if (n[1]) gb = sum_to(mul(g, mul(pow(a, b), log(a))), b.shape());
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor pow(const Tensor& x, double p) {
  check_operand(x, "pow");
  Tensor out = dev::on_cuda(x) ? pow_scalar_cuda(x, p) : UAD_DISPATCH_FLOAT(x.dtype(), "pow", [&] {
    if (p == 2.0) return cpu::map_unary<scalar_t, scalar_t>(x, fn::Square{});
    if (p == 1.0) return cpu::map_unary<scalar_t, scalar_t>(x, [](scalar_t v) { return v; });
    if (p == 0.5) return cpu::map_unary<scalar_t, scalar_t>(x, fn::Sqrt{});
    const scalar_t e = (scalar_t)p;
    return cpu::map_unary<scalar_t, scalar_t>(x, [e](scalar_t v) { return std::pow(v, e); });
  });
  return record(out, "pow_scalar", {x}, [x, p](const Tensor& g, const std::vector<bool>&) {
    if (p == 0.0) return std::vector<Tensor>{zeros_like(x)};
    return std::vector<Tensor>{mul(g, mul(pow(x, p - 1.0), scalar_like(p, x)))};
  });
}

Tensor maximum(const Tensor& a_in, const Tensor& b_in) {
  Operands o(a_in, b_in);
  const Tensor &a = o.a, &b = o.b;
  Tensor out = binary_forward(a, b, fn::Max{}, cuda::BinaryOp::max, "maximum");
  return record(out, "maximum", {a, b}, [a, b](const Tensor& g, const std::vector<bool>& n) {
    Tensor m = ge(a, b);
    Tensor z = zeros({}, g.dtype());
    return std::vector<Tensor>{n[0] ? sum_to(where(m, g, z), a.shape()) : Tensor(),
                               n[1] ? sum_to(where(m, z, g), b.shape()) : Tensor()};
  });
}

Tensor minimum(const Tensor& a_in, const Tensor& b_in) {
  Operands o(a_in, b_in);
  const Tensor &a = o.a, &b = o.b;
  Tensor out = binary_forward(a, b, fn::Min{}, cuda::BinaryOp::min, "minimum");
  return record(out, "minimum", {a, b}, [a, b](const Tensor& g, const std::vector<bool>& n) {
    Tensor m = le(a, b);
    Tensor z = zeros({}, g.dtype());
    return std::vector<Tensor>{n[0] ? sum_to(where(m, g, z), a.shape()) : Tensor(),
                               n[1] ? sum_to(where(m, z, g), b.shape()) : Tensor()};
  });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double s) { return add(a, scalar_like(s, a)); }
Tensor operator-(const Tensor& a, double s) { return sub(a, scalar_like(s, a)); }
Tensor operator*(const Tensor& a, double s) { return mul(a, scalar_like(s, a)); }
Tensor operator/(const Tensor& a, double s) { return mul(a, scalar_like(1.0 / s, a)); }
Tensor operator+(double s, const Tensor& a) { return add(scalar_like(s, a), a); }
Tensor operator-(double s, const Tensor& a) { return sub(scalar_like(s, a), a); }
Tensor operator*(double s, const Tensor& a) { return mul(scalar_like(s, a), a); }
Tensor operator/(double s, const Tensor& a) { return div(scalar_like(s, a), a); }
Tensor operator-(const Tensor& a) { return neg(a); }

// ---- unary -----------------------------------------------------------------------------------
Tensor neg(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Neg{}, cuda::UnaryOp::neg, "neg");
  return record(out, "neg", {x}, [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{neg(g)}; });
}

Tensor sign(const Tensor& x) { return unary_forward(x, fn::Sign{}, cuda::UnaryOp::sign, "sign"); }

Tensor abs(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Abs{}, cuda::UnaryOp::abs, "abs");
  return record(out, "abs", {x}, [x](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{mul(g, sign(x))};
  });
}

Tensor exp(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Exp{}, cuda::UnaryOp::exp, "exp");
  return record(out, "exp", {x}, [x, y = out.detach()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{mul(g, saved_or_recomputed(y, [&] { return exp(x); }))};
  });
}

Tensor log(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Log{}, cuda::UnaryOp::log, "log");
  return record(out, "log", {x}, [x](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{div(g, x)}; });
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Sqrt{}, cuda::UnaryOp::sqrt, "sqrt");
  return record(out, "sqrt", {x}, [x, y = out.detach()](const Tensor& g, const std::vector<bool>&) {
    Tensor s = saved_or_recomputed(y, [&] { return sqrt(x); });
    return std::vector<Tensor>{div(g, mul(s, scalar_like(2.0, x)))};
  });
}

Tensor square(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Square{}, cuda::UnaryOp::square, "square");
  return record(out, "square", {x}, [x](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{mul(g, mul(x, scalar_like(2.0, x)))};
  });
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  check(lo <= hi, "clamp: lower bound ", lo, " exceeds upper bound ", hi);
  Tensor out = unary_forward(x, fn::Clamp{lo, hi}, cuda::UnaryOp::clamp, "clamp", {lo, hi});
  return record(out, "clamp", {x}, [x, lo, hi](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{mul(g, unary_forward(x, fn::InRange{lo, hi}, cuda::UnaryOp::in_range, "clamp_backward", {lo, hi}))};
  });
}

Tensor where(const Tensor& cond_in, const Tensor& a_in, const Tensor& b_in) {
  check_operand(cond_in, "where");
  // One-element CPU values meeting a cuda condition (e.g. where(mask, 1, slope)) move too.
  const Tensor a0 = dev::promote_scalar(a_in, cond_in), b0 = dev::promote_scalar(b_in, cond_in);
  const Tensor a = dev::promote_scalar(a0, b0), b = dev::promote_scalar(b0, a0);
  const Tensor cond = dev::promote_scalar(cond_in, a);
  check_pair(a, b, "where");
  check(cond.device() == a.device(), "where: condition on ", device_name(cond.device()), ", values on ", device_name(a.device()));
  check(cond.dtype() == DType::u8, "where: condition must be u8, got ", dtype_name(cond.dtype()));
  Tensor out = dev::on_cuda(a) ? dev::where(cond, a, b) : UAD_DISPATCH_FLOAT(a.dtype(), "where", [&] {
    return cpu::map_ternary<uint8_t, scalar_t>(cond, a, b, [](uint8_t c, scalar_t x, scalar_t y) { return c ? x : y; }, "where");
  });
  return record(out, "where", {a, b}, [cond, sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<bool>& n) {
    Tensor z = zeros({}, g.dtype());
    return std::vector<Tensor>{n[0] ? sum_to(where(cond, g, z), sa) : Tensor(), n[1] ? sum_to(where(cond, z, g), sb) : Tensor()};
  });
}

// ---- activations ---------------------------------------------------------------------------
Tensor relu(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Relu{}, cuda::UnaryOp::relu, "relu");
  return record(out, "relu", {x}, [x](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{mul(g, unary_forward(x, fn::Positive{}, cuda::UnaryOp::positive, "relu_backward"))};
  });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor out = unary_forward(x, fn::LeakyRelu{slope}, cuda::UnaryOp::leaky_relu, "leaky_relu", {slope, 0});
  return record(out, "leaky_relu", {x}, [x, slope](const Tensor& g, const std::vector<bool>&) {
    // d/dx = 1 for x > 0, slope otherwise: a constant mask, so higher derivatives are 0.
    if (dev::on_cuda(x))
      return std::vector<Tensor>{mul(g, where(gt(x.detach(), zeros({}, x.dtype())), ones({}, x.dtype()), scalar_like(slope, x)))};
    Tensor m = UAD_DISPATCH_FLOAT(x.dtype(), "leaky_relu_backward", [&] {
      const scalar_t s = (scalar_t)slope;
      return cpu::map_unary<scalar_t, scalar_t>(x, [s](scalar_t v) { return v > scalar_t(0) ? scalar_t(1) : s; });
    });
    return std::vector<Tensor>{mul(g, m)};
  });
}

Tensor elu(const Tensor& x, double alpha) {
  Tensor out = unary_forward(x, fn::Elu{alpha}, cuda::UnaryOp::elu, "elu", {alpha, 0});
  return record(out, "elu", {x}, [x, alpha](const Tensor& g, const std::vector<bool>&) {
    // d/dx = 1 for x > 0, α·eˣ otherwise (written with ops so it can be differentiated again).
    Tensor pos = gt(x, zeros({}, x.dtype()));
    Tensor d = where(pos, ones({}, x.dtype()), mul(exp(clamp(x, -std::numeric_limits<double>::infinity(), 0.0)), scalar_like(alpha, x)));
    return std::vector<Tensor>{mul(g, d)};
  });
}

Tensor tanh(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Tanh{}, cuda::UnaryOp::tanh, "tanh");
  return record(out, "tanh", {x}, [x, y = out.detach()](const Tensor& g, const std::vector<bool>&) {
    Tensor t = saved_or_recomputed(y, [&] { return tanh(x); });
    return std::vector<Tensor>{mul(g, sub(scalar_like(1.0, x), square(t)))};
  });
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Sigmoid{}, cuda::UnaryOp::sigmoid, "sigmoid");
  return record(out, "sigmoid", {x}, [x, y = out.detach()](const Tensor& g, const std::vector<bool>&) {
    Tensor s = saved_or_recomputed(y, [&] { return sigmoid(x); });
    return std::vector<Tensor>{mul(g, mul(s, sub(scalar_like(1.0, x), s)))};
  });
}

Tensor softplus(const Tensor& x) {
  Tensor out = unary_forward(x, fn::Softplus{}, cuda::UnaryOp::softplus, "softplus");
  return record(out, "softplus", {x}, [x](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{mul(g, sigmoid(x))};
  });
}

// ---- comparisons -------------------------------------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x == y; }, cuda::CompareOp::eq, "eq"); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x != y; }, cuda::CompareOp::ne, "ne"); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x < y; }, cuda::CompareOp::lt, "lt"); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x <= y; }, cuda::CompareOp::le, "le"); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x > y; }, cuda::CompareOp::gt, "gt"); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x >= y; }, cuda::CompareOp::ge, "ge"); }

// ---- dtype -----------------------------------------------------------------------------------
Tensor cast(const Tensor& x, DType t) {
  check_operand(x, "cast");
  if (x.dtype() == t) return x;
  Tensor out = empty(x.shape(), t, x.device());
  if (dev::on_cuda(x)) dev::copy_into(out, x);
  else cpu::copy_into(out, x);
  if (!is_floating(t) || !is_floating(x.dtype())) return out;
  return record(out, "cast", {x}, [src = x.dtype()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{cast(g, src)};
  });
}

}  // namespace uad
