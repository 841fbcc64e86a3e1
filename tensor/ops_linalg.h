// Ops: matrix products (OpenBLAS SGEMM/DGEMM on the CPU, cuBLAS on CUDA).
#pragma once
#include "tensor/tensor.h"

namespace uad {

/// Matrix product. a: [M,K] or [B,M,K]; b: [K,N] or [B,K,N] (a 2-D operand is broadcast over the
/// batch). → [M,N] or [B,M,N]. Throws uad::Error naming both shapes when K differs.
Tensor matmul(const Tensor& a, const Tensor& b);

/// Fully connected layer y = x·wᵀ + b. x: [N,in]; w: [out,in]; b: [out] or undefined → [N,out].
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

}  // namespace uad
