// CPU caching allocator: large blocks are reused, statistics add up, empty_cache releases.
#include <gtest/gtest.h>

#include "tensor/allocator.h"
#include "tensor/tensor.h"

using namespace uad;

TEST(Allocator, ReusesLargeBlocksAndCountsBytes) {
  cpu_empty_cache();
  CpuAllocStats s0 = cpu_alloc_stats();
  void* p;
  {
    Tensor t = empty({1 << 20});  // 4 MiB
    p = t.raw();
    CpuAllocStats s1 = cpu_alloc_stats();
    EXPECT_EQ(s1.in_use - s0.in_use, (size_t)4 << 20);
  }
  CpuAllocStats s2 = cpu_alloc_stats();
  EXPECT_EQ(s2.in_use, s0.in_use);
  EXPECT_EQ(s2.cached, (size_t)4 << 20);
  Tensor again = empty({1 << 20});
  EXPECT_EQ(again.raw(), p);  // the cached block came back
  EXPECT_EQ(cpu_alloc_stats().cache_hits, s2.cache_hits + 1);
  EXPECT_EQ(cpu_alloc_stats().cached, 0u);
  Tensor small = empty({10});  // small blocks are not cached, but are 64-byte aligned
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.raw()) % 64, 0u);
}

TEST(Allocator, EmptyCacheReleases) {
  { Tensor t = empty({3 << 18}); }
  EXPECT_GT(cpu_alloc_stats().cached, 0u);
  cpu_empty_cache();
  EXPECT_EQ(cpu_alloc_stats().cached, 0u);
}
