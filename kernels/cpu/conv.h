// CPU convolution kernels: the three ops of tensor/ops_conv.h on contiguous buffers, dispatched to
// oneDNN (f32; kernels/cpu/conv_dnnl.h), im2col/vol2col + OpenBLAS GEMM (f32 and f64;
// kernels/cpu/conv_im2col.h) or, for two shapes both handle badly (few output channels at
// stride 1; a window covering the whole input), direct loops / one GEMM (f32 in the automatic
// mode; kernels/cpu/conv_direct.h).
//
// Backend choice:
//   UAD_CONV_BACKEND=auto   (default) the measured faster implementation per op and shape
//                           (bench/bench_conv.cpp; the rule and its numbers: conv.cpp `choose`);
//   UAD_CONV_BACKEND=dnnl   oneDNN for every f32 op it accepts (f64 always uses im2col: oneDNN
//                           has no f64 convolution);
//   UAD_CONV_BACKEND=im2col im2col + GEMM everywhere.
// The variable is read once, at the first convolution; set_conv_backend() overrides it at run
// time (tests use it to compare the two paths).
#pragma once
#include <cstdint>

#include "tensor/dtype.h"

namespace uad::cpu {

/// Geometry of one convolution x ⋆ w → y with x: [N,Cin,*in], w: [Cout,Cin,*k], y: [N,Cout,*out].
/// Spatial arrays are [D,H,W]; a 2-D convolution (nd = 2) is stored with depth 1 (in, k, out,
/// stride, dil = 1 and pad = 0 at index 0), so one vol2col serves both ranks.
/// out = ⌊(in + 2·pad − dil·(k−1) − 1)/stride⌋ + 1 (PyTorch Conv semantics); callers fill `out`.
struct ConvGeom {
  int nd = 2;
  int64_t N = 0, Cin = 0, Cout = 0;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1};

  int64_t in_size() const { return in[0] * in[1] * in[2]; }    // voxels per input channel
  int64_t k_size() const { return k[0] * k[1] * k[2]; }        // taps per kernel
  int64_t out_size() const { return out[0] * out[1] * out[2]; }  // voxels per output channel
  /// A 1×1 kernel with stride 1 and no padding: the convolution is one GEMM per sample.
  bool pointwise() const {
    for (int d = 0; d < 3; ++d)
      if (k[d] != 1 || stride[d] != 1 || pad[d] != 0) return false;
    return true;
  }
  /// Multiply-adds × 2 of one of the three ops (they all cost the same): 2·N·Cout·Cin·k·out.
  double flops() const { return 2.0 * N * Cout * Cin * k_size() * out_size(); }
};

/// `direct` (kernels/cpu/conv_direct.h) is chosen by the automatic rule only; it is reported by
/// last_conv_backend(). set_conv_backend(direct) behaves as automatic.
enum class ConvBackend { automatic, im2col, dnnl, direct };
enum class ConvOp { forward, backward_input, backward_weight };

/// The backend in force: set_conv_backend's value, else UAD_CONV_BACKEND (auto|dnnl|im2col;
/// throws uad::Error naming the value when it is anything else), else automatic.
ConvBackend conv_backend();
/// Overrides UAD_CONV_BACKEND for the whole process (automatic = measured choice).
void set_conv_backend(ConvBackend b);
const char* conv_backend_name(ConvBackend b);
/// The implementation that actually ran the most recent convolution kernel on any thread
/// (im2col, dnnl or direct; automatic before the first one). Lets tests check that a forced oneDNN run
/// did not fall back to im2col.
ConvBackend last_conv_backend();

// ---- the three ops on contiguous NC[D]HW / OI[D]HW buffers ---------------------------------
// bias (may be null) is [Cout] for forward and [Cin] for backward_input (added to every voxel of
// that channel: the bias of a transposed convolution). Outputs are overwritten.

/// y[N,Cout,*out] = x[N,Cin,*in] ⋆ w[Cout,Cin,*k] (+ bias).
void conv_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y);
void conv_forward(const ConvGeom& g, const double* x, const double* w, const double* bias, double* y);
/// gx[N,Cin,*in] = ∂(Σ y·gy)/∂x for gy[N,Cout,*out], w[Cout,Cin,*k] (+ bias[Cin]). Input voxels
/// not covered by any window (when in + 2·pad − dil·(k−1) − 1 is not a multiple of stride) get 0.
void conv_backward_input(const ConvGeom& g, const float* gy, const float* w, const float* bias, float* gx);
void conv_backward_input(const ConvGeom& g, const double* gy, const double* w, const double* bias, double* gx);
/// gw[Cout,Cin,*k] = ∂(Σ y·gy)/∂w for x[N,Cin,*in], gy[N,Cout,*out].
void conv_backward_weight(const ConvGeom& g, const float* x, const float* gy, float* gw);
void conv_backward_weight(const ConvGeom& g, const double* x, const double* gy, double* gw);

// ---- shared helpers of the conv kernels --------------------------------------------------
/// y[n,c,:] += bias[c] for y: [N,C,sp] (OpenMP over n·c).
template <class T> void add_channel_bias(T* y, const T* bias, int64_t N, int64_t C, int64_t sp);
/// A grow-only, 64-byte aligned scratch buffer private to the calling thread; `slot` 0..7 names
/// independent buffers. Reused across calls so large convolutions do not page-fault fresh memory
/// each time. Valid until the next call with the same slot on this thread.
void* conv_scratch(int slot, size_t bytes);
/// Frees this thread's scratch buffers.
void release_conv_scratch();
/// Records which implementation ran (see last_conv_backend).
void note_conv_backend(ConvBackend b);

}  // namespace uad::cpu
