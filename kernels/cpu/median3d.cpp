// Exact 3-D median filter (see postprocess.h) by shared, pruned comparator networks.
//
// The size³ window at output (z,y,x) is the union of `size` yz-slabs (x' = x..x+size−1 in padded
// coordinates). For each output row (z,y):
//   1. column stage: the size values along z of every (y', x') are sorted (once per z plane and
//      row y', kept in a ring of `size` rows);
//   2. slab stage: the size sorted z-columns of rows y..y+size−1 are merged into the sorted size²
//      list of the slab at x' (level 0);
//   3. shared levels j = 1..J−1: level j at x' = merge(level j−1 at x', at x' + 2^(j−1)), the sorted
//      list of 2^j adjacent slabs, computed once per x' and read by every window containing it;
//   4. final stage per window: the top part (two level J−1 lists) and the parts of the binary
//      expansion of size are merged, and the last (smallest) part is combined by the exact
//      selection formula kth(A ∪ B) = min_i max(A[i−1], B[k−i]) (A, B sorted; A[−1] = −∞).
// Every network is built once per size from Batcher's odd-even merge (any list lengths; Knuth,
// TAOCP 3, §5.3.4) and pruned backwards from the ranks actually read (liveness), so that e.g. the
// 4-slab list of size 5 only produces its ranks 37..62. A network is a list of compare-exchanges
// (min/max only, so every output is one of the inputs and the result is bit-exact), run 8 x
// positions per AVX vector: compiled (unrolled at compile time, values in registers) for sizes 3
// and 5, interpreted on a scratch array for the other sizes. Compare-exchanges per 8 output voxels
// for size 5: column 9, slab 101, 2-slab level 119, final 209 (size 3: 3 + 18 + 46).
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <utility>

#include "kernels/cpu/postprocess.h"
#include "tensor/error.h"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace uad::cpu {

namespace {

// ---- comparator networks -------------------------------------------------------------------------

/// Builds a network on SSA values: compare-exchange consumes two values and yields (min, max).
struct Builder {
  struct CE {
    int a, b, lo, hi;
  };
  std::vector<CE> ces;
  int nv = 0;

  constexpr std::vector<int> inputs(int n) {
    std::vector<int> v(n);
    for (int i = 0; i < n; ++i) v[i] = nv++;
    return v;
  }
  constexpr std::pair<int, int> ce(int a, int b) {
    const int lo = nv++, hi = nv++;
    ces.push_back({a, b, lo, hi});
    return {lo, hi};
  }
  /// Batcher's odd-even merge of sorted lists of any lengths: merge the even-indexed and the
  /// odd-indexed elements recursively (V, W), then out = V0, ce(W0, V1), ce(W1, V2), ….
  constexpr std::vector<int> merge(const std::vector<int>& A, const std::vector<int>& B) {
    if (A.empty()) return B;
    if (B.empty()) return A;
    if (A.size() == 1 && B.size() == 1) {
      auto [lo, hi] = ce(A[0], B[0]);
      return {lo, hi};
    }
    auto pick = [](const std::vector<int>& s, size_t from) {
      std::vector<int> o;
      for (size_t i = from; i < s.size(); i += 2) o.push_back(s[i]);
      return o;
    };
    const std::vector<int> V = merge(pick(A, 0), pick(B, 0)), W = merge(pick(A, 1), pick(B, 1));
    std::vector<int> out{V[0]};
    size_t i = 0;
    for (; i < W.size() && i + 1 < V.size(); ++i) {
      auto [lo, hi] = ce(W[i], V[i + 1]);
      out.push_back(lo);
      out.push_back(hi);
    }
    out.insert(out.end(), W.begin() + (std::ptrdiff_t)i, W.end());
    out.insert(out.end(), V.begin() + (std::ptrdiff_t)(i + 1), V.end());
    return out;
  }
  /// Merges lists[lo, hi) into one sorted list (balanced).
  constexpr std::vector<int> merge_all(const std::vector<std::vector<int>>& lists, size_t lo, size_t hi) {
    if (hi - lo == 1) return lists[lo];
    const size_t mid = lo + (hi - lo) / 2;
    return merge(merge_all(lists, lo, mid), merge_all(lists, mid, hi));
  }
  /// The element of rank k (0-based) of A ∪ B (both sorted): min over i of max(A[i−1], B[k−i]).
  constexpr int select(const std::vector<int>& A, const std::vector<int>& B, int k) {
    const int a = (int)A.size(), b = (int)B.size();
    int acc = -1;
    for (int i = std::max(0, k + 1 - b); i <= std::min(a, k + 1); ++i) {
      const int ia = i - 1, ib = k - i;
      const int term = ia < 0 ? B[ib] : ib < 0 ? A[ia] : ce(A[ia], B[ib]).second;
      acc = acc < 0 ? term : ce(acc, term).first;
    }
    return acc;
  }
};

constexpr int kB = 4;        // vectors of 8 lanes per network op (independent chains for ILP)
constexpr int kLanes = 8 * kB;

/// A pruned network on slots: input wire w lives in slot w; op (lo, hi) writes min to slot lo and
/// max to slot hi (kLanes floats per slot in the interpreter's scratch).
struct Program {
  std::vector<int> load;                   // input wires that are read
  std::vector<std::pair<int, int>> ops;    // slots (lo, hi)
  std::vector<int> store;                  // slot of each output
  std::vector<char> live_in;               // per input wire
  int slots = 0;
};

constexpr Program compile(const Builder& b, int ninputs, const std::vector<int>& outputs) {
  std::vector<char> live((size_t)b.nv, 0);
  for (int o : outputs) live[(size_t)o] = 1;
  std::vector<char> keep(b.ces.size(), 0);
  for (size_t i = b.ces.size(); i-- > 0;) {
    const auto& c = b.ces[i];
    if (live[(size_t)c.lo] || live[(size_t)c.hi]) keep[i] = 1, live[(size_t)c.a] = live[(size_t)c.b] = 1;
  }
  std::vector<int> slot((size_t)b.nv, -1);
  for (int w = 0; w < ninputs; ++w) slot[(size_t)w] = w;
  Program p;
  p.slots = ninputs;
  for (size_t i = 0; i < b.ces.size(); ++i) {
    const auto& c = b.ces[i];
    slot[(size_t)c.lo] = slot[(size_t)c.a];
    slot[(size_t)c.hi] = slot[(size_t)c.b];
    if (keep[i]) p.ops.push_back({slot[(size_t)c.a], slot[(size_t)c.b]});
  }
  p.live_in.assign((size_t)ninputs, 0);
  for (int w = 0; w < ninputs; ++w)
    if (live[(size_t)w]) p.load.push_back(w), p.live_in[(size_t)w] = 1;
  for (int o : outputs) p.store.push_back(slot[(size_t)o]);
  return p;
}

// ---- vector helpers ---------------------------------------------------------------------------

#if defined(__AVX__)
inline void ce_block(float* a, float* b) {
  for (int l = 0; l < kB; ++l) {
    const __m256 x = _mm256_load_ps(a + 8 * l), y = _mm256_load_ps(b + 8 * l);
    _mm256_store_ps(a + 8 * l, _mm256_min_ps(x, y));
    _mm256_store_ps(b + 8 * l, _mm256_max_ps(x, y));
  }
}
inline void copy_block(float* d, const float* s) {
  for (int l = 0; l < kB; ++l) _mm256_storeu_ps(d + 8 * l, _mm256_loadu_ps(s + 8 * l));
}
#else
inline void ce_block(float* a, float* b) {
  for (int l = 0; l < kLanes; ++l) {
    const float x = a[l], y = b[l];
    a[l] = y < x ? y : x;
    b[l] = y < x ? x : y;
  }
}
inline void copy_block(float* d, const float* s) { std::memcpy(d, s, sizeof(float) * kLanes); }
#endif

/// Runs `p` for x in [x0, x1) (whole blocks of kLanes, so up to kLanes − 1 past x1):
/// input wire w is read at in[w] + x, output o is written at out[o] + x.
void run(const Program& p, const float* const* in, float* const* out, int64_t x0, int64_t x1, float* S) {
  for (int64_t x = x0; x < x1; x += kLanes) {
    for (int w : p.load) copy_block(S + (size_t)w * kLanes, in[w] + x);
    for (const auto& [a, b] : p.ops) ce_block(S + a * kLanes, S + b * kLanes);
    for (size_t o = 0; o < p.store.size(); ++o) copy_block(out[o] + x, S + p.store[o] * kLanes);
  }
}

// ---- the plan of one window size ------------------------------------------------------------------

struct Ref {
  int level, offset, rank;  // list `level` at x' + offset, element `rank`
};

struct Stage {
  Program prog;
  std::vector<Ref> in;       // per input wire
  std::vector<int> out_rank; // per output
};

struct Plan {
  int k = 0, r = 0, J = 0;
  std::vector<int> len;                // list length of level j: k²·2^j
  std::vector<std::vector<char>> live; // live ranks per level
  Program column;                      // k z-values → sorted column (live ranks only)
  std::vector<int> column_rank;
  Stage slab;                          // in[w]: level = −1 (column row y+offset), rank
  std::vector<Stage> shared;           // shared[j] builds level j (j ≥ 1)
  Stage fin;
  int slots = 0;
};

constexpr Stage make_stage(const Builder& b, std::vector<Ref> in, const std::vector<int>& outs,
                           std::vector<int> out_rank) {
  Stage s;
  s.prog = compile(b, (int)in.size(), outs);
  s.in = std::move(in);
  s.out_rank = std::move(out_rank);
  return s;
}

/// Marks the ranks read by stage `s` as live in their levels.
constexpr void mark_live(Plan& P, const Stage& s) {
  for (size_t w = 0; w < s.in.size(); ++w)
    if (s.prog.live_in[w] && s.in[w].level >= 0) P.live[(size_t)s.in[w].level][(size_t)s.in[w].rank] = 1;
}

constexpr std::vector<int> live_ranks(const std::vector<char>& live) {
  std::vector<int> r;
  for (size_t i = 0; i < live.size(); ++i)
    if (live[i]) r.push_back((int)i);
  return r;
}

constexpr Plan build_plan(int k) {
  Plan P;
  P.k = k;
  P.r = k / 2;
  while ((2 << P.J) <= k) ++P.J;  // 2^J ≤ k < 2^(J+1)
  for (int j = 0; j <= P.J; ++j) P.len.push_back(k * k << j);
  P.live.resize((size_t)P.J);
  for (int j = 0; j < P.J; ++j) P.live[(size_t)j].assign((size_t)P.len[(size_t)j], 0);
  const int median = k * k * k / 2;

  // Final stage: parts (level, offset) = the two halves of the top part, then the binary digits.
  {
    std::vector<std::pair<int, int>> parts{{P.J - 1, 0}, {P.J - 1, 1 << (P.J - 1)}};
    for (int j = P.J - 1, off = 1 << P.J; j >= 0; --j)
      if (k >> j & 1) parts.push_back({j, off}), off += 1 << j;
    Builder b;
    std::vector<Ref> in;
    std::vector<std::vector<int>> lists;
    for (auto [lv, off] : parts) {
      lists.push_back(b.inputs(P.len[(size_t)lv]));
      for (int q = 0; q < P.len[(size_t)lv]; ++q) in.push_back({lv, off, q});
    }
    std::vector<int> acc = b.merge(lists[0], lists[1]);
    for (size_t i = 2; i + 1 < lists.size(); ++i) acc = b.merge(acc, lists[i]);
    const int m = b.select(acc, lists.back(), median);
    P.fin = make_stage(b, std::move(in), {m}, {0});
    mark_live(P, P.fin);
  }
  // Shared levels, top down (level j reads level j−1 at offsets 0 and 2^(j−1)).
  P.shared.resize((size_t)P.J);
  for (int j = P.J - 1; j >= 1; --j) {
    Builder b;
    const int n = P.len[(size_t)j - 1];
    std::vector<Ref> in;
    for (int h = 0; h < 2; ++h)
      for (int q = 0; q < n; ++q) in.push_back({j - 1, h << (j - 1), q});
    const std::vector<int> A = b.inputs(n), B = b.inputs(n);
    const std::vector<int> all = b.merge(A, B);
    std::vector<int> outs, ranks = live_ranks(P.live[(size_t)j]);
    for (int q : ranks) outs.push_back(all[(size_t)q]);
    P.shared[(size_t)j] = make_stage(b, std::move(in), outs, ranks);
    mark_live(P, P.shared[(size_t)j]);
  }
  // Slab stage: k sorted z-columns (rows y..y+k−1 of the column ring) → level 0.
  std::vector<char> column_live((size_t)k, 0);
  {
    Builder b;
    std::vector<Ref> in;
    std::vector<std::vector<int>> cols;
    for (int i = 0; i < k; ++i) {
      cols.push_back(b.inputs(k));
      for (int q = 0; q < k; ++q) in.push_back({-1, i, q});
    }
    const std::vector<int> all = b.merge_all(cols, 0, cols.size());
    std::vector<int> outs, ranks = live_ranks(P.live[0]);
    for (int q : ranks) outs.push_back(all[(size_t)q]);
    P.slab = make_stage(b, std::move(in), outs, ranks);
    for (size_t w = 0; w < P.slab.in.size(); ++w)
      if (P.slab.prog.live_in[w]) column_live[(size_t)P.slab.in[w].rank] = 1;
  }
  // Column stage: sort k values.
  {
    Builder b;
    std::vector<std::vector<int>> single;
    for (int i = 0; i < k; ++i) single.push_back(b.inputs(1));
    const std::vector<int> all = b.merge_all(single, 0, single.size());
    P.column_rank = live_ranks(column_live);
    std::vector<int> outs;
    for (int q : P.column_rank) outs.push_back(all[(size_t)q]);
    P.column = compile(b, k, outs);
  }
  P.slots = std::max({P.column.slots, P.slab.prog.slots, P.fin.prog.slots});
  for (const Stage& s : P.shared) P.slots = std::max(P.slots, s.prog.slots);
  return P;
}

const Plan& plan_for(int k) {
  static std::mutex mu;
  static std::map<int, std::unique_ptr<Plan>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& p = cache[k];
  if (!p) p = std::make_unique<Plan>(build_plan(k));
  return *p;
}

// ---- compiled networks for the common sizes ------------------------------------------------------
// For sizes 3 and 5 the same networks are built at compile time (build_plan is constexpr) and
// unrolled by fold expressions over local vectors, so the compiler keeps values in registers
// instead of the interpreter's load/store per compare-exchange (≈ 2× faster).

// The compile-time networks need constexpr std::vector (C++20 P0784), which GCC ≥ 12 evaluates
// but clang 14 with libstdc++ 12 does not; clang builds (the fuzzing build) use the interpreter.
#if defined(__clang__)
#define UAD_MEDIAN_FIXED_NETWORKS 0
#else
#define UAD_MEDIAN_FIXED_NETWORKS 1
#endif

/// Function running one stage for x in [x0, x1) (whole blocks of 8, see run()).
using StageFn = void (*)(const float* const* in, float* const* out, int64_t x0, int64_t x1);

/// The stages of one size with a compiled runner (nullptr: use the interpreter).
struct Runners {
  StageFn column = nullptr, slab = nullptr, shared1 = nullptr, fin = nullptr;
};

#if defined(__AVX__) && UAD_MEDIAN_FIXED_NETWORKS
constexpr int kMaxLoad = 160, kMaxOps = 640, kMaxStore = 64;

struct FixedProgram {
  int nload = 0, nops = 0, nstore = 0, slots = 0;
  std::array<int16_t, kMaxLoad> load{};
  std::array<std::array<int16_t, 2>, kMaxOps> ops{};
  std::array<int16_t, kMaxStore> store{};
};

constexpr FixedProgram fix(const Program& p) {
  FixedProgram f;
  if (p.load.size() > (size_t)kMaxLoad || p.ops.size() > (size_t)kMaxOps || p.store.size() > (size_t)kMaxStore)
    throw "median3d: network too large for FixedProgram";  // a compile error in constant evaluation
  f.nload = (int)p.load.size();
  f.nops = (int)p.ops.size();
  f.nstore = (int)p.store.size();
  f.slots = p.slots;
  for (size_t i = 0; i < p.load.size(); ++i) f.load[i] = (int16_t)p.load[i];
  for (size_t i = 0; i < p.ops.size(); ++i) f.ops[i] = {(int16_t)p.ops[i].first, (int16_t)p.ops[i].second};
  for (size_t i = 0; i < p.store.size(); ++i) f.store[i] = (int16_t)p.store[i];
  return f;
}

struct FixedPlan {
  FixedProgram column, slab, shared1, fin;
};

template <int K> constexpr FixedPlan kFixed = [] {
  const Plan P = build_plan(K);
  return FixedPlan{fix(P.column), fix(P.slab.prog), P.J > 1 ? fix(P.shared[1].prog) : FixedProgram{}, fix(P.fin.prog)};
}();

template <const FixedProgram& F, size_t... L, size_t... O, size_t... S>
inline void fixed_block(const float* const* in, float* const* out, int64_t x, std::index_sequence<L...>,
                        std::index_sequence<O...>, std::index_sequence<S...>) {
  __m256 s[F.slots];
  ((s[F.load[L]] = _mm256_loadu_ps(in[F.load[L]] + x)), ...);
  ((void)[&] {
     const __m256 a = s[F.ops[O][0]], b = s[F.ops[O][1]];
     s[F.ops[O][0]] = _mm256_min_ps(a, b);
     s[F.ops[O][1]] = _mm256_max_ps(a, b);
   }(),
   ...);
  (_mm256_storeu_ps(out[S] + x, s[F.store[S]]), ...);
}

template <const FixedProgram& F> void run_fixed(const float* const* in, float* const* out, int64_t x0, int64_t x1) {
  for (int64_t x = x0; x < x1; x += 8)
    fixed_block<F>(in, out, x, std::make_index_sequence<(size_t)F.nload>{}, std::make_index_sequence<(size_t)F.nops>{},
                   std::make_index_sequence<(size_t)F.nstore>{});
}

template <int K> Runners fixed_runners() {
  Runners r;
  r.column = run_fixed<kFixed<K>.column>;
  r.slab = run_fixed<kFixed<K>.slab>;
  if constexpr (kFixed<K>.shared1.nops > 0) r.shared1 = run_fixed<kFixed<K>.shared1>;
  r.fin = run_fixed<kFixed<K>.fin>;
  return r;
}
#endif

Runners runners_for(int k) {
#if defined(__AVX__) && UAD_MEDIAN_FIXED_NETWORKS
  if (k == 3) return fixed_runners<3>();
  if (k == 5) return fixed_runners<5>();
#endif
  (void)k;
  return {};
}

/// scipy.ndimage 'reflect' (NI_EXTEND_REFLECT): d c b a | a b c d | d c b a, period 2n.
inline int64_t reflect(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t p = 2 * n;
  i %= p;
  if (i < 0) i += p;
  return i < n ? i : p - 1 - i;
}

struct AlignedBuf {
  float* p = nullptr;
  explicit AlignedBuf(size_t n) : p(static_cast<float*>(::operator new[](n * sizeof(float), std::align_val_t(64)))) {
    std::memset(p, 0, n * sizeof(float));
  }
  ~AlignedBuf() { ::operator delete[](p, std::align_val_t(64)); }
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
};

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

}  // namespace

int64_t count_nan(const float* in, int64_t n) {
  int64_t c = 0;
#pragma omp parallel for reduction(+ : c) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) c += std::isnan(in[i]) ? 1 : 0;
  return c;
}

int64_t median_filter3d(const float* in, float* out, int64_t nz, int64_t ny, int64_t nx, int size) {
  const int64_t nvox = nz * ny * nx;
  if (const int64_t nan = count_nan(in, nvox)) return nan;
  if (nvox == 0) return 0;
  if (size == 1) {
    std::memcpy(out, in, (size_t)nvox * sizeof(float));
    return 0;
  }
  const Plan& P = plan_for(size);
  const Runners R = runners_for(size);
  const int k = P.k, r = P.r;
  const int64_t xp = nx + 2 * r;                          // padded row length
  const int64_t LS = round_up(xp + kLanes + k + 8, 16);  // row stride of every buffer

  // x-padded copy (reflect), −0 → +0, and the nonzero extent [lo, hi] of every source row.
  const int64_t nrows = nz * ny;
  AlignedBuf pad((size_t)(nrows * LS));
  std::vector<int64_t> ext_lo((size_t)nrows), ext_hi((size_t)nrows);
  std::vector<int64_t> xmap((size_t)xp);
  for (int64_t p = 0; p < xp; ++p) xmap[(size_t)p] = reflect(p - r, nx);
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < nrows; ++row) {
    const float* s = in + row * nx;
    float* d = pad.p + row * LS;
    int64_t lo = nx, hi = -1;
    for (int64_t x = 0; x < nx; ++x) {
      const float v = s[x] + 0.0f;  // −0 + 0 = +0
      d[x + r] = v;
      if (v != 0.f) hi = x, lo = std::min(lo, x);
    }
    for (int64_t p = 0; p < r; ++p) d[p] = d[xmap[(size_t)p] + r];
    for (int64_t p = nx + r; p < xp; ++p) d[p] = d[xmap[(size_t)p] + r];
    ext_lo[(size_t)row] = lo;
    ext_hi[(size_t)row] = hi;
  }

  // Positions needed per level for an output range [a, b]: need[j] = [a + lo_j, b + hi_j].
  std::vector<int> need_lo((size_t)P.J, 1 << 30), need_hi((size_t)P.J, -1);
  for (const Ref& f : P.fin.in)
    need_lo[(size_t)f.level] = std::min(need_lo[(size_t)f.level], f.offset),
    need_hi[(size_t)f.level] = std::max(need_hi[(size_t)f.level], f.offset);
  for (int j = P.J - 1; j >= 1; --j) {
    need_lo[(size_t)j - 1] = std::min(need_lo[(size_t)j - 1], need_lo[(size_t)j]);
    need_hi[(size_t)j - 1] = std::max(need_hi[(size_t)j - 1], need_hi[(size_t)j] + (1 << (j - 1)));
  }

#pragma omp parallel
  {
    AlignedBuf S((size_t)P.slots * kLanes + 16);
    AlignedBuf ring((size_t)k * k * LS);  // column rows y' % k, rank q at (ring + ((y'%k)·k + q)·LS)
    std::vector<std::unique_ptr<AlignedBuf>> level;
    for (int j = 0; j < P.J; ++j) level.push_back(std::make_unique<AlignedBuf>((size_t)P.len[(size_t)j] * LS));
    AlignedBuf orow((size_t)LS);
    std::vector<const float*> inp;
    std::vector<float*> outp;

    auto run_stage = [&](const Stage& st, StageFn fn, int64_t x0, int64_t x1, int64_t y, float* const* outs) {
      inp.assign(st.in.size(), nullptr);
      for (size_t w = 0; w < st.in.size(); ++w) {
        const Ref& f = st.in[w];
        if (f.level < 0)
          inp[w] = ring.p + ((size_t)((y + f.offset) % k) * k + (size_t)f.rank) * LS;
        else
          inp[w] = level[(size_t)f.level]->p + (size_t)f.rank * LS + f.offset;
      }
      if (fn) fn(inp.data(), outs, x0, x1);
      else run(st.prog, inp.data(), outs, x0, x1, S.p);
    };

#pragma omp for schedule(dynamic, 1)
    for (int64_t z = 0; z < nz; ++z) {
      std::vector<int64_t> zs((size_t)k);
      for (int i = 0; i < k; ++i) zs[(size_t)i] = reflect(z + i - r, nz);
      // Column row y' (padded) into the ring.
      auto column_row = [&](int64_t yp) {
        const int64_t ys = reflect(yp - r, ny);
        float* base = ring.p + (size_t)(yp % k) * k * LS;
        bool any = false;
        for (int i = 0; i < k; ++i) any |= ext_hi[(size_t)(zs[(size_t)i] * ny + ys)] >= 0;
        if (!any) {
          for (int q : P.column_rank) std::memset(base + (size_t)q * LS, 0, sizeof(float) * (size_t)LS);
          return;
        }
        inp.resize((size_t)k);
        for (int i = 0; i < k; ++i) inp[(size_t)i] = pad.p + (zs[(size_t)i] * ny + ys) * LS;
        outp.clear();
        for (int q : P.column_rank) outp.push_back(base + (size_t)q * LS);
        if (R.column) R.column(inp.data(), outp.data(), 0, xp);
        else run(P.column, inp.data(), outp.data(), 0, xp, S.p);
      };
      for (int64_t yp = 0; yp < k - 1; ++yp) column_row(yp);
      for (int64_t y = 0; y < ny; ++y) {
        column_row(y + k - 1);
        float* o = out + (z * ny + y) * nx;
        // Nonzero extent of the window rows, in padded x (reflected copies land in the margins).
        int64_t lo = nx, hi = -1;
        for (int i = 0; i < k; ++i)
          for (int h = 0; h < k; ++h) {
            const size_t row = (size_t)(zs[(size_t)i] * ny + reflect(y + h - r, ny));
            lo = std::min(lo, ext_lo[row]);
            hi = std::max(hi, ext_hi[row]);
          }
        if (hi < 0) {
          std::memset(o, 0, sizeof(float) * (size_t)nx);
          continue;
        }
        const int64_t plo = lo < r ? 0 : lo + r, phi = hi > nx - 1 - r ? xp - 1 : hi + r;
        const int64_t a = std::max<int64_t>(0, plo - 2 * r), b = std::min<int64_t>(nx - 1, phi);
        // Level 0 (slab), shared levels, final.
        for (int j = 0; j < P.J; ++j) {
          const Stage& st = j == 0 ? P.slab : P.shared[(size_t)j];
          outp.clear();
          for (int q : st.out_rank) outp.push_back(level[(size_t)j]->p + (size_t)q * LS);
          const StageFn fn = j == 0 ? R.slab : j == 1 ? R.shared1 : nullptr;
          run_stage(st, fn, a + need_lo[(size_t)j], b + need_hi[(size_t)j] + 1, y, outp.data());
        }
        float* fo = orow.p;
        run_stage(P.fin, R.fin, a, b + 1, y, &fo);
        std::memset(o, 0, sizeof(float) * (size_t)nx);
        std::memcpy(o + a, orow.p + a, sizeof(float) * (size_t)(b - a + 1));
      }
    }
  }
  return 0;
}

}  // namespace uad::cpu
