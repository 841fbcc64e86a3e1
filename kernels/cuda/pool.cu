/*
Average and max pooling, 2-D and 3-D, forward and backward (issue 3) — kernels/cpu/pool.cpp on
the GPU, PyTorch semantics (ceil_mode = False; avg with count_include_pad; max with −∞ padding,
NaN propagating, first maximum's index). Window bounds: fn::pool_window (kernels/common/
resample_index.h, shared with the CPU).

version 1 (forward): one thread per output cell (grid-stride, 256 threads/block), the window
  visited in (d, h, w) order — the CPU's order, so max/argmax are identical and the avg sum is
  too: for the common 2-wide/stride-2/unpadded W window the CPU adds each row's pair first,
  (x0 + x1), and this kernel does the same. Consecutive threads own consecutive ow, so a warp's
  loads of one window row are strided by s·4 B (2× down-sampling: two 128 B lines per warp-row,
  every byte used).
version 1 (backward): a gather, one thread per input cell: the outputs whose windows contain the
  cell form a box [od0, od1] × [oh0, oh1] × [ow0, ow1] (ceil/floor of (i + p − k + 1)/s and
  (i + p)/s); they are visited in ascending flat order, exactly the order in which the CPU's
  scatter adds into that cell, so the results are bitwise equal and no atomics are needed. max:
  adds g[o] where argmax[o] is the cell (the CPU's index_scatter_add).
Arithmetic intensity (f32, 2×2×2 window, stride 2): forward reads 8 cells (32 B) per output and
  writes 4 B (+4 B argmax): ~0.25 FLOP/B — memory-bound; backward reads each g (and argmax) once
  per overlapping window and writes 4 B per input cell.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cmath>
#include <cstdint>

#include "kernels/common/resample_index.h"
#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr unsigned kBlock = 256;
constexpr unsigned kMaxBlocks = 16384;

/// Device copy of a PoolGeometry with the output extent.
struct Geo {
  int64_t P, D, H, W, OD, OH, OW;
  int64_t k[3], s[3], p[3];
  bool pair_w;  // W window 2 wide, stride 2, no padding (the CPU's pair path)
};

Geo make_geo(const PoolGeometry& g) {
  Geo d{g.P, g.D, g.H, g.W, g.out(0), g.out(1), g.out(2), {}, {}, {}, false};
  for (int i = 0; i < 3; ++i) {
    d.k[i] = g.k[i];
    d.s[i] = g.s[i];
    d.p[i] = g.p[i];
  }
  d.pair_w = g.k[2] == 2 && g.s[2] == 2 && g.p[2] == 0;
  return d;
}

template <class T>
__global__ void __launch_bounds__(kBlock) avg_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, Geo g, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  const T div = T(g.k[0] * g.k[1] * g.k[2]);
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j;
    const int64_t ow = r % g.OW;
    r /= g.OW;
    const int64_t oh = r % g.OH;
    r /= g.OH;
    const int64_t od = r % g.OD, p = r / g.OD;
    int64_t d0, d1, h0, h1, w0, w1;
    fn::pool_window(od, g.k[0], g.s[0], g.p[0], g.D, d0, d1);
    fn::pool_window(oh, g.k[1], g.s[1], g.p[1], g.H, h0, h1);
    fn::pool_window(ow, g.k[2], g.s[2], g.p[2], g.W, w0, w1);
    const T* xp = x + p * g.D * g.H * g.W;
    T s = T(0);
    for (int64_t d = d0; d < d1; ++d)
      for (int64_t h = h0; h < h1; ++h) {
        const T* row = xp + (d * g.H + h) * g.W;
        if (g.pair_w) {
          s += row[2 * ow] + row[2 * ow + 1];
        } else {
          for (int64_t c = w0; c < w1; ++c) s += row[c];
        }
      }
    y[j] = s / div;
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) max_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, int32_t* __restrict__ idx, Geo g,
                                                         int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j;
    const int64_t ow = r % g.OW;
    r /= g.OW;
    const int64_t oh = r % g.OH;
    r /= g.OH;
    const int64_t od = r % g.OD, p = r / g.OD;
    int64_t d0, d1, h0, h1, w0, w1;
    fn::pool_window(od, g.k[0], g.s[0], g.p[0], g.D, d0, d1);
    fn::pool_window(oh, g.k[1], g.s[1], g.p[1], g.H, h0, h1);
    fn::pool_window(ow, g.k[2], g.s[2], g.p[2], g.W, w0, w1);
    const T* xp = x + p * g.D * g.H * g.W;
    T m = -T(INFINITY);
    int64_t mi = (d0 * g.H + h0) * g.W + w0;
    for (int64_t d = d0; d < d1; ++d)
      for (int64_t h = h0; h < h1; ++h) {
        const int64_t base = (d * g.H + h) * g.W;
        for (int64_t c = w0; c < w1; ++c) {
          const T v = xp[base + c];
          if (v > m || v != v) {  // PyTorch: (val > max) || isnan(val)
            m = v;
            mi = base + c;
          }
        }
      }
    y[j] = m;
    idx[j] = (int32_t)mi;
  }
}

/// Outputs [lo, hi] along one dim whose window contains input index i (empty when lo > hi).
__device__ __forceinline__ void covering(int64_t i, int64_t k, int64_t s, int64_t p, int64_t n_out, int64_t& lo, int64_t& hi) {
  const int64_t a = i + p - k + 1;  // o·s ≥ a
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = (i + p) / s;  // i + p ≥ 0
  if (hi > n_out - 1) hi = n_out - 1;
}

/// Gather adjoint of avg (MAX = false) or max (MAX = true) pooling, one thread per input cell.
template <class T, bool MAX>
__global__ void __launch_bounds__(kBlock) pool_bwd_kernel(const T* __restrict__ g, const int32_t* __restrict__ idx, T* __restrict__ dx,
                                                          Geo geo, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  const T div = T(geo.k[0] * geo.k[1] * geo.k[2]);
  const int64_t oplane = geo.OD * geo.OH * geo.OW;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j;
    const int64_t w = r % geo.W;
    r /= geo.W;
    const int64_t h = r % geo.H;
    r /= geo.H;
    const int64_t d = r % geo.D, p = r / geo.D;
    const int64_t cell = (d * geo.H + h) * geo.W + w;
    int64_t d0, d1, h0, h1, w0, w1;
    covering(d, geo.k[0], geo.s[0], geo.p[0], geo.OD, d0, d1);
    covering(h, geo.k[1], geo.s[1], geo.p[1], geo.OH, h0, h1);
    covering(w, geo.k[2], geo.s[2], geo.p[2], geo.OW, w0, w1);
    const T* gp = g + p * oplane;
    const int32_t* ip = MAX ? idx + p * oplane : nullptr;
    T acc = T(0);
    for (int64_t od = d0; od <= d1; ++od)
      for (int64_t oh = h0; oh <= h1; ++oh)
        for (int64_t ow = w0; ow <= w1; ++ow) {
          const int64_t o = (od * geo.OH + oh) * geo.OW + ow;
          if (MAX) {
            if (ip[o] == cell) acc += gp[o];
          } else {
            acc += gp[o] / div;
          }
        }
    dx[j] = acc;
  }
}

void check_geometry(const char* op, const PoolGeometry& g) {
  check(g.P >= 0 && g.D >= 1 && g.H >= 1 && g.W >= 1, op, ": bad input extent [", g.P, ",", g.D, ",", g.H, ",", g.W, "]");
  for (int i = 0; i < 3; ++i) {
    check(g.k[i] >= 1 && g.s[i] >= 1 && g.p[i] >= 0 && 2 * g.p[i] <= g.k[i], op, ": bad window along dim ", i, ": kernel ", g.k[i],
          ", stride ", g.s[i], ", padding ", g.p[i], " (padding must be at most half the kernel)");
    const int64_t n = i == 0 ? g.D : i == 1 ? g.H : g.W;
    check(n + 2 * g.p[i] >= g.k[i], op, ": kernel ", g.k[i], " larger than the padded input ", n, " + 2·", g.p[i], " along dim ", i);
  }
}

template <class F> void dispatch(const char* op, DType dtype, F f) {
  switch (dtype) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: fail(op, ": expected f32 or f64, got ", dtype_name(dtype));
  }
}

}  // namespace

void avg_pool_forward(DType dtype, const void* x, void* y, const PoolGeometry& geo, void* stream) {
  const char* op = "cuda::avg_pool_forward";
  check_geometry(op, geo);
  const Geo g = make_geo(geo);
  const int64_t n = geo.out_numel();
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(avg_fwd_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream), static_cast<const T*>(x),
           static_cast<T*>(y), g, n);
  });
}

void avg_pool_backward(DType dtype, const void* gr, void* dx, const PoolGeometry& geo, void* stream) {
  const char* op = "cuda::avg_pool_backward";
  check_geometry(op, geo);
  const Geo g = make_geo(geo);
  const int64_t n = geo.in_numel();
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(pool_bwd_kernel<T, false>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream),
           static_cast<const T*>(gr), static_cast<const int32_t*>(nullptr), static_cast<T*>(dx), g, n);
  });
}

void max_pool_forward(DType dtype, const void* x, void* y, int32_t* argmax, const PoolGeometry& geo, void* stream) {
  const char* op = "cuda::max_pool_forward";
  check_geometry(op, geo);
  check(geo.D * geo.H * geo.W <= INT32_MAX, op, ": a plane of ", geo.D * geo.H * geo.W, " cells does not fit the i32 indices");
  const Geo g = make_geo(geo);
  const int64_t n = geo.out_numel();
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(max_fwd_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream), static_cast<const T*>(x),
           static_cast<T*>(y), argmax, g, n);
  });
}

void max_pool_backward(DType dtype, const void* gr, const int32_t* argmax, void* dx, const PoolGeometry& geo, void* stream) {
  const char* op = "cuda::max_pool_backward";
  check_geometry(op, geo);
  const Geo g = make_geo(geo);
  const int64_t n = geo.in_numel();
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(pool_bwd_kernel<T, true>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream),
           static_cast<const T*>(gr), argmax, static_cast<T*>(dx), g, n);
  });
}

}  // namespace uad::cuda
