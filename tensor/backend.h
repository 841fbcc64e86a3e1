// The CUDA backend as seen from the engine core (issue 3, DESIGN.md §4): a table of the backend's
// entry points on raw device pointers, which the tensor ops (tensor/ops_*.cpp) call when their
// operands live on Device::cuda. The core is built without CUDA; the backend library fills the
// table (kernels/cuda/backend.cu: uad::cuda::install_backend()) — in the real CUDA build lazily
// on the first device tensor, in the simulator build (UAD_CUDA_SIM) when a test installs it.
//
// The members have exactly the types of the functions they point to (kernels/cuda/kernels.h,
// kernels/cuda/dnn.h), so the signatures are written once, there. kernels.h is plain C++ with no
// CUDA types; only its types (enums, PoolGeometry) are used by the core.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/dnn.h"
#include "kernels/cuda/kernels.h"
#include "tensor/dtype.h"


namespace uad {

/// Entry points of the CUDA backend. Every pointer is set by install_backend().
struct CudaBackend {
  const char* name = "";  ///< "cuda" or "cuda (simulator)"
  // memory: the caching allocator (kernels/cuda/caching_allocator.h) and copies
  void* (*alloc)(size_t bytes) = nullptr;
  void (*free)(void* p) = nullptr;
  void (*copy_to_device)(void* dst, const void* src, size_t bytes) = nullptr;  ///< synchronous, via pinned staging
  void (*copy_to_host)(void* dst, const void* src, size_t bytes) = nullptr;    ///< synchronous, via pinned staging
  void (*copy_device)(void* dst, const void* src, size_t bytes) = nullptr;
  void* (*stream)() = nullptr;  ///< the calling thread's current stream
  void (*nvtx_push)(const char* name) = nullptr;
  void (*nvtx_pop)() = nullptr;
  // hand-written kernels (kernels/cuda/*.cu)
  decltype(&cuda::unary) unary = nullptr;
  decltype(&cuda::binary) binary = nullptr;
  decltype(&cuda::binary_scalar) binary_scalar = nullptr;
  decltype(&cuda::compare) compare = nullptr;
  decltype(&cuda::where) where = nullptr;
  decltype(&cuda::cast) cast = nullptr;
  decltype(&cuda::fill) fill = nullptr;
  decltype(&cuda::sum_dim) sum_dim = nullptr;
  decltype(&cuda::amax_dim) amax_dim = nullptr;
  decltype(&cuda::fill_uniform) fill_uniform = nullptr;
  decltype(&cuda::fill_normal) fill_normal = nullptr;
  decltype(&cuda::fill_bernoulli) fill_bernoulli = nullptr;
  decltype(&cuda::softmax_forward) softmax_forward = nullptr;
  decltype(&cuda::softmax_backward) softmax_backward = nullptr;
  decltype(&cuda::layer_norm_forward) layer_norm_forward = nullptr;
  decltype(&cuda::layer_norm_backward) layer_norm_backward = nullptr;
  decltype(&cuda::group_norm_forward) group_norm_forward = nullptr;
  decltype(&cuda::group_norm_backward) group_norm_backward = nullptr;
  decltype(&cuda::batch_norm_forward_train) batch_norm_forward_train = nullptr;
  decltype(&cuda::batch_norm_forward_eval) batch_norm_forward_eval = nullptr;
  decltype(&cuda::batch_norm_backward) batch_norm_backward = nullptr;
  decltype(&cuda::avg_pool_forward) avg_pool_forward = nullptr;
  decltype(&cuda::avg_pool_backward) avg_pool_backward = nullptr;
  decltype(&cuda::max_pool_forward) max_pool_forward = nullptr;
  decltype(&cuda::max_pool_backward) max_pool_backward = nullptr;
  decltype(&cuda::upsample_nearest_forward) upsample_nearest_forward = nullptr;
  decltype(&cuda::upsample_nearest_backward) upsample_nearest_backward = nullptr;
  decltype(&cuda::pad_zero) pad_zero = nullptr;
  decltype(&cuda::concat) concat = nullptr;
  decltype(&cuda::split) split = nullptr;
  decltype(&cuda::loss_forward) loss_forward = nullptr;
  decltype(&cuda::adam_step) adam_step = nullptr;
  // libraries (kernels/cuda/dnn.cu): cuBLAS, cuDNN — the CPU kernels under the simulator
  decltype(&cuda::gemm) gemm = nullptr;
  decltype(&cuda::conv_forward) conv_forward = nullptr;
  decltype(&cuda::conv_backward_data) conv_backward_data = nullptr;
  decltype(&cuda::conv_backward_filter) conv_backward_filter = nullptr;
  // ---- normalisation / softmax / loss / random / optimiser family: more kernels here ----
  // ---- convolution / linear / pooling / resampling / padding / concat family: more kernels here ----
  decltype(&cuda::upsample_linear_forward) upsample_linear_forward = nullptr;
  decltype(&cuda::upsample_linear_backward) upsample_linear_backward = nullptr;
  decltype(&cuda::pad_replicate_forward) pad_replicate_forward = nullptr;
  decltype(&cuda::pad_replicate_backward) pad_replicate_backward = nullptr;
  decltype(&cuda::index_gather) index_gather = nullptr;
  decltype(&cuda::index_scatter_add) index_scatter_add = nullptr;
};

/// Makes `b` the backend of Device::cuda tensors (kept by pointer: `b` must outlive its use).
void register_cuda_backend(const CudaBackend* b);
/// The registered backend, or nullptr. In the real CUDA build the first call installs it.
const CudaBackend* cuda_backend_or_null();
/// The registered backend. Throws uad::Error naming `op` when this binary has none (a CPU-only
/// build, or a simulator build whose program did not call uad::cuda::install_backend()).
const CudaBackend& cuda_backend(const char* op);

/// An NVTX range around one op on the CUDA backend (DESIGN.md §4): a no-op without one.
class OpRange {
 public:
  OpRange(const CudaBackend& b, const char* name) : b_(&b) { b_->nvtx_push(name); }
  ~OpRange() { b_->nvtx_pop(); }
  OpRange(const OpRange&) = delete;
  OpRange& operator=(const OpRange&) = delete;
 private:
  const CudaBackend* b_;
};

}  // namespace uad
