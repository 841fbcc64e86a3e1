// The caching allocator of device memory (issue 3 item 1): PyTorch's CUDACachingAllocator,
// simplified (c10/cuda/CUDACachingAllocator.cpp). Implementation: kernels/cuda/caching_allocator.cu.
//
// Why: cudaMalloc/cudaFree are slow and cudaFree synchronises the whole device (CUDA Programming
// Guide §4.3); a training step allocates the same sizes every iteration. Memory obtained from
// cudaMalloc ("segments") is therefore never returned except by empty_cache() or when a cudaMalloc
// fails (the OOM retry); freed blocks go to a free list and serve later requests.
//
// Rules (each one tested in tests/test_sim_runtime.cpp):
// - Request sizes are rounded up to a multiple of 512 bytes (kRound; 0 bytes → 512).
// - Small requests (≤ 1 MiB, kSmallSize) are carved from 2 MiB segments (kSmallSegment); large
//   requests (> 1 MiB) get a segment of their size rounded up to 2 MiB (kLargeRound).
// - Small and large blocks live in separate pools; within a pool the free block chosen is the
//   best fit: the smallest free block of the same stream that is large enough (ties: lowest
//   address). A chosen block is split when the remainder is ≥ 512 bytes (small pool) or > 1 MiB
//   (large pool); otherwise the whole block is handed out (its full size counts as in use).
// - A freed block merges with free neighbours of its segment (blocks of one segment are
//   contiguous and belong to one stream).
// - One free list per stream: a block is reused only by requests on the stream it was allocated
//   for, so no cross-stream synchronisation is needed (work queued on the stream before the free
//   finishes before work queued after the reuse). A pointer used on another stream must be
//   synchronised by the caller before it is freed (no record_stream yet).
// - When cudaMalloc fails (or the optional limit would be exceeded), every fully free segment is
//   released (cudaFree) and the cudaMalloc retried once; then uad::Error reports the request and
//   the statistics.
// - Caching off (set_caching(false); for the process-wide device_allocator()s also the environment
//   variable UAD_CUDA_NO_CACHING=1, read when each is created — PyTorch's
//   PYTORCH_NO_CUDA_MEMORY_CACHING): every allocate is a
//   cudaMalloc of exactly the requested bytes and every deallocate a cudaFree, so AddressSanitizer
//   (simulator build) or compute-sanitizer sees an overrun of a block at its end.
// Thread-safe (one mutex per allocator). Works in the simulator build, where cudaMalloc is an
// aligned host allocation, so this logic runs in CI.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace uad::cuda {

/// Allocator statistics. Byte counts are of rounded blocks unless named `requested`.
struct DeviceAllocStats {
  size_t in_use = 0;             // bytes of blocks handed out and not yet freed
  size_t requested_in_use = 0;   // bytes the callers asked for, of those blocks
  size_t peak_in_use = 0;        // maximum of in_use since construction / reset_peak()
  size_t reserved = 0;           // bytes of segments held from cudaMalloc (in use + cached)
  size_t peak_reserved = 0;      // maximum of reserved since construction / reset_peak()
  size_t cached = 0;             // reserved − in_use: free bytes kept for reuse
  uint64_t allocations = 0;      // allocate() calls
  uint64_t frees = 0;            // deallocate() calls
  uint64_t cache_hits = 0;       // allocations served from a free block (no cudaMalloc)
  uint64_t device_mallocs = 0;   // cudaMalloc calls that succeeded (segments created)
  uint64_t device_frees = 0;     // cudaFree calls (segments released)
  uint64_t splits = 0;           // blocks split on allocation
  uint64_t merges = 0;           // free neighbours merged on deallocation
  uint64_t oom_retries = 0;      // failed cudaMallocs retried after releasing the cache
  uint64_t segments = 0;         // segments currently held
};

class CachingAllocator {
 public:
  static constexpr size_t kRound = 512;                     // bytes: every block is a multiple
  static constexpr size_t kSmallSize = size_t(1) << 20;     // ≤ this: small pool
  static constexpr size_t kSmallSegment = size_t(2) << 20;  // segment size of the small pool
  static constexpr size_t kLargeRound = size_t(2) << 20;    // large segments: multiple of this

  /// An allocator of device `device`'s memory (cudaSetDevice is the caller's business: segments
  /// come from cudaMalloc on the current device).
  explicit CachingAllocator(int device = 0);
  /// Releases every segment (cudaFree) — blocks still in use become invalid.
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  /// A block of at least `bytes` (≥ 256-byte aligned, as cudaMalloc) for use on `stream`
  /// (cudaStream_t; nullptr = legacy default stream). Throws uad::Error when the device is out of
  /// memory even after releasing the cache, naming the request and the statistics.
  void* allocate(size_t bytes, void* stream = nullptr);
  /// Returns a block from allocate() to its stream's free list (nullptr is a no-op). Throws
  /// uad::Error for a pointer this allocator did not hand out (or already freed).
  void deallocate(void* p);
  /// Rounded size of a live block (what counts in in_use); throws uad::Error for an unknown pointer.
  size_t block_size(void* p) const;
  /// cudaFree of every segment that is entirely free; returns the bytes released.
  size_t empty_cache();
  /// Sets peak_in_use = in_use and peak_reserved = reserved.
  void reset_peak();
  DeviceAllocStats stats() const;
  /// Caps reserved bytes (0 = no cap): a segment that would exceed it is treated like a failed
  /// cudaMalloc (cache released, retried, then uad::Error). PyTorch's per-process memory fraction;
  /// also how tests exercise the OOM path.
  void set_limit(size_t bytes);
  size_t limit() const;
  /// Caching on (default) or off (see the header comment); switching off releases the cache.
  void set_caching(bool on);
  bool caching() const;
  /// Rounding rule of the header comment (exposed for tests).
  static size_t round_size(size_t bytes);
  /// Multi-line description of the segments and their blocks (for debugging and error messages).
  std::string describe() const;
  int device() const { return device_; }

 private:
  struct Impl;
  int device_;
  mutable std::mutex mu_;
  std::unique_ptr<Impl> impl_;
};

/// The process-wide allocator of device `device` (created on first use, caching unless
/// UAD_CUDA_NO_CACHING=1; never destroyed, so blocks freed by static destructors stay valid).
CachingAllocator& device_allocator(int device = 0);

/// An owning block from a CachingAllocator (move-only), e.g. a cuDNN workspace.
class DeviceBlock {
 public:
  DeviceBlock() = default;
  DeviceBlock(CachingAllocator& a, size_t bytes, void* stream = nullptr)
      : a_(&a), p_(bytes ? a.allocate(bytes, stream) : nullptr), n_(bytes) {}
  DeviceBlock(DeviceBlock&& o) noexcept : a_(o.a_), p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  DeviceBlock& operator=(DeviceBlock&& o) noexcept {
    std::swap(a_, o.a_);
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  DeviceBlock(const DeviceBlock&) = delete;
  DeviceBlock& operator=(const DeviceBlock&) = delete;
  ~DeviceBlock() {
    if (p_) a_->deallocate(p_);
  }
  void* get() const { return p_; }
  size_t size() const { return n_; }
 private:
  CachingAllocator* a_ = nullptr;
  void* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace uad::cuda
