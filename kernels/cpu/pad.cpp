// CPU padding and concatenation kernels (see pad.h).
#include "kernels/cpu/pad.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/loops.h"

namespace uad::cpu {

namespace {

struct Ext {
  int64_t P, D, H, W;
  int64_t plane() const { return D * H * W; }
};

inline int64_t clampi(int64_t v, int64_t n) { return v < 0 ? 0 : (v >= n ? n - 1 : v); }

template <class T> void replicate_fwd(const T* x, T* y, Ext in, Ext out, const int64_t lo[3]) {
  const int64_t l2 = lo[2];
  const int64_t mid = in.W, right = out.W - l2 - in.W;
  parallel_for(in.P * out.D, out.H * out.W, [&](int64_t pd) {
    const int64_t p = pd / out.D, od = pd % out.D;
    const T* xs = x + p * in.plane() + clampi(od - lo[0], in.D) * in.H * in.W;
    T* yp = y + pd * out.H * out.W;
    for (int64_t oh = 0; oh < out.H; ++oh) {
      const T* r = xs + clampi(oh - lo[1], in.H) * in.W;
      T* yr = yp + oh * out.W;
      const T first = r[0], last = r[in.W - 1];
      for (int64_t i = 0; i < l2; ++i) yr[i] = first;
      std::memcpy(yr + l2, r, sizeof(T) * mid);
      for (int64_t i = 0; i < right; ++i) yr[l2 + mid + i] = last;
    }
  });
}

template <class T> void replicate_bwd(const T* g, T* gx, Ext in, Ext out, const int64_t lo[3]) {
  const int64_t l2 = lo[2], right = out.W - l2 - in.W;
  parallel_for(in.P, out.plane(), [&](int64_t p) {
    T* xp = gx + p * in.plane();
    std::memset(xp, 0, sizeof(T) * in.plane());
    const T* gp = g + p * out.plane();
    for (int64_t od = 0; od < out.D; ++od)
      for (int64_t oh = 0; oh < out.H; ++oh) {
        T* r = xp + (clampi(od - lo[0], in.D) * in.H + clampi(oh - lo[1], in.H)) * in.W;
        const T* gr = gp + (od * out.H + oh) * out.W;
        T edge = T(0);
        for (int64_t i = 0; i < l2; ++i) edge += gr[i];
        r[0] += edge;
#pragma omp simd
        for (int64_t i = 0; i < in.W; ++i) r[i] += gr[l2 + i];
        edge = T(0);
        for (int64_t i = 0; i < right; ++i) edge += gr[l2 + in.W + i];
        r[in.W - 1] += edge;
      }
  });
}

Ext ext4(const Shape& s) { return {s[0], s[1], s[2], s[3]}; }

/// One pass over the output, in blocks of the last two dims (H,W) (a 1-d tensor is one block
/// of a single row): blocks outside x are zeroed, rows inside x are [zeros | copied run | zeros].
/// Blocks run in parallel; the multi-index of a block is decomposed once.
template <class T> void pad_zero(const Tensor& x, const Tensor& out, const Shape& lo_in) {
  // View both as [..., H, W] with at least two dims.
  Shape os = out.shape(), xs = x.shape(), xst = x.strides(), lo = lo_in;
  if (os.size() == 1) {
    os.insert(os.begin(), 1);
    xs.insert(xs.begin(), 1);
    xst.insert(xst.begin(), 0);
    lo.insert(lo.begin(), 0);
  }
  const int64_t nd = (int64_t)os.size();
  const int64_t OH = os[nd - 2], OW = os[nd - 1], H = xs[nd - 2], W = xs[nd - 1];
  const int64_t sh = xst[nd - 2], sw = xst[nd - 1], lh = lo[nd - 2], lw = lo[nd - 1];
  // Output columns [c0, c1) read x columns [c0 − lw, c1 − lw); likewise rows [r0, r1).
  const int64_t c0 = std::clamp<int64_t>(lw, 0, OW), c1 = std::clamp<int64_t>(lw + W, 0, OW);
  const int64_t r0 = std::clamp<int64_t>(lh, 0, OH), r1 = std::clamp<int64_t>(lh + H, 0, OH);
  int64_t blocks = 1;
  for (int64_t d = 0; d < nd - 2; ++d) blocks *= os[d];
  const T* xp = x.data<T>();
  T* yp = out.data<T>();
  parallel_for(blocks, OH * OW, [&](int64_t b) {
    T* yb = yp + b * OH * OW;
    int64_t rem = b, src = 0;
    bool inside = c1 > c0 && r1 > r0;
    for (int64_t d = nd - 3; d >= 0 && inside; --d) {
      const int64_t i = rem % os[d] - lo[d];
      rem /= os[d];
      if (i < 0 || i >= xs[d]) inside = false;
      src += i * xst[d];
    }
    if (!inside) {
      std::memset(yb, 0, sizeof(T) * OH * OW);
      return;
    }
    std::memset(yb, 0, sizeof(T) * r0 * OW);
    for (int64_t r = r0; r < r1; ++r) {
      // Plain loops rather than memset/memcpy calls: rows are short (tens of cells) in the
      // padded feature maps this serves, where call overhead dominated.
      T* __restrict yr = yb + r * OW;
      const T* __restrict xr = xp + src + (r - lh) * sh + (c0 - lw) * sw;
      for (int64_t c = 0; c < c0; ++c) yr[c] = T(0);
      if (sw == 1) {
#pragma omp simd
        for (int64_t c = 0; c < c1 - c0; ++c) yr[c0 + c] = xr[c];
      } else {
        for (int64_t c = 0; c < c1 - c0; ++c) yr[c0 + c] = xr[c * sw];
      }
      for (int64_t c = c1; c < OW; ++c) yr[c] = T(0);
    }
    std::memset(yb + r1 * OW, 0, sizeof(T) * (OH - r1) * OW);
  });
}

}  // namespace

Tensor pad_replicate_forward(const Tensor& x, const int64_t lo[3], const int64_t hi[3]) {
  Ext in = ext4(x.shape());
  Ext out{in.P, in.D + lo[0] + hi[0], in.H + lo[1] + hi[1], in.W + lo[2] + hi[2]};
  Tensor y = empty({out.P, out.D, out.H, out.W}, x.dtype());
  UAD_DISPATCH_FLOAT(x.dtype(), "pad", [&] { replicate_fwd<scalar_t>(x.data<scalar_t>(), y.data<scalar_t>(), in, out, lo); });
  return y;
}

Tensor pad_replicate_backward(const Tensor& g, const Shape& in_sp, const int64_t lo[3]) {
  Ext out = ext4(g.shape()), in{out.P, in_sp[0], in_sp[1], in_sp[2]};
  Tensor gx = empty({in.P, in.D, in.H, in.W}, g.dtype());
  UAD_DISPATCH_FLOAT(g.dtype(), "pad_replicate_backward", [&] {
    replicate_bwd<scalar_t>(g.data<scalar_t>(), gx.data<scalar_t>(), in, out, lo);
  });
  return gx;
}

Tensor pad_zero_forward(const Tensor& x, const Shape& out_shape, const Shape& lo) {
  Tensor out = empty(out_shape, x.dtype());
  if (out.numel() == 0) return out;
  if (out.dim() == 0) {
    copy_into(out, x);
    return out;
  }
  UAD_DISPATCH_ALL(x.dtype(), "pad", [&] { pad_zero<scalar_t>(x, out, lo); });
  return out;
}

Tensor cat_forward(const std::vector<Tensor>& xs, int64_t dim, const Shape& out_shape) {
  Tensor out = empty(out_shape, xs[0].dtype());
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= out_shape[d];
  for (int64_t d = dim + 1; d < (int64_t)out_shape.size(); ++d) inner *= out_shape[d];
  const size_t esz = dtype_size(out.dtype());
  const int64_t row = out_shape[dim] * inner;  // output elements per outer index
  char* op = (char*)out.raw();
  int64_t off = 0;
  for (const Tensor& x : xs) {
    const int64_t n = x.shape()[dim] * inner;
    if (n > 0) {
      if (x.is_contiguous()) {
        const char* xp = (const char*)x.raw();
        const int64_t o0 = off;
        parallel_for(outer, n, [&](int64_t o) { std::memcpy(op + (o * row + o0) * esz, xp + o * n * esz, n * esz); });
      } else {
        Tensor dst = out.slice(dim, off / inner, off / inner + x.shape()[dim]);
        copy_into(dst, x);
      }
    }
    off += n;
  }
  return out;
}

}  // namespace uad::cpu
