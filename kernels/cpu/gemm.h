// Dense matrix products on the CPU: typed wrappers over OpenBLAS cblas_sgemm / cblas_dgemm.
//
// OpenBLAS is pinned to one thread (its pthread pool busy-waits next to OpenMP's and slows both
// down); a large product is split into blocks over the OpenMP threads instead (gemm.cpp). Called
// from inside an OpenMP parallel region, a product runs on the calling thread only.
#pragma once
#include <cstdint>

namespace uad::cpu {

/// Row-major C[M,N] = alpha · op(A)·op(B) + beta · C, op(X) = Xᵀ when the flag is set.
/// A is [M,K] (or [K,M] when trans_a) with leading dimension lda (≥ its column count), B is
/// [K,N] (or [N,K] when trans_b) with ldb, C has ldc ≥ N. M, N or K may be 0 (then C = beta·C,
/// or nothing when M or N is 0).
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc);

}  // namespace uad::cpu
