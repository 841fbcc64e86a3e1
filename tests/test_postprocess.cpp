// eval/postprocess.h: the median filter, labelling, small-component removal, closing and the
// per-slice brain-mask erosion against scipy.ndimage (tests/eval_ref/scipy_post.py, bit for bit),
// plus hand-computed cases, lesions(), segment(), strongest_anomaly() and the error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "eval/postprocess.h"
#include "tests/error_of.h"
#include "tests/io_ref/io_test_util.h"
#include "tests/npy.h"

using namespace uad;
using namespace uad::test;
using namespace uad::eval;

namespace {

// Collects scipy_post.py jobs and runs them with a single Python start-up.
struct ScipyBatch {
  TempDir dir{"post"};
  std::ostringstream lines;
  int n = 0;
  /// Adds a job on `x` (written as f32); returns the path of its result.
  std::string add(const std::string& op, const Tensor& x, const std::string& args) {
    const std::string in = dir / ("in" + std::to_string(n) + ".npy"), out = dir / ("out" + std::to_string(n) + ".npy");
    ++n;
    write_npy(in, x.to(DType::f32));
    lines << op << ' ' << in << ' ' << out << ' ' << args << '\n';
    return out;
  }
  void run() {
    std::ofstream(dir / "batch.txt") << lines.str();
    const std::string cmd = std::string(kPython) + " " + UAD_SOURCE_DIR + "/tests/eval_ref/scipy_post.py batch " +
                            (dir / "batch.txt");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "scipy_post.py failed";
  }
};

#define REQUIRE_SCIPY()                                                                      \
  if (!python_has("scipy.ndimage, numpy")) GTEST_SKIP() << kPython << " lacks scipy/numpy"

/// Bit-for-bit equality of two f32 volumes (reports the first difference).
void expect_bits_equal(const Tensor& got, const Tensor& ref, const std::string& what) {
  ASSERT_EQ(got.shape(), ref.shape()) << what;
  ASSERT_EQ(ref.dtype(), DType::f32) << what;
  const float* a = got.data<float>();
  const float* b = ref.data<float>();
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < got.numel(); ++i)
    if (std::memcmp(a + i, b + i, 4) != 0) bad += 1, first = first < 0 ? i : first;
  EXPECT_EQ(bad, 0) << what << ": " << bad << " voxels differ, first at " << first << " (" << a[first] << " vs "
                    << b[first] << ")";
}

/// Exact equality of an integer-valued volume with a float64 reference.
void expect_ints_equal(const Tensor& got, const Tensor& ref, const std::string& what) {
  ASSERT_EQ(got.shape(), ref.shape()) << what;
  const auto a = got.to_vector(), b = ref.to_vector();
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) bad += 1, first = first < 0 ? (int64_t)i : first;
  EXPECT_EQ(bad, 0) << what << ": " << bad << " voxels differ, first at " << first << " (" << a[(size_t)first]
                    << " vs " << b[(size_t)first] << ")";
}

Tensor random_mask(const Shape& s, double density, uint32_t seed) {
  std::mt19937 g(seed);
  std::bernoulli_distribution d(density);
  Tensor t = empty(s, DType::u8);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = d(g);
  return t;
}

/// Small integers 0..levels−1 as floats: many ties.
Tensor random_levels(const Shape& s, int levels, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> d(0, levels - 1);
  Tensor t = empty(s, DType::f32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = (float)d(g);
  return t;
}

/// Zeros except a noisy ellipsoid (and a few isolated spikes), like a masked residual map.
Tensor sparse_volume(const Shape& s, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-0.5f, 1.f);
  Tensor t = zeros(s, DType::f32);
  float* p = t.data<float>();
  const double cz = s[0] / 2.0, cy = s[1] / 2.0, cx = s[2] / 2.0;
  for (int64_t z = 0; z < s[0]; ++z)
    for (int64_t y = 0; y < s[1]; ++y)
      for (int64_t x = 0; x < s[2]; ++x) {
        const double q = std::pow((z - cz) / (0.35 * s[0]), 2) + std::pow((y - cy) / (0.3 * s[1]), 2) +
                         std::pow((x - cx) / (0.3 * s[2]), 2);
        if (q < 1) p[(z * s[1] + y) * s[2] + x] = std::max(0.f, u(g));
      }
  for (int i = 0; i < 6; ++i) p[(size_t)(g() % (uint32_t)t.numel())] = 3.f;  // borders included
  return t;
}

}  // namespace

// ---- median: scipy equality -------------------------------------------------------------------------

TEST(PostMedian, EqualsScipyBitForBit) {
  REQUIRE_SCIPY();
  struct Case {
    std::string name;
    Tensor v;
    std::vector<int> sizes;
  };
  std::vector<Case> cases = {
      {"uniform [20,23,19]", uniform_f32({20, 23, 19}, 1, -1.f, 1.f), {1, 3, 5}},
      {"ties [12,13,14]", random_levels({12, 13, 14}, 4, 2), {3, 5}},
      {"binary ties [9,10,11]", random_levels({9, 10, 11}, 2, 3), {5}},
      {"wide rows [5,6,75]", uniform_f32({5, 6, 75}, 4), {3, 5}},
      {"sparse [16,18,40]", sparse_volume({16, 18, 40}, 5), {3, 5}},
      {"small [3,4,7]", uniform_f32({3, 4, 7}, 6), {3, 5, 7}},
      {"small [1,2,3]", uniform_f32({1, 2, 3}, 7), {3, 5}},
      {"small [2,1,1]", uniform_f32({2, 1, 1}, 8), {3, 5}},
      {"single [1,1,1]", uniform_f32({1, 1, 1}, 9), {5}},
      {"size 7 [8,9,10]", uniform_f32({8, 9, 10}, 10), {7}},
  };
  ScipyBatch batch;
  std::vector<std::string> refs;
  for (const Case& c : cases)
    for (int s : c.sizes) refs.push_back(batch.add("median", c.v, std::to_string(s)));
  batch.run();
  size_t i = 0;
  for (const Case& c : cases)
    for (int s : c.sizes) {
      const std::string what = c.name + " size " + std::to_string(s);
      expect_bits_equal(median_filter3d(c.v, s), read_npy(refs[i++]), what);
    }
}

// ---- median: hand-computed ----------------------------------------------------------------------------

TEST(PostMedian, ConstantWithOneSpikeIsConstant) {
  Tensor v = full({7, 7, 7}, 2.5, DType::f32);
  v.data<float>()[3 * 49 + 3 * 7 + 3] = 100.f;  // 1 of 125 (27) window values: never the median
  for (int s : {3, 5}) {
    Tensor m = median_filter3d(v, s);
    for (double d : m.to_vector()) ASSERT_EQ(d, 2.5) << "size " << s;
  }
}

TEST(PostMedian, BlockOfOnes) {
  // 9³ zeros with a 5³ block of ones at [2,7)³; size 5.
  Tensor v = zeros({9, 9, 9}, DType::f32);
  for (int z = 2; z < 7; ++z)
    for (int y = 2; y < 7; ++y)
      for (int x = 2; x < 7; ++x) v.data<float>()[(z * 9 + y) * 9 + x] = 1.f;
  Tensor m = median_filter3d(v, 5);
  auto at = [&](int z, int y, int x) { return m.data<float>()[(z * 9 + y) * 9 + x]; };
  EXPECT_EQ(at(4, 4, 4), 1.f);  // the window is the block: 125 ones
  EXPECT_EQ(at(3, 4, 4), 1.f);  // z 1..5: 4·5·5 = 100 ones > 62
  EXPECT_EQ(at(2, 4, 4), 1.f);  // z 0..4: 3·5·5 = 75 ones
  EXPECT_EQ(at(2, 3, 4), 0.f);  // 3·4·5 = 60 ones, 65 zeros: rank 62 is a zero
  EXPECT_EQ(at(2, 2, 4), 0.f);  // 3·3·5 = 45 ones
  EXPECT_EQ(at(0, 4, 4), 0.f);  // reflect: z −2..2 → rows 1,0,0,1,2: 1 of 5 in the block
}

TEST(PostMedian, ReflectAlongOneAxis) {
  // [1,1,5] with size 3: every window is 9 copies of the three reflected x values.
  Tensor v = from_vector({5, 1, 4, 2, 3}, {1, 1, 5});
  EXPECT_EQ(median_filter3d(v, 3).to_vector(), (std::vector<double>{5, 4, 2, 3, 3}));
  EXPECT_EQ(median_filter3d(v, 1).to_vector(), v.to_vector());
}

TEST(PostMedian, NegativeZeroReadsAsPositiveZero) {
  Tensor v = full({3, 3, 3}, -0.0);
  for (double d : median_filter3d(v, 3).to_vector()) ASSERT_FALSE(std::signbit(d));
}

// ---- labelling ----------------------------------------------------------------------------------------

TEST(PostLabel, EqualsScipyForEveryConnectivityAndDensity) {
  REQUIRE_SCIPY();
  ScipyBatch batch;
  struct Job {
    Tensor m;
    int conn;
    double density;
    std::string label, small;
  };
  std::vector<Job> jobs;
  uint32_t seed = 20;
  for (double d : {0.1, 0.3, 0.5})
    for (int c : {6, 18, 26}) {
      Job j{random_mask({17, 19, 70}, d, seed++), c, d, "", ""};
      j.label = batch.add("label", j.m, std::to_string(c));
      j.small = batch.add("small", j.m, std::to_string(c) + " 8");
      jobs.push_back(j);
    }
  // Rows of exactly 64 and 128 voxels (whole 64-bit run masks, runs crossing the chunk border).
  for (int c : {6, 26}) {
    Job j{random_mask({6, 7, 128}, 0.5, seed++), c, 0.5, "", ""};
    j.label = batch.add("label", j.m, std::to_string(c));
    j.small = batch.add("small", j.m, std::to_string(c) + " 8");
    jobs.push_back(j);
  }
  // > 2^17 runs: the multi-threaded union with its serial seam pass between the z chunks.
  for (int c : {18, 26}) {
    Job j{random_mask({80, 64, 128}, 0.5, seed++), c, 0.5, "", ""};
    j.label = batch.add("label", j.m, std::to_string(c));
    j.small = batch.add("small", j.m, std::to_string(c) + " 8");
    jobs.push_back(j);
  }
  batch.run();
  for (const Job& j : jobs) {
    const std::string what = "conn " + std::to_string(j.conn) + " density " + std::to_string(j.density);
    Components c = label_components(j.m, j.conn);
    Tensor ref = read_npy(j.label);
    expect_ints_equal(c.labels, ref, what);
    const auto rv = ref.to_vector();
    const int64_t ref_count = (int64_t)*std::max_element(rv.begin(), rv.end());
    EXPECT_EQ(c.count, ref_count) << what;
    std::vector<int64_t> sizes((size_t)ref_count, 0);
    for (double l : rv)
      if (l > 0) sizes[(size_t)l - 1] += 1;
    EXPECT_EQ(c.sizes, sizes) << what;
    expect_ints_equal(remove_small_components(j.m, 8, j.conn), read_npy(j.small), what + " min 8");
  }
}

TEST(PostLabel, CornerEdgeAndFaceContacts) {
  auto two = [](std::array<int, 3> a, std::array<int, 3> b) {
    Tensor m = zeros({2, 2, 2}, DType::u8);
    m.data<uint8_t>()[a[0] * 4 + a[1] * 2 + a[2]] = 1;
    m.data<uint8_t>()[b[0] * 4 + b[1] * 2 + b[2]] = 1;
    return m;
  };
  Tensor corner = two({0, 0, 0}, {1, 1, 1}), edge = two({0, 0, 0}, {0, 1, 1}), face = two({0, 0, 0}, {1, 0, 0});
  EXPECT_EQ(label_components(corner, 26).count, 1);
  EXPECT_EQ(label_components(corner, 18).count, 2);
  EXPECT_EQ(label_components(corner, 6).count, 2);
  EXPECT_EQ(label_components(edge, 18).count, 1);
  EXPECT_EQ(label_components(edge, 6).count, 2);
  EXPECT_EQ(label_components(face, 6).count, 1);
  Components c = label_components(corner, 6);
  EXPECT_EQ(c.labels.to_vector(), (std::vector<double>{1, 0, 0, 0, 0, 0, 0, 2}));
  EXPECT_EQ(c.sizes, (std::vector<int64_t>{1, 1}));
  // Numbering follows the first voxel: a U shape whose right arm starts first is one label.
  Tensor u = from_vector({0, 0, 1, 1, 0, 1, 1, 1, 1}, {1, 3, 3}, DType::f64);
  Components cu = label_components(u, 6);
  EXPECT_EQ(cu.count, 1);
  EXPECT_EQ(cu.labels.to_vector(), (std::vector<double>{0, 0, 1, 1, 0, 1, 1, 1, 1}));
  EXPECT_EQ(label_components(zeros({3, 4, 5}), 26).count, 0);
}

TEST(PostLabel, RemoveSmallHand) {
  Tensor m = zeros({3, 3, 10}, DType::u8);
  uint8_t* p = m.data<uint8_t>();
  for (int x = 0; x < 8; ++x) p[x] = 1;  // 8 voxels in row (0,0)
  p[2 * 30 + 2 * 10 + 9] = 1;             // a lone voxel in the far corner
  Tensor r = remove_small_components(m, 8);
  EXPECT_EQ(r.to_vector()[7], 1);
  EXPECT_EQ(r.to_vector()[2 * 30 + 2 * 10 + 9], 0);
  Tensor all = remove_small_components(m, 9);
  for (double v : all.to_vector()) ASSERT_EQ(v, 0);
}

// ---- morphology -------------------------------------------------------------------------------------

TEST(PostMorphology, ClosingAndSliceErosionEqualScipy) {
  REQUIRE_SCIPY();
  ScipyBatch batch;
  Tensor sparse = random_mask({15, 16, 17}, 0.2, 40);
  Tensor brain = sparse_volume({6, 40, 44}, 41);  // the ellipsoid, with holes where the noise is 0
  Tensor solid = zeros({6, 40, 44}, DType::u8);
  for (int64_t z = 0; z < 6; ++z)
    for (int64_t y = 0; y < 40; ++y)
      for (int64_t x = 0; x < 44; ++x)
        solid.data<uint8_t>()[(z * 40 + y) * 44 + x] = std::pow((y - 20) / 17.0, 2) + std::pow((x - 22) / 19.0, 2) < 1;
  const std::string c1 = batch.add("close", sparse, "1"), c2 = batch.add("close", sparse, "2");
  const std::string e12 = batch.add("erode2d", solid, "12"), e3 = batch.add("erode2d", brain, "3");
  Tensor dense = random_mask({5, 21, 30}, 0.85, 42);
  const std::string e1 = batch.add("erode2d", dense, "1"), e2 = batch.add("erode2d", dense, "2");
  batch.run();
  expect_ints_equal(binary_closing3d(sparse, 1), read_npy(c1), "closing 1");
  expect_ints_equal(binary_closing3d(sparse, 2), read_npy(c2), "closing 2");
  expect_ints_equal(eroded_brain_mask(solid, 12), read_npy(e12), "erosion 12");
  expect_ints_equal(eroded_brain_mask(brain, 3), read_npy(e3), "erosion 3");
  expect_ints_equal(eroded_brain_mask(dense, 1), read_npy(e1), "erosion 1");
  expect_ints_equal(eroded_brain_mask(dense, 2), read_npy(e2), "erosion 2");
  EXPECT_GT(eroded_brain_mask(solid, 12).to_vector()[(3 * 40 + 20) * 44 + 22], 0);  // the centre survives
  std::vector<double> nonzero;
  for (double v : brain.to_vector()) nonzero.push_back(v != 0);
  EXPECT_EQ(eroded_brain_mask(brain, 0).to_vector(), nonzero);
}

TEST(PostMorphology, ClosingErodesTheVolumeBorderLikeScipy) {
  // scipy's binary_closing erodes with border_value 0: an all-ones volume loses its outer shell.
  Tensor c = binary_closing3d(ones({4, 5, 6}, DType::u8), 1);
  const auto v = c.to_vector();
  for (int z = 0; z < 4; ++z)
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 6; ++x) {
        const bool inner = z > 0 && z < 3 && y > 0 && y < 4 && x > 0 && x < 5;
        ASSERT_EQ(v[(size_t)((z * 5 + y) * 6 + x)], inner ? 1 : 0) << z << "," << y << "," << x;
      }
  EXPECT_EQ(binary_closing3d(ones({4, 5, 6}, DType::u8), 0).to_vector(), ones({4, 5, 6}).to_vector());
}

// ---- anomaly map, segmentation, lesions ----------------------------------------------------------------

TEST(PostPipeline, AnomalyMapIsResidualTimesErodedMaskThenMedian) {
  Tensor x = uniform_f32({10, 24, 26}, 50), recon = uniform_f32({10, 24, 26}, 51);
  Tensor brain = sparse_volume({10, 24, 26}, 52);
  PostprocessOptions o;
  o.erode_iterations = 2;
  Tensor r = residual(x, recon, true), m = eroded_brain_mask(brain, 2);
  Tensor rm = empty(r.shape());
  for (int64_t i = 0; i < r.numel(); ++i) rm.data<float>()[i] = m.data<uint8_t>()[i] ? r.data<float>()[i] : 0.f;
  expect_bits_equal(anomaly_map(x, recon, brain, o), median_filter3d(rm, 5), "anomaly_map");
  // Hand values of the residual: max(x − x̂, 0) and |x − x̂|.
  Tensor a = from_vector({1, 2, 3}, {1, 1, 3}), b = from_vector({2, 2, 1}, {1, 1, 3});
  EXPECT_EQ(residual(a, b, true).to_vector(), (std::vector<double>{0, 0, 2}));
  EXPECT_EQ(residual(a, b, false).to_vector(), (std::vector<double>{1, 0, 2}));
  // No mask, no median: the residual itself.
  o.use_brain_mask = false;
  o.median_size = 1;
  EXPECT_EQ(anomaly_map(a, b, Tensor(), o).to_vector(), (std::vector<double>{0, 0, 2}));
}

TEST(PostPipeline, SegmentDropsSmallComponents) {
  Tensor map = zeros({6, 6, 6});
  float* p = map.data<float>();
  for (int z = 0; z < 2; ++z)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x) p[(z * 6 + y) * 6 + x] = 0.9f;  // 8 voxels: kept
  p[(5 * 6 + 5) * 6 + 5] = 0.9f;                                   // 1 voxel: dropped
  p[(5 * 6 + 0) * 6 + 5] = 0.4f;                                   // below the threshold
  PostprocessOptions o;
  Tensor s = segment(map, 0.5, o);
  EXPECT_EQ(s.dtype(), DType::u8);
  int64_t n = 0;
  for (double v : s.to_vector()) n += v != 0;
  EXPECT_EQ(n, 8);
  EXPECT_EQ(s.to_vector()[0], 1);
  o.min_component_voxels = 1;
  n = 0;
  for (double v : segment(map, 0.5, o).to_vector()) n += v != 0;
  EXPECT_EQ(n, 9);
}

TEST(PostPipeline, LesionsHandCase) {
  Tensor seg = zeros({4, 5, 6}, DType::u8), map = full({4, 5, 6}, 1.0);
  auto at = [](int z, int y, int x) { return (z * 5 + y) * 6 + x; };
  for (auto [z, y, x] : std::vector<std::array<int, 3>>{{0, 0, 0}, {0, 0, 1}, {0, 1, 0}})
    seg.data<uint8_t>()[at(z, y, x)] = 1;
  for (int z = 2; z < 4; ++z)
    for (int y = 3; y < 5; ++y)
      for (int x = 4; x < 6; ++x) seg.data<uint8_t>()[at(z, y, x)] = 1;
  map.data<float>()[at(3, 4, 4)] = 5.f;
  map.data<float>()[at(0, 0, 1)] = 2.f;
  map.data<float>()[at(0, 1, 0)] = 2.f;  // tie: (0,0,1) comes first in raster order
  const auto les = lesions(seg, map, {2.0, 1.0, 0.5});
  ASSERT_EQ(les.size(), 2u);
  EXPECT_EQ(les[0].label, 2);
  EXPECT_EQ(les[0].voxels, 8);
  EXPECT_DOUBLE_EQ(les[0].volume_mm3, 8.0);
  EXPECT_EQ(les[0].centroid_zyx, (std::array<double, 3>{2.5, 3.5, 4.5}));
  EXPECT_EQ(les[0].peak, 5.f);
  EXPECT_EQ(les[0].peak_zyx, (std::array<int64_t, 3>{3, 4, 4}));
  EXPECT_EQ(les[1].label, 1);
  EXPECT_EQ(les[1].voxels, 3);
  EXPECT_DOUBLE_EQ(les[1].volume_mm3, 3.0);
  EXPECT_DOUBLE_EQ(les[1].centroid_zyx[0], 0.0);
  EXPECT_DOUBLE_EQ(les[1].centroid_zyx[1], 1.0 / 3);
  EXPECT_DOUBLE_EQ(les[1].centroid_zyx[2], 1.0 / 3);
  EXPECT_EQ(les[1].peak, 2.f);
  EXPECT_EQ(les[1].peak_zyx, (std::array<int64_t, 3>{0, 0, 1}));
  EXPECT_TRUE(lesions(zeros({2, 2, 2}), zeros({2, 2, 2}), {1, 1, 1}).empty());
}

TEST(PostPipeline, StrongestAnomalyFirstOnTies) {
  Tensor m = zeros({3, 4, 5});
  m.data<float>()[(1 * 4 + 2) * 5 + 3] = 7.f;
  m.data<float>()[(2 * 4 + 0) * 5 + 0] = 7.f;
  EXPECT_EQ(strongest_anomaly(m), (std::array<int64_t, 3>{1, 2, 3}));
  m.data<float>()[0] = NAN;
  EXPECT_EQ(strongest_anomaly(m), (std::array<int64_t, 3>{1, 2, 3}));
  Tensor neg = full({2, 3, 4}, -5.0);
  neg.data<float>()[13] = -1.f;  // (1, 0, 1)
  EXPECT_EQ(strongest_anomaly(neg), (std::array<int64_t, 3>{1, 0, 1}));
  EXPECT_EQ(strongest_anomaly(full({2, 2, 2}, NAN)), (std::array<int64_t, 3>{0, 0, 0}));
}

// ---- errors -----------------------------------------------------------------------------------------

TEST(PostErrors, NameTheOpAndTheShapes) {
  Tensor v = zeros({4, 5, 6});
  EXPECT_NE(error_of([&] { median_filter3d(zeros({4, 5}), 3); }).find("median_filter3d"), std::string::npos);
  EXPECT_NE(error_of([&] { median_filter3d(v, 4); }).find("odd"), std::string::npos);
  EXPECT_NE(error_of([&] { median_filter3d(v, 0); }).find("odd"), std::string::npos);
  Tensor nan = zeros({4, 5, 6});
  nan.data<float>()[3] = NAN;
  nan.data<float>()[7] = NAN;
  const std::string e = error_of([&] { median_filter3d(nan, 5); });
  EXPECT_NE(e.find("median_filter3d: 2 NaN voxels in [4,5,6]"), std::string::npos) << e;
  const std::string ea = error_of([&] { anomaly_map(nan, v, v, PostprocessOptions{}); });
  EXPECT_NE(ea.find("anomaly_map: 2 NaN voxels"), std::string::npos) << ea;
  EXPECT_NE(error_of([&] { anomaly_map(v, zeros({4, 5, 7}), v, PostprocessOptions{}); }).find("[4,5,7]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { anomaly_map(v, v, zeros({4, 5, 7}), PostprocessOptions{}); }).find("brain"),
            std::string::npos);
  EXPECT_NE(error_of([&] { residual(v, zeros({4, 5, 7}), true); }).find("residual"), std::string::npos);
  EXPECT_NE(error_of([&] { label_components(v, 8); }).find("connectivity"), std::string::npos);
  EXPECT_NE(error_of([&] { remove_small_components(zeros({2, 2}), 8); }).find("remove_small_components"),
            std::string::npos);
  EXPECT_NE(error_of([&] { binary_closing3d(v, -1); }).find("binary_closing3d"), std::string::npos);
  EXPECT_NE(error_of([&] { eroded_brain_mask(v, -1); }).find("eroded_brain_mask"), std::string::npos);
  EXPECT_NE(error_of([&] { lesions(v, zeros({4, 5, 7}), {1, 1, 1}); }).find("lesions"), std::string::npos);
  EXPECT_NE(error_of([&] { strongest_anomaly(zeros({0, 2, 2})); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([&] { median_filter3d(zeros({4, 5, 6}, DType::i32), 3); }).find("float"), std::string::npos);
}
