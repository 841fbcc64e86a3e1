// Elementwise CPU kernels over strided, broadcast operands. The scalar formula is a functor
// from kernels/common/functors.h (shared with CUDA); these templates only walk memory.
#pragma once
#include "kernels/cpu/loops.h"
#include "tensor/tensor.h"

namespace uad::cpu {

/// Calls body.template operator()<T>() with T the C++ type of floating dtype t; throws for
/// non-floating dtypes naming `op`.
#define UAD_DISPATCH_FLOAT(t, op, ...)                                                        \
  [&] {                                                                                      \
    switch (t) {                                                                             \
      case ::uad::DType::f32: { using scalar_t = float; return __VA_ARGS__(); }              \
      case ::uad::DType::f64: { using scalar_t = double; return __VA_ARGS__(); }             \
      default: ::uad::fail(op, ": expected a floating tensor (f32/f64), got ", ::uad::dtype_name(t)); \
    }                                                                                        \
  }()

/// Like UAD_DISPATCH_FLOAT over all four dtypes.
#define UAD_DISPATCH_ALL(t, op, ...)                                                          \
  [&] {                                                                                      \
    switch (t) {                                                                             \
      case ::uad::DType::f32: { using scalar_t = float; return __VA_ARGS__(); }              \
      case ::uad::DType::f64: { using scalar_t = double; return __VA_ARGS__(); }             \
      case ::uad::DType::i32: { using scalar_t = int32_t; return __VA_ARGS__(); }            \
      case ::uad::DType::u8: { using scalar_t = uint8_t; return __VA_ARGS__(); }             \
    }                                                                                        \
    ::uad::fail(op, ": unknown dtype");                                                      \
  }()

/// Splits [0,n) into contiguous chunks run in parallel when n is large (each chunk calls
/// body(begin, end)); the kernels below take their functor by value so the compiler sees it
/// cannot alias the output and vectorises the loop.
template <class Body> void parallel_chunks(int64_t n, Body body) {
  if (n < kParallelGrain) {
    body(0, n);
    return;
  }
  const int nt = omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int t = 0; t < nt; ++t) {
    int64_t b = n * t / nt / 16 * 16, e = t + 1 == nt ? n : n * (t + 1) / nt / 16 * 16;
    if (b < e) body(b, e);
  }
}

template <class Ti, class To, class F> void unary_run(const Ti* __restrict x, To* __restrict o, int64_t n, F f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
}

template <class Ta, class Tb, class To, class F>
void binary_run(const Ta* __restrict a, const Tb* __restrict b, To* __restrict o, int64_t n, F f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
}

/// One innermost run of a broadcast binary op; s = element strides of (out, a, b).
template <class Ta, class Tb, class To, class F>
void binary_strided_run(const Ta* __restrict x, const Tb* __restrict y, To* __restrict r, int64_t n,
                        std::array<int64_t, 3> s, F f) {
  if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) r[i] = f(x[i], y[i]);
  } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
    const Tb yv = y[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) r[i] = f(x[i], yv);
  } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
    const Ta xv = x[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) r[i] = f(xv, y[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) r[i * s[0]] = f(x[i * s[1]], y[i * s[2]]);
  }
}

/// out[i] = f(x[i]); out is a new contiguous tensor of dtype To.
template <class Ti, class To, class F> Tensor map_unary(const Tensor& x, F f) {
  Tensor out = empty(x.shape(), dtype_of<To>::value);
  const Ti* xp = x.data<Ti>();
  To* op = out.data<To>();
  if (x.is_contiguous()) {
    parallel_chunks(x.numel(), [&](int64_t b, int64_t e) { unary_run<Ti, To>(xp + b, op + b, e - b, f); });
    return out;
  }
  strided_loop<2>(x.shape(), {out.strides(), x.strides()}, {(char*)op, (char*)xp},
                  {sizeof(To), sizeof(Ti)}, [&](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
                    To* o = (To*)p[0];
                    const Ti* a = (const Ti*)p[1];
                    for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(a[i * s[1]]);
                  });
  return out;
}

/// out = f(a, b) with NumPy broadcasting; out is contiguous of dtype To.
template <class Ta, class Tb, class To, class F> Tensor map_binary(const Tensor& a, const Tensor& b, F f, const char* op) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = empty(shape, dtype_of<To>::value);
  const Ta* ap = a.data<Ta>();
  const Tb* bp = b.data<Tb>();
  To* o = out.data<To>();
  if (a.is_contiguous() && b.is_contiguous() && a.shape() == b.shape()) {
    parallel_chunks(out.numel(), [&](int64_t s, int64_t e) { binary_run<Ta, Tb, To>(ap + s, bp + s, o + s, e - s, f); });
    return out;
  }
  strided_loop<3>(shape, {out.strides(), broadcast_strides(a, shape), broadcast_strides(b, shape)},
                  {(char*)o, (char*)ap, (char*)bp}, {sizeof(To), sizeof(Ta), sizeof(Tb)},
                  [&](std::array<char*, 3> p, int64_t n, std::array<int64_t, 3> s) {
                    binary_strided_run<Ta, Tb, To>((const Ta*)p[1], (const Tb*)p[2], (To*)p[0], n, s, f);
                  });
  return out;
}

/// out = f(c, a, b) with broadcasting of all three (used by where).
template <class Tc, class T, class F>
Tensor map_ternary(const Tensor& c, const Tensor& a, const Tensor& b, F f, const char* op) {
  Shape shape = broadcast_shapes(broadcast_shapes(c.shape(), a.shape(), op), b.shape(), op);
  Tensor out = empty(shape, dtype_of<T>::value);
  strided_loop<4>(shape, {out.strides(), broadcast_strides(c, shape), broadcast_strides(a, shape), broadcast_strides(b, shape)},
                  {(char*)out.data<T>(), (char*)c.data<Tc>(), (char*)a.data<T>(), (char*)b.data<T>()},
                  {sizeof(T), sizeof(Tc), sizeof(T), sizeof(T)},
                  [&](std::array<char*, 4> p, int64_t n, std::array<int64_t, 4> s) {
                    T* r = (T*)p[0];
                    const Tc* cc = (const Tc*)p[1];
                    const T* x = (const T*)p[2];
                    const T* y = (const T*)p[3];
                    for (int64_t i = 0; i < n; ++i) r[i * s[0]] = f(cc[i * s[1]], x[i * s[2]], y[i * s[3]]);
                  });
  return out;
}

/// Copies src (any strides) into dst (same shape, any strides), converting dtype.
void copy_into(const Tensor& dst, const Tensor& src);

}  // namespace uad::cpu
