// The device runtime of kernels/cuda/device_runtime.h. Compiled by nvcc (uad_cuda) or, under the
// simulator, by g++ against kernels/sim/ (uad_sim). The simulator's runtime has no events,
// cudaStreamQuery, cudaMemGetInfo or cudaGetDeviceProperties, and runs everything synchronously:
// the #if UAD_CUDA_SIM branches below stand in for them.
#include "kernels/cuda/portable.cuh"  // first: the CUDA runtime or the simulator

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <utility>

#if !defined(UAD_CUDA_SIM)
#include <nvtx3/nvToolsExt.h>
#endif

#include "kernels/cuda/device_runtime.h"
#include "tensor/error.h"

namespace uad::cuda {

namespace {
cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }
}  // namespace

// ---- devices -------------------------------------------------------------------------------

int device_count(std::string* reason) {
  int n = 0;  // left unwritten on failure (cuda_brief.md §2)
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (reason) *reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(e);
    (void)cudaGetLastError();
    return 0;
  }
  if (n == 0 && reason) *reason = "the CUDA runtime reports no devices";
  return n;
}

DeviceInfo device_info(int index) {
  const int n = device_count();
  check(index >= 0 && index < n, "device_info: device ", index, " does not exist (", n, " devices)");
  DeviceInfo d;
  d.index = index;
  auto attr = [&](cudaDeviceAttr a) {
    int v = 0;
    UAD_CUDA_CHECK(cudaDeviceGetAttribute(&v, a, index));
    return v;
  };
  d.major = attr(cudaDevAttrComputeCapabilityMajor);
  d.minor = attr(cudaDevAttrComputeCapabilityMinor);
  d.multiprocessors = attr(cudaDevAttrMultiProcessorCount);
  d.warp_size = attr(cudaDevAttrWarpSize);
  d.max_threads_per_block = attr(cudaDevAttrMaxThreadsPerBlock);
  d.shared_mem_per_block = (size_t)attr(cudaDevAttrMaxSharedMemoryPerBlock);
  d.shared_mem_per_block_optin = (size_t)attr(cudaDevAttrMaxSharedMemoryPerBlockOptin);
#if defined(UAD_CUDA_SIM)
  d.name = "uad CUDA simulator";
#else
  cudaDeviceProp prop{};
  UAD_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  d.name = prop.name;
  d.total_memory = prop.totalGlobalMem;
  d.memory_pools = attr(cudaDevAttrMemoryPoolsSupported) != 0;
#endif
  return d;
}

int current_device() {
  int d = 0;
  UAD_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

void set_device(int index) { UAD_CUDA_CHECK(cudaSetDevice(index)); }

MemInfo memory_info() {
  MemInfo m;
#if !defined(UAD_CUDA_SIM)
  UAD_CUDA_CHECK(cudaMemGetInfo(&m.free, &m.total));
#endif
  return m;
}

// ---- streams -------------------------------------------------------------------------------

Stream::Stream() {
  cudaStream_t s = nullptr;
  UAD_CUDA_CHECK(cudaStreamCreate(&s));
  s_ = s;
}

Stream::~Stream() {
  if (s_) (void)cudaStreamDestroy(as_stream(s_));  // never throws; pending work still completes
}

Stream& Stream::operator=(Stream&& o) noexcept {
  std::swap(s_, o.s_);
  return *this;
}

void Stream::synchronize() const { stream_synchronize(s_); }

bool Stream::query() const {
#if defined(UAD_CUDA_SIM)
  return true;
#else
  const cudaError_t e = cudaStreamQuery(as_stream(s_));
  if (e == cudaErrorNotReady) {
    (void)cudaGetLastError();
    return false;
  }
  UAD_CUDA_CHECK(e);
  return true;
#endif
}

namespace {
thread_local void* t_current_stream = nullptr;
}

void* current_stream() { return t_current_stream; }
void set_current_stream(void* stream) { t_current_stream = stream; }
void stream_synchronize(void* stream) { UAD_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream))); }

// ---- events --------------------------------------------------------------------------------

#if defined(UAD_CUDA_SIM)
namespace {
double host_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace
Event::Event() : e_(new double(0)) {}
Event::~Event() { delete static_cast<double*>(e_); }
void Event::record(void*) {
  *static_cast<double*>(e_) = host_ms();
  recorded_ = true;
}
void Event::synchronize() const {}
void Event::block(void*) const {}
float Event::elapsed_ms(const Event& start, const Event& end) {
  check(start.recorded_ && end.recorded_, "Event::elapsed_ms: both events must be recorded first");
  return (float)(*static_cast<double*>(end.e_) - *static_cast<double*>(start.e_));
}
#else
Event::Event() {
  cudaEvent_t e = nullptr;
  UAD_CUDA_CHECK(cudaEventCreate(&e));
  e_ = e;
}
Event::~Event() {
  if (e_) (void)cudaEventDestroy(static_cast<cudaEvent_t>(e_));
}
void Event::record(void* stream) {
  UAD_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(e_), as_stream(stream)));
  recorded_ = true;
}
void Event::synchronize() const { UAD_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(e_))); }
void Event::block(void* stream) const { UAD_CUDA_CHECK(cudaStreamWaitEvent(as_stream(stream), static_cast<cudaEvent_t>(e_), 0)); }
float Event::elapsed_ms(const Event& start, const Event& end) {
  check(start.recorded_ && end.recorded_, "Event::elapsed_ms: both events must be recorded first");
  end.synchronize();
  float ms = 0;
  UAD_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start.e_), static_cast<cudaEvent_t>(end.e_)));
  return ms;
}
#endif

Event::Event(Event&& o) noexcept : e_(o.e_), recorded_(o.recorded_) {
  o.e_ = nullptr;
  o.recorded_ = false;
}

Event& Event::operator=(Event&& o) noexcept {
  std::swap(e_, o.e_);
  std::swap(recorded_, o.recorded_);
  return *this;
}

// ---- NVTX ----------------------------------------------------------------------------------

#if defined(UAD_CUDA_SIM)
void nvtx_push(const char*) {}
void nvtx_pop() {}
#else
void nvtx_push(const char* name) { nvtxRangePushA(name); }
void nvtx_pop() { nvtxRangePop(); }
#endif

// ---- pinned staging ------------------------------------------------------------------------

namespace {

/// Two pinned buffers and, on a GPU, one event per buffer marking when its last copy finished.
struct Staging {
  std::mutex mu;
  size_t chunk = size_t(4) << 20;
  void* buf[2] = {nullptr, nullptr};
#if !defined(UAD_CUDA_SIM)
  cudaEvent_t done[2] = {nullptr, nullptr};
#endif
  StagingStats stats;

  void ensure() {
    for (int i = 0; i < 2; ++i) {
      if (buf[i]) continue;
      UAD_CUDA_CHECK(cudaMallocHost(&buf[i], chunk));
      ++stats.pinned_allocations;
#if !defined(UAD_CUDA_SIM)
      if (!done[i]) UAD_CUDA_CHECK(cudaEventCreateWithFlags(&done[i], cudaEventDisableTiming));
#endif
    }
  }
  void release() {
    for (int i = 0; i < 2; ++i) {
      if (buf[i]) (void)cudaFreeHost(buf[i]);
      buf[i] = nullptr;
    }
  }
  /// Marks buffer i busy until the work queued on `s` so far has finished.
  void mark(int i, cudaStream_t s) {
#if !defined(UAD_CUDA_SIM)
    UAD_CUDA_CHECK(cudaEventRecord(done[i], s));
#else
    (void)i, (void)s;
#endif
  }
  /// Waits until buffer i's last copy has finished.
  void wait(int i) {
#if !defined(UAD_CUDA_SIM)
    UAD_CUDA_CHECK(cudaEventSynchronize(done[i]));
#else
    (void)i;
#endif
  }
};

Staging& staging() {
  static Staging* s = new Staging;  // never destroyed: pinned memory outlives static destructors safely
  return *s;
}

}  // namespace

void copy_to_device_staged(void* dst, const void* src, size_t bytes, void* stream) {
  if (bytes == 0) return;
  check(dst && src, "copy_to_device_staged: null pointer (dst ", dst, ", src ", src, ") for ", bytes, " bytes");
  Staging& st = staging();
  std::lock_guard<std::mutex> lock(st.mu);
  st.ensure();
  const cudaStream_t s = as_stream(stream ? stream : current_stream());
  auto* d = static_cast<char*>(dst);
  const auto* h = static_cast<const char*>(src);
  int i = 0;
  for (size_t off = 0; off < bytes; off += st.chunk, i ^= 1) {
    const size_t n = std::min(st.chunk, bytes - off);
    st.wait(i);  // the copy issued from this buffer two chunks ago has finished
    std::memcpy(st.buf[i], h + off, n);
    UAD_CUDA_CHECK(cudaMemcpyAsync(d + off, st.buf[i], n, cudaMemcpyHostToDevice, s));
    st.mark(i, s);
    ++st.stats.chunks;
  }
  UAD_CUDA_CHECK(cudaStreamSynchronize(s));
  ++st.stats.copies;
  st.stats.bytes += bytes;
}

void copy_to_host_staged(void* dst, const void* src, size_t bytes, void* stream) {
  if (bytes == 0) return;
  check(dst && src, "copy_to_host_staged: null pointer (dst ", dst, ", src ", src, ") for ", bytes, " bytes");
  Staging& st = staging();
  std::lock_guard<std::mutex> lock(st.mu);
  st.ensure();
  const cudaStream_t s = as_stream(stream ? stream : current_stream());
  auto* h = static_cast<char*>(dst);
  const auto* d = static_cast<const char*>(src);
  const size_t nchunks = (bytes + st.chunk - 1) / st.chunk;
  auto issue = [&](size_t c) {
    const size_t off = c * st.chunk, n = std::min(st.chunk, bytes - off);
    UAD_CUDA_CHECK(cudaMemcpyAsync(st.buf[c & 1], d + off, n, cudaMemcpyDeviceToHost, s));
    st.mark((int)(c & 1), s);
    ++st.stats.chunks;
  };
  issue(0);
  for (size_t c = 0; c < nchunks; ++c) {
    if (c + 1 < nchunks) issue(c + 1);  // buffer (c+1)&1 was drained in iteration c-1
    st.wait((int)(c & 1));
    const size_t off = c * st.chunk, n = std::min(st.chunk, bytes - off);
    std::memcpy(h + off, st.buf[c & 1], n);
  }
  UAD_CUDA_CHECK(cudaStreamSynchronize(s));
  ++st.stats.copies;
  st.stats.bytes += bytes;
}

size_t staging_chunk_bytes() {
  Staging& st = staging();
  std::lock_guard<std::mutex> lock(st.mu);
  return st.chunk;
}

void set_staging_chunk_bytes(size_t bytes) {
  check(bytes > 0, "set_staging_chunk_bytes: the chunk size must be positive");
  Staging& st = staging();
  std::lock_guard<std::mutex> lock(st.mu);
  if (bytes == st.chunk) return;
  st.release();
  st.chunk = bytes;
}

StagingStats staging_stats() {
  Staging& st = staging();
  std::lock_guard<std::mutex> lock(st.mu);
  return st.stats;
}

void release_staging() {
  Staging& st = staging();
  std::lock_guard<std::mutex> lock(st.mu);
  st.release();
}

}  // namespace uad::cuda
