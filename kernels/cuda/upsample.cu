/*
Nearest upsampling (any integer or fractional factor, 1-D/2-D/3-D) forward and backward (issue 3)
— kernels/cpu/upsample.cpp's nearest path on the GPU, PyTorch F.interpolate(mode='nearest')
semantics; the source index is fn::nearest_source (kernels/common/resample_index.h, shared with
the CPU).

version 1 (forward): one thread per output cell, grid-stride, 256 threads/block: a gather
  y[p,od,oh,ow] = x[p, src(od), src(oh), src(ow)]. Writes are coalesced; reads of a 2× upsample
  hit each source word twice within a warp (broadcast), so DRAM traffic is 1 read + 2^k writes.
version 1 (backward): a gather, one thread per input cell, summing the outputs that copied it —
  along each dim a contiguous range [first(i), first(i+1)) (src is non-decreasing; first() is
  found from an estimate and corrected by ±1 steps with src itself, so it agrees with the
  forward exactly). The range is visited in the CPU's order ((od, oh) rows, then ow; for an
  exact 2× along W the pair g[2w] + g[2w+1] is added first, as the CPU does), so results are
  bitwise equal and there are no atomics.
Arithmetic intensity (f32, 2× in 3-D): forward 4 B read + 32 B written per input cell, 0 FLOP;
  backward 32 B read + 4 B written, 7 FLOP per input cell — both pure bandwidth.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cstdint>

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

template <class T>
__global__ void __launch_bounds__(kBlock) nearest_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, Ext e, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j;
    const int64_t ow = r % e.out[2];
    r /= e.out[2];
    const int64_t oh = r % e.out[1];
    r /= e.out[1];
    const int64_t od = r % e.out[0], p = r / e.out[0];
    const int64_t d = fn::nearest_source(od, e.in[0], e.out[0]), h = fn::nearest_source(oh, e.in[1], e.out[1]),
                  w = fn::nearest_source(ow, e.in[2], e.out[2]);
    y[j] = x[((p * e.in[0] + d) * e.in[1] + h) * e.in[2] + w];
  }
}

/// The first output index whose source is ≥ i (n_out when none).
__device__ __forceinline__ int64_t first_output(int64_t i, int64_t n_in, int64_t n_out) {
  if (i <= 0) return 0;
  if (i >= n_in) return n_out;
  int64_t o = i * n_out / n_in;  // within a step or two of the answer
  if (o > n_out) o = n_out;
  while (o > 0 && fn::nearest_source(o - 1, n_in, n_out) >= i) --o;
  while (o < n_out && fn::nearest_source(o, n_in, n_out) < i) ++o;
  return o;
}

template <class T>
__global__ void __launch_bounds__(kBlock) nearest_bwd_kernel(const T* __restrict__ g, T* __restrict__ dx, Ext e, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  const bool pair_w = e.out[2] == 2 * e.in[2];
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j;
    const int64_t w = r % e.in[2];
    r /= e.in[2];
    const int64_t h = r % e.in[1];
    r /= e.in[1];
    const int64_t d = r % e.in[0], p = r / e.in[0];
    const int64_t d0 = first_output(d, e.in[0], e.out[0]), d1 = first_output(d + 1, e.in[0], e.out[0]);
    const int64_t h0 = first_output(h, e.in[1], e.out[1]), h1 = first_output(h + 1, e.in[1], e.out[1]);
    const int64_t w0 = first_output(w, e.in[2], e.out[2]), w1 = first_output(w + 1, e.in[2], e.out[2]);
    const T* gp = g + p * e.out[0] * e.out[1] * e.out[2];
    T acc = T(0);
    for (int64_t od = d0; od < d1; ++od)
      for (int64_t oh = h0; oh < h1; ++oh) {
        const T* row = gp + (od * e.out[1] + oh) * e.out[2];
        if (pair_w) {
          acc += row[2 * w] + row[2 * w + 1];
        } else {
          for (int64_t ow = w0; ow < w1; ++ow) acc += row[ow];
        }
      }
    dx[j] = acc;
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

template <class F> void dispatch(const char* op, DType dtype, F f) {
  switch (dtype) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: fail(op, ": expected f32 or f64, got ", dtype_name(dtype));
  }
}

}  // namespace

void upsample_nearest_forward(DType dtype, const void* x, void* y, int64_t P, const int64_t in[3], const int64_t out[3], void* stream) {
  const char* op = "cuda::upsample_nearest_forward";
  const Ext e = make_ext(op, P, in, out);
  const int64_t n = P * out[0] * out[1] * out[2];
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(nearest_fwd_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream),
           static_cast<const T*>(x), static_cast<T*>(y), e, n);
  });
}

void upsample_nearest_backward(DType dtype, const void* g, void* dx, int64_t P, const int64_t in[3], const int64_t out[3], void* stream) {
  const char* op = "cuda::upsample_nearest_backward";
  const Ext e = make_ext(op, P, in, out);
  const int64_t n = P * in[0] * in[1] * in[2];
  if (n == 0) return;
  dispatch(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(nearest_bwd_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream),
           static_cast<const T*>(g), static_cast<T*>(dx), e, n);
  });
}

}  // namespace uad::cuda
