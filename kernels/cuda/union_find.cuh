// The union-find steps of the GPU connected-component labelling (kernels/cuda/postprocess_label.cu):
// a parent array L over linear indices with L[x] ≤ x, roots satisfying L[r] == r, and unions that
// always link the larger root under the smaller by atomicMin (Playne & Hawick 2018, "A New
// Algorithm for Parallel Connected-Component Labelling on GPUs", IEEE TPDS 29(6)). So each tree's
// root is the smallest index it holds, whatever order concurrent unions ran in.
// Device code; include after kernels/cuda/portable.cuh. Under the simulator these are plain
// functions, which lets tests/test_sim_postprocess.cpp run them from concurrent host threads
// (the simulator runs a barrier-free thread to completion, so it never interleaves two unions).
#pragma once
#include <cstdint>

#include "kernels/cuda/portable.cuh"

namespace uad::cuda {

/// A read that other threads may have changed since this thread last looked (no caching in a
/// register across iterations of the pointer-chasing loops).
__device__ __forceinline__ int32_t uf_load(const int32_t* p) { return *reinterpret_cast<const volatile int32_t*>(p); }

/// The root of x's tree (no compression: concurrent unions may be relinking roots).
__device__ __forceinline__ int32_t uf_find(const int32_t* L, int32_t x) {
  int32_t p = uf_load(L + x);
  while (p != x) {
    x = p;
    p = uf_load(L + x);
  }
  return x;
}

/// Joins the trees of a and b: the larger root is linked under the smaller by atomicMin. If that
/// root was linked elsewhere meanwhile (old ≠ root), atomicMin may have replaced the link by a
/// smaller one; the loop then unites the old parent too, so no connection is lost.
__device__ __forceinline__ void uf_unite(int32_t* L, int32_t a, int32_t b) {
  for (;;) {
    a = uf_find(L, a);
    b = uf_find(L, b);
    if (a == b) return;
    if (a > b) {
      const int32_t t = a;
      a = b;
      b = t;
    }
    const int32_t old = atomicMin(L + b, a);
    if (old == b) return;
    b = old;
  }
}

}  // namespace uad::cuda
