// Slice / volume loaders on a small hand-made dataset folder (NIfTI files + manifest written here,
// values encoding (sample, slice) so that every batch entry can be traced to its source): batch
// shapes, content, determinism for a seed, every item once per epoch, max_epochs, clean shutdown
// mid-epoch, and the documented errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "tests/error_of.h"
#include "io/loader.h"
#include "io/manifest.h"
#include "io/nifti.h"

using namespace uad;
using uad::test::error_of;
using namespace uad::io;
namespace fs = std::filesystem;

namespace {

// Slices view "slices8": 3 samples with stacks of 4 slices of 8×8; usable slices differ per
// sample. Image value at (sample s, stack z, y, x) = s·0.1 + z·0.01 + (y·8 + x)·1e-5; the brain is
// the left half of the slice; the anomaly is pixel (z, 0, 0) of sample 2 only. Volume view
// "vol4": 5 samples of 4×4×4 with value s·0.1 + 1e-4·voxel. A FLAIR modality = 1 − image.
const std::vector<std::vector<int64_t>> kUsable = {{0, 1, 3}, {1, 2}, {0, 1, 2, 3}};

float slice_value(int64_t s, int64_t z, int64_t p) { return (float)(s * 0.1 + z * 0.01 + p * 1e-5); }

class LoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("uad_test_loader_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(fs::path(dir_) / "s");
    Manifest m;
    m.views["slices8"] = {true, 8, 0.1};
    m.views["vol4"] = {false, 4, 0.0};
    m.splits["train"] = {"test split", {"a"}, false, 3};
    m.splits["vols"] = {"volumes", {"a"}, false, 5};
    const NiftiHeader hs = make_nifti_header({4, 8, 8});
    for (int64_t s = 0; s < 3; ++s) {
      std::vector<float> img(4 * 64), flair(4 * 64);
      std::vector<double> brain(4 * 64), anom(4 * 64, 0.0);
      for (int64_t z = 0; z < 4; ++z)
        for (int64_t p = 0; p < 64; ++p) {
          img[z * 64 + p] = slice_value(s, z, p);
          flair[z * 64 + p] = 1.f - img[z * 64 + p];
          brain[z * 64 + p] = (p % 8) < 4 ? 1 : 0;
          if (s == 2 && p == 0) anom[z * 64 + p] = 1;
        }
      const std::string base = "s/sample" + std::to_string(s);
      write_nifti(dir_ + "/" + base + "_image.nii.gz", from_vector_f32(img, {4, 8, 8}), hs);
      write_nifti(dir_ + "/" + base + "_FLAIR.nii.gz", from_vector_f32(flair, {4, 8, 8}), hs);
      write_nifti(dir_ + "/" + base + "_brain.nii.gz", from_vector(brain, {4, 8, 8}, DType::u8), hs, NiftiWriteType::u8);
      write_nifti(dir_ + "/" + base + "_anomaly.nii.gz", from_vector(anom, {4, 8, 8}, DType::u8), hs, NiftiWriteType::u8);
      SampleEntry e;
      e.id = "sample" + std::to_string(s);
      e.split = "train";
      e.subject = "a";
      ViewEntry v;
      v.image = base + "_image.nii.gz";
      v.brain = base + "_brain.nii.gz";
      v.anomaly = base + "_anomaly.nii.gz";
      v.modalities = {{"T1", v.image}, {"FLAIR", base + "_FLAIR.nii.gz"}};
      v.shape = {4, 8, 8};
      v.spacing_zyx = {1, 1, 1};
      v.slices = kUsable[s];
      v.brain_fraction.assign(v.slices.size(), 0.5);
      v.anomaly_pixels.assign(v.slices.size(), s == 2 ? 1 : 0);
      e.views["slices8"] = v;
      m.samples.push_back(e);
    }
    const NiftiHeader hv = make_nifti_header({4, 4, 4});
    for (int64_t s = 0; s < 5; ++s) {
      std::vector<double> img(64), ones(64, 1.0), zero(64, 0.0);
      for (int64_t p = 0; p < 64; ++p) img[p] = s * 0.1 + p * 1e-4;
      const std::string base = "s/vol" + std::to_string(s);
      write_nifti(dir_ + "/" + base + "_image.nii.gz", from_vector(img, {4, 4, 4}), hv);
      write_nifti(dir_ + "/" + base + "_brain.nii.gz", from_vector(ones, {4, 4, 4}, DType::u8), hv, NiftiWriteType::u8);
      write_nifti(dir_ + "/" + base + "_anomaly.nii.gz", from_vector(zero, {4, 4, 4}, DType::u8), hv, NiftiWriteType::u8);
      SampleEntry e;
      e.id = "vol" + std::to_string(s);
      e.split = "vols";
      e.subject = "a";
      ViewEntry v;
      v.image = base + "_image.nii.gz";
      v.brain = base + "_brain.nii.gz";
      v.anomaly = base + "_anomaly.nii.gz";
      v.shape = {4, 4, 4};
      v.spacing_zyx = {1, 1, 1};
      e.views["vol4"] = v;
      m.samples.push_back(e);
    }
    write_manifest(dir_, m);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string dir_;
};
std::string LoaderTest::dir_;

/// All batches of one epoch.
std::vector<Batch> epoch(Loader& l) {
  std::vector<Batch> out;
  while (auto b = l.next()) out.push_back(std::move(*b));
  return out;
}

/// (sample, slice) of every entry of a list of batches, checked against the encoded values.
std::vector<std::pair<int64_t, int64_t>> traced(const Loader& l, const std::vector<Batch>& bs) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& b : bs)
    for (size_t k = 0; k < b.items.size(); ++k) {
      const LoaderItem& it = l.items()[b.items[k]];
      out.emplace_back(it.sample, it.slice);
    }
  return out;
}

}  // namespace

TEST_F(LoaderTest, SliceBatchesHaveTheRightShapesAndContent) {
  SliceLoader l(dir_, "train", "slices8", {.batch_size = 4, .seed = 3});
  EXPECT_EQ(l.size(), 9);  // 3 + 2 + 4 usable slices
  EXPECT_EQ(l.batches_per_epoch(), 3);
  EXPECT_EQ(l.item_shape(), (Shape{8, 8}));
  const auto bs = epoch(l);
  ASSERT_EQ(bs.size(), 3u);
  EXPECT_EQ(bs[0].image.shape(), (Shape{4, 1, 8, 8}));
  EXPECT_EQ(bs[2].image.shape(), (Shape{1, 1, 8, 8}));  // 9 = 4 + 4 + 1
  for (const auto& b : bs) {
    EXPECT_EQ(b.image.dtype(), DType::f32);
    EXPECT_EQ(b.brain.dtype(), DType::u8);
    EXPECT_EQ(b.anomaly.shape(), b.image.shape());
    const float* ip = b.image.data<float>();
    const uint8_t* bp = b.brain.data<uint8_t>();
    const uint8_t* ap = b.anomaly.data<uint8_t>();
    for (size_t k = 0; k < b.items.size(); ++k) {
      const LoaderItem& it = l.items()[b.items[k]];
      for (int64_t p = 0; p < 64; ++p) {
        ASSERT_FLOAT_EQ(ip[k * 64 + p], slice_value(it.sample, it.slice, p)) << "entry " << k << " pixel " << p;
        ASSERT_EQ(bp[k * 64 + p], (p % 8) < 4 ? 1 : 0);
        ASSERT_EQ(ap[k * 64 + p], (it.sample == 2 && p == 0) ? 1 : 0);
      }
    }
  }
}

TEST_F(LoaderTest, EveryUsableSliceOncePerEpoch) {
  SliceLoader l(dir_, "train", "slices8", {.batch_size = 2, .seed = 11});
  for (int e = 0; e < 3; ++e) {
    const auto bs = epoch(l);
    for (const auto& b : bs) EXPECT_EQ(b.epoch, e);
    auto seen = traced(l, bs);
    std::set<std::pair<int64_t, int64_t>> uniq(seen.begin(), seen.end());
    EXPECT_EQ(seen.size(), 9u);
    EXPECT_EQ(uniq.size(), 9u);
    for (int64_t s = 0; s < 3; ++s)
      for (int64_t z : kUsable[s]) EXPECT_TRUE(uniq.count({s, z})) << "sample " << s << " slice " << z << " epoch " << e;
  }
}

TEST_F(LoaderTest, DeterministicForASeedIndependentOfTiming) {
  std::vector<std::vector<std::pair<int64_t, int64_t>>> runs;
  for (int prefetch : {1, 8}) {
    SliceLoader l(dir_, "train", "slices8", {.batch_size = 3, .seed = 42, .prefetch = prefetch});
    std::vector<std::pair<int64_t, int64_t>> all;
    for (int e = 0; e < 3; ++e) {
      if (prefetch == 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the producer block
      auto t = traced(l, epoch(l));
      all.insert(all.end(), t.begin(), t.end());
    }
    runs.push_back(all);
  }
  EXPECT_EQ(runs[0], runs[1]);
  // Epochs are reshuffled, a different seed gives a different order, and the order is the one
  // epoch_order() reports.
  SliceLoader a(dir_, "train", "slices8", {.batch_size = 3, .seed = 42});
  SliceLoader b(dir_, "train", "slices8", {.batch_size = 3, .seed = 43});
  EXPECT_NE(a.epoch_order(0), a.epoch_order(1));
  EXPECT_NE(a.epoch_order(0), b.epoch_order(0));
  std::vector<int64_t> got;
  for (const auto& bt : epoch(a)) got.insert(got.end(), bt.items.begin(), bt.items.end());
  EXPECT_EQ(got, a.epoch_order(0));
}

TEST_F(LoaderTest, NoShuffleKeepsManifestOrderAndDropLast) {
  SliceLoader l(dir_, "train", "slices8", {.batch_size = 4, .shuffle = false, .drop_last = true});
  EXPECT_EQ(l.batches_per_epoch(), 2);
  const auto bs = epoch(l);
  ASSERT_EQ(bs.size(), 2u);
  const auto t = traced(l, bs);
  const std::vector<std::pair<int64_t, int64_t>> want = {{0, 0}, {0, 1}, {0, 3}, {1, 1}, {1, 2}, {2, 0}, {2, 1}, {2, 2}};
  EXPECT_EQ(t, want);
}

TEST_F(LoaderTest, VolumeBatchesAndMaxEpochs) {
  VolumeLoader l(dir_, "vols", "vol4", {.batch_size = 2, .seed = 5, .max_epochs = 2});
  EXPECT_EQ(l.size(), 5);
  for (int e = 0; e < 2; ++e) {
    const auto bs = epoch(l);
    ASSERT_EQ(bs.size(), 3u);
    EXPECT_EQ(bs[0].image.shape(), (Shape{2, 1, 4, 4, 4}));
    EXPECT_EQ(bs[2].image.shape(), (Shape{1, 1, 4, 4, 4}));
    std::set<int64_t> samples;
    for (const auto& b : bs)
      for (size_t k = 0; k < b.items.size(); ++k) {
        const int64_t s = l.items()[b.items[k]].sample;
        samples.insert(s);
        EXPECT_NEAR(b.image.data<float>()[k * 64 + 7], s * 0.1 + 7e-4, 1e-6);
      }
    EXPECT_EQ(samples.size(), 5u);
  }
  EXPECT_FALSE(l.next().has_value());  // after max_epochs: nullopt for good
  EXPECT_FALSE(l.next().has_value());
}

TEST_F(LoaderTest, ModalitySelection) {
  SliceLoader l(dir_, "train", "slices8", {.batch_size = 9, .shuffle = false, .modality = "FLAIR"});
  auto b = l.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_FLOAT_EQ(b->image.data<float>()[5], 1.f - slice_value(0, 0, 5));
  EXPECT_NE(error_of([&] { SliceLoader(dir_, "train", "slices8", {.modality = "T2"}); }).find("no modality 'T2'"),
            std::string::npos);
}

TEST_F(LoaderTest, ShutdownMidEpochDoesNotHang) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int rep = 0; rep < 20; ++rep) {
    SliceLoader l(dir_, "train", "slices8", {.batch_size = 1, .seed = (uint64_t)rep, .prefetch = 1});
    ASSERT_TRUE(l.next().has_value());  // the producer is now blocked on a full queue
    if (rep % 2) {
      l.close();
      EXPECT_NE(error_of([&] { l.next(); }).find("closed"), std::string::npos);
    }
  }  // destructors join the blocked producers
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
}

TEST_F(LoaderTest, DocumentedErrors) {
  EXPECT_NE(error_of([&] { SliceLoader(dir_, "nope", "slices8"); }).find("split 'nope' is not in"), std::string::npos);
  EXPECT_EQ(error_of([&] { SliceLoader(dir_, "train", "slices8"); }), "");
  EXPECT_NE(error_of([&] { SliceLoader(dir_, "train", "slices99"); }).find("available: slices8, vol4"), std::string::npos);
  EXPECT_NE(error_of([&] { SliceLoader(dir_, "vols", "vol4"); }).find("use VolumeLoader"), std::string::npos);
  EXPECT_NE(error_of([&] { VolumeLoader(dir_, "train", "slices8"); }).find("use SliceLoader"), std::string::npos);
  EXPECT_NE(error_of([&] { SliceLoader(dir_, "train", "slices8", {.batch_size = 0}); }).find("batch_size"), std::string::npos);
  EXPECT_NE(error_of([&] { SliceLoader(dir_ + "/nowhere", "train"); }).find("cannot open"), std::string::npos);
  EXPECT_NE(error_of([&] { SliceLoader(dir_, "train", "slices8", {.batch_size = 10, .drop_last = true}); }).find("leaves no batch"),
            std::string::npos);
}

TEST_F(LoaderTest, MissingFileIsReported) {
  const std::string copy = dir_ + "_missing";
  fs::remove_all(copy);
  fs::copy(dir_, copy, fs::copy_options::recursive);
  fs::remove(fs::path(copy) / "s/sample1_brain.nii.gz");
  const std::string err = error_of([&] { SliceLoader(copy, "train", "slices8"); });
  EXPECT_NE(err.find("sample1_brain.nii.gz"), std::string::npos) << err;
  fs::remove_all(copy);
}
