// Preprocessing: reorientation (world coordinates preserved), crop/pad, intensity normalisation on
// hand-computed cases, and Gaussian smoothing, resampling and binary morphology against
// scipy.ndimage (tests/io_ref/scipy_ref.py) on small random volumes.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "tests/error_of.h"
#include "io/preprocess.h"
#include "tests/io_ref/io_test_util.h"
#include "tests/npy.h"

using namespace uad;
using namespace uad::io;
using namespace uad::test;

namespace {

// Voxel values = linear file index, so every output voxel names the input voxel it came from.
Tensor index_volume(const Shape& s) {
  Tensor t = empty(s, DType::f32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = (float)i;
  return t;
}

// Every voxel of `out` has the world coordinates of the `in` voxel its value names.
void expect_world_preserved(const NiftiVolume& in, const NiftiVolume& out) {
  const int64_t nx = in.header.dim[0], ny = in.header.dim[1];
  const int64_t ox = out.header.dim[0], oy = out.header.dim[1];
  const float* p = out.data.data<float>();
  for (int64_t v = 0; v < out.data.numel(); ++v) {
    const int64_t src = (int64_t)p[v];
    auto a = voxel_to_world(out.header.affine, (double)(v % ox), (double)((v / ox) % oy), (double)(v / (ox * oy)));
    auto b = voxel_to_world(in.header.affine, (double)(src % nx), (double)((src / nx) % ny), (double)(src / (nx * ny)));
    for (int c = 0; c < 3; ++c) ASSERT_NEAR(a[c], b[c], 1e-9) << "voxel " << v;
  }
}

// Collects scipy_ref.py jobs and runs them with a single Python start-up.
struct ScipyBatch {
  TempDir dir{"scipy"};
  std::ostringstream lines;
  int n = 0;
  // Adds a job on `x`; returns the path its result will be written to.
  std::string add(const std::string& op, const Tensor& x, const std::string& args) {
    const std::string in = dir / ("in" + std::to_string(n) + ".npy"), out = dir / ("out" + std::to_string(n) + ".npy");
    ++n;
    write_npy(in, x.to(DType::f32));
    lines << op << ' ' << in << ' ' << out << ' ' << args << '\n';
    return out;
  }
  void run() {
    std::ofstream(dir / "batch.txt") << lines.str();
    ASSERT_EQ(run_io_ref("scipy_ref.py", "batch " + (dir / "batch.txt")), 0) << "scipy_ref.py failed";
  }
};

std::string num(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}

void expect_close(const Tensor& got, const std::string& ref_path, double tol, const std::string& what) {
  Tensor ref = read_npy(ref_path);
  ASSERT_EQ(got.shape(), ref.shape()) << what;
  auto a = got.to_vector(), b = ref.to_vector();
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::fabs(a[i] - b[i]) > worst) worst = std::fabs(a[i] - b[i]), at = i;
  EXPECT_LE(worst, tol) << what << ": max |diff| " << worst << " at " << at << " (" << a[at] << " vs " << b[at] << ")";
}

bool have_scipy() { return python_has("scipy.ndimage, numpy"); }
#define REQUIRE_SCIPY() \
  if (!have_scipy()) GTEST_SKIP() << "/usr/bin/python3 cannot import scipy (apt-get install python3-scipy)"

Mat4 affine_of(std::initializer_list<double> rows12) {
  Mat4 m = mat4_identity();
  auto it = rows12.begin();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) m[r][c] = *it++;
  return m;
}

}  // namespace

// ---- geometry ----------------------------------------------------------------------------------

TEST(Reorient, LasBecomesRasWithWorldCoordinatesKept) {
  const Mat4 las = affine_of({-2, 0, 0, 20, 0, 3, 0, -30, 0, 0, 4, -12});
  TempDir dir("las");
  write_nifti(dir / "las.nii.gz", index_volume({3, 4, 5}), make_nifti_header({3, 4, 5}, {2, 3, 4}, &las));
  NiftiVolume v = read_nifti(dir / "las.nii.gz");
  ASSERT_EQ(v.header.orientation, "LAS");
  NiftiVolume r = reorient_to_ras(v);
  EXPECT_EQ(r.header.orientation, "RAS");
  EXPECT_EQ(r.data.shape(), (Shape{3, 4, 5}));
  EXPECT_EQ(r.header.pixdim, (std::array<double, 3>{2, 3, 4}));
  EXPECT_EQ(r.header.affine[0][0], 2);               // i now runs to the right
  EXPECT_EQ(r.header.affine[0][3], 20 - 2 * 4);      // origin = world of old voxel i = 4
  EXPECT_EQ(r.data.to_vector()[0], 4);               // new voxel (0,0,0) is old (4,0,0)
  expect_world_preserved(v, r);
  NiftiVolume back = reorient_to_ras(r);  // already RAS: unchanged
  EXPECT_EQ(back.data.to_vector(), r.data.to_vector());
}

TEST(Reorient, PermutedAxesAndMasks) {
  // i → Posterior, j → Superior, k → Left ("PSL"), with a small rotation.
  const double c = std::cos(0.1), s = std::sin(0.1);
  const Mat4 psl = affine_of({0, 0, -1.5 * c, 7, -2 * c, 0, 1.5 * s, 3, 2 * s, 1, 0, -5});
  NiftiVolume v{index_volume({6, 4, 5}), make_nifti_header({6, 4, 5}, {2, 1, 1.5}, &psl)};
  ASSERT_EQ(v.header.orientation, "PSL");
  NiftiVolume r = reorient_to_ras(v);
  EXPECT_EQ(r.header.orientation, "RAS");
  EXPECT_EQ(r.data.shape(), (Shape{4, 5, 6}));  // [Z=old j, Y=old i, X=old k]
  EXPECT_NEAR(r.header.pixdim[0], 1.5, 1e-12);
  EXPECT_NEAR(r.header.pixdim[1], 2, 1e-12);
  EXPECT_NEAR(r.header.pixdim[2], 1, 1e-12);
  expect_world_preserved(v, r);
  // A u8 mask follows the same voxel moves.
  Tensor m = v.data.to(DType::u8);
  Tensor rm = apply_reorientation(m, ras_reorientation(v.header));
  EXPECT_EQ(rm.dtype(), DType::u8);
  EXPECT_EQ(rm.to_vector(), r.data.to(DType::u8).to_vector());
}

TEST(CropPad, BoundingBoxMarginAndWorldCoordinates) {
  Tensor mask = zeros({6, 7, 8}, DType::u8);
  mask.data<uint8_t>()[(1 * 7 + 2) * 8 + 3] = 1;
  mask.data<uint8_t>()[(4 * 7 + 2) * 8 + 7] = 1;
  Box b = bounding_box(mask);
  EXPECT_EQ(b.lo, (std::array<int64_t, 3>{1, 2, 3}));
  EXPECT_EQ(b.hi, (std::array<int64_t, 3>{5, 3, 8}));
  const Mat4 a = affine_of({-1, 0, 0, 5, 0, 1, 0, 6, 0, 0, 2, 7});
  NiftiVolume v{index_volume({6, 7, 8}), make_nifti_header({6, 7, 8}, {1, 1, 2}, &a)};
  v.data.data<float>()[0] = 1e6f;  // marks index 0 so the padded zeros are distinguishable
  auto [c, cm] = crop_to_brain(v, mask, 2);
  EXPECT_EQ(c.data.shape(), (Shape{8, 5, 9}));  // z 1-2..5+2, y 0..5, x 1..10 (x padded past 8)
  EXPECT_EQ(cm.shape(), (Shape{8, 5, 9}));
  EXPECT_EQ(cm.dtype(), DType::u8);
  double ones = 0;
  for (double m : cm.to_vector()) ones += m;
  EXPECT_EQ(ones, 2);
  // Voxels inside the original volume keep their world coordinates; outside ones are 0.
  const float* p = c.data.data<float>();
  for (int64_t z = 0; z < 8; ++z)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t x = 0; x < 9; ++x) {
        const int64_t oz = z - 1, oy = y + 0, ox = x + 1;
        const float val = p[(z * 5 + y) * 9 + x];
        if (oz < 0 || oz >= 6 || ox >= 8) {
          ASSERT_EQ(val, 0.f);
          continue;
        }
        auto w1 = voxel_to_world(c.header.affine, (double)x, (double)y, (double)z);
        auto w0 = voxel_to_world(v.header.affine, (double)ox, (double)oy, (double)oz);
        for (int k = 0; k < 3; ++k) ASSERT_NEAR(w1[k], w0[k], 1e-12);
        ASSERT_EQ(val, (oz * 7 + oy) * 8 + ox == 0 ? 1e6f : (float)((oz * 7 + oy) * 8 + ox));
      }
  Box cb = centered_box({6, 7, 8}, {4, 9, 8});
  EXPECT_EQ(cb.lo, (std::array<int64_t, 3>{1, -1, 0}));
  EXPECT_EQ(cb.hi, (std::array<int64_t, 3>{5, 8, 8}));
  EXPECT_NE(error_of([] { bounding_box(zeros({2, 2, 2})); }).find("no nonzero voxel"), std::string::npos);
}

// ---- intensity -----------------------------------------------------------------------------------

TEST(Intensity, PercentileHandComputed) {
  Tensor x = from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {1, 2, 5});
  Tensor m = from_vector({0, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {1, 2, 5}, DType::u8);
  // Selected {2..8}: h = 6·0.98 = 5.88 → 7 + 0.88·(8 − 7) = 7.88; h = 6·0.5 = 3 → 5.
  EXPECT_NEAR(percentile(x, m, 98), 7.88, 1e-12);
  EXPECT_EQ(percentile(x, m, 50), 5);
  EXPECT_EQ(percentile(x, Tensor(), 100), 10);
  EXPECT_EQ(percentile(x, Tensor(), 0), 1);
  Tensor n = normalize_percentile(from_vector({-1, 0, 3.94, 7.88, 9}, {5}), from_vector({0, 1, 1, 1, 1}, {5}), 50);
  // Masked {0, 3.94, 7.88, 9}: h = 1.5 → 3.94 + 0.5·3.94 = 5.91.
  {
    auto v = n.to_vector();
    const std::vector<double> want = {0, 0, 3.94 / 5.91, 1, 1};
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(v[i], want[i], 1e-6) << i;
  }
  EXPECT_NE(error_of([&] { normalize_percentile(zeros({4}), Tensor(), 98); }).find("must be > 0"), std::string::npos);
  EXPECT_NE(error_of([&] { percentile(x, zeros({1, 2, 5}), 98); }).find("selects no voxel"), std::string::npos);
  EXPECT_NE(error_of([&] { percentile(x, m, 101); }).find("[0,100]"), std::string::npos);
}

TEST(Intensity, MinMaxAndCtWindow) {
  auto v = normalize_minmax(from_vector({-3, 1, 5, 3}, {4})).to_vector();
  EXPECT_EQ(v, (std::vector<double>{-1, 0, 1, 0.5}));
  auto w = ct_window(from_vector({-50, -20, 40, 100, 300, 10}, {6})).to_vector();
  EXPECT_EQ(w, (std::vector<double>{-1, -1, 0, 1, 1, -0.5}));
  EXPECT_NE(error_of([] { normalize_minmax(full({3}, 2.0)); }).find("constant volume"), std::string::npos);
  EXPECT_NE(error_of([] { ct_window(zeros({3}), 5, 5); }).find("empty window"), std::string::npos);
}

TEST(Intensity, BrainMasks) {
  Tensor x = from_vector({0, 0.5, -1, 3, 0, 2, 0, 0}, {2, 2, 2});
  EXPECT_EQ(mask_from_image(x).to_vector(), (std::vector<double>{0, 1, 0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(mask_from_image(x).dtype(), DType::u8);
  TempDir dir("mask");
  NiftiHeader h = make_nifti_header({2, 2, 2});
  write_nifti(dir / "m.nii.gz", from_vector({0, 1, 0, 2, 0, 1, 0, 0}, {2, 2, 2}), h, NiftiWriteType::u8);
  EXPECT_EQ(read_mask(dir / "m.nii.gz", h).to_vector(), (std::vector<double>{0, 1, 0, 1, 0, 1, 0, 0}));
  NiftiHeader other = make_nifti_header({2, 2, 2}, {2, 2, 2});
  EXPECT_NE(error_of([&] { read_mask(dir / "m.nii.gz", other); }).find("not on the same grid"), std::string::npos);
  EXPECT_NE(error_of([&] { read_mask(dir / "m.nii.gz", make_nifti_header({2, 2, 3})); }).find("differs"),
            std::string::npos);
}

// ---- smoothing and resampling against scipy.ndimage --------------------------------------------

TEST(Resample, GaussianMatchesScipy) {
  REQUIRE_SCIPY();
  ScipyBatch b;
  Tensor x = uniform_f32({9, 11, 13}, 1, -1, 1), y = uniform_f32({5, 11, 13}, 2, 0, 10);
  const std::string r1 = b.add("gaussian", x, "0.8 1.5 0 4.0");
  const std::string r2 = b.add("gaussian", y, "3.0 0.5 2.2 4.0");  // radius 12 > 5: repeated reflections
  const std::string r3 = b.add("gaussian", x, "1.2 0.3 0.7 2.5");
  b.run();
  expect_close(gaussian_smooth(x, {0.8, 1.5, 0}), r1, 1e-5, "sigma (0.8,1.5,0)");
  expect_close(gaussian_smooth(y, {3.0, 0.5, 2.2}), r2, 1e-5 * 10, "sigma (3,0.5,2.2) on values in [0,10)");
  expect_close(gaussian_smooth(x, {1.2, 0.3, 0.7}, 2.5), r3, 1e-5, "truncate 2.5");
  EXPECT_EQ(gaussian_smooth(x, {0, 0, 0}).to_vector(), x.to_vector());
}

TEST(Resample, TrilinearAndNearestMatchScipy) {
  REQUIRE_SCIPY();
  ScipyBatch b;
  Tensor x = uniform_f32({8, 10, 12}, 3, -1, 1);
  // Arbitrary grids, including coordinates outside [0, n−1] (clamped, mode='nearest').
  const std::array<AxisMap, 3> g1{AxisMap{1.37, -0.8}, AxisMap{0.61, 0.25}, AxisMap{2.3, -1.1}};
  const Shape o1{7, 17, 6};
  auto grid_args = [](const Shape& o, const std::array<AxisMap, 3>& g, int order) {
    std::ostringstream s;
    s << o[0] << ' ' << o[1] << ' ' << o[2];
    for (auto& m : g) s << ' ' << num(m.scale) << ' ' << num(m.shift);
    s << ' ' << order;
    return s.str();
  };
  const std::string lin = b.add("grid", x, grid_args(o1, g1, 1));
  const std::string near = b.add("grid", x, grid_args(o1, g1, 0));
  const std::string zoom_up = b.add("zoomgrid", x, "11 13 19");
  const Shape down{3, 4, 5};
  std::array<AxisMap, 3> dm;
  for (int a = 0; a < 3; ++a) dm[a] = {(double)x.size(a) / (double)down[a], 0.5 * x.size(a) / down[a] - 0.5};
  const auto s = antialias_sigma(dm);
  const std::string smoothed = b.add("gaussian", x, num(s[0]) + " " + num(s[1]) + " " + num(s[2]) + " 4.0");
  b.run();
  ScipyBatch b2;  // the anti-aliased reference: scipy's smoothing, then scipy's interpolation
  const std::string aa = b2.add("grid", read_npy(smoothed), grid_args(down, dm, 1));
  b2.run();
  expect_close(resample_grid(x, o1, g1, Interp::linear), lin, 1e-5, "trilinear vs map_coordinates(order=1)");
  expect_close(resample_grid(x, o1, g1, Interp::nearest), near, 0, "nearest vs map_coordinates(order=0)");
  expect_close(resize(x, {11, 13, 19}, Interp::linear, true), zoom_up, 1e-5, "upsampling vs zoom(grid_mode=True)");
  expect_close(resize(x, down), aa, 1e-5, "anti-aliased downsampling vs gaussian_filter + map_coordinates");
  EXPECT_NEAR(s[0], (8.0 / 3 - 1) / 2, 1e-15);  // σ = (f − 1)/2
  EXPECT_NEAR(s[1], (10.0 / 4 - 1) / 2, 1e-15);
  EXPECT_NEAR(s[2], (12.0 / 5 - 1) / 2, 1e-15);
}

TEST(Resample, ToSpacingKeepsGeometry) {
  REQUIRE_SCIPY();
  const Mat4 las = affine_of({-1, 0, 0, 10, 0, 1.5, 0, -20, 0, 0, 2, 5});
  NiftiVolume v{uniform_f32({10, 12, 14}, 4), make_nifti_header({10, 12, 14}, {1, 1.5, 2}, &las)};
  NiftiVolume r = resample_to_spacing(v, {2, 2, 2});
  EXPECT_EQ(r.data.shape(), (Shape{10, 9, 7}));  // round(10·2/2), round(12·1.5/2), round(14·1/2)
  for (double p : r.header.pixdim) EXPECT_NEAR(p, 2.0, 1e-12);
  EXPECT_EQ(r.header.orientation, "LAS");
  // The field of view's centre stays put.
  auto c0 = voxel_to_world(v.header.affine, 6.5, 5.5, 4.5), c1 = voxel_to_world(r.header.affine, 3, 4, 4.5);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(c0[k], c1[k], 1e-12);
  // The data are the volume sampled where the new header says each voxel is.
  const Mat4 inv_old_x = affine_of({-1, 0, 0, 10, 0, 1.0 / 1.5, 0, 20 / 1.5, 0, 0, 0.5, -2.5});
  std::array<AxisMap, 3> g;
  for (int a = 0; a < 3; ++a) {  // tensor axis t ↔ NIfTI axis 2 − t
    const int n = 2 - a;
    auto w0 = voxel_to_world(r.header.affine, 0, 0, 0);
    std::array<double, 3> e{0, 0, 0};
    e[n] = 1;
    auto w1 = voxel_to_world(r.header.affine, e[0], e[1], e[2]);
    auto i0 = voxel_to_world(inv_old_x, w0[0], w0[1], w0[2]), i1 = voxel_to_world(inv_old_x, w1[0], w1[1], w1[2]);
    g[a] = {i1[n] - i0[n], i0[n]};
  }
  EXPECT_NEAR(g[2].scale, 2.0, 1e-12);  // x: 2 mm / 1 mm
  NiftiVolume plain = resample_to_spacing(v, {2, 2, 2}, Interp::linear, /*antialias=*/false);
  ScipyBatch b;
  const std::string ref = b.add("grid", v.data,
                                "10 9 7 " + num(g[0].scale) + " " + num(g[0].shift) + " " + num(g[1].scale) + " " +
                                    num(g[1].shift) + " " + num(g[2].scale) + " " + num(g[2].shift) + " 1");
  b.run();
  expect_close(plain.data, ref, 1e-5, "resample_to_spacing vs map_coordinates at the header's positions");
  EXPECT_NE(error_of([&] { resample_to_spacing(v, {0, 1, 1}); }).find("spacing must be > 0"), std::string::npos);
}

// ---- morphology ------------------------------------------------------------------------------------

TEST(Morphology, HandComputed) {
  Tensor dot = zeros({5, 5, 5}, DType::u8);
  dot.data<uint8_t>()[62] = 1;  // the centre
  auto count = [](const Tensor& t) {
    double s = 0;
    for (double v : t.to_vector()) s += v;
    return s;
  };
  EXPECT_EQ(count(binary_dilation(dot, StructuringElement::connectivity(6))), 7);
  EXPECT_EQ(count(binary_dilation(dot, StructuringElement::connectivity(18))), 19);
  EXPECT_EQ(count(binary_dilation(dot, StructuringElement::connectivity(26))), 27);
  EXPECT_EQ(count(binary_dilation(dot, StructuringElement::connectivity(6), 2)), 25);  // |d|₁ ≤ 2
  EXPECT_EQ(count(binary_dilation(dot, StructuringElement::ball(2))), 33);             // |d|₂ ≤ 2
  Tensor cube = binary_dilation(dot, StructuringElement::connectivity(26));
  Tensor core = binary_erosion(cube, StructuringElement::connectivity(26));
  EXPECT_EQ(count(core), 1);
  EXPECT_EQ(core.to_vector()[62], 1);
  // border_value = 0: a full volume erodes from its faces.
  EXPECT_EQ(count(binary_erosion(ones({5, 5, 5}), StructuringElement::connectivity(6))), 27);
  EXPECT_EQ(count(binary_erosion(ones({5, 5, 5}), StructuringElement::connectivity(6), 0)), 0);  // until stable
  EXPECT_NE(error_of([] { StructuringElement::connectivity(8); }).find("6, 18 or 26"), std::string::npos);
  EXPECT_NE(error_of([] { StructuringElement::from_mask(ones({2, 3, 3})); }).find("odd"), std::string::npos);
}

TEST(Morphology, MatchesScipyExactly) {
  REQUIRE_SCIPY();
  ScipyBatch b;
  Tensor dense = uniform_f32({12, 13, 14}, 5), sparse = uniform_f32({12, 13, 14}, 6);
  Tensor md = mask_from_image(dense, 0.25), ms = mask_from_image(sparse, 0.93);
  struct Case {
    std::string kind;
    int param, iters;
    StructuringElement se;
    std::string ero, dil;
  };
  std::vector<Case> cases;
  for (int c : {6, 18, 26})
    for (int it : {1, 2}) cases.push_back({"conn", c, it, StructuringElement::connectivity(c), "", ""});
  for (int r : {1, 2}) cases.push_back({"ball", r, 1, StructuringElement::ball(r), "", ""});
  cases.push_back({"conn", 6, 0, StructuringElement::connectivity(6), "", ""});  // until nothing changes
  for (Case& c : cases) {
    const std::string args = c.kind + " " + std::to_string(c.param) + " " + std::to_string(c.iters);
    c.ero = b.add("erode", md, args);
    c.dil = b.add("dilate", ms, args);
  }
  b.run();
  for (const Case& c : cases) {
    const std::string what = c.kind + std::to_string(c.param) + " x" + std::to_string(c.iters);
    expect_close(binary_erosion(md, c.se, c.iters), c.ero, 0, "erosion " + what);
    expect_close(binary_dilation(ms, c.se, c.iters), c.dil, 0, "dilation " + what);
  }
}
