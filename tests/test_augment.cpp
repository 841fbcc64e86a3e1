// Healthy augmentation (io/augment.h) on a synthetic brain phantom and, when installed, Colin27.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "brain_phantom.h"
#include "io/augment.h"

using namespace uad;
using namespace uad::io;
using uad::testing::make_phantom;

namespace {

AugmentOptions zero_options() {
  AugmentOptions o;
  o.max_rotation_deg = o.max_scale = o.max_translation_mm = o.elastic_alpha_mm = 0;
  o.gamma_log_range = o.bias_field_strength = o.noise_std = 0;
  return o;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.contiguous().raw(), b.contiguous().raw(), a.numel() * dtype_size(a.dtype())) == 0;
}

int64_t count(const Tensor& m) {
  const uint8_t* p = m.data<uint8_t>();
  int64_t c = 0;
  for (int64_t i = 0; i < m.numel(); ++i) c += p[i] != 0;
  return c;
}

int64_t border_voxels(const Tensor& m) {
  const uint8_t* p = m.data<uint8_t>();
  const int64_t nz = m.size(0), ny = m.size(1), nx = m.size(2);
  int64_t c = 0;
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x)
        if (p[(z * ny + y) * nx + x] && (z == 0 || y == 0 || x == 0 || z == nz - 1 || y == ny - 1 || x == nx - 1)) ++c;
  return c;
}

std::array<double, 3> centroid(const Tensor& m) {
  const uint8_t* p = m.data<uint8_t>();
  const int64_t ny = m.size(1), nx = m.size(2);
  double s[3] = {0, 0, 0}, n = 0;
  for (int64_t i = 0; i < m.numel(); ++i)
    if (p[i]) {
      s[0] += (double)(i / (ny * nx));
      s[1] += (double)((i / nx) % ny);
      s[2] += (double)(i % nx);
      n += 1;
    }
  return {s[0] / n, s[1] / n, s[2] / n};
}

void expect_in_unit_range(const Tensor& t) {
  const float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) ASSERT_TRUE(p[i] >= 0.f && p[i] <= 1.f) << "voxel " << i << " = " << p[i];
}

}  // namespace

TEST(Augment, SameSeedSameOutputDifferentSeedDifferent) {
  auto P = make_phantom();
  Generator g1(7), g2(7), g3(8);
  Augmented a = augment_healthy(P.image, P.brain, P.spacing, AugmentOptions{}, g1);
  Augmented b = augment_healthy(P.image, P.brain, P.spacing, AugmentOptions{}, g2);
  Augmented c = augment_healthy(P.image, P.brain, P.spacing, AugmentOptions{}, g3);
  EXPECT_TRUE(same_bytes(a.image, b.image));
  EXPECT_TRUE(same_bytes(a.mask, b.mask));
  EXPECT_EQ(a.params_json, b.params_json);
  EXPECT_FALSE(same_bytes(a.image, c.image));
  EXPECT_NE(a.params_json, c.params_json);
  EXPECT_EQ(g1.offset(), g2.offset());  // the same number of draws
  // Consecutive calls on one generator give different augmentations.
  Augmented d = augment_healthy(P.image, P.brain, P.spacing, AugmentOptions{}, g1);
  EXPECT_FALSE(same_bytes(a.image, d.image));
}

TEST(Augment, IdentityOptionsReturnTheInputExactly) {
  auto P = make_phantom();
  Generator g(3);
  Augmented a = augment_healthy(P.image, P.brain, P.spacing, zero_options(), g);
  EXPECT_TRUE(same_bytes(a.image, P.image));
  EXPECT_TRUE(same_bytes(a.mask, P.brain));
  // Also with anisotropic voxels (the voxel-space map must still be the exact identity).
  Augmented b = augment_healthy(P.image, P.brain, {3.0, 0.7, 1.3}, zero_options(), g);
  EXPECT_TRUE(same_bytes(b.image, P.image));
}

TEST(Augment, BrainStaysInsideTheFieldOfViewAndKeepsItsVolume) {
  auto P = make_phantom();
  const double v0 = (double)count(P.brain);
  AugmentOptions strong;  // larger than the defaults, so the shrink-to-fit path is exercised too
  strong.max_rotation_deg = 20;
  strong.max_scale = 0.2;
  strong.max_translation_mm = 10;
  int shrunk = 0;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    Generator g(seed);
    const AugmentOptions& o = seed % 2 ? strong : AugmentOptions{};
    Augmented a = augment_healthy(P.image, P.brain, P.spacing, o, g);
    EXPECT_EQ(border_voxels(a.mask), 0) << "seed " << seed << " " << a.params_json;
    const double ratio = (double)count(a.mask) / v0;
    const auto j = nlohmann::json::parse(a.params_json);
    const double s = j["scale"].get<double>();  // after any shrinking
    EXPECT_NEAR(ratio, s * s * s, 0.1 * s * s * s) << "seed " << seed;  // the elastic part changes volume a little
    if (seed % 2 == 0) {  // default options: within ±35 %
      EXPECT_GT(ratio, 0.65) << "seed " << seed;
      EXPECT_LT(ratio, 1.35) << "seed " << seed;
    }
    expect_in_unit_range(a.image);
    shrunk += j["geometry_factor"].get<double>() < 1.0;
  }
  EXPECT_GT(shrunk, 0) << "the strong options never needed shrinking; the test does not cover that path";
}

TEST(Augment, TranslationAndScaleMoveTheBrainAsRecorded) {
  auto P = make_phantom();
  const auto c0 = centroid(P.brain);
  AugmentOptions t = zero_options();
  t.max_translation_mm = 5;
  Generator g(11);
  Augmented a = augment_healthy(P.image, P.brain, {1.0, 2.0, 0.5}, t, g);
  const auto j = nlohmann::json::parse(a.params_json);
  const auto tr = j["translation_mm_zyx"].get<std::array<double, 3>>();
  const auto c1 = centroid(a.mask);
  const double sp[3] = {1.0, 2.0, 0.5};
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(c1[k] - c0[k], tr[k] / sp[k], 0.5) << "axis " << k;

  AugmentOptions s = zero_options();
  s.max_scale = 0.15;
  Augmented b = augment_healthy(P.image, P.brain, P.spacing, s, g);
  const double sc = nlohmann::json::parse(b.params_json)["scale"].get<double>();
  EXPECT_NEAR((double)count(b.mask) / (double)count(P.brain), sc * sc * sc, 0.03);

  AugmentOptions r = zero_options();  // rotation about the centre keeps volume and centroid
  r.max_rotation_deg = 15;
  Augmented c = augment_healthy(P.image, P.brain, P.spacing, r, g);
  EXPECT_NEAR((double)count(c.mask) / (double)count(P.brain), 1.0, 0.02);
  const auto c2 = centroid(c.mask);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(c2[k], c0[k], 0.5);
}

TEST(Augment, ElasticDisplacementIsBoundedByAlpha) {
  // A single bright voxel's mass moves by at most alpha (plus interpolation spread).
  auto P = make_phantom();
  AugmentOptions e = zero_options();
  e.elastic_alpha_mm = 2.0;
  Generator g(5);
  Augmented a = augment_healthy(P.image, P.brain, P.spacing, e, g);
  EXPECT_FALSE(same_bytes(a.image, P.image));
  const auto c0 = centroid(P.brain), c1 = centroid(a.mask);
  for (int k = 0; k < 3; ++k) EXPECT_LT(std::fabs(c1[k] - c0[k]), 2.0);
  // Every warped-mask voxel had a mask voxel within alpha (+ rounding) in the input.
  const uint8_t* mi = P.brain.data<uint8_t>();
  const uint8_t* mo = a.mask.data<uint8_t>();
  const int64_t ny = 72, nx = 64;
  int64_t bad = 0;
  for (int64_t i = 0; i < a.mask.numel(); ++i) {
    if (!mo[i]) continue;
    const int64_t z = i / (ny * nx), y = (i / nx) % ny, x = i % nx;
    bool near = false;
    for (int64_t dz = -3; dz <= 3 && !near; ++dz)
      for (int64_t dy = -3; dy <= 3 && !near; ++dy)
        for (int64_t dx = -3; dx <= 3 && !near; ++dx)
          if (dz * dz + dy * dy + dx * dx <= 9 && z + dz >= 0 && z + dz < 60 && y + dy >= 0 && y + dy < ny &&
              x + dx >= 0 && x + dx < nx)
            near = mi[((z + dz) * ny + y + dy) * nx + x + dx];
    bad += !near;
  }
  EXPECT_EQ(bad, 0);
}

TEST(Augment, IntensityTransformsKeepTheBackgroundZero) {
  auto P = make_phantom();
  AugmentOptions o = zero_options();
  o.gamma_log_range = 0.3;
  o.bias_field_strength = 0.2;
  o.noise_std = 0.05;
  Generator g(21);
  Augmented a = augment_healthy(P.image, P.brain, P.spacing, o, g);
  EXPECT_TRUE(same_bytes(a.mask, P.brain));
  const float* in = P.image.data<float>();
  const float* out = a.image.data<float>();
  const uint8_t* m = P.brain.data<uint8_t>();
  int64_t changed = 0;
  for (int64_t i = 0; i < a.image.numel(); ++i) {
    if (!m[i]) {
      ASSERT_EQ(out[i], 0.f) << i;
    } else {
      changed += out[i] != in[i];
    }
  }
  EXPECT_GT(changed, count(P.brain) * 9 / 10);
  expect_in_unit_range(a.image);
  const auto j = nlohmann::json::parse(a.params_json);
  const double gamma = j["gamma"].get<double>();
  EXPECT_GE(gamma, std::exp(-0.3));
  EXPECT_LE(gamma, std::exp(0.3));
  EXPECT_EQ(j["noise_std"].get<double>(), 0.05);

  // Gamma alone is exactly v^γ.
  AugmentOptions go = zero_options();
  go.gamma_log_range = 0.3;
  Augmented b = augment_healthy(P.image, P.brain, P.spacing, go, g);
  const double gb = nlohmann::json::parse(b.params_json)["gamma"].get<double>();
  const float* bo = b.image.data<float>();
  for (int64_t i = 0; i < b.image.numel(); i += 97) EXPECT_NEAR(bo[i], std::pow(in[i], gb), 1e-6);
}

TEST(Augment, SmoothRandomFieldIsBoundedSmoothAndSeeded) {
  Generator g1(1), g2(1);
  Tensor f = smooth_random_field({40, 50, 30}, {1, 1, 2}, 10.0, g1);
  Tensor h = smooth_random_field({40, 50, 30}, {1, 1, 2}, 10.0, g2);
  EXPECT_TRUE(same_bytes(f, h));
  const float* p = f.data<float>();
  float mx = 0, step = 0;
  for (int64_t z = 0; z < 40; ++z)
    for (int64_t y = 0; y < 50; ++y)
      for (int64_t x = 0; x < 30; ++x) {
        const int64_t i = (z * 50 + y) * 30 + x;
        mx = std::max(mx, std::fabs(p[i]));
        if (x + 1 < 30) step = std::max(step, std::fabs(p[i + 1] - p[i]));
      }
  EXPECT_LE(mx, 1.f);
  EXPECT_GT(mx, 0.5f);
  EXPECT_LT(step, 0.35f);  // σ = 10 mm: neighbouring voxels 2 mm apart differ little
  EXPECT_THROW(smooth_random_field({4, 4}, {1, 1, 1}, 1.0, g1), Error);
  EXPECT_THROW(smooth_random_field({4, 4, 4}, {1, 1, 1}, 0.0, g1), Error);
}

TEST(Augment, SampleTrilinearIsExactAtVoxelsAndZeroOutside) {
  const float v[8] = {0, 1, 2, 3, 4, 5, 6, 7};  // [2,2,2]
  EXPECT_EQ(sample_trilinear(v, 2, 2, 2, 1, 0, 1), 5.f);
  EXPECT_FLOAT_EQ(sample_trilinear(v, 2, 2, 2, 0.5, 0.5, 0.5), 3.5f);
  EXPECT_FLOAT_EQ(sample_trilinear(v, 2, 2, 2, 0.25, 1, 0), 2 + 0.25f * 4);
  EXPECT_FLOAT_EQ(sample_trilinear(v, 2, 2, 2, 0, 1, -0.5), 1.f);  // half-way to the zero padding
  EXPECT_FLOAT_EQ(sample_trilinear(v, 2, 2, 2, 1, 1, 1.5), 3.5f);
  EXPECT_EQ(sample_trilinear(v, 2, 2, 2, 5, 0, 0), 0.f);
  const uint8_t m[8] = {0, 1, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(sample_nearest(m, 2, 2, 2, 0.2, -0.4, 0.6), 1);
  EXPECT_EQ(sample_nearest(m, 2, 2, 2, 0.2, -0.6, 0.6), 0);
}

TEST(Augment, RejectsBadInputs) {
  auto P = make_phantom();
  Generator g(0);
  EXPECT_THROW(augment_healthy(P.image, zeros({2, 2, 2}, DType::u8), P.spacing, AugmentOptions{}, g), Error);
  EXPECT_THROW(augment_healthy(zeros({4, 4}), zeros({4, 4}, DType::u8), P.spacing, AugmentOptions{}, g), Error);
  EXPECT_THROW(augment_healthy(P.image, P.brain, {1, 0, 1}, AugmentOptions{}, g), Error);
  AugmentOptions bad;
  bad.noise_std = -1;
  EXPECT_THROW(augment_healthy(P.image, P.brain, P.spacing, bad, g), Error);
  bad = AugmentOptions{};
  bad.max_scale = 1.0;
  EXPECT_THROW(augment_healthy(P.image, P.brain, P.spacing, bad, g), Error);
  try {
    augment_healthy(P.image, zeros({2, 2, 2}, DType::u8), P.spacing, AugmentOptions{}, g);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("augment_healthy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[2,2,2]"), std::string::npos) << e.what();
  }
}

TEST(Augment, Colin27StaysInsideTheFieldOfView) {
  auto C = uad::testing::load_colin();
  if (!C) GTEST_SKIP() << uad::testing::kColinPath << " absent (apt-get install mricron-data)";
  const double v0 = (double)count(C->brain);
  for (uint64_t seed : {0, 1}) {
    Generator g(seed);
    Augmented a = augment_healthy(C->image, C->brain, C->spacing, AugmentOptions{}, g);
    EXPECT_EQ(border_voxels(a.mask), 0);
    const double ratio = (double)count(a.mask) / v0;
    EXPECT_GT(ratio, 0.65);
    EXPECT_LT(ratio, 1.35);
    expect_in_unit_range(a.image);
    EXPECT_EQ(nlohmann::json::parse(a.params_json)["geometry_factor"].get<double>(), 1.0);
  }
}
