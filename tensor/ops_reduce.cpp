// Reductions and their vjps (written with ops).
#include "tensor/ops_reduce.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/reduce.h"
#include "tensor/autograd.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

Shape normalize_dims(const Shape& dims, int64_t nd, const char* op) {
  Shape out;
  if (dims.empty()) {
    for (int64_t d = 0; d < nd; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) {
    int64_t e = d < 0 ? d + nd : d;
    check(e >= 0 && e < std::max<int64_t>(nd, 1), op, ": dim ", d, " out of range for a ", nd, "-d tensor");
    if (nd == 0) continue;
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

Shape reduced_shape(const Shape& s, const Shape& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < (int64_t)s.size(); ++d) {
    bool r = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!r) out.push_back(s[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

Shape keep_shape(const Shape& s, const Shape& dims) { return reduced_shape(s, dims, true); }

void check_reduce_input(const Tensor& x, const char* op) {
  check(x.defined(), op, ": undefined tensor");
  check(is_floating(x.dtype()), op, ": expected a floating tensor, got ", dtype_name(x.dtype()));
}

/// amax/amin share their vjp: g spread evenly over the positions equal to the extremum.
Tensor extremum(const Tensor& x, const Shape& dims_in, bool keepdim, cpu::ReduceKind kind, const char* op) {
  check_reduce_input(x, op);
  Shape dims = normalize_dims(dims_in, x.dim(), op);
  for (int64_t d : dims) check(x.shape()[d] > 0, op, ": cannot reduce an empty dim of shape ", x.shape());
  Tensor r = dev::on_cuda(x) ? dev::reduce(x, dims, kind == cpu::ReduceKind::max ? 1 : 2) : cpu::reduce(x, dims, kind);  // keepdim shape
  Tensor out = keepdim ? r : r.detach().reshape(reduced_shape(x.shape(), dims, false));
  return record(out, op, {x}, [x, dims, r = r.detach()](const Tensor& g, const std::vector<bool>&) {
    Shape ks = keep_shape(x.shape(), dims);
    Tensor mask = cast(eq(x, expand(r, x.shape())), x.dtype());
    Tensor count = sum(mask, dims, true);
    return std::vector<Tensor>{mul(expand(reshape(g, ks), x.shape()), div(mask, count))};
  });
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims_in, bool keepdim) {
  check_reduce_input(x, "sum");
  Shape dims = normalize_dims(dims_in, x.dim(), "sum");
  Tensor r = dev::on_cuda(x) ? dev::reduce(x, dims, 0) : cpu::reduce(x, dims, cpu::ReduceKind::sum);
  Tensor out = keepdim ? r : r.reshape(reduced_shape(x.shape(), dims, false));
  return record(out, "sum", {x}, [xs = x.shape(), dims](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{expand(reshape(g, keep_shape(xs, dims)), xs)};
  });
}

Tensor mean(const Tensor& x, const Shape& dims_in, bool keepdim) {
  Shape dims = normalize_dims(dims_in, x.dim(), "mean");
  int64_t n = 1;
  for (int64_t d : dims) n *= x.shape()[d];
  check(n > 0, "mean: reducing zero elements of shape ", x.shape());
  return mul(sum(x, dims, keepdim), scalar_tensor(1.0 / (double)n, x.dtype()));
}

Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) { return extremum(x, dims, keepdim, cpu::ReduceKind::max, "amax"); }
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) { return extremum(x, dims, keepdim, cpu::ReduceKind::min, "amin"); }

Tensor var(const Tensor& x, const Shape& dims_in, int64_t correction, bool keepdim) {
  check_reduce_input(x, "var");
  Shape dims = normalize_dims(dims_in, x.dim(), "var");
  int64_t n = 1;
  for (int64_t d : dims) n *= x.shape()[d];
  check(n - correction > 0, "var: ", n, " elements with correction ", correction, " (shape ", x.shape(), ")");
  Tensor d = sub(x, mean(x, dims, true));
  return mul(sum(square(d), dims, keepdim), scalar_tensor(1.0 / (double)(n - correction), x.dtype()));
}

Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim) {
  check(p > 0, "norm: p must be > 0, got ", p);
  if (p == 2.0) return sqrt(sum(square(x), dims, keepdim));
  if (p == 1.0) return sum(abs(x), dims, keepdim);
  return pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t nd = g.dim(), ns = (int64_t)shape.size();
  check(nd >= ns, "sum_to: cannot reduce shape ", g.shape(), " to ", shape);
  Shape dims;
  for (int64_t d = 0; d < nd; ++d) {
    int64_t sd = d - (nd - ns);
    if (sd < 0) { dims.push_back(d); continue; }
    if (shape[sd] == 1 && g.shape()[d] != 1) dims.push_back(d);
    else check(shape[sd] == g.shape()[d], "sum_to: cannot reduce shape ", g.shape(), " to ", shape);
  }
  return reshape(sum(g, dims, true), shape);
}

}  // namespace uad
