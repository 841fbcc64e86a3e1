// CPU host allocator with a cache of large blocks.
//
// Blocks of ≥ 1 MiB are rounded up to 64 KiB and, when freed, kept for reuse by an allocation of
// the same rounded size (a training step allocates the same activation sizes every iteration;
// without the cache every such block is a fresh mmap whose pages fault in on first touch —
// ~0.25 µs per 4 KiB page). The cache holds at most `cpu_cache_limit()` bytes (default 2 GiB,
// env UAD_CPU_CACHE_MB); smaller blocks go straight to aligned_alloc/free. Thread-safe.
#pragma once
#include <cstddef>
#include <cstdint>

namespace uad {

/// 64-byte-aligned block of at least `nbytes`. Throws uad::Error when out of memory.
void* cpu_alloc(size_t nbytes);
/// Returns a block from cpu_alloc (with the same nbytes).
void cpu_free(void* p, size_t nbytes);

/// Allocator statistics, in bytes.
struct CpuAllocStats {
  size_t in_use = 0;        // handed out and not yet freed
  size_t peak_in_use = 0;   // maximum of in_use
  size_t cached = 0;        // freed large blocks kept for reuse
  uint64_t allocations = 0; // calls to cpu_alloc
  uint64_t cache_hits = 0;  // allocations served from the cache
};
CpuAllocStats cpu_alloc_stats();
/// Frees every cached block.
void cpu_empty_cache();
size_t cpu_cache_limit();

}  // namespace uad
