// Convolution ops (see ops_conv.h): conv, conv_backward_input and conv_backward_weight, each with
// a vjp written with the other two (PyTorch's _convolution_double_backward), so gradients of any
// order compose. Forward kernels: kernels/cpu/conv.h (oneDNN or im2col + GEMM); on Device::cuda
// the backend table's conv_forward / conv_backward_data / conv_backward_filter (kernels/cuda/dnn.h:
// cuDNN, the CPU kernels under the simulator), f32 only.
#include "tensor/ops_conv.h"

#include "kernels/cpu/conv.h"
#include "kernels/cpu/elementwise.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

namespace {

/// ConvParams with exactly nd entries per field (a single entry is repeated), validated.
ConvParams normalize(const ConvParams& p, int nd, const char* op) {
  auto fix = [&](const Shape& v, const char* name, int64_t min) {
    check(v.size() == 1 || (int)v.size() == nd, op, ": ", name, " ", v, " must have 1 or ", nd, " entries");
    Shape o(nd);
    for (int i = 0; i < nd; ++i) {
      o[i] = v.size() == 1 ? v[0] : v[i];
      check(o[i] >= min, op, ": ", name, " ", v, " must be >= ", min);
    }
    return o;
  };
  return ConvParams{fix(p.stride, "stride", 1), fix(p.padding, "padding", 0), fix(p.dilation, "dilation", 1)};
}

void check_operand(const Tensor& t, const char* what, const char* op) {
  check(t.defined(), op, ": ", what, " is undefined");
  check(is_floating(t.dtype()), op, ": ", what, " must be f32 or f64, got ", dtype_name(t.dtype()));
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  check(a.dtype() == b.dtype(), op, ": dtype mix ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()), " (shapes ",
        a.shape(), " and ", b.shape(), ")");
  check(a.device() == b.device(), op, ": device mix ", device_name(a.device()), " and ", device_name(b.device()), " (shapes ",
        a.shape(), " and ", b.shape(), ")");
}

/// The CUDA backend convolves f32 only (cuDNN path of kernels/cuda/dnn.h): a clear error for f64.
const CudaBackend& device_conv(const Tensor& t, const char* op) {
  check(t.dtype() == DType::f32, op, ": the CUDA backend convolves f32 only (cuDNN), got ", dtype_name(t.dtype()),
        " of shape ", t.shape(), "; cast to f32 or run the op on the CPU");
  return cuda_backend(op);
}

/// The geometry of x ⋆ w for input shape xs [N,Cin,*S] and weight shape ws [Cout,Cin,*K].
cpu::ConvGeom make_geom(const Shape& xs, const Shape& ws, const ConvParams& p, const char* op) {
  check(xs.size() == ws.size() && (xs.size() == 4 || xs.size() == 5), op, ": input ", xs, " and weight ", ws,
        " must both be 4-D [N,C,H,W] or both 5-D [N,C,D,H,W]");
  check(xs[1] == ws[1], op, ": input ", xs, " has ", xs[1], " channels but weight ", ws, " expects ", ws[1],
        " (weight is [Cout,Cin,*k])");
  cpu::ConvGeom g;
  g.nd = (int)xs.size() - 2;
  g.N = xs[0];
  g.Cin = xs[1];
  g.Cout = ws[0];
  const int off = 3 - g.nd;
  for (int d = 0; d < g.nd; ++d) {
    const int64_t S = xs[2 + d], K = ws[2 + d], s = p.stride[d], pad = p.padding[d], dil = p.dilation[d];
    check(K >= 1, op, ": weight ", ws, " has an empty kernel");
    const int64_t span = S + 2 * pad - dil * (K - 1) - 1;
    check(span >= 0, op, ": output would be empty: input ", xs, ", weight ", ws, ", stride ", p.stride, ", padding ",
          p.padding, ", dilation ", p.dilation);
    g.in[off + d] = S;
    g.k[off + d] = K;
    g.out[off + d] = span / s + 1;
    g.stride[off + d] = s;
    g.pad[off + d] = pad;
    g.dil[off + d] = dil;
  }
  return g;
}

Shape out_shape(const cpu::ConvGeom& g) {
  Shape s{g.N, g.Cout};
  for (int d = 3 - g.nd; d < 3; ++d) s.push_back(g.out[d]);
  return s;
}

/// The batch and spatial dims of an activation of rank r (what a per-channel bias sums over).
Shape bias_dims(int64_t r) { return r == 4 ? Shape{0, 2, 3} : Shape{0, 2, 3, 4}; }

Tensor contig(const Tensor& t) { return t.is_contiguous() ? t : contiguous(t.detach()); }

template <class T> const T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

void check_bias(const Tensor& b, const Tensor& like, int64_t channels, const char* op) {
  if (!b.defined()) return;
  check_operand(b, "bias", op);
  check_same_dtype(b, like, op);
  check(b.shape() == Shape{channels}, op, ": bias ", b.shape(), " must be [", channels, "]");
}

/// conv(x, w) + b with one recorded node (inputs x, w, b).
Tensor conv_node(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p_in, const char* op) {
  check_operand(x, "input", op);
  check_operand(w, "weight", op);
  check_same_dtype(x, w, op);
  const ConvParams p = normalize(p_in, (int)x.dim() - 2 > 0 ? (int)x.dim() - 2 : 1, op);
  const cpu::ConvGeom g = make_geom(x.shape(), w.shape(), p, op);
  check_bias(b, x, g.Cout, op);
  Tensor y;
  if (dev::on_cuda(x)) {
    const CudaBackend& be = device_conv(x, op);
    OpRange r(be, op);
    Tensor xc = contig(x), wc = contig(w), bc = b.defined() ? contig(b) : Tensor();
    y = empty(out_shape(g), x.dtype(), Device::cuda);
    be.conv_forward(g, xc.data<float>(), wc.data<float>(), ptr_or_null<float>(bc), y.data<float>(), be.stream());
  } else {
    y = empty(out_shape(g), x.dtype());
    Tensor xc = contig(x), wc = contig(w), bc = b.defined() ? contig(b) : Tensor();
    UAD_DISPATCH_FLOAT(x.dtype(), op, [&] {
      cpu::conv_forward(g, xc.data<scalar_t>(), wc.data<scalar_t>(), ptr_or_null<scalar_t>(bc), y.data<scalar_t>());
    });
  }
  return record(y, "conv", {x, w, b}, [x, w, p](const Tensor& gy, const std::vector<bool>& n) {
    return std::vector<Tensor>{n[0] ? conv_backward_input(gy, w, x.shape(), p) : Tensor(),
                               n[1] ? conv_backward_weight(x, gy, w.shape(), p) : Tensor(),
                               n[2] ? sum(gy, bias_dims(gy.dim())) : Tensor()};
  });
}

/// conv_backward_input(gy, w) + b (b per input channel: the bias of a transposed convolution).
Tensor backward_input_node(const Tensor& gy, const Tensor& w, const Tensor& b, const Shape& input_shape,
                           const ConvParams& p_in, const char* op) {
  check_operand(gy, "gy", op);
  check_operand(w, "weight", op);
  check_same_dtype(gy, w, op);
  check(input_shape.size() == 4 || input_shape.size() == 5, op, ": input shape ", input_shape, " must be 4-D or 5-D");
  const ConvParams p = normalize(p_in, (int)input_shape.size() - 2, op);
  const cpu::ConvGeom g = make_geom(input_shape, w.shape(), p, op);
  check(gy.shape() == out_shape(g), op, ": gradient ", gy.shape(), " does not match the output ", out_shape(g),
        " of a convolution of input ", input_shape, " with weight ", w.shape());
  check_bias(b, gy, g.Cin, op);
  Tensor gx;
  if (dev::on_cuda(gy)) {
    const CudaBackend& be = device_conv(gy, op);
    OpRange r(be, op);
    Tensor gc = contig(gy), wc = contig(w), bc = b.defined() ? contig(b) : Tensor();
    gx = empty(input_shape, gy.dtype(), Device::cuda);
    be.conv_backward_data(g, gc.data<float>(), wc.data<float>(), ptr_or_null<float>(bc), gx.data<float>(), be.stream());
  } else {
    gx = empty(input_shape, gy.dtype());
    Tensor gc = contig(gy), wc = contig(w), bc = b.defined() ? contig(b) : Tensor();
    UAD_DISPATCH_FLOAT(gy.dtype(), op, [&] {
      cpu::conv_backward_input(g, gc.data<scalar_t>(), wc.data<scalar_t>(), ptr_or_null<scalar_t>(bc), gx.data<scalar_t>());
    });
  }
  return record(gx, "conv_backward_input", {gy, w, b}, [gy, w, p](const Tensor& gg, const std::vector<bool>& n) {
    // Σ gg·bi(gy,w) = Σ conv(gg,w)·gy: linear in gy and in w (PyTorch _convolution_double_backward).
    return std::vector<Tensor>{n[0] ? conv(gg, w, p) : Tensor(),
                               n[1] ? conv_backward_weight(gg, gy, w.shape(), p) : Tensor(),
                               n[2] ? sum(gg, bias_dims(gg.dim())) : Tensor()};
  });
}

/// Output spatial sizes of a transposed convolution (PyTorch ConvTranspose):
/// (S−1)·s − 2p + d·(k−1) + output_padding + 1.
Shape transpose_out_shape(const Tensor& x, const Tensor& w, const ConvParams& p, const Shape& op_in, const char* op) {
  const int nd = (int)x.dim() - 2;
  check(op_in.size() == 1 || (int)op_in.size() == nd, op, ": output_padding ", op_in, " must have 1 or ", nd, " entries");
  Shape s{x.size(0), w.size(1)};
  for (int d = 0; d < nd; ++d) {
    const int64_t opd = op_in.size() == 1 ? op_in[0] : op_in[d];
    check(opd >= 0 && opd < p.stride[d], op, ": output_padding ", op_in, " must be >= 0 and smaller than the stride ",
          p.stride);
    const int64_t o = (x.size(2 + d) - 1) * p.stride[d] - 2 * p.padding[d] + p.dilation[d] * (w.size(2 + d) - 1) + opd + 1;
    check(o > 0, op, ": output would be empty: input ", x.shape(), ", weight ", w.shape(), ", stride ", p.stride,
          ", padding ", p.padding, ", dilation ", p.dilation);
    s.push_back(o);
  }
  return s;
}

Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& b, const Shape& stride, const Shape& padding,
                      const Shape& output_padding, const Shape& dilation, int64_t rank, const char* op) {
  check_operand(x, "input", op);
  check_operand(w, "weight", op);
  check(x.dim() == rank && w.dim() == rank, op, ": expected ", rank, "-D input and weight, got ", x.shape(), " and ",
        w.shape());
  check(x.size(1) == w.size(0), op, ": input ", x.shape(), " has ", x.size(1), " channels but weight ", w.shape(),
        " expects ", w.size(0), " (weight is [Cin,Cout,*k])");
  const ConvParams p = normalize({stride, padding, dilation}, (int)rank - 2, op);
  const Shape os = transpose_out_shape(x, w, p, output_padding, op);
  // A transposed convolution is the input-gradient of the convolution from the output back to x.
  return backward_input_node(x, w, b, os, p, op);
}

}  // namespace

Tensor conv(const Tensor& x, const Tensor& w, const ConvParams& p) { return conv_node(x, w, Tensor(), p, "conv"); }

Tensor conv_backward_input(const Tensor& gy, const Tensor& w, const Shape& input_shape, const ConvParams& p) {
  return backward_input_node(gy, w, Tensor(), input_shape, p, "conv_backward_input");
}

Tensor conv_backward_weight(const Tensor& x, const Tensor& gy, const Shape& weight_shape, const ConvParams& p_in) {
  const char* op = "conv_backward_weight";
  check_operand(x, "input", op);
  check_operand(gy, "gy", op);
  check_same_dtype(x, gy, op);
  check(weight_shape.size() == 4 || weight_shape.size() == 5, op, ": weight shape ", weight_shape, " must be 4-D or 5-D");
  const ConvParams p = normalize(p_in, (int)weight_shape.size() - 2, op);
  const cpu::ConvGeom g = make_geom(x.shape(), weight_shape, p, op);
  check(gy.shape() == out_shape(g), op, ": gradient ", gy.shape(), " does not match the output ", out_shape(g),
        " of a convolution of input ", x.shape(), " with weight ", weight_shape);
  Tensor gw;
  if (dev::on_cuda(x)) {
    const CudaBackend& be = device_conv(x, op);
    OpRange r(be, op);
    Tensor xc = contig(x), gc = contig(gy);
    gw = empty(weight_shape, x.dtype(), Device::cuda);
    be.conv_backward_filter(g, xc.data<float>(), gc.data<float>(), gw.data<float>(), be.stream());
  } else {
    gw = empty(weight_shape, x.dtype());
    Tensor xc = contig(x), gc = contig(gy);
    UAD_DISPATCH_FLOAT(x.dtype(), op, [&] {
      cpu::conv_backward_weight(g, xc.data<scalar_t>(), gc.data<scalar_t>(), gw.data<scalar_t>());
    });
  }
  return record(gw, "conv_backward_weight", {x, gy}, [x, gy, p](const Tensor& gg, const std::vector<bool>& n) {
    // Σ gg·bw(x,gy) = Σ conv(x,gg)·gy.
    return std::vector<Tensor>{n[0] ? conv_backward_input(gy, gg, x.shape(), p) : Tensor(),
                               n[1] ? conv(x, gg, p) : Tensor()};
  });
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Shape& stride, const Shape& padding,
              const Shape& dilation) {
  check(x.defined() && x.dim() == 4, "conv2d: expected input [N,C,H,W], got ", x.defined() ? x.shape() : Shape{});
  return conv_node(x, w, b, {stride, padding, dilation}, "conv2d");
}

Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& b, const Shape& stride, const Shape& padding,
              const Shape& dilation) {
  check(x.defined() && x.dim() == 5, "conv3d: expected input [N,C,D,H,W], got ", x.defined() ? x.shape() : Shape{});
  return conv_node(x, w, b, {stride, padding, dilation}, "conv3d");
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const Shape& stride, const Shape& padding,
                        const Shape& output_padding, const Shape& dilation) {
  return conv_transpose(x, w, b, stride, padding, output_padding, dilation, 4, "conv_transpose2d");
}

Tensor conv_transpose3d(const Tensor& x, const Tensor& w, const Tensor& b, const Shape& stride, const Shape& padding,
                        const Shape& output_padding, const Shape& dilation) {
  return conv_transpose(x, w, b, stride, padding, output_padding, dilation, 5, "conv_transpose3d");
}

}  // namespace uad
