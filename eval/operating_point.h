// Operating points: the threshold t at which a residual/score map is binarised (score > t means
// anomalous). Paper 003 §4.3 "How to determine a cut-off" lists the three in use:
// - a statistic of healthy residuals only: the 98th percentile (its ref. [15], Baur et al.),
// - the smallest threshold with at most a user-given number of false positives on healthy data
//   (You et al., its ref. [102]),
// - the best-Dice threshold on a held-out labelled validation set (the comparative study's
//   "Dice at an operating point", domain_spec §1.5).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "eval/metrics.h"

namespace uad::eval {

/// The q-th percentile of healthy residuals = numpy.percentile(healthy, q) with numpy's default
/// 'linear' method (Hyndman & Fan type 7), numpy 1.24 arithmetic for f32 data: with the values
/// sorted, i = (n − 1)·q/100, lo/hi the values at floor(i) and floor(i)+1, g = i − floor(i) and
/// d = hi − lo rounded to f32: lo + d·g when g < 0.5, else hi − d·(1 − g) (in double). Paper 003
/// (line 1306; 004) uses q = 98. Collect the values inside the brain mask with append_values.
/// O(n) (std::nth_element on the copy). Throws when healthy is empty, q is outside [0, 100] or a
/// value is NaN.
double percentile_threshold(std::vector<float> healthy, double q = 98.0);

/// The smallest threshold t such that at most max_fp of the healthy values are > t (You et al.,
/// 003 line 1306): the (max_fp + 1)-th largest value (ties included, so fewer than max_fp may
/// exceed it). When max_fp ≥ healthy.size() every threshold qualifies and −infinity is returned
/// (everything is flagged). O(n). Throws when healthy is empty, max_fp < 0 or a value is NaN.
double max_false_positive_threshold(std::vector<float> healthy, int64_t max_fp);

/// The best-Dice threshold on a labelled validation set (003 §D; the reference code's
/// determine_threshold_on_labeled_patients): labelled_val.best_dice(decimals).threshold.
/// Throws as VoxelScores::best_dice.
double best_dice_threshold(const VoxelScores& labelled_val, int decimals = 3);

/// A chosen threshold with how it was obtained, for logs and result files.
struct OperatingPoint {
  std::string method;  ///< "p98" (percentile q, printed as "p<q>"), "max_fp", "best_dice"
  double threshold = 0;
  std::string detail;  ///< e.g. "98th percentile of 1.2e6 healthy validation voxels"
};

/// The three operating points with their description (`what` names the data, e.g. "healthy
/// validation voxels"). Throw as the functions above.
OperatingPoint percentile_operating_point(std::vector<float> healthy, double q = 98.0,
                                          const std::string& what = "healthy voxels");
OperatingPoint max_fp_operating_point(std::vector<float> healthy, int64_t max_fp,
                                      const std::string& what = "healthy voxels");
OperatingPoint best_dice_operating_point(const VoxelScores& labelled_val, int decimals = 3,
                                         const std::string& what = "labelled validation voxels");

}  // namespace uad::eval
