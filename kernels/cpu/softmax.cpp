// Softmax kernels (see softmax.h). Sums accumulate in the storage type after the max is
// subtracted (every term is in (0,1], so the sum is bounded by D and well conditioned).
#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/common/softmax_exp.h"
#include "kernels/cpu/loops.h"

namespace uad::cpu {

namespace {

/// Inner positions handled together when I > 1 (their running max/sum live in a small buffer).
constexpr int64_t kInnerChunk = 512;

template <class T> void row_forward(const T* x, T* y, int64_t D, bool log) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t d = 0; d < D; ++d) m = x[d] > m ? x[d] : m;
  if (std::isinf(m) && m < 0) m = 0;  // an all −inf row gives NaN like PyTorch via 0/0 below
  T s = 0;
  if (log) {
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < D; ++d) s += fn::fast_exp(x[d] - m);
    const T ls = m + std::log(s);
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) y[d] = x[d] - ls;
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < D; ++d) {
      const T e = fn::fast_exp(x[d] - m);
      y[d] = e;
      s += e;
    }
    const T inv = T(1) / s;
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) y[d] *= inv;
  }
}

template <class T> void strided_forward(const T* x, T* y, int64_t D, int64_t I, int64_t i0, int64_t n, bool log) {
  T m[kInnerChunk], s[kInnerChunk];
  for (int64_t i = 0; i < n; ++i) {
    m[i] = -std::numeric_limits<T>::infinity();
    s[i] = 0;
  }
  for (int64_t d = 0; d < D; ++d) {
    const T* xp = x + d * I + i0;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) m[i] = xp[i] > m[i] ? xp[i] : m[i];
  }
  for (int64_t i = 0; i < n; ++i)
    if (std::isinf(m[i]) && m[i] < 0) m[i] = 0;
  for (int64_t d = 0; d < D; ++d) {
    const T* xp = x + d * I + i0;
    T* yp = y + d * I + i0;
    if (log) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) s[i] += fn::fast_exp(xp[i] - m[i]);
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        const T e = fn::fast_exp(xp[i] - m[i]);
        yp[i] = e;
        s[i] += e;
      }
    }
  }
  if (log) {
    for (int64_t i = 0; i < n; ++i) s[i] = m[i] + std::log(s[i]);
    for (int64_t d = 0; d < D; ++d) {
      const T* xp = x + d * I + i0;
      T* yp = y + d * I + i0;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yp[i] = xp[i] - s[i];
    }
  } else {
    for (int64_t i = 0; i < n; ++i) s[i] = T(1) / s[i];
    for (int64_t d = 0; d < D; ++d) {
      T* yp = y + d * I + i0;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yp[i] *= s[i];
    }
  }
}

template <class T> void row_backward(const T* g, const T* y, T* dx, int64_t D, bool log) {
  T s = 0;
  if (log) {
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < D; ++d) s += g[d];
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) dx[d] = g[d] - fn::fast_exp(y[d]) * s;
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < D; ++d) s += g[d] * y[d];
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) dx[d] = y[d] * (g[d] - s);
  }
}

template <class T> void strided_backward(const T* g, const T* y, T* dx, int64_t D, int64_t I, int64_t i0, int64_t n, bool log) {
  T s[kInnerChunk];
  for (int64_t i = 0; i < n; ++i) s[i] = 0;
  for (int64_t d = 0; d < D; ++d) {
    const T* gp = g + d * I + i0;
    const T* yp = y + d * I + i0;
    if (log) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) s[i] += gp[i];
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) s[i] += gp[i] * yp[i];
    }
  }
  for (int64_t d = 0; d < D; ++d) {
    const T* gp = g + d * I + i0;
    const T* yp = y + d * I + i0;
    T* o = dx + d * I + i0;
    if (log) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = gp[i] - fn::fast_exp(yp[i]) * s[i];
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = yp[i] * (gp[i] - s[i]);
    }
  }
}

}  // namespace

template <class T> void softmax_forward(const T* x, T* y, int64_t O, int64_t D, int64_t I, bool log) {
  if (I == 1) {
    parallel_for(O, D * 8, [&](int64_t o) { row_forward(x + o * D, y + o * D, D, log); });
    return;
  }
  const int64_t nch = (I + kInnerChunk - 1) / kInnerChunk;
  parallel_for(O * nch, D * std::min(I, kInnerChunk) * 8, [&](int64_t t) {
    const int64_t o = t / nch, i0 = (t % nch) * kInnerChunk;
    strided_forward(x + o * D * I, y + o * D * I, D, I, i0, std::min(kInnerChunk, I - i0), log);
  });
}

template <class T> void softmax_backward(const T* g, const T* y, T* dx, int64_t O, int64_t D, int64_t I, bool log) {
  if (I == 1) {
    parallel_for(O, D * 4, [&](int64_t o) { row_backward(g + o * D, y + o * D, dx + o * D, D, log); });
    return;
  }
  const int64_t nch = (I + kInnerChunk - 1) / kInnerChunk;
  parallel_for(O * nch, D * std::min(I, kInnerChunk) * 4, [&](int64_t t) {
    const int64_t o = t / nch, i0 = (t % nch) * kInnerChunk;
    const int64_t off = o * D * I;
    strided_backward(g + off, y + off, dx + off, D, I, i0, std::min(kInnerChunk, I - i0), log);
  });
}

template void softmax_forward<float>(const float*, float*, int64_t, int64_t, int64_t, bool);
template void softmax_forward<double>(const double*, double*, int64_t, int64_t, int64_t, bool);
template void softmax_backward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, bool);
template void softmax_backward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, bool);

}  // namespace uad::cpu
