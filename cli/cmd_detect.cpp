// `uad detect`: one scan in, its reconstruction, anomaly map, segmentation (NIfTI on the input's
// grid, header and affine), a PNG overview and a JSON summary out (issue 6 item 5).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/eval_options.h"
#include "eval/evaluate.h"
#include "eval/panel.h"
#include "eval/postprocess.h"
#include "eval/run.h"
#include "io/atomic_file.h"
#include "io/nifti.h"
#include "io/png.h"
#include "io/regrid.h"
#include "io/views.h"
#include "tensor/device.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace fs = std::filesystem;

namespace uad::cli {

namespace {

struct DetectCli {
  std::string run, in, mask, out, device = "auto", operating_point;
  double threshold = std::nan("");
  MapCli map;
};

/// Files are first written into a staging folder inside `out`, then renamed into place, so an
/// error leaves no partial result behind.
struct Staging {
  fs::path dir;
  std::vector<std::string> names;
  explicit Staging(const fs::path& out) : dir(out / (".uad-detect.tmp." + std::to_string(::getpid()))) {
    fs::create_directories(dir);
  }
  std::string path(const std::string& name) {
    names.push_back(name);
    return (dir / name).string();
  }
  void commit(const fs::path& out) {
    for (const std::string& n : names) fs::rename(dir / n, out / n);
    fs::remove_all(dir);
  }
  ~Staging() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

double mean_over(const Tensor& v, const Tensor& mask) {
  Tensor a = v.to(DType::f32).contiguous(), m = mask.to(DType::u8).contiguous();
  const float* p = a.data<float>();
  const uint8_t* q = m.data<uint8_t>();
  double s = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (q[i]) s += p[i], ++n;
  return n ? s / (double)n : 0.0;
}

void run_detect(DetectCli& c) {
  const auto t0 = std::chrono::steady_clock::now();
  c.map.resolve();
  std::string note;
  const Device device = select_device(c.device, &note);
  if (!note.empty()) std::printf("%s\n", note.c_str());
  // The input first (a bad scan is the most likely error), preprocessed exactly as the training
  // data (io/views.h steps 1-10).
  io::SubjectSource src;
  src.id = "input";
  src.image = c.in;
  src.brain_mask = c.mask;
  const io::Subject subj = io::load_subject(src);
  const io::NiftiHeader native = io::read_nifti_header(c.in);
  eval::LoadedRun run = eval::load_run(c.run);
  run.model->to(device);  // the model passes run there; maps and post-processing on the CPU
  const io::ViewSpec spec = io::parse_view(run.config.view);
  const io::View view = io::make_view(subj.image.data, subj.image.header, subj.brain, Tensor(), {}, spec);

  // Threshold: --threshold, else --operating-point computed now, else the one saved by `uad evaluate`,
  // else p98 on the run's validation data.
  const std::string method = eval::map_method_name(c.map.map.method);
  eval::OperatingPointInfo op;
  if (std::isfinite(c.threshold)) {
    op = {"t:" + std::to_string(c.threshold), c.threshold, "given with --threshold"};
  } else if (!c.operating_point.empty() || !eval::load_operating_point(run.dir, method, &op)) {
    eval::EvalOptions eo;
    eo.operating_point = c.operating_point.empty() ? "p98" : c.operating_point;
    eo.map = c.map.map;
    eo.post = c.map.post;
    try {
      op = eval::choose_operating_point(run, eo);
    } catch (const Error& e) {
      fail("no threshold: give --threshold, or run `uad evaluate --run ", run.dir,
           "` first, or keep the run's dataset available (", e.what(), ")");
    }
    eval::save_operating_point(run.dir, method, op);
  }

  eval::ReconstructStats st;
  const Tensor recon = eval::reconstruct_stack(*run.model, run.spec->input_shape, view.image.data, view.brain, c.map.map, &st);
  const Tensor map = eval::anomaly_map(view.image.data, recon, view.brain, c.map.post);
  const Tensor seg = eval::segment(map, op.threshold, c.map.post);
  double score = eval::model_image_score(*run.model, run.spec->input_shape, view.image.data, view.brain, c.map.map.batch);
  const bool own_score = std::isfinite(score);
  if (!own_score) score = mean_over(map, view.brain);

  // Back onto the input's grid.
  const Tensor recon_native = io::regrid(recon * subj.raw_percentile, view.image.header, native, io::Interp::linear);
  const Tensor map_native = io::regrid(map, view.image.header, native, io::Interp::linear);
  const Tensor seg_native = io::regrid(seg, view.image.header, native, io::Interp::nearest);
  const std::array<double, 3> spacing_zyx{native.pixdim[2], native.pixdim[1], native.pixdim[0]};
  const std::vector<eval::Lesion> lesions = eval::lesions(seg_native, map_native, spacing_zyx);
  const std::array<int64_t, 3> peak = eval::strongest_anomaly(map_native);
  const auto world = [&](double z, double y, double x) { return io::voxel_to_world(native.affine, x, y, z); };

  nlohmann::json j;
  j["input"] = c.in;
  j["run"] = run.dir;
  j["model"] = run.config.model;
  j["method"] = method;
  j["operating_point"] = {{"method", op.method}, {"threshold", op.threshold}, {"detail", op.detail}};
  j["anomaly_score"] = score;
  j["anomaly_score_kind"] = own_score ? "model score (f-AnoGAN A(x), 001)" : "mean anomaly map over the brain";
  j["lesion_count"] = lesions.size();
  double total_mm3 = 0;
  j["lesions"] = nlohmann::json::array();
  for (const eval::Lesion& l : lesions) {
    total_mm3 += l.volume_mm3;
    const auto cw = world(l.centroid_zyx[0], l.centroid_zyx[1], l.centroid_zyx[2]);
    const auto pw = world((double)l.peak_zyx[0], (double)l.peak_zyx[1], (double)l.peak_zyx[2]);
    j["lesions"].push_back({{"voxels", l.voxels},
                            {"volume_mm3", l.volume_mm3},
                            {"centroid_ijk", {l.centroid_zyx[2], l.centroid_zyx[1], l.centroid_zyx[0]}},
                            {"centroid_world_mm", {cw[0], cw[1], cw[2]}},
                            {"peak", l.peak},
                            {"peak_world_mm", {pw[0], pw[1], pw[2]}}});
  }
  j["lesion_volume_mm3"] = total_mm3;
  {
    const auto pw = world((double)peak[0], (double)peak[1], (double)peak[2]);
    Tensor mc = map_native.contiguous();
    j["strongest_anomaly"] = {{"ijk", {peak[2], peak[1], peak[0]}},
                              {"world_mm", {pw[0], pw[1], pw[2]}},
                              {"value", mc.data<float>()[(peak[0] * mc.size(1) + peak[1]) * mc.size(2) + peak[2]]}};
  }
  j["view"] = {{"name", run.config.view}, {"shape", view.image.data.shape()}, {"pixel_mm", view.pixel_mm}};
  j["reconstruction_seconds"] = st.seconds;
  j["units"] = {{"reconstruction", "input intensity units (the model's [0,1] output times the input's 98th brain percentile)"},
                {"anomaly_map", "residual in units of the input's 98th brain percentile intensity"},
                {"volume_mm3", "cubic millimetres on the input grid"}};

  // Write everything into a staging folder, then move it into place.
  fs::create_directories(c.out);
  Staging stage(c.out);
  io::NiftiHeader h = native;
  h.descrip = "uad detect " + run.config.model;
  io::write_nifti(stage.path("reconstruction.nii.gz"), recon_native, h);
  io::write_nifti(stage.path("anomaly_map.nii.gz"), map_native, h);
  io::write_nifti(stage.path("segmentation.nii.gz"), seg_native, h, io::NiftiWriteType::u8);
  eval::PanelOptions po;
  po.threshold = op.threshold;
  const int64_t z = eval::panel_slice(map, Tensor());
  io::write_png_rgb(stage.path("overview.png"), eval::render_panel(view.image.data, recon, map, seg, Tensor(), z, po));
  j["overview_slice"] = z;
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  io::write_text_file_atomic(stage.path("result.json"), j.dump(2) + "\n");
  stage.commit(c.out);

  std::printf("%s: anomaly score %.5g, %zu lesion(s), %.1f mm^3 at threshold %.4g (%s)\n", c.in.c_str(), score,
              lesions.size(), total_mm3, op.threshold, op.method.c_str());
  std::printf("written: %s/{reconstruction,anomaly_map,segmentation}.nii.gz, overview.png, result.json\n", c.out.c_str());
}

}  // namespace

void add_detect_command(CLI::App& app) {
  static DetectCli c;
  auto* cmd = app.add_subcommand(
      "detect",
      "Detect anomalies in one scan with a trained run: reconstruction, anomaly map and segmentation as NIfTI on the "
      "input's grid, a PNG overview and a JSON summary (score, lesions, volumes in mm^3)");
  cmd->add_option("--run", c.run, "run folder from `uad train`")->required()->type_name("DIR");
  cmd->add_option("--in", c.in, "skull-stripped scan (.nii/.nii.gz), same modality as the training data")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--mask", c.mask, "brain mask on the scan's grid (default: voxels > 0)")->type_name("FILE");
  cmd->add_option("--out", c.out, "output folder")->required()->type_name("DIR");
  cmd->add_option("--threshold", c.threshold, "operating point as a fixed threshold of the anomaly map");
  cmd->add_option("--operating-point", c.operating_point,
                  "compute the threshold now on the run's dataset: p98, best_dice_val, max_fp:N (default: the one "
                  "`uad evaluate` saved, else p98)")
      ->type_name("SPEC");
  cmd->add_option("--device", c.device, "auto, cpu or cuda (default auto)");
  c.map.add(cmd);
  cmd->callback([] { run_detect(c); });
}

}  // namespace uad::cli
