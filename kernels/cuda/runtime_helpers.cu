// Host-side helpers of the hand-written kernels: CUDA error checks, launch-failure reports and the
// thin device-memory wrappers of kernels/cuda/kernels.h. Compiled by nvcc (uad_cuda) or, under the
// simulator, by g++ (uad_sim).
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <string>

#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {

void check_cuda(cudaError_t e, const char* what, const char* file, int line) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();  // clear it, so the next check reports its own error
  fail(what, " failed at ", file, ":", line, ": ", cudaGetErrorName(e), ": ", cudaGetErrorString(e));
}

void launch_failed(cudaError_t e, const void* kernel, dim3 grid, dim3 block, size_t shmem_bytes) {
  const char* name = nullptr;
  if (cudaFuncGetName(&name, kernel) != cudaSuccess || !name) name = "?";
  (void)cudaGetLastError();
  std::string detail;
#if defined(UAD_CUDA_SIM)
  detail = std::string("\n  simulator: ") + ::uad::sim::last_fault();
#endif
  fail("CUDA launch of ", name, "<<<(", grid.x, ",", grid.y, ",", grid.z, "), (", block.x, ",", block.y, ",", block.z,
       "), ", shmem_bytes, ">>> failed: ", cudaGetErrorName(e), ": ", cudaGetErrorString(e), detail);
}

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    fail("device_alloc: cudaMalloc of ", bytes, " bytes failed: ", cudaGetErrorString(e));
  }
  return p;
}

void device_free(void* p) {
  if (p) (void)cudaFree(p);  // never throws (called from destructors)
}

void copy_to_device(void* dst, const void* src, size_t bytes) { UAD_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice)); }
void copy_to_host(void* dst, const void* src, size_t bytes) { UAD_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost)); }
void copy_device(void* dst, const void* src, size_t bytes) { UAD_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice)); }
void synchronize() { UAD_CUDA_CHECK(cudaDeviceSynchronize()); }

Dims broadcast_strides(const Dims& shape, const Dims& out_shape) {
  check(shape.size() <= out_shape.size(), "broadcast_strides: ", shape, " has more dims than ", out_shape);
  Dims st(out_shape.size(), 0);
  int64_t s = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    const size_t d = shape.size() - 1 - k, od = out_shape.size() - 1 - k;
    check(shape[d] == out_shape[od] || shape[d] == 1, "broadcast_strides: ", shape, " does not broadcast to ", out_shape);
    st[od] = shape[d] == 1 ? 0 : s;
    s *= shape[d];
  }
  return st;
}

}  // namespace uad::cuda
