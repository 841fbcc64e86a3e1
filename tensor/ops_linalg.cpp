// Matrix products: forward via OpenBLAS (kernels/cpu/gemm.h), vjps written with matmul itself,
// so second order works. Strided operands (transposed views, row slices) are passed to BLAS with
// a transpose flag / leading dimension instead of being copied. On Device::cuda the same views go
// to the backend table's gemm (kernels/cuda/dnn.h: cuBLAS, row-major contract of cpu::gemm), f32
// only; a batch is one gemm call per matrix (or one folded call, as on the CPU).
#include "tensor/ops_linalg.h"

#include <algorithm>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "tensor/autograd.h"
#include "tensor/backend.h"
#include "tensor/device_ops.h"
#include "tensor/ops.h"

namespace uad {

namespace {

/// How BLAS sees one [R,C] matrix with element strides (sr, sc): row-major with leading
/// dimension ld, or the row-major transpose ([C,R] with ld). ok = false when neither fits
/// (e.g. an expanded operand with stride 0, or two non-unit strides): the caller copies.
struct BlasView {
  bool ok = false, trans = false;
  int64_t ld = 0;
};

BlasView blas_view(int64_t R, int64_t C, int64_t sr, int64_t sc) {
  BlasView v;
  if ((sc == 1 || C == 1) && (R == 1 || sr >= std::max<int64_t>(C, 1))) {
    v.ok = true;
    v.ld = R == 1 ? C : sr;
  } else if ((sr == 1 || R == 1) && (C == 1 || sc >= std::max<int64_t>(R, 1))) {
    v.ok = true;
    v.trans = true;
    v.ld = C == 1 ? R : sc;
  }
  return v;
}

/// The last two dims of t viewed by BLAS; copies t to contiguous when needed (returned in `hold`).
BlasView operand_view(const Tensor& t, Tensor& hold) {
  const int64_t nd = t.dim();
  BlasView v = blas_view(t.shape()[nd - 2], t.shape()[nd - 1], t.strides()[nd - 2], t.strides()[nd - 1]);
  hold = t;
  if (!v.ok) {
    hold = contiguous(t.detach());
    v = blas_view(t.shape()[nd - 2], t.shape()[nd - 1], hold.strides()[nd - 2], hold.strides()[nd - 1]);
  }
  return v;
}

void check_matmul(const Tensor& a, const Tensor& b) {
  check(a.defined() && b.defined(), "matmul: undefined operand");
  check(a.device() == b.device(), "matmul: device mix ", device_name(a.device()), " and ", device_name(b.device()), " (shapes ",
        a.shape(), " and ", b.shape(), ")");
  check(a.dtype() == b.dtype(), "matmul: dtype mix ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()), " (shapes ",
        a.shape(), " and ", b.shape(), ")");
  check(is_floating(a.dtype()), "matmul: expected floating tensors, got ", dtype_name(a.dtype()));
  if (dev::on_cuda(a))
    check(a.dtype() == DType::f32, "matmul: the CUDA backend multiplies f32 only (cuBLAS), got ", dtype_name(a.dtype()),
          " (shapes ", a.shape(), " and ", b.shape(), "); cast to f32 or run the op on the CPU");
  check((a.dim() == 2 || a.dim() == 3) && (b.dim() == 2 || b.dim() == 3), "matmul: expected 2-D or 3-D operands, got shapes ",
        a.shape(), " and ", b.shape());
  check(a.size(-1) == b.size(-2), "matmul: shapes ", a.shape(), " and ", b.shape(), " do not match (inner dims ", a.size(-1),
        " and ", b.size(-2), ")");
  if (a.dim() == 3 && b.dim() == 3)
    check(a.size(0) == b.size(0), "matmul: batch sizes differ in shapes ", a.shape(), " and ", b.shape());
}

/// out = a·b (batched), each product one call of `gemm` with cpu::gemm's signature (row-major).
template <class T, class Gemm> void matmul_forward(const Tensor& a_in, const Tensor& b_in, const Tensor& out, Gemm gemm) {
  Tensor a, b;
  const BlasView va = operand_view(a_in, a), vb = operand_view(b_in, b);
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  const int64_t B = out.dim() == 3 ? out.size(0) : 1;
  const int64_t sa = a.dim() == 3 ? a.strides()[0] : 0, sb = b.dim() == 3 ? b.strides()[0] : 0;
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  T* op = out.data<T>();
  // A 3-D a times a 2-D b whose rows are evenly spaced across the batch: one [B·M,K]×[K,N] product.
  if (B > 1 && b.dim() == 2) {
    const int64_t sr = a.strides()[1], sc = a.strides()[2];
    const int64_t ld = M == 1 ? sa : sr;
    if ((sc == 1 || K == 1) && (M == 1 || sa == M * sr) && ld >= std::max<int64_t>(K, 1)) {
      gemm(false, vb.trans, B * M, N, K, T(1), ap, ld, bp, vb.ld, T(0), op, N);
      return;
    }
  }
  for (int64_t i = 0; i < B; ++i)
    gemm(va.trans, vb.trans, M, N, K, T(1), ap + i * sa, va.ld, bp + i * sb, vb.ld, T(0), op + i * M * N, N);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_matmul(a, b);
  Shape os;
  if (a.dim() == 3) os.push_back(a.size(0));
  else if (b.dim() == 3) os.push_back(b.size(0));
  os.push_back(a.size(-2));
  os.push_back(b.size(-1));
  Tensor out;
  if (dev::on_cuda(a)) {
    const CudaBackend& be = cuda_backend("matmul");
    OpRange r(be, "matmul");
    out = empty(os, a.dtype(), Device::cuda);
    void* stream = be.stream();
    matmul_forward<float>(a, b, out, [&](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                                         const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
      be.gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, stream);
    });
  } else {
    out = empty(os, a.dtype());
    UAD_DISPATCH_FLOAT(a.dtype(), "matmul", [&] {
      matmul_forward<scalar_t>(a, b, out, [](auto... args) { cpu::gemm(args...); });
    });
  }
  return record(out, "matmul", {a, b}, [a, b](const Tensor& g, const std::vector<bool>& n) {
    Tensor ga, gb;
    if (n[0]) {
      ga = matmul(g, transpose(b, -2, -1));                // [B,M,K] or [M,K]
      if (a.dim() == 2 && ga.dim() == 3) ga = sum(ga, {0});  // a was broadcast over the batch
    }
    if (n[1]) {
      if (a.dim() == 3 && b.dim() == 2) {  // Σ_i a_iᵀ g_i = (a as [B·M,K])ᵀ (g as [B·M,N])
        const int64_t BM = a.size(0) * a.size(1);
        gb = matmul(transpose(reshape(a, {BM, a.size(2)}), 0, 1), reshape(g, {BM, g.size(2)}));
      } else {
        gb = matmul(transpose(a, -2, -1), g);
      }
    }
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check(x.defined() && w.defined(), "linear: undefined input or weight");
  check(w.dim() == 2, "linear: weight must be [out,in], got ", w.shape());
  check(x.dim() >= 1 && x.size(-1) == w.size(1), "linear: input ", x.shape(), " has ", x.dim() ? x.size(-1) : 0,
        " features but weight ", w.shape(), " expects ", w.size(1));
  if (b.defined()) check(b.shape() == Shape{w.size(0)}, "linear: bias ", b.shape(), " does not match weight ", w.shape());
  Tensor x2 = x.dim() == 2 ? x : reshape(x, {-1, w.size(1)});
  Tensor y = matmul(x2, transpose(w, 0, 1));  // wᵀ is a transposed BLAS view, not a copy
  if (b.defined()) y = add(y, b);
  if (x.dim() == 2) return y;
  Shape os = x.shape();
  os.back() = w.size(0);
  return reshape(y, os);
}

}  // namespace uad
