/*
Elementwise kernels whose operands have different dtypes (issue 3): comparisons (→ u8), where
(u8 condition), cast / strided copy (any dtype → any dtype, any strides on both sides) and fill. Together with
elementwise.cu they give the tensor ops of tensor/ops_elementwise.h and tensor/ops_view.h
(contiguous, clone, cast) a CUDA path. The scalar formulas are the CPU's: comparisons are
`(uint8_t)(a OP b)`, casts are C++ conversions `(To)x` (as cpu::copy_into), fill is `(T)value`.

Launch: 256 threads per block, up to 16384 blocks, grid-stride; one output element per thread per
  step, the input offsets from the output index by div/mod over ≤ 6 dims (after dropping size-1
  dims and merging dims contiguous for every operand), 64-bit index math. No vector loads: these
  kernels are off the hot path (masks, dtype changes, making a view contiguous).
Arithmetic intensity: compare 2·sizeof(T)+1 B, where sizeof(T)·2+1+sizeof(T) B, cast
  sizeof(Ti)+sizeof(To) B, fill sizeof(T) B per element, no FLOPs: memory-bound.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator

#include <cstdint>

#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr int kDims = 6;
constexpr unsigned kBlock = 256;
constexpr unsigned kMaxBlocks = 16384;

/// Output extent (right-aligned, leading dims of size 1) and each input's element strides.
template <int N> struct Geom {
  int64_t size[kDims];
  int64_t stride[N][kDims];
};

/// Calls f(i, off) for every output element i with the inputs' element offsets off[0..N).
template <int N, class F> __global__ void __launch_bounds__(kBlock) indexed_kernel(Geom<N> g, int64_t n, F f) {
  const int64_t step = (int64_t)blockDim.x * gridDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t rem = i, off[N];
    UAD_UNROLL
    for (int k = 0; k < N; ++k) off[k] = 0;
    UAD_UNROLL
    for (int d = kDims - 1; d >= 0; --d) {
      const int64_t s = g.size[d];
      if (s == 1) continue;
      const int64_t q = rem / s, c = rem - q * s;
      rem = q;
      UAD_UNROLL
      for (int k = 0; k < N; ++k) off[k] += c * g.stride[k][d];
    }
    f(i, off);
  }
}

/// Merges dims as elementwise.cu's make_plan does, then launches indexed_kernel.
template <int N, class F> void run_indexed(const Dims& shape, const Dims* const strides[N], F f, cudaStream_t stream, const char* op) {
  for (int k = 0; k < N; ++k)
    check(strides[k]->size() == shape.size(), op, ": operand ", k, " has strides ", *strides[k], " for shape ", shape);
  Dims msize, mstride[N], ost;
  int64_t numel = 1;
  Dims out_stride(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    check(shape[d] >= 0, op, ": negative size in shape ", shape);
    out_stride[d] = numel;
    numel *= shape[d];
  }
  if (numel == 0) return;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !msize.empty() && ost.back() == out_stride[d] * shape[d];
    for (int k = 0; k < N && merge; ++k) merge = mstride[k].back() == (*strides[k])[d] * shape[d];
    if (merge) {
      msize.back() *= shape[d];
      ost.back() = out_stride[d];
      for (int k = 0; k < N; ++k) mstride[k].back() = (*strides[k])[d];
      continue;
    }
    msize.push_back(shape[d]);
    ost.push_back(out_stride[d]);
    for (int k = 0; k < N; ++k) mstride[k].push_back((*strides[k])[d]);
  }
  check((int)msize.size() <= kDims, op, ": ", msize.size(), " dims after merging contiguous ones (shape ", shape,
        "), the CUDA kernels take at most ", kDims);
  Geom<N> g;
  const int pad = kDims - (int)msize.size();
  for (int d = 0; d < kDims; ++d) {
    g.size[d] = d < pad ? 1 : msize[d - pad];
    for (int k = 0; k < N; ++k) {
      g.stride[k][d] = d < pad ? 0 : mstride[k][d - pad];
      check(g.stride[k][d] >= 0, op, ": negative strides are not supported");
    }
  }
  launch(indexed_kernel<N, F>, grid_for(numel, kBlock, 1, kMaxBlocks), kBlock, 0, stream, g, numel, f);
}

template <class T> struct CompareF {
  const T* a;
  const T* b;
  uint8_t* out;
  CompareOp op;
  __device__ void operator()(int64_t i, const int64_t* off) const {
    const T x = a[off[0]], y = b[off[1]];
    bool r = false;
    switch (op) {
      case CompareOp::eq: r = x == y; break;
      case CompareOp::ne: r = x != y; break;
      case CompareOp::lt: r = x < y; break;
      case CompareOp::le: r = x <= y; break;
      case CompareOp::gt: r = x > y; break;
      case CompareOp::ge: r = x >= y; break;
    }
    out[i] = (uint8_t)r;
  }
};

template <class T> struct WhereF {
  const uint8_t* c;
  const T* a;
  const T* b;
  T* out;
  __device__ void operator()(int64_t i, const int64_t* off) const { out[i] = c[off[0]] ? a[off[1]] : b[off[2]]; }
};

template <class To, class Ti> struct CastF {
  const Ti* x;
  To* out;
  __device__ void operator()(int64_t, const int64_t* off) const { out[off[1]] = (To)x[off[0]]; }
};

template <class T> struct FillF {
  T* out;
  T v;
  __device__ void operator()(int64_t i, const int64_t*) const { out[i] = v; }
};

template <class T> struct Tag {
  using type = T;
};

/// Calls body(Tag<T>{}) with T the C++ type of `t` (C++17: the .cu files build as C++17).
template <class B> void dispatch_all(DType t, const char* op, B&& body) {
  switch (t) {
    case DType::f32: return body(Tag<float>{});
    case DType::f64: return body(Tag<double>{});
    case DType::i32: return body(Tag<int32_t>{});
    case DType::u8: return body(Tag<uint8_t>{});
  }
  fail(op, ": unknown dtype ", (int)t);
}

}  // namespace

void compare(CompareOp op, DType dtype, const void* a, const Dims& a_strides, const void* b, const Dims& b_strides, uint8_t* out,
             const Dims& shape, void* stream) {
  const Dims* st[2] = {&a_strides, &b_strides};
  dispatch_all(dtype, "cuda::compare", [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_indexed<2>(shape, st, CompareF<T>{static_cast<const T*>(a), static_cast<const T*>(b), out, op}, static_cast<cudaStream_t>(stream),
                   "cuda::compare");
  });
}

void where(DType dtype, const uint8_t* cond, const Dims& c_strides, const void* a, const Dims& a_strides, const void* b,
           const Dims& b_strides, void* out, const Dims& shape, void* stream) {
  const Dims* st[3] = {&c_strides, &a_strides, &b_strides};
  dispatch_all(dtype, "cuda::where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_indexed<3>(shape, st, WhereF<T>{cond, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(out)},
                   static_cast<cudaStream_t>(stream), "cuda::where");
  });
}

void cast(DType src, const void* x, const Dims& x_strides, DType dst, void* out, const Dims& out_strides, const Dims& shape,
          void* stream) {
  const Dims* st[2] = {&x_strides, &out_strides};
  dispatch_all(dst, "cuda::cast", [&](auto to_tag) {
    using To = typename decltype(to_tag)::type;
    dispatch_all(src, "cuda::cast", [&](auto ti_tag) {
      using Ti = typename decltype(ti_tag)::type;
      run_indexed<2>(shape, st, CastF<To, Ti>{static_cast<const Ti*>(x), static_cast<To*>(out)}, static_cast<cudaStream_t>(stream),
                     "cuda::cast");
    });
  });
}

void fill(DType dtype, void* out, int64_t n, double value, void* stream) {
  check(n >= 0, "cuda::fill: negative count ", n);
  if (n == 0) return;
  const Dims shape{n}, none{0};
  const Dims* st[1] = {&none};
  dispatch_all(dtype, "cuda::fill", [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_indexed<1>(shape, st, FillF<T>{static_cast<T*>(out), (T)value}, static_cast<cudaStream_t>(stream), "cuda::fill");
  });
}

}  // namespace uad::cuda
