// The device runtime's host-side costs: the caching allocator's allocate+deallocate pair (cache hit,
// the steady state of a training step) against a plain cudaMalloc+cudaFree pair, and staged
// host↔device copies. Under the simulator device memory is host memory, so the allocator numbers
// are its real bookkeeping cost (the same code runs on a GPU, where cudaMalloc/cudaFree instead
// cost ~µs–ms and cudaFree synchronises the device) and the copy numbers are two memcpys.
// Built in the simulator build (-DUAD_CUDA_SIM=ON), or in the CUDA build with
// UAD_HAVE_CUDA_KERNELS=1 (then the copies measure PCIe through pinned staging); elsewhere the
// binary says so and exits.
//   ./bench_sim_runtime --benchmark_min_time=0.05
#if defined(UAD_CUDA_SIM) || defined(UAD_HAVE_CUDA_KERNELS)
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cuda/caching_allocator.h"
#include "kernels/cuda/device_runtime.h"
#include "kernels/cuda/kernels.h"

namespace {

namespace cu = uad::cuda;

/// allocate + deallocate of arg bytes, served from the cache after the first iteration.
void BM_AllocatorHit(benchmark::State& st) {
  cu::CachingAllocator a;
  const size_t n = (size_t)st.range(0);
  void* keep = a.allocate(n);  // a live neighbour, so the freed block merges only on one side
  for (auto _ : st) {
    void* p = a.allocate(n);
    benchmark::DoNotOptimize(p);
    a.deallocate(p);
  }
  a.deallocate(keep);
  st.counters["cache_hits"] = (double)a.stats().cache_hits;
}
BENCHMARK(BM_AllocatorHit)->Arg(4 << 10)->Arg(1 << 20)->Arg(64 << 20);

/// Several live blocks of mixed sizes: best-fit search among many free blocks.
void BM_AllocatorMixed(benchmark::State& st) {
  cu::CachingAllocator a;
  std::vector<void*> live;
  const size_t sizes[] = {512, 3000, 70000, 1 << 20, 3 << 20, 700, 9000, 5 << 20};
  for (auto _ : st) {
    for (size_t s : sizes) live.push_back(a.allocate(s));
    for (void* p : live) a.deallocate(p);
    live.clear();
  }
  st.SetItemsProcessed(st.iterations() * 8);
}
BENCHMARK(BM_AllocatorMixed);

/// cudaMalloc + cudaFree of arg bytes (kernels/cuda/kernels.h's thin wrappers), for comparison.
void BM_RawMallocFree(benchmark::State& st) {
  const size_t n = (size_t)st.range(0);
  for (auto _ : st) {
    void* p = cu::device_alloc(n);
    benchmark::DoNotOptimize(p);
    cu::device_free(p);
  }
}
BENCHMARK(BM_RawMallocFree)->Arg(4 << 10)->Arg(1 << 20)->Arg(64 << 20);

/// Host → device → host through the pinned staging buffers (4 MiB chunks), arg bytes each way.
void BM_StagedRoundTrip(benchmark::State& st) {
  const size_t n = (size_t)st.range(0);
  std::vector<char> h(n, 1), back(n);
  cu::DeviceArray<char> d(n);
  for (auto _ : st) {
    cu::copy_to_device_staged(d.data(), h.data(), n);
    cu::copy_to_host_staged(back.data(), d.data(), n);
  }
  st.SetBytesProcessed(st.iterations() * (int64_t)n * 2);
}
BENCHMARK(BM_StagedRoundTrip)->Arg(1 << 20)->Arg(32 << 20);

}  // namespace

BENCHMARK_MAIN();
#else
#include <cstdio>
int main() {
  std::puts("bench_sim_runtime: built without the CUDA simulator or the CUDA kernels (configure with -DUAD_CUDA_SIM=ON)");
  return 0;
}
#endif
