// Separable Gaussian smoothing and trilinear / nearest resampling (see io/resample.h).
#include "io/resample.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace uad::io {

namespace {

Tensor as_f32_3d(const Tensor& t, const char* op) {
  check(t.defined() && t.dim() == 3, op, ": expected a [Z,Y,X] tensor, got ", t.defined() ? t.shape() : Shape{});
  return t.detach().to(DType::f32).contiguous();
}

// scipy.ndimage 'reflect' boundary: half-sample symmetric, period 2n.
inline int64_t reflect_index(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t p = 2 * n;
  int64_t m = i % p;
  if (m < 0) m += p;
  return m < n ? m : p - 1 - m;
}

// scipy.ndimage._gaussian_kernel1d(sigma, 0, radius).
std::vector<float> gaussian_kernel(double sigma, double truncate) {
  const int64_t r = (int64_t)(truncate * sigma + 0.5);
  std::vector<double> w(2 * r + 1);
  double sum = 0;
  for (int64_t k = -r; k <= r; ++k) sum += (w[k + r] = std::exp(-0.5 * (double)(k * k) / (sigma * sigma)));
  std::vector<float> wf(w.size());
  for (size_t k = 0; k < w.size(); ++k) wf[k] = (float)(w[k] / sum);
  return wf;
}

// Correlates along the innermost (contiguous) axis: rows of length n.
void smooth_rows(const float* in, float* out, int64_t rows, int64_t n, const std::vector<float>& w) {
  const int64_t r = (int64_t)w.size() / 2;
#pragma omp parallel
  {
    std::vector<float> buf(n + 2 * r);
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
      const float* s = in + row * n;
      for (int64_t i = 0; i < n + 2 * r; ++i) buf[i] = s[reflect_index(i - r, n)];
      float* o = out + row * n;
      for (int64_t x = 0; x < n; ++x) o[x] = 0.f;
      for (int64_t k = 0; k <= 2 * r; ++k) {
        const float wk = w[k];
        const float* b = buf.data() + k;
        for (int64_t x = 0; x < n; ++x) o[x] += wk * b[x];
      }
    }
  }
}

// Correlates along a middle axis: data viewed as [outer, n, inner] with inner contiguous.
void smooth_strided(const float* in, float* out, int64_t outer, int64_t n, int64_t inner, const std::vector<float>& w) {
  const int64_t r = (int64_t)w.size() / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t a = 0; a < n; ++a) {
      float* dst = out + (o * n + a) * inner;
      for (int64_t x = 0; x < inner; ++x) dst[x] = 0.f;
      for (int64_t k = 0; k <= 2 * r; ++k) {
        const float wk = w[k];
        const float* src = in + (o * n + reflect_index(a + k - r, n)) * inner;
        for (int64_t x = 0; x < inner; ++x) dst[x] += wk * src[x];
      }
    }
}

// Per output index: the two input taps and the weight of the second (nearest: w = 0).
struct Taps {
  std::vector<int64_t> i0, i1;
  std::vector<float> w;
};

Taps make_taps(int64_t n_in, int64_t n_out, AxisMap m, Interp interp) {
  Taps t;
  t.i0.resize(n_out);
  t.i1.resize(n_out);
  t.w.resize(n_out);
  for (int64_t o = 0; o < n_out; ++o) {
    double c = std::clamp(m.scale * (double)o + m.shift, 0.0, (double)(n_in - 1));
    if (interp == Interp::nearest) {
      const int64_t i = std::min<int64_t>((int64_t)std::floor(c + 0.5), n_in - 1);
      t.i0[o] = t.i1[o] = i;
      t.w[o] = 0.f;
    } else {
      const int64_t i = std::min<int64_t>((int64_t)std::floor(c), n_in - 1);
      t.i0[o] = i;
      t.i1[o] = std::min(i + 1, n_in - 1);
      t.w[o] = (float)(c - (double)i);
    }
  }
  return t;
}

// Linear resampling along the innermost axis: [rows, n_in] → [rows, n_out].
void resample_rows(const float* in, float* out, int64_t rows, int64_t n_in, int64_t n_out, const Taps& t) {
#pragma omp parallel for schedule(static) if (rows * n_out > 32768)
  for (int64_t row = 0; row < rows; ++row) {
    const float* s = in + row * n_in;
    float* o = out + row * n_out;
    for (int64_t x = 0; x < n_out; ++x) o[x] = s[t.i0[x]] + t.w[x] * (s[t.i1[x]] - s[t.i0[x]]);
  }
}

// Linear resampling along a middle axis: [outer, n_in, inner] → [outer, n_out, inner].
void resample_strided(const float* in, float* out, int64_t outer, int64_t n_in, int64_t n_out, int64_t inner,
                      const Taps& t) {
#pragma omp parallel for collapse(2) schedule(static) if (outer * n_out * inner > 32768)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t a = 0; a < n_out; ++a) {
      const float* s0 = in + (o * n_in + t.i0[a]) * inner;
      const float* s1 = in + (o * n_in + t.i1[a]) * inner;
      const float w = t.w[a];
      float* d = out + (o * n_out + a) * inner;
      for (int64_t x = 0; x < inner; ++x) d[x] = s0[x] + w * (s1[x] - s0[x]);
    }
}

Tensor smooth_if_needed(const Tensor& vol, const std::array<AxisMap, 3>& map) {
  const auto s = antialias_sigma(map);
  return (s[0] > 0 || s[1] > 0 || s[2] > 0) ? gaussian_smooth(vol, s) : vol;
}

Mat4 grid_to_index(const std::array<AxisMap, 3>& map_zyx) {
  Mat4 t = mat4_identity();
  for (int a = 0; a < 3; ++a) {  // NIfTI axis a (i,j,k) is tensor axis 2 − a
    t[a][a] = map_zyx[2 - a].scale;
    t[a][3] = map_zyx[2 - a].shift;
  }
  return t;
}

NiftiVolume resample_volume(const NiftiVolume& v, const Shape& out, const std::array<AxisMap, 3>& map, Interp interp,
                            bool antialias, const char* op) {
  check(v.data.defined() && v.data.shape() == v.header.shape_zyx(), op, ": data shape does not match the header ",
        v.header.shape_zyx());
  Tensor src = antialias ? smooth_if_needed(v.data, map) : v.data;
  return {resample_grid(src, out, map, interp), regrid_header(v.header, grid_to_index(map), {out[2], out[1], out[0]})};
}

}  // namespace

Tensor gaussian_smooth(const Tensor& vol, std::array<double, 3> sigma, double truncate) {
  Tensor x = as_f32_3d(vol, "gaussian_smooth");
  for (double s : sigma)
    check(std::isfinite(s) && s >= 0, "gaussian_smooth: sigma must be finite and >= 0, got (", sigma[0], ",", sigma[1], ",",
          sigma[2], ")");
  check(std::isfinite(truncate) && truncate > 0, "gaussian_smooth: truncate must be > 0");
  const int64_t nz = x.size(0), ny = x.size(1), nx = x.size(2);
  Tensor cur = x, tmp;
  auto fresh = [&]() { return empty(x.shape(), DType::f32); };
  if (sigma[2] > 1e-15) {
    tmp = fresh();
    smooth_rows(cur.data<float>(), tmp.data<float>(), nz * ny, nx, gaussian_kernel(sigma[2], truncate));
    cur = tmp;
  }
  if (sigma[1] > 1e-15) {
    tmp = fresh();
    smooth_strided(cur.data<float>(), tmp.data<float>(), nz, ny, nx, gaussian_kernel(sigma[1], truncate));
    cur = tmp;
  }
  if (sigma[0] > 1e-15) {
    tmp = fresh();
    smooth_strided(cur.data<float>(), tmp.data<float>(), 1, nz, ny * nx, gaussian_kernel(sigma[0], truncate));
    cur = tmp;
  }
  return cur.impl() == x.impl() || cur.impl() == vol.impl() ? x.clone() : cur;
}

Tensor resample_grid(const Tensor& vol, const Shape& out, const std::array<AxisMap, 3>& map, Interp interp) {
  Tensor x = as_f32_3d(vol, "resample_grid");
  check(out.size() == 3 && out[0] >= 1 && out[1] >= 1 && out[2] >= 1, "resample_grid: invalid output shape ", out);
  for (const auto& m : map)
    check(std::isfinite(m.scale) && std::isfinite(m.shift), "resample_grid: non-finite grid map");
  const int64_t nz = x.size(0), ny = x.size(1), nx = x.size(2);
  // x pass: [nz,ny,nx] → [nz,ny,ox]; y pass: → [nz,oy,ox]; z pass: → [oz,oy,ox].
  Tensor a = empty({nz, ny, out[2]}, DType::f32);
  resample_rows(x.data<float>(), a.data<float>(), nz * ny, nx, out[2], make_taps(nx, out[2], map[2], interp));
  Tensor b = empty({nz, out[1], out[2]}, DType::f32);
  resample_strided(a.data<float>(), b.data<float>(), nz, ny, out[1], out[2], make_taps(ny, out[1], map[1], interp));
  Tensor c = empty(out, DType::f32);
  resample_strided(b.data<float>(), c.data<float>(), 1, nz, out[0], out[1] * out[2], make_taps(nz, out[0], map[0], interp));
  return c;
}

std::array<double, 3> antialias_sigma(const std::array<AxisMap, 3>& map) {
  std::array<double, 3> s;
  for (int a = 0; a < 3; ++a) s[a] = std::max(0.0, (std::fabs(map[a].scale) - 1.0) / 2.0);
  return s;
}

namespace {
std::array<AxisMap, 3> shape_map(const Shape& in, const Shape& out, const char* op) {
  check(in.size() == 3 && out.size() == 3, op, ": expected 3-D shapes, got ", in, " -> ", out);
  std::array<AxisMap, 3> m;
  for (int a = 0; a < 3; ++a) {
    check(out[a] >= 1, op, ": invalid output shape ", out);
    m[a].scale = (double)in[a] / (double)out[a];
    m[a].shift = 0.5 * m[a].scale - 0.5;
  }
  return m;
}
}  // namespace

Tensor resize(const Tensor& vol, const Shape& shape, Interp interp, bool antialias) {
  check(vol.defined() && vol.dim() == 3, "resize: expected a [Z,Y,X] tensor");
  const auto map = shape_map(vol.shape(), shape, "resize");
  return resample_grid(antialias ? smooth_if_needed(vol, map) : vol, shape, map, interp);
}

NiftiVolume resample_to_shape(const NiftiVolume& v, const Shape& shape, Interp interp, bool antialias) {
  return resample_volume(v, shape, shape_map(v.header.shape_zyx(), shape, "resample_to_shape"), interp, antialias,
                         "resample_to_shape");
}

NiftiVolume resample_to_spacing(const NiftiVolume& v, std::array<double, 3> spacing_ijk, Interp interp, bool antialias) {
  std::array<AxisMap, 3> map;
  Shape out(3);
  for (int a = 0; a < 3; ++a) {  // NIfTI axis a ↔ tensor axis t = 2 − a
    const int t = 2 - a;
    check(std::isfinite(spacing_ijk[a]) && spacing_ijk[a] > 0, "resample_to_spacing: spacing must be > 0 mm, got ",
          spacing_ijk[a], " on axis ", a);
    const double old_sp = v.header.pixdim[a];
    const int64_t n_in = v.header.dim[a];
    out[t] = std::max<int64_t>(1, std::llround((double)n_in * old_sp / spacing_ijk[a]));
    map[t].scale = spacing_ijk[a] / old_sp;
    map[t].shift = 0.5 * (double)(n_in - 1) - map[t].scale * 0.5 * (double)(out[t] - 1);
  }
  return resample_volume(v, out, map, interp, antialias, "resample_to_spacing");
}

}  // namespace uad::io
