// Installs the CUDA backend's table (tensor/backend.h) — kernels/cuda/backend.cu.
#pragma once

namespace uad::cuda {

/// Registers this library's kernels, cuBLAS/cuDNN wrappers, caching allocator and copies as the
/// backend of Device::cuda tensors (uad::register_cuda_backend). Idempotent. The real CUDA build
/// calls it on first use of a device tensor; simulator programs (tests, benchmarks) call it
/// themselves. Never throws.
void install_backend();

}  // namespace uad::cuda
