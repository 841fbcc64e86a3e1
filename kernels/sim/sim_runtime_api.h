// CUDA simulator, part 3 of 3: the host side — the subset of the CUDA runtime API the kernels and
// tests use (same names, enum values and signatures as cuda_runtime_api.h), the kernel launcher,
// and the simulator's own controls (uad::sim::…). Included through kernels/sim/sim.h only.
//
// Device memory is host memory: cudaMalloc is an aligned host allocation of exactly the requested
// size, so AddressSanitizer reports a kernel's out-of-bounds access as a heap-buffer-overflow
// (compute-sanitizer's job on a GPU). The simulator keeps a table of live allocations, so
// cudaMemcpy with a host pointer where a device pointer is due fails (cudaErrorInvalidValue) as on
// a GPU. Every launch runs synchronously on the calling thread; streams exist only as handles.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/sim/sim_types.h"

// Values from CUDA 13's driver_types.h.
enum cudaError : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotSupported = 801,
};
typedef cudaError cudaError_t;

enum cudaMemcpyKind : int {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaDeviceAttr : int {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxBlockDimX = 2,
  cudaDevAttrMaxGridDimX = 5,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};

enum cudaFuncAttribute : int {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

struct CUstream_st;
typedef CUstream_st* cudaStream_t;

// ---- memory (all synchronous) ----
cudaError_t cudaMalloc(void** ptr, size_t bytes);
template <class T> cudaError_t cudaMalloc(T** ptr, size_t bytes) { return cudaMalloc(reinterpret_cast<void**>(ptr), bytes); }
cudaError_t cudaFree(void* ptr);
/// Pinned host memory: a plain aligned host allocation here.
cudaError_t cudaMallocHost(void** ptr, size_t bytes);
template <class T> cudaError_t cudaMallocHost(T** ptr, size_t bytes) { return cudaMallocHost(reinterpret_cast<void**>(ptr), bytes); }
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* dst, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream = nullptr);

// ---- device, streams, errors ----
cudaError_t cudaGetDeviceCount(int* count);  // 1: the simulated device
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
/// Returns and clears the last error (simulator errors are not sticky, unlike a GPU's faults).
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t e);
const char* cudaGetErrorName(cudaError_t e);
/// Raises the dynamic shared memory limit of `func` above the default 48 KiB (up to 227 KiB).
cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value);
template <class... P> cudaError_t cudaFuncSetAttribute(void (*func)(P...), cudaFuncAttribute attr, int value) {
  return cudaFuncSetAttribute(reinterpret_cast<const void*>(func), attr, value);
}
/// The kernel's (demangled) name from the executable's symbol table.
cudaError_t cudaFuncGetName(const char** name, const void* func);

namespace uad::sim {

namespace detail {
using Thunk = void (*)(void* frame);
cudaError_t launch(const void* kernel, dim3 grid, dim3 block, size_t shmem, cudaStream_t stream, Thunk run, void* frame);
}  // namespace detail

/// Runs kernel<<<grid, block, shmem, stream>>>(args...) to completion on the calling thread.
/// Returns cudaSuccess, cudaErrorInvalidConfiguration (bad dimensions, too much dynamic shared
/// memory) or cudaErrorLaunchFailure (a barrier/warp-operation misuse or an exception in the
/// kernel); the error is also recorded for cudaGetLastError and its full text in last_fault().
/// Arguments are converted to the kernel's parameter types and copied, as CUDA does.
template <class... P, class... A>
cudaError_t launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem, cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel launch: wrong number of arguments");
  struct Frame {
    void (*kernel)(P...);
    std::tuple<std::decay_t<P>...> args;
  };
  Frame frame{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
  return detail::launch(reinterpret_cast<const void*>(kernel), grid, block, shmem, stream,
                        [](void* f) { auto* fr = static_cast<Frame*>(f); std::apply(fr->kernel, fr->args); }, &frame);
}

/// Full text of the last launch failure: kernel, configuration, block, thread, what and where.
const std::string& last_fault();

/// Seeded shuffle of the order in which the threads of a block start and resume after each
/// barrier (and of the block order), to expose races; nullopt = threads in index order. The
/// initial value comes from the environment variable UAD_SIM_SHUFFLE=<seed> (read once).
void set_shuffle_seed(std::optional<uint64_t> seed);
std::optional<uint64_t> shuffle_seed();

/// Counters since the last reset (for tests and the benchmark).
struct Stats {
  uint64_t launches = 0;
  uint64_t blocks = 0;
  uint64_t threads = 0;         // threads run
  uint64_t plain_threads = 0;   // run without a fiber (a lane of their warp had exited: fast path)
  uint64_t fibers = 0;          // fibers created
  uint64_t switches = 0;        // scheduler → fiber switches (each has a switch back)
  uint64_t barriers = 0;        // completed __syncthreads
  uint64_t warp_ops = 0;        // completed warp operations
};
Stats stats();
void reset_stats();

/// Bytes of static __shared__ memory found in the executable (poisoned before each block).
size_t static_shared_bytes();

/// Demangled name of the function at `fn` (from the executable's symbol table), or its address.
std::string symbol_name(const void* fn);

}  // namespace uad::sim
