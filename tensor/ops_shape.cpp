// Padding, concatenation, stacking and splitting ops (kernels in kernels/cpu/pad.h; on Device::cuda
// the backend table's pad_zero / concat (kernels/cuda/shape.cu) and pad_replicate_* (spatial.cu)).
// stack and split are composed of cat, unsqueeze and slice, so they follow their operands.
#include "tensor/ops_shape.h"

#include "kernels/cpu/pad.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

namespace {

const char* mode_name(PadMode m) { return m == PadMode::zero ? "zero" : "replicate"; }

/// Output shape of padding `xs` by `pads` (F.pad order); per-dim low pads in `lo` (full rank,
/// 0 for unpadded dims).
Shape padded_shape(const Shape& xs, const Shape& pads, PadMode mode, Shape& lo) {
  const int64_t nd = (int64_t)xs.size(), k = (int64_t)pads.size() / 2;
  check(pads.size() % 2 == 0, "pad: pads ", pads, " must have an even number of entries (input ", xs, ")");
  check(k <= nd, "pad: pads ", pads, " cover ", k, " dims but the input ", xs, " has ", nd);
  Shape os = xs;
  lo.assign(nd, 0);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t d = nd - 1 - i;
    lo[d] = pads[2 * i];
    os[d] = xs[d] + pads[2 * i] + pads[2 * i + 1];
    check(os[d] >= 0, "pad: input ", xs, " with pads ", pads, " gives a negative size along dim ", d);
  }
  if (mode == PadMode::replicate) {
    check(k >= 1 && k <= 3, "pad (replicate): pads ", pads, " must cover 1 to 3 trailing dims (input ", xs, ")");
    for (int64_t i = 0; i < k; ++i) {
      check(pads[2 * i] >= 0 && pads[2 * i + 1] >= 0, "pad (replicate): pads ", pads, " must be ≥ 0 (input ", xs, ")");
      check(xs[nd - 1 - i] > 0, "pad (replicate): input ", xs, " is empty along padded dim ", nd - 1 - i);
    }
  }
  return os;
}

/// The replicate kernels' plane view of a shape whose last k dims are padded: [P, D, H, W].
Shape replicate_planes(const Shape& s, int64_t k) {
  const int64_t nd = (int64_t)s.size();
  Shape p{1, 1, 1, 1};
  for (int64_t d = 0; d < nd - k; ++d) p[0] *= s[d];
  for (int64_t i = 0; i < k; ++i) p[3 - i] = s[nd - 1 - i];
  return p;
}

/// Low pads of the last k dims as the kernels' (D,H,W) triple.
void replicate_lo(const Shape& pads, int64_t lo[3], int64_t hi[3]) {
  for (int i = 0; i < 3; ++i) lo[i] = hi[i] = 0;
  const int64_t k = (int64_t)pads.size() / 2;
  for (int64_t i = 0; i < k; ++i) {
    lo[2 - i] = pads[2 * i];
    hi[2 - i] = pads[2 * i + 1];
  }
}

int64_t wrap_dim(int64_t d, int64_t nd, const char* op, const Shape& shape) {
  const int64_t e = d < 0 ? d + nd : d;
  check(e >= 0 && e < nd, op, ": dim ", d, " out of range for shape ", shape);
  return e;
}

/// Zero padding on the device (kernels/cuda/shape.cu pad_zero): x any strides.
Tensor pad_zero_device(const Tensor& x, const Shape& os, const Shape& lo) {
  const CudaBackend& be = cuda_backend("pad");
  OpRange r(be, "pad");
  Tensor y = empty(os, x.dtype(), Device::cuda);
  if (y.numel() == 0) return y;
  be.pad_zero(x.dtype(), x.raw(), x.shape(), x.strides(), y.raw(), os, lo, be.stream());
  return y;
}

/// Replicate padding (forward, or its adjoint when `backward`) on the device: the [P,D,H,W] plane
/// views of the CPU kernels, kernels/cuda/spatial.cu.
Tensor replicate_device(const Tensor& t, const Shape& in_planes, const Shape& out_shape, const int64_t lo[3], const int64_t hi[3],
                        bool backward) {
  const char* op = backward ? "pad_replicate_backward" : "pad";
  const CudaBackend& be = cuda_backend(op);
  OpRange r(be, op);
  Tensor tc = contiguous(t.detach());
  Tensor y = empty(out_shape, t.dtype(), Device::cuda);
  const int64_t in3[3] = {in_planes[1], in_planes[2], in_planes[3]};
  if (backward) be.pad_replicate_backward(t.dtype(), tc.raw(), y.raw(), in_planes[0], in3, lo, hi, be.stream());
  else be.pad_replicate_forward(t.dtype(), tc.raw(), y.raw(), in_planes[0], in3, lo, hi, be.stream());
  return y;
}

/// torch.cat of same-dtype cuda tensors into a new [out_shape] tensor (kernels/cuda/shape.cu concat).
Tensor cat_device(const std::vector<Tensor>& xs, int64_t dim, const Shape& os) {
  const CudaBackend& be = cuda_backend("cat");
  OpRange r(be, "cat");
  Tensor y = empty(os, xs[0].dtype(), Device::cuda);
  if (y.numel() == 0) return y;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= os[d];
  for (int64_t d = dim + 1; d < (int64_t)os.size(); ++d) inner *= os[d];
  std::vector<Tensor> hold;
  std::vector<const void*> ptrs;
  Shape sizes;
  for (const Tensor& x : xs) {
    hold.push_back(contiguous(x.detach()));
    ptrs.push_back(hold.back().raw());
    sizes.push_back(x.shape()[dim]);
  }
  be.concat(xs[0].dtype(), ptrs, sizes, outer, inner, y.raw(), be.stream());
  return y;
}

}  // namespace

Tensor pad(const Tensor& x, const Shape& pads, PadMode mode) {
  check(x.defined(), "pad: undefined tensor");
  Shape lo;
  Shape os = padded_shape(x.shape(), pads, mode, lo);
  if (mode == PadMode::zero) {
    Tensor y = dev::on_cuda(x) ? pad_zero_device(x, os, lo) : cpu::pad_zero_forward(x, os, lo);
    if (!is_floating(x.dtype())) return y;
    return record(y, "pad", {x}, [pads](const Tensor& g, const std::vector<bool>&) {
      Shape neg(pads.size());
      for (size_t i = 0; i < pads.size(); ++i) neg[i] = -pads[i];
      return std::vector<Tensor>{pad(g, neg, PadMode::zero)};
    });
  }
  check(is_floating(x.dtype()), "pad (", mode_name(mode), "): expected an f32 or f64 tensor, got ", dtype_name(x.dtype()));
  const int64_t k = (int64_t)pads.size() / 2;
  int64_t l3[3], h3[3];
  replicate_lo(pads, l3, h3);
  Tensor y;
  if (dev::on_cuda(x)) {
    y = replicate_device(x, replicate_planes(x.shape(), k), os, l3, h3, false);
  } else {
    Tensor xc = x.detach().contiguous().reshape(replicate_planes(x.shape(), k));
    y = cpu::pad_replicate_forward(xc, l3, h3).reshape(os);
  }
  return record(y, "pad", {x}, [pads, xs = x.shape()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{pad_replicate_backward(g, xs, pads)};
  });
}

Tensor pad_replicate_backward(const Tensor& g, const Shape& input_shape, const Shape& pads) {
  const char* op = "pad_replicate_backward";
  check(g.defined() && is_floating(g.dtype()), op, ": expected an f32 or f64 gradient");
  Shape lo;
  Shape os = padded_shape(input_shape, pads, PadMode::replicate, lo);
  check(g.shape() == os, op, ": gradient ", g.shape(), " is not the input shape ", input_shape, " padded by ", pads,
        " = ", os);
  const int64_t k = (int64_t)pads.size() / 2;
  int64_t l3[3], h3[3];
  replicate_lo(pads, l3, h3);
  Shape in4 = replicate_planes(input_shape, k);
  Tensor gx;
  if (dev::on_cuda(g)) {
    gx = replicate_device(g, in4, input_shape, l3, h3, true);
  } else {
    Tensor gc = g.detach().contiguous().reshape(replicate_planes(os, k));
    gx = cpu::pad_replicate_backward(gc, {in4[1], in4[2], in4[3]}, l3).reshape(input_shape);
  }
  return record(gx, op, {g}, [pads](const Tensor& gg, const std::vector<bool>&) {
    return std::vector<Tensor>{pad(gg, pads, PadMode::replicate)};
  });
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  check(!xs.empty(), "cat: empty list of tensors");
  for (size_t i = 0; i < xs.size(); ++i) check(xs[i].defined(), "cat: tensor ", i, " is undefined");
  const Tensor& x0 = xs[0];
  const int64_t nd = x0.dim();
  check(nd >= 1, "cat: cannot concatenate 0-d tensors (shape ", x0.shape(), ")");
  dim = wrap_dim(dim, nd, "cat", x0.shape());
  Shape os = x0.shape();
  os[dim] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    check(x.device() == x0.device(), "cat: tensor ", i, " is on ", device_name(x.device()), " but tensor 0 is on ",
          device_name(x0.device()), " (shapes ", x.shape(), " and ", x0.shape(), ")");
    check(x.dtype() == x0.dtype(), "cat: tensor ", i, " is ", dtype_name(x.dtype()), " but tensor 0 is ",
          dtype_name(x0.dtype()), " (shapes ", x.shape(), " and ", x0.shape(), ")");
    bool ok = x.dim() == nd;
    for (int64_t d = 0; ok && d < nd; ++d) ok = d == dim || x.shape()[d] == x0.shape()[d];
    check(ok, "cat: tensor ", i, " has shape ", x.shape(), " but tensor 0 has shape ", x0.shape(),
          " (all dims except dim ", dim, " must match)");
    os[dim] += x.shape()[dim];
  }
  Tensor y = dev::on_cuda(x0) ? cat_device(xs, dim, os) : cpu::cat_forward(xs, dim, os);
  if (!is_floating(x0.dtype())) return y;
  Shape sizes;
  for (const Tensor& x : xs) sizes.push_back(x.shape()[dim]);
  return record(y, "cat", xs, [sizes, dim](const Tensor& g, const std::vector<bool>& needs) {
    std::vector<Tensor> out(sizes.size());
    int64_t off = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (needs[i]) out[i] = slice(g, dim, off, off + sizes[i]);
      off += sizes[i];
    }
    return out;
  });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  check(!xs.empty(), "stack: empty list of tensors");
  for (size_t i = 0; i < xs.size(); ++i) {
    check(xs[i].defined(), "stack: tensor ", i, " is undefined");
    check(xs[i].shape() == xs[0].shape(), "stack: tensor ", i, " has shape ", xs[i].shape(), " but tensor 0 has shape ",
          xs[0].shape(), " (all must be equal)");
  }
  dim = wrap_dim(dim, xs[0].dim() + 1, "stack", xs[0].shape());
  std::vector<Tensor> us;
  us.reserve(xs.size());
  for (const Tensor& x : xs) us.push_back(unsqueeze(x, dim));
  return cat(us, dim);
}

std::vector<Tensor> split(const Tensor& x, const Shape& sizes, int64_t dim) {
  check(x.defined(), "split: undefined tensor");
  check(x.dim() >= 1, "split: cannot split a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "split", x.shape());
  int64_t total = 0;
  for (int64_t s : sizes) {
    check(s >= 0, "split: negative size in ", sizes, " (shape ", x.shape(), ")");
    total += s;
  }
  check(total == x.shape()[dim], "split: sizes ", sizes, " add up to ", total, " but dim ", dim, " of shape ", x.shape(),
        " has size ", x.shape()[dim]);
  std::vector<Tensor> out;
  int64_t off = 0;
  for (int64_t s : sizes) {
    out.push_back(slice(x, dim, off, off + s));
    off += s;
  }
  return out;
}

}  // namespace uad
