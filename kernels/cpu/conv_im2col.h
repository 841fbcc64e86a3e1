// Convolution by vol2col (im2col generalised to 3-D) + OpenBLAS GEMM, for f32 and f64.
//
// Per sample n, with col: [Cin·kD·kH·kW, oD·oH·oW] (row r = ((c·kD+kd)·kH+kh)·kW+kw holds the input
// voxel each output voxel sees through tap (kd,kh,kw) of channel c, 0 in the padding):
//   forward          y_n  = W[Cout, Cin·k] · col(x_n)                       (GEMM, then + bias)
//   backward input   gx_n = col2vol(Wᵀ · gy_n[Cout, out])                   (GEMM, then scatter-add)
//   backward weight  gW  += gy_n · col(x_n)ᵀ                                (GEMM accumulating over n)
// (Chellapilla et al. 2006, "High performance convolutional neural networks for document
// processing"; Caffe/PyTorch's THNN im2col.) vol2col and col2vol are OpenMP-parallel; the GEMMs
// use OpenBLAS' own threads. A 1×1 stride-1 unpadded kernel skips vol2col (col = x_n).
#pragma once
#include "kernels/cpu/conv.h"

namespace uad::cpu::im2col {

/// col[Cin·k, out] of one sample x[Cin,*in].
template <class T> void vol2col(const ConvGeom& g, const T* x, T* col);
/// gx[Cin,*in] += adjoint of vol2col applied to col (each input voxel gathers its taps).
template <class T> void col2vol_add(const ConvGeom& g, const T* col, T* gx);

template <class T> void forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y);
template <class T> void backward_input(const ConvGeom& g, const T* gy, const T* w, const T* bias, T* gx);
template <class T> void backward_weight(const ConvGeom& g, const T* x, const T* gy, T* gw);

}  // namespace uad::cpu::im2col
