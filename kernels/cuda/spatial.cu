/*
Linear upsampling, replicate padding and the max-pool index gather/scatter (issue 3) —
kernels/cpu/upsample.cpp (linear path), kernels/cpu/pad.cpp (replicate) and kernels/cpu/pool.cpp
(index_gather / index_scatter_add) on the GPU. Layout: contiguous [P, D, H, W] planes (P = N·C, or
the product of the unpadded leading dims), 1-D/2-D being unit D (and H). dtype f32/f64.

version 1 (upsample_linear forward): one thread per output cell (grid-stride, 256 threads/block);
  the (i0, i1, λ0, λ1) coefficients of each dim are recomputed per thread with the CPU's formula
  (fn::linear_source of kernels/common/resample_index.h, the CPU's formula) and the
  cell is interpolated in the CPU's order: along W first, then H, then D
  ((t_h0·λh0 + t_h1·λh1)·λd0 + (…)·λd1). 8 reads (4 in 2-D), 1 write.
version 1 (upsample_linear backward): a gather, one thread per input cell: along each dim the
  outputs that read cell i form the contiguous range {o : i0(o) ∈ {i−1, i}} (i0 is non-decreasing
  in o), found by binary search on i0; the cell sums g·λd·λh·λw over the box (D·H weights first,
  then the W weight, as the CPU's separable adjoint). No atomics; deterministic.
version 1 (pad_replicate forward): one thread per output cell: x at the clamped source index.
version 1 (pad_replicate backward): a gather, one thread per input cell: along each dim the
  outputs copied from cell i are [0, lo] for i = 0, [lo + n − 1, out − 1] for i = n − 1 (both when
  n = 1), else {lo + i}; summed in ascending flat order (the CPU's scatter order).
version 1 (index_gather): one thread per output: y[p,q] = x[p, idx[p,q]].
version 1 (index_scatter_add): T = min(256, ⌈plane/64⌉) threads per plane, each owning a
  contiguous chunk of ⌈plane/T⌉ cells: it zeroes its chunk, then reads all Q (index, g) pairs of
  the plane in ascending q and adds those landing in its chunk — the CPU's order, so bitwise
  equal, and no atomics (no two threads write one cell). The index reads of a warp are
  broadcasts (the warp shares the plane). Costs T·Q index reads per plane instead of Q: fine for
  what it serves — the max-pool vjp does not use it (it has the window geometry and calls
  pool.cu's gather kernel); this is the public max_pool_backward(g, indices, shape) and second
  order through max_pool_gather.
Arithmetic intensity (f32): all memory-bound — linear forward ~15 FLOP per 36 B (3-D), backward
  ~4 FLOP per 4 B read of g (each g read by ≤ 8 input cells); the rest are copies.
Out-of-range indices in index_gather / index_scatter_add are skipped (gather writes 0) rather
than read out of bounds (the CPU trusts them: they come from max_pool_forward).
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cmath>
#include <cstdint>

#include "kernels/common/host_device.h"
#include "kernels/common/resample_index.h"
#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr unsigned kBlock = 256;
constexpr unsigned kMaxBlocks = 16384;

struct Ext {
  int64_t P, in[3], out[3];
};


/// The first output index o in [0, n_out] with i0(o) ≥ i (n_out when none): binary search.
template <class T> __device__ inline int64_t first_with_source(int64_t i, int64_t n_in, int64_t n_out, bool ac) {
  int64_t lo = 0, hi = n_out;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    int64_t a, b;
    T l0, l1;
    fn::linear_source<T>(mid, n_in, n_out, ac, a, b, l0, l1);
    if (a >= i) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/// The weight with which output o reads input cell i along one dim (0 when it does not).
template <class T> __device__ inline T weight_of(int64_t o, int64_t i, int64_t n_in, int64_t n_out, bool ac) {
  int64_t a, b;
  T l0, l1;
  fn::linear_source<T>(o, n_in, n_out, ac, a, b, l0, l1);
  T w = T(0);
  if (a == i) w += l0;
  if (b == i) w += l1;
  return w;
}

template <class T>
__global__ void __launch_bounds__(kBlock) linear_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, Ext e, bool ac, bool tri,
                                                            int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j;
    const int64_t ow = r % e.out[2];
    r /= e.out[2];
    const int64_t oh = r % e.out[1];
    r /= e.out[1];
    const int64_t od = r % e.out[0], p = r / e.out[0];
    int64_t d0, d1, h0, h1, w0, w1;
    T ld0, ld1, lh0, lh1, lw0, lw1;
    fn::linear_source<T>(od, e.in[0], e.out[0], ac, d0, d1, ld0, ld1);
    fn::linear_source<T>(oh, e.in[1], e.out[1], ac, h0, h1, lh0, lh1);
    fn::linear_source<T>(ow, e.in[2], e.out[2], ac, w0, w1, lw0, lw1);
    const T* xp = x + p * e.in[0] * e.in[1] * e.in[2];
    auto row = [&](int64_t d, int64_t h) {
      const T* rr = xp + (d * e.in[1] + h) * e.in[2];
      return rr[w0] * lw0 + rr[w1] * lw1;
    };
    const T a0 = row(d0, h0), b0 = row(d0, h1);
    if (!tri) {
      y[j] = a0 * lh0 + b0 * lh1;
    } else {
      const T a1 = row(d1, h0), b1 = row(d1, h1);
      y[j] = (a0 * lh0 + b0 * lh1) * ld0 + (a1 * lh0 + b1 * lh1) * ld1;
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) linear_bwd_kernel(const T* __restrict__ g, T* __restrict__ dx, Ext e, bool ac, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j;
    const int64_t w = r % e.in[2];
    r /= e.in[2];
    const int64_t h = r % e.in[1];
    r /= e.in[1];
    const int64_t d = r % e.in[0], p = r / e.in[0];
    const int64_t od0 = first_with_source<T>(d - 1, e.in[0], e.out[0], ac), od1 = first_with_source<T>(d + 1, e.in[0], e.out[0], ac);
    const int64_t oh0 = first_with_source<T>(h - 1, e.in[1], e.out[1], ac), oh1 = first_with_source<T>(h + 1, e.in[1], e.out[1], ac);
    const int64_t ow0 = first_with_source<T>(w - 1, e.in[2], e.out[2], ac), ow1 = first_with_source<T>(w + 1, e.in[2], e.out[2], ac);
    const T* gp = g + p * e.out[0] * e.out[1] * e.out[2];
    T acc = T(0);
    for (int64_t ow = ow0; ow < ow1; ++ow) {
      const T ww = weight_of<T>(ow, w, e.in[2], e.out[2], ac);
      if (ww == T(0)) continue;
      T s = T(0);
      for (int64_t od = od0; od < od1; ++od) {
        const T wd = weight_of<T>(od, d, e.in[0], e.out[0], ac);
        if (wd == T(0)) continue;
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          const T wh = weight_of<T>(oh, h, e.in[1], e.out[1], ac);
          if (wh == T(0)) continue;
          s += (wd * wh) * gp[(od * e.out[1] + oh) * e.out[2] + ow];
        }
      }
      acc += ww * s;
    }
    dx[j] = acc;
  }
}

struct PadExt {
  int64_t P, in[3], out[3], lo[3];
};

__device__ __forceinline__ int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

template <class T>
__global__ void __launch_bounds__(kBlock) replicate_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, PadExt e, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j;
    const int64_t ow = r % e.out[2];
    r /= e.out[2];
    const int64_t oh = r % e.out[1];
    r /= e.out[1];
    const int64_t od = r % e.out[0], p = r / e.out[0];
    const int64_t d = clamp_index(od - e.lo[0], e.in[0]), h = clamp_index(oh - e.lo[1], e.in[1]), w = clamp_index(ow - e.lo[2], e.in[2]);
    y[j] = x[((p * e.in[0] + d) * e.in[1] + h) * e.in[2] + w];
  }
}

/// Outputs [lo, hi] along one dim copied from input cell i.
__device__ __forceinline__ void replicate_range(int64_t i, int64_t n, int64_t lo_pad, int64_t n_out, int64_t& lo, int64_t& hi) {
  lo = i == 0 ? 0 : lo_pad + i;
  hi = i == n - 1 ? n_out - 1 : lo_pad + i;
}

template <class T>
__global__ void __launch_bounds__(kBlock) replicate_bwd_kernel(const T* __restrict__ g, T* __restrict__ dx, PadExt e, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j;
    const int64_t w = r % e.in[2];
    r /= e.in[2];
    const int64_t h = r % e.in[1];
    r /= e.in[1];
    const int64_t d = r % e.in[0], p = r / e.in[0];
    int64_t d0, d1, h0, h1, w0, w1;
    replicate_range(d, e.in[0], e.lo[0], e.out[0], d0, d1);
    replicate_range(h, e.in[1], e.lo[1], e.out[1], h0, h1);
    replicate_range(w, e.in[2], e.lo[2], e.out[2], w0, w1);
    const T* gp = g + p * e.out[0] * e.out[1] * e.out[2];
    T acc = T(0);
    for (int64_t od = d0; od <= d1; ++od)
      for (int64_t oh = h0; oh <= h1; ++oh) {
        const T* row = gp + (od * e.out[1] + oh) * e.out[2];
        for (int64_t ow = w0; ow <= w1; ++ow) acc += row[ow];
      }
    dx[j] = acc;
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) gather_kernel(const T* __restrict__ x, const int32_t* __restrict__ idx, T* __restrict__ y,
                                                        int64_t plane, int64_t Q, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    const int64_t p = j / Q;
    const int32_t i = idx[j];
    y[j] = i >= 0 && i < plane ? x[p * plane + i] : T(0);
  }
}

/// Scatter-add by chunk owners: `per_plane` threads per plane, `chunk` cells each.
template <class T>
__global__ void __launch_bounds__(kBlock) scatter_chunk_kernel(const T* __restrict__ g, const int32_t* __restrict__ idx, T* __restrict__ dx,
                                                               int64_t P, int64_t Q, int64_t plane, int64_t per_plane, int64_t chunk) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < P * per_plane; j += step) {
    const int64_t p = j / per_plane, c0 = (j % per_plane) * chunk;
    const int64_t c1 = c0 + chunk < plane ? c0 + chunk : plane;
    if (c0 >= c1) continue;
    T* op = dx + p * plane;
    for (int64_t c = c0; c < c1; ++c) op[c] = T(0);
    const T* gp = g + p * Q;
    const int32_t* ip = idx + p * Q;
    for (int64_t q = 0; q < Q; ++q) {
      const int64_t i = ip[q];
      if (i >= c0 && i < c1) op[i] += gp[q];
    }
  }
}

template <class F> void dispatch(const char* op, DType dtype, F f) {
  switch (dtype) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: fail(op, ": expected f32 or f64, got ", dtype_name(dtype));
  }
}

Ext make_ext(const char* op, int64_t P, const int64_t in[3], const int64_t out[3]) {
  Ext e{P, {}, {}};
  check(P >= 0, op, ": negative plane count ", P);
  for (int i = 0; i < 3; ++i) {
    check(in[i] >= 1 && out[i] >= 1, op, ": bad extent along dim ", i, ": input ", in[i], ", output ", out[i]);
    e.in[i] = in[i];
    e.out[i] = out[i];
  }
  return e;
}

PadExt make_pad(const char* op, int64_t P, const int64_t in[3], const int64_t lo[3], const int64_t hi[3]) {
  PadExt e{P, {}, {}, {}};
  check(P >= 0, op, ": negative plane count ", P);
  for (int i = 0; i < 3; ++i) {
    check(in[i] >= 1 && lo[i] >= 0 && hi[i] >= 0, op, ": bad extent or pads along dim ", i, ": input ", in[i], ", pads ", lo[i], ", ",
          hi[i]);
    e.in[i] = in[i];
    e.lo[i] = lo[i];
    e.out[i] = in[i] + lo[i] + hi[i];
  }
  return e;
}

}  // namespace

void upsample_linear_forward(DType dtype, const void* x, void* y, int64_t P, const int64_t in[3], const int64_t out[3], bool align_corners,
                             void* stream) {
  const char* op = "cuda::upsample_linear_forward";
  const Ext e = make_ext(op, P, in, out);
  const int64_t n = P * out[0] * out[1] * out[2];
  if (n == 0) return;
  const bool tri = in[0] > 1 || out[0] > 1;  // the CPU's choice of the 2-D or 3-D formula
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(linear_fwd_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream),
           static_cast<const T*>(x), static_cast<T*>(y), e, align_corners, tri, n);
  });
}

void upsample_linear_backward(DType dtype, const void* g, void* dx, int64_t P, const int64_t in[3], const int64_t out[3],
                              bool align_corners, void* stream) {
  const char* op = "cuda::upsample_linear_backward";
  const Ext e = make_ext(op, P, in, out);
  const int64_t n = P * in[0] * in[1] * in[2];
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(linear_bwd_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream),
           static_cast<const T*>(g), static_cast<T*>(dx), e, align_corners, n);
  });
}

void pad_replicate_forward(DType dtype, const void* x, void* y, int64_t P, const int64_t in[3], const int64_t lo[3], const int64_t hi[3],
                           void* stream) {
  const char* op = "cuda::pad_replicate_forward";
  const PadExt e = make_pad(op, P, in, lo, hi);
  const int64_t n = P * e.out[0] * e.out[1] * e.out[2];
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(replicate_fwd_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream),
           static_cast<const T*>(x), static_cast<T*>(y), e, n);
  });
}

void pad_replicate_backward(DType dtype, const void* g, void* dx, int64_t P, const int64_t in[3], const int64_t lo[3], const int64_t hi[3],
                            void* stream) {
  const char* op = "cuda::pad_replicate_backward";
  const PadExt e = make_pad(op, P, in, lo, hi);
  const int64_t n = P * in[0] * in[1] * in[2];
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(replicate_bwd_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream),
           static_cast<const T*>(g), static_cast<T*>(dx), e, n);
  });
}

void index_gather(DType dtype, const void* x, const int32_t* idx, void* y, int64_t P, int64_t plane, int64_t Q, void* stream) {
  const char* op = "cuda::index_gather";
  check(P >= 0 && plane >= 0 && Q >= 0, op, ": negative size P=", P, " plane=", plane, " Q=", Q);
  const int64_t n = P * Q;
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(gather_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream), static_cast<const T*>(x),
           idx, static_cast<T*>(y), plane, Q, n);
  });
}

void index_scatter_add(DType dtype, const void* g, const int32_t* idx, void* dx, int64_t P, int64_t Q, int64_t plane, void* stream) {
  const char* op = "cuda::index_scatter_add";
  check(P >= 0 && plane >= 0 && Q >= 0, op, ": negative size P=", P, " plane=", plane, " Q=", Q);
  if (P == 0 || plane == 0) return;
  int64_t per_plane = (plane + 63) / 64;
  if (per_plane > 256) per_plane = 256;
  const int64_t chunk = (plane + per_plane - 1) / per_plane;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(scatter_chunk_kernel<T>, grid_for(P * per_plane, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream),
           static_cast<const T*>(g), idx, static_cast<T*>(dx), P, Q, plane, per_plane, chunk);
  });
}

}  // namespace uad::cuda
