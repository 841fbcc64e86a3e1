// Synthetic anomalies (io/anomaly.h) on a synthetic brain phantom and, when installed, Colin27.
// With UAD_ANOMALY_PREVIEW_DIR set, the Colin27 test also writes one PNG per type there (the healthy
// and the anomalous axial slice through the anomaly side by side, mask outlined in red).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "brain_phantom.h"
#include "io/anomaly.h"
#include "io/augment.h"
#include "io/png.h"
#include "io/resample.h"

using namespace uad;
using namespace uad::io;
using uad::testing::make_phantom;
using uad::testing::Phantom;
using json = nlohmann::json;

namespace {

constexpr AnomalyType kAll[] = {AnomalyType::uniform_addition, AnomalyType::noise_addition,
                                AnomalyType::sink_deformation, AnomalyType::source_deformation,
                                AnomalyType::uniform_shift,    AnomalyType::reflection,
                                AnomalyType::local_blur,       AnomalyType::slice_shuffle,
                                AnomalyType::ms_lesions,       AnomalyType::tumour_mass};
static_assert(sizeof(kAll) / sizeof(kAll[0]) == kAnomalyTypeCount);

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.contiguous().raw(), b.contiguous().raw(), a.numel() * dtype_size(a.dtype())) == 0;
}

struct Check {
  int64_t mask_voxels = 0, outside_brain = 0, out_of_range = 0, changed_inside = 0, changed_outside = 0,
          changed_outside_brain = 0;
};

Check inspect(const Phantom& P, const SyntheticAnomaly& a) {
  Check c;
  const float* in = P.image.data<float>();
  const float* out = a.image.data<float>();
  const uint8_t* m = a.mask.data<uint8_t>();
  const uint8_t* b = P.brain.data<uint8_t>();
  for (int64_t i = 0; i < a.image.numel(); ++i) {
    const bool changed = std::memcmp(&in[i], &out[i], sizeof(float)) != 0;
    c.mask_voxels += m[i] != 0;
    c.outside_brain += m[i] && !b[i];
    c.out_of_range += !(out[i] >= 0.f && out[i] <= 1.f);
    (m[i] ? c.changed_inside : c.changed_outside) += changed;
    c.changed_outside_brain += changed && !b[i];
  }
  return c;
}

/// The shared invariants of every type: non-empty mask inside the brain, [0,1] intensities, the
/// image changed, locality (bit-identical outside the mask) for the local types, and nothing outside
/// the brain changed for any type.
void expect_invariants(const Phantom& P, const SyntheticAnomaly& a, AnomalyType t, const std::string& where) {
  ASSERT_EQ(a.type, t);
  ASSERT_EQ(a.mask.dtype(), DType::u8);
  ASSERT_EQ(a.image.shape(), P.image.shape());
  const Check c = inspect(P, a);
  const std::string ctx = where + " " + anomaly_name(t) + " " + a.params_json.substr(0, 300);
  EXPECT_GT(c.mask_voxels, 0) << ctx;
  EXPECT_EQ(c.outside_brain, 0) << ctx;
  EXPECT_EQ(c.out_of_range, 0) << ctx;
  EXPECT_GT(c.changed_inside, c.mask_voxels / 4) << ctx;
  EXPECT_EQ(c.changed_outside_brain, 0) << ctx;
  if (anomaly_is_local(t)) {
    EXPECT_EQ(c.changed_outside, 0) << ctx;
  }
  EXPECT_EQ(json::parse(a.params_json)["type"].get<std::string>(), anomaly_name(t));
}

std::array<int64_t, 3> center_of(const SyntheticAnomaly& a) {
  return json::parse(a.params_json)["center_zyx"].get<std::array<int64_t, 3>>();
}

}  // namespace

TEST(Anomaly, NamesRoundTripAndUnknownNamesListTheValidOnes) {
  for (AnomalyType t : kAll) EXPECT_EQ(anomaly_from_name(anomaly_name(t)), t);
  EXPECT_STREQ(anomaly_name(AnomalyType::ms_lesions), "ms_lesions");
  EXPECT_STREQ(anomaly_name(AnomalyType::uniform_addition), "uniform_addition");
  try {
    anomaly_from_name("glioma");
    FAIL() << "no throw";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("glioma"), std::string::npos) << msg;
    for (AnomalyType t : kAll) EXPECT_NE(msg.find(anomaly_name(t)), std::string::npos) << msg;
  }
  EXPECT_THROW(anomaly_from_name("Reflection"), Error);
  for (AnomalyType t : kAll) EXPECT_EQ(anomaly_is_local(t), t != AnomalyType::tumour_mass);
}

TEST(Anomaly, EveryTypeOnThePhantomKeepsItsInvariants) {
  const Phantom P = make_phantom();
  for (AnomalyType t : kAll)
    for (uint64_t seed = 0; seed < 4; ++seed) {
      Generator g(seed);
      SyntheticAnomaly a = make_anomaly(P.image, P.brain, t, P.spacing, g, t == AnomalyType::ms_lesions ? P.wm : Tensor());
      expect_invariants(P, a, t, "seed " + std::to_string(seed));
    }
}

TEST(Anomaly, SameSeedSameOutputDifferentSeedDifferent) {
  const Phantom P = make_phantom();
  for (AnomalyType t : kAll) {
    Generator g1(42), g2(42), g3(43);
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, t, P.spacing, g1);
    SyntheticAnomaly b = make_anomaly(P.image, P.brain, t, P.spacing, g2);
    SyntheticAnomaly c = make_anomaly(P.image, P.brain, t, P.spacing, g3);
    EXPECT_TRUE(same_bytes(a.image, b.image)) << anomaly_name(t);
    EXPECT_TRUE(same_bytes(a.mask, b.mask)) << anomaly_name(t);
    EXPECT_EQ(a.params_json, b.params_json);
    EXPECT_FALSE(same_bytes(a.image, c.image) && same_bytes(a.mask, c.mask)) << anomaly_name(t);
  }
}

TEST(Anomaly, MoodRegionIsTheSphereInTheBrainCentredInTheCentralHalf) {
  const Phantom P = make_phantom();
  const std::array<double, 3> sp{1.0, 1.2, 0.9};  // anisotropic: the sphere is physical
  const double side = (60 * 1.0 + 72 * 1.2 + 64 * 0.9) / 3.0;
  for (int ti = 0; ti < 8; ++ti) {
    const AnomalyType t = kAll[ti];
    Generator g(100 + ti);
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, t, sp, g);
    const json j = json::parse(a.params_json);
    const auto C = center_of(a);
    const double r = j["radius_mm"].get<double>(), f = j["radius_fraction"].get<double>();
    const bool small = t == AnomalyType::uniform_addition || t == AnomalyType::noise_addition ||
                       t == AnomalyType::slice_shuffle;
    EXPECT_GE(f, small ? 0.05 : 0.08);
    EXPECT_LE(f, small ? 0.10 : 0.13);
    EXPECT_NEAR(r, f * side, 1e-9);
    const int64_t n[3] = {60, 72, 64};
    for (int k = 0; k < 3; ++k) {
      EXPECT_GE(C[k], n[k] / 2 / 2);
      EXPECT_LT(C[k], n[k] / 2 / 2 + n[k] / 2);
    }
    const uint8_t* m = a.mask.data<uint8_t>();
    const uint8_t* b = P.brain.data<uint8_t>();
    int64_t mismatch = 0;
    for (int64_t z = 0; z < 60; ++z)
      for (int64_t y = 0; y < 72; ++y)
        for (int64_t x = 0; x < 64; ++x) {
          const double d2 = std::pow((z - C[0]) * sp[0], 2) + std::pow((y - C[1]) * sp[1], 2) +
                            std::pow((x - C[2]) * sp[2], 2);
          const int64_t i = (z * 72 + y) * 64 + x;
          mismatch += (m[i] != 0) != (d2 <= r * r && b[i]);
        }
    EXPECT_EQ(mismatch, 0) << anomaly_name(t);
  }
}

TEST(Anomaly, MoodTypesFollowTheirDefinitions) {
  const Phantom P = make_phantom();
  const float* in = P.image.data<float>();
  const int64_t ny = 72, nx = 64;
  auto at = [&](const float* v, int64_t z, int64_t y, int64_t x) { return v[(z * ny + y) * nx + x]; };
  auto for_mask = [&](const SyntheticAnomaly& a, auto fn) {
    const uint8_t* m = a.mask.data<uint8_t>();
    for (int64_t i = 0; i < a.mask.numel(); ++i)
      if (m[i]) fn(i / (ny * nx), (i / nx) % ny, i % nx, a.image.data<float>()[i]);
  };
  Generator g(9);
  {  // uniform addition: clamp(v + a), |a| in [0.2, 0.3]·range
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, AnomalyType::uniform_addition, P.spacing, g);
    const json j = json::parse(a.params_json);
    const float add = j["addition"].get<float>();
    const double range = j["intensity_range"].get<double>();
    EXPECT_GE(std::fabs(add), 0.2 * range - 1e-6);
    EXPECT_LE(std::fabs(add), 0.3 * range + 1e-6);
    for_mask(a, [&](int64_t z, int64_t y, int64_t x, float v) {
      EXPECT_EQ(v, std::clamp(at(in, z, y, x) + add, 0.f, 1.f));
    });
  }
  {  // noise addition: one sign, magnitudes within [0.05, 0.3]·range where unclamped
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, AnomalyType::noise_addition, P.spacing, g);
    const json j = json::parse(a.params_json);
    const double sign = j["sign"].get<double>(), range = j["intensity_range"].get<double>();
    double lo = 1e9, hi = -1e9;
    for_mask(a, [&](int64_t z, int64_t y, int64_t x, float v) {
      if (v <= 0.f || v >= 1.f) return;
      const double d = sign * ((double)v - at(in, z, y, x));
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    });
    EXPECT_GE(lo, 0.05 * range - 1e-6);
    EXPECT_LE(hi, 0.3 * range + 1e-6);
    EXPECT_GT(hi - lo, 0.1 * range);  // per-voxel values, not one constant
  }
  {  // reflection across the x mid-plane
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, AnomalyType::reflection, P.spacing, g);
    for_mask(a, [&](int64_t z, int64_t y, int64_t x, float v) { EXPECT_EQ(v, at(in, z, y, nx - 1 - x)); });
  }
  {  // uniform shift: np.roll by the recorded shift, 2–5 % of each axis
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, AnomalyType::uniform_shift, P.spacing, g);
    const auto k = json::parse(a.params_json)["shift_voxels_zyx"].get<std::array<int64_t, 3>>();
    const int64_t n[3] = {60, 72, 64};
    for (int d = 0; d < 3; ++d) {
      EXPECT_GE(std::llabs(k[d]), std::max<int64_t>(1, std::llround(0.02 * n[d])));
      EXPECT_LE(std::llabs(k[d]), std::max<int64_t>(1, std::llround(0.05 * n[d])));
    }
    for_mask(a, [&](int64_t z, int64_t y, int64_t x, float v) {
      EXPECT_EQ(v, at(in, (z - k[0] + 60) % 60, (y - k[1] + 72) % 72, (x - k[2] + 64) % 64));
    });
  }
  {  // slice shuffle: a cyclic permutation of the slab's slices
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, AnomalyType::slice_shuffle, P.spacing, g);
    const json j = json::parse(a.params_json);
    const int axis = j["axis"].get<int>();
    const auto slab = j["slab"].get<std::array<int64_t, 2>>();
    const auto perm = j["permutation"].get<std::vector<int64_t>>();
    ASSERT_EQ((int64_t)perm.size(), slab[1] - slab[0] + 1);
    std::vector<int> seen(perm.size(), 0);
    for (size_t p = 0; p < perm.size(); ++p) {
      EXPECT_NE(perm[p], (int64_t)p) << "fixed point";
      seen[perm[p]]++;
    }
    for (int s : seen) EXPECT_EQ(s, 1);
    for_mask(a, [&](int64_t z, int64_t y, int64_t x, float v) {
      int64_t I[3] = {z, y, x};
      I[axis] = slab[0] + perm[I[axis] - slab[0]];
      EXPECT_EQ(v, at(in, I[0], I[1], I[2]));
    });
  }
  {  // local blur equals the whole-volume Gaussian (σ = 2 voxels) inside the mask
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, AnomalyType::local_blur, P.spacing, g);
    const Tensor full = gaussian_smooth(P.image, {2, 2, 2});
    const float* f = full.data<float>();
    for_mask(a, [&](int64_t z, int64_t y, int64_t x, float v) { EXPECT_NEAR(v, at(f, z, y, x), 1e-6); });
  }
  for (bool sink : {true, false}) {  // deformations: identity at the centre (source) / rim; bounded values
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, sink ? AnomalyType::sink_deformation : AnomalyType::source_deformation,
                                      P.spacing, g);
    const auto C = center_of(a);
    const float* o = a.image.data<float>();
    // At the centre both maps read the centre voxel itself.
    EXPECT_EQ(at(o, C[0], C[1], C[2]), at(in, C[0], C[1], C[2]));
    // Source magnifies the centre: the voxel next to C reads a point 1/r² voxels from C, i.e. ≈ C.
    if (!sink) {
      EXPECT_NEAR(at(o, C[0], C[1], C[2] + 1), at(in, C[0], C[1], C[2]), 0.02);
    }
  }
}

TEST(Anomaly, MsLesionsLieInsideWhiteMatter) {
  const Phantom P = make_phantom();
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Generator g(seed);
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, AnomalyType::ms_lesions, P.spacing, g, P.wm);
    const json j = json::parse(a.params_json);
    const int64_t n = j["count"].get<int64_t>();
    EXPECT_GE(n, 3);
    EXPECT_LE(n, 10);
    ASSERT_EQ((int64_t)j["lesions"].size(), n);
    for (const auto& l : j["lesions"]) {
      for (double ax : l["semi_axes_mm"].get<std::vector<double>>()) {
        EXPECT_GE(ax, 2.0);
        EXPECT_LE(ax, 8.0);
      }
      const auto q = l["quaternion_wxyz"].get<std::vector<double>>();
      EXPECT_NEAR(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3], 1.0, 1e-12);
      EXPECT_GT(l["intensity"].get<double>(), j["white_matter_mean"].get<double>());
    }
    const uint8_t* m = a.mask.data<uint8_t>();
    const uint8_t* w = P.wm.data<uint8_t>();
    const float* in = P.image.data<float>();
    const float* out = a.image.data<float>();
    int64_t outside = 0, brighter = 0, voxels = 0;
    for (int64_t i = 0; i < a.mask.numel(); ++i)
      if (m[i]) {
        outside += !w[i];
        brighter += out[i] > in[i];
        ++voxels;
      }
    EXPECT_EQ(outside, 0);
    EXPECT_GT(brighter, voxels * 9 / 10);  // hyperintense
  }
  // Without a white-matter mask: inside the intensity estimate, which on the phantom is the inner
  // ellipsoid (minus its 6-connected edge).
  const Tensor est = estimate_white_matter(P.image, P.brain);
  const uint8_t* e = est.data<uint8_t>();
  const uint8_t* w = P.wm.data<uint8_t>();
  int64_t inter = 0, ne = 0, nw = 0;
  for (int64_t i = 0; i < est.numel(); ++i) {
    inter += e[i] && w[i];
    ne += e[i];
    nw += w[i];
  }
  EXPECT_EQ(inter, ne);                    // the estimate lies in the true white matter
  EXPECT_GT((double)ne, 0.7 * (double)nw); // and covers most of it
  Generator g(3);
  SyntheticAnomaly a = make_anomaly(P.image, P.brain, AnomalyType::ms_lesions, P.spacing, g);
  EXPECT_EQ(json::parse(a.params_json)["white_matter"].get<std::string>(), "estimated");
  const uint8_t* m = a.mask.data<uint8_t>();
  for (int64_t i = 0; i < a.mask.numel(); ++i)
    if (m[i]) {
      ASSERT_TRUE(e[i]) << i;
    }
}

TEST(Anomaly, TumourMassHasACoreARimAndBoundedMassEffect) {
  const Phantom P = make_phantom();
  for (uint64_t seed = 0; seed < 3; ++seed) {
    Generator g(seed);
    SyntheticAnomaly a = make_anomaly(P.image, P.brain, AnomalyType::tumour_mass, P.spacing, g);
    const json j = json::parse(a.params_json);
    const auto C = center_of(a);
    const double R = j["radius_mm"].get<double>();
    EXPECT_LE(R, j["radius_mm_drawn"].get<double>());
    EXPECT_LE(R, 0.25 * 40 + 1e-9);  // the phantom's smallest brain extent is 40 voxels (z)
    const float* in = P.image.data<float>();
    const float* out = a.image.data<float>();
    const uint8_t* m = a.mask.data<uint8_t>();
    const int64_t ny = 72, nx = 64;
    int64_t far_changed = 0, mass = 0;
    for (int64_t i = 0; i < a.image.numel(); ++i) {
      const int64_t z = i / (ny * nx), y = (i / nx) % ny, x = i % nx;
      const double r = std::sqrt(std::pow(z - C[0], 2) + std::pow(y - C[1], 2) + std::pow(x - C[2], 2));
      if (r >= 4 * R) far_changed += std::memcmp(&in[i], &out[i], 4) != 0;
      if (m[i]) {
        ++mass;
        EXPECT_LT(r, 1.3 * R + 1e-9);  // the outline stays within R·(1 ± 0.3)
      }
      if (r <= 0.65 * R) {
        EXPECT_TRUE(m[i] || !P.brain.data<uint8_t>()[i]);
      }
    }
    EXPECT_EQ(far_changed, 0);
    EXPECT_GT(mass, 0);
    // Necrotic centre darker than the enhancing rim.
    const double In = j["intensity_necrosis"].get<double>(), Ir = j["intensity_rim"].get<double>();
    const double h = j["texture_amplitude"].get<double>() * j["texture_clip"].get<double>();  // largest relative change
    const float centre = out[(C[0] * ny + C[1]) * nx + C[2]];
    EXPECT_GE(centre, In * (1 - h) - 1e-6);
    EXPECT_LE(centre, In * (1 + h) + 1e-6);
    EXPECT_LT(In * (1 + h), Ir * (1 - h));
  }
}

TEST(Anomaly, RejectsBadInputs) {
  const Phantom P = make_phantom();
  Generator g(0);
  EXPECT_THROW(make_anomaly(P.image, zeros({60, 72, 64}, DType::u8), AnomalyType::reflection, P.spacing, g), Error);
  EXPECT_THROW(make_anomaly(P.image, zeros({2, 2, 2}, DType::u8), AnomalyType::reflection, P.spacing, g), Error);
  EXPECT_THROW(make_anomaly(P.image, P.brain, AnomalyType::reflection, {1, -1, 1}, g), Error);
  EXPECT_THROW(make_anomaly(P.image, P.brain, (AnomalyType)42, P.spacing, g), Error);
  try {
    make_anomaly(P.image, P.brain, AnomalyType::ms_lesions, P.spacing, g, zeros({60, 72, 64}, DType::u8));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("white"), std::string::npos) << e.what();
  }
}

namespace {

// Axial slice z of a [Z,Y,X] volume as [Y,X] with anterior (high y) at the top.
Tensor axial(const Tensor& v, int64_t z) {
  const int64_t ny = v.size(1), nx = v.size(2);
  Tensor f = v.to(DType::f32).contiguous();
  Tensor s = empty({ny, nx});
  for (int64_t y = 0; y < ny; ++y)
    for (int64_t x = 0; x < nx; ++x) s.data<float>()[y * nx + x] = f.data<float>()[(z * ny + (ny - 1 - y)) * nx + x];
  return s;
}

void write_preview(const std::string& dir, const Phantom& P, const SyntheticAnomaly& a) {
  // The axial slice with the most mask voxels.
  const int64_t nz = a.mask.size(0), plane = a.mask.size(1) * a.mask.size(2);
  const uint8_t* m = a.mask.data<uint8_t>();
  int64_t best = 0, best_n = -1;
  for (int64_t z = 0; z < nz; ++z) {
    int64_t c = 0;
    for (int64_t i = 0; i < plane; ++i) c += m[z * plane + i];
    if (c > best_n) best_n = c, best = z;
  }
  const Tensor before = axial(P.image, best), after = axial(a.image, best), mk = axial(a.mask, best);
  const int64_t ny = before.size(0), nx = before.size(1);
  Tensor pic = zeros({ny, 2 * nx}), ov = zeros({ny, 2 * nx});
  for (int64_t y = 0; y < ny; ++y)
    for (int64_t x = 0; x < nx; ++x) {
      pic.data<float>()[y * 2 * nx + x] = before.data<float>()[y * nx + x];
      pic.data<float>()[y * 2 * nx + nx + x] = after.data<float>()[y * nx + x];
      ov.data<float>()[y * 2 * nx + nx + x] = mk.data<float>()[y * nx + x];
    }
  PngOverlay o;
  o.mask = ov;
  o.outline = true;
  write_png(dir + "/" + anomaly_name(a.type) + ".png", pic, 0.0, 1.0, {o});
}

}  // namespace

TEST(Anomaly, EveryTypeOnColin27) {
  auto C = uad::testing::load_colin();
  if (!C) GTEST_SKIP() << uad::testing::kColinPath << " absent (apt-get install mricron-data)";
  const char* dir = std::getenv("UAD_ANOMALY_PREVIEW_DIR");
  if (dir) std::filesystem::create_directories(dir);
  for (AnomalyType t : kAll) {
    Generator g(2024);
    SyntheticAnomaly a = make_anomaly(C->image, C->brain, t, C->spacing, g);
    expect_invariants(*C, a, t, "colin27");
    if (dir) write_preview(dir, *C, a);
  }
}
