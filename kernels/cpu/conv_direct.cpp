// Direct convolution for few output channels, and the dense (whole-input window) convolution as
// streamed products over a small batch or one GEMM (see conv_direct.h).
#include "kernels/cpu/conv_direct.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loops.h"

namespace uad::cpu::direct {

namespace {

/// Scratch slots of conv_scratch (kernels/cpu/conv.h) used here; 1–4 belong to the oneDNN path.
constexpr int kSlotRows = 5, kSlotWeights = 6;
/// Output rows computed together by the direct forward (they share their padded input rows).
constexpr int64_t kTileRows = 8;

/// Copies input row `src` (IW values) into dst[0, XW) shifted by the left padding pw:
/// dst[j] = src[j − pw] where 0 ≤ j − pw < IW, else 0.
template <class T> inline void padded_row(const T* src, int64_t IW, int64_t pw, int64_t XW, T* dst) {
  const int64_t lo = std::min<int64_t>(pw, XW), hi = std::min<int64_t>(XW, pw + IW);
  for (int64_t j = 0; j < lo; ++j) dst[j] = T(0);
  if (hi > lo) std::memcpy(dst + lo, src + (lo - pw), sizeof(T) * (hi - lo));
  for (int64_t j = std::max(lo, hi); j < XW; ++j) dst[j] = T(0);
}

/// GCC/Clang vector of 32 bytes (8 floats / 4 doubles); unaligned loads through memcpy.
template <class T> struct VecOf;
template <> struct VecOf<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <> struct VecOf<double> {
  typedef double type __attribute__((vector_size(32)));
};
template <class T> using Vec = typename VecOf<T>::type;
template <class T> constexpr int64_t kLanes = 32 / sizeof(T);
template <class T> inline Vec<T> loadu(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// acc[ow0 .. ow0 + NV·lanes) += Σ_t Σ_kw wrow[t][kw]·xrow[t][ow + kw], with NV vector
/// accumulators held in registers over all taps (NV = 8 hides the FMA latency on 2 pipes).
template <int NV, class T>
inline void row_block(const T* const* xrow, const T* const* wrow, int64_t nv, int64_t KW, int64_t ow0, T* acc) {
  constexpr int64_t L = kLanes<T>;
  Vec<T> s[NV];
  for (int i = 0; i < NV; ++i) s[i] = Vec<T>{};
  for (int64_t t = 0; t < nv; ++t) {
    const T* xr = xrow[t] + ow0;
    const T* wr = wrow[t];
    for (int64_t kw = 0; kw < KW; ++kw) {
      const T wv = wr[kw];
      for (int i = 0; i < NV; ++i) s[i] += wv * loadu(xr + kw + i * L);
    }
  }
  for (int i = 0; i < NV; ++i) {
    Vec<T> a = loadu(acc + ow0 + i * L) + s[i];
    std::memcpy(acc + ow0 + i * L, &a, sizeof a);
  }
}

/// acc[0, OW) += the taps of the nv padded input rows xrow[t] (OW + KW − 1 values each) with
/// weight rows wrow[t] (KW taps); see row_block; scalar tail.
template <class T>
void accumulate_row(const T* const* xrow, const T* const* wrow, int64_t nv, int64_t KW, int64_t OW, T* acc) {
  constexpr int64_t L = kLanes<T>;
  int64_t ow = 0;
  for (; ow + 8 * L <= OW; ow += 8 * L) row_block<8>(xrow, wrow, nv, KW, ow, acc);
  for (; ow + L <= OW; ow += L) row_block<1>(xrow, wrow, nv, KW, ow, acc);
  for (; ow < OW; ++ow) {
    T s = T(0);
    for (int64_t t = 0; t < nv; ++t)
      for (int64_t kw = 0; kw < KW; ++kw) s += wrow[t][kw] * xrow[t][ow + kw];
    acc[ow] += s;
  }
}

}  // namespace

bool applicable(ConvOp op, const ConvGeom& g) {
  (void)op;  // every op's rows are built from Cout channels' worth of taps (see conv_direct.h)
  if (g.pointwise() || g.Cout > kMaxChannels) return false;
  for (int d = 0; d < 3; ++d)
    if (g.stride[d] != 1 || g.dil[d] != 1 || g.pad[d] > g.k[d] - 1) return false;
  return true;
}

bool dense(const ConvGeom& g) {
  for (int d = 0; d < 3; ++d)
    if (g.out[d] != 1 || g.pad[d] != 0 || g.dil[d] != 1 || g.in[d] != g.k[d]) return false;
  return true;
}

// ---- case 1: few output channels --------------------------------------------------------------
template <class T> void forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t ID = g.in[0], IH = g.in[1], IW = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t KD = g.k[0], KH = g.k[1], KW = g.k[2], K = g.k_size();
  const int64_t pd = g.pad[0], ph = g.pad[1], pw = g.pad[2];
  const int64_t Cin = g.Cin, Cout = g.Cout;
  const int64_t XW = OW + KW - 1;    // padded input row: the taps of every output of the row
  const int64_t R = kTileRows;       // output rows per task; they share R + KH − 1 input rows per kd
  const int64_t RH = R + KH - 1;
  const int64_t tiles = (OH + R - 1) / R;
  parallel_for(g.N * Cout * OD * tiles, Cin * K * OW * R, [&](int64_t task) {
    const int64_t oh0 = (task % tiles) * R, od = (task / tiles) % OD, co = (task / (tiles * OD)) % Cout,
                  n = task / (tiles * OD * Cout);
    const int64_t nr = std::min(R, OH - oh0), nh = nr + KH - 1;
    T* xp = static_cast<T*>(conv_scratch(kSlotRows, sizeof(T) * (KD * RH * XW + R * OW)));
    T* acc = xp + KD * RH * XW;  // [nr, OW]
    const T b0 = bias ? bias[co] : T(0);
    for (int64_t j = 0; j < nr * OW; ++j) acc[j] = b0;
    const T* xrow[64];  // the valid (kd, kh) input rows of one output row and their weight rows
    const T* wrow[64];
    for (int64_t ci = 0; ci < Cin; ++ci) {
      const T* xc = x + (n * Cin + ci) * ID * IH * IW;
      const T* wc = w + (co * Cin + ci) * K;
      // The padded input rows ih = oh0 − ph + j, j < nh, of every valid depth kd (once per ci).
      for (int64_t kd = 0; kd < KD; ++kd) {
        const int64_t id = od + kd - pd;
        if (id < 0 || id >= ID) continue;
        for (int64_t j = 0; j < nh; ++j) {
          const int64_t ih = oh0 - ph + j;
          if (ih >= 0 && ih < IH) padded_row(xc + (id * IH + ih) * IW, IW, pw, XW, xp + (kd * RH + j) * XW);
        }
      }
      for (int64_t r = 0; r < nr; ++r) {
        int64_t nv = 0;
        for (int64_t kd = 0; kd < KD; ++kd) {
          const int64_t id = od + kd - pd;
          if (id < 0 || id >= ID) continue;
          for (int64_t kh = 0; kh < KH; ++kh) {
            const int64_t ih = oh0 + r + kh - ph;
            if (ih < 0 || ih >= IH) continue;
            if (nv == 64) {
              accumulate_row(xrow, wrow, nv, KW, OW, acc + r * OW);
              nv = 0;
            }
            xrow[nv] = xp + (kd * RH + r + kh) * XW;
            wrow[nv++] = wc + (kd * KH + kh) * KW;
          }
        }
        if (nv) accumulate_row(xrow, wrow, nv, KW, OW, acc + r * OW);
      }
    }
    std::memcpy(y + ((n * Cout + co) * OD + od) * OH * OW + oh0 * OW, acc, sizeof(T) * nr * OW);
  });
}

template <class T> void backward_input(const ConvGeom& g, const T* gy, const T* w, const T* bias, T* gx) {
  // gx[n,c,i] = Σ_o Σ_k w[o,c,k]·gy[n,o,i+pad−k] = Σ_o Σ_k' w'[c,o,k']·gy[n,o,i+k'−pad'] with
  // k' = k_max − k (flipped), w'[c,o] = w[o,c] and pad' = k−1−pad: a forward from gy.
  ConvGeom t = g;
  std::swap(t.Cin, t.Cout);
  for (int d = 0; d < 3; ++d) {
    t.in[d] = g.out[d];
    t.out[d] = g.in[d];
    t.pad[d] = g.k[d] - 1 - g.pad[d];
  }
  const int64_t K = g.k_size();
  T* wt = static_cast<T*>(conv_scratch(kSlotWeights, sizeof(T) * g.Cout * g.Cin * K));
  for (int64_t o = 0; o < g.Cout; ++o)
    for (int64_t c = 0; c < g.Cin; ++c) {
      const T* src = w + (o * g.Cin + c) * K;
      T* dst = wt + (c * g.Cout + o) * K;
      for (int64_t k = 0; k < K; ++k) dst[k] = src[K - 1 - k];  // flipping every axis = reversing k
    }
  forward<T>(t, gy, wt, bias, gx);
}

template <class T> void backward_weight(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  const int64_t ID = g.in[0], IH = g.in[1], IW = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t KD = g.k[0], KH = g.k[1], KW = g.k[2], K = g.k_size();
  const int64_t pd = g.pad[0], ph = g.pad[1], pw = g.pad[2];
  const int64_t Cin = g.Cin, Cout = g.Cout;
  const int64_t XW = OW + KW - 1;
  constexpr int64_t L = kLanes<T>;
  const int64_t OWv = OW / L * L;  // vector part of a row; the rest goes to scalar sums
  parallel_for(Cin, g.N * Cout * K * g.out_size(), [&](int64_t ci) {
    // Per tap (o, k): a vector of partial sums over the row's vector part and a scalar for the
    // tail, both summed in a fixed order (deterministic), reduced once at the end.
    const size_t vbytes = sizeof(Vec<T>) * Cout * K, sbytes = sizeof(T) * (Cout * K + XW);
    char* buf = static_cast<char*>(conv_scratch(kSlotRows, vbytes + sbytes + 64));
    Vec<T>* vacc = reinterpret_cast<Vec<T>*>(buf);
    T* sacc = reinterpret_cast<T*>(buf + vbytes);
    T* xp = sacc + Cout * K;
    for (int64_t j = 0; j < Cout * K; ++j) {
      vacc[j] = Vec<T>{};
      sacc[j] = T(0);
    }
    for (int64_t n = 0; n < g.N; ++n) {
      const T* xc = x + (n * Cin + ci) * ID * IH * IW;
      for (int64_t od = 0; od < OD; ++od)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t kd = 0; kd < KD; ++kd) {
            const int64_t id = od + kd - pd;
            if (id < 0 || id >= ID) continue;
            for (int64_t kh = 0; kh < KH; ++kh) {
              const int64_t ih = oh + kh - ph;
              if (ih < 0 || ih >= IH) continue;
              padded_row(xc + (id * IH + ih) * IW, IW, pw, XW, xp);
              for (int64_t co = 0; co < Cout; ++co) {
                const T* gr = gy + (((n * Cout + co) * OD + od) * OH + oh) * OW;
                const int64_t t0 = co * K + (kd * KH + kh) * KW;
                for (int64_t kw = 0; kw < KW; ++kw) {
                  Vec<T> v = vacc[t0 + kw];
                  for (int64_t ow = 0; ow < OWv; ow += L) v += loadu(gr + ow) * loadu(xp + kw + ow);
                  vacc[t0 + kw] = v;
                  T s = sacc[t0 + kw];
                  for (int64_t ow = OWv; ow < OW; ++ow) s += gr[ow] * xp[kw + ow];
                  sacc[t0 + kw] = s;
                }
              }
            }
          }
    }
    for (int64_t co = 0; co < Cout; ++co)
      for (int64_t k = 0; k < K; ++k) {
        const Vec<T> v = vacc[co * K + k];
        T s = sacc[co * K + k];
        for (int64_t l = 0; l < L; ++l) s += v[l];
        gw[(co * Cin + ci) * K + k] = s;
      }
  });
}

// ---- case 2: dense ------------------------------------------------------------------------------
// With F = Cin·k features per sample, W is [Cout, F]. For a small batch (N ≤ kSmallBatch) the three
// products stream W (or gW) once in F-chunks that keep the N rows of x / gx in L1/L2 — they are
// memory-bound, and OpenBLAS would first pack all of W (sgemm_itcopy, measured ≈ 1.5× slower for
// the 2500×32768 weight of the 3-D f-AnoGAN generator). Larger batches use one GEMM.
namespace {
constexpr int64_t kSmallBatch = 8;
constexpr int64_t kChunk = 2048;  // features per chunk: N·2048 values of gx stay in L1/L2
}  // namespace

template <class T> void dense_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t F = g.Cin * g.k_size(), N = g.N, Cout = g.Cout;
  if (N > kSmallBatch) {
    gemm(false, true, N, Cout, F, T(1), x, F, w, F, T(0), y, Cout);
    if (bias) add_channel_bias(y, bias, N, Cout, 1);
    return;
  }
  // y[n,o] = Σ_f x[n,f]·W[o,f] (+ b[o]): each output channel's row of W read once for all n.
  parallel_for(Cout, N * F, [&](int64_t o) {
    const T* wr = w + o * F;
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = x + n * F;
      T s = T(0);
#pragma omp simd reduction(+ : s)
      for (int64_t f = 0; f < F; ++f) s += xr[f] * wr[f];
      y[n * Cout + o] = s + (bias ? bias[o] : T(0));
    }
  });
}

template <class T> void dense_backward_input(const ConvGeom& g, const T* gy, const T* w, const T* bias, T* gx) {
  const int64_t F = g.Cin * g.k_size(), N = g.N, Cout = g.Cout, K = g.k_size();
  if (N > kSmallBatch) {
    gemm(false, false, N, F, Cout, T(1), gy, Cout, w, F, T(0), gx, F);
  } else {
    // gx[n,f] = Σ_o gy[n,o]·W[o,f]: per F-chunk, W's column block streamed once, four rows of W
    // per pass over the chunk of gx.
    const int64_t chunks = (F + kChunk - 1) / kChunk;
    parallel_for(chunks, N * Cout * kChunk, [&](int64_t c) {
      const int64_t f0 = c * kChunk, f1 = std::min(F, f0 + kChunk);
      for (int64_t n = 0; n < N; ++n) std::fill(gx + n * F + f0, gx + n * F + f1, T(0));
      int64_t o = 0;
      for (; o + 4 <= Cout; o += 4) {
        const T *w0 = w + o * F, *w1 = w0 + F, *w2 = w1 + F, *w3 = w2 + F;
        for (int64_t n = 0; n < N; ++n) {
          const T* a = gy + n * Cout + o;
          const T a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
          T* out = gx + n * F;
#pragma omp simd
          for (int64_t f = f0; f < f1; ++f) out[f] += a0 * w0[f] + a1 * w1[f] + a2 * w2[f] + a3 * w3[f];
        }
      }
      for (; o < Cout; ++o) {
        const T* wr = w + o * F;
        for (int64_t n = 0; n < N; ++n) {
          const T a = gy[n * Cout + o];
          T* out = gx + n * F;
#pragma omp simd
          for (int64_t f = f0; f < f1; ++f) out[f] += a * wr[f];
        }
      }
    });
  }
  if (bias) add_channel_bias(gx, bias, N, g.Cin, K);
}

template <class T> void dense_backward_weight(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  const int64_t F = g.Cin * g.k_size(), N = g.N, Cout = g.Cout;
  if (N > kSmallBatch) {
    gemm(true, false, Cout, F, N, T(1), gy, Cout, x, F, T(0), gw, F);
    return;
  }
  // gW[o,f] = Σ_n gy[n,o]·x[n,f]: every row of gW written once.
  parallel_for(Cout, N * F, [&](int64_t o) {
    T* out = gw + o * F;
    const T a0 = gy[o];
    const T* x0 = x;
#pragma omp simd
    for (int64_t f = 0; f < F; ++f) out[f] = a0 * x0[f];
    for (int64_t n = 1; n < N; ++n) {
      const T a = gy[n * Cout + o];
      const T* xr = x + n * F;
#pragma omp simd
      for (int64_t f = 0; f < F; ++f) out[f] += a * xr[f];
    }
  });
}

#define UAD_CONV_DIRECT_INSTANTIATE(T)                                                   \
  template void forward<T>(const ConvGeom&, const T*, const T*, const T*, T*);           \
  template void backward_input<T>(const ConvGeom&, const T*, const T*, const T*, T*);    \
  template void backward_weight<T>(const ConvGeom&, const T*, const T*, T*);             \
  template void dense_forward<T>(const ConvGeom&, const T*, const T*, const T*, T*);     \
  template void dense_backward_input<T>(const ConvGeom&, const T*, const T*, const T*, T*); \
  template void dense_backward_weight<T>(const ConvGeom&, const T*, const T*, T*);
UAD_CONV_DIRECT_INSTANTIATE(float)
UAD_CONV_DIRECT_INSTANTIATE(double)
#undef UAD_CONV_DIRECT_INSTANTIATE

}  // namespace uad::cpu::direct
