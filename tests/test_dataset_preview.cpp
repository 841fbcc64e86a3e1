// PNG previews of a prepared dataset (io/dataset_preview.h), on a --quick dataset built by
// prepare_dataset (which writes the previews itself, before the atomic rename):
//   * every expected preview exists (one per anomaly type found in the manifest, train.png, and
//     test_real_lesions.png when ../shared/data provides MSLUB), is a valid PNG of the size implied
//     by the panel layout, and is listed in previews/README.txt;
//   * the pixels are the view's slice in radiological orientation (checked against the NIfTI
//     file independently: anterior up, patient left on the right), at the slice with the largest
//     anomaly area, with the anomaly mask drawn as a red outline exactly on the mask's border;
//   * the healthy panel is the clean source: identical to the anomalous panel away from the mask;
//   * a volume-only dataset without test subjects: enlarged panels, anomalous panel only;
//   * errors: missing manifest, unknown view, bad options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "io/dataset.h"
#include "io/dataset_preview.h"
#include "io/manifest.h"
#include "io/nifti.h"
#include "io/png.h"
#include "tests/error_of.h"
#include "tests/io_ref/io_test_util.h"

using namespace uad;
using namespace uad::io;
using uad::test::error_of;
namespace fs = std::filesystem;

namespace {

const std::string kShared = std::string(UAD_SOURCE_DIR) + "/../shared/data";
const char* kItkT1 = "/usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1RawSkullStrip.nii.gz";

/// Pixel (r, c, ch) of a u8 [H,W,C] picture.
int px(const Tensor& t, int64_t r, int64_t c, int64_t ch) {
  return t.data<uint8_t>()[(r * t.size(1) + c) * t.size(2) + ch];
}
bool is_red(const Tensor& t, int64_t r, int64_t c) { return px(t, r, c, 0) >= 200 && px(t, r, c, 1) <= 50 && px(t, r, c, 2) <= 50; }

/// Stack index with the most nonzero pixels of a [Z,H,W] mask among `usable`.
int64_t fullest(const Tensor& m, const std::vector<int64_t>& usable) {
  const int64_t a = m.size(1) * m.size(2);
  int64_t best = -1, best_n = -1;
  for (int64_t z : usable) {
    int64_t n = 0;
    for (int64_t i = 0; i < a; ++i) n += m.data<float>()[z * a + i] != 0.f;
    if (n > best_n) best = z, best_n = n;
  }
  return best;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

class PreviewQuick : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new test::TempDir("preview_quick");
    PrepareOptions o;
    o.out_dir = *tmp_ / "ds";
    o.quick = true;
    o.progress = false;
    o.views = {"slices128"};
    o.shared_data = fs::is_directory(kShared) ? kShared : "";
    prepare_dataset(o);
    dir_ = o.out_dir;
    man_ = read_manifest(dir_);
    for (const auto& e : fs::directory_iterator(dir_ + "/previews")) on_disk_.insert(e.path().filename().string());
    // Written again (same content, deterministic) to get the structured list of what was drawn.
    files_ = write_dataset_previews(dir_);
  }
  static void TearDownTestSuite() { delete tmp_; }
  static Tensor png(const std::string& name) { return read_png(dir_ + "/previews/" + name); }
  static const PreviewFile& file(const std::string& name) {
    for (const auto& f : files_)
      if (f.path == "previews/" + name) return f;
    throw std::runtime_error("no preview " + name);
  }
  static const SampleEntry& sample(const std::string& id) {
    for (const auto& s : man_.samples)
      if (s.id == id) return s;
    throw std::runtime_error("no sample " + id);
  }
  static test::TempDir* tmp_;
  static std::string dir_;
  static Manifest man_;
  static std::set<std::string> on_disk_;
  static std::vector<PreviewFile> files_;
};
test::TempDir* PreviewQuick::tmp_ = nullptr;
std::string PreviewQuick::dir_;
Manifest PreviewQuick::man_;
std::set<std::string> PreviewQuick::on_disk_;
std::vector<PreviewFile> PreviewQuick::files_;

const std::vector<std::string> kQuickTypes = {"uniform_addition", "sink_deformation", "ms_lesions"};

TEST_F(PreviewQuick, EveryExpectedPreviewExistsWithItsSize) {
  EXPECT_FALSE(fs::exists(dir_ + ".tmp"));
  // The expected set, from the manifest: one picture per anomaly type, train, real lesions.
  std::set<std::string> expected = {"README.txt", "train.png"};
  for (const auto& s : man_.samples)
    if (!s.anomaly_type.empty() && s.anomaly_type != "real_lesion") expected.insert("anomaly_" + s.anomaly_type + ".png");
  if (man_.splits.count("test_real_lesions")) expected.insert("test_real_lesions.png");
  EXPECT_EQ(on_disk_, expected);  // written by prepare_dataset, nothing else (no temporaries)
  EXPECT_EQ(files_.size() + 1, expected.size());
  for (const auto& t : kQuickTypes) EXPECT_TRUE(expected.count("anomaly_" + t + ".png")) << t;
  const std::string readme = slurp(dir_ + "/previews/README.txt");
  EXPECT_NE(readme.find("RADIOLOGICAL"), std::string::npos);
  // Sample choice: with ../shared/data, IXI (a real T1, clean source stored) → [healthy | bar |
  // anomalous]; without it the only test subject is the quantised ITK T1, so the val_labelled
  // sample on Colin27 is drawn alone.
  const bool shared = man_.splits.count("test_real_lesions") != 0;
  for (const auto& t : kQuickTypes) {
    const std::string name = "anomaly_" + t + ".png";
    const PreviewFile& f = file(name);
    const Tensor p = png(name);
    EXPECT_NE(readme.find(name), std::string::npos) << name;
    EXPECT_EQ(p.shape(), (Shape{f.height, f.width, 3}));
    EXPECT_EQ(sample(f.sample).anomaly_type, t);
    if (shared) {
      EXPECT_EQ(sample(f.sample).subject, "ixi002") << name;
      EXPECT_EQ(f.healthy_sample, "test_healthy-ixi002-clean") << name;
      EXPECT_EQ(p.shape(), (Shape{128, 2 * 128 + 4, 3})) << name;
    } else {
      EXPECT_EQ(sample(f.sample).split, "val_labelled") << name;
      EXPECT_EQ(f.healthy_sample, "") << name;
      EXPECT_EQ(p.shape(), (Shape{128, 128, 3})) << name;
    }
  }
  const Tensor tr = png("train.png");
  EXPECT_EQ(tr.shape(), (Shape{128, 4 * 128 + 3 * 4, 3}));
  EXPECT_EQ(file("train.png").sample, "train-colin27-clean");
  // Four distinct usable depths, inferior → superior; green brain outline, no red.
  const auto& zs = file("train.png").slices;
  ASSERT_EQ(zs.size(), 4u);
  const auto& usable = sample("train-colin27-clean").views.at("slices128").slices;
  for (size_t k = 0; k < zs.size(); ++k) {
    EXPECT_TRUE(std::count(usable.begin(), usable.end(), zs[k])) << zs[k];
    if (k) {
      EXPECT_GT(zs[k], zs[k - 1]);
    }
  }
  int64_t green = 0, red = 0;
  for (int64_t r = 0; r < tr.size(0); ++r)
    for (int64_t c = 0; c < tr.size(1); ++c) {
      green += px(tr, r, c, 0) == 0 && px(tr, r, c, 1) == 255 && px(tr, r, c, 2) == 0;
      red += is_red(tr, r, c);
    }
  EXPECT_GT(green, 4 * 100);
  EXPECT_EQ(red, 0);
  if (shared) {
    const Tensor rl = png("test_real_lesions.png");
    const auto* s = man_.split_samples("test_real_lesions").front();
    const size_t nmod = s->views.at("slices128").modalities.size();
    EXPECT_EQ(nmod, 4u);
    EXPECT_EQ(rl.shape(), (Shape{128, (int64_t)nmod * 128 + ((int64_t)nmod - 1) * 4, 3}));
    const Tensor mask = read_nifti(dir_ + "/" + s->views.at("slices128").anomaly).data;
    EXPECT_EQ(file("test_real_lesions.png").slices, std::vector<int64_t>{fullest(mask, s->views.at("slices128").slices)});
    // The lesion outline is drawn on every modality panel.
    for (int64_t k = 0; k < (int64_t)nmod; ++k) {
      int64_t n = 0;
      for (int64_t r = 0; r < 128; ++r)
        for (int64_t c = 0; c < 128; ++c) n += is_red(rl, r, k * 132 + c);
      EXPECT_GT(n, 0) << "lesion outline not drawn on panel " << k;
    }
  }
}

TEST_F(PreviewQuick, AnomalyPanelsAreTheOrientedSliceWithTheMaskOutline) {
  for (const auto& type : kQuickTypes) {
    SCOPED_TRACE(type);
    const PreviewFile& f = file("anomaly_" + type + ".png");
    const Tensor p = png("anomaly_" + type + ".png");
    const ViewEntry& v = sample(f.sample).views.at("slices128");
    const NiftiVolume img = read_nifti(dir_ + "/" + v.image);
    ASSERT_EQ(img.header.orientation, "RAS");
    const Tensor mask = read_nifti(dir_ + "/" + v.anomaly).data;
    const bool two = !f.healthy_sample.empty();
    const NiftiVolume healthy = two ? read_nifti(dir_ + "/" + sample(f.healthy_sample).views.at("slices128").image) : img;
    const int64_t z = fullest(mask, v.slices), H = 128, W = 128, off = two ? W + 4 : 0;
    EXPECT_EQ(f.slices, std::vector<int64_t>{z}) << "not the slice with the largest anomaly area";
    const float* im = img.data.data<float>() + z * H * W;
    const float* mk = mask.data<float>() + z * H * W;
    const float* hv = healthy.data.data<float>() + z * H * W;
    auto in = [&](int64_t y, int64_t x) { return y >= 0 && y < H && x >= 0 && x < W && mk[y * W + x] != 0.f; };
    auto grey = [](float v) { return (int)std::lround(255.0 * std::clamp(v, 0.f, 1.f)); };
    int64_t outline = 0, checked = 0, same = 0, outside = 0;
    for (int64_t r = 0; r < H; ++r)
      for (int64_t c = 0; c < W; ++c) {
        // Radiological: row 0 = most anterior (largest y), column 0 = patient's right (largest x).
        const int64_t y = H - 1 - r, x = W - 1 - c;
        const bool border = in(y, x) && !(in(y - 1, x) && in(y + 1, x) && in(y, x - 1) && in(y, x + 1));
        ASSERT_EQ(is_red(p, r, off + c), border) << r << "," << c;
        outline += border;
        if (!border) {
          ASSERT_EQ(px(p, r, off + c, 0), grey(im[y * W + x])) << r << "," << c;
          ASSERT_EQ(px(p, r, off + c, 1), grey(im[y * W + x]));
          ++checked;
        }
        if (!two) continue;
        // Healthy panel = the clean source slice; equal to the anomalous one away from the mask.
        ASSERT_EQ(px(p, r, c, 0), grey(hv[y * W + x])) << r << "," << c;
        bool near = false;
        for (int dy = -3; dy <= 3; ++dy)
          for (int dx = -3; dx <= 3; ++dx) near |= in(y + dy, x + dx);
        if (!near) outside++, same += std::abs(px(p, r, c, 0) - grey(im[y * W + x])) <= 1;
      }
    EXPECT_GT(outline, 0) << "no red outline: the mask was not drawn";
    EXPECT_GT(checked, H * W / 2);
    if (two) {
      EXPECT_GT(outside, H * W / 2);
      EXPECT_GE(same, outside * 99 / 100) << "healthy panel is not the anomaly's source";
      EXPECT_EQ(px(p, 64, W + 1, 0), 128);  // the bar between the panels is mid grey
    }
  }
}

TEST(Preview, VolumeOnlyDatasetWithoutTestSubjects) {
  test::TempDir tmp("preview_vol");
  PrepareOptions o;
  o.out_dir = tmp / "ds";
  o.healthy = {kItkT1};
  o.quick = true;
  o.progress = false;
  o.views = {"vol16"};
  prepare_dataset(o);
  const Manifest m = read_manifest(o.out_dir);
  ASSERT_FALSE(m.splits.count("test_healthy"));
  // vol16 planes are enlarged ×8 to 128²; val_labelled samples are augmented → anomalous panel only.
  const auto files = write_dataset_previews(o.out_dir, {.view = "", .train_slices = 3, .min_panel = 100});
  ASSERT_EQ(files.size(), 3u + 1u);  // three quick anomaly types + train
  int with_outline = 0;
  for (const auto& f : files) {
    const Tensor p = read_png(o.out_dir + "/" + f.path);
    EXPECT_EQ(p.size(0), f.height);
    EXPECT_EQ(p.size(1), f.width);
    EXPECT_EQ(f.height, 16 * 7) << f.path;  // ceil(100/16) = 7
    if (f.path.find("anomaly_") != std::string::npos) {
      EXPECT_EQ(f.width, 16 * 7) << f.path;
      EXPECT_NE(f.description.find("val_labelled"), std::string::npos) << f.description;
      int64_t red = 0;
      for (int64_t r = 0; r < p.size(0); ++r)
        for (int64_t c = 0; c < p.size(1); ++c) red += is_red(p, r, c);
      // Small masks can vanish at 16³ (io/views.h step 8); the outline is drawn iff one survived.
      const size_t pre = std::string("previews/anomaly_").size();
      const std::string type = f.path.substr(pre, f.path.size() - pre - std::string(".png").size());
      int64_t voxels = -1;
      for (const auto* s : m.split_samples("val_labelled"))
        if (s->anomaly_type == type) voxels = s->views.at("vol16").anomaly_voxels;
      ASSERT_GE(voxels, 0) << type;
      EXPECT_EQ(red > 0, voxels > 0) << f.path;
      with_outline += red > 0;
    } else {
      EXPECT_EQ(f.path, "previews/train.png");
      EXPECT_EQ(f.width, 3 * 16 * 7 + 2 * 4);
    }
  }
  EXPECT_GE(with_outline, 1);
  // Errors.
  EXPECT_NE(error_of([&] { write_dataset_previews(o.out_dir, {.view = "slices128"}); }).find("no view 'slices128'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { write_dataset_previews(o.out_dir, {.view = "", .train_slices = 0}); }).find("train_slices"), std::string::npos);
  EXPECT_NE(error_of([&] { write_dataset_previews(tmp / "nothing"); }).find("manifest.json"), std::string::npos);
}
