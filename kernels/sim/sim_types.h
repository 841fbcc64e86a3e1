// CUDA simulator, part 1 of 3: the language surface that g++ lacks — function and variable
// qualifiers, dim3 and the vector types. Included through kernels/sim/sim.h only.
//
// `__shared__` (static shared memory). All threads of a block run as fibers on ONE OS thread
// and the blocks of a launch run one after another (a global lock serialises launches), so a
// function-local `static` is exactly "one array per block, shared by the block's threads".
// It is tagged with the ABI tag `uad_sim_shared`, which GCC writes into the symbol's mangled name
// (`…B14uad_sim_shared`); the runtime finds every such symbol in the executable's symbol table
// and fills it with 0xFF bytes (NaN for f32/f64, -1 for integers) before each block, so a kernel
// that reads shared memory before writing it sees poison, never the previous block's data.
// (A named section would be simpler, but GCC ignores `section` on statics of templates.)
// Dynamic shared memory: UAD_DYNAMIC_SHARED(T, name) from kernels/cuda/portable.cuh
// (`extern __shared__` cannot be expressed with a static).
#pragma once
#ifndef UAD_CUDA_SIM
#error "kernels/sim/ is the CUDA simulator: compile with -DUAD_CUDA_SIM (CMake -DUAD_CUDA_SIM=ON)"
#endif
#include <cstdint>

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
// No __noinline__: libstdc++ spells __attribute__((__noinline__)) itself, which such a macro breaks.
#define __shared__ static __attribute__((abi_tag("uad_sim_shared"), aligned(16)))

/// The ABI tag that marks static shared arrays (see above); the runtime searches for it.
#define UAD_SIM_SHARED_TAG "uad_sim_shared"

constexpr int warpSize = 32;

/// Built-in index type of threadIdx/blockIdx (CUDA vector_types.h).
struct uint3 {
  unsigned int x, y, z;
};

/// Launch dimensions; unspecified components are 1 (CUDA vector_types.h).
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

// Vector types with CUDA's sizes and alignments (so vectorised loads keep their alignment rules).
struct __align__(8) float2 { float x, y; };
struct float3 { float x, y, z; };
struct __align__(16) float4 { float x, y, z, w; };
struct __align__(16) double2 { double x, y; };
struct __align__(8) int2 { int x, y; };
struct int3 { int x, y, z; };
struct __align__(16) int4 { int x, y, z, w; };
struct __align__(8) uint2 { unsigned int x, y; };
struct __align__(16) uint4 { unsigned int x, y, z, w; };
struct __align__(16) longlong2 { long long x, y; };
struct __align__(16) ulonglong2 { unsigned long long x, y; };

inline float2 make_float2(float x, float y) { return {x, y}; }
inline float3 make_float3(float x, float y, float z) { return {x, y, z}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int3 make_int3(int x, int y, int z) { return {x, y, z}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
