/*
Fused residual + mask + 3-D median filter (DESIGN.md §6, issue 6 item 2): one kernel reads x, x̂
and the brain mask once, forms r = max(x − x̂, 0) or |x − x̂|, zeroes it outside the mask and
writes the median of r over each size³ window, with scipy.ndimage 'reflect' borders. The plain
median filter (median_filter3d) is the same kernel with the residual step compiled out.

version 1 (this file):
- Tile: a block of 8×8×2 = 128 threads owns an 8×8×8 output tile; each thread computes 4 outputs
  (z, z+2, z+4, z+6). The (8+size−1)³ halo (12³ = 1728 values for size 5) is loaded cooperatively
  into shared memory, the residual, mask and border reflection fused into the load, and stored as
  order-preserving 32-bit keys (one conversion per loaded voxel instead of one per window entry).
  Loads per output: 12³/8³ = 3.4 (size 5) — global traffic is small next to the selection work.
- Selection: bitwise radix select on the keys (the k-th smallest, k = size³/2, found bit by bit:
  bit b of the answer is 0 iff #{w ≤ prefix|0|1…1} > k). Each thread gathers its size³ keys from
  shared memory into a register array (fully unrolled over the compile-time window size), then
  runs one branch-free count per undecided bit. Why this and not the alternatives:
  * forgetful selection (Perrot et al. 2014) keeps ⌈n/2⌉+1 = 64 values live and does ~n²/4 ≈ 3900
    min/max for n = 125, ~29000 for n = 343; the radix select does ≤ 32·n compare-adds
    (≤ 4000 / ≤ 11000) with no data-dependent branches inside a pass (no warp divergence);
  * full counting (rank of every candidate) is n² = 15625 comparisons for 5³;
  * the passes start below the highest bit where the window's min and max keys differ, so a
    constant window — the whole background of a masked residual (≈ 75% of a 181×217×181 brain
    volume) — costs one min/max scan and no passes at all.
  The result is exactly a value of the window (bitwise, −0 read as +0), so it equals scipy's and
  the CPU's median. size 7 (343 keys) exceeds the 255-register budget and spills the key array
  to local memory (L1-resident); sizes 3 and 5 stay in registers.
- Launch: grid (⌈W/8⌉, ⌈H/8⌉, ⌈D/8⌉), block (8,8,2), static shared (8+size−1)³·4 bytes
  (6.9 KB for size 5, 11 KB for size 7). ptxas (sm_80): 146 registers/thread for size 5, 47 for
  size 3, no spills → 12 resident warps per SM (3 blocks of 4 warps; 256-thread blocks would
  fit only one block = 8 warps); size 7 uses 255 registers and spills 1.6 KB of the key array to
  local memory. The passes are long runs of independent compare-adds (4 counters for ILP), so
  the low occupancy is not what limits them.
- Cost per output voxel (size 5): reads 3.4 × (4 + 4 + 1) B = 31 B fused (3.4 × 4 = 14 B plain),
  writes 4 B; compute 125 shared loads + 2·125 min/max, then for a non-constant window ≤ 32
  (typically ~26 for residuals in (0, 1]) passes of 125 compare-adds ≈ 26·125·~2.5 ≈ 8000
  integer instructions. Arithmetic intensity ≈ 8000 / 35 ≈ 230 integer instructions per byte
  (~60 averaged over a brain volume whose background windows are constant): compute-bound on the
  INT32/compare issue rate, far from DRAM-bound. Roofline estimate for a 181×217×181 volume with
  ~30% non-constant windows: 7.1M × 0.3 × 8000 ≈ 1.7·10¹⁰ instructions ≈ 2 ms at an A100's
  ~9.7·10¹² INT32 ops/s (64 lanes/SM/clock × 108 SMs × 1.41 GHz); DRAM time is ≈ 0.2 ms.
Next: a sliding-window variant (each thread walks z, updating a per-thread histogram of key
  prefixes) would cut the passes; only worth it if a GPU profile shows this kernel matters.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cmath>
#include <cstdint>

#include "kernels/cuda/postprocess.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr int kTile = 8;                      // outputs per tile edge
constexpr int kThreadsZ = 2;                  // threads along z (each does kTile / kThreadsZ = 4 outputs)
constexpr int kBlock = kTile * kTile * kThreadsZ;  // 128

/// Order-preserving map float → uint32 (a < b ⇔ key(a) < key(b) for non-NaN floats; −0 → key of
/// +0, so equal floats have equal keys). Positive NaNs sort above +inf, negative ones below −inf.
__device__ __forceinline__ uint32_t float_key(float v) {
  uint32_t b = __float_as_uint(v);
  if (b == 0x80000000u) b = 0u;  // −0 → +0
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
/// Inverse of float_key.
__device__ __forceinline__ float key_float(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

/// scipy.ndimage 'reflect' (d c b a | a b c d | d c b a): period 2n, mirrored in the second half
/// (n = 1 maps everything to 0). i may be any integer ≥ −n·k.
__device__ __forceinline__ int reflect_index(int i, int n) {
  const int m = 2 * n;
  i %= m;
  if (i < 0) i += m;
  return i < n ? i : m - 1 - i;
}

/// The key of rank k (0-based) among w[0..N): bitwise radix select. Invariant: the answer starts
/// with the bits decided so far (`res`); bit b is 0 iff more than k keys are ≤ res|0|1…1.
template <int N> __device__ __forceinline__ uint32_t select_rank(const uint32_t (&w)[N], int k) {
  uint32_t lo = w[0], hi = w[0];
  UAD_UNROLL
  for (int j = 1; j < N; ++j) {
    lo = w[j] < lo ? w[j] : lo;
    hi = w[j] > hi ? w[j] : hi;
  }
  if (lo == hi) return lo;  // constant window (e.g. masked-out background): no passes
  const int top = 31 - __clz((int)(lo ^ hi));     // highest bit where the keys differ
  uint32_t res = lo & ~((2u << top) - 1u);        // the common prefix above it (top = 31: none)
  for (int b = top; b >= 0; --b) {
    const uint32_t t = res | ((1u << b) - 1u);
    int c[4] = {0, 0, 0, 0};  // 4 independent chains (ILP); integer sums, so the order is free
    UAD_UNROLL
    for (int j = 0; j < N; ++j) c[j & 3] += w[j] <= t ? 1 : 0;
    if (c[0] + c[1] + c[2] + c[3] <= k) res |= 1u << b;
  }
  return res;
}

/// One 8×8×8 output tile per block (see the header comment). FUSED: the loaded value is the
/// masked residual of a (= x) and b (= x̂); otherwise a itself.
template <int SIZE, bool FUSED>
__global__ void __launch_bounds__(kBlock)
    median_kernel(const float* __restrict__ a, const float* __restrict__ b, const uint8_t* __restrict__ mask,
                  float* __restrict__ out, int D, int H, int W, bool positive_only) {
  constexpr int R = SIZE / 2, P = kTile + 2 * R, N = SIZE * SIZE * SIZE;
  __shared__ uint32_t tile[P * P * P];
  const int x0 = blockIdx.x * kTile, y0 = blockIdx.y * kTile, z0 = blockIdx.z * kTile;
  const int tid = threadIdx.x + kTile * (threadIdx.y + kTile * threadIdx.z);
  for (int i = tid; i < P * P * P; i += kBlock) {
    const int lx = i % P, t = i / P, ly = t % P, lz = t / P;
    const int gx = reflect_index(x0 + lx - R, W), gy = reflect_index(y0 + ly - R, H), gz = reflect_index(z0 + lz - R, D);
    const int64_t g = ((int64_t)gz * H + gy) * W + gx;
    float v;
    if constexpr (FUSED) {
      const float d = a[g] - b[g];
      v = positive_only ? (d > 0.0f ? d : 0.0f) : fabsf(d);
      if (mask != nullptr && mask[g] == 0) v = 0.0f;
    } else {
      v = a[g];
    }
    tile[i] = float_key(v);
  }
  __syncthreads();
  const int tx = threadIdx.x, ty = threadIdx.y, gx = x0 + tx, gy = y0 + ty;
  UAD_UNROLL
  for (int s = 0; s < kTile / kThreadsZ; ++s) {
    const int tz = threadIdx.z + s * kThreadsZ, gz = z0 + tz;
    if (gx >= W || gy >= H || gz >= D) continue;
    uint32_t w[N];
    UAD_UNROLL
    for (int dz = 0; dz < SIZE; ++dz)
      UAD_UNROLL
      for (int dy = 0; dy < SIZE; ++dy)
        UAD_UNROLL
        for (int dx = 0; dx < SIZE; ++dx) w[(dz * SIZE + dy) * SIZE + dx] = tile[((tz + dz) * P + ty + dy) * P + tx + dx];
    out[((int64_t)gz * H + gy) * W + gx] = key_float(select_rank<N>(w, N / 2));
  }
}

template <bool FUSED>
void run_median(const float* a, const float* b, const uint8_t* mask, float* out, int64_t D, int64_t H, int64_t W,
                bool positive_only, int size, void* stream, const char* op) {
  check(D >= 0 && H >= 0 && W >= 0, op, ": negative size in volume [", D, ",", H, ",", W, "]");
  check(size >= 1 && size <= 7 && size % 2 == 1, op, ": size must be odd, 1..7, got ", size, " (volume [", D, ",", H, ",", W, "])");
  if (D == 0 || H == 0 || W == 0) return;
  const int64_t gx = (W + kTile - 1) / kTile, gy = (H + kTile - 1) / kTile, gz = (D + kTile - 1) / kTile;
  check(W < (int64_t)1 << 30 && gy <= 65535 && gz <= 65535, op, ": volume [", D, ",", H, ",", W, "] too large for one launch grid");
  const dim3 grid((unsigned)gx, (unsigned)gy, (unsigned)gz), block(kTile, kTile, kThreadsZ);
  const auto st = static_cast<cudaStream_t>(stream);
  const int d = (int)D, h = (int)H, w = (int)W;
  switch (size) {
    case 1: return launch(median_kernel<1, FUSED>, grid, block, 0, st, a, b, mask, out, d, h, w, positive_only);
    case 3: return launch(median_kernel<3, FUSED>, grid, block, 0, st, a, b, mask, out, d, h, w, positive_only);
    case 5: return launch(median_kernel<5, FUSED>, grid, block, 0, st, a, b, mask, out, d, h, w, positive_only);
    default: return launch(median_kernel<7, FUSED>, grid, block, 0, st, a, b, mask, out, d, h, w, positive_only);
  }
}

}  // namespace

void fused_residual_median(const float* x, const float* recon, const uint8_t* mask, float* out, int64_t D, int64_t H,
                           int64_t W, bool positive_only, int size, void* stream) {
  run_median<true>(x, recon, mask, out, D, H, W, positive_only, size, stream, "cuda::fused_residual_median");
}

void median_filter3d(const float* in, float* out, int64_t D, int64_t H, int64_t W, int size, void* stream) {
  run_median<false>(in, nullptr, nullptr, out, D, H, W, false, size, stream, "cuda::median_filter3d");
}

}  // namespace uad::cuda
