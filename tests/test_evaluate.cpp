// eval/evaluate.h and eval/study_table.h end to end on a tiny hand-made dataset whose answer is
// known exactly: healthy slices are ≤ 0.4, anomalies are boxes of 0.9, and the "model"
// reconstructs min(x, 0.5) — so the residual is 0.4 on every anomalous voxel and 0 elsewhere.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/evaluate.h"
#include "eval/study_table.h"
#include "io/manifest.h"
#include "io/nifti.h"
#include "tensor/ops.h"

namespace uad {
namespace {

namespace fs = std::filesystem;

class ClipModel : public models::ReconstructionModel {
 public:
  Tensor reconstruct(const Tensor& x) override { return minimum(x, full({1}, 0.5)); }
  models::LossTerms loss(const Tensor& x) override { return {sum(x), {}}; }
  std::string type_name() const override { return "ClipModel"; }
};

constexpr int64_t Z = 6, S = 16;

/// Writes one sample: brain = a centred 12×12 square on every slice, image 0.2..0.4 inside it;
/// with `anomaly`, a 4×4×3 box of 0.9 at (z 1..3, y 4..7, x 5..8).
void write_sample(io::Manifest& m, const std::string& dir, const std::string& split, const std::string& id, bool anomaly) {
  using namespace io;
  std::vector<float> img(Z * S * S, 0.f), brain(Z * S * S, 0.f), an(Z * S * S, 0.f);
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t y = 2; y < 14; ++y)
      for (int64_t x = 2; x < 14; ++x) {
        const int64_t i = (z * S + y) * S + x;
        brain[i] = 1;
        img[i] = 0.2f + 0.2f * (float)((y + x + z) % 5) / 4.f;
        if (anomaly && z >= 1 && z < 4 && y >= 4 && y < 8 && x >= 5 && x < 9) img[i] = 0.9f, an[i] = 1;
      }
  const NiftiHeader h = make_nifti_header({Z, S, S});
  const std::string base = "s/" + id;
  write_nifti(dir + "/" + base + "_image.nii.gz", from_vector_f32(img, {Z, S, S}), h);
  write_nifti(dir + "/" + base + "_brain.nii.gz", from_vector_f32(brain, {Z, S, S}), h, NiftiWriteType::u8);
  write_nifti(dir + "/" + base + "_anomaly.nii.gz", from_vector_f32(an, {Z, S, S}), h, NiftiWriteType::u8);
  SampleEntry e;
  e.id = id;
  e.split = split;
  e.subject = "a";
  e.anomaly_type = anomaly ? "box" : "";
  ViewEntry v;
  v.image = base + "_image.nii.gz";
  v.brain = base + "_brain.nii.gz";
  v.anomaly = base + "_anomaly.nii.gz";
  v.modalities = {{"T1", v.image}};
  v.shape = {Z, S, S};
  v.spacing_zyx = {1, 1, 1};
  for (int64_t z = 0; z < Z; ++z) v.slices.push_back(z);
  v.brain_fraction.assign(Z, 144.0 / 256.0);
  v.anomaly_pixels.assign(Z, 0);
  e.views["slices16"] = v;
  m.samples.push_back(e);
  m.splits[split].samples += 1;
  m.splits[split].labelled = split != "val";
}

class EvaluateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = (fs::temp_directory_path() / ("uad_test_evaluate_" + std::to_string(::getpid()))).string();
    fs::remove_all(root_);
    fs::create_directories(root_ + "/data/s");
    io::Manifest m;
    m.views["slices16"] = {true, S, 0.1};
    write_sample(m, root_ + "/data", "val", "val0", false);
    write_sample(m, root_ + "/data", "val_labelled", "vl0", true);
    write_sample(m, root_ + "/data", "test_lesion", "t0", true);
    write_sample(m, root_ + "/data", "test_lesion", "t1", true);
    write_sample(m, root_ + "/data", "test_healthy", "h0", false);
    io::write_manifest(root_ + "/data", m);
    fs::create_directories(root_ + "/run");
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static eval::LoadedRun run() {
    static models::ModelSpec spec{"clip", {1, S, S}, "test", nullptr};
    eval::LoadedRun r;
    r.dir = root_ + "/run";
    r.name = "clip";
    r.config.model = "clip";
    r.config.view = "slices16";
    r.config.data = root_ + "/data";
    r.spec = &spec;
    r.model = std::make_shared<ClipModel>();
    return r;
  }
  static eval::EvalOptions options() {
    eval::EvalOptions o;
    o.post.erode_iterations = 0;
    o.post.median_size = 1;
    o.post.min_component_voxels = 1;
    o.progress = false;
    return o;
  }
  static std::string root_;
};
std::string EvaluateTest::root_;

TEST_F(EvaluateTest, ExactAnswerOnAKnownProblem) {
  int callbacks = 0;
  eval::RunResult r = eval::evaluate_run(run(), options(), "", [&](const eval::VolumeOutputs& v) {
    ++callbacks;
    EXPECT_EQ(v.map.shape(), (Shape{Z, S, S}));
    EXPECT_EQ(v.segmentation.dtype(), DType::u8);
  });
  EXPECT_EQ(callbacks, 3);
  EXPECT_EQ(r.approach, "clip");
  EXPECT_EQ(r.op.method, "p98");
  EXPECT_EQ(r.op.threshold, 0.0);  // every healthy map value is 0
  ASSERT_EQ(r.splits.size(), 2u);  // test_healthy, test_lesion (manifest order is by name)
  const eval::SplitResult& h = r.splits[0];
  const eval::SplitResult& l = r.splits[1];
  EXPECT_EQ(h.split, "test_healthy");
  EXPECT_EQ(l.split, "test_lesion");
  EXPECT_TRUE(std::isnan(h.auroc));
  EXPECT_EQ(h.fpr, 0.0);
  EXPECT_EQ(h.l1_normal, 0.0);
  EXPECT_EQ(l.volumes, 2);
  EXPECT_EQ(l.anomalous_volumes, 2);
  EXPECT_DOUBLE_EQ(l.auroc, 1.0);
  EXPECT_DOUBLE_EQ(l.auprc, 1.0);
  EXPECT_DOUBLE_EQ(l.best_dice.dice, 1.0);
  EXPECT_DOUBLE_EQ(l.dice.mean, 1.0);
  EXPECT_DOUBLE_EQ(l.dice.std, 0.0);
  EXPECT_EQ(l.l1_normal, 0.0);
  EXPECT_NEAR(l.l1_anomalous, 0.4, 1e-6);
  EXPECT_DOUBLE_EQ(l.chi2, 1.0);  // all normal residuals in bin 0, all anomalous in bin 40
  EXPECT_DOUBLE_EQ(l.image_auroc, 1.0);
  ASSERT_EQ(l.cases.size(), 2u);
  EXPECT_EQ(l.cases[0].anomaly_voxels, 48);
  EXPECT_EQ(l.cases[0].predicted_voxels, 48);
  EXPECT_EQ(l.cases[0].lesions, 1);
  EXPECT_NEAR(l.cases[0].score, 0.4 * 48 / (Z * 144.0), 1e-6);  // mean map over the brain
  EXPECT_GT(l.cases[0].seconds, 0.0);
  EXPECT_NEAR(l.seconds_per_volume * 2, l.cases[0].seconds + l.cases[1].seconds, 1e-12);
  EXPECT_NEAR(l.seconds_per_slice * 2 * Z, l.cases[0].seconds + l.cases[1].seconds, 1e-12);
}

TEST_F(EvaluateTest, OperatingPointsAndTheirPersistence) {
  eval::EvalOptions o = options();
  o.operating_point = "best_dice_val";
  eval::OperatingPointInfo op = eval::choose_operating_point(run(), o);
  EXPECT_EQ(op.threshold, 0.0);  // (score > 0) is the box exactly
  o.operating_point = "t:0.25";
  EXPECT_EQ(eval::choose_operating_point(run(), o).threshold, 0.25);
  o.operating_point = "max_fp:0";
  EXPECT_EQ(eval::choose_operating_point(run(), o).threshold, 0.0);
  o.operating_point = "p50";
  EXPECT_EQ(eval::choose_operating_point(run(), o).threshold, 0.0);
  o.operating_point = "magic";
  EXPECT_THROW(eval::choose_operating_point(run(), o), Error);

  eval::save_operating_point(root_ + "/run", "residual", {"p98", 0.125, "test"});
  eval::save_operating_point(root_ + "/run", "restoration", {"p98", 0.5, "test2"});
  eval::OperatingPointInfo back;
  ASSERT_TRUE(eval::load_operating_point(root_ + "/run", "residual", &back));
  EXPECT_EQ(back.threshold, 0.125);
  ASSERT_TRUE(eval::load_operating_point(root_ + "/run", "restoration", &back));
  EXPECT_EQ(back.detail, "test2");
  EXPECT_FALSE(eval::load_operating_point(root_ + "/run", "gradient", &back));
}

TEST_F(EvaluateTest, UnknownSplitAndMissingDatasetAreClearErrors) {
  eval::EvalOptions o = options();
  o.splits = {"test_nope"};
  try {
    eval::evaluate_run(run(), o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no split 'test_nope'; available: test_healthy, test_lesion, val"),
              std::string::npos)
        << e.what();
  }
  o = options();
  o.data = root_ + "/nowhere";
  EXPECT_THROW(eval::evaluate_run(run(), o), Error);
}

TEST_F(EvaluateTest, TablesPrintUndefinedValuesAsDashesAndJsonAsNull) {
  eval::RunResult r = eval::evaluate_run(run(), options());
  const std::string md = eval::study_markdown({r, r});
  EXPECT_NE(md.find("### test_lesion (2 volumes, 2 with anomalies)"), std::string::npos) << md;
  EXPECT_NE(md.find("| clip | 1.000 | 1.000 | 1.000 | 1.000 ± 0.000 | 0.0000 | 0.4000 | 1.000 | 0.0000 | 1.000 | 1.000 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| clip | — | — | — | — |"), std::string::npos) << md;
  const std::string csv = eval::study_csv({r});
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);  // header + 2 splits
  EXPECT_NE(csv.find("test_healthy,\"clip\",clip,residual,\"p98\",0,1,0,,"), std::string::npos) << csv;
  auto j = nlohmann::json::parse(eval::study_json({r}));
  EXPECT_TRUE(j["runs"][0]["splits"][0]["auroc"].is_null());
  EXPECT_EQ(j["runs"][0]["splits"][1]["auroc"].get<double>(), 1.0);
  EXPECT_EQ(j["runs"][0]["splits"][1]["cases"].size(), 2u);
  const std::string out = root_ + "/study";
  eval::write_study(out, {r});
  for (const char* f : {"study.md", "study.csv", "study.json"}) EXPECT_TRUE(fs::is_regular_file(out + "/" + f)) << f;
}

}  // namespace
}  // namespace uad
