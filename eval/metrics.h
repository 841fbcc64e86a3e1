// Voxel-level evaluation metrics of unsupervised anomaly segmentation (issue 6 items 3-4):
// AUROC, AUPRC (= average precision), best Dice over a threshold grid, confusion counts,
// ℓ1 reconstruction errors and the χ² distance of residual histograms — the columns of the
// result tables of the comparative study (paper 003, §D "Metrics"; domain_spec §1.5), computed
// exactly as the reference code's scikit-learn 1.2 / numpy calls (tests/test_metrics.cpp checks
// them against tests/eval_ref/sklearn_ref.py).
//
// Conventions shared by every function here:
// - A label, prediction or mask voxel is "positive"/"in" when it is nonzero (any dtype; a soft
//   label of 0.3 counts as positive: binarise soft labels before, e.g. MOOD rounds them).
// - Scores are kept as f32 (f64 score tensors are rounded to f32, which is what the MOOD
//   evaluation does too, only coarser: it reads float16). Non-finite scores throw (sklearn's
//   assert_all_finite does the same). -0.0 and +0.0 are one score value (numpy's np.diff is 0).
// - Areas and ratios are computed in double from exact int64 counts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace uad::eval {

/// Voxel-level area under the ROC curve = sklearn.metrics.roc_auc_score(labels, scores)
/// (sklearn 1.2, default arguments). Ties are handled as sklearn does: one ROC point per distinct
/// score (all voxels of a tied score enter the curve at once), area by the trapezoidal rule from
/// (0,0) to (1,1). Computed from exact counts as Σ_g Δfp_g·(tp_g + tp_{g−1}) / (2·P·N) in int64,
/// one rounding, so it agrees with sklearn to ~1e-15 relative.
/// scores: n f32 values; labels: n values, nonzero = positive. One sort of f32 keys: from 2^17
/// voxels on, a sample sort into key ranges (a heavily tied score gets its own range) whose
/// radix sorts and curve walks run on the OpenMP threads; 8 bytes per voxel of scratch. About
/// 0.3 s of CPU for 20 M voxels (bench/bench_metrics.cpp; sklearn: ~6 s).
/// Throws uad::Error when n == 0, when only one class is present (naming which: "no positive" /
/// "no negative", as sklearn's "Only one class present in y_true") or a score is NaN/±inf.
double auroc(const float* scores, const uint8_t* labels, int64_t n);

/// Average precision = sklearn.metrics.average_precision_score(labels, scores) (sklearn 1.2):
/// AP = Σ_g (R_g − R_{g−1})·P_g over the distinct scores g in decreasing order, with
/// P_g = tp_g/(tp_g + fp_g), R_g = tp_g/P — the step-wise (not interpolated) area under the
/// precision-recall curve. This is the AUPRC of paper 003 (domain_spec §1.5) and the MOOD pixel
/// metric (domain_spec §7). Summed with compensated (Neumaier) summation.
/// Throws when n == 0, when there is no positive (sklearn only warns and returns a meaningless
/// value) or a score is not finite. No negative is fine (AP = 1).
double average_precision(const float* scores, const uint8_t* labels, int64_t n);

/// Confusion counts of a binary prediction against a binary truth.
struct Confusion {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  /// Dice = 2TP/(2TP + FP + FN). Convention: an empty prediction on an empty truth
  /// (2TP + FP + FN = 0) is 1 — perfect agreement on "no anomaly". An empty prediction on a
  /// non-empty truth is 0, a non-empty prediction on an empty truth is 0.
  double dice() const;
  /// Precision = TP/(TP + FP). Convention when nothing is predicted (TP + FP = 0): 1 if the
  /// truth is empty as well (no false alarm was possible and none was raised: perfect), else 0
  /// (lesions exist and none was found — scored as a failure, as Dice scores it).
  double precision() const;
  /// Recall (sensitivity, TPR) = TP/(TP + FN). Convention with an empty truth (TP + FN = 0): 1
  /// if nothing is predicted, else 0 — the same rule as precision, so that
  /// dice = 2PR/(P+R) holds in every case where P + R > 0.
  double recall() const;
  /// False-positive rate = FP/(FP + TN); 0 when there is no negative voxel (nothing to get wrong).
  double fpr() const;
  int64_t total() const { return tp + fp + fn + tn; }
  Confusion& operator+=(const Confusion& o) {
    tp += o.tp, fp += o.fp, fn += o.fn, tn += o.tn;
    return *this;
  }
};

/// Confusion counts of pred (nonzero = predicted anomalous) against truth (nonzero = anomalous)
/// over the voxels where `within` is nonzero (undefined Tensor = all voxels). Any shapes, any
/// dtypes, any layout, as long as the three shapes are equal (e.g. [Z,Y,X] or [N,1,H,W]).
/// Throws uad::Error naming the shapes when they differ or a tensor is undefined.
Confusion confusion(const Tensor& pred, const Tensor& truth, const Tensor& within = Tensor());

/// Best Dice over thresholds: the threshold and its Dice.
struct BestDice {
  double threshold = 0, dice = 0;
};

/// One pass over a VoxelScores: everything of a test-set table row that needs the sort.
struct CurveSummary {
  double auroc = 0, auprc = 0;
  BestDice best;
};

/// Accumulates the (score, label) pairs of the voxels of many volumes — only where `within` is
/// nonzero (e.g. the brain mask; pass nothing to keep every voxel, as the reference code's
/// flattened slices) — so that AUROC, AUPRC and the best Dice are computed over a whole test set
/// (003: voxel-level over all test volumes). Memory: 5 bytes per kept voxel (f32 score + u8
/// label); each curve computation needs 8 more bytes per voxel transiently (sort keys).
/// Not thread-safe for concurrent add(); the const queries may run concurrently.
class VoxelScores {
 public:
  /// Appends the voxels of one volume or batch. scores: any float dtype, any shape; labels and
  /// within: same shape, any dtype, nonzero = positive / kept. Throws on a shape mismatch, an
  /// undefined scores/labels tensor or a non-finite score at a kept voxel (nothing is appended
  /// then).
  void add(const Tensor& scores, const Tensor& labels, const Tensor& within = Tensor());
  /// Appends raw values (labels nonzero = positive). Same checks as add.
  void add(const float* scores, const uint8_t* labels, int64_t n);
  void clear();
  void reserve(int64_t n);

  int64_t size() const { return (int64_t)scores_.size(); }
  int64_t positives() const { return positives_; }

  /// = eval::auroc over all kept voxels. Throws as that function.
  double auroc() const;
  /// = eval::average_precision over all kept voxels. Throws as that function.
  double auprc() const;
  /// Best Dice over thresholds ("greedy search up to three decimals", 003 §D): the threshold
  /// t = k/10^decimals (k an integer) maximising the Dice of (score > t) over all kept voxels, and
  /// that Dice. Exact: one sort, then every interval between consecutive distinct scores that
  /// contains a grid point is a candidate (the prediction only changes at a distinct score), with
  /// exact counts — the global maximum over the whole grid, which the reference code's
  /// coarse-to-fine sweep (domain_spec §1.5) only approximates. The reported t is the smallest
  /// grid point giving that prediction (for "everything positive": the largest grid point below
  /// the minimum score); Dice ties go to the smallest threshold (as np.argmax over an ascending
  /// sweep). The grid is unbounded: scores outside [0,1] are fine.
  /// The Dice is 2TP/(TP + FP + P) with P ≥ 1 positives, i.e. Confusion::dice of at_threshold(t).
  /// decimals in [0, 9]. Throws on an empty set, no positive voxel, bad decimals, or a score
  /// with |score|·10^decimals ≥ 2^52 (grid points would no longer be distinct doubles).
  BestDice best_dice(int decimals = 3) const;
  /// AUROC, AUPRC and best Dice with one sort (what a results table needs). Throws when the set
  /// is empty or has only one class.
  CurveSummary summary(int decimals = 3) const;
  /// Confusion of (score > t) against the labels over all kept voxels.
  Confusion at_threshold(double t) const;

  const std::vector<float>& scores() const { return scores_; }
  const std::vector<uint8_t>& labels() const { return labels_; }

 private:
  std::vector<float> scores_;
  std::vector<uint8_t> labels_;  // 0/1
  int64_t positives_ = 0;
};

/// Mean and standard deviation of per-patient values (003: "DICE (μ ± σ)").
struct MeanStd {
  double mean = 0, std = 0;
  int64_t n = 0;
};
/// Mean and POPULATION standard deviation sqrt(Σ(v − mean)²/n) (numpy's np.std default,
/// ddof = 0; the reference code reports np.mean/np.std). Two-pass. An empty vector gives
/// {NaN, NaN, 0} (as numpy, without the warning); NaN entries propagate.
MeanStd mean_std(const std::vector<double>& v);

/// ℓ1 reconstruction error: mean |x − x̂| over the voxels where within != 0 and (label != 0) ==
/// (which != 0) — 003 table columns ℓ1-RE_N (which = 0, normal voxels) and ℓ1-RE_A (which = 1,
/// anomalous voxels). x, recon: same shape, any float dtype; label, within: same shape, any dtype.
/// Accumulated in double. Returns NaN when no voxel qualifies (e.g. ℓ1-RE_A of a healthy volume);
/// aggregate such NaNs away before mean_std. Throws on a shape mismatch or an undefined x/recon/label.
double l1_error(const Tensor& x, const Tensor& recon, const Tensor& label, int which,
                const Tensor& within = Tensor());

/// χ² distance between the histograms of residuals on normal and on anomalous voxels (003 table
/// column χ²). Paper 003 does not define it, and the reference code computes no χ² (it saves the
/// two residual histograms, domain_spec §1.5 ◐). We use the symmetric χ² histogram distance
///   χ²(p, q) = ½ Σ_i (p_i − q_i)² / (p_i + q_i)   over bins with p_i + q_i > 0
/// (Pele & Werman, "The Quadratic-Chi Histogram Distance Family", ECCV 2010, eq. 1; = OpenCV's
/// HISTCMP_CHISQR_ALT / 4, since OpenCV's ALT is 2Σ(p−q)²/(p+q)), because it is symmetric in the
/// two classes, defined for empty bins and bounded in [0, 1] for normalised histograms — the
/// table's values (0.08–0.51) lie in that range.
/// Histograms: `bins` equal bins on [lo, hi] with numpy.histogram's edges and bin assignment
/// (edges = np.linspace(lo, hi, bins + 1), the last bin closed), values outside [lo, hi] clipped
/// into the end bins; each normalised to sum 1. Throws when a vector is empty, bins < 1,
/// !(hi > lo) or a value is NaN.
double chi2_distance(const std::vector<float>& normal, const std::vector<float>& anomalous, int bins = 100,
                     double lo = 0, double hi = 1);

/// The bin of v in numpy.histogram(np.clip(v, lo, hi).astype(float64), bins, range=(lo, hi))
/// (exposed for tests and for callers that plot the histograms). v must not be NaN.
int histogram_bin(double v, int bins, double lo, double hi);

/// Appends values[i] (read as f32) to `out` for every voxel with within != 0 (undefined = all)
/// and, when `label` is defined, (label != 0) == (which != 0) — e.g. the healthy residuals of a
/// volume inside its brain mask for percentile_threshold, or the normal (which = 0) and
/// anomalous (which = 1) residuals for chi2_distance. Row-major order. Throws on a shape mismatch.
void append_values(std::vector<float>& out, const Tensor& values, const Tensor& within = Tensor(),
                   const Tensor& label = Tensor(), int which = 1);

}  // namespace uad::eval
