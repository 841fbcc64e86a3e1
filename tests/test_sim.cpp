// Self-tests of the CUDA simulator (kernels/sim/): barriers, warp operations, shared memory poison,
// misuse reported as launch errors (never a hang), thread-order shuffling, AddressSanitizer on
// device memory. The kernels below are ordinary CUDA, written once for nvcc and the simulator.
// Built for real only with -DUAD_CUDA_SIM=ON (the CPU build compiles a single skipped test).
#include <gtest/gtest.h>

#if defined(UAD_CUDA_SIM)
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "tensor/error.h"

using uad::cuda::DeviceArray;
using uad::cuda::launch;

namespace {

// ---------------- kernels ----------------

/// Classic shared-memory tree: __syncthreads inside a loop.
template <int BS> __global__ void tree_sum_kernel(const float* x, int n, float* out) {
  __shared__ float s[BS];
  const int t = threadIdx.x, i = blockIdx.x * BS + t;
  s[t] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (int stride = BS / 2; stride > 0; stride >>= 1) {
    if (t < stride) s[t] += s[t + stride];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

/// Every warp intrinsic; out has 10 values per thread.
__global__ void warp_ops_kernel(int* out) {
  const int t = threadIdx.x, lane = t & 31;
  int* o = out + t * 10;
  int v = t + 1;
  int r = v;
  for (int off = 16; off > 0; off >>= 1) r += __shfl_down_sync(0xffffffffu, r, off);
  o[0] = r;  // lane 0: warp sum
  int x = v;
  for (int m = 16; m > 0; m >>= 1) x += __shfl_xor_sync(0xffffffffu, x, m);
  o[1] = x;  // every lane: warp sum
  o[2] = __shfl_sync(0xffffffffu, v, 5);   // broadcast lane 5
  o[3] = __shfl_sync(0xffffffffu, v, lane + 33);  // srcLane mod 32: lane+1 (wraps)
  int scan = v;
  for (int d = 1; d < 32; d <<= 1) {
    const int y = __shfl_up_sync(0xffffffffu, scan, d);
    if (lane >= d) scan += y;
  }
  o[4] = scan;  // inclusive prefix sum within the warp
  o[5] = (int)__ballot_sync(0xffffffffu, lane & 1);
  o[6] = __all_sync(0xffffffffu, v > 0) * 10 + __any_sync(0xffffffffu, lane == 31);
  int seg = v;
  for (int m = 4; m > 0; m >>= 1) seg += __shfl_xor_sync(0xffffffffu, seg, m, 8);
  o[7] = seg;  // sum over the lane's group of 8
  o[8] = __shfl_down_sync(0xffffffffu, v, 3, 8);  // within groups of 8; the top 3 keep their own
  __syncwarp();
  o[9] = __shfl_sync(0xffffffffu, 2.5 * v, 31) == 2.5 * (t - lane + 32) ? 1 : 0;  // 8-byte values
}

__global__ void early_exit_kernel(float* out, int who) {
  __shared__ float s[64];
  if ((int)threadIdx.x == who) return;  // this thread never reaches the barrier
  s[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s[63 - threadIdx.x];
}

__global__ void partial_mask_kernel(int* out) { out[threadIdx.x] = __shfl_sync(0x0000ffffu, (int)threadIdx.x, 0); }
__global__ void full_mask_kernel(int* out) { out[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x, 0); }
__global__ void mixed_warp_ops_kernel(int* out) {
  if (threadIdx.x & 1) out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
  else out[threadIdx.x] = (int)__ballot_sync(0xffffffffu, 1);
}
__global__ void barrier_vs_shuffle_kernel(int* out) {
  if (threadIdx.x == 0) __syncthreads();
  else out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
}

int g_destroyed = 0;
struct CountOnDestroy {
  ~CountOnDestroy() { ++g_destroyed; }
};
__global__ void raii_divergent_kernel() {
  CountOnDestroy guard;
  if (threadIdx.x == 63) return;
  __syncthreads();  // 63 threads wait here when thread 63 exits
}

__global__ void throwing_kernel(int bad) {
  if ((int)threadIdx.x == bad) throw std::runtime_error("boom from a kernel");
}

[[maybe_unused]] __global__ void oob_write_kernel(float* d, int n) {
  if ((int)threadIdx.x <= n) d[threadIdx.x] = 1.0f;  // off by one: writes d[n]
}

/// Reads shared memory before writing it (a bug the poison makes visible), then writes it.
__global__ void read_before_write_kernel(unsigned* out) {
  __shared__ unsigned s[128];
  UAD_DYNAMIC_SHARED(float, dyn);
  const int t = threadIdx.x;
  const unsigned stale = s[t];
  const float dstale = dyn[t];
  out[blockIdx.x * 256 + t] = stale;
  out[blockIdx.x * 256 + 128 + t] = std::isnan(dstale) ? 1u : 0u;
  s[t] = 7;
  dyn[t] = 1.0f;
}

/// Racy: thread 63 reads what the others wrote without a barrier in between.
__global__ void racy_kernel(float* out) {
  __shared__ float s[64];
  s[threadIdx.x] = 1.0f;
  if (threadIdx.x == 63) {
    float sum = 0;
    for (int i = 0; i < 64; ++i) sum += s[i];
    out[blockIdx.x] = sum;
  }
}

/// 32×32 tiles through shared memory (padded to 33 columns against bank conflicts).
__global__ void transpose_kernel(const float* in, float* out, int rows, int cols) {
  __shared__ float tile[32][33];
  const int x = blockIdx.x * 32 + threadIdx.x;
  for (int j = threadIdx.y; j < 32; j += blockDim.y) {
    const int y = blockIdx.y * 32 + j;
    if (x < cols && y < rows) tile[j][threadIdx.x] = in[(size_t)y * cols + x];
  }
  __syncthreads();
  const int ox = blockIdx.y * 32 + threadIdx.x;
  for (int j = threadIdx.y; j < 32; j += blockDim.y) {
    const int oy = blockIdx.x * 32 + j;
    if (ox < rows && oy < cols) out[(size_t)oy * rows + ox] = tile[threadIdx.x][j];
  }
}

/// Histogram: per-block counts in shared memory (shared atomics), merged with global atomics.
__global__ void histogram_kernel(const int* v, int n, int bins, unsigned* hist) {
  __shared__ unsigned local[64];
  for (int b = threadIdx.x; b < bins; b += blockDim.x) local[b] = 0;
  __syncthreads();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) atomicAdd(&local[v[i]], 1u);
  __syncthreads();
  for (int b = threadIdx.x; b < bins; b += blockDim.x) atomicAdd(&hist[b], local[b]);
}

__global__ void scale_kernel(const float* x, float* y, int n, float a) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i];
}

__global__ void barrier_predicates_kernel(int* out) {
  const int t = threadIdx.x;
  out[0] = __syncthreads_count(t % 3 == 0);
  out[1] = __syncthreads_and(t < 1000);
  out[2] = __syncthreads_or(t == 77);
  out[3] = __syncthreads_and(t != 5);
}

__global__ void index_kernel(unsigned* out) {
  const unsigned bl = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const unsigned th = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const unsigned nt = blockDim.x * blockDim.y * blockDim.z;
  out[bl * nt + th] = bl * 1000 + th;
}

__global__ void big_dynamic_shared_kernel(int* out) {
  UAD_DYNAMIC_SHARED(int, s);
  s[threadIdx.x] = (int)threadIdx.x;
  __syncthreads();
  out[threadIdx.x] = s[blockDim.x - 1 - threadIdx.x];
}

/// Sets the thread-order shuffle for one test (nullopt = index order) and restores it after, so
/// tests that expect a particular order hold under UAD_SIM_SHUFFLE too.
struct ScopedShuffle {
  std::optional<uint64_t> saved = uad::sim::shuffle_seed();
  explicit ScopedShuffle(std::optional<uint64_t> seed) { uad::sim::set_shuffle_seed(seed); }
  ~ScopedShuffle() { uad::sim::set_shuffle_seed(saved); }
};

std::string launch_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const uad::Error& e) {
    return e.what();
  }
  return "";
}

// ---------------- tests ----------------

TEST(Sim, BlockReductionWithSyncthreadsInALoop) {
  const int n = 1000;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = (float)(i % 17) - 8.0f;  // integers: every partial sum is exact
  DeviceArray<float> dx(x), dout(8);
  uad::sim::reset_stats();
  launch(tree_sum_kernel<128>, 8, 128, 0, nullptr, dx.data(), n, dout.data());
  std::vector<float> out = dout.to_host();
  for (int b = 0; b < 8; ++b) {
    float want = 0;
    for (int i = b * 128; i < std::min(n, b * 128 + 128); ++i) want += x[i];
    EXPECT_EQ(out[b], want) << "block " << b;
  }
  const auto st = uad::sim::stats();
  EXPECT_EQ(st.blocks, 8u);
  EXPECT_EQ(st.barriers, 8u * 8u);  // 1 + log2(128) barriers per block
  EXPECT_EQ(st.plain_threads, 0u);  // every thread waits at a barrier: all on fibers
}

TEST(Sim, WarpShufflesBallotsAndVotes) {
  DeviceArray<int> dout(64 * 10);
  launch(warp_ops_kernel, 1, 64, 0, nullptr, dout.data());
  std::vector<int> o = dout.to_host();
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32, w0 = t - lane, v = t + 1;
    const int warp_sum = 32 * (w0 + 1) + 31 * 32 / 2;
    const int* r = &o[t * 10];
    if (lane == 0) {
      EXPECT_EQ(r[0], warp_sum) << "shfl_down tree, warp " << t / 32;
    }
    EXPECT_EQ(r[1], warp_sum) << "shfl_xor all-reduce, thread " << t;
    EXPECT_EQ(r[2], w0 + 6) << "broadcast of lane 5";
    EXPECT_EQ(r[3], w0 + (lane + 1) % 32 + 1) << "srcLane taken modulo the width";
    int scan = 0;
    for (int l = 0; l <= lane; ++l) scan += w0 + l + 1;
    EXPECT_EQ(r[4], scan) << "shfl_up inclusive scan, thread " << t;
    EXPECT_EQ((unsigned)r[5], 0xAAAAAAAAu) << "ballot of odd lanes";
    EXPECT_EQ(r[6], 11) << "all(v>0) and any(lane==31)";
    const int g0 = lane / 8 * 8;
    int seg = 0;
    for (int l = g0; l < g0 + 8; ++l) seg += w0 + l + 1;
    EXPECT_EQ(r[7], seg) << "xor within width 8";
    EXPECT_EQ(r[8], lane % 8 + 3 < 8 ? v + 3 : v) << "shfl_down within width 8, thread " << t;
    EXPECT_EQ(r[9], 1) << "8-byte shuffle";
  }
}

TEST(Sim, ThreadExitingWhileOthersWaitIsAnError) {
  ScopedShuffle in_order(std::nullopt);
  DeviceArray<float> dout(64);
  // Thread 5 exits while threads 0-4 (started before it) wait at the barrier.
  std::string e = launch_error([&] { launch(early_exit_kernel, 1, 64, 0, nullptr, dout.data(), 5); });
  EXPECT_NE(e.find("early_exit_kernel"), std::string::npos) << e;
  EXPECT_NE(e.find("thread (5,0,0): exited while 5 thread(s) wait at __syncthreads"), std::string::npos) << e;
  EXPECT_NE(e.find("divergent barrier"), std::string::npos) << e;
  // Thread 0 exits first: the next thread to reach the barrier is reported.
  e = launch_error([&] { launch(early_exit_kernel, 1, 64, 0, nullptr, dout.data(), 0); });
  EXPECT_NE(e.find("thread (1,0,0): __syncthreads at"), std::string::npos) << e;
  EXPECT_NE(e.find("reached after thread (0,0,0) exited"), std::string::npos) << e;
  // The simulator recovered: a correct launch runs normally afterwards.
  launch(early_exit_kernel, 1, 64, 0, nullptr, dout.data(), -1);
  for (float v : dout.to_host()) EXPECT_EQ(v, 1.0f);
}

TEST(Sim, FailedLaunchUnwindsEveryWaitingThread) {
  ScopedShuffle in_order(std::nullopt);
  g_destroyed = 0;
  std::string e = launch_error([&] { launch(raii_divergent_kernel, 1, 64, 0, nullptr); });
  EXPECT_NE(e.find("exited while 63 thread(s) wait"), std::string::npos) << e;
  EXPECT_EQ(g_destroyed, 64) << "every thread's stack must be unwound, waiting or not";
}

TEST(Sim, PartialMasksAndIncompleteWarpsAreErrorsNamingTheKernel) {
  DeviceArray<int> dout(64);
  std::string e = launch_error([&] { launch(partial_mask_kernel, 1, 32, 0, nullptr, dout.data()); });
  EXPECT_NE(e.find("partial_mask_kernel"), std::string::npos) << e;
  EXPECT_NE(e.find("__shfl_sync"), std::string::npos) << e;
  EXPECT_NE(e.find("mask 0x0000ffff"), std::string::npos) << e;
  e = launch_error([&] { launch(full_mask_kernel, 1, 48, 0, nullptr, dout.data()); });
  EXPECT_NE(e.find("warp 1, which has only 16 thread(s)"), std::string::npos) << e;
  e = launch_error([&] { launch(mixed_warp_ops_kernel, 1, 32, 0, nullptr, dout.data()); });
  EXPECT_NE(e.find("execute different warp operations"), std::string::npos) << e;
  e = launch_error([&] { launch(barrier_vs_shuffle_kernel, 1, 32, 0, nullptr, dout.data()); });
  EXPECT_NE(e.find("deadlock"), std::string::npos) << e;
  launch(full_mask_kernel, 1, 64, 0, nullptr, dout.data());
  std::vector<int> o = dout.to_host();
  EXPECT_EQ(o[40], 32);
}

TEST(Sim, KernelExceptionsBecomeLaunchErrors) {
  ScopedShuffle in_order(std::nullopt);
  std::string e = launch_error([&] { launch(throwing_kernel, 2, 64, 0, nullptr, 0); });  // on a fiber
  EXPECT_NE(e.find("boom from a kernel"), std::string::npos) << e;
  e = launch_error([&] { launch(throwing_kernel, 2, 64, 0, nullptr, 40); });  // on the fast path
  EXPECT_NE(e.find("thread (40,0,0): the kernel threw: boom"), std::string::npos) << e;
}

TEST(Sim, InvalidConfigurationsAreRejected) {
  DeviceArray<int> dout(1024);
  std::string e = launch_error([&] { launch(full_mask_kernel, 1, dim3(32, 64), 0, nullptr, dout.data()); });
  EXPECT_NE(e.find("cudaErrorInvalidConfiguration"), std::string::npos) << e;
  EXPECT_NE(e.find("more than 1024 threads per block"), std::string::npos) << e;
  e = launch_error([&] { launch(full_mask_kernel, 1, 2048, 0, nullptr, dout.data()); });
  EXPECT_NE(e.find("block dimensions exceed (1024,1024,64)"), std::string::npos) << e;
  e = launch_error([&] { launch(full_mask_kernel, dim3(1, 70000), 32, 0, nullptr, dout.data()); });
  EXPECT_NE(e.find("grid dimensions"), std::string::npos) << e;
  e = launch_error([&] { launch(big_dynamic_shared_kernel, 1, 256, 64 * 1024, nullptr, dout.data()); });
  EXPECT_NE(e.find("exceed the kernel's limit of 49152"), std::string::npos) << e;
  UAD_CUDA_CHECK(cudaFuncSetAttribute(big_dynamic_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
  launch(big_dynamic_shared_kernel, 1, 256, 64 * 1024, nullptr, dout.data());
  EXPECT_EQ(dout.to_host()[10], 245);
}

TEST(Sim, OutOfBoundsWriteIsCaughtByAddressSanitizer) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        DeviceArray<float> d(100);
        launch(oob_write_kernel, 1, 128, 0, nullptr, d.data(), 100);
      },
      "heap-buffer-overflow");
#else
  GTEST_SKIP() << "not built with AddressSanitizer (configure with -DUAD_SIM_ASAN=ON): the out-of-bounds write "
                  "would go unnoticed";
#endif
}

TEST(Sim, SharedMemoryIsPoisonedBeforeEveryBlock) {
  EXPECT_GT(uad::sim::static_shared_bytes(), 0u) << "no static __shared__ symbols found";
  DeviceArray<unsigned> dout(3 * 256);
  launch(read_before_write_kernel, 3, 128, 128 * sizeof(float), nullptr, dout.data());
  std::vector<unsigned> o = dout.to_host();
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < 128; ++t) {
      ASSERT_EQ(o[b * 256 + t], 0xFFFFFFFFu) << "static shared, block " << b << " thread " << t;
      ASSERT_EQ(o[b * 256 + 128 + t], 1u) << "dynamic shared is NaN, block " << b << " thread " << t;
    }
  float nan_bits;
  unsigned p = 0xFFFFFFFFu;
  std::memcpy(&nan_bits, &p, 4);
  EXPECT_TRUE(std::isnan(nan_bits)) << "the poison pattern reads as NaN in f32";
}

TEST(Sim, ShuffledThreadOrderKeepsRaceFreeResultsAndExposesARace) {
  const int n = 4096;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = (float)((i * 37) % 101) * 0.25f;
  DeviceArray<float> dx(x), dout(n / 256), dr(16);
  ScopedShuffle in_order(std::nullopt);
  launch(tree_sum_kernel<256>, n / 256, 256, 0, nullptr, dx.data(), n, dout.data());
  const std::vector<float> ref = dout.to_host();
  launch(racy_kernel, 16, 64, 0, nullptr, dr.data());
  for (float v : dr.to_host()) EXPECT_EQ(v, 64.0f) << "in index order the reader runs last: the race hides";
  int exposed = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    uad::sim::set_shuffle_seed(seed);
    launch(tree_sum_kernel<256>, n / 256, 256, 0, nullptr, dx.data(), n, dout.data());
    EXPECT_EQ(dout.to_host(), ref) << "race-free kernel, seed " << seed;
    launch(racy_kernel, 16, 64, 0, nullptr, dr.data());
    for (float v : dr.to_host()) exposed += !(v == 64.0f);
  }
  EXPECT_GT(exposed, 32) << "a shuffled order must let the reader run before some writers (it then reads NaN poison)";
}

TEST(Sim, SharedMemoryTiledTranspose) {
  const int rows = 70, cols = 45;
  std::vector<float> a(rows * cols);
  std::iota(a.begin(), a.end(), 0.0f);
  DeviceArray<float> din(a), dout(a.size());
  launch(transpose_kernel, dim3((cols + 31) / 32, (rows + 31) / 32), dim3(32, 8), 0, nullptr, din.data(), dout.data(), rows, cols);
  std::vector<float> t = dout.to_host();
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) ASSERT_EQ(t[c * rows + r], a[r * cols + c]) << r << "," << c;
}

TEST(Sim, AtomicHistogram) {
  const int n = 10000, bins = 37;
  std::vector<int> v(n);
  std::vector<unsigned> want(bins, 0);
  for (int i = 0; i < n; ++i) ++want[v[i] = (i * 7919) % bins];
  DeviceArray<int> dv(v);
  DeviceArray<unsigned> dh(std::vector<unsigned>(bins, 0));
  launch(histogram_kernel, 5, 128, 0, nullptr, dv.data(), n, bins, dh.data());
  EXPECT_EQ(dh.to_host(), want);
}

TEST(Sim, BarrierFreeKernelsTakeTheFastPath) {
  const int n = 5000;
  std::vector<float> x(n);
  std::iota(x.begin(), x.end(), 0.0f);
  DeviceArray<float> dx(x), dy(n);
  uad::sim::reset_stats();
  launch(scale_kernel, (n + 255) / 256, 256, 0, nullptr, dx.data(), dy.data(), n, 2.0f);
  const auto st = uad::sim::stats();
  const uint64_t threads = 256 * ((n + 255) / 256), warps = threads / 32;
  EXPECT_EQ(st.threads, threads);
  EXPECT_EQ(st.fibers, warps) << "one fiber per warp: the first lane";
  EXPECT_EQ(st.plain_threads, threads - warps);
  EXPECT_EQ(st.switches, warps);
  std::vector<float> y = dy.to_host();
  for (int i = 0; i < n; ++i) ASSERT_EQ(y[i], 2.0f * i);
}

TEST(Sim, BarrierPredicates) {
  DeviceArray<int> d(4);
  launch(barrier_predicates_kernel, 1, 128, 0, nullptr, d.data());
  EXPECT_EQ(d.to_host(), (std::vector<int>{43, 1, 1, 0}));
}

TEST(Sim, ThreeDimensionalIndices) {
  const dim3 grid(3, 2, 2), block(4, 3, 5);
  const int nb = 12, nt = 60;
  DeviceArray<unsigned> d(nb * nt);
  launch(index_kernel, grid, block, 0, nullptr, d.data());
  std::vector<unsigned> o = d.to_host();
  for (int b = 0; b < nb; ++b)
    for (int t = 0; t < nt; ++t) ASSERT_EQ(o[b * nt + t], (unsigned)(b * 1000 + t));
}

TEST(Sim, RuntimeApiChecksDevicePointers) {
  std::vector<float> host(4, 1.0f), other(4);
  EXPECT_EQ(cudaMemcpy(other.data(), host.data(), 16, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "simulator errors are not sticky";
  DeviceArray<float> d(4);
  EXPECT_EQ(cudaMemcpy(d.data(), host.data(), 20, cudaMemcpyHostToDevice), cudaErrorInvalidValue) << "past the end";
  EXPECT_EQ(cudaMemcpy(d.data(), host.data(), 16, cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);
  (void)cudaGetLastError();
  EXPECT_THROW(uad::cuda::copy_to_host(other.data(), host.data(), 16), uad::Error);
}

}  // namespace

#else
#error "test_sim is built only with -DUAD_CUDA_SIM=ON (tests/CMakeLists.txt)"
#endif
