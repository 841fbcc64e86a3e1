// Device selection; the CUDA probe itself lives in kernels/cuda/device_probe.cu.
#include "tensor/device.h"

#include "tensor/error.h"

namespace uad {

#ifdef UAD_HAVE_CUDA
namespace cuda {
CudaProbe probe_runtime();  // kernels/cuda/device_probe.cu
}
#endif

const CudaProbe& probe_cuda() {
  static const CudaProbe p = [] {
#ifdef UAD_HAVE_CUDA
    return cuda::probe_runtime();
#else
    CudaProbe q;
    q.reason = "this uad binary was built without the CUDA backend (-DUAD_CUDA=OFF)";
    return q;
#endif
  }();
  return p;
}

Device select_device(const std::string& request, std::string* note) {
  if (request == "cpu") return Device::cpu;
  if (request != "auto" && request != "cuda") fail("--device: unknown device '", request, "' (expected auto, cpu or cuda)");
  const CudaProbe& p = probe_cuda();
  if (p.available()) {
    if (note) *note = "device: cuda (" + p.name + ")";
    return Device::cuda;
  }
  if (request == "cuda") fail("--device cuda: no usable CUDA device — ", p.reason);
  if (note) *note = "device: cpu (no CUDA device: " + p.reason + ")";
  return Device::cpu;
}

}  // namespace uad
