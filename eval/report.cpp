#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "io/atomic_file.h"
#include "tensor/error.h"

namespace uad::eval {

std::string base64(const std::string& s) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((s.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const uint32_t v = (uint8_t)s[i] << 16 | (uint8_t)s[i + 1] << 8 | (uint8_t)s[i + 2];
    out += k[v >> 18 & 63], out += k[v >> 12 & 63], out += k[v >> 6 & 63], out += k[v & 63];
  }
  if (i + 1 == s.size()) {
    const uint32_t v = (uint8_t)s[i] << 16;
    out += k[v >> 18 & 63], out += k[v >> 12 & 63], out += "==";
  } else if (i + 2 == s.size()) {
    const uint32_t v = (uint8_t)s[i] << 16 | (uint8_t)s[i + 1] << 8;
    out += k[v >> 18 & 63], out += k[v >> 12 & 63], out += k[v >> 6 & 63], out += '=';
  }
  return out;
}

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string num(double v, int p = 3) {
  if (!std::isfinite(v)) return "—";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(p);
  s << v;
  return s.str();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  check((bool)f, "report: cannot read the panel '", path, "'");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

const char* kStyle = R"(
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.best{font-weight:bold;color:#0a6}.note{color:#555;font-size:.92em}.case{margin:.8em 0}
.case img{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}
.legend{font-size:.85em;color:#555}code{background:#f4f4f4;padding:0 .2em}
)";

}  // namespace

std::string report_html(const ReportInput& in) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << esc(in.title) << "</title><style>"
    << kStyle << "</style></head><body>\n<h1>" << esc(in.title) << "</h1>\n";
  for (const std::string& n : in.notes) o << "<p class=\"note\">" << esc(n) << "</p>\n";

  // Tables, one per split; the best value of each column in bold.
  std::vector<std::string> splits;
  for (const RunResult& r : in.runs)
    for (const SplitResult& s : r.splits)
      if (std::find(splits.begin(), splits.end(), s.split) == splits.end()) splits.push_back(s.split);
  o << "<h2>Results</h2>\n<p class=\"note\">AUROC, AUPRC and [DICE] (the best Dice over thresholds) are voxel-level "
       "over the brain voxels of all volumes of a split. DICE μ±σ is the Dice at the operating point, per volume with "
       "anomalies. ℓ1-RE<sub>N</sub>/ℓ1-RE<sub>A</sub>: mean |x − x̂| on normal / anomalous brain voxels. χ²: distance "
       "between the residual histograms of normal and anomalous voxels (larger separates better). FPR: fraction of normal "
       "brain voxels flagged at the operating point. Image AUROC/AP: volumes ranked by their anomaly score against the "
       "healthy test volumes. Bold: the best run of a column.</p>\n";
  struct Col {
    const char* name;
    bool higher_better;
    int precision;
    double (*get)(const SplitResult&);
  };
  const std::vector<Col> cols = {
      {"AUROC", true, 3, [](const SplitResult& s) { return s.auroc; }},
      {"AUPRC", true, 3, [](const SplitResult& s) { return s.auprc; }},
      {"[DICE]", true, 3, [](const SplitResult& s) { return s.best_dice.dice; }},
      {"DICE μ", true, 3, [](const SplitResult& s) { return s.dice.mean; }},
      {"DICE σ", false, 3, [](const SplitResult& s) { return s.dice.std; }},
      {"ℓ1-RE<sub>N</sub>", false, 4, [](const SplitResult& s) { return s.l1_normal; }},
      {"ℓ1-RE<sub>A</sub>", true, 4, [](const SplitResult& s) { return s.l1_anomalous; }},
      {"χ²", true, 3, [](const SplitResult& s) { return s.chi2; }},
      {"FPR", false, 4, [](const SplitResult& s) { return s.fpr; }},
      {"image AUROC", true, 3, [](const SplitResult& s) { return s.image_auroc; }},
      {"image AP", true, 3, [](const SplitResult& s) { return s.image_ap; }},
      {"ms/slice", false, 1, [](const SplitResult& s) { return s.seconds_per_slice * 1e3; }},
  };
  for (const std::string& split : splits) {
    const SplitResult* first = nullptr;
    for (const RunResult& r : in.runs)
      for (const SplitResult& s : r.splits)
        if (!first && s.split == split) first = &s;
    o << "<h3>" << esc(split) << "</h3><p class=\"note\">" << first->volumes << " volumes, " << first->anomalous_volumes
      << " with anomalies</p>\n<table><tr><th>Approach</th>";
    for (const Col& c : cols) o << "<th>" << c.name << "</th>";
    o << "</tr>\n";
    std::vector<double> best(cols.size(), std::nan(""));
    for (size_t k = 0; k < cols.size(); ++k)
      for (const RunResult& r : in.runs)
        for (const SplitResult& s : r.splits) {
          if (s.split != split) continue;
          const double v = cols[k].get(s);
          if (std::isfinite(v) && (!std::isfinite(best[k]) || (cols[k].higher_better ? v > best[k] : v < best[k])))
            best[k] = v;
        }
    for (const RunResult& r : in.runs)
      for (const SplitResult& s : r.splits) {
        if (s.split != split) continue;
        o << "<tr><td>" << esc(r.approach) << "</td>";
        for (size_t k = 0; k < cols.size(); ++k) {
          const double v = cols[k].get(s);
          const bool b = in.runs.size() > 1 && std::isfinite(v) && num(v, cols[k].precision) == num(best[k], cols[k].precision);
          o << "<td" << (b ? " class=\"best\"" : "") << ">" << num(v, cols[k].precision) << "</td>";
        }
        o << "</tr>\n";
      }
    o << "</table>\n";
  }
  o << "<h3>Operating points</h3><ul>\n";
  for (const RunResult& r : in.runs)
    o << "<li><b>" << esc(r.approach) << "</b>: " << esc(r.op.method) << " = " << num(r.op.threshold, 4) << " — "
      << esc(r.op.detail) << " (evaluation took " << num(r.seconds, 1) << " s)</li>\n";
  o << "</ul>\n";
  if (!in.stage_seconds.empty()) {
    o << "<h3>Wall time per stage</h3><table><tr><th>stage</th><th>seconds</th></tr>\n";
    double total = 0;
    for (auto& [name, sec] : in.stage_seconds) {
      o << "<tr><td>" << esc(name) << "</td><td>" << num(sec, 1) << "</td></tr>\n";
      total += sec;
    }
    o << "<tr><th>total</th><th>" << num(total, 1) << "</th></tr></table>\n";
  }

  // Pictures, grouped by split then approach.
  if (!in.cases.empty()) {
    o << "<h2>Cases</h2>\n<p class=\"legend\">Each picture: the axial slice with the most ground-truth anomaly voxels "
         "(or the strongest anomaly) — input | reconstruction | anomaly map (black → red → yellow → white up to twice "
         "the operating point) | segmentation at the operating point (red) with the ground truth outlined (green). "
         "Radiological convention, as the dataset previews: anterior up, the patient's left on the picture's right.</p>\n";
    for (const std::string& split : splits) {
      bool any = false;
      for (const ReportCase& c : in.cases) {
        if (c.split != split) continue;
        if (!any) o << "<h3>" << esc(split) << "</h3>\n", any = true;
        o << "<div class=\"case\"><div><b>" << esc(c.id) << "</b> · " << esc(c.approach);
        if (!c.anomaly_type.empty()) o << " · " << esc(c.anomaly_type);
        o << " · Dice " << num(c.dice) << " · " << c.predicted_voxels << " voxels flagged, " << c.anomaly_voxels
          << " anomalous</div><img alt=\"" << esc(c.id) << "\" src=\"data:image/png;base64," << base64(read_file(c.png))
          << "\"></div>\n";
      }
    }
  }
  o << "<p class=\"note\">Generated by <code>uad evaluate --report</code>. The numbers are also in study.md, study.csv "
       "and metrics.json next to this file.</p>\n</body></html>\n";
  return o.str();
}

void write_report(const std::string& dir, const ReportInput& in) {
  std::filesystem::create_directories(dir);
  io::write_text_file_atomic((std::filesystem::path(dir) / "report.html").string(), report_html(in));
}

}  // namespace uad::eval
