// vol2col / col2vol + GEMM convolution (see conv_im2col.h).
#include "kernels/cpu/conv_im2col.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loops.h"

namespace uad::cpu::im2col {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/// Output positions o ∈ [lo, hi) whose input position o·s + off lies in [0, n).
void valid_range(int64_t n, int64_t s, int64_t off, int64_t n_out, int64_t& lo, int64_t& hi) {
  lo = std::max<int64_t>(0, -floor_div(off, s));  // ceil(-off / s)
  hi = std::min<int64_t>(n_out, floor_div(n - 1 - off, s) + 1);
  if (hi < lo) hi = lo;
}

}  // namespace

template <class T> void vol2col(const ConvGeom& g, const T* x, T* col) {
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  const int64_t oD = g.out[0], oH = g.out[1], oW = g.out[2];
  const int64_t kD = g.k[0], kH = g.k[1], kW = g.k[2];
  const int64_t O = g.out_size(), rows = g.Cin * g.k_size();
  parallel_for(rows, O, [&](int64_t r) {
    const int64_t kw = r % kW, kh = (r / kW) % kH, kd = (r / (kW * kH)) % kD, c = r / (kW * kH * kD);
    const T* xc = x + c * D * H * W;
    T* dst = col + r * O;
    const int64_t offw = kw * g.dil[2] - g.pad[2], sw = g.stride[2];
    int64_t lo, hi;
    valid_range(W, sw, offw, oW, lo, hi);
    for (int64_t od = 0; od < oD; ++od) {
      const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
      for (int64_t oh = 0; oh < oH; ++oh) {
        const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
        T* o = dst + (od * oH + oh) * oW;
        if (id < 0 || id >= D || ih < 0 || ih >= H) {
          std::memset(o, 0, sizeof(T) * oW);
          continue;
        }
        const T* row = xc + (id * H + ih) * W + offw;  // row[ow·sw] is the input of output ow
        for (int64_t ow = 0; ow < lo; ++ow) o[ow] = T(0);
        if (sw == 1) {
          std::memcpy(o + lo, row + lo, sizeof(T) * (hi - lo));
        } else if (sw == 2) {
#pragma omp simd
          for (int64_t ow = lo; ow < hi; ++ow) o[ow] = row[2 * ow];
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) o[ow] = row[ow * sw];
        }
        for (int64_t ow = hi; ow < oW; ++ow) o[ow] = T(0);
      }
    }
  });
}

template <class T> void col2vol_add(const ConvGeom& g, const T* col, T* gx) {
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  const int64_t oD = g.out[0], oH = g.out[1], oW = g.out[2];
  const int64_t kD = g.k[0], kH = g.k[1], kW = g.k[2];
  const int64_t O = g.out_size();
  // One task per input row (c, id, ih): it gathers every (kd, kh) tap that reads it, so tasks
  // never write the same memory (parallel even for Cin = 1).
  parallel_for(g.Cin * D * H, W * kD * kH * kW, [&](int64_t t) {
    const int64_t ih = t % H, id = (t / H) % D, c = t / (H * D);
    T* row = gx + t * W;
    for (int64_t kd = 0; kd < kD; ++kd) {
      const int64_t ud = id + g.pad[0] - kd * g.dil[0];
      if (ud < 0 || ud % g.stride[0]) continue;
      const int64_t od = ud / g.stride[0];
      if (od >= oD) continue;
      for (int64_t kh = 0; kh < kH; ++kh) {
        const int64_t uh = ih + g.pad[1] - kh * g.dil[1];
        if (uh < 0 || uh % g.stride[1]) continue;
        const int64_t oh = uh / g.stride[1];
        if (oh >= oH) continue;
        for (int64_t kw = 0; kw < kW; ++kw) {
          const int64_t r = ((c * kD + kd) * kH + kh) * kW + kw;
          const T* src = col + r * O + (od * oH + oh) * oW;
          const int64_t offw = kw * g.dil[2] - g.pad[2], sw = g.stride[2];
          int64_t lo, hi;
          valid_range(W, sw, offw, oW, lo, hi);
          T* dst = row + offw;  // dst[ow·sw] receives output ow
          if (sw == 1) {
#pragma omp simd
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow] += src[ow];
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow * sw] += src[ow];
          }
        }
      }
    }
  });
}

template <class T> void forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t rows = g.Cin * g.k_size(), O = g.out_size();
  const bool pw = g.pointwise();
  T* col = pw ? nullptr : static_cast<T*>(conv_scratch(0, sizeof(T) * rows * O));
  for (int64_t n = 0; n < g.N; ++n) {
    const T* xn = x + n * g.Cin * g.in_size();
    if (!pw) vol2col(g, xn, col);
    gemm(false, false, g.Cout, O, rows, T(1), w, rows, pw ? xn : col, O, T(0), y + n * g.Cout * O, O);
  }
  if (bias) add_channel_bias(y, bias, g.N, g.Cout, O);
}

template <class T> void backward_input(const ConvGeom& g, const T* gy, const T* w, const T* bias, T* gx) {
  const int64_t rows = g.Cin * g.k_size(), O = g.out_size(), S = g.in_size();
  const bool pw = g.pointwise();
  T* col = pw ? nullptr : static_cast<T*>(conv_scratch(0, sizeof(T) * rows * O));
  if (!pw) std::memset(gx, 0, sizeof(T) * g.N * g.Cin * S);
  for (int64_t n = 0; n < g.N; ++n) {
    T* gxn = gx + n * g.Cin * S;
    gemm(true, false, rows, O, g.Cout, T(1), w, rows, gy + n * g.Cout * O, O, T(0), pw ? gxn : col, O);
    if (!pw) col2vol_add(g, col, gxn);
  }
  if (bias) add_channel_bias(gx, bias, g.N, g.Cin, S);
}

template <class T> void backward_weight(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  const int64_t rows = g.Cin * g.k_size(), O = g.out_size();
  const bool pw = g.pointwise();
  T* col = pw ? nullptr : static_cast<T*>(conv_scratch(0, sizeof(T) * rows * O));
  if (g.N == 0) std::memset(gw, 0, sizeof(T) * g.Cout * rows);
  for (int64_t n = 0; n < g.N; ++n) {
    const T* xn = x + n * g.Cin * g.in_size();
    if (!pw) vol2col(g, xn, col);
    gemm(false, true, g.Cout, rows, O, T(1), gy + n * g.Cout * O, O, pw ? xn : col, O, n ? T(1) : T(0), gw, rows);
  }
}

#define UAD_IM2COL_INSTANTIATE(T)                                                        \
  template void vol2col<T>(const ConvGeom&, const T*, T*);                               \
  template void col2vol_add<T>(const ConvGeom&, const T*, T*);                           \
  template void forward<T>(const ConvGeom&, const T*, const T*, const T*, T*);           \
  template void backward_input<T>(const ConvGeom&, const T*, const T*, const T*, T*);    \
  template void backward_weight<T>(const ConvGeom&, const T*, const T*, T*);
UAD_IM2COL_INSTANTIATE(float)
UAD_IM2COL_INSTANTIATE(double)

}  // namespace uad::cpu::im2col
