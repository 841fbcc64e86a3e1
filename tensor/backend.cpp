// Registration of the CUDA backend's table (tensor/backend.h).
#include "tensor/backend.h"

#include <atomic>
#include <mutex>

#include "tensor/error.h"

namespace uad {

#ifdef UAD_HAVE_CUDA
namespace cuda {
void install_backend();  // kernels/cuda/backend.cu
}
#endif

namespace {
std::atomic<const CudaBackend*> g_backend{nullptr};
}

void register_cuda_backend(const CudaBackend* b) { g_backend.store(b); }

const CudaBackend* cuda_backend_or_null() {
#ifdef UAD_HAVE_CUDA
  static std::once_flag once;
  std::call_once(once, [] {
    if (!g_backend.load()) cuda::install_backend();
  });
#endif
  return g_backend.load();
}

const CudaBackend& cuda_backend(const char* op) {
  const CudaBackend* b = cuda_backend_or_null();
  check(b != nullptr, op, ": the tensor is on cuda but this binary has no CUDA backend (built with -DUAD_CUDA=OFF",
        ", or a simulator build that did not call uad::cuda::install_backend())");
  return *b;
}

}  // namespace uad
