// CPU upsampling kernels (see upsample.h). Index and weight formulas follow PyTorch 1.13
// aten/src/ATen/native/UpSample.h (nearest_idx, area_pixel_compute_scale,
// area_pixel_compute_source_index, guard_index_and_lambda); the interpolation order (innermost
// dim first, then t0·w0 + t1·w1 outwards) follows UpSampleKernel.cpp.
#include "kernels/cpu/upsample.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/common/resample_index.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/loops.h"

namespace uad::cpu {

int64_t nearest_source(int64_t dst, int64_t n_in, int64_t n_out) { return fn::nearest_source(dst, n_in, n_out); }

template <class T> LinearCoeffs<T> linear_coeffs(int64_t n_in, int64_t n_out, bool align_corners) {
  LinearCoeffs<T> c;
  c.i0.resize(n_out);
  c.i1.resize(n_out);
  c.l0.resize(n_out);
  c.l1.resize(n_out);
  for (int64_t o = 0; o < n_out; ++o) fn::linear_source(o, n_in, n_out, align_corners, c.i0[o], c.i1[o], c.l0[o], c.l1[o]);
  return c;
}

template LinearCoeffs<float> linear_coeffs<float>(int64_t, int64_t, bool);
template LinearCoeffs<double> linear_coeffs<double>(int64_t, int64_t, bool);

namespace {

struct Ext {
  int64_t P, D, H, W;
  int64_t plane() const { return D * H * W; }
};

std::vector<int64_t> nearest_table(int64_t n_in, int64_t n_out) {
  std::vector<int64_t> t(n_out);
  for (int64_t o = 0; o < n_out; ++o) t[o] = nearest_source(o, n_in, n_out);
  return t;
}

template <class T> void nearest_fwd(const T* x, T* y, Ext in, Ext out) {
  const auto sd = nearest_table(in.D, out.D), sh = nearest_table(in.H, out.H), sw = nearest_table(in.W, out.W);
  const int64_t* swp = sw.data();
  parallel_for(in.P * out.D, out.H * out.W, [&](int64_t pd) {
    const int64_t p = pd / out.D, od = pd % out.D;
    const T* xs = x + p * in.plane() + sd[od] * in.H * in.W;
    T* yp = y + pd * out.H * out.W;
    for (int64_t oh = 0; oh < out.H; ++oh) {
      const T* r = xs + sh[oh] * in.W;
      T* yr = yp + oh * out.W;
      if (oh > 0 && sh[oh] == sh[oh - 1]) {  // repeated source row: copy the previous output row
        std::memcpy(yr, yr - out.W, sizeof(T) * out.W);
        continue;
      }
      if (out.W == 2 * in.W) {  // 2×: each source cell written twice
        for (int64_t i = 0; i < in.W; ++i) yr[2 * i] = yr[2 * i + 1] = r[i];
        continue;
      }
      for (int64_t ow = 0; ow < out.W; ++ow) yr[ow] = r[swp[ow]];
    }
  });
}

template <class T> void nearest_bwd(const T* g, T* gx, Ext in, Ext out) {
  const auto sd = nearest_table(in.D, out.D), sh = nearest_table(in.H, out.H), sw = nearest_table(in.W, out.W);
  const int64_t* swp = sw.data();
  parallel_for(in.P, out.plane(), [&](int64_t p) {
    T* xp = gx + p * in.plane();
    std::memset(xp, 0, sizeof(T) * in.plane());
    const T* gp = g + p * out.plane();
    for (int64_t od = 0; od < out.D; ++od)
      for (int64_t oh = 0; oh < out.H; ++oh) {
        T* r = xp + (sd[od] * in.H + sh[oh]) * in.W;
        const T* gr = gp + (od * out.H + oh) * out.W;
        if (out.W == 2 * in.W) {
          for (int64_t i = 0; i < in.W; ++i) r[i] += gr[2 * i] + gr[2 * i + 1];
          continue;
        }
        for (int64_t ow = 0; ow < out.W; ++ow) r[swp[ow]] += gr[ow];
      }
  });
}

/// Interpolates one input row along W: t[o] = r[w0[o]]·lw0[o] + r[w1[o]]·lw1[o] (PyTorch's
/// innermost Interpolate<1> step).
template <class T>
inline void lerp_w(T* __restrict t, const T* __restrict r, const LinearCoeffs<T>& cw, int64_t n) {
  const int64_t *w0 = cw.i0.data(), *w1 = cw.i1.data();
  const T *lw0 = cw.l0.data(), *lw1 = cw.l1.data();
  for (int64_t o = 0; o < n; ++o) t[o] = r[w0[o]] * lw0[o] + r[w1[o]] * lw1[o];
}

/// Number of depth chunks per plane so that there are enough tasks for every thread.
int64_t depth_chunks(int64_t P, int64_t OD) {
  const int64_t want = 4 * (int64_t)omp_get_max_threads();
  return std::clamp<int64_t>((want + P - 1) / std::max<int64_t>(P, 1), 1, std::max<int64_t>(OD, 1));
}

/// Separable forward: every input row a task needs is interpolated along W once into a buffer
/// (in.H·out.W per input slice), then each output row is a weighted sum of 2 (bilinear) or 4
/// (trilinear) buffered rows, in PyTorch's order ((t_h0·lh0 + t_h1·lh1)·ld0 + (…)·ld1), so the
/// rounding matches the direct 8-point formula. Tasks are (plane, chunk of output depths).
template <class T> void linear_fwd(const T* x, T* y, Ext in, Ext out, bool ac) {
  const auto cd = linear_coeffs<T>(in.D, out.D, ac), ch = linear_coeffs<T>(in.H, out.H, ac),
             cw = linear_coeffs<T>(in.W, out.W, ac);
  const bool tri = in.D > 1 || out.D > 1;
  const int64_t nc = depth_chunks(in.P, out.D);
  const int64_t row = out.W, slice = in.H * out.W;
  parallel_for(in.P * nc, out.plane() / nc * (tri ? 6 : 3) + 1, [&](int64_t task) {
    const int64_t p = task / nc, c = task % nc;
    const int64_t od0 = out.D * c / nc, od1 = out.D * (c + 1) / nc;
    if (od0 >= od1) return;
    const int64_t s0 = cd.i0[od0], s1 = cd.i1[od1 - 1];  // input slices this chunk reads
    std::vector<T> buf((s1 - s0 + 1) * slice);
    const T* xp = x + p * in.plane();
    for (int64_t d = s0; d <= s1; ++d)
      for (int64_t h = 0; h < in.H; ++h) lerp_w(buf.data() + (d - s0) * slice + h * row, xp + (d * in.H + h) * in.W, cw, out.W);
    for (int64_t od = od0; od < od1; ++od) {
      const T* t0 = buf.data() + (cd.i0[od] - s0) * slice;
      const T* t1 = buf.data() + (cd.i1[od] - s0) * slice;
      const T ld0 = cd.l0[od], ld1 = cd.l1[od];
      T* yp = y + (p * out.D + od) * out.H * out.W;
      for (int64_t oh = 0; oh < out.H; ++oh) {
        const int64_t h0 = ch.i0[oh] * row, h1 = ch.i1[oh] * row;
        const T lh0 = ch.l0[oh], lh1 = ch.l1[oh];
        T* __restrict yr = yp + oh * out.W;
        const T *a0 = t0 + h0, *b0 = t0 + h1;
        if (!tri) {
#pragma omp simd
          for (int64_t o = 0; o < out.W; ++o) yr[o] = a0[o] * lh0 + b0[o] * lh1;
          continue;
        }
        const T *a1 = t1 + h0, *b1 = t1 + h1;
#pragma omp simd
        for (int64_t o = 0; o < out.W; ++o) yr[o] = (a0[o] * lh0 + b0[o] * lh1) * ld0 + (a1[o] * lh0 + b1[o] * lh1) * ld1;
      }
    }
  });
}

/// The W coefficients by input cell: input i receives weight[k]·t[src[k]] for k in
/// [start[i], start[i+1]) (CSR form of the 2·out.W (output, weight) pairs).
template <class T> struct Transposed {
  std::vector<int64_t> start, src;
  std::vector<T> weight;
};

template <class T> Transposed<T> transpose_coeffs(const LinearCoeffs<T>& c, int64_t n_in) {
  const int64_t n_out = (int64_t)c.i0.size();
  Transposed<T> t;
  t.start.assign(n_in + 1, 0);
  for (int64_t o = 0; o < n_out; ++o) {
    ++t.start[c.i0[o] + 1];
    ++t.start[c.i1[o] + 1];
  }
  for (int64_t i = 0; i < n_in; ++i) t.start[i + 1] += t.start[i];
  t.src.resize(2 * n_out);
  t.weight.resize(2 * n_out);
  std::vector<int64_t> fill(t.start.begin(), t.start.end() - 1);
  for (int64_t o = 0; o < n_out; ++o) {
    t.src[fill[c.i0[o]]] = o;
    t.weight[fill[c.i0[o]]++] = c.l0[o];
    t.src[fill[c.i1[o]]] = o;
    t.weight[fill[c.i1[o]]++] = c.l1[o];
  }
  return t;
}

/// The adjoint, separable too: each g row, times its D and H weights, is accumulated into a
/// W-space buffer row per input (d,h) row (vectorised axpys), then each input row gathers its
/// buffer cells with the W weights. Tasks are planes (no two write the same cell).
template <class T> void linear_bwd(const T* g, T* gx, Ext in, Ext out, bool ac) {
  const auto cd = linear_coeffs<T>(in.D, out.D, ac), ch = linear_coeffs<T>(in.H, out.H, ac),
             cw = linear_coeffs<T>(in.W, out.W, ac);
  const int64_t row = out.W, slice = in.H * out.W;
  const Transposed<T> wt = transpose_coeffs(cw, in.W);
  parallel_for(in.P, out.plane() * 5, [&](int64_t p) {
    std::vector<T> buf(in.D * slice, T(0));
    const T* gp = g + p * out.plane();
    for (int64_t od = 0; od < out.D; ++od) {
      T* t0 = buf.data() + cd.i0[od] * slice;
      T* t1 = buf.data() + cd.i1[od] * slice;
      const T ld0 = cd.l0[od], ld1 = cd.l1[od];
      for (int64_t oh = 0; oh < out.H; ++oh) {
        const T* __restrict gr = gp + (od * out.H + oh) * out.W;
        const int64_t h0 = ch.i0[oh] * row, h1 = ch.i1[oh] * row;
        const T w00 = ld0 * ch.l0[oh], w01 = ld0 * ch.l1[oh], w10 = ld1 * ch.l0[oh], w11 = ld1 * ch.l1[oh];
        // Distinct targets are updated in separate loops (they may alias when i0 = i1).
        T* r = t0 + h0;
#pragma omp simd
        for (int64_t o = 0; o < out.W; ++o) r[o] += w00 * gr[o];
        r = t0 + h1;
#pragma omp simd
        for (int64_t o = 0; o < out.W; ++o) r[o] += w01 * gr[o];
        if (w10 == T(0) && w11 == T(0)) continue;
        r = t1 + h0;
#pragma omp simd
        for (int64_t o = 0; o < out.W; ++o) r[o] += w10 * gr[o];
        r = t1 + h1;
#pragma omp simd
        for (int64_t o = 0; o < out.W; ++o) r[o] += w11 * gr[o];
      }
    }
    // W adjoint in gather form: every input cell is written once (no read-modify-write chains).
    T* xp = gx + p * in.plane();
    const int64_t* st = wt.start.data();
    const int64_t* so = wt.src.data();
    const T* sw = wt.weight.data();
    for (int64_t dh = 0; dh < in.D * in.H; ++dh) {
      const T* t = buf.data() + dh * row;
      T* xr = xp + dh * in.W;
      for (int64_t i = 0; i < in.W; ++i) {
        T acc = T(0);
        for (int64_t k = st[i]; k < st[i + 1]; ++k) acc += sw[k] * t[so[k]];
        xr[i] = acc;
      }
    }
  });
}

Ext ext4(const Shape& s) { return {s[0], s[1], s[2], s[3]}; }

}  // namespace

Tensor upsample_nearest_forward(const Tensor& x, const Shape& out) {
  Ext in = ext4(x.shape()), o{in.P, out[0], out[1], out[2]};
  Tensor y = empty({o.P, o.D, o.H, o.W}, x.dtype());
  UAD_DISPATCH_FLOAT(x.dtype(), "upsample_nearest", [&] { nearest_fwd<scalar_t>(x.data<scalar_t>(), y.data<scalar_t>(), in, o); });
  return y;
}

Tensor upsample_nearest_backward(const Tensor& g, const Shape& in) {
  Ext o = ext4(g.shape()), i{o.P, in[0], in[1], in[2]};
  Tensor gx = empty({i.P, i.D, i.H, i.W}, g.dtype());
  UAD_DISPATCH_FLOAT(g.dtype(), "upsample_nearest_backward", [&] {
    nearest_bwd<scalar_t>(g.data<scalar_t>(), gx.data<scalar_t>(), i, o);
  });
  return gx;
}

Tensor upsample_linear_forward(const Tensor& x, const Shape& out, bool align_corners) {
  Ext in = ext4(x.shape()), o{in.P, out[0], out[1], out[2]};
  Tensor y = empty({o.P, o.D, o.H, o.W}, x.dtype());
  UAD_DISPATCH_FLOAT(x.dtype(), "upsample_linear", [&] {
    linear_fwd<scalar_t>(x.data<scalar_t>(), y.data<scalar_t>(), in, o, align_corners);
  });
  return y;
}

Tensor upsample_linear_backward(const Tensor& g, const Shape& in, bool align_corners) {
  Ext o = ext4(g.shape()), i{o.P, in[0], in[1], in[2]};
  Tensor gx = empty({i.P, i.D, i.H, i.W}, g.dtype());
  UAD_DISPATCH_FLOAT(g.dtype(), "upsample_linear_backward", [&] {
    linear_bwd<scalar_t>(g.data<scalar_t>(), gx.data<scalar_t>(), i, o, align_corners);
  });
  return gx;
}

}  // namespace uad::cpu
