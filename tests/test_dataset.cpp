// Views, per-subject preprocessing and `uad data prepare` (io/views.h, io/dataset.h):
//   * load_subject on a synthetic LAS volume: RAS reorientation keeps world coordinates, crop
//     margin in mm, percentile normalisation, background 0; a mask on another grid is an error;
//   * make_view on a synthetic ellipsoid brain: frame shapes, aspect ratio preserved, centred,
//     the brain-fraction rule for slices, small masks survive resampling;
//   * prepare_dataset --quick on the default Debian volumes (+ ../shared/data when present):
//     manifest consistency (files exist with the recorded shapes), splits disjoint by subject,
//     non-empty anomaly masks, usable slices contain brain, 64³ volumes, MSLUB/IXI splits;
//   * determinism for a seed, errors (missing/unreadable input, unwritable output, existing
//     output) leave no output folder behind, and the loaders read a prepared split.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "tests/error_of.h"
#include "io/dataset.h"
#include "io/dataset_plan.h"
#include "io/geometry.h"
#include "io/loader.h"
#include "io/manifest.h"
#include "io/nifti.h"
#include "io/views.h"
#include "tests/io_ref/io_test_util.h"

using namespace uad;
using uad::test::error_of;
using namespace uad::io;
namespace fs = std::filesystem;

namespace {

const char* kItkT1 = "/usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1RawSkullStrip.nii.gz";
const std::string kShared = std::string(UAD_SOURCE_DIR) + "/../shared/data";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Bounding box (lo, hi exclusive) of the nonzero pixels of plane z of a u8 [Z,H,W] tensor.
std::array<int64_t, 4> plane_box(const Tensor& m, int64_t z) {
  const int64_t h = m.size(1), w = m.size(2);
  const uint8_t* p = m.data<uint8_t>() + z * h * w;
  int64_t y0 = h, y1 = 0, x0 = w, x1 = 0;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      if (p[y * w + x]) y0 = std::min(y0, y), y1 = std::max(y1, y + 1), x0 = std::min(x0, x), x1 = std::max(x1, x + 1);
  return {y0, y1, x0, x1};
}

double plane_fraction(const Tensor& m, int64_t z) {
  const int64_t a = m.size(1) * m.size(2);
  const uint8_t* p = m.data<uint8_t>() + z * a;
  int64_t n = 0;
  for (int64_t i = 0; i < a; ++i) n += p[i] != 0;
  return (double)n / (double)a;
}

int64_t count(const Tensor& t) {
  int64_t n = 0;
  for (double v : t.to_vector()) n += v != 0;
  return n;
}

}  // namespace

// ---- load_subject ------------------------------------------------------------------------------

TEST(LoadSubject, ReorientsCropsAndNormalises) {
  test::TempDir tmp("dataset_subject");
  // Raw [Z=10,Y=12,X=14] at 1 mm, LAS (i points Left), origin (20,-5,3). Brain = box
  // z∈[3,7) y∈[4,9) x∈[2,11) with unique values 1 + x + 20y + 400z; background 0.
  Mat4 a = mat4_identity();
  a[0][0] = -1;
  a[0][3] = 20;
  a[1][3] = -5;
  a[2][3] = 3;
  const NiftiHeader h = make_nifti_header({10, 12, 14}, {1, 1, 1}, &a);
  std::vector<double> v(10 * 12 * 14, 0.0);
  for (int z = 3; z < 7; ++z)
    for (int y = 4; y < 9; ++y)
      for (int x = 2; x < 11; ++x) v[(z * 12 + y) * 14 + x] = 1 + x + 20 * y + 400 * z;
  write_nifti(tmp / "las.nii.gz", from_vector(v, {10, 12, 14}), h);
  SubjectSource src;
  src.id = "synthetic";
  src.image = tmp / "las.nii.gz";
  PreprocessOptions po;
  po.margin_mm = 2;
  po.percentile = 100;  // → divide by the maximum, so every value stays distinct
  const Subject s = load_subject(src, po);
  EXPECT_EQ(s.image.header.orientation, "RAS");
  EXPECT_EQ(s.raw_orientation, "LAS");
  EXPECT_EQ(s.image.data.shape(), (Shape{4 + 4, 5 + 4, 9 + 4}));  // brain box + 2 voxels per side
  const double vmax = 1 + 10 + 20 * 8 + 400 * 6;
  EXPECT_DOUBLE_EQ(s.raw_percentile, vmax);
  EXPECT_EQ(count(s.brain), 4 * 5 * 9);
  // Every brain voxel keeps its world position: find raw voxel (x,y,z) by its value.
  const auto& d = s.image.data;
  const float* p = d.data<float>();
  int checked = 0;
  for (int64_t k = 0; k < d.size(0); ++k)
    for (int64_t j = 0; j < d.size(1); ++j)
      for (int64_t i = 0; i < d.size(2); ++i) {
        const double val = p[(k * d.size(1) + j) * d.size(2) + i] * vmax;
        if (val == 0) continue;
        const int64_t vi = std::llround(val) - 1;
        const int64_t z = vi / 400, y = (vi % 400) / 20, x = vi % 20;
        const auto w_new = voxel_to_world(s.image.header.affine, (double)i, (double)j, (double)k);
        const auto w_old = voxel_to_world(h.affine, (double)x, (double)y, (double)z);
        for (int c = 0; c < 3; ++c) ASSERT_NEAR(w_new[c], w_old[c], 1e-4) << "voxel " << i << "," << j << "," << k;
        ++checked;
      }
  EXPECT_EQ(checked, 4 * 5 * 9);
  // Default 98th percentile: values clipped to [0,1], background exactly 0.
  const Subject s98 = load_subject(src, {});
  double mx = 0;
  for (int64_t n = 0; n < s98.image.data.numel(); ++n) mx = std::max(mx, (double)s98.image.data.data<float>()[n]);
  EXPECT_FLOAT_EQ(mx, 1.f);
  EXPECT_EQ(count(s98.image.data), 4 * 5 * 9);
}

TEST(LoadSubject, MaskOnAnotherGridIsAnError) {
  test::TempDir tmp("dataset_grid");
  write_nifti(tmp / "img.nii.gz", ones({6, 6, 6}), make_nifti_header({6, 6, 6}));
  write_nifti(tmp / "mask.nii.gz", ones({6, 6, 5}), make_nifti_header({6, 6, 5}), NiftiWriteType::u8);
  SubjectSource src;
  src.id = "x";
  src.image = tmp / "img.nii.gz";
  src.brain_mask = tmp / "mask.nii.gz";
  const std::string err = error_of([&] { load_subject(src); });
  EXPECT_NE(err.find("mask.nii.gz"), std::string::npos) << err;
}

// ---- make_view ---------------------------------------------------------------------------------

struct Ellipsoid {
  Tensor image, brain, anomaly;
  NiftiHeader h;
};

/// [Z=24,Y=40,X=50] at (z 2 mm, y 1 mm, x 1 mm); brain = ellipsoid with semi-axes 20 (z), 15 (y),
/// 22 (x) mm; image 0.5 inside; anomaly = a 3×3×3-voxel cube near the centre.
Ellipsoid ellipsoid() {
  Ellipsoid e;
  e.h = make_nifti_header({24, 40, 50}, {1, 1, 2});
  std::vector<double> img(24 * 40 * 50, 0.0), br(img.size(), 0.0), an(img.size(), 0.0);
  for (int z = 0; z < 24; ++z)
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 50; ++x) {
        const double dz = (z - 11.5) * 2 / 20, dy = (y - 19.5) / 15, dx = (x - 24.5) / 22;
        const size_t i = (size_t)((z * 40 + y) * 50 + x);
        if (dz * dz + dy * dy + dx * dx <= 1) br[i] = 1, img[i] = 0.5;
        if (std::abs(z - 12) <= 1 && std::abs(y - 20) <= 1 && std::abs(x - 25) <= 1) an[i] = 1;
      }
  e.image = from_vector(img, {24, 40, 50});
  e.brain = from_vector(br, {24, 40, 50}, DType::u8);
  e.anomaly = from_vector(an, {24, 40, 50}, DType::u8);
  return e;
}

TEST(MakeView, SlicesKeepAspectAreCentredAndContainBrain) {
  const Ellipsoid e = ellipsoid();
  const View v = make_view(e.image, e.h, e.brain, e.anomaly, {}, parse_view("slices128", 0.2));
  ASSERT_EQ(v.image.data.dim(), 3);
  EXPECT_EQ(v.image.data.size(1), 128);
  EXPECT_EQ(v.image.data.size(2), 128);
  EXPECT_EQ(v.brain.shape(), v.image.data.shape());
  // Bounding box of the brain: 44 voxels (x, 1 mm) × 30 (y, 1 mm) → p = 44/128 mm, y fills
  // round(30/p) = 87 rows.
  EXPECT_NEAR(v.pixel_mm, 44.0 / 128, 1e-12);
  ASSERT_FALSE(v.slices.empty());
  const int64_t mid = v.slices[v.slices.size() / 2];
  const auto b = plane_box(v.brain, mid);
  const double w = (double)(b[3] - b[2]), hgt = (double)(b[1] - b[0]);
  EXPECT_NEAR(w / hgt, 44.0 / 30.0, 0.08);  // physical aspect ratio of the ellipse kept
  EXPECT_NEAR(0.5 * (b[0] + b[1]), 64, 1.5);  // centred
  EXPECT_NEAR(0.5 * (b[2] + b[3]), 64, 1.5);
  // Brain-fraction rule: usable slices reach 20 % of the frame, the others of the stack do not;
  // the stack starts and ends with a usable slice.
  std::set<int64_t> usable(v.slices.begin(), v.slices.end());
  EXPECT_EQ(*usable.begin(), 0);
  EXPECT_EQ(*usable.rbegin(), v.image.data.size(0) - 1);
  for (int64_t z = 0; z < v.image.data.size(0); ++z) {
    if (usable.count(z)) {
      EXPECT_GE(plane_fraction(v.brain, z), 0.2) << z;
    } else {
      EXPECT_LT(plane_fraction(v.brain, z), 0.2) << z;
    }
  }
  // Slices are the native axial ones: the z spacing is unchanged, fewer slices than the 20 the
  // ellipsoid spans (the tips are below 20 %).
  EXPECT_DOUBLE_EQ(v.image.header.pixdim[2], 2.0);
  EXPECT_LT(v.image.data.size(0), 20);
  EXPECT_GT(v.anomaly_voxels, 0);
  const auto ap = std::accumulate(v.anomaly_pixels.begin(), v.anomaly_pixels.end(), (int64_t)0);
  EXPECT_EQ(ap, v.anomaly_voxels);
  for (int64_t n = 0; n < v.image.data.numel(); ++n) {
    const float x = v.image.data.data<float>()[n];
    ASSERT_TRUE(x >= 0 && x <= 1);
  }
}

TEST(MakeView, VolumesAreCubicAndKeepAspect) {
  const Ellipsoid e = ellipsoid();
  const View v = make_view(e.image, e.h, e.brain, e.anomaly, {}, parse_view("vol32"));
  EXPECT_EQ(v.image.data.shape(), (Shape{32, 32, 32}));
  EXPECT_TRUE(v.slices.empty());
  // Extents 40 (z: 20 voxels × 2 mm) × 30 × 44 mm → p = 44/32 mm on every axis.
  EXPECT_NEAR(v.pixel_mm, 44.0 / 32, 1e-12);
  for (double sp : v.image.header.pixdim) EXPECT_NEAR(sp, v.pixel_mm, 0.05);
  EXPECT_GT(v.anomaly_voxels, 0);
  EXPECT_GT(count(v.brain), 0);
  // Aspect along z vs x: brain extents ≈ 40 mm and 44 mm.
  Tensor zx = v.brain.permute({1, 0, 2}).contiguous();  // planes over y: [Y, Z, X]
  const auto b = plane_box(zx, 16);
  EXPECT_NEAR((double)(b[1] - b[0]) / (double)(b[3] - b[2]), 40.0 / 44.0, 0.1);
  EXPECT_NE(error_of([] { parse_view("slices"); }).find("expected slicesS or volS"), std::string::npos);
  EXPECT_NE(error_of([] { parse_view("vol4"); }).find("[8,1024]"), std::string::npos);
}

// ---- prepare_dataset ---------------------------------------------------------------------------

class PreparedQuick : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new test::TempDir("dataset_quick");
    PrepareOptions o;
    o.out_dir = *tmp_ / "ds";
    o.quick = true;
    o.progress = false;
    o.views = {"slices128", "vol64"};
    o.shared_data = fs::is_directory(kShared) ? kShared : "";
    report_ = prepare_dataset(o);
    dir_ = o.out_dir;
    manifest_ = read_manifest(dir_);
  }
  static void TearDownTestSuite() { delete tmp_; }
  static test::TempDir* tmp_;
  static std::string dir_;
  static PrepareReport report_;
  static Manifest manifest_;
};
test::TempDir* PreparedQuick::tmp_ = nullptr;
std::string PreparedQuick::dir_;
PrepareReport PreparedQuick::report_;
Manifest PreparedQuick::manifest_;

TEST_F(PreparedQuick, ManifestFilesExistWithTheirShapes) {
  EXPECT_FALSE(fs::exists(dir_ + ".tmp"));
  EXPECT_EQ(manifest_.views.size(), 2u);
  EXPECT_GT(manifest_.samples.size(), 8u);
  int64_t total = 0;
  for (const auto& [name, si] : manifest_.splits) {
    EXPECT_EQ(si.samples, (int64_t)manifest_.split_samples(name).size()) << name;
    EXPECT_EQ(report_.splits.at(name).samples, si.samples);
    total += si.samples;
  }
  EXPECT_EQ(total, (int64_t)manifest_.samples.size());
  for (const auto& s : manifest_.samples) {
    ASSERT_EQ(s.views.size(), 2u) << s.id;
    for (const auto& [vname, v] : s.views) {
      for (const auto* rel : {&v.image, &v.brain, &v.anomaly}) ASSERT_TRUE(fs::exists(dir_ + "/" + *rel)) << *rel;
      for (const auto& [m, rel] : v.modalities) ASSERT_TRUE(fs::exists(dir_ + "/" + rel)) << rel;
      if (vname == "vol64") {
        EXPECT_EQ(v.shape, (Shape{64, 64, 64})) << s.id;
      } else {
        EXPECT_EQ(v.shape[1], 128);
        EXPECT_EQ(v.shape[2], 128);
        EXPECT_FALSE(v.slices.empty()) << s.id;
      }
    }
  }
  // One sample read back: shapes, spacing and mask counts agree with the manifest.
  const SampleEntry& s = *manifest_.split_samples("val_labelled").front();
  for (const auto& [vname, v] : s.views) {
    const NiftiVolume img = read_nifti(dir_ + "/" + v.image);
    EXPECT_EQ(img.data.shape(), v.shape);
    EXPECT_NEAR(img.header.pixdim[0], v.spacing_zyx[2], 1e-4);
    EXPECT_NEAR(img.header.pixdim[2], v.spacing_zyx[0], 1e-4);
    EXPECT_EQ(count(read_nifti(dir_ + "/" + v.anomaly).data), v.anomaly_voxels);
    EXPECT_EQ(count(read_nifti(dir_ + "/" + v.brain).data), v.brain_voxels);
  }
}

TEST_F(PreparedQuick, SplitsAreDisjointBySubjectAsDocumented) {
  std::map<std::string, std::set<std::string>> subj;
  for (const auto& s : manifest_.samples) subj[s.split].insert(s.subject);
  ASSERT_TRUE(subj.count("train") && subj.count("val") && subj.count("val_labelled") && subj.count("test_healthy"));
  EXPECT_EQ(subj["train"], std::set<std::string>{"colin27"});
  std::set<std::string> trainval = subj["train"];
  for (const char* sp : {"val", "val_labelled"}) trainval.insert(subj[sp].begin(), subj[sp].end());
  for (const auto& [split, ids] : subj) {
    if (split.rfind("test", 0) != 0) continue;
    for (const auto& id : ids) EXPECT_FALSE(trainval.count(id)) << id << " is in " << split << " and in train/val";
  }
  EXPECT_TRUE(subj["test_healthy"].count("itk_t1"));
  // With one training subject, validation reuses it with fresh draws — and the manifest says so.
  bool noted = false;
  for (const auto& n : manifest_.notes) noted |= n.find("fresh augmentation draws") != std::string::npos;
  EXPECT_TRUE(noted);
  // Sample ids (and hence seeds) are unique.
  std::set<std::string> ids;
  std::set<uint64_t> seeds;
  for (const auto& s : manifest_.samples) ids.insert(s.id), seeds.insert(s.seed);
  EXPECT_EQ(ids.size(), manifest_.samples.size());
  EXPECT_EQ(seeds.size(), manifest_.samples.size());
}

TEST_F(PreparedQuick, AnomalyMasksAreNonEmptyExactlyForAnomalousSamples) {
  for (const char* split : {"val_labelled", "test_intensity", "test_spatial", "test_lesion"}) {
    const auto ss = manifest_.split_samples(split);
    ASSERT_FALSE(ss.empty()) << split;
    for (const auto* s : ss) {
      EXPECT_FALSE(s->anomaly_type.empty());
      EXPECT_NE(s->anomaly_json, "null");
      for (const auto& [vname, v] : s->views) EXPECT_GT(v.anomaly_voxels, 0) << s->id << " " << vname;
    }
  }
  for (const char* split : {"train", "val", "test_healthy"})
    for (const auto* s : manifest_.split_samples(split)) {
      EXPECT_TRUE(s->anomaly_type.empty());
      for (const auto& [vname, v] : s->views) EXPECT_EQ(v.anomaly_voxels, 0) << s->id;
    }
  for (const auto* s : manifest_.split_samples("train")) {
    EXPECT_EQ(s->augmentation_json == "null", s->id.find("aug") == std::string::npos) << s->id;
  }
}

TEST_F(PreparedQuick, UsableSlicesContainBrain) {
  for (const char* split : {"train", "test_healthy"}) {
    const SampleEntry& s = *manifest_.split_samples(split).front();
    const ViewEntry& v = s.views.at("slices128");
    const Tensor brain = read_nifti(dir_ + "/" + v.brain).data.to(DType::u8).contiguous();
    ASSERT_EQ(v.slices.size(), v.brain_fraction.size());
    for (size_t k = 0; k < v.slices.size(); ++k) {
      const double f = plane_fraction(brain, v.slices[k]);
      EXPECT_GE(f, manifest_.views.at("slices128").min_brain_fraction) << s.id << " slice " << v.slices[k];
      EXPECT_NEAR(f, v.brain_fraction[k], 1e-9);
    }
    const Tensor img = read_nifti(dir_ + "/" + v.image).data;
    double mx = 0;
    for (int64_t n = 0; n < img.numel(); ++n) mx = std::max(mx, (double)img.data<float>()[n]);
    EXPECT_LE(mx, 1.0);
    EXPECT_GT(mx, 0.5);
  }
}

TEST_F(PreparedQuick, SharedDataGivesRealLesionAndIxiSplits) {
  if (!fs::is_directory(kShared)) GTEST_SKIP() << kShared << " not present: MSLUB/IXI splits not built (expected on a user's machine)";
  const auto real = manifest_.split_samples("test_real_lesions");
  ASSERT_EQ(real.size(), 1u);
  const SampleEntry& s = *real.front();
  EXPECT_EQ(s.subject, "mslub_patient07");
  EXPECT_EQ(s.anomaly_type, "real_lesion");
  for (const auto& [vname, v] : s.views) {
    EXPECT_EQ(v.modalities.size(), 4u) << vname;
    for (const char* m : {"T1", "T1POST", "T2", "FLAIR"}) EXPECT_TRUE(v.modalities.count(m)) << m;
    EXPECT_GT(v.anomaly_voxels, 0) << vname;
  }
  bool ixi = false;
  for (const auto* t : manifest_.split_samples("test_healthy")) ixi |= t->subject == "ixi002";
  EXPECT_TRUE(ixi);
}

TEST_F(PreparedQuick, LoadersReadPreparedSplits) {
  SliceLoader sl(dir_, "train", "slices128", {.batch_size = 8, .seed = 1});
  auto b = sl.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->image.shape(), (Shape{8, 1, 128, 128}));
  VolumeLoader vl(dir_, "val_labelled", "vol64", {.batch_size = 2, .seed = 1});
  auto v = vl.next();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->image.shape(), (Shape{2, 1, 64, 64, 64}));
  EXPECT_GT(count(v->anomaly), 0);
}

// ---- determinism and errors (on the small ITK volume, one view) --------------------------------

PrepareOptions small_options(const std::string& out) {
  PrepareOptions o;
  o.out_dir = out;
  o.healthy = {kItkT1};
  o.quick = true;
  o.progress = false;
  o.views = {"vol16"};
  return o;
}

TEST(Prepare, PlanAssignsEachSubjectOneRole) {
  // Five healthy inputs → the last is a test subject, the one before it a validation subject
  // (|R| = 4 ≥ 3), the first three train; samples never mix subjects across those roles.
  PrepareOptions o;
  o.out_dir = "unused";
  o.healthy = {kItkT1, kItkT1, kItkT1, kItkT1, kItkT1};
  o.augment_copies = 2;
  o.test_anomalies_per_type = 1;
  const DatasetPlan p = plan_dataset(effective_options(o));
  ASSERT_EQ(p.subjects.size(), 5u);
  std::vector<std::string> roles;
  for (const auto& s : p.subjects) roles.push_back(role_name(s.role));
  EXPECT_EQ(roles, (std::vector<std::string>{"train", "train", "train", "val", "test"}));
  EXPECT_EQ(p.subjects[1].src.id, "itk_t1_2");  // ids made unique
  EXPECT_TRUE(p.notes.empty());  // dedicated validation subject: no "same anatomy" note
  std::map<std::string, std::set<size_t>> by_split;
  for (const auto& s : p.samples) by_split[s.split].insert(s.subject);
  EXPECT_EQ(by_split["train"], (std::set<size_t>{0, 1, 2}));
  EXPECT_EQ(by_split["val"], (std::set<size_t>{3}));
  EXPECT_EQ(by_split["val_labelled"], (std::set<size_t>{3}));
  for (const char* t : {"test_healthy", "test_intensity", "test_spatial", "test_lesion"})
    EXPECT_EQ(by_split[t], (std::set<size_t>{4})) << t;
  EXPECT_EQ(p.samples.size(), 3u * 3 + (1 + 2 + 10) + (1 + 10));  // train: clean + 2 aug each
  EXPECT_NE(error_of([&] {
              o.patients = {"only_one_part"};
              plan_dataset(effective_options(o));
            }).find("IMAGE:LESIONMASK"),
            std::string::npos);
}

TEST(Prepare, DeterministicForASeedAndSingleSubjectHasNoTestSplit) {
  test::TempDir tmp("dataset_det");
  PrepareOptions o = small_options(tmp / "a");
  const PrepareReport r = prepare_dataset(o);
  o.out_dir = tmp / "b";
  prepare_dataset(o);
  const std::string ma = slurp(tmp / "a/manifest.json"), mb = slurp(tmp / "b/manifest.json");
  EXPECT_EQ(ma, mb);
  const Manifest m = read_manifest(tmp / "a");
  for (const auto& s : m.samples)
    EXPECT_EQ(slurp(tmp / ("a/" + s.views.at("vol16").image)), slurp(tmp / ("b/" + s.views.at("vol16").image))) << s.id;
  EXPECT_FALSE(r.splits.count("test_healthy"));
  EXPECT_TRUE(r.splits.count("train") && r.splits.count("val_labelled"));
  bool noted = false;
  for (const auto& n : r.notes) noted |= n.find("no healthy test subject") != std::string::npos;
  EXPECT_TRUE(noted);
  // Another seed changes the augmented copies.
  o.out_dir = tmp / "c";
  o.seed = 7;
  prepare_dataset(o);
  const Manifest mc = read_manifest(tmp / "c");
  EXPECT_NE(mc.samples[1].augmentation_json, m.samples[1].augmentation_json);
}

TEST(Prepare, MissingOrUnreadableInputLeavesNothing) {
  test::TempDir tmp("dataset_err");
  PrepareOptions o = small_options(tmp / "out");
  o.healthy = {tmp / "nope.nii.gz"};
  std::string err = error_of([&] { prepare_dataset(o); });
  EXPECT_NE(err.find("not found"), std::string::npos) << err;
  EXPECT_NE(err.find("nope.nii.gz"), std::string::npos) << err;
  EXPECT_EQ(tmp.entries(), 0u);
  {
    std::ofstream f(tmp / "bad.nii.gz");
    f << "not a nifti file";
  }
  o.healthy = {tmp / "bad.nii.gz"};
  err = error_of([&] { prepare_dataset(o); });
  EXPECT_NE(err.find("not a readable NIfTI"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(tmp / "out"));
  EXPECT_FALSE(fs::exists(tmp / "out.tmp"));
  // An error during the build (a brain mask on another grid passes the header check, fails in
  // preprocessing) removes the partial out.tmp.
  write_nifti(tmp / "mask.nii.gz", ones({6, 6, 5}), make_nifti_header({6, 6, 5}), NiftiWriteType::u8);
  o.healthy = {std::string(kItkT1) + ":" + (tmp / "mask.nii.gz")};
  err = error_of([&] { prepare_dataset(o); });
  EXPECT_NE(err.find("mask.nii.gz"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(tmp / "out"));
  EXPECT_FALSE(fs::exists(tmp / "out.tmp"));
}

TEST(Prepare, UnwritableOrExistingOutput) {
  test::TempDir tmp("dataset_out");
  {
    std::ofstream f(tmp / "file");
    f << "x";
  }
  PrepareOptions o = small_options(tmp / "file/sub");
  std::string err = error_of([&] { prepare_dataset(o); });
  EXPECT_NE(err.find("cannot create the output folder"), std::string::npos) << err;
  // An existing output folder is kept unless overwrite; with overwrite it is replaced.
  fs::create_directories(tmp / "ds");
  {
    std::ofstream f(tmp / "ds/keep");
    f << "x";
  }
  o.out_dir = tmp / "ds";
  err = error_of([&] { prepare_dataset(o); });
  EXPECT_NE(err.find("already exists"), std::string::npos) << err;
  EXPECT_TRUE(fs::exists(tmp / "ds/keep"));
  o.overwrite = true;
  prepare_dataset(o);
  EXPECT_FALSE(fs::exists(tmp / "ds/keep"));
  EXPECT_TRUE(fs::exists(tmp / "ds/manifest.json"));
  EXPECT_FALSE(fs::exists(tmp / "ds.tmp"));
}
