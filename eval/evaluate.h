// The study of issue 6: a trained run evaluated on a prepared dataset's test splits, with an
// operating point chosen on validation data — the rows of the comparison tables of paper 003
// (Approach | AUROC | AUPRC | [DICE] | DICE μ±σ | ℓ1-RE_N | ℓ1-RE_A | χ²), per test split.
//
// Per volume (a sample's slice stack [Z,S,S] of the run's view, with its brain and anomaly
// masks): x̂ by the chosen method (eval/reconstruct.h) → anomaly map (eval/postprocess.h:
// residual, × eroded brain mask, 3-D median) → segmentation at the operating point (threshold,
// closing option, components < 8 voxels dropped). Per split:
//   AUROC, AUPRC   over the map values of all brain voxels of all the split's volumes (voxels
//                  outside the brain are left out: they are 0 by construction and would only
//                  inflate AUROC — the reference code keeps them, domain_spec §1.5);
//   [DICE]         the best Dice over thresholds on a 3-decimal grid over the same voxels
//                  (003 §D), before component filtering;
//   DICE μ±σ       Dice of the segmentation at the operating point, per anomalous volume
//                  (mean ± population std); precision and recall likewise;
//   ℓ1-RE_N/_A     mean |x − x̂| over normal / anomalous brain voxels (eval/metrics.h l1_error);
//   χ²             distance of the histograms of the raw residual r on normal vs anomalous
//                  brain voxels (100 bins on [0, 1], eval/metrics.h chi2_distance);
//   FPR            fraction of normal brain voxels flagged at the operating point (the check of
//                  false positives on healthy subjects);
//   image AUROC/AP of the volumes' anomaly scores, the split's volumes against the healthy test
//                  volumes (001, MOOD sample level): the model's own score when it has one
//                  (f-AnoGAN's A(x)), else the mean of the anomaly map over the brain.
// Operating points (eval/operating_point.h), computed on validation data:
//   "p98"            98th percentile of the anomaly map over the brain voxels of the healthy
//                    validation split (no labels; 004, 003 §VI) — "pQ" for another percentile;
//   "best_dice_val"  the best-Dice threshold on the labelled validation split (003 §D);
//   "max_fp:N"       the smallest threshold leaving at most N false-positive voxels per healthy
//                    validation volume on average (You et al.; 003 §VI);
//   "t:VALUE"        a fixed threshold.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "eval/postprocess.h"
#include "eval/reconstruct.h"
#include "eval/run.h"
#include "io/nifti.h"

namespace uad::eval {

struct EvalOptions {
  std::string data;                        ///< dataset folder (manifest.json); "" = the run's config.data
  std::vector<std::string> splits;         ///< test splits; empty = every split whose name starts with "test"
  std::string val_split = "val";           ///< healthy validation split (p98, max_fp)
  std::string labelled_split = "val_labelled";  ///< labelled validation split (best_dice_val)
  std::string operating_point = "p98";     ///< see the file comment
  PostprocessOptions post;
  MapOptions map;
  int64_t max_volumes = 0;                 ///< > 0: only the first volumes of each split (quick runs)
  bool progress = true;                    ///< progress bar on stderr
};

/// The chosen threshold and where it came from.
struct OperatingPointInfo {
  std::string method;      ///< "p98", "best_dice_val", "max_fp:100", "t:0.1"
  double threshold = 0;
  std::string detail;      ///< e.g. "98th percentile of 1.6e6 brain voxels of split 'val' (2 volumes)"
};

/// One evaluated volume.
struct VolumeResult {
  std::string id, split, anomaly_type;
  int64_t slices = 0, brain_voxels = 0, anomaly_voxels = 0;
  int64_t predicted_voxels = 0, lesions = 0;
  double dice = 0, precision = 0, recall = 0;  ///< at the operating point (conventions: eval/metrics.h)
  double score = 0;                            ///< image-level anomaly score
  double l1_normal = 0, l1_anomalous = 0;      ///< NaN where no voxel of the class
  double seconds = 0;                          ///< reconstruction time of the volume (model passes only)
};

/// One test split's row of the table.
struct SplitResult {
  std::string split;
  int64_t volumes = 0, anomalous_volumes = 0, slices = 0;
  double auroc = 0, auprc = 0;                  ///< NaN when the split has no anomalous voxel
  BestDice best_dice;                           ///< NaN dice when no anomalous voxel
  MeanStd dice, precision, recall;              ///< over the anomalous volumes
  double l1_normal = 0, l1_anomalous = 0;       ///< over all brain voxels of the split
  double chi2 = 0;                              ///< NaN without anomalous voxels
  double fpr = 0;                               ///< flagged fraction of normal brain voxels
  double image_auroc = 0, image_ap = 0;         ///< NaN without both healthy and anomalous volumes
  double seconds_per_slice = 0;                 ///< reconstruction time (model passes only)
  double seconds_per_volume = 0;                ///< the same per volume (slices with brain only)
  std::vector<VolumeResult> cases;
};

/// A run (or run + method) evaluated on every split.
struct RunResult {
  std::string approach;     ///< table label, e.g. "vae" or "vae (restoration)"
  std::string run_dir, model, method;
  OperatingPointInfo op;
  std::vector<SplitResult> splits;
  double seconds = 0;       ///< wall time of the whole evaluation
};

/// Everything known about one volume when it is done (for writing outputs such as NIfTI files
/// and panels): the stack image x, reconstruction, anomaly map, segmentation (u8) and ground
/// truth (u8), all [Z,S,S] on the view grid, with the view's NIfTI header.
struct VolumeOutputs {
  const VolumeResult& result;
  const Tensor &image, &recon, &map, &segmentation, &truth, &brain;
  const io::NiftiHeader& header;
  double threshold;  ///< the operating point the segmentation used
};
using VolumeCallback = std::function<void(const VolumeOutputs&)>;

/// Computes the operating point `opt.operating_point` for a run (see the file comment). Throws
/// uad::Error naming the split when the needed validation split is missing or unlabelled, or for
/// an unknown operating-point name (listing the valid forms).
OperatingPointInfo choose_operating_point(const LoadedRun& run, const EvalOptions& opt);

/// Records the operating point of `method` in `<run_dir>/operating_point.json` (a JSON object
/// keyed by method name, each {"method", "threshold", "detail"}; other methods' entries are
/// kept), written atomically. `uad evaluate` saves the one it used; `uad detect` reads it.
/// Throws uad::Error naming the file on a write error.
void save_operating_point(const std::string& run_dir, const std::string& method, const OperatingPointInfo& op);
/// The operating point saved for `method`, or false when there is none (no file or no entry).
/// Throws uad::Error naming the file when it exists but is not valid JSON of that form.
bool load_operating_point(const std::string& run_dir, const std::string& method, OperatingPointInfo* op);

/// Evaluates a run on the test splits. `label` is the table's Approach text ("" = the run's name,
/// plus " (method)" for a method other than residual). on_volume (optional) is called once per
/// test volume. Throws uad::Error for a missing dataset, an unknown split (listing the
/// available ones), a run whose view is not in the dataset, or any error of the steps above.
RunResult evaluate_run(const LoadedRun& run, const EvalOptions& opt, const std::string& label = "",
                       const VolumeCallback& on_volume = nullptr);

}  // namespace uad::eval
