// `uad evaluate`: the study table (issue 6 item 5) — runs side by side on a dataset's test splits.
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/eval_options.h"
#include <filesystem>
#include <nlohmann/json.hpp>

#include "eval/evaluate.h"
#include "eval/panel.h"
#include "eval/report.h"
#include "eval/run.h"
#include "eval/study_table.h"
#include "io/atomic_file.h"
#include "io/nifti.h"
#include "io/png.h"
#include "tensor/device.h"
#include "tensor/error.h"

namespace uad::cli {

namespace {

struct EvaluateCli {
  std::vector<std::string> runs;
  std::string data, out = "study", operating_point = "p98", device = "auto";
  std::vector<std::string> splits;
  int64_t max_volumes = 0;
  bool no_progress = false, report = false, no_nifti = false;
  std::vector<std::string> stage_times, notes;
  MapCli map;
};

/// A file-name-safe form of an approach label ("vae (restoration)" → "vae_restoration").
std::string slug(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (std::isalnum((unsigned char)c) || c == '-' || c == '.') o += c;
    else if (!o.empty() && o.back() != '_') o += '_';
  }
  while (!o.empty() && o.back() == '_') o.pop_back();
  return o.empty() ? "run" : o;
}

/// "NAME=SECONDS" → pair; throws uad::Error otherwise.
std::pair<std::string, double> parse_stage(const std::string& s) {
  const size_t eq = s.rfind('=');
  check(eq != std::string::npos && eq > 0, "--stage-time: expected NAME=SECONDS, got '", s, "'");
  try {
    return {s.substr(0, eq), std::stod(s.substr(eq + 1))};
  } catch (...) {
    fail("--stage-time: expected NAME=SECONDS, got '", s, "'");
  }
}

/// "DIR" or "DIR:METHOD" (a method overriding --method for that run).
std::pair<std::string, std::string> split_run(const std::string& s, const std::string& default_method) {
  const size_t c = s.rfind(':');
  if (c != std::string::npos && c + 1 < s.size()) {
    const std::string m = s.substr(c + 1);
    if (m == "residual" || m == "monte_carlo" || m == "mc" || m == "restoration" || m == "gradient")
      return {s.substr(0, c), m};
  }
  return {s, default_method};
}

void run_evaluate(EvaluateCli& c) {
  c.map.resolve();
  std::string note;
  const Device device = select_device(c.device, &note);
  if (!note.empty()) std::printf("%s\n", note.c_str());
  // Load every run first, so a bad run folder fails before any work.
  std::vector<std::pair<eval::LoadedRun, std::string>> runs;
  for (const std::string& r : c.runs) {
    auto [dir, method] = split_run(r, c.map.method);
    eval::parse_map_method(method);
    runs.emplace_back(eval::load_run(dir), method);
    runs.back().first.model->to(device);  // the model passes run there; maps and metrics on the CPU
  }
  std::vector<std::pair<std::string, double>> stages;
  for (const std::string& st : c.stage_times) stages.push_back(parse_stage(st));
  namespace fs = std::filesystem;
  std::vector<eval::RunResult> results;
  std::vector<eval::ReportCase> cases;
  for (auto& [run, method] : runs) {
    eval::EvalOptions o;
    o.data = c.data;
    o.splits = c.splits;
    o.operating_point = c.operating_point;
    o.post = c.map.post;
    o.map = c.map.map;
    o.map.method = eval::parse_map_method(method);
    o.max_volumes = c.max_volumes;
    o.progress = !c.no_progress;
    eval::VolumeCallback on_volume;
    const std::string approach =
        run.name + (o.map.method == eval::MapMethod::residual ? "" : " (" + eval::map_method_name(o.map.method) + ")");
    if (c.report) {
      // Per case: the NIfTI outputs on the view grid and the panel picture.
      on_volume = [&, approach](const eval::VolumeOutputs& v) {
        const fs::path cdir = fs::path(c.out) / "cases" / slug(approach) / v.result.split;
        fs::create_directories(cdir);
        if (!c.no_nifti) {
          io::write_nifti((cdir / (v.result.id + "_reconstruction.nii.gz")).string(), v.recon, v.header);
          io::write_nifti((cdir / (v.result.id + "_anomaly_map.nii.gz")).string(), v.map, v.header);
          io::write_nifti((cdir / (v.result.id + "_segmentation.nii.gz")).string(), v.segmentation, v.header,
                          io::NiftiWriteType::u8);
        }
        eval::PanelOptions po;
        po.threshold = v.threshold;
        const int64_t z = eval::panel_slice(v.map, v.truth);
        const std::string png = (cdir / (v.result.id + "_panel.png")).string();
        io::write_png_rgb(png, eval::render_panel(v.image, v.recon, v.map, v.segmentation, v.truth, z, po));
        cases.push_back({approach, v.result.split, v.result.id, v.result.anomaly_type, v.result.dice,
                         v.result.anomaly_voxels, v.result.predicted_voxels, png});
      };
    }
    eval::RunResult r = eval::evaluate_run(run, o, approach, on_volume);
    eval::save_operating_point(run.dir, r.method, r.op);
    std::printf("%s: %s = %.5g (%s); %.1f s\n", r.approach.c_str(), r.op.method.c_str(), r.op.threshold,
                r.op.detail.c_str(), r.seconds);
    results.push_back(std::move(r));
  }
  eval::write_study(c.out, results);
  if (c.report) {
    nlohmann::json j = nlohmann::json::parse(eval::study_json(results));
    j["stages"] = nlohmann::json::array();
    for (auto& [name, sec] : stages) j["stages"].push_back({{"stage", name}, {"seconds", sec}});
    io::write_text_file_atomic((fs::path(c.out) / "metrics.json").string(), j.dump(2) + "\n");
    eval::ReportInput ri;
    ri.runs = results;
    ri.cases = cases;
    ri.stage_seconds = stages;
    ri.notes = c.notes;
    if (!note.empty()) ri.notes.push_back(note);
    eval::write_report(c.out, ri);
    std::printf("report: %s/report.html (%zu case pictures), metrics.json\n", c.out.c_str(), cases.size());
  }
  std::printf("\n%s\nwritten: %s/study.md, study.csv, study.json\n", eval::study_markdown(results).c_str(), c.out.c_str());
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  static EvaluateCli c;
  auto* cmd = app.add_subcommand(
      "evaluate",
      "Evaluate trained runs on a dataset's test splits: AUROC, AUPRC, best Dice, Dice at an operating point chosen on "
      "validation data, l1 errors, chi2, image-level AUROC; tables as Markdown, CSV and JSON");
  cmd->add_option("--run", c.runs,
                  "run folder from `uad train` (repeat for several runs side by side; DIR:METHOD evaluates that run "
                  "with another anomaly-map method, e.g. runs/vae:restoration)")
      ->required()
      ->type_name("DIR[:METHOD]");
  cmd->add_option("--data", c.data, "dataset folder (default: the one each run was trained on)")->type_name("DIR");
  cmd->add_option("--out", c.out, "output folder for study.md/.csv/.json (default ./study)")->type_name("DIR");
  cmd->add_option("--split", c.splits, "test split to evaluate (repeatable; default every test_* split)")
      ->type_name("SPLIT");
  cmd->add_option("--operating-point", c.operating_point,
                  "threshold choice: p98 (98th percentile of healthy validation maps; pQ for another), best_dice_val "
                  "(labelled validation split), max_fp:N (at most N false-positive voxels per healthy validation "
                  "volume), t:VALUE (fixed); default p98")
      ->type_name("SPEC");
  cmd->add_option("--max-volumes", c.max_volumes, "only the first N volumes of each split (quick runs; 0 = all)");
  cmd->add_option("--device", c.device, "auto, cpu or cuda (default auto)");
  cmd->add_flag("--no-progress", c.no_progress, "no progress bar");
  cmd->add_flag("--report", c.report,
                "also write per case the NIfTI outputs and a panel picture (cases/), metrics.json and a self-contained "
                "report.html");
  cmd->add_flag("--no-nifti", c.no_nifti, "with --report: pictures only, no per-case NIfTI files");
  cmd->add_option("--stage-time", c.stage_times, "with --report: a stage's wall time to show, NAME=SECONDS (repeatable)")
      ->type_name("NAME=SECONDS");
  cmd->add_option("--note", c.notes, "with --report: a sentence shown under the report's title (repeatable)")
      ->type_name("TEXT");
  c.map.add(cmd);
  cmd->callback([] { run_evaluate(c); });
}

}  // namespace uad::cli
