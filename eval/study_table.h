// The study's tables (issue 6 item 5): the evaluated runs side by side, one table per test split,
// with the columns of paper 003's result tables — Approach | AUROC | AUPRC | [DICE] | DICE μ±σ |
// ℓ1-RE_N | ℓ1-RE_A | χ² — plus the false-positive rate at the operating point, the image-level
// AUROC/AP and the reconstruction time per slice. Written as Markdown, CSV and JSON.
#pragma once
#include <string>
#include <vector>

#include "eval/evaluate.h"

namespace uad::eval {

/// Markdown: one "### split" section per test split (in the order of the first run), a row per
/// run, then the operating point of each run. Undefined values (NaN) print as "—".
std::string study_markdown(const std::vector<RunResult>& runs);
/// CSV, one row per (split, run), header line first; NaN as an empty field.
std::string study_csv(const std::vector<RunResult>& runs);
/// JSON: {"runs": [{approach, run_dir, model, method, operating_point{...}, seconds,
/// splits: [{split, volumes, ..., cases: [...]}]}]}; NaN as null.
std::string study_json(const std::vector<RunResult>& runs);

/// Writes `<dir>/study.md`, `study.csv` and `study.json` (each atomically; creates `dir`).
/// Throws uad::Error naming the file on a write error.
void write_study(const std::string& dir, const std::vector<RunResult>& runs);

}  // namespace uad::eval
