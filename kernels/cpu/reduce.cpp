// Strided reductions: parallel over outputs when there are many, otherwise over the reduced
// range with per-thread partials combined in thread order (deterministic for a thread count).
#include "kernels/cpu/reduce.h"

#include <omp.h>

#include <limits>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/loops.h"

namespace uad::cpu {

namespace {

/// Merges contiguous neighbours of a single-operand (shape, strides) pair.
void coalesce1(Shape& shape, Shape& strides) {
  std::array<Shape, 1> st{strides};
  coalesce<1>(shape, st);
  strides = st[0];
}

template <class T, class Acc, ReduceKind K> struct Op {
  static Acc init() {
    if constexpr (K == ReduceKind::sum) return Acc(0);
    else if constexpr (K == ReduceKind::max) return -std::numeric_limits<Acc>::infinity();
    else return std::numeric_limits<Acc>::infinity();
  }
  static Acc combine(Acc a, Acc b) {
    if constexpr (K == ReduceKind::sum) return a + b;
    else if constexpr (K == ReduceKind::max) return (b > a || b != b) ? b : a;  // NaN propagates
    else return (b < a || b != b) ? b : a;
  }
};

/// Reduces the flat range [b, e) of the reduced index space starting at pointer p.
template <class T, class Acc, ReduceKind K>
Acc reduce_range(const T* p, const Shape& rs, const Shape& rst, int64_t b, int64_t e) {
  using O = Op<T, Acc, K>;
  const int64_t nd = (int64_t)rs.size();
  const int64_t inner = rs[nd - 1], is = rst[nd - 1];
  Acc acc = O::init();
  int64_t r = b;
  while (r < e) {
    int64_t i_in = r % inner;
    int64_t rem = r / inner;
    int64_t off = 0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      off += (rem % rs[d]) * rst[d];
      rem /= rs[d];
    }
    int64_t n = std::min(inner - i_in, e - r);
    const T* q = p + off + i_in * is;
    if constexpr (K == ReduceKind::sum) {
      Acc s = 0;
      if (is == 1) {
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < n; ++i) s += (Acc)q[i];
      } else {
        for (int64_t i = 0; i < n; ++i) s += (Acc)q[i * is];
      }
      acc += s;
    } else {
      for (int64_t i = 0; i < n; ++i) acc = O::combine(acc, (Acc)q[i * is]);
    }
    r += n;
  }
  return acc;
}

template <class T, ReduceKind K> Tensor reduce_t(const Tensor& x, const Shape& dims) {
  using Acc = std::conditional_t<K == ReduceKind::sum, double, T>;
  const int64_t nd = x.dim();
  Shape oshape = x.shape();
  Shape ks, kst, rs, rst;
  std::vector<bool> red(nd, false);
  for (int64_t d : dims) red[d] = true;
  for (int64_t d = 0; d < nd; ++d) {
    if (red[d]) { rs.push_back(x.shape()[d]); rst.push_back(x.strides()[d]); oshape[d] = 1; }
    else { ks.push_back(x.shape()[d]); kst.push_back(x.strides()[d]); }
  }
  Tensor out = empty(oshape, x.dtype());
  T* o = out.data<T>();
  const T* xp = x.data<T>();
  const int64_t n_out = numel_of(ks), n_red = numel_of(rs);
  if (n_red == 0) {
    for (int64_t i = 0; i < n_out; ++i) o[i] = (T)Op<T, Acc, K>::init();
    return out;
  }
  if (rs.empty()) { rs.push_back(1); rst.push_back(0); }
  coalesce1(rs, rst);
  auto base_of = [&](int64_t oi) {
    int64_t off = 0;
    for (int64_t d = (int64_t)ks.size() - 1; d >= 0; --d) {
      off += (oi % ks[d]) * kst[d];
      oi /= ks[d];
    }
    return off;
  };
  const int nt = omp_get_max_threads();
  if (n_out >= 2 * nt || n_out * n_red < kParallelGrain) {
    parallel_for(n_out, n_red, [&](int64_t oi) { o[oi] = (T)reduce_range<T, Acc, K>(xp + base_of(oi), rs, rst, 0, n_red); });
  } else {
    for (int64_t oi = 0; oi < n_out; ++oi) {
      std::vector<Acc> part(nt, Op<T, Acc, K>::init());
      const T* p = xp + base_of(oi);
#pragma omp parallel for schedule(static) num_threads(nt)
      for (int t = 0; t < nt; ++t) part[t] = reduce_range<T, Acc, K>(p, rs, rst, n_red * t / nt, n_red * (t + 1) / nt);
      Acc acc = Op<T, Acc, K>::init();
      for (int t = 0; t < nt; ++t) acc = Op<T, Acc, K>::combine(acc, part[t]);
      o[oi] = (T)acc;
    }
  }
  return out;
}

}  // namespace

Tensor reduce(const Tensor& x, const Shape& dims, ReduceKind kind) {
  return UAD_DISPATCH_FLOAT(x.dtype(), "reduce", [&] {
    switch (kind) {
      case ReduceKind::sum: return reduce_t<scalar_t, ReduceKind::sum>(x, dims);
      case ReduceKind::max: return reduce_t<scalar_t, ReduceKind::max>(x, dims);
      case ReduceKind::min: return reduce_t<scalar_t, ReduceKind::min>(x, dims);
    }
    return Tensor();
  });
}

}  // namespace uad::cpu
