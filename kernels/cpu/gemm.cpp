// OpenBLAS GEMM wrappers (see gemm.h).
//
// Threading: Debian's OpenBLAS is the pthread build, whose worker threads busy-wait after each
// call. Next to the OpenMP threads of oneDNN and of our own kernels they oversubscribe the cores:
// measured on the 2-core machines, a oneDNN convolution run after an OpenBLAS call slowed down
// from 2 ms to 30 ms. So OpenBLAS is pinned to one thread and these wrappers split a large product
// into column (or row) blocks themselves, one single-threaded BLAS call per OpenMP thread — every
// thread in the process is then an OpenMP thread (measured: as fast as OpenBLAS' own threading).
#include "kernels/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <mutex>

#include "tensor/error.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace uad::cpu {

namespace {

/// Below this many multiply-adds one thread does the whole product (thread start-up dominates).
constexpr double kParallelMacs = 1 << 18;

void single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

template <class T, class Blas>
void gemm_impl(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
               int64_t ldb, T beta, T* C, int64_t ldc, Blas blas) {
  if (M == 0 || N == 0) return;
  check(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX,
        "gemm: dimensions M=", M, " N=", N, " K=", K, " exceed the 32-bit BLAS interface");
  if (K == 0) {  // BLAS would leave C untouched for beta = 1 and scale otherwise; do it explicitly.
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  // BLAS requires ld ≥ max(1, columns) even for a single row, whose stride is then arbitrary.
  auto fix_ld = [](int64_t ld, int64_t rows, int64_t cols, const char* which) {
    check(rows == 1 || ld >= cols, "gemm: leading dimension ", ld, " of ", which, " is below its ", cols, " columns");
    return std::max<int64_t>(ld, std::max<int64_t>(1, cols));
  };
  lda = fix_ld(lda, ta ? K : M, ta ? M : K, "A");
  ldb = fix_ld(ldb, tb ? N : K, tb ? K : N, "B");
  single_threaded_blas();
  auto call = [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    if (m1 <= m0 || n1 <= n0) return;
    const T* a = ta ? A + m0 : A + m0 * lda;  // rows m0.. of op(A)
    const T* b = tb ? B + n0 * ldb : B + n0;  // columns n0.. of op(B)
    blas(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)(m1 - m0), (int)(n1 - n0),
         (int)K, alpha, a, (int)lda, b, (int)ldb, beta, C + m0 * ldc + n0, (int)ldc);
  };
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (nt <= 1 || (double)M * N * K < kParallelMacs) {
    call(0, M, 0, N);
    return;
  }
  // Split the larger of M and N into nt blocks (multiples of 16 keep the BLAS micro-kernels full).
  const bool split_n = N >= M;
  const int64_t len = split_n ? N : M;
  const int64_t chunk = std::max<int64_t>(16, (len / nt + 15) / 16 * 16);
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int t = 0; t < nt; ++t) {
    const int64_t b0 = std::min<int64_t>(len, t * chunk), b1 = t == nt - 1 ? len : std::min<int64_t>(len, (t + 1) * chunk);
    if (split_n) call(0, M, b0, b1);
    else call(b0, b1, 0, N);
  }
}

}  // namespace

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_impl<float>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, cblas_sgemm);
}

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_impl<double>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, cblas_dgemm);
}

}  // namespace uad::cpu
