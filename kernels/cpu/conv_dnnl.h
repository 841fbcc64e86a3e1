// Convolution through oneDNN 2.6 (f32 only): convolution_forward, convolution_backward_data and
// convolution_backward_weights primitives on plain NC[D]HW / OI[D]HW buffers.
//
// With Layout::any the primitive picks its preferred (blocked, e.g. nChw16c / OIhw16i16o) layouts
// and the plain buffers are reordered in and out (measured: the reorders cost ≈5–15 % of the
// convolution at the unified-architecture sizes while the blocked avx512 kernels run 2–3× faster
// than oneDNN's own gemm fallback on plain layouts); Layout::plain asks for the plain layouts.
// Primitives, their reorders and their memory descriptors are cached per (op, layout, geometry,
// bias, OpenMP thread count) — every field of ConvGeom is part of the key. The blocked copies
// and oneDNN's scratchpad live in per-thread grow-only buffers (conv_scratch), except the blocked
// weights of a forward / backward-data entry when they are ≥ 256 KiB: each entry keeps its last
// blocked weights with a copy of the plain values they came from, and a call with the same
// weight address and byte-identical values (memcmp) skips the reorder (exact; a WGAN-GP critic
// step reads each weight ≈ 12 times between two optimiser steps).
#pragma once
#include <string>

#include "kernels/cpu/conv.h"

namespace uad::cpu::dnnl_conv {

enum class Layout { any, plain };

/// Each returns false (computing nothing) when oneDNN rejects the geometry, e.g. a negative
/// right padding; the caller then falls back to im2col. bias as in kernels/cpu/conv.h.
bool forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y, Layout l = Layout::any);
bool backward_data(const ConvGeom& g, const float* gy, const float* w, const float* bias, float* gx,
                   Layout l = Layout::any);
bool backward_weights(const ConvGeom& g, const float* x, const float* gy, float* gw, Layout l = Layout::any);

/// oneDNN's name for the implementation it picked (e.g. "jit:avx512_core", "gemm:jit"), or
/// "unsupported". For benchmarks and logs.
std::string impl_name(ConvOp op, const ConvGeom& g, Layout l = Layout::any);

}  // namespace uad::cpu::dnnl_conv
