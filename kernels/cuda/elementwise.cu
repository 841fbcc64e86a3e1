/*
Elementwise kernels (issue 3): unary and binary ops on strided, broadcast operands of up to 5 dims
(after merging dims that are contiguous for every operand). The scalar formula of each op is the
functor of kernels/common/functors.h — the CPU backend's own — so the simulator reproduces the CPU
bit for bit; a GPU may differ in the last bits of exp/log/tanh/pow (CUDA's libdevice ulp bounds).

version 1: strided — one output element per thread per grid-stride step; the input offsets come
  from the output index by div/mod over the ≤5 merged dims (32-bit index math when every offset
  fits, 64-bit otherwise). Handles any layout: broadcasting (stride 0), transposes, slices.
binary_scalar: a binary op one of whose operands is a scalar held by value (a one-element CPU
  tensor meeting a device tensor, e.g. x * 0.5): the unary kernels with the scalar bound, so no
  device copy of the scalar and no synchronisation.
version 2: contiguous — every operand dense with the output's shape and 16-byte aligned: each
  thread loads and stores 16 bytes per operand (4 f32 / 2 f64, one LDG.128/STG.128), then a scalar
  tail. The common case (same-shape activations) at full memory bandwidth.
Launch: 256 threads per block (8 warps: full occupancy on sm_80/sm_90 with few registers), as many
  blocks as the work needs up to 16384, grid-stride beyond (the loop stays cheap, no tail launch).
Arithmetic intensity (f32): binary 12 B and 1 FLOP per element (transcendental ops ~10-20 FLOP),
  unary 8 B — all memory-bound; judge against DRAM bandwidth.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cstdint>

#include "kernels/common/functors.h"
#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr int kMaxDims = 5;
constexpr unsigned kBlock = 256;
constexpr unsigned kMaxBlocks = 16384;

/// N input pointers, passed by value to the kernels.
template <class T, int N> struct Inputs {
  const T* p[N];
};

/// Merged output shape (row-major, right-aligned in size[]; leading unused dims have size 1) and
/// each input's element strides over it.
template <int N> struct Geometry {
  int64_t size[kMaxDims];
  int64_t stride[N][kMaxDims];
};

/// A 16-byte (or smaller) vector of T, for aligned vector loads/stores.
template <class T, int V> struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

template <class T, int N, class F> __device__ __forceinline__ T call(const F& f, const T (&x)[N]) {
  if constexpr (N == 1) return f(x[0]);
  else return f(x[0], x[1]);
}

/// version 1: any strides.
template <class T, class I, int N, class F>
__global__ void __launch_bounds__(kBlock) strided_kernel(T* __restrict__ out, Inputs<T, N> in, Geometry<N> g, I n, F f) {
  const I step = (I)blockDim.x * (I)gridDim.x;
  for (I i = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; i < n; i += step) {
    I rem = i, off[N];
    UAD_UNROLL
    for (int k = 0; k < N; ++k) off[k] = 0;
    UAD_UNROLL
    for (int d = kMaxDims - 1; d >= 0; --d) {
      const I s = (I)g.size[d];
      if (s == 1) continue;
      const I q = rem / s, c = rem - q * s;
      rem = q;
      UAD_UNROLL
      for (int k = 0; k < N; ++k) off[k] += c * (I)g.stride[k][d];
    }
    T x[N];
    UAD_UNROLL
    for (int k = 0; k < N; ++k) x[k] = in.p[k][off[k]];
    out[i] = call<T, N>(f, x);
  }
}

/// version 2: dense, same shape, 16-byte aligned (V = 16 / sizeof(T) elements per vector).
template <class T, int N, class F>
__global__ void __launch_bounds__(kBlock) contiguous_kernel(T* __restrict__ out, Inputs<T, N> in, int64_t n, F f) {
  constexpr int V = 16 / sizeof(T);
  using Vt = Vec<T, V>;
  const int64_t nv = n / V;
  const int64_t step = (int64_t)blockDim.x * gridDim.x;
  const int64_t tid = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  for (int64_t i = tid; i < nv; i += step) {
    Vt xv[N];
    UAD_UNROLL
    for (int k = 0; k < N; ++k) xv[k] = reinterpret_cast<const Vt*>(in.p[k])[i];
    Vt r;
    UAD_UNROLL
    for (int j = 0; j < V; ++j) {
      T x[N];
      UAD_UNROLL
      for (int k = 0; k < N; ++k) x[k] = xv[k].v[j];
      r.v[j] = call<T, N>(f, x);
    }
    reinterpret_cast<Vt*>(out)[i] = r;
  }
  for (int64_t i = nv * V + tid; i < n; i += step) {
    T x[N];
    UAD_UNROLL
    for (int k = 0; k < N; ++k) x[k] = in.p[k][i];
    out[i] = call<T, N>(f, x);
  }
}

/// Output shape and input strides after dropping size-1 dims and merging dims that are
/// contiguous for the output and every input (as kernels/cpu/loops.h does on the CPU).
template <int N> struct Plan {
  Dims shape;
  Dims stride[N];
  int64_t numel = 1;
};

template <int N> Plan<N> make_plan(const Dims& shape, const Dims* const strides[N], const char* op) {
  Plan<N> p;
  for (int k = 0; k < N; ++k)
    check(strides[k]->size() == shape.size(), op, ": operand ", k, " has strides ", *strides[k], " for shape ", shape);
  Dims out_stride(shape.size());
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    check(shape[d] >= 0, op, ": negative size in shape ", shape);
    out_stride[d] = s;
    s *= shape[d];
  }
  p.numel = s;
  Dims ost;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !p.shape.empty() && ost.back() == out_stride[d] * shape[d];
    for (int k = 0; k < N && merge; ++k) merge = p.stride[k].back() == (*strides[k])[d] * shape[d];
    if (merge) {
      p.shape.back() *= shape[d];
      ost.back() = out_stride[d];
      for (int k = 0; k < N; ++k) p.stride[k].back() = (*strides[k])[d];
      continue;
    }
    p.shape.push_back(shape[d]);
    ost.push_back(out_stride[d]);
    for (int k = 0; k < N; ++k) p.stride[k].push_back((*strides[k])[d]);
  }
  return p;
}

template <class T, int N, class F>
void run(T* out, const void* const in_ptrs[N], const Dims& shape, const Dims* const strides[N], F f, cudaStream_t stream,
         const char* op) {
  Plan<N> p = make_plan<N>(shape, strides, op);
  if (p.numel == 0) return;
  Inputs<T, N> in;
  bool aligned = reinterpret_cast<uintptr_t>(out) % 16 == 0, dense = p.shape.size() <= 1;
  for (int k = 0; k < N; ++k) {
    in.p[k] = static_cast<const T*>(in_ptrs[k]);
    aligned = aligned && reinterpret_cast<uintptr_t>(in.p[k]) % 16 == 0;
    dense = dense && (p.shape.empty() || p.stride[k][0] == 1);
  }
  if (dense && aligned) {
    launch(contiguous_kernel<T, N, F>, grid_for(p.numel, kBlock, 16 / sizeof(T), kMaxBlocks), kBlock, 0, stream, out, in,
           p.numel, f);
    return;
  }
  check((int)p.shape.size() <= kMaxDims, op, ": ", p.shape.size(), " dims after merging contiguous ones (shape ", shape,
        "), the CUDA kernels take at most ", kMaxDims);
  Geometry<N> g;
  const int pad = kMaxDims - (int)p.shape.size();
  int64_t max_off = 0;
  for (int d = 0; d < kMaxDims; ++d) {
    g.size[d] = d < pad ? 1 : p.shape[d - pad];
    for (int k = 0; k < N; ++k) {
      g.stride[k][d] = d < pad ? 0 : p.stride[k][d - pad];
      check(g.stride[k][d] >= 0, op, ": negative strides are not supported");
      max_off += (g.size[d] - 1) * g.stride[k][d];
    }
  }
  const unsigned grid = grid_for(p.numel, kBlock, 1, kMaxBlocks);
  const int64_t limit32 = INT32_MAX - (int64_t)kBlock * kMaxBlocks;  // i + step must not overflow
  if (p.numel < limit32 && max_off < INT32_MAX)
    launch(strided_kernel<T, int32_t, N, F>, grid, kBlock, 0, stream, out, in, g, (int32_t)p.numel, f);
  else
    launch(strided_kernel<T, int64_t, N, F>, grid, kBlock, 0, stream, out, in, g, p.numel, f);
}

template <class T>
void unary_t(UnaryOp op, const void* x, const Dims& xs, void* out, const Dims& shape, UnaryParams a, cudaStream_t st) {
  const void* in[1] = {x};
  const Dims* strides[1] = {&xs};
  T* o = static_cast<T*>(out);
  switch (op) {
    case UnaryOp::neg: return run<T, 1>(o, in, shape, strides, fn::Neg{}, st, "cuda::unary(neg)");
    case UnaryOp::abs: return run<T, 1>(o, in, shape, strides, fn::Abs{}, st, "cuda::unary(abs)");
    case UnaryOp::sign: return run<T, 1>(o, in, shape, strides, fn::Sign{}, st, "cuda::unary(sign)");
    case UnaryOp::exp: return run<T, 1>(o, in, shape, strides, fn::Exp{}, st, "cuda::unary(exp)");
    case UnaryOp::log: return run<T, 1>(o, in, shape, strides, fn::Log{}, st, "cuda::unary(log)");
    case UnaryOp::sqrt: return run<T, 1>(o, in, shape, strides, fn::Sqrt{}, st, "cuda::unary(sqrt)");
    case UnaryOp::square: return run<T, 1>(o, in, shape, strides, fn::Square{}, st, "cuda::unary(square)");
    case UnaryOp::tanh: return run<T, 1>(o, in, shape, strides, fn::Tanh{}, st, "cuda::unary(tanh)");
    case UnaryOp::sigmoid: return run<T, 1>(o, in, shape, strides, fn::Sigmoid{}, st, "cuda::unary(sigmoid)");
    case UnaryOp::softplus: return run<T, 1>(o, in, shape, strides, fn::Softplus{}, st, "cuda::unary(softplus)");
    case UnaryOp::relu: return run<T, 1>(o, in, shape, strides, fn::Relu{}, st, "cuda::unary(relu)");
    case UnaryOp::leaky_relu: return run<T, 1>(o, in, shape, strides, fn::LeakyRelu{a.a}, st, "cuda::unary(leaky_relu)");
    case UnaryOp::elu: return run<T, 1>(o, in, shape, strides, fn::Elu{a.a}, st, "cuda::unary(elu)");
    case UnaryOp::clamp: return run<T, 1>(o, in, shape, strides, fn::Clamp{a.a, a.b}, st, "cuda::unary(clamp)");
    case UnaryOp::in_range: return run<T, 1>(o, in, shape, strides, fn::InRange{a.a, a.b}, st, "cuda::unary(in_range)");
    case UnaryOp::positive: return run<T, 1>(o, in, shape, strides, fn::Positive{}, st, "cuda::unary(positive)");
  }
  fail("cuda::unary: unknown op ", (int)op);
}

template <class T>
void binary_t(BinaryOp op, const void* a, const Dims& as, const void* b, const Dims& bs, void* out, const Dims& shape,
              cudaStream_t st) {
  const void* in[2] = {a, b};
  const Dims* strides[2] = {&as, &bs};
  T* o = static_cast<T*>(out);
  switch (op) {
    case BinaryOp::add: return run<T, 2>(o, in, shape, strides, fn::Add{}, st, "cuda::binary(add)");
    case BinaryOp::sub: return run<T, 2>(o, in, shape, strides, fn::Sub{}, st, "cuda::binary(sub)");
    case BinaryOp::mul: return run<T, 2>(o, in, shape, strides, fn::Mul{}, st, "cuda::binary(mul)");
    case BinaryOp::div: return run<T, 2>(o, in, shape, strides, fn::Div{}, st, "cuda::binary(div)");
    case BinaryOp::max: return run<T, 2>(o, in, shape, strides, fn::Max{}, st, "cuda::binary(max)");
    case BinaryOp::min: return run<T, 2>(o, in, shape, strides, fn::Min{}, st, "cuda::binary(min)");
    case BinaryOp::pow: return run<T, 2>(o, in, shape, strides, fn::Pow{}, st, "cuda::binary(pow)");
  }
  fail("cuda::binary: unknown op ", (int)op);
}

/// op(a, s) or op(s, a) with the scalar s held by value (one operand of a binary op that is a
/// one-element CPU tensor: no device copy, no synchronisation).
template <class T, class F> struct BindScalar {
  F f;
  T s;
  bool scalar_first;
  __host__ __device__ T operator()(T a) const { return scalar_first ? f(s, a) : f(a, s); }
};

template <class T>
void binary_scalar_t(BinaryOp op, const void* a, const Dims& as, T s, bool first, void* out, const Dims& shape, cudaStream_t st) {
  const void* in[1] = {a};
  const Dims* strides[1] = {&as};
  T* o = static_cast<T*>(out);
  switch (op) {
    case BinaryOp::add: return run<T, 1>(o, in, shape, strides, BindScalar<T, fn::Add>{{}, s, first}, st, "cuda::binary_scalar(add)");
    case BinaryOp::sub: return run<T, 1>(o, in, shape, strides, BindScalar<T, fn::Sub>{{}, s, first}, st, "cuda::binary_scalar(sub)");
    case BinaryOp::mul: return run<T, 1>(o, in, shape, strides, BindScalar<T, fn::Mul>{{}, s, first}, st, "cuda::binary_scalar(mul)");
    case BinaryOp::div: return run<T, 1>(o, in, shape, strides, BindScalar<T, fn::Div>{{}, s, first}, st, "cuda::binary_scalar(div)");
    case BinaryOp::max: return run<T, 1>(o, in, shape, strides, BindScalar<T, fn::Max>{{}, s, first}, st, "cuda::binary_scalar(max)");
    case BinaryOp::min: return run<T, 1>(o, in, shape, strides, BindScalar<T, fn::Min>{{}, s, first}, st, "cuda::binary_scalar(min)");
    case BinaryOp::pow: return run<T, 1>(o, in, shape, strides, BindScalar<T, fn::Pow>{{}, s, first}, st, "cuda::binary_scalar(pow)");
  }
  fail("cuda::binary_scalar: unknown op ", (int)op);
}

}  // namespace

void binary_scalar(BinaryOp op, DType dtype, const void* a, const Dims& a_strides, double s, bool scalar_first, void* out,
                   const Dims& shape, void* stream) {
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::f32: return binary_scalar_t<float>(op, a, a_strides, (float)s, scalar_first, out, shape, st);
    case DType::f64: return binary_scalar_t<double>(op, a, a_strides, s, scalar_first, out, shape, st);
    default: fail("cuda::binary_scalar: expected f32 or f64, got ", dtype_name(dtype), " (shape ", shape, ")");
  }
}

void unary(UnaryOp op, DType dtype, const void* x, const Dims& x_strides, void* out, const Dims& shape, UnaryParams params,
           void* stream) {
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::f32: return unary_t<float>(op, x, x_strides, out, shape, params, st);
    case DType::f64: return unary_t<double>(op, x, x_strides, out, shape, params, st);
    default: fail("cuda::unary: expected f32 or f64, got ", dtype_name(dtype), " (shape ", shape, ")");
  }
}

void binary(BinaryOp op, DType dtype, const void* a, const Dims& a_strides, const void* b, const Dims& b_strides, void* out,
            const Dims& shape, void* stream) {
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::f32: return binary_t<float>(op, a, a_strides, b, b_strides, out, shape, st);
    case DType::f64: return binary_t<double>(op, a, a_strides, b, b_strides, out, shape, st);
    default: fail("cuda::binary: expected f32 or f64, got ", dtype_name(dtype), " (shape ", shape, ")");
  }
}

}  // namespace uad::cuda
