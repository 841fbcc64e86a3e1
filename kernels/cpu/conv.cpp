// Convolution dispatch: backend selection (UAD_CONV_BACKEND / set_conv_backend) and the measured
// per-op rule of the automatic mode, plus the helpers shared by the two implementations.
#include "kernels/cpu/conv.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/conv_dnnl.h"
#include "kernels/cpu/conv_im2col.h"
#include "kernels/cpu/loops.h"
#include "tensor/error.h"

namespace uad::cpu {

namespace {

std::atomic<int> g_override{-1};
std::atomic<int> g_last{(int)ConvBackend::automatic};

ConvBackend from_env() {
  const char* v = std::getenv("UAD_CONV_BACKEND");
  if (!v || !*v || !std::strcmp(v, "auto")) return ConvBackend::automatic;
  if (!std::strcmp(v, "dnnl") || !std::strcmp(v, "onednn")) return ConvBackend::dnnl;
  if (!std::strcmp(v, "im2col")) return ConvBackend::im2col;
  fail("UAD_CONV_BACKEND='", v, "' is not one of auto, dnnl, im2col");
}

/// The automatic rule for f32, measured with bench/bench_conv.cpp on the 2-core AVX-512 machines
/// (best of 3 quiet runs; batch 8 at 128²/256² 5×5 s2, batch 2 at 64³/32³ 4×4×4 s2, and the
/// unified AE's 1×1 convolutions):
///  - oneDNN with its blocked layouts (Layout::any, jit:avx512_core) for every op: 200–480 GFLOP/s,
///    2–4× oneDNN on plain NCHW (its gemm fallback) and 2–5× im2col + OpenBLAS;
///  - except the backward-data of a convolution with fewer than 16 input channels (the gradient
///    w.r.t. an image), where the blocked kernel drops to ~25 GFLOP/s: there oneDNN on plain
///    layouts wins in 2-D (0.47 ms vs 0.57 im2col vs 2.0 blocked at 1→32, 128²) and im2col in 3-D
///    (3.8 ms vs 5.6 plain vs 22 blocked at 1→64, 64³);
///  - and 1×1 stride-1 convolutions, which are plain GEMMs: oneDNN on plain layouts (0.10 ms vs
///    0.62 blocked for 32→1 at 128²; 0.01 vs 0.025 for 128→16 at 8²), except the backward-data
///    into a layer with fewer than 16 output channels, where im2col (a single GEMM) wins (0.25 ms
///    vs 0.44 plain vs 0.99 blocked for 32→1 at 128²);
///  - and (kernels/cpu/conv_direct.h) stride-1 convolutions with ≤ 4 output channels and a
///    kernel larger than 1×1, all three ops, by direct loops: oneDNN's blocked kernels pad Cout to
///    16, its plain layout and im2col are memory-bound. Measured (fwd / bwd data / bwd weights,
///    ms, load ≈ 2): 32→1 5×5 pad 2 at 256², batch 8: direct 9.2 / 9.8 / 12.4, blocked 30 / 30 /
///    31, plain 120 / 152 / 90, im2col 115 / 140 / 101; 64→1 3×3×3 pad 1 at 64³, batch 2: direct
///    34 / 28 / 49, blocked 78 / 59 / 67;
///  - and dense convolutions (the window covers the whole unpadded input, output 1×1(×1)) as
///    streamed products over the batch (conv_direct.h), which skip oneDNN's per-call weight
///    reorder: 512→2500 k4 on 4³ (the 3-D generator's first transposed conv), batch 2: dense
///    8.6 / 11.2 / 10.2, blocked 265 / 28 / 40, plain 8.9 / 12 / 1342, im2col 31 / 48 / 39.
struct Choice {
  ConvBackend backend;
  dnnl_conv::Layout layout;
};

Choice choose(ConvOp op, const ConvGeom& g) {
  using L = dnnl_conv::Layout;
  const ConvBackend b = conv_backend();
  const bool automatic = b == ConvBackend::automatic || b == ConvBackend::direct;
  if (b == ConvBackend::im2col) return {ConvBackend::im2col, L::any};
  if (b != ConvBackend::dnnl && (direct::dense(g) || direct::applicable(op, g))) return {ConvBackend::direct, L::any};
  if (g.pointwise()) {
    if (automatic && op == ConvOp::backward_input && g.Cout < 16) return {ConvBackend::im2col, L::any};
    return {ConvBackend::dnnl, L::plain};
  }
  if (op == ConvOp::backward_input && g.Cin < 16) {
    if (automatic && g.nd == 3) return {ConvBackend::im2col, L::any};
    return {ConvBackend::dnnl, L::plain};
  }
  return {ConvBackend::dnnl, L::any};
}

bool empty_geom(const ConvGeom& g) { return g.N == 0 || g.Cin == 0 || g.Cout == 0; }

}  // namespace

ConvBackend conv_backend() {
  const int o = g_override.load();
  if (o >= 0) return (ConvBackend)o;
  static const ConvBackend env = from_env();
  return env;
}

void set_conv_backend(ConvBackend b) { g_override = (int)b; }

const char* conv_backend_name(ConvBackend b) {
  switch (b) {
    case ConvBackend::automatic: return "auto";
    case ConvBackend::im2col: return "im2col";
    case ConvBackend::dnnl: return "dnnl";
    case ConvBackend::direct: return "direct";
  }
  return "?";
}

ConvBackend last_conv_backend() { return (ConvBackend)g_last.load(); }
void note_conv_backend(ConvBackend b) { g_last = (int)b; }

// ---- f32: oneDNN or im2col ------------------------------------------------------------------
void conv_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  if (empty_geom(g)) {
    std::memset(y, 0, sizeof(float) * g.N * g.Cout * g.out_size());
    if (bias) add_channel_bias(y, bias, g.N, g.Cout, g.out_size());
    return;
  }
  const Choice c = choose(ConvOp::forward, g);
  if (c.backend == ConvBackend::direct) {
    if (direct::dense(g)) direct::dense_forward<float>(g, x, w, bias, y);
    else direct::forward<float>(g, x, w, bias, y);
    note_conv_backend(ConvBackend::direct);
    return;
  }
  if (c.backend == ConvBackend::dnnl && dnnl_conv::forward(g, x, w, bias, y, c.layout)) return;
  im2col::forward<float>(g, x, w, bias, y);
  note_conv_backend(ConvBackend::im2col);
}

void conv_backward_input(const ConvGeom& g, const float* gy, const float* w, const float* bias, float* gx) {
  if (empty_geom(g)) {
    std::memset(gx, 0, sizeof(float) * g.N * g.Cin * g.in_size());
    if (bias) add_channel_bias(gx, bias, g.N, g.Cin, g.in_size());
    return;
  }
  const Choice c = choose(ConvOp::backward_input, g);
  if (c.backend == ConvBackend::direct) {
    if (direct::dense(g)) direct::dense_backward_input<float>(g, gy, w, bias, gx);
    else direct::backward_input<float>(g, gy, w, bias, gx);
    note_conv_backend(ConvBackend::direct);
    return;
  }
  if (c.backend == ConvBackend::dnnl && dnnl_conv::backward_data(g, gy, w, bias, gx, c.layout)) return;
  im2col::backward_input<float>(g, gy, w, bias, gx);
  note_conv_backend(ConvBackend::im2col);
}

void conv_backward_weight(const ConvGeom& g, const float* x, const float* gy, float* gw) {
  if (empty_geom(g)) {
    std::memset(gw, 0, sizeof(float) * g.Cout * g.Cin * g.k_size());
    return;
  }
  const Choice c = choose(ConvOp::backward_weight, g);
  if (c.backend == ConvBackend::direct) {
    if (direct::dense(g)) direct::dense_backward_weight<float>(g, x, gy, gw);
    else direct::backward_weight<float>(g, x, gy, gw);
    note_conv_backend(ConvBackend::direct);
    return;
  }
  if (c.backend == ConvBackend::dnnl && dnnl_conv::backward_weights(g, x, gy, gw, c.layout)) return;
  im2col::backward_weight<float>(g, x, gy, gw);
  note_conv_backend(ConvBackend::im2col);
}

// ---- f64: im2col only (oneDNN has no f64 convolution) --------------------------------------
void conv_forward(const ConvGeom& g, const double* x, const double* w, const double* bias, double* y) {
  if (empty_geom(g)) {
    std::memset(y, 0, sizeof(double) * g.N * g.Cout * g.out_size());
    if (bias) add_channel_bias(y, bias, g.N, g.Cout, g.out_size());
    return;
  }
  im2col::forward<double>(g, x, w, bias, y);
  note_conv_backend(ConvBackend::im2col);
}

void conv_backward_input(const ConvGeom& g, const double* gy, const double* w, const double* bias, double* gx) {
  if (empty_geom(g)) {
    std::memset(gx, 0, sizeof(double) * g.N * g.Cin * g.in_size());
    if (bias) add_channel_bias(gx, bias, g.N, g.Cin, g.in_size());
    return;
  }
  im2col::backward_input<double>(g, gy, w, bias, gx);
  note_conv_backend(ConvBackend::im2col);
}

void conv_backward_weight(const ConvGeom& g, const double* x, const double* gy, double* gw) {
  if (empty_geom(g)) {
    std::memset(gw, 0, sizeof(double) * g.Cout * g.Cin * g.k_size());
    return;
  }
  im2col::backward_weight<double>(g, x, gy, gw);
  note_conv_backend(ConvBackend::im2col);
}

// ---- helpers ----------------------------------------------------------------------------------
template <class T> void add_channel_bias(T* y, const T* bias, int64_t N, int64_t C, int64_t sp) {
  parallel_for(N * C, sp, [&](int64_t i) {
    const T b = bias[i % C];
    T* p = y + i * sp;
#pragma omp simd
    for (int64_t j = 0; j < sp; ++j) p[j] += b;
  });
}
template void add_channel_bias<float>(float*, const float*, int64_t, int64_t, int64_t);
template void add_channel_bias<double>(double*, const double*, int64_t, int64_t, int64_t);

namespace {
struct Scratch {
  void* p[8] = {};
  size_t n[8] = {};
  ~Scratch() {
    for (void* q : p) std::free(q);
  }
};
thread_local Scratch t_scratch;
}  // namespace

void* conv_scratch(int slot, size_t bytes) {
  check(slot >= 0 && slot < 8, "conv_scratch: slot ", slot, " out of range");
  Scratch& s = t_scratch;
  if (s.n[slot] < bytes) {
    std::free(s.p[slot]);
    const size_t sz = (bytes + 4095) / 4096 * 4096;
    s.p[slot] = std::aligned_alloc(64, sz);
    if (!s.p[slot]) {
      s.n[slot] = 0;
      fail("conv_scratch: out of memory allocating ", bytes, " bytes");
    }
    s.n[slot] = sz;
  }
  return s.p[slot];
}

void release_conv_scratch() {
  Scratch& s = t_scratch;
  for (int i = 0; i < 8; ++i) {
    std::free(s.p[i]);
    s.p[i] = nullptr;
    s.n[i] = 0;
  }
}

}  // namespace uad::cpu
