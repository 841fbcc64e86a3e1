// Pooling and upsampling ops: argument checks, the [N,C,*S] ↔ [N·C,D,H,W] plane view for the CPU
// kernels (kernels/cpu/pool.h, kernels/cpu/upsample.h), and vjps that are again ops of this file
// (each pair of linear maps is closed under differentiation, see ops_pool.h). On Device::cuda the
// same plane view goes to the backend table's kernels (kernels/cuda/pool.cu, upsample.cu,
// spatial.cu); the vjps are the same ops, so they dispatch by themselves.
#include "tensor/ops_pool.h"

#include <cstdint>

#include "kernels/cpu/pool.h"
#include "kernels/cpu/upsample.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

namespace {

const char* layout_of(int64_t nsp) { return nsp == 1 ? "[N,C,W]" : nsp == 2 ? "[N,C,H,W]" : "[N,C,D,H,W]"; }

void check_float(const Tensor& x, const char* op) {
  check(x.defined(), op, ": undefined tensor");
  check(is_floating(x.dtype()), op, ": expected an f32 or f64 tensor, got ", dtype_name(x.dtype()), " of shape ", x.shape());
}

void check_rank(const Shape& xs, int64_t nsp, const char* op) {
  check((int64_t)xs.size() == nsp + 2, op, ": expected a ", nsp + 2, "-d input ", layout_of(nsp), ", got shape ", xs);
}

/// One entry per spatial dim from a list of 1 or nsp entries.
Shape per_dim(const Shape& v, int64_t nsp, const char* what, const char* op, const Shape& xs) {
  if (v.size() == 1) return Shape(nsp, v[0]);
  check((int64_t)v.size() == nsp, op, ": ", what, " needs 1 or ", nsp, " entries, got ", v, " (input ", xs, ")");
  return v;
}

/// [N,C,*S] → the kernels' plane view [N·C, D, H, W] (missing leading spatial dims are 1).
Shape planes(const Shape& s) {
  Shape p{s[0] * s[1], 1, 1, 1};
  const int64_t nsp = (int64_t)s.size() - 2;
  for (int64_t i = 0; i < nsp; ++i) p[4 - nsp + i] = s[2 + i];
  return p;
}

/// Spatial extent padded to (D,H,W) with leading 1s.
Shape spatial3(const Shape& s) {
  Shape p = planes(s);
  return {p[1], p[2], p[3]};
}

/// A contiguous, history-free view of x in the kernels' layout `shape`.
Tensor kernel_view(const Tensor& x, const Shape& shape) { return x.detach().contiguous().reshape(shape); }

struct PoolGeom {
  cpu::PoolWindow w;
  Shape out_shape;  // [N,C,*O]
};

/// The CUDA kernels' geometry (kernels/cuda/kernels.h) of window w over input shape xs [N,C,*S].
cuda::PoolGeometry device_geometry(const Shape& xs, const cpu::PoolWindow& w) {
  const Shape p = planes(xs);
  cuda::PoolGeometry g;
  g.P = p[0];
  g.D = p[1];
  g.H = p[2];
  g.W = p[3];
  for (int i = 0; i < 3; ++i) {
    g.k[i] = w.k[i];
    g.s[i] = w.s[i];
    g.p[i] = w.p[i];
  }
  return g;
}

/// A contiguous, history-free device buffer of x (for the kernels' raw pointers).
Tensor dev_buffer(const Tensor& x) { return contiguous(x.detach()); }

/// The indices of a max pooling must live with the values they index.
void check_same_device(const Tensor& t, const Tensor& idx, const char* op) {
  check(t.device() == idx.device(), op, ": device mix: values ", t.shape(), " on ", device_name(t.device()), ", indices ",
        idx.shape(), " on ", device_name(idx.device()));
}

PoolGeom pool_geom(const Shape& xs, int64_t nsp, const Shape& kernel, const Shape& stride, const Shape& padding,
                   const char* op) {
  check_rank(xs, nsp, op);
  Shape k = per_dim(kernel, nsp, "kernel", op, xs);
  Shape s = stride.empty() ? k : per_dim(stride, nsp, "stride", op, xs);
  Shape p = per_dim(padding, nsp, "padding", op, xs);
  PoolGeom g;
  g.out_shape = {xs[0], xs[1]};
  for (int64_t i = 0; i < nsp; ++i) {
    check(k[i] >= 1 && s[i] >= 1, op, ": kernel ", k, " and stride ", s, " must be ≥ 1 (input ", xs, ")");
    check(p[i] >= 0 && p[i] <= k[i] / 2, op, ": padding ", p, " must be between 0 and half the kernel ", k,
          " (input ", xs, ")");
    check(xs[2 + i] + 2 * p[i] >= k[i], op, ": input ", xs, " with padding ", p, " is smaller than the kernel ", k);
    const int64_t j = 3 - nsp + i;
    g.w.k[j] = k[i];
    g.w.s[j] = s[i];
    g.w.p[j] = p[i];
    g.out_shape.push_back(cpu::pool_out_size(xs[2 + i], k[i], s[i], p[i]));
  }
  return g;
}

Tensor avg_pool_nd(const Tensor& x, int64_t nsp, const Shape& kernel, const Shape& stride, const Shape& padding,
                   const char* op) {
  check_float(x, op);
  PoolGeom geo = pool_geom(x.shape(), nsp, kernel, stride, padding, op);
  Tensor y;
  if (dev::on_cuda(x)) {
    const CudaBackend& be = cuda_backend(op);
    OpRange r(be, op);
    Tensor xc = dev_buffer(x);
    y = empty(geo.out_shape, x.dtype(), Device::cuda);
    be.avg_pool_forward(x.dtype(), xc.raw(), y.raw(), device_geometry(x.shape(), geo.w), be.stream());
  } else {
    y = cpu::avg_pool_forward(kernel_view(x, planes(x.shape())), geo.w).reshape(geo.out_shape);
  }
  return record(y, op, {x}, [xs = x.shape(), kernel, stride, padding](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{avg_pool_backward(g, xs, kernel, stride, padding)};
  });
}

Tensor max_pool_backward_window(const Tensor& g, const Tensor& indices, const Shape& input_shape, const cpu::PoolWindow& w);

std::pair<Tensor, Tensor> max_pool_nd(const Tensor& x, int64_t nsp, const Shape& kernel, const Shape& stride,
                                      const Shape& padding, const char* op) {
  check_float(x, op);
  PoolGeom geo = pool_geom(x.shape(), nsp, kernel, stride, padding, op);
  check(numel_of(spatial3(x.shape())) <= INT32_MAX, op, ": input plane of ", x.shape(), " too large for i32 indices");
  Tensor y0, idx;
  if (dev::on_cuda(x)) {
    const CudaBackend& be = cuda_backend(op);
    OpRange r(be, op);
    Tensor xc = dev_buffer(x);
    y0 = empty(geo.out_shape, x.dtype(), Device::cuda);
    idx = empty(geo.out_shape, DType::i32, Device::cuda);
    be.max_pool_forward(x.dtype(), xc.raw(), y0.raw(), idx.data<int32_t>(), device_geometry(x.shape(), geo.w), be.stream());
  } else {
    auto [y4, i4] = cpu::max_pool_forward(kernel_view(x, planes(x.shape())), geo.w);
    y0 = y4.reshape(geo.out_shape);
    idx = i4.reshape(geo.out_shape);
  }
  Tensor y = record(y0, op, {x}, [idx, xs = x.shape(), w = geo.w](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{max_pool_backward_window(g, idx, xs, w)};
  });
  return {y, idx};
}

/// Checks an upsample input shape against `size` and returns the output shape [N,C,*size].
Shape upsample_shape(const Shape& xs, const Shape& size, const char* op) {
  const int64_t nsp = (int64_t)xs.size() - 2;
  check(nsp >= 1 && nsp <= 3, op, ": expected a 3-, 4- or 5-d input [N,C,W], [N,C,H,W] or [N,C,D,H,W], got shape ", xs);
  check((int64_t)size.size() == nsp, op, ": size ", size, " needs one entry per spatial dim of the input ", xs);
  Shape out{xs[0], xs[1]};
  for (int64_t i = 0; i < nsp; ++i) {
    check(size[i] >= 1, op, ": output size ", size, " must be ≥ 1 (input ", xs, ")");
    check(xs[2 + i] >= 1, op, ": input ", xs, " has an empty spatial dim");
    out.push_back(size[i]);
  }
  return out;
}

/// Checks g of a backward op against input_shape; returns the forward's `size`.
Shape backward_size(const Tensor& g, const Shape& input_shape, const char* op) {
  check_float(g, op);
  check(g.dim() == (int64_t)input_shape.size() && g.dim() >= 3, op, ": gradient ", g.shape(),
        " and input shape ", input_shape, " must both be [N,C,*spatial] of equal rank");
  Shape size(g.shape().begin() + 2, g.shape().end());
  check(upsample_shape(input_shape, size, op) == g.shape(), op, ": gradient ", g.shape(),
        " does not match the input shape ", input_shape);
  return size;
}

}  // namespace

// ---- pooling -------------------------------------------------------------------------------

Tensor avg_pool2d(const Tensor& x, const Shape& k, const Shape& s, const Shape& p) { return avg_pool_nd(x, 2, k, s, p, "avg_pool2d"); }
Tensor avg_pool3d(const Tensor& x, const Shape& k, const Shape& s, const Shape& p) { return avg_pool_nd(x, 3, k, s, p, "avg_pool3d"); }

Tensor max_pool2d(const Tensor& x, const Shape& k, const Shape& s, const Shape& p) { return max_pool_nd(x, 2, k, s, p, "max_pool2d").first; }
Tensor max_pool3d(const Tensor& x, const Shape& k, const Shape& s, const Shape& p) { return max_pool_nd(x, 3, k, s, p, "max_pool3d").first; }

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Shape& k, const Shape& s, const Shape& p) {
  return max_pool_nd(x, 2, k, s, p, "max_pool2d");
}
std::pair<Tensor, Tensor> max_pool3d_with_indices(const Tensor& x, const Shape& k, const Shape& s, const Shape& p) {
  return max_pool_nd(x, 3, k, s, p, "max_pool3d");
}

Tensor avg_pool_backward(const Tensor& g, const Shape& input_shape, const Shape& kernel, const Shape& stride,
                         const Shape& padding) {
  const char* op = "avg_pool_backward";
  check_float(g, op);
  const int64_t nsp = (int64_t)input_shape.size() - 2;
  check(nsp == 2 || nsp == 3, op, ": input shape ", input_shape, " must be [N,C,H,W] or [N,C,D,H,W]");
  PoolGeom geo = pool_geom(input_shape, nsp, kernel, stride, padding, op);
  check(g.shape() == geo.out_shape, op, ": gradient ", g.shape(), " does not match the pooled shape ", geo.out_shape,
        " of input ", input_shape);
  Tensor gx;
  if (dev::on_cuda(g)) {
    const CudaBackend& be = cuda_backend(op);
    OpRange r(be, op);
    Tensor gc = dev_buffer(g);
    gx = empty(input_shape, g.dtype(), Device::cuda);
    be.avg_pool_backward(g.dtype(), gc.raw(), gx.raw(), device_geometry(input_shape, geo.w), be.stream());
  } else {
    gx = cpu::avg_pool_backward(kernel_view(g, planes(g.shape())), planes(input_shape), geo.w).reshape(input_shape);
  }
  return record(gx, op, {g}, [nsp, kernel, stride, padding](const Tensor& gg, const std::vector<bool>&) {
    return std::vector<Tensor>{avg_pool_nd(gg, nsp, kernel, stride, padding, nsp == 2 ? "avg_pool2d" : "avg_pool3d")};
  });
}

namespace {

/// Checks the (values, indices) pair of a max-pool scatter/gather: equal rank, matching N and C.
void check_indices(const Tensor& idx, const Shape& out_shape, const Shape& input_shape, const char* op) {
  check(idx.defined() && idx.dtype() == DType::i32, op, ": indices must be an i32 tensor");
  check(idx.shape() == out_shape, op, ": indices ", idx.shape(), " do not match the pooled shape ", out_shape);
  check(out_shape.size() == input_shape.size() && out_shape.size() >= 3 && out_shape[0] == input_shape[0] &&
            out_shape[1] == input_shape[1],
        op, ": pooled shape ", out_shape, " and input shape ", input_shape, " must be [N,C,*spatial] with equal N, C and rank");
}

}  // namespace

Tensor max_pool_backward(const Tensor& g, const Tensor& indices, const Shape& input_shape) {
  const char* op = "max_pool_backward";
  check_float(g, op);
  check_indices(indices, g.shape(), input_shape, op);
  const int64_t P = g.shape()[0] * g.shape()[1];
  const int64_t Q = P ? g.numel() / P : 0, plane = numel_of(spatial3(input_shape));
  check_same_device(g, indices, op);
  Tensor gx;
  if (dev::on_cuda(g)) {
    const CudaBackend& be = cuda_backend(op);
    OpRange r(be, op);
    Tensor gc = dev_buffer(g), ic = dev_buffer(indices);
    gx = empty(input_shape, g.dtype(), Device::cuda);
    be.index_scatter_add(g.dtype(), gc.raw(), ic.data<int32_t>(), gx.raw(), P, Q, plane, be.stream());
  } else {
    gx = cpu::index_scatter_add(kernel_view(g, {P, Q}), kernel_view(indices, {P, Q}), plane).reshape(input_shape);
  }
  return record(gx, op, {g}, [indices](const Tensor& gg, const std::vector<bool>&) {
    return std::vector<Tensor>{max_pool_gather(gg, indices)};
  });
}

Tensor max_pool_gather(const Tensor& x, const Tensor& indices) {
  const char* op = "max_pool_gather";
  check_float(x, op);
  check_indices(indices, indices.shape(), x.shape(), op);
  const int64_t P = x.shape()[0] * x.shape()[1];
  const int64_t plane = numel_of(spatial3(x.shape())), Q = P ? indices.numel() / P : 0;
  check_same_device(x, indices, op);
  Tensor y;
  if (dev::on_cuda(x)) {
    const CudaBackend& be = cuda_backend(op);
    OpRange r(be, op);
    Tensor xc = dev_buffer(x), ic = dev_buffer(indices);
    y = empty(indices.shape(), x.dtype(), Device::cuda);
    be.index_gather(x.dtype(), xc.raw(), ic.data<int32_t>(), y.raw(), P, plane, Q, be.stream());
  } else {
    y = cpu::index_gather(kernel_view(x, {P, plane}), kernel_view(indices, {P, Q})).reshape(indices.shape());
  }
  return record(y, op, {x}, [indices, xs = x.shape()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{max_pool_backward(g, indices, xs)};
  });
}

namespace {

/// The vjp of max pooling: max_pool_backward(g, indices, input_shape) — on the CPU exactly that
/// op; on the device pool.cu's gather kernel, which needs the window w (every input cell visits
/// only the outputs whose windows cover it). Recorded as max_pool_backward (vjp: max_pool_gather).
Tensor max_pool_backward_window(const Tensor& g, const Tensor& indices, const Shape& input_shape, const cpu::PoolWindow& w) {
  if (!dev::on_cuda(g)) return max_pool_backward(g, indices, input_shape);
  const char* op = "max_pool_backward";
  check_float(g, op);
  check_indices(indices, g.shape(), input_shape, op);
  check_same_device(g, indices, op);
  const CudaBackend& be = cuda_backend(op);
  Tensor gx;
  {
    OpRange r(be, op);
    Tensor gc = dev_buffer(g), ic = dev_buffer(indices);
    gx = empty(input_shape, g.dtype(), Device::cuda);
    be.max_pool_backward(g.dtype(), gc.raw(), ic.data<int32_t>(), gx.raw(), device_geometry(input_shape, w), be.stream());
  }
  return record(gx, op, {g}, [indices](const Tensor& gg, const std::vector<bool>&) {
    return std::vector<Tensor>{max_pool_gather(gg, indices)};
  });
}

/// The plane extents of the upsample kernels: P and the (D,H,W) triples of the two shapes.
struct UpsampleExt {
  int64_t P, in[3], out[3];
};
UpsampleExt upsample_ext(const Shape& in_shape, const Shape& out_shape) {
  const Shape a = planes(in_shape), b = planes(out_shape);
  return {a[0], {a[1], a[2], a[3]}, {b[1], b[2], b[3]}};
}

}  // namespace

// ---- upsampling ----------------------------------------------------------------------------

Tensor upsample_nearest(const Tensor& x, const Shape& size) {
  const char* op = "upsample_nearest";
  check_float(x, op);
  Shape os = upsample_shape(x.shape(), size, op);
  Tensor y;
  if (dev::on_cuda(x)) {
    const CudaBackend& be = cuda_backend(op);
    OpRange r(be, op);
    Tensor xc = dev_buffer(x);
    y = empty(os, x.dtype(), Device::cuda);
    const UpsampleExt e = upsample_ext(x.shape(), os);
    be.upsample_nearest_forward(x.dtype(), xc.raw(), y.raw(), e.P, e.in, e.out, be.stream());
  } else {
    y = cpu::upsample_nearest_forward(kernel_view(x, planes(x.shape())), spatial3(os)).reshape(os);
  }
  return record(y, op, {x}, [xs = x.shape()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{upsample_nearest_backward(g, xs)};
  });
}

Tensor upsample_nearest_backward(const Tensor& g, const Shape& input_shape) {
  const char* op = "upsample_nearest_backward";
  Shape size = backward_size(g, input_shape, op);
  Tensor gx;
  if (dev::on_cuda(g)) {
    const CudaBackend& be = cuda_backend(op);
    OpRange r(be, op);
    Tensor gc = dev_buffer(g);
    gx = empty(input_shape, g.dtype(), Device::cuda);
    const UpsampleExt e = upsample_ext(input_shape, g.shape());
    be.upsample_nearest_backward(g.dtype(), gc.raw(), gx.raw(), e.P, e.in, e.out, be.stream());
  } else {
    gx = cpu::upsample_nearest_backward(kernel_view(g, planes(g.shape())), spatial3(input_shape)).reshape(input_shape);
  }
  return record(gx, op, {g}, [size](const Tensor& gg, const std::vector<bool>&) {
    return std::vector<Tensor>{upsample_nearest(gg, size)};
  });
}

Tensor upsample_linear(const Tensor& x, const Shape& size, bool align_corners) {
  const char* op = "upsample_linear";
  check_float(x, op);
  Shape os = upsample_shape(x.shape(), size, op);
  Tensor y;
  if (dev::on_cuda(x)) {
    const CudaBackend& be = cuda_backend(op);
    OpRange r(be, op);
    Tensor xc = dev_buffer(x);
    y = empty(os, x.dtype(), Device::cuda);
    const UpsampleExt e = upsample_ext(x.shape(), os);
    be.upsample_linear_forward(x.dtype(), xc.raw(), y.raw(), e.P, e.in, e.out, align_corners, be.stream());
  } else {
    y = cpu::upsample_linear_forward(kernel_view(x, planes(x.shape())), spatial3(os), align_corners).reshape(os);
  }
  return record(y, op, {x}, [xs = x.shape(), align_corners](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{upsample_linear_backward(g, xs, align_corners)};
  });
}

Tensor upsample_linear_backward(const Tensor& g, const Shape& input_shape, bool align_corners) {
  const char* op = "upsample_linear_backward";
  Shape size = backward_size(g, input_shape, op);
  Tensor gx;
  if (dev::on_cuda(g)) {
    const CudaBackend& be = cuda_backend(op);
    OpRange r(be, op);
    Tensor gc = dev_buffer(g);
    gx = empty(input_shape, g.dtype(), Device::cuda);
    const UpsampleExt e = upsample_ext(input_shape, g.shape());
    be.upsample_linear_backward(g.dtype(), gc.raw(), gx.raw(), e.P, e.in, e.out, align_corners, be.stream());
  } else {
    gx = cpu::upsample_linear_backward(kernel_view(g, planes(g.shape())), spatial3(input_shape), align_corners)
             .reshape(input_shape);
  }
  return record(gx, op, {g}, [size, align_corners](const Tensor& gg, const std::vector<bool>&) {
    return std::vector<Tensor>{upsample_linear(gg, size, align_corners)};
  });
}

}  // namespace uad
