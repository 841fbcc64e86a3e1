// CUDA runtime probe. With no driver, cudaGetDeviceCount returns cudaErrorInsufficientDriver
// (35) and leaves the count unwritten (../shared/reference/cuda_brief.md §2), so it starts at 0.
#include <cuda_runtime.h>

#include <string>

#include "tensor/device.h"

namespace uad::cuda {

CudaProbe probe_runtime() {
  CudaProbe p;
  p.built = true;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    p.reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(e);
    (void)cudaGetLastError();  // the failure is sticky; clear what can be cleared
    return p;
  }
  if (n == 0) {
    p.reason = "the CUDA runtime reports no devices";
    return p;
  }
  p.device_count = n;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) p.name = prop.name;
  return p;
}

}  // namespace uad::cuda
