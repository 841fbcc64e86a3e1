// The CUDA device runtime of the backend (issue 3 item 1): device queries, streams with a
// per-thread current stream, events for timing, NVTX ranges, and host↔device copies through a
// pinned staging buffer. Implementation: kernels/cuda/device_runtime.cu (nvcc in the CUDA build,
// g++ against kernels/sim/ in the simulator build).
//
// Plain C++17 with no CUDA types (streams and events are `void*` = cudaStream_t / cudaEvent_t),
// so it is callable from g++-compiled code. In the simulator build every call runs synchronously
// on the calling thread (the simulator has no asynchronous work): streams are handles, events
// take a host timestamp when recorded, and NVTX ranges compile to nothing.
// Errors: every function throws uad::Error naming the call and the CUDA error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace uad::cuda {

// ---- devices -------------------------------------------------------------------------------

/// Devices the CUDA runtime sees: 0 when cudaGetDeviceCount fails (no driver:
/// cudaErrorInsufficientDriver; driver without GPU: cudaErrorNoDevice) — never throws. The
/// simulator reports its one simulated device. `reason` (optional) receives the failure text.
int device_count(std::string* reason = nullptr);

/// What a device reports (cudaGetDeviceProperties / cudaDeviceGetAttribute).
struct DeviceInfo {
  int index = 0;
  std::string name;             // e.g. "NVIDIA A100-SXM4-80GB"; "uad CUDA simulator"
  int major = 0, minor = 0;     // compute capability
  int multiprocessors = 0;
  int warp_size = 32;
  int max_threads_per_block = 0;
  size_t shared_mem_per_block = 0;        // bytes, default limit
  size_t shared_mem_per_block_optin = 0;  // bytes, with cudaFuncAttributeMaxDynamicSharedMemorySize
  size_t total_memory = 0;      // bytes of device memory (0 under the simulator: host memory)
  bool memory_pools = false;    // cudaDevAttrMemoryPoolsSupported (cudaMallocAsync)
};
/// Properties of device `index`. Throws uad::Error for an invalid index or a runtime failure.
DeviceInfo device_info(int index = 0);
/// The calling thread's current device (cudaGetDevice) / makes `index` current (cudaSetDevice).
int current_device();
void set_device(int index);
/// Free and total device memory in bytes (cudaMemGetInfo); the simulator reports {0, 0}.
struct MemInfo {
  size_t free = 0, total = 0;
};
MemInfo memory_info();

// ---- streams -------------------------------------------------------------------------------

/// An owning CUDA stream (cudaStreamCreate: a blocking stream, i.e. it synchronises with the
/// legacy default stream, so work on the default stream and on it stays ordered). Move-only.
class Stream {
 public:
  /// Creates a new stream. Throws uad::Error when cudaStreamCreate fails.
  Stream();
  ~Stream();
  Stream(Stream&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Stream& operator=(Stream&& o) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  /// The cudaStream_t.
  void* get() const { return s_; }
  /// Blocks until all work queued on the stream has finished (cudaStreamSynchronize).
  void synchronize() const;
  /// True when all work queued so far has finished (cudaStreamQuery; always true in the simulator).
  bool query() const;
 private:
  void* s_ = nullptr;
};

/// The calling thread's current stream: nullptr (the legacy default stream) unless set.
void* current_stream();
/// Makes `stream` (a cudaStream_t, nullptr = legacy default) current on the calling thread.
void set_current_stream(void* stream);
/// Makes `stream` current for its lifetime and restores the previous one (RAII).
class StreamGuard {
 public:
  explicit StreamGuard(void* stream) : prev_(current_stream()) { set_current_stream(stream); }
  ~StreamGuard() { set_current_stream(prev_); }
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;
 private:
  void* prev_;
};
/// cudaStreamSynchronize(stream), checked.
void stream_synchronize(void* stream);

// ---- events --------------------------------------------------------------------------------

/// An owning CUDA event with timing enabled (cudaEventCreate). Move-only. Under the simulator an
/// event is a host timestamp taken at record() (work there has finished when the call returns).
class Event {
 public:
  Event();
  ~Event();
  Event(Event&& o) noexcept;
  Event& operator=(Event&& o) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  /// Records the event on `stream` (cudaEventRecord; nullptr = legacy default stream).
  void record(void* stream = nullptr);
  /// Blocks until the recorded work has finished (cudaEventSynchronize).
  void synchronize() const;
  /// Makes future work on `stream` wait for this event (cudaStreamWaitEvent).
  void block(void* stream) const;
  /// Milliseconds between `start` and `end` (cudaEventElapsedTime, ~0.5 µs resolution); both
  /// must have been recorded; synchronises on `end` first. Throws uad::Error otherwise.
  static float elapsed_ms(const Event& start, const Event& end);
 private:
  void* e_ = nullptr;   // cudaEvent_t (GPU) or a heap double: the host timestamp in ms (simulator)
  bool recorded_ = false;
};

// ---- NVTX ----------------------------------------------------------------------------------

/// nvtxRangePushA / nvtxRangePop (nvtx3, header-only; no-ops unless a profiler is attached).
void nvtx_push(const char* name);
void nvtx_pop();
/// An NVTX range around a scope: `NvtxRange r("conv3d_forward");` — shows up in Nsight Systems.
/// Compiles to nothing in the simulator build.
class NvtxRange {
 public:
#if defined(UAD_CUDA_SIM)
  explicit NvtxRange(const char*) {}
#else
  explicit NvtxRange(const char* name) { nvtx_push(name); }
  ~NvtxRange() { nvtx_pop(); }
#endif
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

// ---- host ↔ device copies through pinned staging -------------------------------------------

/// Copies `bytes` from pageable host memory `src` to device memory `dst` through two pinned
/// (cudaMallocHost) staging buffers of staging_chunk_bytes() each: chunk i is memcpy'd into buffer
/// i%2 while the previous chunk's cudaMemcpyAsync on `stream` is in flight (double buffering),
/// then the stream is synchronised, so `src` may be reused when the call returns. `stream`
/// nullptr = the calling thread's current stream (as in kernels/cuda/dnn.h). Thread-safe
/// (copies through the shared staging buffers are serialised). Throws uad::Error on failure.
void copy_to_device_staged(void* dst, const void* src, size_t bytes, void* stream = nullptr);
/// Device → pageable host through the same staging buffers: chunk i+1's cudaMemcpyAsync is queued
/// before chunk i is memcpy'd out of its pinned buffer; returns once all of `dst` is written.
void copy_to_host_staged(void* dst, const void* src, size_t bytes, void* stream = nullptr);
/// Chunk size of the staging buffers (default 4 MiB). Setting it frees the current buffers (they
/// are reallocated at the next copy); throws uad::Error for 0.
size_t staging_chunk_bytes();
void set_staging_chunk_bytes(size_t bytes);
/// Counters of the staged copies since start-up (for tests and benchmarks).
struct StagingStats {
  uint64_t copies = 0;          // calls of copy_to_*_staged with bytes > 0
  uint64_t chunks = 0;          // cudaMemcpyAsync calls issued
  uint64_t bytes = 0;           // bytes copied
  uint64_t pinned_allocations = 0;  // cudaMallocHost calls for staging buffers
};
StagingStats staging_stats();
/// Frees the pinned staging buffers (cudaFreeHost); the next copy reallocates them.
void release_staging();

}  // namespace uad::cuda
