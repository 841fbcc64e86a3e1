// Fused normalisation kernels (see norm.h for the layouts and the numerics).
#include "kernels/cpu/norm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/common/philox.h"
#include "kernels/cpu/loops.h"

namespace uad::cpu {

namespace {

/// Count, mean and sum of squared deviations of a set (Chan, Golub & LeVeque 1979).
struct Moments {
  double n = 0, mean = 0, m2 = 0;
};

inline Moments merge(const Moments& a, const Moments& b) {
  if (a.n == 0) return b;
  if (b.n == 0) return a;
  const double n = a.n + b.n, d = b.mean - a.mean;
  return {n, a.mean + d * (b.n / n), a.m2 + b.m2 + d * d * (a.n * b.n / n)};
}

/// Two-pass moments of a cache-resident run; the second pass carries the compensation term
/// Σ(x−m) so a rounded m does not bias M2 (the "corrected two-pass" algorithm).
template <class T> Moments run_moments(const T* x, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += (double)x[i];
  const double m = s / (double)n;
  double q = 0, c = 0;
#pragma omp simd reduction(+ : q, c)
  for (int64_t i = 0; i < n; ++i) {
    const double d = (double)x[i] - m;
    q += d * d;
    c += d;
  }
  return {(double)n, m + c / (double)n, std::max(0.0, q - c * c / (double)n)};
}

inline int64_t chunks_of(int64_t S) { return std::max<int64_t>(1, (S + kNormChunk - 1) / kNormChunk); }

/// Runs fn(r, begin, end, task) over every (row, chunk) of a contiguous [R, S] in parallel;
/// task = r·chunks_of(S) + chunk indexes a per-chunk partial buffer.
template <class Fn> void for_row_chunks(int64_t R, int64_t S, Fn fn) {
  const int64_t nch = chunks_of(S);
  parallel_for(R * nch, std::min(S, kNormChunk), [&](int64_t t) {
    const int64_t r = t / nch, j = t % nch;
    const int64_t b = j * kNormChunk, e = std::min(S, b + kNormChunk);
    fn(r, b, e, t);
  });
}

}  // namespace

template <class T>
void segment_stats(const T* x, int64_t A, int64_t G, int64_t S, double eps, double* mean, double* var, double* rstd) {
  const int64_t nch = chunks_of(S);
  std::vector<Moments> part((size_t)(A * G * nch));
  if (S > 0) for_row_chunks(A * G, S, [&](int64_t r, int64_t b, int64_t e, int64_t t) { part[t] = run_moments(x + r * S + b, e - b); });
  parallel_for(G, A * nch, [&](int64_t g) {
    Moments m;
    for (int64_t a = 0; a < A; ++a)
      for (int64_t j = 0; j < nch; ++j) m = merge(m, part[(a * G + g) * nch + j]);
    const double v = m.n > 0 ? m.m2 / m.n : std::numeric_limits<double>::quiet_NaN();
    mean[g] = m.n > 0 ? m.mean : std::numeric_limits<double>::quiet_NaN();
    if (var) var[g] = v;
    rstd[g] = 1.0 / std::sqrt(v + eps);
  });
}

template <class T> void rows_affine(const T* x, T* y, int64_t R, int64_t S, const double* scale, const double* shift) {
  for_row_chunks(R, S, [&](int64_t r, int64_t b, int64_t e, int64_t) {
    const T a = (T)scale[r], c = (T)shift[r];
    const T* xp = x + r * S;
    T* yp = y + r * S;
#pragma omp simd
    for (int64_t i = b; i < e; ++i) yp[i] = xp[i] * a + c;
  });
}

template <class T>
void rows_grad_sums(const T* g, const T* x, int64_t R, int64_t S, const double* shift, double* sum_g, double* sum_gx) {
  const int64_t nch = chunks_of(S);
  std::vector<double> pg((size_t)(R * nch), 0.0), pgx((size_t)(R * nch), 0.0);
  for_row_chunks(R, S, [&](int64_t r, int64_t b, int64_t e, int64_t t) {
    const T* gp = g + r * S;
    const T* xp = x + r * S;
    const double m = shift ? shift[r] : 0.0;
    double s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
    for (int64_t i = b; i < e; ++i) {
      s += (double)gp[i];
      sx += (double)gp[i] * ((double)xp[i] - m);
    }
    pg[t] = s;
    pgx[t] = sx;
  });
  for (int64_t r = 0; r < R; ++r) {
    double s = 0, sx = 0;
    for (int64_t j = 0; j < nch; ++j) {
      s += pg[r * nch + j];
      sx += pgx[r * nch + j];
    }
    sum_g[r] = s;
    sum_gx[r] = sx;
  }
}

template <class T>
void rows_axpby(const T* g, const T* x, T* dx, int64_t R, int64_t S, const double* a, const double* b, const double* m,
                const double* c) {
  for_row_chunks(R, S, [&](int64_t r, int64_t lo, int64_t hi, int64_t) {
    const T av = (T)a[r], bv = b ? (T)b[r] : T(0), mv = m ? (T)m[r] : T(0), cv = c ? (T)c[r] : T(0);
    const T* gp = g + r * S;
    const T* xp = b ? x + r * S : nullptr;
    T* o = dx + r * S;
    if (!b) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) o[i] = av * gp[i] + cv;
    } else {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) o[i] = av * gp[i] + bv * (xp[i] - mv) + cv;
    }
  });
}

template <class T>
void layer_norm_apply(const T* x, T* y, int64_t R, int64_t K, const double* mean, const double* rstd, const T* w, const T* b) {
  for_row_chunks(R, K, [&](int64_t r, int64_t lo, int64_t hi, int64_t) {
    const T m = (T)mean[r], s = (T)rstd[r];
    const T* xp = x + r * K;
    T* yp = y + r * K;
    if (w && b) {
#pragma omp simd
      for (int64_t k = lo; k < hi; ++k) yp[k] = (xp[k] - m) * s * w[k] + b[k];
    } else if (w) {
#pragma omp simd
      for (int64_t k = lo; k < hi; ++k) yp[k] = (xp[k] - m) * s * w[k];
    } else if (b) {
#pragma omp simd
      for (int64_t k = lo; k < hi; ++k) yp[k] = (xp[k] - m) * s + b[k];
    } else {
#pragma omp simd
      for (int64_t k = lo; k < hi; ++k) yp[k] = (xp[k] - m) * s;
    }
  });
}

template <class T>
void layer_norm_backward(const T* g, const T* x, const double* mean, const double* rstd, const T* w, int64_t R, int64_t K,
                         T* dx, T* dw, T* db) {
  if (dx) {
    // Per row: Σ g·w and Σ g·w·(x − mean), then dx = rstd·g·w + B·(x − mean) + C.
    const int64_t nch = chunks_of(K);
    std::vector<double> p1((size_t)(R * nch)), p2((size_t)(R * nch));
    for_row_chunks(R, K, [&](int64_t r, int64_t lo, int64_t hi, int64_t t) {
      const T* gp = g + r * K;
      const T* xp = x + r * K;
      const double m = mean[r];
      double s = 0, sx = 0;
      if (w) {
#pragma omp simd reduction(+ : s, sx)
        for (int64_t k = lo; k < hi; ++k) {
          const double gw = (double)gp[k] * (double)w[k];
          s += gw;
          sx += gw * ((double)xp[k] - m);
        }
      } else {
#pragma omp simd reduction(+ : s, sx)
        for (int64_t k = lo; k < hi; ++k) {
          s += (double)gp[k];
          sx += (double)gp[k] * ((double)xp[k] - m);
        }
      }
      p1[t] = s;
      p2[t] = sx;
    });
    std::vector<double> A(R), B(R), C(R);
    for (int64_t r = 0; r < R; ++r) {
      double s = 0, sx = 0;
      for (int64_t j = 0; j < nch; ++j) {
        s += p1[r * nch + j];
        sx += p2[r * nch + j];
      }
      const double rs = rstd[r], m1 = s / (double)K, m2 = sx * rs / (double)K;
      A[r] = rs;
      B[r] = -rs * rs * m2;
      C[r] = -rs * m1;
    }
    for_row_chunks(R, K, [&](int64_t r, int64_t lo, int64_t hi, int64_t) {
      const T a = (T)A[r], b = (T)B[r], c = (T)C[r], m = (T)mean[r];
      const T* gp = g + r * K;
      const T* xp = x + r * K;
      T* o = dx + r * K;
      if (w) {
#pragma omp simd
        for (int64_t k = lo; k < hi; ++k) o[k] = a * gp[k] * w[k] + b * (xp[k] - m) + c;
      } else {
#pragma omp simd
        for (int64_t k = lo; k < hi; ++k) o[k] = a * gp[k] + b * (xp[k] - m) + c;
      }
    });
  }
  if (!dw && !db) return;
  // Column sums over rows: tasks = row blocks × column chunks, each accumulating a chunk in
  // double on the stack; with several row blocks the partials are merged in block order.
  const int nt = omp_get_max_threads();
  const int64_t nrb = std::max<int64_t>(1, std::min<int64_t>({R / 16, 4 * (int64_t)nt, (int64_t)(1 << 20) / std::max<int64_t>(K, 1)}));
  const int64_t nkc = chunks_of(K);
  std::vector<double> pw(nrb > 1 && dw ? (size_t)(nrb * K) : 0), pb(nrb > 1 && db ? (size_t)(nrb * K) : 0);
  parallel_for(nrb * nkc, (R / nrb) * std::min(K, kNormChunk), [&](int64_t t) {
    const int64_t rb = t / nkc, kc = t % nkc;
    const int64_t r0 = R * rb / nrb, r1 = R * (rb + 1) / nrb;
    const int64_t lo = kc * kNormChunk, n = std::min(K, lo + kNormChunk) - lo;
    double aw[kNormChunk], ab[kNormChunk];
    for (int64_t i = 0; i < n; ++i) aw[i] = ab[i] = 0;
    for (int64_t r = r0; r < r1; ++r) {
      const T* gp = g + r * K + lo;
      const T* xp = x + r * K + lo;
      const double m = mean[r], rs = rstd[r];
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        aw[i] += (double)gp[i] * ((double)xp[i] - m) * rs;
        ab[i] += (double)gp[i];
      }
    }
    if (nrb == 1) {
      if (dw)
        for (int64_t i = 0; i < n; ++i) dw[lo + i] = (T)aw[i];
      if (db)
        for (int64_t i = 0; i < n; ++i) db[lo + i] = (T)ab[i];
    } else {
      if (dw) std::copy(aw, aw + n, pw.data() + rb * K + lo);
      if (db) std::copy(ab, ab + n, pb.data() + rb * K + lo);
    }
  });
  if (nrb == 1) return;
  for_row_chunks(1, K, [&](int64_t, int64_t lo, int64_t hi, int64_t) {
    for (int64_t k = lo; k < hi; ++k) {
      double sw = 0, sb = 0;
      for (int64_t rb = 0; rb < nrb; ++rb) {
        if (dw) sw += pw[rb * K + k];
        if (db) sb += pb[rb * K + k];
      }
      if (dw) dw[k] = (T)sw;
      if (db) db[k] = (T)sb;
    }
  });
}

template <class T>
void dropout_forward(const T* x, T* y, T* mask, int64_t n, uint64_t seed, uint64_t block0, float keep_prob, T scale) {
  const int64_t nblocks = (n + 3) / 4;
  parallel_for(nblocks, 16, [&](int64_t j) {
    const philox::U4 w = philox::block_words(seed, block0 + (uint64_t)j);
    const int64_t i0 = j * 4, k = std::min<int64_t>(4, n - i0);
    for (int64_t i = 0; i < k; ++i) {
      const T m = philox::to_uniform(w.x[i]) < keep_prob ? scale : T(0);
      mask[i0 + i] = m;
      y[i0 + i] = x[i0 + i] * m;
    }
  });
}

#define UAD_NORM_INSTANTIATE(T)                                                                                       \
  template void segment_stats<T>(const T*, int64_t, int64_t, int64_t, double, double*, double*, double*);            \
  template void rows_affine<T>(const T*, T*, int64_t, int64_t, const double*, const double*);                       \
  template void rows_grad_sums<T>(const T*, const T*, int64_t, int64_t, const double*, double*, double*);           \
  template void rows_axpby<T>(const T*, const T*, T*, int64_t, int64_t, const double*, const double*, const double*, \
                              const double*);                                                                      \
  template void layer_norm_apply<T>(const T*, T*, int64_t, int64_t, const double*, const double*, const T*, const T*); \
  template void layer_norm_backward<T>(const T*, const T*, const double*, const double*, const T*, int64_t, int64_t, T*, \
                                       T*, T*);                                                               \
  template void dropout_forward<T>(const T*, T*, T*, int64_t, uint64_t, uint64_t, float, T);
UAD_NORM_INSTANTIATE(float)
UAD_NORM_INSTANTIATE(double)
#undef UAD_NORM_INSTANTIATE

}  // namespace uad::cpu
