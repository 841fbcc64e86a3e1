// Synthetic anomalies: names, dispatch and the helpers shared by the types (io/anomaly.h).
// The types themselves: io/anomaly_mood.cpp (the eight MOOD types), io/anomaly_lesion.cpp
// (ms_lesions, tumour_mass, estimate_white_matter).
#include "io/anomaly.h"

#include <algorithm>
#include <cmath>

#include "io/anomaly_internal.h"

namespace uad::io {

namespace {
constexpr const char* kNames[kAnomalyTypeCount] = {
    "uniform_addition", "noise_addition", "sink_deformation", "source_deformation", "uniform_shift",
    "reflection",       "local_blur",     "slice_shuffle",    "ms_lesions",         "tumour_mass"};
}  // namespace

const char* anomaly_name(AnomalyType t) {
  const int i = (int)t;
  check(i >= 0 && i < kAnomalyTypeCount, "anomaly_name: invalid AnomalyType value ", i);
  return kNames[i];
}

AnomalyType anomaly_from_name(const std::string& name) {
  for (int i = 0; i < kAnomalyTypeCount; ++i)
    if (name == kNames[i]) return (AnomalyType)i;
  std::string valid;
  for (int i = 0; i < kAnomalyTypeCount; ++i) valid += (i ? ", " : "") + std::string(kNames[i]);
  fail("anomaly_from_name: unknown anomaly type '", name, "'; valid types: ", valid);
}

bool anomaly_is_local(AnomalyType t) { return t != AnomalyType::tumour_mass; }

namespace detail {

std::array<int64_t, 3> pick_central_brain_voxel(const AnomalyCtx& c, Generator& g) {
  const int64_t n[3] = {c.nz, c.ny, c.nx};
  int64_t lo[3], hi[3];
  for (int a = 0; a < 3; ++a) {
    const int64_t core = n[a] / 2;
    lo[a] = core / 2;
    hi[a] = core / 2 + core;  // exclusive
  }
  auto count_in = [&](const int64_t* l, const int64_t* h) {
    int64_t k = 0;
    for (int64_t z = l[0]; z < h[0]; ++z)
      for (int64_t y = l[1]; y < h[1]; ++y)
        for (int64_t x = l[2]; x < h[2]; ++x) k += c.b[c.index(z, y, x)];
    return k;
  };
  int64_t k = count_in(lo, hi);
  if (k == 0) {  // no brain in the central half: any brain voxel
    for (int a = 0; a < 3; ++a) lo[a] = 0, hi[a] = n[a];
    k = count_in(lo, hi);
  }
  check(k > 0, "make_anomaly: the brain mask is empty (shape ", c.img.shape(), ")");
  const int64_t pick = std::min<int64_t>(k - 1, (int64_t)std::floor(uniforms(g, 1)[0] * (double)k));
  int64_t seen = 0;
  for (int64_t z = lo[0]; z < hi[0]; ++z)
    for (int64_t y = lo[1]; y < hi[1]; ++y)
      for (int64_t x = lo[2]; x < hi[2]; ++x)
        if (c.b[c.index(z, y, x)] && seen++ == pick) return {z, y, x};
  fail("make_anomaly: internal error picking a brain voxel");
}

double side_mm(const AnomalyCtx& c) { return (c.nz * c.sp[0] + c.ny * c.sp[1] + c.nx * c.sp[2]) / 3.0; }

double intensity_range(const AnomalyCtx& c) {
  const int64_t n = c.img.numel();
  float lo = c.in[0], hi = c.in[0];
#pragma omp parallel for reduction(min : lo) reduction(max : hi) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, c.in[i]);
    hi = std::max(hi, c.in[i]);
  }
  return (double)hi - (double)lo;
}

void ball_bounds(const AnomalyCtx& c, const std::array<int64_t, 3>& centre, double r_mm, std::array<int64_t, 3>& lo,
                 std::array<int64_t, 3>& hi) {
  const int64_t n[3] = {c.nz, c.ny, c.nx};
  for (int a = 0; a < 3; ++a) {
    const int64_t e = (int64_t)std::ceil(r_mm / c.sp[a]);
    lo[a] = std::max<int64_t>(0, centre[a] - e);
    hi[a] = std::min<int64_t>(n[a] - 1, centre[a] + e);
  }
}

}  // namespace detail

SyntheticAnomaly make_anomaly(const Tensor& image, const Tensor& brain_mask, AnomalyType type,
                              const std::array<double, 3>& spacing_zyx, Generator& g, const Tensor& white_matter) {
  const char* op = "make_anomaly";
  check((int)type >= 0 && (int)type < kAnomalyTypeCount, op, ": invalid AnomalyType value ", (int)type);
  detail::AnomalyCtx c;
  c.img = detail::volume_f32(image, op, "image");
  c.brain = detail::mask_u8(brain_mask, c.img.shape(), op, "brain_mask");
  detail::check_spacing(spacing_zyx, op);
  c.sp = spacing_zyx;
  c.nz = c.img.size(0);
  c.ny = c.img.size(1);
  c.nx = c.img.size(2);
  c.in = c.img.data<float>();
  c.b = c.brain.data<uint8_t>();
  c.out = c.img.clone();
  c.o = c.out.data<float>();
  c.mask = zeros(c.img.shape(), DType::u8);
  c.m = c.mask.data<uint8_t>();

  nlohmann::json P;
  P["type"] = anomaly_name(type);
  P["generator_seed"] = g.seed();
  P["generator_offset"] = g.offset();
  P["spacing_zyx_mm"] = spacing_zyx;
  if (type == AnomalyType::ms_lesions) {
    Tensor wm;
    if (white_matter.defined()) {
      wm = detail::mask_u8(white_matter, c.img.shape(), op, "white_matter");
      uint8_t* w = wm.data<uint8_t>();
      const int64_t n = wm.numel();
      for (int64_t i = 0; i < n; ++i) w[i] &= c.b[i];
      P["white_matter"] = "given";
    } else {
      wm = estimate_white_matter(c.img, c.brain);
      P["white_matter"] = "estimated";
    }
    detail::apply_ms_lesions(c, wm, g, P);
  } else if (type == AnomalyType::tumour_mass) {
    detail::apply_tumour_mass(c, g, P);
  } else {
    detail::apply_mood(c, type, g, P);
  }
  return {c.out, c.mask, type, P.dump()};
}

}  // namespace uad::io
