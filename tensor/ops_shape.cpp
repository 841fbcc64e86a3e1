// Padding, concatenation, stacking and splitting ops (kernels in kernels/cpu/pad.h).
#include "tensor/ops_shape.h"

#include "kernels/cpu/pad.h"
#include "tensor/autograd.h"
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

}  // namespace

Tensor pad(const Tensor& x, const Shape& pads, PadMode mode) {
  check(x.defined(), "pad: undefined tensor");
  check(x.device() == Device::cpu, "pad has no CUDA implementation in this build");
  Shape lo;
  Shape os = padded_shape(x.shape(), pads, mode, lo);
  if (mode == PadMode::zero) {
    Tensor y = cpu::pad_zero_forward(x, os, lo);
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
  Tensor xc = x.detach().contiguous().reshape(replicate_planes(x.shape(), k));
  Tensor y = cpu::pad_replicate_forward(xc, l3, h3).reshape(os);
  return record(y, "pad", {x}, [pads, xs = x.shape()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{pad_replicate_backward(g, xs, pads)};
  });
}

Tensor pad_replicate_backward(const Tensor& g, const Shape& input_shape, const Shape& pads) {
  const char* op = "pad_replicate_backward";
  check(g.defined() && is_floating(g.dtype()), op, ": expected an f32 or f64 gradient");
  check(g.device() == Device::cpu, op, " has no CUDA implementation in this build");
  Shape lo;
  Shape os = padded_shape(input_shape, pads, PadMode::replicate, lo);
  check(g.shape() == os, op, ": gradient ", g.shape(), " is not the input shape ", input_shape, " padded by ", pads,
        " = ", os);
  const int64_t k = (int64_t)pads.size() / 2;
  int64_t l3[3], h3[3];
  replicate_lo(pads, l3, h3);
  Shape in4 = replicate_planes(input_shape, k);
  Tensor gc = g.detach().contiguous().reshape(replicate_planes(os, k));
  Tensor gx = cpu::pad_replicate_backward(gc, {in4[1], in4[2], in4[3]}, l3).reshape(input_shape);
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
    check(x.device() == Device::cpu, "cat has no CUDA implementation in this build");
    check(x.dtype() == x0.dtype(), "cat: tensor ", i, " is ", dtype_name(x.dtype()), " but tensor 0 is ",
          dtype_name(x0.dtype()), " (shapes ", x.shape(), " and ", x0.shape(), ")");
    bool ok = x.dim() == nd;
    for (int64_t d = 0; ok && d < nd; ++d) ok = d == dim || x.shape()[d] == x0.shape()[d];
    check(ok, "cat: tensor ", i, " has shape ", x.shape(), " but tensor 0 has shape ", x0.shape(),
          " (all dims except dim ", dim, " must match)");
    os[dim] += x.shape()[dim];
  }
  Tensor y = cpu::cat_forward(xs, dim, os);
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
