// Voxel-level metrics (see eval/metrics.h): one f32-key radix sort, then a walk over the distinct
// scores in decreasing order — the same curve as sklearn's _binary_clf_curve — for AUROC,
// average precision and the best Dice.
#include "eval/metrics.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

namespace uad::eval {
namespace {

// ---- tensors as contiguous CPU arrays -----------------------------------------------------------

struct MaskView {  // nonzero = in; u8 contiguous tensors are used in place
  Tensor keep;
  const uint8_t* p = nullptr;
};

template <class T> void nonzero_into(const T* s, uint8_t* d, int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) d[i] = s[i] != T(0);
}

MaskView as_mask(const Tensor& t, const char* op, const char* what) {
  check(t.defined(), op, ": ", what, " is undefined");
  check(t.device() == Device::cpu, op, ": ", what, " must be on the CPU");
  MaskView v;
  if (t.dtype() == DType::u8 && t.is_contiguous()) {
    v.keep = t;
    v.p = t.data<uint8_t>();
    return v;
  }
  Tensor c = t.detach().contiguous();
  v.keep = empty(t.shape(), DType::u8);
  uint8_t* d = v.keep.data<uint8_t>();
  const int64_t n = c.numel();
  switch (c.dtype()) {
    case DType::f32: nonzero_into(c.data<float>(), d, n); break;
    case DType::f64: nonzero_into(c.data<double>(), d, n); break;
    case DType::i32: nonzero_into(c.data<int32_t>(), d, n); break;
    case DType::u8: nonzero_into(c.data<uint8_t>(), d, n); break;
  }
  v.p = d;
  return v;
}

struct F32View {
  Tensor keep;
  const float* p = nullptr;
};

F32View as_f32(const Tensor& t, const char* op, const char* what) {
  check(t.defined(), op, ": ", what, " is undefined");
  check(t.device() == Device::cpu, op, ": ", what, " must be on the CPU");
  F32View v;
  v.keep = (t.dtype() == DType::f32 && t.is_contiguous()) ? t : t.detach().to(DType::f32).contiguous();
  v.p = v.keep.data<float>();
  return v;
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op, const char* wa, const char* wb) {
  if (!b.defined()) return;
  check(a.shape() == b.shape(), op, ": ", wb, " shape ", b.shape(), " differs from ", wa, " shape ", a.shape());
}

// ---- sorted curve -----------------------------------------------------------------------------

// Monotone map of a finite float to uint32 (order preserved; -0.0 and +0.0 are one key, as
// np.diff(y_score) == 0 for them).
inline uint32_t float_key(float f) {
  if (f == 0.f) f = 0.f;
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
inline float key_float(uint32_t k) {
  uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Ascending LSD radix sort of a[0..n), tmp = n elements of scratch; 3 passes of 11/11/10 bits,
// a pass whose digit is the same for every key is skipped.
void radix_sort_u32(uint32_t* a, uint32_t* tmp, int64_t n) {
  if (n < 512) {
    std::sort(a, a + n);
    return;
  }
  constexpr int kBits = 11, kBuckets = 1 << kBits;
  std::vector<std::array<int64_t, kBuckets>> h(3);
  for (auto& x : h) x.fill(0);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t k = a[i];
    ++h[0][k & (kBuckets - 1)];
    ++h[1][(k >> kBits) & (kBuckets - 1)];
    ++h[2][k >> (2 * kBits)];
  }
  uint32_t* src = a;
  uint32_t* dst = tmp;
  for (int p = 0; p < 3; ++p) {
    const int shift = p * kBits;
    const uint32_t mask = kBuckets - 1;
    if (h[p][(src[0] >> shift) & mask] == n) continue;
    int64_t sum = 0;
    for (int b = 0; b < kBuckets; ++b) {
      const int64_t c = h[p][b];
      h[p][b] = sum;
      sum += c;
    }
    int64_t* off = h[p].data();
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t k = src[i];
      dst[off[(k >> shift) & mask]++] = k;
    }
    std::swap(src, dst);
  }
  if (src != a) std::memcpy(a, src, (size_t)n * sizeof(uint32_t));
}

// The voxels' keys sorted per class and cut into R key ranges (sample-sort): pos[0..P) and
// neg[0..N) ascending, range r holding pos[pos_off[r] .. pos_off[r+1]) and likewise for neg;
// every key of range r is below every key of range r+1, so ties never straddle ranges and the
// ranges are sorted and walked on the OpenMP threads independently.
class SortedKeys {
 public:
  SortedKeys(const float* scores, const uint8_t* labels, int64_t n, const char* op) {
    const int T = n < (1 << 17) ? 1 : std::max(1, std::min(omp_get_max_threads(), 16));
    // Splitters: the distinct values among 4T − 1 quantiles of a sample of the finite scores.
    // Range 2i holds the keys strictly between splitters i − 1 and i, range 2i + 1 the keys equal
    // to splitter i — so a heavily tied score (e.g. the 70 % exact zeros of a masked residual map)
    // gets a range of its own, which needs no sorting, instead of unbalancing a range.
    std::vector<uint32_t> split;
    if (T > 1) {
      std::vector<uint32_t> sample;
      const int Q = 4 * T;
      const int64_t S = std::min<int64_t>(n, 1024 * (int64_t)Q);
      for (int64_t j = 0; j < S; ++j) {
        const float s = scores[j * n / S];
        if (std::isfinite(s)) sample.push_back(float_key(s));
      }
      std::sort(sample.begin(), sample.end());
      for (int r = 1; r < Q && !sample.empty(); ++r) split.push_back(sample[sample.size() * r / Q]);
      split.erase(std::unique(split.begin(), split.end()), split.end());
    }
    R_ = 2 * (int)split.size() + 1;
    const int nsplit = (int)split.size();
    const uint32_t* sp = split.data();
    auto range_of = [=](uint32_t k) {
      int r = 0;
      for (int i = 0; i < nsplit; ++i) r += (k > sp[i]) * 2 + (k == sp[i]);
      return r;
    };
    // counts[t][r][c]: thread t's voxels of range r and class c (0 neg, 1 pos).
    std::vector<int64_t> cnt((size_t)T * R_ * 2, 0), bad(T, -1);
    keys_.reset(new uint32_t[(size_t)std::max<int64_t>(n, 1)]);  // uninitialised: every slot is written
    std::unique_ptr<uint32_t[]> tmp(new uint32_t[(size_t)std::max<int64_t>(n, 1)]);
    uint32_t* K = keys_.get();
    pos_off_.assign(R_ + 1, 0);
    neg_off_.assign(R_ + 1, 0);
#pragma omp parallel num_threads(T)
    {
      // The team may be smaller than T (e.g. when called inside another parallel region).
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t b = n * t / nt, e = n * (t + 1) / nt;
      int64_t* c = cnt.data() + (size_t)t * R_ * 2;
      for (int64_t i = b; i < e; ++i) {
        const float s = scores[i];
        if (!std::isfinite(s)) {
          if (bad[t] < 0) bad[t] = i;
          continue;
        }
        ++c[2 * range_of(float_key(s)) + (labels[i] != 0)];
      }
#pragma omp barrier
#pragma omp single
      {
        // Offsets: positives first (ranges ascending), then negatives; within a (range, class)
        // block, thread by thread.
        int64_t o = 0;
        for (int cls = 1; cls >= 0; --cls)
          for (int r = 0; r < R_; ++r) {
            (cls ? pos_off_ : neg_off_)[r] = o;
            for (int u = 0; u < nt; ++u) {
              int64_t& x = cnt[((size_t)u * R_ + r) * 2 + cls];
              const int64_t k = x;
              x = o;
              o += k;
            }
          }
        pos_off_[R_] = neg_off_[0];
        neg_off_[R_] = o;
      }
      bool ok = true;
      for (int u = 0; u < nt; ++u) ok = ok && bad[u] < 0;
      if (ok) {
        for (int64_t i = b; i < e; ++i) {
          const uint32_t k = float_key(scores[i]);
          K[c[2 * range_of(k) + (labels[i] != 0)]++] = k;
        }
#pragma omp barrier
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < 2 * R_; ++j) {
          const auto& off = (j & 1) ? pos_off_ : neg_off_;
          const int r = j / 2;
          radix_sort_u32(K + off[r], tmp.get() + off[r], off[r + 1] - off[r]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      if (bad[t] >= 0) fail(op, ": score ", scores[bad[t]], " at index ", bad[t], " of ", n, " is not finite");
    pos_ = pos_off_[R_] - pos_off_[0];
    neg_ = neg_off_[R_] - neg_off_[0];
  }
  int ranges() const { return R_; }
  int64_t positives() const { return pos_; }
  int64_t negatives() const { return neg_; }
  // Numbers of positive / negative voxels in ranges above r.
  int64_t pos_above(int r) const { return pos_off_[R_] - pos_off_[r + 1]; }
  int64_t neg_above(int r) const { return neg_off_[R_] - neg_off_[r + 1]; }
  bool empty(int r) const { return pos_off_[r] == pos_off_[r + 1] && neg_off_[r] == neg_off_[r + 1]; }
  // Smallest / largest key of a non-empty range.
  uint32_t min_key(int r) const {
    uint32_t m = std::numeric_limits<uint32_t>::max();
    if (pos_off_[r] < pos_off_[r + 1]) m = std::min(m, keys_[pos_off_[r]]);
    if (neg_off_[r] < neg_off_[r + 1]) m = std::min(m, keys_[neg_off_[r]]);
    return m;
  }
  uint32_t max_key(int r) const {
    uint32_t m = 0;
    if (pos_off_[r] < pos_off_[r + 1]) m = std::max(m, keys_[pos_off_[r + 1] - 1]);
    if (neg_off_[r] < neg_off_[r + 1]) m = std::max(m, keys_[neg_off_[r + 1] - 1]);
    return m;
  }

  // f(key, dpos, dneg) for each distinct score of range r, largest first.
  template <class F> void walk(int r, F&& f) const {
    const uint32_t *p0 = keys_.get() + pos_off_[r], *p = keys_.get() + pos_off_[r + 1];
    const uint32_t *q0 = keys_.get() + neg_off_[r], *q = keys_.get() + neg_off_[r + 1];
    while (p > p0 || q > q0) {
      const uint32_t key = p == p0 ? q[-1] : (q == q0 ? p[-1] : std::max(p[-1], q[-1]));
      const uint32_t* pe = p;
      while (p > p0 && p[-1] == key) --p;
      const uint32_t* qe = q;
      while (q > q0 && q[-1] == key) --q;
      f(key, (int64_t)(pe - p), (int64_t)(qe - q));
    }
  }

 private:
  int R_ = 1;
  std::unique_ptr<uint32_t[]> keys_;
  std::vector<int64_t> pos_off_, neg_off_;
  int64_t pos_ = 0, neg_ = 0;
};

// Neumaier compensated sum.
struct KahanSum {
  double s = 0, c = 0;
  void add(double x) {
    const double t = s + x;
    c += std::fabs(s) >= std::fabs(x) ? (s - t) + x : (x - t) + s;
    s = t;
  }
  void add(const KahanSum& o) {
    add(o.s);
    add(o.c);
  }
  double value() const { return s + c; }
};

// Grid of thresholds k/10^d: the smallest k with k/scale >= v.
int64_t grid_ceil(double v, double scale) {
  double k = std::ceil(v * scale);
  while ((k - 1) / scale >= v) k -= 1;
  while (k / scale < v) k += 1;
  return (int64_t)k;
}

enum Need : unsigned { kAuroc = 1, kAp = 2, kDice = 4 };

// Best-Dice candidate: the prediction with tp true positives and dice 2tp/den at threshold t.
struct DiceCand {
  int64_t tp = 0, den = 0;  // den = 0: no candidate yet
  double t = 0;
  // Replaces *this by c when c's Dice is >= (ties go to c: callers offer smaller thresholds later).
  void offer(const DiceCand& c) {
    if (den == 0 || (unsigned __int128)c.tp * den >= (unsigned __int128)tp * c.den) *this = c;
  }
};

// What one key range contributes.
struct RangePart {
  unsigned __int128 area2 = 0;
  KahanSum ap;
  DiceCand dice;
};

// AUROC, AP and best Dice (the requested ones) from one sort; the ranges are walked in parallel,
// each starting from the counts of the ranges above it. Preconditions checked here, with
// messages naming `op`.
CurveSummary curve(const float* scores, const uint8_t* labels, int64_t n, unsigned need, int decimals,
                   const char* op) {
  check(n > 0, op, ": no voxel (n = 0)");
  if (need & kDice) check(decimals >= 0 && decimals <= 9, op, ": decimals ", decimals, " not in [0, 9]");
  SortedKeys sk(scores, labels, n, op);
  const int64_t P = sk.positives(), N = sk.negatives();
  if (need & kAuroc)
    check(P > 0 && N > 0, op, ": only one class present in the labels (", P == 0 ? "no positive" : "no negative",
          " voxel among ", n, "); ROC AUC is not defined in that case");
  if (need & (kAp | kDice)) check(P > 0, op, ": no positive voxel among ", n, "; not defined in that case");
  const int R = sk.ranges();
  int lowest = 0;
  while (sk.empty(lowest)) ++lowest;  // n > 0: some range is non-empty
  int highest = R - 1;
  while (sk.empty(highest)) --highest;

  const double scale = std::pow(10.0, decimals);
  if (need & kDice) {
    const double big = std::max(std::fabs((double)key_float(sk.min_key(lowest))),
                                std::fabs((double)key_float(sk.max_key(highest))));
    check(big * scale < 4503599627370496.0, op, ": score ", big, " too large for a grid of ", decimals,
          " decimals (grid points k/10^d must stay below 2^52/10^d)");
  }
  // Before range r's first group, the prediction is the ranges above; its threshold interval
  // ends at the smallest score of the next non-empty range above (+inf for the highest).
  std::vector<double> upper(R, std::numeric_limits<double>::infinity());
  for (int r = R - 2; r >= 0; --r)
    upper[r] = sk.empty(r + 1) ? upper[r + 1] : (double)key_float(sk.min_key(r + 1));

  std::vector<RangePart> part(R);
#pragma omp parallel for schedule(dynamic, 1) if (R > 1)
  for (int r = 0; r < R; ++r) {
    RangePart& pr = part[r];
    int64_t tp = sk.pos_above(r), fp = sk.neg_above(r);
    double prev = upper[r];
    sk.walk(r, [&](uint32_t key, int64_t dp, int64_t dn) {
      if (need & kDice) {
        // Before this group: predicted = the groups above, for t in [v, prev): the smallest grid
        // point there, if any.
        const double v = key_float(key);
        const double t = (double)grid_ceil(v, scale) / scale;
        if (t < prev) pr.dice.offer({tp, tp + fp + P, t});
        prev = v;
      }
      if (need & kAuroc) pr.area2 += (unsigned __int128)dn * (unsigned __int128)(2 * tp + dp);
      tp += dp;
      fp += dn;
      if ((need & kAp) && dp > 0) pr.ap.add((double)dp / (double)P * ((double)tp / (double)(tp + fp)));
    });
    if ((need & kDice) && r == lowest)  // everything positive: the largest grid point below the minimum
      pr.dice.offer({tp, tp + fp + P, (double)(grid_ceil(prev, scale) - 1) / scale});
  }
  unsigned __int128 area2 = 0;
  KahanSum ap;
  DiceCand best;
  for (int r = R - 1; r >= 0; --r) {  // descending thresholds, as one sequential walk
    area2 += part[r].area2;
    ap.add(part[r].ap);
    if (part[r].dice.den > 0) best.offer(part[r].dice);
  }
  CurveSummary out;
  if (need & kAuroc) out.auroc = (double)((long double)area2 / (2.0L * (long double)P * (long double)N));
  if (need & kAp) out.auprc = ap.value();
  if (need & kDice) out.best = {best.t, 2.0 * (double)best.tp / (double)best.den};
  return out;
}

template <class T> double l1_kernel(const T* x, const T* r, const uint8_t* lab, const uint8_t* in, bool want,
                                    int64_t n, int64_t& count) {
  double s = 0;
  int64_t c = 0;
#pragma omp parallel for reduction(+ : s, c) schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const bool ok = (!in || in[i]) && ((lab[i] != 0) == want);
    if (ok) {
      s += std::fabs((double)x[i] - (double)r[i]);
      ++c;
    }
  }
  count = c;
  return s;
}

}  // namespace

// ---- free functions -------------------------------------------------------------------------

double auroc(const float* scores, const uint8_t* labels, int64_t n) {
  return curve(scores, labels, n, kAuroc, 0, "auroc").auroc;
}

double average_precision(const float* scores, const uint8_t* labels, int64_t n) {
  return curve(scores, labels, n, kAp, 0, "average_precision").auprc;
}

double Confusion::dice() const {
  const int64_t den = 2 * tp + fp + fn;
  return den == 0 ? 1.0 : 2.0 * (double)tp / (double)den;
}
double Confusion::precision() const {
  if (tp + fp == 0) return fn == 0 ? 1.0 : 0.0;
  return (double)tp / (double)(tp + fp);
}
double Confusion::recall() const {
  if (tp + fn == 0) return fp == 0 ? 1.0 : 0.0;
  return (double)tp / (double)(tp + fn);
}
double Confusion::fpr() const { return fp + tn == 0 ? 0.0 : (double)fp / (double)(fp + tn); }

Confusion confusion(const Tensor& pred, const Tensor& truth, const Tensor& within) {
  check(pred.defined() && truth.defined(), "confusion: pred and truth must be defined");
  check_same_shape(pred, truth, "confusion", "pred", "truth");
  check_same_shape(pred, within, "confusion", "pred", "within");
  MaskView p = as_mask(pred, "confusion", "pred"), t = as_mask(truth, "confusion", "truth");
  MaskView w;
  if (within.defined()) w = as_mask(within, "confusion", "within");
  const int64_t n = pred.numel();
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  const uint8_t *P = p.p, *G = t.p, *W = w.p;
#pragma omp parallel for reduction(+ : tp, fp, fn, tn) schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const bool in = !W || W[i];
    const bool a = P[i] != 0, b = G[i] != 0;
    tp += in & a & b;
    fp += in & a & !b;
    fn += in & !a & b;
    tn += in & !a & !b;
  }
  return {tp, fp, fn, tn};
}

// ---- VoxelScores ----------------------------------------------------------------------------

void VoxelScores::add(const float* scores, const uint8_t* labels, int64_t n) {
  check(n >= 0, "VoxelScores::add: n = ", n);
  for (int64_t i = 0; i < n; ++i)
    check(std::isfinite(scores[i]), "VoxelScores::add: score ", scores[i], " at index ", i, " is not finite");
  const size_t old = scores_.size();
  scores_.resize(old + (size_t)n);
  labels_.resize(old + (size_t)n);
  int64_t np = 0;
  for (int64_t i = 0; i < n; ++i) {
    scores_[old + i] = scores[i];
    const uint8_t l = labels[i] != 0;
    labels_[old + i] = l;
    np += l;
  }
  positives_ += np;
}

void VoxelScores::add(const Tensor& scores, const Tensor& labels, const Tensor& within) {
  check(scores.defined() && labels.defined(), "VoxelScores::add: scores and labels must be defined");
  check_same_shape(scores, labels, "VoxelScores::add", "scores", "labels");
  check_same_shape(scores, within, "VoxelScores::add", "scores", "within");
  F32View s = as_f32(scores, "VoxelScores::add", "scores");
  MaskView l = as_mask(labels, "VoxelScores::add", "labels");
  MaskView w;
  if (within.defined()) w = as_mask(within, "VoxelScores::add", "within");
  const int64_t n = scores.numel();
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (w.p && !w.p[i]) continue;
    check(std::isfinite(s.p[i]), "VoxelScores::add: score ", s.p[i], " at flat index ", i, " of shape ",
          scores.shape(), " is not finite");
    ++kept;
  }
  const size_t old = scores_.size();
  scores_.resize(old + (size_t)kept);
  labels_.resize(old + (size_t)kept);
  size_t j = old;
  int64_t np = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (w.p && !w.p[i]) continue;
    scores_[j] = s.p[i];
    const uint8_t lab = l.p[i] != 0;
    labels_[j++] = lab;
    np += lab;
  }
  positives_ += np;
}

void VoxelScores::clear() {
  scores_.clear();
  labels_.clear();
  positives_ = 0;
}

void VoxelScores::reserve(int64_t n) {
  scores_.reserve((size_t)n);
  labels_.reserve((size_t)n);
}

double VoxelScores::auroc() const {
  return curve(scores_.data(), labels_.data(), size(), kAuroc, 0, "VoxelScores::auroc").auroc;
}
double VoxelScores::auprc() const {
  return curve(scores_.data(), labels_.data(), size(), kAp, 0, "VoxelScores::auprc").auprc;
}
BestDice VoxelScores::best_dice(int decimals) const {
  return curve(scores_.data(), labels_.data(), size(), kDice, decimals, "VoxelScores::best_dice").best;
}
CurveSummary VoxelScores::summary(int decimals) const {
  return curve(scores_.data(), labels_.data(), size(), kAuroc | kAp | kDice, decimals, "VoxelScores::summary");
}

Confusion VoxelScores::at_threshold(double t) const {
  const int64_t n = size();
  const float* s = scores_.data();
  const uint8_t* l = labels_.data();
  int64_t tp = 0, fp = 0;
#pragma omp parallel for reduction(+ : tp, fp) schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const bool p = (double)s[i] > t;
    tp += p & (l[i] != 0);
    fp += p & (l[i] == 0);
  }
  return {tp, fp, positives_ - tp, n - positives_ - fp};
}

// ---- summaries of per-patient values and residuals ----------------------------------------------

MeanStd mean_std(const std::vector<double>& v) {
  MeanStd r;
  r.n = (int64_t)v.size();
  if (v.empty()) {
    r.mean = r.std = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  KahanSum s;
  for (double x : v) s.add(x);
  r.mean = s.value() / (double)v.size();
  KahanSum q;
  for (double x : v) q.add((x - r.mean) * (x - r.mean));
  r.std = std::sqrt(q.value() / (double)v.size());
  return r;
}

double l1_error(const Tensor& x, const Tensor& recon, const Tensor& label, int which, const Tensor& within) {
  check(x.defined() && recon.defined() && label.defined(), "l1_error: x, recon and label must be defined");
  check_same_shape(x, recon, "l1_error", "x", "recon");
  check_same_shape(x, label, "l1_error", "x", "label");
  check_same_shape(x, within, "l1_error", "x", "within");
  check(is_floating(x.dtype()) && is_floating(recon.dtype()), "l1_error: x (", dtype_name(x.dtype()),
        ") and recon (", dtype_name(recon.dtype()), ") must be floating");
  MaskView l = as_mask(label, "l1_error", "label");
  MaskView w;
  if (within.defined()) w = as_mask(within, "l1_error", "within");
  const int64_t n = x.numel();
  int64_t count = 0;
  double sum;
  if (x.dtype() == DType::f64 && recon.dtype() == DType::f64) {
    Tensor a = x.detach().contiguous(), b = recon.detach().contiguous();
    sum = l1_kernel(a.data<double>(), b.data<double>(), l.p, w.p, which != 0, n, count);
  } else {
    F32View a = as_f32(x, "l1_error", "x"), b = as_f32(recon, "l1_error", "recon");
    sum = l1_kernel(a.p, b.p, l.p, w.p, which != 0, n, count);
  }
  return count == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / (double)count;
}

int histogram_bin(double v, int bins, double lo, double hi) {
  // numpy.histogram's uniform-bin path: edges = linspace(lo, hi, bins + 1) (i·step + lo, last = hi),
  // index = int((v − lo)·norm) then corrected against the edges; the last bin is closed.
  v = std::min(std::max(v, lo), hi);
  const double step = (hi - lo) / bins, norm = bins / (hi - lo);
  // (volatile: the product is rounded before the addition, as numpy's linspace does; GCC would
  // otherwise fuse it into an FMA under -ffp-contract=fast and move edges by an ulp, e.g. 5·0.1 − 0.5.)
  auto edge = [&](int i) {
    if (i == bins) return hi;
    volatile double prod = (double)i * step;
    return prod + lo;
  };
  int i = (int)((v - lo) * norm);
  if (i >= bins) i = bins - 1;
  if (v < edge(i)) --i;
  if (v >= edge(i + 1) && i != bins - 1) ++i;
  return i;
}

double chi2_distance(const std::vector<float>& normal, const std::vector<float>& anomalous, int bins, double lo,
                     double hi) {
  check(!normal.empty() && !anomalous.empty(), "chi2_distance: empty histogram (", normal.size(), " normal, ",
        anomalous.size(), " anomalous values)");
  check(bins >= 1, "chi2_distance: bins = ", bins, " < 1");
  check(hi > lo && std::isfinite(lo) && std::isfinite(hi), "chi2_distance: range [", lo, ", ", hi, "] is empty");
  auto hist = [&](const std::vector<float>& v, const char* what) {
    std::vector<int64_t> h((size_t)bins, 0);
    for (size_t i = 0; i < v.size(); ++i) {
      check(!std::isnan(v[i]), "chi2_distance: ", what, " value ", i, " is NaN");
      ++h[(size_t)histogram_bin(v[i], bins, lo, hi)];
    }
    return h;
  };
  const std::vector<int64_t> hn = hist(normal, "normal"), ha = hist(anomalous, "anomalous");
  const double nn = (double)normal.size(), na = (double)anomalous.size();
  KahanSum s;
  for (int b = 0; b < bins; ++b) {
    const double p = (double)hn[b] / nn, q = (double)ha[b] / na;
    if (p + q > 0) s.add((p - q) * (p - q) / (p + q));
  }
  return 0.5 * s.value();
}

void append_values(std::vector<float>& out, const Tensor& values, const Tensor& within, const Tensor& label,
                   int which) {
  check(values.defined(), "append_values: values must be defined");
  check_same_shape(values, within, "append_values", "values", "within");
  check_same_shape(values, label, "append_values", "values", "label");
  F32View v = as_f32(values, "append_values", "values");
  MaskView w, l;
  if (within.defined()) w = as_mask(within, "append_values", "within");
  if (label.defined()) l = as_mask(label, "append_values", "label");
  const bool want = which != 0;
  const int64_t n = values.numel();
  for (int64_t i = 0; i < n; ++i)
    if ((!w.p || w.p[i]) && (!l.p || (l.p[i] != 0) == want)) out.push_back(v.p[i]);
}

}  // namespace uad::eval
