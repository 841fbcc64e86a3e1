// Two convolution shapes that oneDNN's blocked kernels and im2col both handle badly, computed
// directly (f32 and f64, contiguous NC[D]HW / OI[D]HW buffers; kernels/cpu/conv.h semantics):
//
// 1. Few output channels, stride 1, dilation 1, kernel larger than 1×1 — e.g. the Baur-2018
//    models' output conv 32→1 5×5 at 256² and the 3-D f-AnoGAN generator's last conv 64→1 3×3×3
//    at 64³. oneDNN's blocked layouts pad Cout to 16 (16× the work), its plain-layout fallback
//    and im2col (a [Cin·k, out] column matrix per sample for a 1-row GEMM) are memory-bound:
//    measured 30–150 ms per op for the 256² layer at batch 8 (8–12 ms here). Each output row is
//    accumulated in registers over all taps (vectorised along the row; 8 rows of a tile share
//    their zero-padded input rows):
//      forward          y[n,o,r] = Σ_c Σ_k w[o,c,k]·x[n,c,r+k−pad]      (row tiles in parallel)
//      backward input   the forward of gy with the flipped, transposed kernel and padding
//                       k−1−pad (a stride-1 full correlation), Cin and Cout exchanged
//      backward weight  gw[o,c,k] = Σ_n Σ_r gy[n,o,r]·x[n,c,r+k−pad]    (input channels in
//                       parallel, each a fixed-order sum: deterministic)
// 2. "Dense" convolutions whose window covers the whole unpadded input (in = k, pad 0, output
//    1×1(×1)) — the 3-D f-AnoGAN's k4 heads on 4³ maps and its generator's first transposed conv
//    2500→512: products over the batch instead of oneDNN's per-call reorder of the weights
//    (2500×512×64 floats, 330 MB) or im2col's one GEMV per sample, with F = Cin·k:
//      forward y[N,Cout] = x[N,F]·Wᵀ, backward input gx[N,F] = gy·W, backward weight
//      gW[Cout,F] = gyᵀ·x — for N ≤ 8 as loops that stream W (or gW) once (memory-bound; OpenBLAS
//      would first pack all of W), else one GEMM.
// kernels/cpu/conv.cpp uses them in the automatic backend mode only (forced dnnl or im2col modes
// are unchanged); the rule and its measurements are there.
#pragma once
#include "kernels/cpu/conv.h"

namespace uad::cpu::direct {

/// Case 1 applies to op on g: stride 1, dilation 1, not pointwise, pad ≤ k−1 on every axis, and
/// the channels that the op's output rows are built from few enough (forward and backward
/// weight: Cout ≤ kMaxChannels; backward input: Cout ≤ kMaxChannels as well — the direct
/// backward input runs a forward with Cin' = Cout).
constexpr int64_t kMaxChannels = 4;
bool applicable(ConvOp op, const ConvGeom& g);
/// Case 2 applies: out = 1 and pad = 0 on every axis and in = k (dilation 1).
bool dense(const ConvGeom& g);

/// Case 1 (require applicable(op, g)); bias as in kernels/cpu/conv.h (may be null).
template <class T> void forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y);
template <class T> void backward_input(const ConvGeom& g, const T* gy, const T* w, const T* bias, T* gx);
template <class T> void backward_weight(const ConvGeom& g, const T* x, const T* gy, T* gw);

/// Case 2 (require dense(g)).
template <class T> void dense_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y);
template <class T> void dense_backward_input(const ConvGeom& g, const T* gy, const T* w, const T* bias, T* gx);
template <class T> void dense_backward_weight(const ConvGeom& g, const T* x, const T* gy, T* gw);

}  // namespace uad::cpu::direct
