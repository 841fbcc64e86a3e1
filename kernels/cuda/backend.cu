// The table of tensor/backend.h filled with this library's entry points (issue 3). Compiled by
// nvcc in the CUDA build and by g++ against kernels/sim/ in the simulator build, where the
// "device" memory is host memory and cuBLAS/cuDNN calls run the CPU kernels (kernels/cuda/dnn.h).
#include "kernels/cuda/backend.h"

#include "kernels/cuda/caching_allocator.h"
#include "kernels/cuda/device_runtime.h"
#include "kernels/cuda/dnn.h"
#include "kernels/cuda/kernels.h"
#include "tensor/backend.h"

namespace uad::cuda {
namespace {

void* alloc(size_t bytes) { return device_allocator(current_device()).allocate(bytes, current_stream()); }
void release(void* p) { device_allocator(current_device()).deallocate(p); }
void to_device(void* dst, const void* src, size_t bytes) { copy_to_device_staged(dst, src, bytes, current_stream()); }
void to_host(void* dst, const void* src, size_t bytes) { copy_to_host_staged(dst, src, bytes, current_stream()); }
void on_device(void* dst, const void* src, size_t bytes) {
  copy_device(dst, src, bytes);  // cudaMemcpy D2D: ordered with the legacy default stream
}
void* stream_now() { return current_stream(); }

CudaBackend make_table() {
  CudaBackend b;
#if defined(UAD_CUDA_SIM)
  b.name = "cuda (simulator)";
#else
  b.name = "cuda";
#endif
  b.alloc = &alloc;
  b.free = &release;
  b.copy_to_device = &to_device;
  b.copy_to_host = &to_host;
  b.copy_device = &on_device;
  b.stream = &stream_now;
  b.nvtx_push = &nvtx_push;
  b.nvtx_pop = &nvtx_pop;
  b.unary = &unary;
  b.binary = &binary;
  b.binary_scalar = &binary_scalar;
  b.compare = &compare;
  b.where = &where;
  b.cast = &cast;
  b.fill = &fill;
  b.sum_dim = &sum_dim;
  b.amax_dim = &amax_dim;
  b.fill_uniform = &fill_uniform;
  b.fill_normal = &fill_normal;
  b.fill_bernoulli = &fill_bernoulli;
  b.softmax_forward = &softmax_forward;
  b.softmax_backward = &softmax_backward;
  b.layer_norm_forward = &layer_norm_forward;
  b.layer_norm_backward = &layer_norm_backward;
  b.group_norm_forward = &group_norm_forward;
  b.group_norm_backward = &group_norm_backward;
  b.batch_norm_forward_train = &batch_norm_forward_train;
  b.batch_norm_forward_eval = &batch_norm_forward_eval;
  b.batch_norm_backward = &batch_norm_backward;
  b.avg_pool_forward = &avg_pool_forward;
  b.avg_pool_backward = &avg_pool_backward;
  b.max_pool_forward = &max_pool_forward;
  b.max_pool_backward = &max_pool_backward;
  b.upsample_nearest_forward = &upsample_nearest_forward;
  b.upsample_nearest_backward = &upsample_nearest_backward;
  b.pad_zero = &pad_zero;
  b.concat = &concat;
  b.split = &split;
  b.loss_forward = &loss_forward;
  b.adam_step = &adam_step;
  b.gemm = &gemm;
  b.conv_forward = &conv_forward;
  b.conv_backward_data = &conv_backward_data;
  b.conv_backward_filter = &conv_backward_filter;
  // ---- normalisation / softmax / loss / random / optimiser family ----
  // ---- convolution / linear / pooling / resampling / padding / concat family ----
  b.upsample_linear_forward = &upsample_linear_forward;
  b.upsample_linear_backward = &upsample_linear_backward;
  b.pad_replicate_forward = &pad_replicate_forward;
  b.pad_replicate_backward = &pad_replicate_backward;
  b.index_gather = &index_gather;
  b.index_scatter_add = &index_scatter_add;
  return b;
}

}  // namespace

void install_backend() {
  static const CudaBackend table = make_table();
  register_cuda_backend(&table);
}

}  // namespace uad::cuda
