// The CUDA simulator (DESIGN.md §5, issue 3): the same kernel sources that nvcc compiles for a GPU,
// compiled by g++ with -DUAD_CUDA_SIM and run on the CPU. Kernel files do not include this
// directly: kernels/cuda/portable.cuh picks <cuda_runtime.h> or this header.
//
// Execution model (kernels/sim/scheduler.cpp):
// - The blocks of a grid run one after another on the launching thread; launches are serialised.
// - The threads of a block are started in order (or a seeded shuffle, UAD_SIM_SHUFFLE=<seed>).
//   A thread runs until it finishes or reaches a barrier/warp operation; only then does it need
//   a fiber to wait in (Boost.Context fibers on pooled stacks). A thread whose warp already has a
//   finished lane cannot legally wait anywhere, so it runs on the scheduler's own stack with no
//   fiber at all — after the first lane of each warp, a barrier-free kernel costs a plain call per
//   thread (HIP-CPU's fast path).
// - Threads waiting at __syncthreads are released when all threads of the block arrived; lanes
//   waiting at a warp operation when the 32 lanes of their warp arrived.
// - Shared memory (static and dynamic) is filled with 0xFF bytes (NaN) before each block.
// - Misuse (divergent barriers, partial warp masks, mismatched warp ops, exceptions) ends the
//   launch with cudaErrorLaunchFailure and a message naming kernel, block, thread and source line;
//   the other threads are unwound, never left hanging.
#pragma once
#include "kernels/sim/sim_device.h"
#include "kernels/sim/sim_runtime_api.h"
#include "kernels/sim/sim_types.h"
