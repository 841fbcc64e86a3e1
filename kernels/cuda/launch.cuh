// The ONE launch helper: the only place in the tree that writes `<<< >>>` (DESIGN.md §5). Under
// the simulator (-DUAD_CUDA_SIM) it calls the simulator's launcher instead, which runs the grid
// to completion before returning.
#pragma once
#include <utility>

#include "kernels/cuda/portable.cuh"

namespace uad::cuda {

/// Reports a failed launch: throws uad::Error naming the kernel (cudaFuncGetName), its grid,
/// block and dynamic shared memory, the CUDA error and — under the simulator — the simulator's
/// account of what went wrong (thread, barrier, source line). kernels/cuda/runtime_helpers.cu.
[[noreturn]] void launch_failed(cudaError_t e, const void* kernel, dim3 grid, dim3 block, size_t shmem_bytes);

/// kernel<<<grid, block, shmem_bytes, stream>>>(args...), then checks the launch:
/// cudaGetLastError on a GPU (configuration errors; faults during execution surface at the next
/// synchronising call), the simulator's result (configuration errors and every fault, since the
/// simulator runs the kernel to completion here). Throws uad::Error via launch_failed.
/// `args` convert to the kernel's parameter types, as in a `<<< >>>` launch.
template <class... P, class... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem_bytes, cudaStream_t stream, A&&... args) {
#if defined(UAD_CUDA_SIM)
  const cudaError_t e = ::uad::sim::launch(kernel, grid, block, shmem_bytes, stream, std::forward<A>(args)...);
#else
  kernel<<<grid, block, shmem_bytes, stream>>>(std::forward<A>(args)...);
  const cudaError_t e = cudaGetLastError();
#endif
  if (e != cudaSuccess) launch_failed(e, reinterpret_cast<const void*>(kernel), grid, block, shmem_bytes);
}

/// Number of blocks of `block_threads` threads covering `work` items with `items_per_thread`
/// each, capped at `max_blocks` (kernels then loop grid-stride over the rest).
inline unsigned grid_for(long long work, unsigned block_threads, unsigned items_per_thread, unsigned max_blocks) {
  const long long per_block = (long long)block_threads * items_per_thread;
  long long g = (work + per_block - 1) / per_block;
  if (g < 1) g = 1;
  return g > max_blocks ? max_blocks : (unsigned)g;
}

}  // namespace uad::cuda
