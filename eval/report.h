// The study as one self-contained HTML page (issue 7): what was trained and evaluated, the tables
// of eval/study_table.h, the operating points, the wall time of each stage, and a picture per
// case (eval/panel.h: input | reconstruction | anomaly map | segmentation vs ground truth),
// embedded as base64 PNG so the file can be mailed or opened anywhere without its folder.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "eval/evaluate.h"

namespace uad::eval {

/// One case's picture in the report.
struct ReportCase {
  std::string approach, split, id, anomaly_type;
  double dice = 0;
  int64_t anomaly_voxels = 0, predicted_voxels = 0;
  std::string png;  ///< path of the panel PNG (read and embedded)
};

struct ReportInput {
  std::string title = "uad — unsupervised anomaly detection study";
  std::vector<RunResult> runs;
  std::vector<ReportCase> cases;
  std::vector<std::pair<std::string, double>> stage_seconds;  ///< e.g. {"prepare dataset", 22.1}
  std::vector<std::string> notes;  ///< plain sentences shown under the title (device, data, settings)
};

/// The HTML text. Throws uad::Error naming a panel PNG that cannot be read.
std::string report_html(const ReportInput& in);

/// Writes `<dir>/report.html` atomically. Throws uad::Error on a write error.
void write_report(const std::string& dir, const ReportInput& in);

/// Standard base64 (RFC 4648, with padding) of bytes.
std::string base64(const std::string& bytes);

}  // namespace uad::eval
