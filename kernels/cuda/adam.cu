/*
Fused multi-tensor Adam step (issue 3): one launch updates a list of parameter tensors (p, m, v
in place from g), with the CPU's formula fn::adam_update and its per-step scalars
fn::adam_scalars (kernels/common/optim_functors.h; train/optim.cpp calls the same two), so each
element follows the same fp32 (or fp64) operations as on the CPU.

version 1: PyTorch's multi_tensor_apply layout. The host cuts every tensor into chunks of
  kChunk = 4096 elements and fills a table, passed by value as the kernel argument (≈2.6 KB, under
  the 4 KB parameter limit): up to kMaxTensors = 24 tensor pointer sets and kMaxChunks = 320
  (tensor, chunk) entries; block b processes chunk entry b with 256 threads × 16 elements
  (grid-stride within the chunk, coalesced). More tensors or chunks → further launches. A model of
  ~60 parameter tensors takes 3 launches instead of 60, and small tensors (biases) no longer cost
  a launch each.
Arithmetic intensity (f32): reads p, g, m, v and writes p, m, v: 28 B per element; ~12 FLOP
  (incl. a sqrt and a division) — memory-bound (0.4 FLOP/B).
*/
#include "kernels/cuda/launch.cuh"  // first: the CUDA runtime or the simulator (defines __host__ etc.)

#include <cstdint>

#include "kernels/common/optim_functors.h"
#include "kernels/cuda/kernels.h"
#include "tensor/error.h"

namespace uad::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kChunk = 4096;
constexpr int kMaxTensors = 24;
constexpr int kMaxChunks = 320;

template <class T> struct AdamTable {
  T* p[kMaxTensors];
  const T* g[kMaxTensors];
  T* m[kMaxTensors];
  T* v[kMaxTensors];
  int64_t n[kMaxTensors];
  uint8_t tensor[kMaxChunks];
  int32_t chunk[kMaxChunks];
};

template <class T>
__global__ void __launch_bounds__(kBlock) adam_kernel(AdamTable<T> tab, fn::AdamScalars<T> s) {
  const int t = tab.tensor[blockIdx.x];
  const int64_t begin = (int64_t)tab.chunk[blockIdx.x] * kChunk;
  const int64_t end = begin + kChunk < tab.n[t] ? begin + kChunk : tab.n[t];
  T* p = tab.p[t];
  const T* g = tab.g[t];
  T* m = tab.m[t];
  T* v = tab.v[t];
  for (int64_t j = begin + threadIdx.x; j < end; j += kBlock) {
    T w = p[j], mj = m[j], vj = v[j];
    fn::adam_update(w, g[j], mj, vj, s);
    p[j] = w;
    m[j] = mj;
    v[j] = vj;
  }
}

template <class T> void step_t(const std::vector<AdamTensor>& ts, const fn::AdamScalars<T>& s, cudaStream_t st) {
  static_assert(sizeof(AdamTable<T>) <= 4000, "the table must fit the 4 KB kernel parameter space");
  AdamTable<T> tab{};
  int nt = 0, nc = 0;
  auto flush = [&] {
    if (nc > 0) launch(adam_kernel<T>, (unsigned)nc, kBlock, 0, st, tab, s);
    nt = nc = 0;
  };
  for (const AdamTensor& a : ts) {
    if (a.n == 0) continue;
    const int64_t chunks = (a.n + kChunk - 1) / kChunk;
    check(chunks <= INT32_MAX, "cuda::adam_step: a tensor of ", a.n, " elements has too many chunks");
    for (int64_t c = 0; c < chunks; ++c) {
      if (c == 0 || nt == 0) {  // (re)register the tensor in the current table
        if (nt == kMaxTensors) flush();
        tab.p[nt] = static_cast<T*>(a.p);
        tab.g[nt] = static_cast<const T*>(a.g);
        tab.m[nt] = static_cast<T*>(a.m);
        tab.v[nt] = static_cast<T*>(a.v);
        tab.n[nt] = a.n;
        ++nt;
      }
      tab.tensor[nc] = (uint8_t)(nt - 1);
      tab.chunk[nc] = (int32_t)c;
      if (++nc == kMaxChunks) flush();
    }
  }
  flush();
}

}  // namespace

void adam_step(DType dtype, const std::vector<AdamTensor>& tensors, const AdamStepParams& prm, void* stream) {
  const char* op = "cuda::adam_step";
  check(prm.t >= 1, op, ": step number ", prm.t, " < 1");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const AdamTensor& a = tensors[i];
    check(a.n >= 0, op, ": tensor ", i, " has a negative size ", a.n);
    check(a.n == 0 || (a.p && a.g && a.m && a.v), op, ": tensor ", i, " has a null pointer");
  }
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::f32:
      return step_t<float>(tensors, fn::adam_scalars<float>(prm.lr, prm.beta1, prm.beta2, prm.eps, prm.weight_decay, prm.t), st);
    case DType::f64:
      return step_t<double>(tensors, fn::adam_scalars<double>(prm.lr, prm.beta1, prm.beta2, prm.eps, prm.weight_decay, prm.t), st);
    default: fail(op, ": expected f32 or f64, got ", dtype_name(dtype));
  }
}

}  // namespace uad::cuda
