// Operating points (see eval/operating_point.h).
#include "eval/operating_point.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace uad::eval {
namespace {

void check_no_nan(const std::vector<float>& v, const char* op) {
  for (size_t i = 0; i < v.size(); ++i) check(!std::isnan(v[i]), op, ": value ", i, " of ", v.size(), " is NaN");
}

std::string count_str(size_t n) {
  std::ostringstream o;
  if (n >= 100000) o.precision(2), o << std::scientific << (double)n;
  else o << n;
  return o.str();
}

std::string num_str(double v) {
  std::ostringstream o;
  o.precision(6);
  o << v;
  return o.str();
}

}  // namespace

double percentile_threshold(std::vector<float> healthy, double q) {
  check(!healthy.empty(), "percentile_threshold: no value");
  check(q >= 0 && q <= 100, "percentile_threshold: q = ", q, " not in [0, 100]");
  check_no_nan(healthy, "percentile_threshold");
  const int64_t n = (int64_t)healthy.size();
  // numpy 1.24 _quantile, method 'linear': virtual index (n − 1)·(q/100).
  const double vi = (double)(n - 1) * (q / 100.0);
  int64_t i0 = (int64_t)std::floor(vi), i1 = i0 + 1;
  if (vi >= (double)(n - 1)) i0 = i1 = n - 1;
  const double g = vi - std::floor(vi);
  std::nth_element(healthy.begin(), healthy.begin() + i0, healthy.end());
  const float lo = healthy[(size_t)i0];
  float hi = lo;
  if (i1 != i0) hi = *std::min_element(healthy.begin() + i0 + 1, healthy.end());
  const float d = hi - lo;  // np.subtract of two f32 values: f32
  // numpy's _lerp; volatile keeps the product rounded before the addition (no FMA contraction).
  volatile double prod = g >= 0.5 ? (double)d * (1.0 - g) : (double)d * g;
  return g >= 0.5 ? (double)hi - prod : (double)lo + prod;
}

double max_false_positive_threshold(std::vector<float> healthy, int64_t max_fp) {
  check(!healthy.empty(), "max_false_positive_threshold: no value");
  check(max_fp >= 0, "max_false_positive_threshold: max_fp = ", max_fp, " < 0");
  check_no_nan(healthy, "max_false_positive_threshold");
  if (max_fp >= (int64_t)healthy.size()) return -std::numeric_limits<double>::infinity();
  // count(v > t) <= max_fp  ⟺  t >= the (max_fp + 1)-th largest value.
  auto kth = healthy.begin() + max_fp;
  std::nth_element(healthy.begin(), kth, healthy.end(), std::greater<float>());
  return (double)*kth;
}

double best_dice_threshold(const VoxelScores& labelled_val, int decimals) {
  return labelled_val.best_dice(decimals).threshold;
}

OperatingPoint percentile_operating_point(std::vector<float> healthy, double q, const std::string& what) {
  const size_t n = healthy.size();
  OperatingPoint op;
  std::ostringstream m;
  m << 'p' << q;
  op.method = m.str();
  op.threshold = percentile_threshold(std::move(healthy), q);
  op.detail = num_str(q) + "th percentile of " + count_str(n) + " " + what;
  return op;
}

OperatingPoint max_fp_operating_point(std::vector<float> healthy, int64_t max_fp, const std::string& what) {
  const size_t n = healthy.size();
  OperatingPoint op;
  op.method = "max_fp";
  op.threshold = max_false_positive_threshold(std::move(healthy), max_fp);
  op.detail = "at most " + std::to_string(max_fp) + " of " + count_str(n) + " " + what + " above the threshold";
  return op;
}

OperatingPoint best_dice_operating_point(const VoxelScores& labelled_val, int decimals, const std::string& what) {
  const BestDice b = labelled_val.best_dice(decimals);
  OperatingPoint op;
  op.method = "best_dice";
  op.threshold = b.threshold;
  op.detail = "best Dice " + num_str(b.dice) + " on a " + std::to_string(decimals) + "-decimal grid over " +
              count_str((size_t)labelled_val.size()) + " " + what + " (" +
              std::to_string(labelled_val.positives()) + " anomalous)";
  return op;
}

}  // namespace uad::eval
