// The portable CUDA subset every hand-written kernel file starts from (DESIGN.md §5): the CUDA
// runtime under nvcc, the simulator (kernels/sim/) under g++ with -DUAD_CUDA_SIM. Kernels use
// only what both provide: __global__/__device__/__host__, static __shared__ arrays,
// UAD_DYNAMIC_SHARED below, __syncthreads, __syncwarp, full-mask __shfl*_sync/__ballot_sync,
// atomic*, math functions and vector types; launches go through uad::cuda::launch (launch.cuh).
// No CUB, inline PTX or tensor-core intrinsics unless behind `#ifndef UAD_CUDA_SIM` next to a
// portable version.
#pragma once
#if defined(UAD_CUDA_SIM)
#include "kernels/sim/sim.h"
#elif defined(__CUDACC__)
#include <cuda_runtime.h>
#else
#error "kernels/cuda/*.cuh need nvcc or the simulator (-DUAD_CUDA_SIM)"
#endif

#include <cstddef>

/// Declares `T* name` pointing at the launch's dynamic shared memory (the `shmem_bytes` argument
/// of uad::cuda::launch), 16-byte aligned. Use once per kernel, at the top of its body.
#if defined(UAD_CUDA_SIM)
#define UAD_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(::uad::sim::detail::g_dynamic_shared)
#else
#define UAD_DYNAMIC_SHARED(T, name)                                  \
  extern __shared__ __align__(16) unsigned char uad_dynamic_shared_[]; \
  T* name = reinterpret_cast<T*>(uad_dynamic_shared_)
#endif

/// Full unrolling hint for a loop with a compile-time trip count (nvcc's and GCC's spelling).
#if defined(__CUDACC__)
#define UAD_UNROLL _Pragma("unroll")
#else
#define UAD_UNROLL _Pragma("GCC unroll 16")
#endif

namespace uad::cuda {

/// Throws uad::Error "<what> failed at <file>:<line>: <cudaGetErrorName>: <cudaGetErrorString>"
/// when `e` is not cudaSuccess (kernels/cuda/runtime_helpers.cu).
void check_cuda(cudaError_t e, const char* what, const char* file, int line);

}  // namespace uad::cuda

/// Checks a CUDA runtime call: UAD_CUDA_CHECK(cudaMemcpy(...)).
#define UAD_CUDA_CHECK(expr) ::uad::cuda::check_cuda((expr), #expr, __FILE__, __LINE__)
