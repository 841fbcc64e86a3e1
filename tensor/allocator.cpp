#include "tensor/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "tensor/error.h"

namespace uad {

namespace {

constexpr size_t kLarge = 1 << 20;     // blocks from 1 MiB are cached
constexpr size_t kRound = 64 << 10;    // rounded to 64 KiB

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // rounded size → block
  CpuAllocStats stats;
  size_t limit;
  Cache() {
    const char* env = std::getenv("UAD_CPU_CACHE_MB");
    limit = env ? (size_t)std::strtoull(env, nullptr, 10) << 20 : (size_t)2 << 30;
  }
  ~Cache() {
    for (auto& kv : free_blocks) std::free(kv.second);
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: tensors may be freed during static destruction
  return *c;
}

size_t rounded(size_t n) { return n >= kLarge ? (n + kRound - 1) / kRound * kRound : (n + 63) / 64 * 64; }

}  // namespace

void* cpu_alloc(size_t nbytes) {
  const size_t sz = rounded(nbytes ? nbytes : 1);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lk(c.mu);
    c.stats.allocations++;
    c.stats.in_use += sz;
    if (c.stats.in_use > c.stats.peak_in_use) c.stats.peak_in_use = c.stats.in_use;
    if (sz >= kLarge) {
      auto it = c.free_blocks.find(sz);
      if (it != c.free_blocks.end()) {
        void* p = it->second;
        c.free_blocks.erase(it);
        c.stats.cached -= sz;
        c.stats.cache_hits++;
        return p;
      }
    }
  }
  void* p = std::aligned_alloc(64, sz);
  if (!p) {
    cpu_empty_cache();
    p = std::aligned_alloc(64, sz);
  }
  if (!p) {
    std::lock_guard<std::mutex> lk(c.mu);
    c.stats.in_use -= sz;
    fail("cpu_alloc: out of memory allocating ", nbytes, " bytes");
  }
  return p;
}

void cpu_free(void* p, size_t nbytes) {
  if (!p) return;
  const size_t sz = rounded(nbytes ? nbytes : 1);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lk(c.mu);
    c.stats.in_use -= sz;
    if (sz >= kLarge && c.stats.cached + sz <= c.limit) {
      c.free_blocks.emplace(sz, p);
      c.stats.cached += sz;
      return;
    }
  }
  std::free(p);
}

CpuAllocStats cpu_alloc_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lk(c.mu);
  return c.stats;
}

void cpu_empty_cache() {
  Cache& c = cache();
  std::multimap<size_t, void*> blocks;
  {
    std::lock_guard<std::mutex> lk(c.mu);
    blocks.swap(c.free_blocks);
    c.stats.cached = 0;
  }
  for (auto& kv : blocks) std::free(kv.second);
}

size_t cpu_cache_limit() { return cache().limit; }

}  // namespace uad
