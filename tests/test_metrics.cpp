// Evaluation metrics and operating points (eval/metrics.h, eval/operating_point.h): hand-computed
// cases, the edge-case conventions of Dice/precision/recall, errors, a brute-force Dice sweep over
// the 1001 thresholds of a three-decimal grid, and AUROC / average precision / percentiles / χ²
// against scikit-learn 1.2 and numpy (tests/eval_ref/sklearn_ref.py, one Python start-up).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "eval/metrics.h"
#include "eval/operating_point.h"
#include "tests/error_of.h"
#include "tests/io_ref/io_test_util.h"
#include "tests/npy.h"

using namespace uad;
using namespace uad::eval;
using namespace uad::test;

namespace {

struct Data {
  std::vector<float> s;
  std::vector<uint8_t> l;
  int64_t n() const { return (int64_t)s.size(); }
};

// Uniform scores in [0,1); a voxel is positive with probability p_pos, and positives get +shift
// (so the metrics are far from 0.5 and 1).
Data make_scores(int64_t n, uint32_t seed, double p_pos, float shift) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  Data d;
  d.s.resize(n);
  d.l.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    d.l[i] = u(g) < p_pos;
    d.s[i] = u(g) + (d.l[i] ? shift : 0.f);
  }
  return d;
}

// Scores quantised to `levels` values in [0,1] (heavy ties).
Data quantised(Data d, int levels) {
  for (float& v : d.s) v = std::floor(v * levels) / levels;
  return d;
}

// A masked residual map: most voxels exactly 0 (outside the brain or clipped residuals), the
// others small positive residuals, larger on the positives.
Data residual_like(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  Data d;
  d.s.resize(n);
  d.l.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    d.l[i] = u(g) < 0.02;
    const bool zero = u(g) < (d.l[i] ? 0.2 : 0.75);
    d.s[i] = zero ? 0.f : (d.l[i] ? 0.3f * u(g) + 0.05f : 0.1f * u(g) * u(g));
  }
  return d;
}

Tensor to_tensor(const std::vector<float>& v) { return from_vector_f32(v, {(int64_t)v.size()}); }
Tensor to_tensor(const std::vector<uint8_t>& v) {
  Tensor t = empty({(int64_t)v.size()}, DType::u8);
  std::copy(v.begin(), v.end(), t.data<uint8_t>());
  return t;
}
std::vector<float> as_float(const std::vector<uint8_t>& v) { return std::vector<float>(v.begin(), v.end()); }

// Collects sklearn_ref.py jobs, runs them with one Python start-up and hands back the results.
struct SklearnBatch {
  TempDir dir{"sklearn"};
  std::ostringstream lines;
  int files = 0, jobs = 0;
  std::vector<std::string> out;
  std::string file(const std::vector<float>& v) {
    std::string name = "a";  // (built with += : GCC 12 warns falsely on "a" + std::string, -Wrestrict)
    name += std::to_string(files++);
    name += ".npy";
    const std::string p = dir / name;
    write_npy(p, to_tensor(v));
    return p;
  }
  // Adds a job; returns its index in `out`.
  int add(const std::string& line) {
    lines << line << '\n';
    return jobs++;
  }
  int add_curve(const std::string& op, const Data& d) {
    return add(op + " " + file(d.s) + " " + file(as_float(d.l)));
  }
  void run() {
    std::ofstream(dir / "jobs.txt") << lines.str();
    const std::string cmd = std::string(kPython) + " " + UAD_SOURCE_DIR + "/tests/eval_ref/sklearn_ref.py " +
                            (dir / "jobs.txt") + " " + (dir / "out.txt");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "sklearn_ref.py failed";
    std::ifstream f(dir / "out.txt");
    std::string line;
    while (std::getline(f, line)) out.push_back(line);
    ASSERT_EQ((int)out.size(), jobs);
  }
  double value(int i) const { return std::stod(out.at(i)); }
};

bool have_sklearn() { return python_has("sklearn.metrics, numpy"); }

void expect_rel(double got, double want, double rel, const std::string& what) {
  EXPECT_NEAR(got, want, rel * std::fabs(want)) << what;
}

}  // namespace

// ---- hand-computed cases ----------------------------------------------------------------------

TEST(Metrics, HandCases) {
  // The example of sklearn's documentation: AUC 0.75, AP 0.8333…
  const float s[4] = {0.1f, 0.4f, 0.35f, 0.8f};
  const uint8_t l[4] = {0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(auroc(s, l, 4), 0.75);
  EXPECT_DOUBLE_EQ(average_precision(s, l, 4), (1.0 + 2.0 / 3.0) / 2.0);
  // One tied score for a positive and a negative: a single ROC step from (0,0) to (1,1).
  const float t[2] = {0.5f, 0.5f};
  const uint8_t m[2] = {1, 0};
  EXPECT_DOUBLE_EQ(auroc(t, m, 2), 0.5);
  EXPECT_DOUBLE_EQ(average_precision(t, m, 2), 0.5);
  // Ties across classes: scores 3(+) 2(+,−) 1(−): ROC points (0,.5) (.5,1) (1,1) → area 0.875;
  // AP = ½·1 + ½·(2/3).
  const float u[4] = {3, 2, 2, 1};
  const uint8_t k[4] = {1, 1, 0, 0};
  EXPECT_DOUBLE_EQ(auroc(u, k, 4), 0.875);
  EXPECT_DOUBLE_EQ(average_precision(u, k, 4), 0.5 + 0.5 * 2.0 / 3.0);
  // Nonzero labels other than 1, and -0.0 tied with +0.0.
  const float z[3] = {-0.0f, 0.0f, 1.f};
  const uint8_t y[3] = {7, 0, 0};
  EXPECT_DOUBLE_EQ(auroc(z, y, 3), 0.25);
  // All positive: AP 1 (no negative is fine for AP).
  const uint8_t all[4] = {1, 1, 1, 1};
  EXPECT_DOUBLE_EQ(average_precision(u, all, 4), 1.0);
}

TEST(Metrics, ConfusionConventions) {
  auto C = [](std::vector<double> p, std::vector<double> g) {
    return confusion(from_vector(p, {(int64_t)p.size()}), from_vector(g, {(int64_t)g.size()}));
  };
  // Both empty: perfect agreement.
  Confusion both = C({0, 0, 0}, {0, 0, 0});
  EXPECT_EQ(both.tn, 3);
  EXPECT_EQ(both.dice(), 1.0);
  EXPECT_EQ(both.precision(), 1.0);
  EXPECT_EQ(both.recall(), 1.0);
  EXPECT_EQ(both.fpr(), 0.0);
  // Empty prediction, lesion present.
  Confusion miss = C({0, 0, 0}, {0, 1, 1});
  EXPECT_EQ(miss.fn, 2);
  EXPECT_EQ(miss.dice(), 0.0);
  EXPECT_EQ(miss.precision(), 0.0);
  EXPECT_EQ(miss.recall(), 0.0);
  // False alarm on an empty truth.
  Confusion alarm = C({1, 0, 0}, {0, 0, 0});
  EXPECT_EQ(alarm.fp, 1);
  EXPECT_EQ(alarm.dice(), 0.0);
  EXPECT_EQ(alarm.precision(), 0.0);
  EXPECT_EQ(alarm.recall(), 0.0);
  EXPECT_DOUBLE_EQ(alarm.fpr(), 1.0 / 3.0);
  // Ordinary case: tp 2, fp 1, fn 1, tn 2 → dice 4/6, precision 2/3, recall 2/3, fpr 1/3.
  Confusion c = C({1, 1, 1, 0, 0, 0}, {1, 1, 0, 1, 0, 0});
  EXPECT_EQ(c.tp, 2);
  EXPECT_EQ(c.fp, 1);
  EXPECT_EQ(c.fn, 1);
  EXPECT_EQ(c.tn, 2);
  EXPECT_DOUBLE_EQ(c.dice(), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(c.precision(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.recall(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.fpr(), 1.0 / 3.0);
  // No negative voxel: fpr 0.
  EXPECT_EQ(C({1}, {1}).fpr(), 0.0);
  // Mixed dtypes, a non-contiguous view and a `within` mask restricting to 3 voxels.
  Tensor pred = from_vector({1, 0, 1, 1, 0, 0, 1, 1}, {2, 4}).transpose(0, 1);  // [4,2] view
  Tensor truth = from_vector({1, 1, 0, 0, 1, 0, 0, 1}, {4, 2}, DType::u8);
  Tensor within = from_vector({1, 0, 0, 0, 1, 1, 0, 0}, {4, 2}, DType::i32);
  // pred row-major of the view: [1,0, 0,1, 1,1, 1,0]; within keeps flat 0, 4, 5.
  Confusion w = confusion(pred, truth, within);
  EXPECT_EQ(w.tp, 2);  // flat 0 (1,1), flat 4 (1,1)
  EXPECT_EQ(w.fp, 1);  // flat 5 (1,0)
  EXPECT_EQ(w.fn + w.tn, 0);
}

TEST(Metrics, MeanStdAndL1) {
  MeanStd m = mean_std({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m.mean, 2.5);
  EXPECT_DOUBLE_EQ(m.std, std::sqrt(1.25));  // population std (ddof = 0)
  EXPECT_EQ(m.n, 4);
  MeanStd e = mean_std({});
  EXPECT_TRUE(std::isnan(e.mean) && std::isnan(e.std));
  EXPECT_EQ(e.n, 0);

  Tensor x = from_vector({1, 2, 3, 4}, {2, 2});
  Tensor r = from_vector({1.5, 2, 2, 5}, {2, 2});
  Tensor lab = from_vector({0, 0, 1, 1}, {2, 2}, DType::u8);
  Tensor in = from_vector({1, 0, 1, 1}, {2, 2});
  EXPECT_DOUBLE_EQ(l1_error(x, r, lab, 0, in), 0.5);                // voxel 0 only
  EXPECT_DOUBLE_EQ(l1_error(x, r, lab, 1, in), 1.0);                // voxels 2, 3
  EXPECT_DOUBLE_EQ(l1_error(x, r, lab, 0), 0.25);                   // voxels 0, 1
  EXPECT_DOUBLE_EQ(l1_error(x.to(DType::f64), r.to(DType::f64), lab, 1), 1.0);
  EXPECT_TRUE(std::isnan(l1_error(x, r, zeros({2, 2}), 1)));        // no anomalous voxel
}

TEST(Metrics, Chi2HandCase) {
  // 2 bins on [0,1]: normal → p = (3/4, 1/4), anomalous → q = (0, 1); -5 is clipped into bin 0
  // and 1.0 (the right edge) belongs to the last bin.
  // χ² = ½ (0.75²/0.75 + 0.75²/1.25) = ½ (0.75 + 0.45) = 0.6.
  EXPECT_NEAR(chi2_distance({-5.f, 0.2f, 0.3f, 0.7f}, {0.9f, 1.0f}, 2, 0, 1), 0.6, 1e-15);
  EXPECT_EQ(chi2_distance({0.1f, 0.6f}, {0.6f, 0.1f}, 10), 0.0);
  EXPECT_NEAR(chi2_distance({0.1f}, {0.9f}, 10), 1.0, 1e-15);  // disjoint: the maximum
  EXPECT_EQ(histogram_bin(0.5, 2, 0, 1), 1);
  EXPECT_EQ(histogram_bin(0.4999, 2, 0, 1), 0);
  EXPECT_EQ(histogram_bin(7, 2, 0, 1), 1);

  std::vector<float> got;
  Tensor v = from_vector({0.1, 0.2, 0.3, 0.4}, {4});
  append_values(got, v, from_vector({1, 1, 0, 1}, {4}), from_vector({0, 1, 0, 1}, {4}), 1);
  EXPECT_EQ(got, (std::vector<float>{0.2f, 0.4f}));
  append_values(got, v, Tensor(), from_vector({0, 1, 0, 1}, {4}), 0);
  EXPECT_EQ(got, (std::vector<float>{0.2f, 0.4f, 0.1f, 0.3f}));
}

TEST(OperatingPoint, HandCases) {
  EXPECT_DOUBLE_EQ(percentile_threshold({4, 1, 3, 2}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile_threshold({4, 1, 3, 2}, 100), 4.0);
  EXPECT_DOUBLE_EQ(percentile_threshold({4, 1, 3, 2}, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_threshold({7}, 98), 7.0);
  // 101 values 0..100: the 98th percentile is 98.
  std::vector<float> h(101);
  for (int i = 0; i <= 100; ++i) h[i] = (float)(100 - i);
  EXPECT_DOUBLE_EQ(percentile_threshold(h, 98), 98.0);

  const std::vector<float> v = {5, 4, 4, 3, 1};
  EXPECT_EQ(max_false_positive_threshold(v, 0), 5.0);
  EXPECT_EQ(max_false_positive_threshold(v, 1), 4.0);
  EXPECT_EQ(max_false_positive_threshold(v, 2), 4.0);  // tie: only 1 value exceeds 4
  EXPECT_EQ(max_false_positive_threshold(v, 3), 3.0);
  EXPECT_EQ(max_false_positive_threshold(v, 4), 1.0);
  EXPECT_EQ(max_false_positive_threshold(v, 5), -std::numeric_limits<double>::infinity());
  // Property on random data: at most max_fp above t, more than max_fp above any smaller value.
  Data d = quantised(make_scores(5000, 3, 0.0, 0.f), 50);
  for (int64_t k : {0, 7, 100, 2500, 4999}) {
    const double t = max_false_positive_threshold(d.s, k);
    int64_t above = 0, above_lower = 0;
    for (float s : d.s) above += s > t, above_lower += s >= t;
    EXPECT_LE(above, k);
    EXPECT_GT(above_lower, k);  // every t' < t has at least the values >= t above it
  }

  OperatingPoint op = percentile_operating_point(h, 98, "healthy validation voxels");
  EXPECT_EQ(op.method, "p98");
  EXPECT_DOUBLE_EQ(op.threshold, 98.0);
  EXPECT_EQ(op.detail, "98th percentile of 101 healthy validation voxels");
  EXPECT_EQ(max_fp_operating_point(v, 1).threshold, 4.0);
}

TEST(Metrics, Errors) {
  const float s[3] = {0.1f, 0.2f, 0.3f};
  const uint8_t none[3] = {0, 0, 0}, all[3] = {1, 1, 1};
  EXPECT_NE(error_of([&] { auroc(s, none, 3); }).find("no positive"), std::string::npos);
  EXPECT_NE(error_of([&] { auroc(s, all, 3); }).find("no negative"), std::string::npos);
  EXPECT_NE(error_of([&] { auroc(s, all, 0); }).find("n = 0"), std::string::npos);
  EXPECT_NE(error_of([&] { average_precision(s, none, 3); }).find("no positive"), std::string::npos);
  EXPECT_NE(error_of([&] { average_precision(s, none, 0); }).find("n = 0"), std::string::npos);
  const float bad[3] = {0.1f, std::nanf(""), 0.3f};
  const uint8_t mixed[3] = {0, 1, 0};
  EXPECT_NE(error_of([&] { auroc(bad, mixed, 3); }).find("not finite"), std::string::npos);

  const std::string shape = error_of([] { confusion(zeros({2, 3}), zeros({3, 2})); });
  EXPECT_NE(shape.find("[3,2]"), std::string::npos) << shape;
  EXPECT_NE(shape.find("[2,3]"), std::string::npos) << shape;
  EXPECT_NE(error_of([] { confusion(zeros({2}), zeros({2}), zeros({3})); }).find("within"), std::string::npos);
  EXPECT_NE(error_of([] { l1_error(zeros({2}), zeros({3}), zeros({2}), 0); }).find("recon"), std::string::npos);

  VoxelScores vs;
  EXPECT_NE(error_of([&] { vs.add(zeros({4}), zeros({5})); }).find("labels"), std::string::npos);
  EXPECT_NE(error_of([&] { vs.auroc(); }).find("n = 0"), std::string::npos);
  EXPECT_NE(error_of([&] { vs.add(from_vector({0, INFINITY}, {2}), zeros({2})); }).find("not finite"),
            std::string::npos);
  EXPECT_EQ(vs.size(), 0);  // nothing appended by the failed add
  // A non-finite score outside `within` is not kept, so it is fine.
  vs.add(from_vector({0.5, NAN}, {2}), from_vector({1, 0}, {2}), from_vector({1, 0}, {2}));
  EXPECT_EQ(vs.size(), 1);
  EXPECT_NE(error_of([&] { vs.auroc(); }).find("no negative"), std::string::npos);
  EXPECT_NE(error_of([&] { vs.best_dice(10); }).find("decimals"), std::string::npos);
  VoxelScores neg;
  neg.add(from_vector({0.5, 0.2}, {2}), zeros({2}));
  EXPECT_NE(error_of([&] { neg.best_dice(); }).find("no positive"), std::string::npos);

  EXPECT_NE(error_of([] { percentile_threshold({}, 98); }).find("no value"), std::string::npos);
  EXPECT_NE(error_of([] { percentile_threshold({1}, 101); }).find("q = 101"), std::string::npos);
  EXPECT_NE(error_of([] { max_false_positive_threshold({1}, -1); }).find("max_fp"), std::string::npos);
  EXPECT_NE(error_of([] { chi2_distance({}, {1}); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([] { chi2_distance({1}, {1}, 0); }).find("bins"), std::string::npos);
}

// ---- best Dice against a brute-force sweep ----------------------------------------------------

namespace {
// Dice of (score > k/1000) for every k in [k0, k1], argmax (first = smallest threshold).
BestDice brute_best_dice(const Data& d, int k0, int k1) {
  BestDice best{0, -1};
  int64_t P = 0;
  for (uint8_t l : d.l) P += l;
  for (int k = k0; k <= k1; ++k) {
    const double t = k / 1000.0;
    int64_t tp = 0, fp = 0;
    for (int64_t i = 0; i < d.n(); ++i) {
      const bool p = (double)d.s[i] > t;
      tp += p && d.l[i];
      fp += p && !d.l[i];
    }
    const double dice = 2.0 * tp / (double)(tp + fp + P);
    if (dice > best.dice) best = {t, dice};
  }
  return best;
}
}  // namespace

TEST(Metrics, BestDiceMatchesBruteForce) {
  // Continuous scores; scores on the grid itself (k/1000 as f32 lies just above or below the
  // double k/1000, so `>` at the grid points is exercised); a residual-like map with many zeros;
  // scores outside [0,1].
  std::vector<Data> cases = {make_scores(20000, 11, 0.1, 0.3f), quantised(make_scores(20000, 12, 0.1, 0.2f), 1000),
                             quantised(make_scores(20000, 13, 0.05, 0.4f), 7), residual_like(50000, 14)};
  Data wide = make_scores(20000, 15, 0.1, 0.3f);
  for (float& v : wide.s) v = 3.f * v - 1.f;
  for (size_t c = 0; c < cases.size() + 1; ++c) {
    const Data& d = c < cases.size() ? cases[c] : wide;
    VoxelScores vs;
    vs.add(d.s.data(), d.l.data(), d.n());
    const BestDice got = vs.best_dice(3);
    // Scores in [0,1): the 1001 thresholds 0.000 … 1.000; otherwise a grid covering the range.
    const bool in01 = *std::min_element(d.s.begin(), d.s.end()) >= 0 && *std::max_element(d.s.begin(), d.s.end()) < 1;
    const BestDice want = in01 ? brute_best_dice(d, 0, 1000) : brute_best_dice(d, -1001, 2001);
    EXPECT_EQ(got.dice, want.dice) << "case " << c;
    EXPECT_EQ(got.threshold, want.threshold) << "case " << c;
    EXPECT_EQ(vs.at_threshold(got.threshold).dice(), got.dice) << "case " << c;
    // One decimal: the best over 0.0, 0.1, …, 1.0 is never better than over the finer grid.
    const BestDice coarse = vs.best_dice(1);
    EXPECT_LE(coarse.dice, got.dice);
    EXPECT_EQ(vs.at_threshold(coarse.threshold).dice(), coarse.dice);
    EXPECT_EQ(best_dice_threshold(vs), got.threshold);
  }
  // Everything positive is best (all voxels positive, all scores 0): the largest grid point below 0.
  VoxelScores all;
  const float s[3] = {0.0f, 0.0f, 0.0f};
  const uint8_t l[3] = {1, 1, 1};
  all.add(s, l, 3);
  EXPECT_EQ(all.best_dice(3).dice, 1.0);
  EXPECT_EQ(all.best_dice(3).threshold, -0.001);
}

// Large sets are sorted and walked in key ranges on the OpenMP threads (n >= 2^17): the same best
// Dice as a brute-force sweep (counts by binary search in the sorted classes) and the same
// AUROC/AP as a single-range computation of the same curve on the subsets' concatenation.
TEST(Metrics, BestDiceKeyRanges) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(4);  // 16 key ranges even on a 1-core machine
  for (const Data& d : {residual_like(400000, 31), quantised(make_scores(300000, 32, 0.1, 0.2f), 1000),
                        quantised(make_scores(300000, 33, 0.3, 0.1f), 3)}) {
    std::vector<float> pos, neg;
    for (int64_t i = 0; i < d.n(); ++i) (d.l[i] ? pos : neg).push_back(d.s[i]);
    std::sort(pos.begin(), pos.end());
    std::sort(neg.begin(), neg.end());
    const int64_t P = (int64_t)pos.size();
    BestDice want{0, -1};
    for (int k = -1; k <= 2001; ++k) {
      const double t = k / 1000.0;
      auto above = [&](const std::vector<float>& v) {
        return (int64_t)(v.end() - std::upper_bound(v.begin(), v.end(), t, [](double a, float b) { return a < (double)b; }));
      };
      const int64_t tp = above(pos), fp = above(neg);
      const double dice = 2.0 * tp / (double)(tp + fp + P);
      if (dice > want.dice) want = {t, dice};
    }
    VoxelScores vs;
    vs.add(d.s.data(), d.l.data(), d.n());
    const CurveSummary got = vs.summary(3);
    EXPECT_EQ(got.best.dice, want.dice);
    EXPECT_EQ(got.best.threshold, want.threshold);
    // AUROC by the Mann-Whitney count over the sorted classes.
    long double u = 0;
    for (float p : pos) {
      const auto lo = std::lower_bound(neg.begin(), neg.end(), p), hi = std::upper_bound(neg.begin(), neg.end(), p);
      u += (long double)(lo - neg.begin()) + 0.5L * (long double)(hi - lo);
    }
    EXPECT_NEAR(got.auroc, (double)(u / ((long double)P * (long double)neg.size())), 1e-14);
    // Called from inside a parallel region (the nested team has one thread): same curve.
    CurveSummary nested;
#pragma omp parallel num_threads(2)
    {
#pragma omp single
      nested = vs.summary(3);
    }
    EXPECT_EQ(nested.auroc, got.auroc);
    EXPECT_EQ(nested.best.threshold, got.best.threshold);
    EXPECT_NEAR(nested.auprc, got.auprc, 1e-15);
  }
  omp_set_num_threads(saved);
}

TEST(Metrics, VoxelScoresFromVolumes) {
  // Two "volumes" with brain masks: the same as the raw functions on the kept voxels.
  Data a = residual_like(4096, 21), b = residual_like(3000, 22);
  std::vector<float> ma(a.n()), mb(b.n());
  std::mt19937 g(5);
  for (auto& v : ma) v = (g() % 4) != 0;
  for (auto& v : mb) v = (g() % 3) != 0;
  VoxelScores vs;
  vs.add(to_tensor(a.s).reshape({16, 16, 16}), to_tensor(as_float(a.l)).reshape({16, 16, 16}),
         to_tensor(ma).reshape({16, 16, 16}));
  vs.add(to_tensor(b.s), to_tensor(b.l), to_tensor(mb));
  Data kept;
  for (int64_t i = 0; i < a.n(); ++i)
    if (ma[i]) kept.s.push_back(a.s[i]), kept.l.push_back(a.l[i]);
  for (int64_t i = 0; i < b.n(); ++i)
    if (mb[i]) kept.s.push_back(b.s[i]), kept.l.push_back(b.l[i]);
  ASSERT_EQ(vs.size(), kept.n());
  int64_t P = 0;
  for (auto l : kept.l) P += l;
  EXPECT_EQ(vs.positives(), P);
  EXPECT_EQ(vs.scores(), kept.s);
  EXPECT_EQ(vs.auroc(), auroc(kept.s.data(), kept.l.data(), kept.n()));
  EXPECT_EQ(vs.auprc(), average_precision(kept.s.data(), kept.l.data(), kept.n()));
  CurveSummary sum = vs.summary();
  EXPECT_EQ(sum.auroc, vs.auroc());
  EXPECT_EQ(sum.auprc, vs.auprc());
  EXPECT_EQ(sum.best.dice, vs.best_dice().dice);
  EXPECT_EQ(sum.best.threshold, vs.best_dice().threshold);
  Confusion c = vs.at_threshold(0.05);
  EXPECT_EQ(c.total(), vs.size());
  EXPECT_EQ(c.tp + c.fn, P);
  OperatingPoint op = best_dice_operating_point(vs);
  EXPECT_EQ(op.method, "best_dice");
  EXPECT_EQ(op.threshold, sum.best.threshold);
}

// ---- scikit-learn / numpy ---------------------------------------------------------------------

TEST(MetricsSklearn, AurocApPercentileChi2) {
  if (!have_sklearn()) GTEST_SKIP() << kPython << " cannot import sklearn (apt-get install python3-sklearn)";
  std::vector<std::pair<std::string, Data>> cases = {
      {"random", make_scores(100000, 1, 0.1, 0.25f)},
      {"random_multichunk", make_scores(300000, 2, 0.03, 0.5f)},  // > 2^17: one run per thread
      {"quantised10", quantised(make_scores(100000, 3, 0.1, 0.3f), 10)},
      {"quantised1000", quantised(make_scores(100000, 4, 0.2, 0.1f), 1000)},
      {"residual_zeros", residual_like(200000, 5)},
      {"balanced_weak", make_scores(5000, 6, 0.5, 0.02f)},
      {"tiny3", Data{{0.3f, 0.3f, 0.1f}, {1, 0, 1}}},
      {"tiny2", Data{{1.f, 0.f}, {0, 1}}},
      {"tiny_ties", Data{{0.f, 0.f, 0.f, 1.f, 1.f}, {0, 1, 0, 1, 0}}},
      {"negative_and_signed_zero", Data{{-1.f, -0.f, 0.f, 2.5f, -3.f, 0.f}, {1, 0, 1, 1, 0, 0}}},
  };
  SklearnBatch py;
  std::vector<std::pair<int, int>> ids;
  for (auto& [name, d] : cases) ids.push_back({py.add_curve("auc", d), py.add_curve("ap", d)});
  const Data allpos{{0.2f, 0.1f, 0.2f}, {1, 1, 1}};
  const int ap_allpos = py.add_curve("ap", allpos);

  std::vector<std::pair<std::vector<float>, double>> pct;
  Data h = residual_like(10007, 7);
  for (double q : {98.0, 50.0, 0.0, 100.0, 33.3, 99.9, 1.7}) pct.push_back({h.s, q});
  pct.push_back({quantised(make_scores(1001, 8, 0, 0), 10).s, 98.0});
  pct.push_back({make_scores(997, 9, 0, 0).s, 98.0});
  pct.push_back({{3.f, 1.f}, 98.0});
  std::vector<int> pct_ids;
  for (auto& [v, q] : pct) pct_ids.push_back(py.add("pct " + py.file(v) + " " + std::to_string(q)));

  // χ²: normal vs anomalous residuals, including values exactly on bin edges and outside.
  Data r = residual_like(50000, 10);
  std::vector<float> normal, anom;
  for (int64_t i = 0; i < r.n(); ++i) (r.l[i] ? anom : normal).push_back(r.s[i]);
  for (int k = -3; k <= 103; ++k) normal.push_back(k / 100.f), anom.push_back((k % 10) / 10.f);
  struct Chi { int bins; double lo, hi; };
  std::vector<Chi> chis = {{100, 0, 1}, {37, 0.01, 0.075}, {10, -0.5, 0.5}};
  std::vector<int> chi_ids;
  const std::string fn = py.file(normal), fa = py.file(anom);
  for (auto& c : chis) {
    std::ostringstream o;
    o.precision(17);
    o << "chi2 " << fn << ' ' << fa << ' ' << c.bins << ' ' << c.lo << ' ' << c.hi;
    chi_ids.push_back(py.add(o.str()));
  }
  py.run();

  for (size_t c = 0; c < cases.size(); ++c) {
    const Data& d = cases[c].second;
    expect_rel(auroc(d.s.data(), d.l.data(), d.n()), py.value(ids[c].first), 1e-12, "auroc " + cases[c].first);
    expect_rel(average_precision(d.s.data(), d.l.data(), d.n()), py.value(ids[c].second), 1e-12,
               "ap " + cases[c].first);
  }
  EXPECT_EQ(average_precision(allpos.s.data(), allpos.l.data(), 3), py.value(ap_allpos));
  for (size_t i = 0; i < pct.size(); ++i)
    EXPECT_EQ(percentile_threshold(pct[i].first, pct[i].second), py.value(pct_ids[i]))
        << "percentile " << i << " q " << pct[i].second;
  for (size_t i = 0; i < chis.size(); ++i)
    expect_rel(chi2_distance(normal, anom, chis[i].bins, chis[i].lo, chis[i].hi), py.value(chi_ids[i]), 1e-12,
               "chi2 " + std::to_string(i));
}
