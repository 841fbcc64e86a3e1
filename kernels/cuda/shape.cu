/*
Constant-zero padding and concatenation (issue 3) — kernels/cpu/pad.cpp's pad_zero_forward and
cat_forward on the GPU. Pure copies, so results are bitwise equal to the CPU on any device.

version 1 (pad_zero): one thread per output element (grid-stride, 256 threads/block), any rank
  up to 6: the output index is decomposed over the output shape (div/mod), shifted by −lo, and
  read through x's strides when inside x, 0 otherwise. Negative pads crop, so the same kernel is
  the adjoint (the vjp of a zero pad is the pad with −lo: a slice). Writes coalesced; reads
  coalesced along a contiguous last dim.
version 1 (concat / split): one launch per input, each a [outer, n_i, inner] slab copied into
  (or, for split, out of) the [outer, N, inner] output at offset off_i along the middle dim: one
  thread per element, consecutive threads consecutive addresses on both sides. A per-input
  launch costs ~3 µs; the usual concat (U-Net skip) has two inputs, so one fused launch over a
  pointer table is not worth it yet.
Arithmetic intensity: 0 FLOP; pad reads ≤ 4 B and writes 4 B per output element (f32), concat
  reads and writes 4 B per element — bandwidth only.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cstdint>
#include <cstring>

#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr unsigned kBlock = 256;
constexpr unsigned kMaxBlocks = 16384;
constexpr int kMaxPadDims = 6;

struct PadGeo {
  int nd;
  int64_t out[kMaxPadDims], in[kMaxPadDims], stride[kMaxPadDims], lo[kMaxPadDims];
};

/// T is a same-size unsigned integer: the copy moves bits (any dtype of that size).
template <class T>
__global__ void __launch_bounds__(kBlock) pad_kernel(const T* __restrict__ x, T* __restrict__ y, PadGeo g, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step) {
    int64_t r = j, off = 0;
    bool inside = true;
    for (int d = g.nd - 1; d >= 0; --d) {
      const int64_t c = r % g.out[d];
      r /= g.out[d];
      const int64_t i = c - g.lo[d];
      inside = inside && i >= 0 && i < g.in[d];
      off += i * g.stride[d];
    }
    y[j] = inside ? x[off] : T(0);
  }
}

/// dst[o, dst_off + k, i] = src[o, src_off + k, i] for o < outer, k < n, i < inner.
template <class T>
__global__ void __launch_bounds__(kBlock) slab_kernel(const T* __restrict__ src, int64_t src_n, int64_t src_off, T* __restrict__ dst,
                                                      int64_t dst_n, int64_t dst_off, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = outer * n * inner, step = (int64_t)gridDim.x * blockDim.x, row = n * inner;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < total; j += step) {
    const int64_t o = j / row, ki = j - o * row;
    dst[o * dst_n * inner + dst_off * inner + ki] = src[o * src_n * inner + src_off * inner + ki];
  }
}

/// Runs f(T{}) with T the unsigned integer of the element size (copies move bits).
template <class F> void by_size(const char* op, DType dtype, F f) {
  switch (dtype_size(dtype)) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: fail(op, ": unsupported element size ", dtype_size(dtype), " of ", dtype_name(dtype));
  }
}

template <class T> void slab(const void* src, int64_t src_n, int64_t src_off, void* dst, int64_t dst_n, int64_t dst_off, int64_t outer,
                             int64_t n, int64_t inner, cudaStream_t st) {
  const int64_t total = outer * n * inner;
  if (total == 0) return;
  launch(slab_kernel<T>, grid_for(total, kBlock, 1, kMaxBlocks), kBlock, 0, st, static_cast<const T*>(src), src_n, src_off,
         static_cast<T*>(dst), dst_n, dst_off, outer, n, inner);
}

}  // namespace

void pad_zero(DType dtype, const void* x, const Dims& x_shape, const Dims& x_strides, void* out, const Dims& out_shape, const Dims& lo,
              void* stream) {
  const char* op = "cuda::pad_zero";
  const size_t nd = out_shape.size();
  check(x_shape.size() == nd && x_strides.size() == nd && lo.size() == nd, op, ": input ", x_shape, " (strides ", x_strides,
        "), output ", out_shape, " and pads ", lo, " must have the same rank");
  check((int)nd <= kMaxPadDims, op, ": rank ", nd, " > ", kMaxPadDims, " (output ", out_shape, ")");
  PadGeo g{(int)nd, {}, {}, {}, {}};
  int64_t n = 1;
  for (size_t d = 0; d < nd; ++d) {
    check(out_shape[d] >= 0 && x_shape[d] >= 0 && x_strides[d] >= 0, op, ": negative size or stride in input ", x_shape, " / ",
          x_strides, " or output ", out_shape);
    g.out[d] = out_shape[d];
    g.in[d] = x_shape[d];
    g.stride[d] = x_strides[d];
    g.lo[d] = lo[d];
    n *= out_shape[d];
  }
  if (n == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  by_size(op, dtype, [&](auto t) {
    using T = decltype(t);
    launch(pad_kernel<T>, grid_for(n, kBlock, 1, kMaxBlocks), kBlock, 0, st, static_cast<const T*>(x), static_cast<T*>(out), g, n);
  });
}

void concat(DType dtype, const std::vector<const void*>& xs, const Dims& sizes, int64_t outer, int64_t inner, void* out, void* stream) {
  const char* op = "cuda::concat";
  check(xs.size() == sizes.size() && !xs.empty(), op, ": ", xs.size(), " inputs but ", sizes.size(), " sizes");
  check(outer >= 0 && inner >= 0, op, ": negative outer ", outer, " or inner ", inner);
  int64_t total = 0;
  for (int64_t s : sizes) {
    check(s >= 0, op, ": negative size along the dim in ", sizes);
    total += s;
  }
  auto st = static_cast<cudaStream_t>(stream);
  by_size(op, dtype, [&](auto t) {
    using T = decltype(t);
    int64_t off = 0;
    for (size_t k = 0; k < xs.size(); ++k) {
      slab<T>(xs[k], sizes[k], 0, out, total, off, outer, sizes[k], inner, st);
      off += sizes[k];
    }
  });
}

void split(DType dtype, const void* x, const Dims& sizes, int64_t outer, int64_t inner, const std::vector<void*>& outs, void* stream) {
  const char* op = "cuda::split";
  check(outs.size() == sizes.size() && !outs.empty(), op, ": ", outs.size(), " outputs but ", sizes.size(), " sizes");
  check(outer >= 0 && inner >= 0, op, ": negative outer ", outer, " or inner ", inner);
  int64_t total = 0;
  for (int64_t s : sizes) {
    check(s >= 0, op, ": negative size along the dim in ", sizes);
    total += s;
  }
  auto st = static_cast<cudaStream_t>(stream);
  by_size(op, dtype, [&](auto t) {
    using T = decltype(t);
    int64_t off = 0;
    for (size_t k = 0; k < outs.size(); ++k) {
      if (outs[k]) slab<T>(x, total, off, outs[k], sizes[k], 0, outer, sizes[k], inner, st);
      off += sizes[k];
    }
  });
}

}  // namespace uad::cuda
