// cuBLAS GEMM and cuDNN convolutions of the CUDA backend (issue 3 item 3). Every cuBLAS/cuDNN
// call of the project lives in kernels/cuda/dnn.cu, so a later move to cuDNN's graph API
// (cudnn-frontend) stays local to that file.
//
// Plain C++17, no CUDA types: pointers are device pointers, `stream` a cudaStream_t (nullptr = the
// calling thread's current stream, kernels/cuda/device_runtime.h). f32 only (DESIGN.md §3).
//
// Builds:
// - CUDA (-DUAD_CUDA=ON): cublasGemmEx and cuDNN's legacy convolution API (libcudnn_cnn, still in
//   9.x; ../shared/reference/cuda_brief.md §1). Handles are created lazily, one per (thread,
//   device), bound to the call's stream before each call.
// - Simulator (-DUAD_CUDA_SIM=ON): device memory is host memory, so the same functions run the
//   CPU implementation (kernels/cpu/gemm.h, kernels/cpu/conv.h) — and say so once on stderr:
//   "cuDNN/cuBLAS ops run on the CPU under the simulator". The dispatch logic around the library
//   calls (algorithm cache, its keys, workspace requests through the caching allocator) is the
//   same code in both builds, so its tests run in CI.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/conv.h"  // ConvGeom: the geometry of a convolution, shared with the CPU

namespace uad::cuda {

// ---- global flags ----------------------------------------------------------------------------

/// TF32 tensor-core math for f32 GEMMs and convolutions (10-bit mantissa products, fp32
/// accumulation: ~1e-3 relative error). Default off: results match fp32 FMA math. Process-wide.
void set_allow_tf32(bool on);
bool allow_tf32();
/// Restrict convolutions to algorithms cuDNN reports as deterministic (CUDNN_DETERMINISTIC:
/// bitwise-reproducible results from run to run). Default off. Process-wide; part of the
/// algorithm-cache key. (cuBLAS GEMM is deterministic on one stream regardless.)
void set_deterministic(bool on);
bool deterministic();

// ---- GEMM (cuBLAS) ---------------------------------------------------------------------------

/// Row-major C[M,N] = alpha·op(A)·op(B) + beta·C, op(X) = Xᵀ when the flag is set — the contract
/// of uad::cpu::gemm (kernels/cpu/gemm.h): A is [M,K] ([K,M] when trans_a) with leading dimension
/// lda, B is [K,N] ([N,K] when trans_b) with ldb, C has ldc ≥ N. M, N or K may be 0.
/// On a GPU: the column-major product Cᵀ = op(B)ᵀ·op(A)ᵀ by cublasGemmEx with
/// CUBLAS_COMPUTE_32F (CUBLAS_COMPUTE_32F_FAST_TF32 when allow_tf32()).
/// Throws uad::Error for negative sizes, a leading dimension smaller than its row, or sizes above
/// INT_MAX (cuBLAS's int arguments), naming the shapes.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc, void* stream = nullptr);

// ---- convolutions (cuDNN) --------------------------------------------------------------------
// Geometry: cpu::ConvGeom with `out` filled by the caller (PyTorch Conv semantics, groups 1,
// any stride/padding/dilation); nd = 2 (NCHW, weights OIHW) or 3 (NCDHW, OIDHW); contiguous
// buffers. Each call picks its algorithm once per ConvKey (first call: cudnnFind…AlgorithmEx,
// timing every algorithm that fits the workspace limit; then the algorithm cache) and takes its
// workspace from the caching allocator (kernels/cuda/caching_allocator.h) on the call's stream.
// Throws uad::Error naming the op and the geometry for an invalid geometry (non-positive sizes,
// nd not 2 or 3, `out` disagreeing with cuDNN's output size) or a library failure.

/// y[N,Cout,*out] = x[N,Cin,*in] ⋆ w[Cout,Cin,*k] (+ bias[Cout] when non-null), cross-correlation
/// as PyTorch's conv2d/conv3d.
void conv_forward(const cpu::ConvGeom& g, const float* x, const float* w, const float* bias, float* y, void* stream = nullptr);
/// gx[N,Cin,*in] = ∂(Σ y·gy)/∂x for gy[N,Cout,*out] (+ bias[Cin] when non-null: the transposed
/// convolution's bias). Input voxels no window covers get 0 (as the CPU).
void conv_backward_data(const cpu::ConvGeom& g, const float* gy, const float* w, const float* bias, float* gx,
                        void* stream = nullptr);
/// gw[Cout,Cin,*k] = ∂(Σ y·gy)/∂w for x[N,Cin,*in], gy[N,Cout,*out] (overwritten, not accumulated).
void conv_backward_filter(const cpu::ConvGeom& g, const float* x, const float* gy, float* gw, void* stream = nullptr);

/// Builds the cuDNN tensor, filter and convolution descriptors of `g` (as the three calls do) and
/// checks `g.out` against cudnnGetConvolutionNdForwardOutputDim. Needs no GPU (cuDNN's descriptor
/// calls work without a driver: ../shared/reference/cuda_brief.md §2), so the descriptor code of
/// the CUDA build is exercised on GPU-less machines too. Checks only the geometry in the simulator
/// build. Throws uad::Error as the conv functions do.
void check_conv_descriptors(const cpu::ConvGeom& g);

// ---- algorithm cache (exposed for tests and diagnostics) -------------------------------------

enum class ConvDir : uint8_t { forward, backward_data, backward_filter };

/// Everything an algorithm choice depends on (MLX's key: dtype, shapes, strides, padding,
/// dilation, groups; plus the flags that restrict the choice, and the device). Strides of the
/// tensors are implied: buffers are contiguous. Unused depth entries of a 2-D geometry hold
/// ConvGeom's neutral values (1 / 0), so equal 2-D geometries give equal keys.
struct ConvKey {
  ConvDir dir = ConvDir::forward;
  uint8_t dtype = 0;        // uad::DType of the data (f32)
  uint8_t nd = 2;
  bool deterministic = false;
  bool tf32 = false;
  int device = 0;
  int groups = 1;
  int64_t N = 0, Cin = 0, Cout = 0;
  int64_t in[3] = {}, k[3] = {}, out[3] = {}, stride[3] = {}, pad[3] = {}, dil[3] = {};
  bool operator==(const ConvKey& o) const;
  bool operator!=(const ConvKey& o) const { return !(*this == o); }
};
struct ConvKeyHash {
  size_t operator()(const ConvKey& k) const;
};
/// The key of a call in direction `dir` with the current flags, on the current device.
ConvKey conv_key(ConvDir dir, const cpu::ConvGeom& g);

/// A cached choice: the algorithm (cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t value; 0 under
/// the simulator), its math type (cudnnMathType_t) and the workspace it needs, in bytes.
struct ConvAlgo {
  int algo = 0;
  int math_type = 0;
  size_t workspace = 0;
};
/// The cached choice for `key`, or false when none is cached yet.
bool cached_conv_algo(const ConvKey& key, ConvAlgo* out);
/// Number of cached choices / forgets them all (the next call of each key searches again).
size_t conv_algo_cache_size();
void clear_conv_algo_cache();
/// Upper bound on the workspace an algorithm may use during the search and the calls (default
/// 1 GiB); algorithms that need more are skipped.
void set_conv_workspace_limit(size_t bytes);
size_t conv_workspace_limit();

/// Counters since start-up (or reset_dnn_stats).
struct DnnStats {
  uint64_t gemm_calls = 0;
  uint64_t conv_calls = 0;
  uint64_t algo_searches = 0;      // cache misses (one cudnnFind…Ex per new key)
  uint64_t algo_cache_hits = 0;
  uint64_t workspace_requests = 0; // workspace blocks taken from the caching allocator (> 0 bytes)
  size_t max_workspace = 0;        // largest of them, bytes
  uint64_t cpu_routed = 0;         // calls that ran on the CPU (simulator build)
};
DnnStats dnn_stats();
void reset_dnn_stats();

/// True when this build runs these ops on the CPU (the simulator build).
bool dnn_runs_on_cpu();

}  // namespace uad::cuda
