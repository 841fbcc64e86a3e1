// Strided N-operand loops for CPU kernels (PyTorch's TensorIterator idea, reduced to what uad
// needs): adjacent dimensions that are contiguous for every operand are merged, then the loop
// runs over the outer index space in parallel (OpenMP) and calls a kernel on 1-D runs of the
// innermost dimension, where a vectorisable inner loop does the work.
#pragma once
#include <omp.h>

#include <array>
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace uad::cpu {

/// Elements below which a loop stays single-threaded (thread start-up costs more).
constexpr int64_t kParallelGrain = 32768;

/// Shape of broadcasting a and b (NumPy rules); throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// Strides of `t` viewed as broadcast to `shape` (0 along broadcast dims).
Shape broadcast_strides(const Tensor& t, const Shape& shape);

/// Merges dimensions that are contiguous across all operands; drops size-1 dims.
/// On return shape.size() == strides[k].size() ≥ 1.
template <size_t N> void coalesce(Shape& shape, std::array<Shape, N>& strides) {
  Shape s;
  std::array<Shape, N> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!s.empty()) {
      bool merge = true;
      for (size_t k = 0; k < N; ++k)
        if (st[k].back() != strides[k][d] * shape[d]) { merge = false; break; }
      if (merge) {
        s.back() *= shape[d];
        for (size_t k = 0; k < N; ++k) st[k].back() = strides[k][d];
        continue;
      }
    }
    s.push_back(shape[d]);
    for (size_t k = 0; k < N; ++k) st[k].push_back(strides[k][d]);
  }
  if (s.empty()) {
    s.push_back(1);
    for (size_t k = 0; k < N; ++k) st[k].push_back(0);
  }
  shape = s;
  strides = st;
}

/// Calls fn(ptrs, n, inner_strides) for every innermost run of `shape`, where ptrs[k] points at
/// the run's first element of operand k (element pointers of type T_k cast to char*; strides in
/// elements of each operand's own dtype, sizes in `elem`).
template <size_t N, class Fn>
void strided_loop(Shape shape, std::array<Shape, N> strides, std::array<char*, N> base,
                  std::array<size_t, N> elem, Fn fn) {
  coalesce<N>(shape, strides);
  const int64_t nd = (int64_t)shape.size();
  const int64_t inner = shape[nd - 1];
  int64_t outer = 1;
  for (int64_t d = 0; d < nd - 1; ++d) outer *= shape[d];
  std::array<int64_t, N> istr;
  for (size_t k = 0; k < N; ++k) istr[k] = strides[k][nd - 1];
  auto run = [&](int64_t o) {
    std::array<char*, N> p = base;
    int64_t rem = o;
    for (int64_t d = nd - 2; d >= 0; --d) {
      int64_t i = rem % shape[d];
      rem /= shape[d];
      for (size_t k = 0; k < N; ++k) p[k] += i * strides[k][d] * (int64_t)elem[k];
    }
    fn(p, inner, istr);
  };
  const int64_t total = outer * inner;
  if (outer == 1 && total >= kParallelGrain) {
    // One long run: split it across threads.
    int nt = omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int t = 0; t < nt; ++t) {
      int64_t b = inner * t / nt, e = inner * (t + 1) / nt;
      if (b >= e) continue;
      std::array<char*, N> p = base;
      for (size_t k = 0; k < N; ++k) p[k] += b * istr[k] * (int64_t)elem[k];
      fn(p, e - b, istr);
    }
  } else if (total >= kParallelGrain) {
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < outer; ++o) run(o);
  } else {
    for (int64_t o = 0; o < outer; ++o) run(o);
  }
}

/// Runs body(i) for i in [0,n) in parallel when n·cost_per_item is large enough.
template <class Body> void parallel_for(int64_t n, int64_t cost_per_item, Body body) {
  if (n * cost_per_item >= kParallelGrain && n > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) body(i);
  } else {
    for (int64_t i = 0; i < n; ++i) body(i);
  }
}

}  // namespace uad::cpu
