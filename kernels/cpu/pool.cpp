// CPU pooling kernels (see pool.h). Window bounds follow PyTorch's AvgPoolKernel.cpp /
// MaxPoolKernel.cpp: start = o·s − p, end = min(start + k, n), start clipped to 0.
#include "kernels/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/common/resample_index.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/loops.h"

namespace uad::cpu {

namespace {

struct Ext {
  int64_t P, D, H, W;
  int64_t plane() const { return D * H * W; }
};
Ext ext_of(const Shape& s) { return {s[0], s[1], s[2], s[3]}; }

/// Cells [lo, hi) of the window of output index o along one dim, clipped to [0, n).
inline void bounds(int64_t o, int64_t k, int64_t s, int64_t p, int64_t n, int64_t& lo, int64_t& hi) {
  fn::pool_window(o, k, s, p, n, lo, hi);
}

int64_t window_volume(const PoolWindow& w) { return w.k[0] * w.k[1] * w.k[2]; }

/// True when the W window is 2 wide with stride 2 and no padding: the common 2× down-sampling,
/// where the inner loop reads two adjacent cells per output.
bool is_pair_w(const PoolWindow& w) { return w.k[2] == 2 && w.s[2] == 2 && w.p[2] == 0; }

template <class T> void avg_fwd(const T* x, T* y, Ext in, Ext out, const PoolWindow& w) {
  const T div = T(window_volume(w));
  const bool pair = is_pair_w(w);
  parallel_for(in.P * out.D, out.H * out.W * window_volume(w), [&](int64_t pd) {
    const int64_t p = pd / out.D, od = pd % out.D;
    const T* xp = x + p * in.plane();
    T* yp = y + pd * out.H * out.W;
    int64_t d0, d1;
    bounds(od, w.k[0], w.s[0], w.p[0], in.D, d0, d1);
    for (int64_t oh = 0; oh < out.H; ++oh) {
      int64_t h0, h1;
      bounds(oh, w.k[1], w.s[1], w.p[1], in.H, h0, h1);
      T* yr = yp + oh * out.W;
      if (pair) {
        for (int64_t ow = 0; ow < out.W; ++ow) yr[ow] = T(0);
        for (int64_t d = d0; d < d1; ++d)
          for (int64_t h = h0; h < h1; ++h) {
            const T* r = xp + (d * in.H + h) * in.W;
#pragma omp simd
            for (int64_t ow = 0; ow < out.W; ++ow) yr[ow] += r[2 * ow] + r[2 * ow + 1];
          }
#pragma omp simd
        for (int64_t ow = 0; ow < out.W; ++ow) yr[ow] /= div;
        continue;
      }
      for (int64_t ow = 0; ow < out.W; ++ow) {
        int64_t w0, w1;
        bounds(ow, w.k[2], w.s[2], w.p[2], in.W, w0, w1);
        T s = T(0);
        for (int64_t d = d0; d < d1; ++d)
          for (int64_t h = h0; h < h1; ++h) {
            const T* r = xp + (d * in.H + h) * in.W;
            for (int64_t c = w0; c < w1; ++c) s += r[c];
          }
        yr[ow] = s / div;
      }
    }
  });
}

template <class T> void avg_bwd(const T* g, T* gx, Ext in, Ext out, const PoolWindow& w) {
  const T div = T(window_volume(w));
  const bool pair = is_pair_w(w);
  parallel_for(in.P, out.plane() * window_volume(w), [&](int64_t p) {
    T* xp = gx + p * in.plane();
    std::memset(xp, 0, sizeof(T) * in.plane());
    const T* gp = g + p * out.plane();
    for (int64_t od = 0; od < out.D; ++od) {
      int64_t d0, d1;
      bounds(od, w.k[0], w.s[0], w.p[0], in.D, d0, d1);
      for (int64_t oh = 0; oh < out.H; ++oh) {
        int64_t h0, h1;
        bounds(oh, w.k[1], w.s[1], w.p[1], in.H, h0, h1);
        const T* gr = gp + (od * out.H + oh) * out.W;
        if (pair) {
          for (int64_t d = d0; d < d1; ++d)
            for (int64_t h = h0; h < h1; ++h) {
              T* r = xp + (d * in.H + h) * in.W;
              for (int64_t ow = 0; ow < out.W; ++ow) {
                const T v = gr[ow] / div;
                r[2 * ow] += v;
                r[2 * ow + 1] += v;
              }
            }
          continue;
        }
        for (int64_t ow = 0; ow < out.W; ++ow) {
          int64_t w0, w1;
          bounds(ow, w.k[2], w.s[2], w.p[2], in.W, w0, w1);
          const T v = gr[ow] / div;
          for (int64_t d = d0; d < d1; ++d)
            for (int64_t h = h0; h < h1; ++h) {
              T* r = xp + (d * in.H + h) * in.W;
              for (int64_t c = w0; c < w1; ++c) r[c] += v;
            }
        }
      }
    }
  });
}

template <class T> void max_fwd(const T* x, T* y, int32_t* idx, Ext in, Ext out, const PoolWindow& w) {
  const bool pair = is_pair_w(w);
  parallel_for(in.P * out.D, out.H * out.W * window_volume(w), [&](int64_t pd) {
    const int64_t p = pd / out.D, od = pd % out.D;
    const T* xp = x + p * in.plane();
    T* yp = y + pd * out.H * out.W;
    int32_t* ip = idx + pd * out.H * out.W;
    int64_t d0, d1;
    bounds(od, w.k[0], w.s[0], w.p[0], in.D, d0, d1);
    for (int64_t oh = 0; oh < out.H; ++oh) {
      int64_t h0, h1;
      bounds(oh, w.k[1], w.s[1], w.p[1], in.H, h0, h1);
      T* yr = yp + oh * out.W;
      int32_t* ir = ip + oh * out.W;
      if (pair) {
        // Row by row over the window, each row scanned left to right: the same visiting order
        // (hence the same first maximum) as the generic loop below.
        bool first = true;
        for (int64_t d = d0; d < d1; ++d)
          for (int64_t h = h0; h < h1; ++h) {
            const int64_t base = (d * in.H + h) * in.W;
            const T* r = xp + base;
            if (first) {
              for (int64_t ow = 0; ow < out.W; ++ow) {
                const T a = r[2 * ow], b = r[2 * ow + 1];
                const bool tb = b > a || std::isnan(b);  // PyTorch: (val > max) || isnan(val)
                yr[ow] = tb ? b : a;
                ir[ow] = (int32_t)(base + 2 * ow + (tb ? 1 : 0));
              }
              first = false;
              continue;
            }
            for (int64_t ow = 0; ow < out.W; ++ow) {
              for (int64_t c = 0; c < 2; ++c) {
                const T v = r[2 * ow + c];
                if (v > yr[ow] || std::isnan(v)) {
                  yr[ow] = v;
                  ir[ow] = (int32_t)(base + 2 * ow + c);
                }
              }
            }
          }
        continue;
      }
      for (int64_t ow = 0; ow < out.W; ++ow) {
        int64_t w0, w1;
        bounds(ow, w.k[2], w.s[2], w.p[2], in.W, w0, w1);
        T m = -std::numeric_limits<T>::infinity();
        int64_t mi = (d0 * in.H + h0) * in.W + w0;
        for (int64_t d = d0; d < d1; ++d)
          for (int64_t h = h0; h < h1; ++h) {
            const int64_t base = (d * in.H + h) * in.W;
            for (int64_t c = w0; c < w1; ++c) {
              const T v = xp[base + c];
              if (v > m || std::isnan(v)) {
                m = v;
                mi = base + c;
              }
            }
          }
        yr[ow] = m;
        ir[ow] = (int32_t)mi;
      }
    }
  });
}

}  // namespace

Tensor avg_pool_forward(const Tensor& x, const PoolWindow& w) {
  Ext in = ext_of(x.shape());
  Ext out{in.P, pool_out_size(in.D, w.k[0], w.s[0], w.p[0]), pool_out_size(in.H, w.k[1], w.s[1], w.p[1]),
          pool_out_size(in.W, w.k[2], w.s[2], w.p[2])};
  Tensor y = empty({out.P, out.D, out.H, out.W}, x.dtype());
  UAD_DISPATCH_FLOAT(x.dtype(), "avg_pool", [&] { avg_fwd<scalar_t>(x.data<scalar_t>(), y.data<scalar_t>(), in, out, w); });
  return y;
}

Tensor avg_pool_backward(const Tensor& g, const Shape& in_shape, const PoolWindow& w) {
  Ext in = ext_of(in_shape), out = ext_of(g.shape());
  Tensor gx = empty(in_shape, g.dtype());
  UAD_DISPATCH_FLOAT(g.dtype(), "avg_pool_backward", [&] { avg_bwd<scalar_t>(g.data<scalar_t>(), gx.data<scalar_t>(), in, out, w); });
  return gx;
}

std::pair<Tensor, Tensor> max_pool_forward(const Tensor& x, const PoolWindow& w) {
  Ext in = ext_of(x.shape());
  Ext out{in.P, pool_out_size(in.D, w.k[0], w.s[0], w.p[0]), pool_out_size(in.H, w.k[1], w.s[1], w.p[1]),
          pool_out_size(in.W, w.k[2], w.s[2], w.p[2])};
  Shape os{out.P, out.D, out.H, out.W};
  Tensor y = empty(os, x.dtype()), idx = empty(os, DType::i32);
  UAD_DISPATCH_FLOAT(x.dtype(), "max_pool", [&] {
    max_fwd<scalar_t>(x.data<scalar_t>(), y.data<scalar_t>(), idx.data<int32_t>(), in, out, w);
  });
  return {y, idx};
}

namespace {

template <class T> void scatter_add(const T* g, const int32_t* idx, T* out, int64_t P, int64_t Q, int64_t plane) {
  parallel_for(P, Q + plane, [&](int64_t p) {
    T* op = out + p * plane;
    std::memset(op, 0, sizeof(T) * plane);
    const T* gp = g + p * Q;
    const int32_t* ip = idx + p * Q;
    for (int64_t q = 0; q < Q; ++q) op[ip[q]] += gp[q];
  });
}

template <class T> void gather(const T* x, const int32_t* idx, T* out, int64_t P, int64_t Q, int64_t plane) {
  parallel_for(P, Q, [&](int64_t p) {
    const T* xp = x + p * plane;
    const int32_t* ip = idx + p * Q;
    T* op = out + p * Q;
    for (int64_t q = 0; q < Q; ++q) op[q] = xp[ip[q]];
  });
}

}  // namespace

Tensor index_scatter_add(const Tensor& g, const Tensor& idx, int64_t plane) {
  const int64_t P = g.shape()[0], Q = g.shape()[1];
  Tensor out = empty({P, plane}, g.dtype());
  UAD_DISPATCH_FLOAT(g.dtype(), "max_pool_backward", [&] {
    scatter_add<scalar_t>(g.data<scalar_t>(), idx.data<int32_t>(), out.data<scalar_t>(), P, Q, plane);
  });
  return out;
}

Tensor index_gather(const Tensor& x, const Tensor& idx) {
  const int64_t P = idx.shape()[0], Q = idx.shape()[1], plane = x.shape()[1];
  Tensor out = empty({P, Q}, x.dtype());
  UAD_DISPATCH_FLOAT(x.dtype(), "max_pool_gather", [&] {
    gather<scalar_t>(x.data<scalar_t>(), idx.data<int32_t>(), out.data<scalar_t>(), P, Q, plane);
  });
  return out;
}

}  // namespace uad::cpu
