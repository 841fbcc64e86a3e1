// The CUDA device runtime (kernels/cuda/device_runtime.h), the caching allocator
// (kernels/cuda/caching_allocator.h) and the cuBLAS/cuDNN wrappers (kernels/cuda/dnn.h).
// - Simulator build (-DUAD_CUDA_SIM=ON): device memory is host memory, so the allocator's logic
//   (rounding, best fit, split/merge, per-stream free lists, statistics, empty_cache, OOM retry),
//   the pinned staging copies, and the dispatch of gemm/conv (which run on the CPU there:
//   algorithm cache, keys, workspace requests) are all tested here, in CI.
// - CUDA build (-DUAD_CUDA=ON with UAD_HAVE_CUDA_KERNELS=1): the same "device" tests run on a GPU
//   (cuBLAS/cuDNN against independent references and the CPU), plus the CudaRuntimeGpu tests
//   (device detection, stream ordering, allocator on a device, determinism); with no device they
//   skip with the probe's reason. Device detection without a GPU is checked in every build.
#if defined(UAD_CUDA_SIM)
#include "kernels/sim/sim_runtime_api.h"  // first: it defines the CUDA qualifiers
#endif
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda/caching_allocator.h"
#include "kernels/cuda/device_runtime.h"
#include "kernels/cuda/dnn.h"
#include "kernels/cuda/kernels.h"
#include "tensor/device.h"
#include "tensor/error.h"

namespace {

namespace cu = uad::cuda;
using uad::cpu::ConvGeom;
using cu::CachingAllocator;
using cu::DeviceArray;

constexpr size_t KiB = 1024, MiB = 1024 * 1024;

#if defined(UAD_CUDA_SIM)
#define UAD_REQUIRE_DEVICE() \
  do {                       \
  } while (0)
constexpr bool kSim = true;
#else
#define UAD_REQUIRE_DEVICE()                                            \
  do {                                                                  \
    const uad::CudaProbe& p = uad::probe_cuda();                        \
    if (!p.available()) GTEST_SKIP() << "no CUDA device: " << p.reason; \
  } while (0)
constexpr bool kSim = false;
#endif
#define UAD_REQUIRE_GPU()                                               \
  do {                                                                  \
    const uad::CudaProbe& p = uad::probe_cuda();                        \
    if (!p.available()) GTEST_SKIP() << "no CUDA device: " << p.reason; \
  } while (0)

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

/// max |a − b| / max(1, max |b|).
double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0, s = 1;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    m = std::max(m, (double)std::fabs(a[i] - b[i]));
    s = std::max(s, (double)std::fabs(b[i]));
  }
  return m / s;
}

// ================================ caching allocator ===========================================

TEST(CachingAllocator, RoundsTo512Bytes) {
  EXPECT_EQ(CachingAllocator::round_size(0), 512u);
  EXPECT_EQ(CachingAllocator::round_size(1), 512u);
  EXPECT_EQ(CachingAllocator::round_size(512), 512u);
  EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
  EXPECT_EQ(CachingAllocator::round_size(MiB + 1), MiB + 512);
}

TEST(CachingAllocator, FreeThenAllocSameSizeReturnsSameBlock) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  void* p = a.allocate(1000);
  a.deallocate(p);
  void* q = a.allocate(1000);
  EXPECT_EQ(p, q);
  void* big = a.allocate(5 * MiB);
  a.deallocate(big);
  EXPECT_EQ(a.allocate(5 * MiB), big);
  const auto s = a.stats();
  EXPECT_EQ(s.device_mallocs, 2u);
  EXPECT_EQ(s.cache_hits, 2u);
}

TEST(CachingAllocator, ScriptedSequenceHasExactStatistics) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  // A 1000-byte request: a new 2 MiB small segment, split into 1024 used + rest free.
  char* p1 = static_cast<char*>(a.allocate(1000));
  auto s = a.stats();
  EXPECT_EQ(s.in_use, 1024u);
  EXPECT_EQ(s.requested_in_use, 1000u);
  EXPECT_EQ(s.reserved, 2 * MiB);
  EXPECT_EQ(s.cached, 2 * MiB - 1024);
  EXPECT_EQ(s.device_mallocs, 1u);
  EXPECT_EQ(s.splits, 1u);
  EXPECT_EQ(s.cache_hits, 0u);
  // 3000 bytes: served from the remainder, right after p1.
  char* p2 = static_cast<char*>(a.allocate(3000));
  EXPECT_EQ(p2, p1 + 1024);
  EXPECT_EQ(a.block_size(p2), 3072u);
  s = a.stats();
  EXPECT_EQ(s.in_use, 4096u);
  EXPECT_EQ(s.requested_in_use, 4000u);
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_EQ(s.splits, 2u);
  // 3 MiB: a large segment of 4 MiB; the 1 MiB remainder is not > 1 MiB, so not split off.
  void* p3 = a.allocate(3 * MiB);
  EXPECT_EQ(a.block_size(p3), 4 * MiB);
  s = a.stats();
  EXPECT_EQ(s.in_use, 4096 + 4 * MiB);
  EXPECT_EQ(s.reserved, 6 * MiB);
  EXPECT_EQ(s.device_mallocs, 2u);
  EXPECT_EQ(s.segments, 2u);
  EXPECT_EQ(s.splits, 2u);
  // Frees: p1 has a used successor (no merge); p2 merges with both free neighbours.
  a.deallocate(p1);
  EXPECT_EQ(a.stats().merges, 0u);
  a.deallocate(p2);
  s = a.stats();
  EXPECT_EQ(s.merges, 2u);
  EXPECT_EQ(s.in_use, 4 * MiB);
  EXPECT_EQ(s.peak_in_use, 4096 + 4 * MiB);
  EXPECT_EQ(s.frees, 2u);
  EXPECT_EQ(s.allocations, 3u);
  // empty_cache returns the (now whole) small segment but not the live large one.
  EXPECT_EQ(a.empty_cache(), 2 * MiB);
  s = a.stats();
  EXPECT_EQ(s.reserved, 4 * MiB);
  EXPECT_EQ(s.cached, 0u);
  EXPECT_EQ(s.device_frees, 1u);
  EXPECT_EQ(s.segments, 1u);
  a.deallocate(p3);
  EXPECT_EQ(a.stats().cached, 4 * MiB);
  EXPECT_EQ(a.empty_cache(), 4 * MiB);
  s = a.stats();
  EXPECT_EQ(s.reserved, 0u);
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.requested_in_use, 0u);
  EXPECT_EQ(s.device_frees, 2u);
  EXPECT_EQ(s.peak_reserved, 6 * MiB);
  a.reset_peak();
  EXPECT_EQ(a.stats().peak_in_use, 0u);
  EXPECT_EQ(a.stats().peak_reserved, 0u);
}

TEST(CachingAllocator, LargeBlocksSplitByBestFitAndMergeBack) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  char* base = static_cast<char*>(a.allocate(8 * MiB));
  a.deallocate(base);
  char* b = static_cast<char*>(a.allocate(3 * MiB));  // 8 MiB free block, 5 MiB rest > 1 MiB: split
  char* c = static_cast<char*>(a.allocate(2 * MiB));  // from the 5 MiB rest: split again (3 MiB left)
  char* d = static_cast<char*>(a.allocate(3 * MiB));  // exactly the 3 MiB rest
  EXPECT_EQ(b, base);
  EXPECT_EQ(c, base + 3 * MiB);
  EXPECT_EQ(d, base + 5 * MiB);
  EXPECT_EQ(a.block_size(d), 3 * MiB);
  auto s = a.stats();
  EXPECT_EQ(s.device_mallocs, 1u);
  EXPECT_EQ(s.splits, 2u);
  EXPECT_EQ(s.in_use, 8 * MiB);
  a.deallocate(b);
  a.deallocate(d);
  a.deallocate(c);  // merges with both neighbours: one free 8 MiB block again
  EXPECT_EQ(a.stats().merges, 2u);
  EXPECT_EQ(a.allocate(8 * MiB), base);
  EXPECT_EQ(a.stats().device_mallocs, 1u);

  // Best fit: free blocks of 4 and 6 MiB (two segments); 3 MiB goes to the 4 MiB one.
  CachingAllocator a2;
  void* x = a2.allocate(4 * MiB);
  void* y = a2.allocate(6 * MiB);
  a2.deallocate(y);
  a2.deallocate(x);
  EXPECT_EQ(a2.allocate(3 * MiB), x);
  EXPECT_EQ(a2.allocate(5 * MiB), y);
  EXPECT_EQ(a2.stats().device_mallocs, 2u);
}

TEST(CachingAllocator, SmallAndLargePoolsAreSeparate) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  void* big = a.allocate(4 * MiB);
  a.deallocate(big);
  void* small = a.allocate(4 * KiB);  // never carved out of the large pool
  EXPECT_NE(small, big);
  EXPECT_EQ(a.stats().device_mallocs, 2u);
  EXPECT_EQ(a.stats().reserved, 6 * MiB);
}

TEST(CachingAllocator, FreeListsArePerStream) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  cu::Stream s1, s2;
  void* p = a.allocate(1000, s1.get());
  a.deallocate(p);
  void* q = a.allocate(1000, s2.get());  // another stream: not the cached block
  EXPECT_NE(q, p);
  EXPECT_EQ(a.stats().device_mallocs, 2u);
  EXPECT_EQ(a.allocate(1000, s1.get()), p);  // its own stream: the cached block
  void* r = a.allocate(1000, nullptr);       // the legacy default stream is a stream of its own
  EXPECT_NE(r, p);
  EXPECT_NE(r, q);
  EXPECT_EQ(a.stats().device_mallocs, 3u);
  EXPECT_EQ(a.stats().cache_hits, 1u);
}

TEST(CachingAllocator, OutOfMemoryReleasesTheCacheAndRetries) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  a.set_limit(4 * MiB);
  void* big = a.allocate(3 * MiB);  // a 4 MiB segment
  a.deallocate(big);                // cached
  void* small = a.allocate(1000);   // a 2 MiB segment would exceed the limit: release, retry
  auto s = a.stats();
  EXPECT_EQ(s.oom_retries, 1u);
  EXPECT_EQ(s.device_frees, 1u);
  EXPECT_EQ(s.reserved, 2 * MiB);
  // Now nothing is releasable (the small segment is in use): a second 4 MiB segment fails.
  try {
    a.allocate(3 * MiB);
    FAIL() << "expected an out-of-memory error";
  } catch (const uad::Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of memory"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3145728 bytes"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.stats().oom_retries, 2u);
  a.deallocate(small);
  a.set_limit(0);
  EXPECT_NO_THROW(a.deallocate(a.allocate(3 * MiB)));
}

TEST(CachingAllocator, RejectsForeignAndDoubleFrees) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  void* p = a.allocate(100);
  int local = 0;
  EXPECT_THROW(a.deallocate(&local), uad::Error);
  a.deallocate(p);
  EXPECT_THROW(a.deallocate(p), uad::Error);
  EXPECT_THROW(a.block_size(p), uad::Error);
  EXPECT_NO_THROW(a.deallocate(nullptr));
  EXPECT_NE(a.describe().find("segment"), std::string::npos);
}

TEST(CachingAllocator, BlocksHoldDataAndAreAligned) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  std::vector<void*> ps;
  for (size_t n : {size_t(1), size_t(700), size_t(5000), 2 * MiB + 3}) {
    void* p = a.allocate(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 256, 0u);
    std::vector<uint8_t> h(n), back(n);
    for (size_t i = 0; i < n; ++i) h[i] = (uint8_t)(i * 7 + n);
    cu::copy_to_device(p, h.data(), n);
    cu::copy_to_host(back.data(), p, n);
    EXPECT_EQ(h, back);
    ps.push_back(p);
  }
  for (void* p : ps) a.deallocate(p);
}

TEST(CachingAllocator, ConcurrentUseKeepsStatisticsConsistent) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  auto work = [&](uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<void*> live;
    for (int i = 0; i < 400; ++i) {
      if (!live.empty() && rng() % 2) {
        const size_t k = rng() % live.size();
        a.deallocate(live[k]);
        live.erase(live.begin() + k);
      } else {
        live.push_back(a.allocate(rng() % 3 ? rng() % 20000 : MiB + rng() % (3 * MiB)));
      }
    }
    for (void* p : live) a.deallocate(p);
  };
  std::thread t1(work, 1), t2(work, 2);
  t1.join();
  t2.join();
  const auto s = a.stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.allocations, s.frees);
  EXPECT_EQ(s.cached, s.reserved);
  a.empty_cache();  // every segment merged back into one free block
  EXPECT_EQ(a.stats().reserved, 0u);
  EXPECT_EQ(a.stats().segments, 0u);
}

TEST(CachingAllocator, CachingOffAllocatesExactBlocks) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  void* cached = a.allocate(1000);
  a.deallocate(cached);
  a.set_caching(false);  // releases the cached segment
  EXPECT_FALSE(a.caching());
  EXPECT_EQ(a.stats().reserved, 0u);
  void* p = a.allocate(1000);
  EXPECT_EQ(a.block_size(p), 1000u);  // exact: a sanitizer sees byte 1000 as out of bounds
  EXPECT_EQ(a.stats().reserved, 1000u);
  a.deallocate(p);
  void* q = a.allocate(1000);
  a.deallocate(q);
  const auto s = a.stats();
  EXPECT_EQ(s.device_mallocs, 3u);
  EXPECT_EQ(s.device_frees, 3u);
  EXPECT_EQ(s.cache_hits, 0u);
  EXPECT_EQ(s.reserved, 0u);
  EXPECT_EQ(s.in_use, 0u);
  a.set_caching(true);
  void* r = a.allocate(1000);
  a.deallocate(r);
  EXPECT_EQ(a.allocate(1000), r);
}

TEST(CachingAllocator, DeviceBlockReturnsItsMemory) {
  UAD_REQUIRE_DEVICE();
  CachingAllocator a;
  {
    cu::DeviceBlock b(a, 10000);
    EXPECT_NE(b.get(), nullptr);
    EXPECT_EQ(a.stats().in_use, 10240u);
    cu::DeviceBlock moved = std::move(b);
    EXPECT_EQ(b.get(), nullptr);
  }
  EXPECT_EQ(a.stats().in_use, 0u);
  EXPECT_EQ(a.stats().frees, 1u);
}

// ================================ device runtime ==============================================

TEST(CudaRuntime, DeviceDetectionAgreesWithTheProbe) {
  // Runs in every build: without a GPU (these machines) the count is 0 and the reason names
  // cudaGetDeviceCount's error; the simulator reports its one device.
  std::string reason;
  const int n = cu::device_count(&reason);
  if (kSim) {
    EXPECT_EQ(n, 1);
    const cu::DeviceInfo d = cu::device_info(0);
    EXPECT_EQ(d.name, "uad CUDA simulator");
    EXPECT_EQ(d.major, 8);
    EXPECT_EQ(d.warp_size, 32);
    EXPECT_EQ(d.max_threads_per_block, 1024);
  } else if (n == 0) {
    EXPECT_FALSE(uad::probe_cuda().available());
    EXPECT_FALSE(reason.empty());
    EXPECT_THROW(cu::device_info(0), uad::Error);
  } else {
    EXPECT_EQ(n, uad::probe_cuda().device_count);
  }
  EXPECT_THROW(cu::device_info(-1), uad::Error);
}

TEST(CudaRuntime, CurrentStreamIsPerThreadAndRestoredByTheGuard) {
  UAD_REQUIRE_DEVICE();
  EXPECT_EQ(cu::current_stream(), nullptr);
  cu::Stream s;
  ASSERT_NE(s.get(), nullptr);
  {
    cu::StreamGuard g(s.get());
    EXPECT_EQ(cu::current_stream(), s.get());
    void* other = reinterpret_cast<void*>(1);
    std::thread([&] { other = cu::current_stream(); }).join();
    EXPECT_EQ(other, nullptr);
    {
      cu::StreamGuard g2(nullptr);
      EXPECT_EQ(cu::current_stream(), nullptr);
    }
    EXPECT_EQ(cu::current_stream(), s.get());
  }
  EXPECT_EQ(cu::current_stream(), nullptr);
  s.synchronize();
  EXPECT_TRUE(s.query());
  cu::Stream moved = std::move(s);
  EXPECT_EQ(s.get(), nullptr);
  EXPECT_NE(moved.get(), nullptr);
}

TEST(CudaRuntime, EventsMeasureElapsedTime) {
  UAD_REQUIRE_DEVICE();
  cu::Event a, b;
  EXPECT_THROW(cu::Event::elapsed_ms(a, b), uad::Error);
  cu::Stream s;
  a.record(s.get());
  std::this_thread::sleep_for(std::chrono::milliseconds(kSim ? 5 : 0));
  b.record(s.get());
  b.synchronize();
  const float ms = cu::Event::elapsed_ms(a, b);
  EXPECT_GE(ms, kSim ? 4.0f : 0.0f);
  EXPECT_LT(ms, 10000.0f);
  { cu::NvtxRange r("test range"); }
}

TEST(CudaRuntime, StagedCopiesRoundTripAroundTheChunkBoundary) {
  UAD_REQUIRE_DEVICE();
  const size_t saved = cu::staging_chunk_bytes();
  EXPECT_EQ(saved, 4 * MiB);
  EXPECT_THROW(cu::set_staging_chunk_bytes(0), uad::Error);
  const size_t chunk = 4096;
  cu::set_staging_chunk_bytes(chunk);
  cu::Stream stream;
  for (size_t n : {size_t(1), chunk - 1, chunk, chunk + 1, 2 * chunk, 2 * chunk + 1, 3 * chunk + 5}) {
    std::vector<uint8_t> h(n), back(n, 0);
    for (size_t i = 0; i < n; ++i) h[i] = (uint8_t)(i * 131 + 7 + n);
    DeviceArray<uint8_t> d(n);
    const auto before = cu::staging_stats();
    cu::copy_to_device_staged(d.data(), h.data(), n, stream.get());
    cu::copy_to_host_staged(back.data(), d.data(), n, stream.get());
    EXPECT_EQ(back, h) << n << " bytes";
    EXPECT_EQ(d.to_host(), h) << n << " bytes (read back unstaged)";
    const auto after = cu::staging_stats();
    EXPECT_EQ(after.chunks - before.chunks, 2 * ((n + chunk - 1) / chunk)) << n << " bytes";
    EXPECT_EQ(after.copies - before.copies, 2u);
    EXPECT_EQ(after.bytes - before.bytes, 2 * n);
  }
  // The default stream works too; zero bytes is a no-op; null pointers are errors.
  std::vector<float> f = random_floats(3000, 5), g(3000);
  DeviceArray<float> df(f.size());
  cu::copy_to_device_staged(df.data(), f.data(), f.size() * 4);
  cu::copy_to_host_staged(g.data(), df.data(), g.size() * 4);
  EXPECT_EQ(f, g);
  EXPECT_NO_THROW(cu::copy_to_device_staged(nullptr, nullptr, 0));
  EXPECT_THROW(cu::copy_to_device_staged(df.data(), nullptr, 4), uad::Error);
  const uint64_t pinned = cu::staging_stats().pinned_allocations;
  cu::set_staging_chunk_bytes(saved);  // frees the buffers; the next copy reallocates both
  cu::copy_to_device_staged(df.data(), f.data(), 4);
  EXPECT_EQ(cu::staging_stats().pinned_allocations, pinned + 2);
  cu::release_staging();
}

// ================================ gemm / conv dispatch ========================================

/// Independent reference: C = alpha·op(A)·op(B) + beta·C by the definition, in double.
std::vector<float> naive_gemm(bool ta, bool tb, int M, int N, int K, float alpha, const std::vector<float>& A, int lda,
                              const std::vector<float>& B, int ldb, float beta, std::vector<float> C, int ldc) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k) s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] = (float)(alpha * s + beta * C[i * ldc + j]);
    }
  return C;
}

void check_gemm(bool ta, bool tb, int M, int N, int K, float alpha, float beta, int pad) {
  const int lda = std::max(ta ? M : K, 1) + pad, ldb = std::max(tb ? K : N, 1) + pad, ldc = std::max(N, 1) + pad;
  const auto A = random_floats((size_t)(ta ? K : M) * lda, 1), B = random_floats((size_t)(tb ? N : K) * ldb, 2),
             C = random_floats((size_t)std::max(M, 1) * ldc, 3);
  DeviceArray<float> dA(A), dB(B), dC(C);
  cu::gemm(ta, tb, M, N, K, alpha, dA.data(), lda, dB.data(), ldb, beta, dC.data(), ldc);
  const std::vector<float> got = dC.to_host();
  std::vector<float> cpu = C;
  uad::cpu::gemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, cpu.data(), ldc);
  const std::string what = "ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " M=" + std::to_string(M) +
                           " N=" + std::to_string(N) + " K=" + std::to_string(K);
  EXPECT_LT(rel_err(got, naive_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)), 1e-5) << what;
  if (kSim)
    EXPECT_EQ(got, cpu) << what;  // the simulator runs the CPU kernel itself
  else
    EXPECT_LT(rel_err(got, cpu), 1e-5) << what;
}

TEST(CudaDnn, GemmMatchesTheDefinitionAndTheCpu) {
  UAD_REQUIRE_DEVICE();
  cu::reset_dnn_stats();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_gemm(ta, tb, 7, 5, 3, 1.f, 0.f, 0);
      check_gemm(ta, tb, 33, 17, 65, 0.5f, -2.f, 3);
    }
  check_gemm(false, false, 4, 6, 0, 1.f, 0.5f, 0);  // K = 0: C = beta·C
  check_gemm(false, false, 0, 6, 4, 1.f, 0.5f, 0);  // M = 0: nothing
  EXPECT_EQ(cu::dnn_stats().gemm_calls, 10u);
  EXPECT_EQ(cu::dnn_stats().cpu_routed, kSim ? 10u : 0u);
  EXPECT_EQ(cu::dnn_runs_on_cpu(), kSim);
}

TEST(CudaDnn, GemmRejectsBadArguments) {
  UAD_REQUIRE_DEVICE();
  DeviceArray<float> d(64);
  EXPECT_THROW(cu::gemm(false, false, 4, 4, 4, 1.f, d.data(), 3, d.data(), 4, 0.f, d.data(), 4), uad::Error);  // lda < K
  EXPECT_THROW(cu::gemm(false, true, 4, 4, 4, 1.f, d.data(), 4, d.data(), 4, 0.f, d.data(), 3), uad::Error);   // ldc < N
  EXPECT_THROW(cu::gemm(false, false, -1, 4, 4, 1.f, d.data(), 4, d.data(), 4, 0.f, d.data(), 4), uad::Error);
  EXPECT_THROW(cu::gemm(false, false, int64_t(1) << 31, 1, 1, 1.f, d.data(), 1, d.data(), 1, 0.f, d.data(), 1), uad::Error);
}

/// Geometry with `out` from PyTorch's formula ⌊(in + 2p − d(k−1) − 1)/s⌋ + 1.
ConvGeom geom(int nd, int64_t N, int64_t Cin, int64_t Cout, std::vector<int64_t> in, std::vector<int64_t> k,
              std::vector<int64_t> stride, std::vector<int64_t> pad, std::vector<int64_t> dil) {
  ConvGeom g;
  g.nd = nd;
  g.N = N;
  g.Cin = Cin;
  g.Cout = Cout;
  const int o = 3 - nd;
  for (int d = 0; d < nd; ++d) {
    g.in[o + d] = in[d];
    g.k[o + d] = k[d];
    g.stride[o + d] = stride[d];
    g.pad[o + d] = pad[d];
    g.dil[o + d] = dil[d];
    g.out[o + d] = (in[d] + 2 * pad[d] - dil[d] * (k[d] - 1) - 1) / stride[d] + 1;
  }
  return g;
}

/// Independent reference of the forward convolution: the definition, in double.
std::vector<float> naive_conv(const ConvGeom& g, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b) {
  std::vector<float> y((size_t)(g.N * g.Cout * g.out_size()));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t co = 0; co < g.Cout; ++co)
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            double s = b.empty() ? 0.0 : b[co];
            for (int64_t ci = 0; ci < g.Cin; ++ci)
              for (int64_t kd = 0; kd < g.k[0]; ++kd)
                for (int64_t kh = 0; kh < g.k[1]; ++kh)
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0], ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1],
                                  iw = ow * g.stride[2] - g.pad[2] + kw * g.dil[2];
                    if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2]) continue;
                    s += (double)x[(((n * g.Cin + ci) * g.in[0] + id) * g.in[1] + ih) * g.in[2] + iw] *
                         w[(((co * g.Cin + ci) * g.k[0] + kd) * g.k[1] + kh) * g.k[2] + kw];
                  }
            y[(((n * g.Cout + co) * g.out[0] + od) * g.out[1] + oh) * g.out[2] + ow] = (float)s;
          }
  return y;
}

/// The three directions on the device against the CPU kernels (and forward against the definition).
void check_conv(const ConvGeom& g, bool with_bias, double tol) {
  const size_t nx = (size_t)(g.N * g.Cin * g.in_size()), nw = (size_t)(g.Cout * g.Cin * g.k_size()),
               ny = (size_t)(g.N * g.Cout * g.out_size());
  const auto x = random_floats(nx, 11), w = random_floats(nw, 12), gy = random_floats(ny, 13);
  const auto by = with_bias ? random_floats((size_t)g.Cout, 14) : std::vector<float>();
  const auto bx = with_bias ? random_floats((size_t)g.Cin, 15) : std::vector<float>();
  DeviceArray<float> dx(x), dw(w), dgy(gy), dy(ny), dgx(nx), dgw(nw), dby(with_bias ? by : std::vector<float>{0.f}),
      dbx(with_bias ? bx : std::vector<float>{0.f});
  cu::conv_forward(g, dx.data(), dw.data(), with_bias ? dby.data() : nullptr, dy.data());
  cu::conv_backward_data(g, dgy.data(), dw.data(), with_bias ? dbx.data() : nullptr, dgx.data());
  cu::conv_backward_filter(g, dx.data(), dgy.data(), dgw.data());
  std::vector<float> y(ny), gx(nx), gw(nw);
  uad::cpu::conv_forward(g, x.data(), w.data(), with_bias ? by.data() : nullptr, y.data());
  uad::cpu::conv_backward_input(g, gy.data(), w.data(), with_bias ? bx.data() : nullptr, gx.data());
  uad::cpu::conv_backward_weight(g, x.data(), gy.data(), gw.data());
  EXPECT_LT(rel_err(dy.to_host(), naive_conv(g, x, w, by)), 1e-5) << "forward vs definition";
  EXPECT_LE(rel_err(dy.to_host(), y), tol) << "forward";
  EXPECT_LE(rel_err(dgx.to_host(), gx), tol) << "backward data";
  EXPECT_LE(rel_err(dgw.to_host(), gw), tol) << "backward filter";
}

TEST(CudaDnn, Conv2dAndConv3dMatchTheCpu) {
  UAD_REQUIRE_DEVICE();
  const double tol = kSim ? 0.0 : 1e-5;
  check_conv(geom(2, 2, 3, 4, {9, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1}), true, tol);
  check_conv(geom(2, 1, 2, 3, {11, 10}, {3, 2}, {2, 3}, {2, 0}, {2, 1}), false, tol);
  check_conv(geom(2, 2, 4, 2, {5, 5}, {1, 1}, {1, 1}, {0, 0}, {1, 1}), true, tol);  // pointwise
  check_conv(geom(3, 2, 2, 3, {6, 7, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}), true, tol);
  check_conv(geom(3, 1, 3, 2, {9, 8, 7}, {3, 2, 3}, {2, 1, 2}, {1, 0, 2}, {1, 2, 2}), false, tol);
}

TEST(CudaDnn, ConvRejectsBadGeometry) {
  UAD_REQUIRE_DEVICE();
  DeviceArray<float> d(4096);
  ConvGeom g = geom(2, 1, 1, 1, {4, 4}, {3, 3}, {1, 1}, {0, 0}, {1, 1});
  g.nd = 4;
  EXPECT_THROW(cu::conv_forward(g, d.data(), d.data(), nullptr, d.data()), uad::Error);
  g = geom(2, 1, 1, 1, {4, 4}, {3, 3}, {1, 1}, {0, 0}, {1, 1});
  g.stride[2] = 0;
  try {
    cu::conv_backward_filter(g, d.data(), d.data(), d.data());
    FAIL() << "expected an error";
  } catch (const uad::Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv_backward_filter"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x[1,1,4,4]"), std::string::npos) << e.what();
  }
}

TEST(CudaDnn, DescriptorsAcceptPyTorchOutputSizes) {
  // Runs in every build: cuDNN's descriptor calls need no GPU, so on these machines the CUDA
  // build checks its descriptors (2-D and 3-D, stride/padding/dilation) against cuDNN's own
  // output-size formula; the simulator build checks only the geometry.
  const std::vector<ConvGeom> gs = {
      geom(2, 2, 3, 4, {9, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      geom(2, 1, 2, 3, {11, 10}, {3, 2}, {2, 3}, {2, 0}, {2, 1}),
      geom(3, 2, 2, 3, {6, 7, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
      geom(3, 1, 3, 2, {9, 8, 7}, {3, 2, 3}, {2, 1, 2}, {1, 0, 2}, {1, 2, 2}),
      geom(3, 4, 16, 32, {64, 64, 64}, {4, 4, 4}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}),
  };
  for (const ConvGeom& g : gs) EXPECT_NO_THROW(cu::check_conv_descriptors(g));
  ConvGeom bad = gs[3];
  bad.out[1] += 1;
  if (!kSim) {
    try {
      cu::check_conv_descriptors(bad);
      ADD_FAILURE() << "expected cuDNN's output size to disagree";
    } catch (const uad::Error& e) {
      EXPECT_NE(std::string(e.what()).find("disagrees with cuDNN's output size (dim 3"), std::string::npos) << e.what();
    }
  }
  bad.pad[0] = -1;
  EXPECT_THROW(cu::check_conv_descriptors(bad), uad::Error);
}

TEST(CudaDnn, AlgorithmCacheKeysDistinguishEveryField) {
  UAD_REQUIRE_DEVICE();
  cu::set_deterministic(false);
  cu::set_allow_tf32(false);
  const ConvGeom g = geom(3, 2, 3, 4, {8, 8, 8}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1});
  const cu::ConvKey k = cu::conv_key(cu::ConvDir::forward, g);
  const cu::ConvKeyHash hash;
  EXPECT_EQ(k, cu::conv_key(cu::ConvDir::forward, g));
  EXPECT_EQ(hash(k), hash(cu::conv_key(cu::ConvDir::forward, g)));
  EXPECT_EQ(k.dtype, (uint8_t)uad::DType::f32);
  EXPECT_EQ(k.groups, 1);
  EXPECT_NE(k, cu::conv_key(cu::ConvDir::backward_data, g));
  EXPECT_NE(k, cu::conv_key(cu::ConvDir::backward_filter, g));
  // Each geometry field on each axis changes the key.
  for (int d = 0; d < 3; ++d)
    for (int f = 0; f < 6; ++f) {
      ConvGeom h = g;
      int64_t* fields[] = {h.in, h.k, h.out, h.stride, h.pad, h.dil};
      fields[f][d] += 1;
      const cu::ConvKey kh = cu::conv_key(cu::ConvDir::forward, h);
      EXPECT_NE(k, kh) << "field " << f << " axis " << d;
      EXPECT_NE(hash(k), hash(kh)) << "field " << f << " axis " << d;
    }
  for (int f = 0; f < 3; ++f) {
    ConvGeom h = g;
    int64_t* fields[] = {&h.N, &h.Cin, &h.Cout};
    *fields[f] += 1;
    EXPECT_NE(k, cu::conv_key(cu::ConvDir::forward, h)) << "size field " << f;
  }
  ConvGeom h2 = g;
  h2.nd = 2;
  EXPECT_NE(k, cu::conv_key(cu::ConvDir::forward, h2));
  cu::set_deterministic(true);
  EXPECT_NE(k, cu::conv_key(cu::ConvDir::forward, g));
  cu::set_deterministic(false);
  cu::set_allow_tf32(true);
  EXPECT_NE(k, cu::conv_key(cu::ConvDir::forward, g));
  cu::set_allow_tf32(false);
  // Equal 2-D geometries built separately give equal keys (neutral depth entries).
  EXPECT_EQ(cu::conv_key(cu::ConvDir::forward, geom(2, 1, 2, 3, {5, 6}, {3, 3}, {1, 2}, {1, 0}, {1, 1})),
            cu::conv_key(cu::ConvDir::forward, geom(2, 1, 2, 3, {5, 6}, {3, 3}, {1, 2}, {1, 0}, {1, 1})));
}

TEST(CudaDnn, AlgorithmIsChosenOncePerKeyAndWorkspaceComesFromTheAllocator) {
  UAD_REQUIRE_DEVICE();
  cu::set_deterministic(false);
  cu::clear_conv_algo_cache();
  cu::reset_dnn_stats();
  const ConvGeom g = geom(2, 2, 3, 4, {10, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  const size_t nx = (size_t)(g.N * g.Cin * g.in_size()), nw = (size_t)(g.Cout * g.Cin * g.k_size()),
               ny = (size_t)(g.N * g.Cout * g.out_size());
  DeviceArray<float> x(random_floats(nx, 1)), w(random_floats(nw, 2)), y(ny);
  cu::CachingAllocator& alloc = cu::device_allocator(cu::current_device());
  const auto before = alloc.stats();
  cu::conv_forward(g, x.data(), w.data(), nullptr, y.data());
  const auto mid = alloc.stats();
  cu::conv_forward(g, x.data(), w.data(), nullptr, y.data());
  auto s = cu::dnn_stats();
  EXPECT_EQ(s.conv_calls, 2u);
  EXPECT_EQ(s.algo_searches, 1u);
  EXPECT_EQ(s.algo_cache_hits, 1u);
  EXPECT_EQ(cu::conv_algo_cache_size(), 1u);
  cu::ConvAlgo a;
  ASSERT_TRUE(cu::cached_conv_algo(cu::conv_key(cu::ConvDir::forward, g), &a));
  EXPECT_FALSE(cu::cached_conv_algo(cu::conv_key(cu::ConvDir::backward_data, g), nullptr));
  if (kSim && alloc.caching()) {  // (UAD_CUDA_NO_CACHING=1 turns the reuse off)
    // The simulated algorithm's workspace: one sample's im2col columns, Cin·k·out floats.
    EXPECT_EQ(a.algo, 0);
    EXPECT_EQ(a.workspace, size_t(3 * 9 * 10 * 9) * 4);
    EXPECT_EQ(s.workspace_requests, 2u);
    EXPECT_EQ(s.max_workspace, a.workspace);
    EXPECT_EQ(alloc.stats().allocations - before.allocations, 2u);
    EXPECT_EQ(alloc.stats().cache_hits - mid.cache_hits, 1u);  // the second call reuses the first's block
    EXPECT_EQ(alloc.stats().device_mallocs, mid.device_mallocs);
  }
  EXPECT_EQ(alloc.stats().in_use, before.in_use);  // the workspace went back to the allocator
  // Another stride, the deterministic flag, another direction: new searches.
  const ConvGeom g2 = geom(2, 2, 3, 4, {10, 9}, {3, 3}, {2, 1}, {1, 1}, {1, 1});
  DeviceArray<float> y2((size_t)(g2.N * g2.Cout * g2.out_size()));
  cu::conv_forward(g2, x.data(), w.data(), nullptr, y2.data());
  cu::set_deterministic(true);
  cu::conv_forward(g, x.data(), w.data(), nullptr, y.data());
  cu::set_deterministic(false);
  DeviceArray<float> gx(nx);
  cu::conv_backward_data(g, y.data(), w.data(), nullptr, gx.data());
  s = cu::dnn_stats();
  EXPECT_EQ(s.algo_searches, 4u);
  EXPECT_EQ(cu::conv_algo_cache_size(), 4u);
  // A pointwise convolution needs no workspace in the simulator (it is one GEMM per sample).
  if (kSim) {
    cu::reset_dnn_stats();
    const ConvGeom p = geom(2, 1, 3, 2, {4, 4}, {1, 1}, {1, 1}, {0, 0}, {1, 1});
    DeviceArray<float> py((size_t)(p.Cout * p.out_size()));
    cu::conv_forward(p, x.data(), w.data(), nullptr, py.data());
    EXPECT_EQ(cu::dnn_stats().workspace_requests, 0u);
    EXPECT_GE(cu::dnn_stats().cpu_routed, 1u);
  }
  cu::clear_conv_algo_cache();
  EXPECT_EQ(cu::conv_algo_cache_size(), 0u);
}

// ================================ real GPU only ===============================================

TEST(CudaRuntimeGpu, DeviceIsDetectedWithItsProperties) {
  UAD_REQUIRE_GPU();
  EXPECT_GE(cu::device_count(), 1);
  const cu::DeviceInfo d = cu::device_info(0);
  EXPECT_FALSE(d.name.empty());
  EXPECT_GE(d.major, 7);
  EXPECT_GT(d.total_memory, 0u);
  const cu::MemInfo m = cu::memory_info();
  EXPECT_GT(m.total, 0u);
  EXPECT_LE(m.free, m.total);
}

TEST(CudaRuntimeGpu, StreamsOrderWorkThroughEvents) {
  UAD_REQUIRE_GPU();
  // y = −x on stream 1; stream 2 waits for it through an event, then copies y back.
  const size_t n = size_t(1) << 22;
  const auto x = random_floats(n, 3);
  DeviceArray<float> dx(x), dy(n);
  cu::Stream s1, s2;
  cu::Event done;
  cu::unary(cu::UnaryOp::neg, uad::DType::f32, dx.data(), {1}, dy.data(), {(int64_t)n}, {}, s1.get());
  done.record(s1.get());
  done.block(s2.get());
  std::vector<float> y(n);
  cu::copy_to_host_staged(y.data(), dy.data(), n * 4, s2.get());
  for (size_t i = 0; i < n; i += 997) ASSERT_EQ(y[i], -x[i]) << i;
}

TEST(CudaRuntimeGpu, AllocatorWorksOnTheDevice) {
  UAD_REQUIRE_GPU();
  cu::CachingAllocator& a = cu::device_allocator(0);
  const auto before = a.stats();
  cu::Stream s;
  void* p = a.allocate(3 * MiB, s.get());
  std::vector<uint8_t> h(3 * MiB, 7), back(3 * MiB);
  cu::copy_to_device_staged(p, h.data(), h.size(), s.get());
  cu::copy_to_host_staged(back.data(), p, back.size(), s.get());
  EXPECT_EQ(h, back);
  a.deallocate(p);
  EXPECT_EQ(a.allocate(3 * MiB, s.get()), p);
  a.deallocate(p);
  EXPECT_EQ(a.stats().in_use, before.in_use);
  EXPECT_GE(a.empty_cache(), 4 * MiB);
}

TEST(CudaRuntimeGpu, LargerGemmAndConvMatchTheCpuAndDeterministicModeRepeats) {
  UAD_REQUIRE_GPU();
  check_gemm(false, true, 300, 200, 500, 1.f, 0.f, 0);
  check_gemm(true, false, 129, 257, 63, 2.f, 1.f, 1);
  check_conv(geom(2, 4, 16, 32, {64, 64}, {3, 3}, {1, 1}, {1, 1}, {1, 1}), true, 1e-4);
  check_conv(geom(3, 2, 8, 16, {24, 24, 24}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}), true, 1e-4);
  cu::set_deterministic(true);
  const ConvGeom g = geom(3, 2, 8, 8, {16, 16, 16}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1});
  DeviceArray<float> x(random_floats((size_t)(g.N * g.Cin * g.in_size()), 1)), gy(random_floats((size_t)(g.N * g.Cout * g.out_size()), 2)),
      gw1((size_t)(g.Cout * g.Cin * g.k_size())), gw2((size_t)(g.Cout * g.Cin * g.k_size()));
  cu::conv_backward_filter(g, x.data(), gy.data(), gw1.data());
  cu::conv_backward_filter(g, x.data(), gy.data(), gw2.data());
  cu::set_deterministic(false);
  EXPECT_EQ(gw1.to_host(), gw2.to_host());
}

}  // namespace
