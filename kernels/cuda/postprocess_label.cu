/*
Threshold, 3-D connected-component labelling and the small-component filter (DESIGN.md §6,
issue 6 item 2). The labels equal scipy.ndimage.label's (and the CPU reference's) bit for bit.

version 1 (this file): global union-find (Playne & Hawick 2018, "A New Algorithm for Parallel
Connected-Component Labelling on GPUs", the UF variant; Allegretti et al. 2019 for 3-D), then a
raster-order relabelling. The label array `labels` is the union-find forest (parent = a linear
index, background = −1) until the last two kernels turn it into labels.
  1. init:    L[i] = mask[i] ? i : −1.
  2. merge:   every foreground voxel unites with its foreground *backward* neighbours (the half of
              the 6/18/26 stencil before it in raster order: 3/9/13 of them). uf_unite()
              (kernels/cuda/union_find.cuh) links the larger root under the smaller one with
              atomicMin and retries from whatever it finds when another thread won (the lost
              link is re-made by the retry), so L[x] ≤ x always and each tree's root ends as its
              component's smallest linear index — its first voxel in raster order — whatever
              order the threads ran in.
  3. flatten: L[i] = root(i) (path compression; the roots no longer change).
  4. count:   roots per chunk of 4096 voxels (256 threads × 16 consecutive voxels), block sums.
  5. scan:    one block: exclusive scan of the chunk counts; the total (= count) goes to the host.
  6. assign:  each root gets 1 + (number of roots before it in raster order) — chunk offset + block
              exclusive scan of the per-thread counts + position in the thread's run — stored
              encoded as −(label + 1) ≤ −2, distinct from indices (≥ 0) and background (−1).
              Because roots are in raster order of first voxels, these are scipy's numbers.
  7. resolve: non-roots read their root's encoded label (roots are not written in this pass).
  8. finish:  decode roots and background (−1 → 0); optionally count voxels per label with
              warp-aggregated atomics (runs of equal labels in a warp add once: run length).
  Deterministic in result: every number written is a function of the mask alone (integer atomics
  commute). The simulator's thread-order shuffle (UAD_SIM_SHUFFLE) checks that.
Launch: 1-D, 256 threads per block (8 warps; few registers), grid-stride loops with at most 16384
  blocks for the per-voxel kernels; count/assign use one block per 4096-voxel chunk; scan one
  block of 1024 threads.
Cost per voxel (f = foreground fraction, k = 3/9/13 backward neighbours): init 1 B read + 4 B
  written; merge 4 B + f·k·(1 B mask + ~2·4 B finds, mostly L1/L2 hits) with f·k atomics that
  mostly hit a same-root fast path (find(a) == find(b), no atomic); flatten f·~8 B; count/assign
  2 × 4 B; resolve 4 B + f·4 B; finish 4 B (+ f·atomic/run). ~35-45 B of DRAM traffic per voxel
  and no floating point: memory/latency-bound (the pointer chasing in find); judge against DRAM
  bandwidth, e.g. 7.1M voxels × 40 B ≈ 0.28 GB ≈ 0.2 ms at 1.5 TB/s plus launch latencies.
Next: block-local union-find in shared memory first (Allegretti's BUF), which removes most
  global atomics and pointer chasing for dense masks.

threshold: out[i] = in[i] > t. 1-D grid-stride, 256 threads; 5 B per voxel, memory-bound.
remove_small_components: mask_out[i] = sizes[L[i]−1] ≥ min. 4 B + a cached 8 B gather + 1 B.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cstdint>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/union_find.cuh"
#include "kernels/cuda/postprocess.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int kPerThread = 16;
constexpr int kChunk = kBlock * kPerThread;  // voxels per block in count/assign
constexpr int kScanBlock = 1024;
constexpr unsigned kMaxBlocks = 16384;
constexpr unsigned kFull = 0xffffffffu;

__global__ void __launch_bounds__(kBlock) init_kernel(const uint8_t* __restrict__ mask, int32_t* __restrict__ L, int32_t n) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    L[i] = mask[i] ? (int32_t)i : -1;
}

/// RANK: the largest |dz|+|dy|+|dx| of a neighbour (1: 6-, 2: 18-, 3: 26-connectivity).
template <int RANK>
__global__ void __launch_bounds__(kBlock) merge_kernel(const uint8_t* __restrict__ mask, int32_t* L, int D, int H, int W) {
  const int32_t n = (int32_t)D * H * W, hw = H * W;
  for (int64_t i64 = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i64 < n; i64 += (int64_t)gridDim.x * blockDim.x) {
    const int32_t i = (int32_t)i64;
    if (!mask[i]) continue;
    const int z = i / hw, r = i - z * hw, y = r / W, x = r - y * W;
    UAD_UNROLL
    for (int dz = -1; dz <= 0; ++dz)
      UAD_UNROLL
      for (int dy = -1; dy <= 1; ++dy)
        UAD_UNROLL
        for (int dx = -1; dx <= 1; ++dx) {
          const bool backward = dz < 0 || (dz == 0 && (dy < 0 || (dy == 0 && dx < 0)));
          if (!backward || (dz != 0) + (dy != 0) + (dx != 0) > RANK) continue;
          const int zz = z + dz, yy = y + dy, xx = x + dx;
          if (zz < 0 || yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
          const int32_t j = i + (dz * H + dy) * W + dx;
          if (mask[j]) uf_unite(L, i, j);
        }
  }
}

__global__ void __launch_bounds__(kBlock) flatten_kernel(int32_t* L, int32_t n) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    if (L[i] >= 0) L[i] = uf_find(L, (int32_t)i);
}

/// Roots (L[i] == i) among this thread's kPerThread consecutive voxels of the block's chunk.
__device__ __forceinline__ int thread_roots(const int32_t* L, int32_t n, int32_t first) {
  int c = 0;
  for (int k = 0; k < kPerThread; ++k) {
    const int32_t i = first + k;
    if (i < n && L[i] == i) ++c;
  }
  return c;
}

__device__ __forceinline__ int32_t thread_first(int32_t chunk) { return chunk * kChunk + (int32_t)threadIdx.x * kPerThread; }

__global__ void __launch_bounds__(kBlock) count_roots_kernel(const int32_t* __restrict__ L, int32_t n, int32_t* __restrict__ counts) {
  const int c = block_sum<kBlock>(thread_roots(L, n, thread_first(blockIdx.x)));
  if (threadIdx.x == 0) counts[blockIdx.x] = c;
}

/// Exclusive scan of v over a 1-D block of BLOCK threads (multiple of 32, ≤ 1024); *total gets
/// the block's sum. Every thread must call it (three __syncthreads; callable in a loop).
template <int BLOCK> __device__ int block_exclusive_scan(int v, int* total) {
  __shared__ int warp_incl[BLOCK / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int incl = v;
  UAD_UNROLL
  for (int d = 1; d < 32; d <<= 1) {
    const int y = __shfl_up_sync(kFull, incl, d);
    if (lane >= d) incl += y;
  }
  if (lane == 31) warp_incl[warp] = incl;
  __syncthreads();
  if (warp == 0) {
    int w = lane < BLOCK / 32 ? warp_incl[lane] : 0;
    UAD_UNROLL
    for (int d = 1; d < 32; d <<= 1) {
      const int y = __shfl_up_sync(kFull, w, d);
      if (lane >= d) w += y;
    }
    if (lane < BLOCK / 32) warp_incl[lane] = w;  // inclusive scan of the warp sums
  }
  __syncthreads();
  const int excl = incl - v + (warp > 0 ? warp_incl[warp - 1] : 0);
  *total = warp_incl[BLOCK / 32 - 1];
  __syncthreads();
  return excl;
}

/// offsets[b] = Σ_{c<b} counts[c]; *total = Σ counts (one block).
__global__ void __launch_bounds__(kScanBlock) scan_kernel(const int32_t* __restrict__ counts, int32_t nb,
                                                          int32_t* __restrict__ offsets, int64_t* __restrict__ total) {
  int carry = 0;
  for (int32_t base = 0; base < nb; base += kScanBlock) {  // uniform over the block: barrier-safe
    const int32_t i = base + threadIdx.x;
    const int v = i < nb ? counts[i] : 0;
    int sum = 0;
    const int excl = block_exclusive_scan<kScanBlock>(v, &sum);
    if (i < nb) offsets[i] = carry + excl;
    carry += sum;
  }
  if (threadIdx.x == 0) *total = carry;
}

__global__ void __launch_bounds__(kBlock) assign_kernel(int32_t* L, int32_t n, const int32_t* __restrict__ offsets) {
  const int32_t first = thread_first(blockIdx.x);
  int sum = 0;
  int label = offsets[blockIdx.x] + block_exclusive_scan<kBlock>(thread_roots(L, n, first), &sum);
  for (int k = 0; k < kPerThread; ++k) {
    const int32_t i = first + k;
    if (i < n && L[i] == i) L[i] = -(++label) - 1;  // only this thread reads or writes its run
  }
}

__global__ void __launch_bounds__(kBlock) resolve_kernel(int32_t* L, int32_t n) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int32_t p = L[i];
    if (p >= 0) L[i] = -L[p] - 1;  // p is a root: encoded, not written in this pass
  }
}

/// Decodes roots and background; sizes (optional, zeroed) += voxels per label, one atomic per run
/// of equal labels within a warp. The loop runs in whole-block steps, so warps stay complete.
__global__ void __launch_bounds__(kBlock) finish_kernel(int32_t* L, int32_t n, unsigned long long* __restrict__ sizes) {
  const int lane = threadIdx.x & 31;
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t base = (int64_t)blockIdx.x * blockDim.x; base < n; base += step) {
    const int64_t i = base + threadIdx.x;
    int32_t lab = 0;
    if (i < n) {
      const int32_t v = L[i];
      lab = v >= 0 ? v : (v == -1 ? 0 : -v - 1);
      if (v < 0) L[i] = lab;
    }
    if (sizes == nullptr) continue;  // uniform over the grid
    const int32_t prev = __shfl_up_sync(kFull, lab, 1);
    const bool head = lane == 0 || prev != lab;
    const unsigned heads = __ballot_sync(kFull, head);
    if (head && lab > 0) {
      const unsigned after = heads & ~((2u << lane) - 1u);  // heads above this lane (lane 31: none)
      const int next = after ? __ffs((int)after) - 1 : 32;
      atomicAdd(sizes + (lab - 1), (unsigned long long)(next - lane));
    }
  }
}

__global__ void __launch_bounds__(kBlock) threshold_kernel(const float* __restrict__ in, uint8_t* __restrict__ out, int64_t n, float t) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) out[i] = in[i] > t ? 1 : 0;
}

__global__ void __launch_bounds__(kBlock) remove_small_kernel(const int32_t* __restrict__ L, const int64_t* __restrict__ sizes,
                                                              uint8_t* __restrict__ out, int64_t n, int64_t min_voxels) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
    const int32_t l = L[i];
    out[i] = l > 0 && sizes[l - 1] >= min_voxels ? 1 : 0;
  }
}

}  // namespace

void threshold(const float* in, uint8_t* out, int64_t n, float t, void* stream) {
  check(n >= 0, "cuda::threshold: negative n ", n);
  if (n == 0) return;
  launch(threshold_kernel, grid_for(n, kBlock, 4, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream), in, out, n, t);
}

int64_t label_components(const uint8_t* mask, int32_t* labels, int64_t D, int64_t H, int64_t W, int connectivity,
                         std::vector<int64_t>* sizes, void* stream, DeviceArray<int64_t>* device_sizes) {
  check(D >= 0 && H >= 0 && W >= 0, "cuda::label_components: negative size in volume [", D, ",", H, ",", W, "]");
  check(connectivity == 6 || connectivity == 18 || connectivity == 26,
        "cuda::label_components: connectivity must be 6, 18 or 26, got ", connectivity, " (volume [", D, ",", H, ",", W, "])");
  const int64_t n64 = D * H * W;
  check(n64 < ((int64_t)1 << 31) - kChunk, "cuda::label_components: volume [", D, ",", H, ",", W,
        "] has too many voxels for int32 labels");
  if (sizes) sizes->clear();
  if (device_sizes) *device_sizes = DeviceArray<int64_t>();
  if (n64 == 0) return 0;
  const auto st = static_cast<cudaStream_t>(stream);
  const int32_t n = (int32_t)n64;
  const int d = (int)D, h = (int)H, w = (int)W;
  const unsigned g = grid_for(n, kBlock, 1, kMaxBlocks);
  launch(init_kernel, g, kBlock, 0, st, mask, labels, n);
  switch (connectivity) {
    case 6: launch(merge_kernel<1>, g, kBlock, 0, st, mask, labels, d, h, w); break;
    case 18: launch(merge_kernel<2>, g, kBlock, 0, st, mask, labels, d, h, w); break;
    default: launch(merge_kernel<3>, g, kBlock, 0, st, mask, labels, d, h, w); break;
  }
  launch(flatten_kernel, g, kBlock, 0, st, labels, n);
  const int32_t nb = (n + kChunk - 1) / kChunk;
  DeviceArray<int32_t> counts((size_t)nb), offsets((size_t)nb);
  DeviceArray<int64_t> total(1);
  launch(count_roots_kernel, nb, kBlock, 0, st, labels, n, counts.data());
  launch(scan_kernel, 1, kScanBlock, 0, st, counts.data(), nb, offsets.data(), total.data());
  int64_t count = 0;
  UAD_CUDA_CHECK(cudaMemcpyAsync(&count, total.data(), sizeof(count), cudaMemcpyDeviceToHost, st));
  UAD_CUDA_CHECK(cudaStreamSynchronize(st));
  launch(assign_kernel, nb, kBlock, 0, st, labels, n, offsets.data());
  launch(resolve_kernel, g, kBlock, 0, st, labels, n);
  const bool want_sizes = (sizes || device_sizes) && count > 0;
  DeviceArray<int64_t> dsz;
  if (want_sizes) dsz = DeviceArray<int64_t>((size_t)count);
  if (want_sizes) UAD_CUDA_CHECK(cudaMemsetAsync(dsz.data(), 0, (size_t)count * sizeof(int64_t), st));
  static_assert(sizeof(unsigned long long) == sizeof(int64_t), "sizes are counted as unsigned long long");
  launch(finish_kernel, g, kBlock, 0, st, labels, n, want_sizes ? reinterpret_cast<unsigned long long*>(dsz.data()) : nullptr);
  if (sizes && want_sizes) {
    sizes->resize((size_t)count);
    UAD_CUDA_CHECK(cudaMemcpyAsync(sizes->data(), dsz.data(), (size_t)count * sizeof(int64_t), cudaMemcpyDeviceToHost, st));
    UAD_CUDA_CHECK(cudaStreamSynchronize(st));
  }
  if (device_sizes) *device_sizes = std::move(dsz);
  return count;
}

void remove_small_components(const int32_t* labels, const int64_t* sizes_device, int64_t count, uint8_t* mask_out, int64_t n,
                             int64_t min_voxels, void* stream) {
  check(n >= 0 && count >= 0, "cuda::remove_small_components: negative n ", n, " or count ", count);
  check(count == 0 || sizes_device != nullptr, "cuda::remove_small_components: no sizes for ", count, " labels (n = ", n, ")");
  if (n == 0) return;
  launch(remove_small_kernel, grid_for(n, kBlock, 4, kMaxBlocks), kBlock, 0, static_cast<cudaStream_t>(stream), labels,
         sizes_device, mask_out, n, min_voxels);
}

}  // namespace uad::cuda
