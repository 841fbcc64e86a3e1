// CUDA simulator, part 2 of 3: what device code calls — the built-in variables, barriers, warp
// intrinsics, atomics and the CUDA-only math functions. Included through kernels/sim/sim.h only.
//
// Semantics (stricter than hardware where hardware is undefined, so bugs surface here):
// - __syncthreads: every thread of the block must reach it. A thread that exits while others
//   wait, or reaches it after another thread exited, is a launch error (not a hang).
// - Warp operations (__syncwarp, __shfl*_sync, __ballot_sync, __all_sync, __any_sync) wait for
//   the 32 lanes of the caller's warp only. The mask must be 0xffffffff and the warp complete
//   (32 threads); all lanes must execute the same operation; a lane that exits while its
//   warp-mates wait is an error. Violations are launch errors naming kernel, thread and source line.
// - Atomics are real atomics (std::atomic_ref, relaxed order).
// - Math: the CUDA intrinsics (__expf, __fdividef, rsqrtf, …) are computed with the exact libm
//   function on the host, so they may differ from a GPU in the last bits.
#pragma once
#include <atomic>
#include <cmath>
#include <cstring>
#include <source_location>
#include <type_traits>

#include "kernels/sim/sim_types.h"

namespace uad::sim::detail {

// The built-in variables of the running thread (set by the block scheduler before it runs or
// resumes a thread; launches are serialised, so plain globals suffice).
extern ::uint3 g_thread_idx;
extern ::uint3 g_block_idx;
extern ::dim3 g_block_dim;
extern ::dim3 g_grid_dim;
extern unsigned char* g_dynamic_shared;

enum class BarrierOp : uint8_t { sync, count, all, any };
enum class WarpOp : uint8_t { syncwarp, shfl, shfl_up, shfl_down, shfl_xor, ballot, all, any };

/// Block barrier; returns the count/and/or of `pred` over the block for count/all/any.
int block_barrier(BarrierOp op, int pred, const std::source_location& loc);
/// Warp operation on `size` bytes of `value` (the lane's operand); returns the lane's result
/// (the shuffled bits, or the ballot mask for ballot/all/any).
uint64_t warp_op(WarpOp op, unsigned mask, uint64_t value, unsigned size, int param, int width,
                 const std::source_location& loc);

template <class T> uint64_t to_bits(T v) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "warp shuffles move values of at most 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T> T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}

}  // namespace uad::sim::detail

// Built-in variables (read-only, as in CUDA).
#define threadIdx (static_cast<const ::uint3&>(::uad::sim::detail::g_thread_idx))
#define blockIdx (static_cast<const ::uint3&>(::uad::sim::detail::g_block_idx))
#define blockDim (static_cast<const ::dim3&>(::uad::sim::detail::g_block_dim))
#define gridDim (static_cast<const ::dim3&>(::uad::sim::detail::g_grid_dim))

// ---- barriers ----
inline void __syncthreads(std::source_location loc = std::source_location::current()) {
  ::uad::sim::detail::block_barrier(::uad::sim::detail::BarrierOp::sync, 0, loc);
}
inline int __syncthreads_count(int pred, std::source_location loc = std::source_location::current()) {
  return ::uad::sim::detail::block_barrier(::uad::sim::detail::BarrierOp::count, pred, loc);
}
inline int __syncthreads_and(int pred, std::source_location loc = std::source_location::current()) {
  return ::uad::sim::detail::block_barrier(::uad::sim::detail::BarrierOp::all, pred, loc);
}
inline int __syncthreads_or(int pred, std::source_location loc = std::source_location::current()) {
  return ::uad::sim::detail::block_barrier(::uad::sim::detail::BarrierOp::any, pred, loc);
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// ---- warp operations ----
inline void __syncwarp(unsigned mask = 0xffffffffu, std::source_location loc = std::source_location::current()) {
  ::uad::sim::detail::warp_op(::uad::sim::detail::WarpOp::syncwarp, mask, 0, 0, 0, warpSize, loc);
}
template <class T>
T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize,
              std::source_location loc = std::source_location::current()) {
  using namespace ::uad::sim::detail;
  return from_bits<T>(warp_op(WarpOp::shfl, mask, to_bits(var), sizeof(T), srcLane, width, loc));
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned int delta, int width = warpSize,
                 std::source_location loc = std::source_location::current()) {
  using namespace ::uad::sim::detail;
  return from_bits<T>(warp_op(WarpOp::shfl_up, mask, to_bits(var), sizeof(T), (int)delta, width, loc));
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned int delta, int width = warpSize,
                   std::source_location loc = std::source_location::current()) {
  using namespace ::uad::sim::detail;
  return from_bits<T>(warp_op(WarpOp::shfl_down, mask, to_bits(var), sizeof(T), (int)delta, width, loc));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize,
                  std::source_location loc = std::source_location::current()) {
  using namespace ::uad::sim::detail;
  return from_bits<T>(warp_op(WarpOp::shfl_xor, mask, to_bits(var), sizeof(T), laneMask, width, loc));
}
inline unsigned __ballot_sync(unsigned mask, int pred, std::source_location loc = std::source_location::current()) {
  using namespace ::uad::sim::detail;
  return (unsigned)warp_op(WarpOp::ballot, mask, pred != 0, 0, 0, warpSize, loc);
}
inline int __all_sync(unsigned mask, int pred, std::source_location loc = std::source_location::current()) {
  using namespace ::uad::sim::detail;
  return (int)warp_op(WarpOp::all, mask, pred != 0, 0, 0, warpSize, loc);
}
inline int __any_sync(unsigned mask, int pred, std::source_location loc = std::source_location::current()) {
  using namespace ::uad::sim::detail;
  return (int)warp_op(WarpOp::any, mask, pred != 0, 0, 0, warpSize, loc);
}
/// All lanes of a simulated warp are always active (divergence is serialised, not masked).
inline unsigned __activemask() { return 0xffffffffu; }

// ---- atomics (CUDA signatures; relaxed, as on the GPU) ----
#define UAD_SIM_ATOMIC_RMW(name, T, expr)                       \
  inline T name(T* address, T val) {                            \
    std::atomic_ref<T> a(*address);                             \
    T old = a.load(std::memory_order_relaxed);                  \
    while (!a.compare_exchange_weak(old, (expr), std::memory_order_relaxed)) {} \
    return old;                                                 \
  }
#define UAD_SIM_ATOMIC_ALL_INT(name, expr)           \
  UAD_SIM_ATOMIC_RMW(name, int, expr)                \
  UAD_SIM_ATOMIC_RMW(name, unsigned int, expr)       \
  UAD_SIM_ATOMIC_RMW(name, unsigned long long, expr)
UAD_SIM_ATOMIC_ALL_INT(atomicAdd, old + val)
UAD_SIM_ATOMIC_RMW(atomicAdd, float, old + val)
UAD_SIM_ATOMIC_RMW(atomicAdd, double, old + val)
UAD_SIM_ATOMIC_RMW(atomicSub, int, old - val)
UAD_SIM_ATOMIC_RMW(atomicSub, unsigned int, old - val)
UAD_SIM_ATOMIC_ALL_INT(atomicMax, old > val ? old : val)
UAD_SIM_ATOMIC_RMW(atomicMax, long long, old > val ? old : val)
UAD_SIM_ATOMIC_ALL_INT(atomicMin, old < val ? old : val)
UAD_SIM_ATOMIC_RMW(atomicMin, long long, old < val ? old : val)
UAD_SIM_ATOMIC_ALL_INT(atomicAnd, old & val)
UAD_SIM_ATOMIC_ALL_INT(atomicOr, old | val)
UAD_SIM_ATOMIC_ALL_INT(atomicXor, old ^ val)
UAD_SIM_ATOMIC_ALL_INT(atomicExch, val)
UAD_SIM_ATOMIC_RMW(atomicExch, float, val)
/// ((old >= val) ? 0 : old + 1), as CUDA's atomicInc.
UAD_SIM_ATOMIC_RMW(atomicInc, unsigned int, old >= val ? 0u : old + 1u)
#undef UAD_SIM_ATOMIC_ALL_INT
#undef UAD_SIM_ATOMIC_RMW

#define UAD_SIM_ATOMIC_CAS(T)                                               \
  inline T atomicCAS(T* address, T compare, T val) {                        \
    std::atomic_ref<T>(*address).compare_exchange_strong(compare, val, std::memory_order_relaxed); \
    return compare; /* the old value, whether or not it was swapped */      \
  }
UAD_SIM_ATOMIC_CAS(int)
UAD_SIM_ATOMIC_CAS(unsigned int)
UAD_SIM_ATOMIC_CAS(unsigned long long)
#undef UAD_SIM_ATOMIC_CAS

// ---- math and bit functions that CUDA has and the C library lacks ----
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline int __float_as_int(float x) { int i; std::memcpy(&i, &x, 4); return i; }
inline unsigned __float_as_uint(float x) { unsigned i; std::memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; std::memcpy(&x, &i, 4); return x; }
inline float __uint_as_float(unsigned i) { float x; std::memcpy(&x, &i, 4); return x; }
inline long long __double_as_longlong(double x) { long long i; std::memcpy(&i, &x, 8); return i; }
inline double __longlong_as_double(long long i) { double x; std::memcpy(&x, &i, 8); return x; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
  x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
  return (x >> 16) | (x << 16);
}
template <class T> inline T __ldg(const T* p) { return *p; }
// CUDA's integer/float min and max overloads (device code calls them unqualified).
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
inline unsigned long max(unsigned long a, unsigned long b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }
