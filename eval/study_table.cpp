#include "eval/study_table.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/atomic_file.h"
#include "tensor/error.h"

namespace uad::eval {

namespace {

std::string num(double v, int precision = 3) {
  if (!std::isfinite(v)) return "—";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(precision);
  s << v;
  return s.str();
}

std::string csv_num(double v) {
  if (!std::isfinite(v)) return "";
  std::ostringstream s;
  s.precision(9);
  s << v;
  return s.str();
}

nlohmann::json jnum(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json jms(const MeanStd& m) { return {{"mean", jnum(m.mean)}, {"std", jnum(m.std)}, {"n", m.n}}; }

/// Split names in the order they first appear.
std::vector<std::string> split_order(const std::vector<RunResult>& runs) {
  std::vector<std::string> out;
  for (const RunResult& r : runs)
    for (const SplitResult& s : r.splits)
      if (std::find(out.begin(), out.end(), s.split) == out.end()) out.push_back(s.split);
  return out;
}

const SplitResult* find_split(const RunResult& r, const std::string& name) {
  for (const SplitResult& s : r.splits)
    if (s.split == name) return &s;
  return nullptr;
}

}  // namespace

std::string study_markdown(const std::vector<RunResult>& runs) {
  std::ostringstream o;
  for (const std::string& split : split_order(runs)) {
    const SplitResult* first = nullptr;
    for (const RunResult& r : runs)
      if ((first = find_split(r, split))) break;
    o << "### " << split << " (" << first->volumes << " volumes, " << first->anomalous_volumes << " with anomalies)\n\n";
    o << "| Approach | AUROC | AUPRC | [DICE] | DICE μ±σ | ℓ1-RE_N | ℓ1-RE_A | χ² | FPR | image AUROC | image AP | ms/slice |\n";
    o << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const RunResult& r : runs) {
      const SplitResult* s = find_split(r, split);
      if (!s) continue;
      const std::string dice = std::isfinite(s->dice.mean) ? num(s->dice.mean) + " ± " + num(s->dice.std) : "—";
      o << "| " << r.approach << " | " << num(s->auroc) << " | " << num(s->auprc) << " | " << num(s->best_dice.dice)
        << " | " << dice << " | " << num(s->l1_normal, 4) << " | " << num(s->l1_anomalous, 4) << " | " << num(s->chi2)
        << " | " << num(s->fpr, 4) << " | " << num(s->image_auroc) << " | " << num(s->image_ap) << " | "
        << num(s->seconds_per_slice * 1e3, 1) << " |\n";
    }
    o << "\n";
  }
  o << "Operating points (DICE μ±σ and FPR are at these thresholds of the anomaly map):\n\n";
  for (const RunResult& r : runs)
    o << "- " << r.approach << ": " << r.op.method << " = " << num(r.op.threshold, 4) << " — " << r.op.detail << "\n";
  o << "\nAUROC, AUPRC and [DICE] are voxel-level over the brain voxels of all volumes of a split; DICE μ±σ is per "
       "anomalous volume; ℓ1-RE_N/_A are mean |x − x̂| over normal/anomalous brain voxels; χ² compares the residual "
       "histograms of normal and anomalous voxels; FPR is the fraction of normal brain voxels flagged; image "
       "AUROC/AP rank the volumes by their anomaly score against the healthy test volumes.\n";
  return o.str();
}

std::string study_csv(const std::vector<RunResult>& runs) {
  std::ostringstream o;
  o << "split,approach,model,method,operating_point,threshold,volumes,anomalous_volumes,auroc,auprc,best_dice,"
       "best_dice_threshold,dice_mean,dice_std,precision_mean,recall_mean,l1_re_normal,l1_re_anomalous,chi2,fpr,"
       "image_auroc,image_ap,seconds_per_slice,seconds_per_volume\n";
  for (const std::string& split : split_order(runs))
    for (const RunResult& r : runs) {
      const SplitResult* s = find_split(r, split);
      if (!s) continue;
      auto quoted = [](const std::string& t) {
        std::string q = "\"";
        for (char c : t) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
      };
      o << split << "," << quoted(r.approach) << "," << r.model << "," << r.method << "," << quoted(r.op.method) << ","
        << csv_num(r.op.threshold) << "," << s->volumes << "," << s->anomalous_volumes << "," << csv_num(s->auroc) << ","
        << csv_num(s->auprc) << "," << csv_num(s->best_dice.dice) << "," << csv_num(s->best_dice.threshold) << ","
        << csv_num(s->dice.mean) << "," << csv_num(s->dice.std) << "," << csv_num(s->precision.mean) << ","
        << csv_num(s->recall.mean) << "," << csv_num(s->l1_normal) << "," << csv_num(s->l1_anomalous) << ","
        << csv_num(s->chi2) << "," << csv_num(s->fpr) << "," << csv_num(s->image_auroc) << "," << csv_num(s->image_ap)
        << "," << csv_num(s->seconds_per_slice) << "," << csv_num(s->seconds_per_volume) << "\n";
    }
  return o.str();
}

std::string study_json(const std::vector<RunResult>& runs) {
  nlohmann::json j;
  j["format"] = "uad-study";
  j["version"] = 1;
  j["runs"] = nlohmann::json::array();
  for (const RunResult& r : runs) {
    nlohmann::json jr = {{"approach", r.approach}, {"run_dir", r.run_dir}, {"model", r.model}, {"method", r.method},
                         {"operating_point", {{"method", r.op.method}, {"threshold", jnum(r.op.threshold)}, {"detail", r.op.detail}}},
                         {"seconds", r.seconds}};
    jr["splits"] = nlohmann::json::array();
    for (const SplitResult& s : r.splits) {
      nlohmann::json js = {{"split", s.split},
                           {"volumes", s.volumes},
                           {"anomalous_volumes", s.anomalous_volumes},
                           {"slices", s.slices},
                           {"auroc", jnum(s.auroc)},
                           {"auprc", jnum(s.auprc)},
                           {"best_dice", {{"dice", jnum(s.best_dice.dice)}, {"threshold", jnum(s.best_dice.threshold)}}},
                           {"dice", jms(s.dice)},
                           {"precision", jms(s.precision)},
                           {"recall", jms(s.recall)},
                           {"l1_re_normal", jnum(s.l1_normal)},
                           {"l1_re_anomalous", jnum(s.l1_anomalous)},
                           {"chi2", jnum(s.chi2)},
                           {"fpr", jnum(s.fpr)},
                           {"image_auroc", jnum(s.image_auroc)},
                           {"image_ap", jnum(s.image_ap)},
                           {"seconds_per_slice", jnum(s.seconds_per_slice)},
                           {"seconds_per_volume", jnum(s.seconds_per_volume)}};
      js["cases"] = nlohmann::json::array();
      for (const VolumeResult& v : s.cases)
        js["cases"].push_back({{"id", v.id},
                               {"anomaly_type", v.anomaly_type},
                               {"slices", v.slices},
                               {"brain_voxels", v.brain_voxels},
                               {"anomaly_voxels", v.anomaly_voxels},
                               {"predicted_voxels", v.predicted_voxels},
                               {"lesions", v.lesions},
                               {"dice", jnum(v.dice)},
                               {"precision", jnum(v.precision)},
                               {"recall", jnum(v.recall)},
                               {"score", jnum(v.score)},
                               {"l1_re_normal", jnum(v.l1_normal)},
                               {"l1_re_anomalous", jnum(v.l1_anomalous)},
                               {"reconstruction_seconds", v.seconds}});
      jr["splits"].push_back(std::move(js));
    }
    j["runs"].push_back(std::move(jr));
  }
  return j.dump(2) + "\n";
}

void write_study(const std::string& dir, const std::vector<RunResult>& runs) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  check(!ec, "cannot create the output folder '", dir, "': ", ec.message());
  io::write_text_file_atomic((std::filesystem::path(dir) / "study.md").string(), study_markdown(runs));
  io::write_text_file_atomic((std::filesystem::path(dir) / "study.csv").string(), study_csv(runs));
  io::write_text_file_atomic((std::filesystem::path(dir) / "study.json").string(), study_json(runs));
}

}  // namespace uad::eval
