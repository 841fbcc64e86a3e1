/*
Philox random fills (issue 3): the CPU generator's stream exactly (spec in tensor/generator.h, one
definition of the bits in kernels/common/philox.h). Value i of a draw comes from word i%4 of
Philox-4x32-10 block first_block + i/4 under key (lo32(seed), hi32(seed)), so every thread
computes its values independently — no state, no sequential dependence.

version 1: one Philox block (4 values) per thread per grid-stride step; the 4 values are stored
  with one 16-byte store (f32; two for f64) when the output is aligned, one by one otherwise and
  for the last partial block. uniform: (w >> 8)·2^-24; normal: Box–Muller on word pairs;
  bernoulli: uniform < p.
  Uniform and bernoulli are bit-identical to the CPU on any device. Normal uses logf/sqrtf/cosf/
  sinf: bit-identical under the simulator (same libm); on a GPU CUDA's logf/sinf/cosf are within
  1–2 ulp of glibc's, so randn can differ in the last bits there (masks never do).
Launch: 256 threads per block, up to 16384 blocks, grid-stride.
Arithmetic intensity (f32): 4 B written per value; Philox is 10 rounds × 2 mul.hi/lo per 4 values
  (~20 integer ops per value, ~35 with Box–Muller's transcendental calls) — close to balanced on
  sm_80, memory-bound for uniform.
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cstdint>

#include "kernels/common/philox.h"
#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr unsigned kBlock = 256;
constexpr unsigned kMaxBlocks = 16384;

enum class Dist : int { uniform, normal, bernoulli };

template <class T> struct alignas(4 * sizeof(T) > 16 ? 16 : 4 * sizeof(T)) Quad {
  T v[4];
};

template <Dist D> __device__ __forceinline__ void values(const philox::U4& w, float p, float (&z)[4]) {
  if constexpr (D == Dist::normal) {
    philox::box_muller(w.x[0], w.x[1], z[0], z[1]);
    philox::box_muller(w.x[2], w.x[3], z[2], z[3]);
  } else {
    UAD_UNROLL
    for (int k = 0; k < 4; ++k) {
      const float u = philox::to_uniform(w.x[k]);
      z[k] = D == Dist::uniform ? u : (u < p ? 1.0f : 0.0f);
    }
  }
}

template <class T, Dist D, bool VEC>
__global__ void __launch_bounds__(kBlock) philox_kernel(T* __restrict__ out, int64_t n, uint64_t seed, uint64_t first_block, float p) {
  const int64_t nblocks = (n + 3) / 4, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < nblocks; j += step) {
    float z[4];
    values<D>(philox::block_words(seed, first_block + (uint64_t)j), p, z);
    const int64_t i0 = j * 4;
    if (VEC && i0 + 4 <= n) {
      Quad<T> q;
      UAD_UNROLL
      for (int k = 0; k < 4; ++k) q.v[k] = (T)z[k];
      *reinterpret_cast<Quad<T>*>(out + i0) = q;
    } else {
      for (int k = 0; k < 4 && i0 + k < n; ++k) out[i0 + k] = (T)z[k];
    }
  }
}

template <class T, Dist D> void fill(void* out, int64_t n, uint64_t seed, uint64_t first_block, float p, cudaStream_t st) {
  if (n == 0) return;
  T* o = static_cast<T*>(out);
  const unsigned grid = grid_for((n + 3) / 4, kBlock, 1, kMaxBlocks);
  if (reinterpret_cast<uintptr_t>(o) % alignof(Quad<T>) == 0)
    launch(philox_kernel<T, D, true>, grid, kBlock, 0, st, o, n, seed, first_block, p);
  else
    launch(philox_kernel<T, D, false>, grid, kBlock, 0, st, o, n, seed, first_block, p);
}

template <Dist D> void fill_any(const char* op, DType dtype, void* out, int64_t n, uint64_t seed, uint64_t first_block, float p, void* stream) {
  check(n >= 0, op, ": negative n ", n);
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::f32: return fill<float, D>(out, n, seed, first_block, p, st);
    case DType::f64: return fill<double, D>(out, n, seed, first_block, p, st);
    default: fail(op, ": dtype must be f32 or f64, got ", dtype_name(dtype));
  }
}

}  // namespace

void fill_uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t first_block, void* stream) {
  fill_any<Dist::uniform>("cuda::fill_uniform", dtype, out, n, seed, first_block, 0.0f, stream);
}

void fill_normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t first_block, void* stream) {
  fill_any<Dist::normal>("cuda::fill_normal", dtype, out, n, seed, first_block, 0.0f, stream);
}

void fill_bernoulli(DType dtype, void* out, int64_t n, double p, uint64_t seed, uint64_t first_block, void* stream) {
  check(p >= 0.0 && p <= 1.0, "cuda::fill_bernoulli: probability ", p, " outside [0,1]");
  fill_any<Dist::bernoulli>("cuda::fill_bernoulli", dtype, out, n, seed, first_block, (float)p, stream);
}

}  // namespace uad::cuda
