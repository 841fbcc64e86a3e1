// 3-D connected-component labelling by runs (see postprocess.h).
//
// 1. Every row (z,y) is cut into runs [x0, x1) of nonzero bytes (64-voxel bit masks: run starts
//    are m & ~(m << 1), ends ~m & (m << 1), read off with count-trailing-zeros).
// 2. Union-find over runs: each run, in raster order, looks at the runs it touches in the earlier
//    neighbour rows (z, y−1), (z−1, y) and, for 18/26, (z−1, y±1) — "touch" is x overlap widened
//    by one voxel where the connectivity has the diagonal (dx = ±1) neighbours — takes the
//    smallest of their roots and links the other roots under it (a run touching none is a new
//    root). Roots are only ever linked under smaller roots, so every root is its component's first
//    run in raster order. The z range is split among the OpenMP threads (disjoint runs, no locks);
//    the seams between the chunks are joined serially afterwards.
// 3. A raster pass over the runs numbers the roots 1, 2, … in order — the raster order of each
//    component's first voxel, which is scipy.ndimage.label's numbering.
#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "kernels/cpu/postprocess.h"
#include "tensor/error.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace uad::cpu {

namespace {

/// Bit i = (p[i] != 0) for i < n ≤ 64.
inline uint64_t fg_bits(const uint8_t* p, int64_t n) {
#if defined(__AVX2__)
  if (n < 64) {  // the row's tail: through a zero-padded copy
    alignas(32) uint8_t buf[64] = {};
    std::memcpy(buf, p, (size_t)n);
    return fg_bits(buf, 64);
  }
  {
    const __m256i zero = _mm256_setzero_si256();
    const uint32_t z0 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i*)p), zero));
    const uint32_t z1 =
        (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i*)(p + 32)), zero));
    return ~((uint64_t)z1 << 32 | z0);
  }
#endif
  uint64_t m = 0;
  for (int64_t i = 0; i < n; ++i) m |= (uint64_t)(p[i] != 0) << i;
  return m;
}

/// Calls start(x) and end(x) for the runs of one row, in order (ends exclusive).
template <class S, class E> inline void scan_row(const uint8_t* p, int64_t nx, S&& start, E&& end) {
  uint64_t carry = 0;
  for (int64_t base = 0; base < nx; base += 64) {
    const int64_t n = std::min<int64_t>(64, nx - base);
    const uint64_t m = fg_bits(p + base, n), prev = m << 1 | carry;
    const uint64_t valid = n == 64 ? ~0ull : (1ull << n) - 1;
    uint64_t s = m & ~prev, e = ~m & prev & valid;
    for (; s; s &= s - 1) start(base + std::countr_zero(s));
    for (; e; e &= e - 1) end(base + std::countr_zero(e));
    carry = m >> (n - 1) & 1;
  }
  if (carry) end(nx);
}

inline int32_t find(int32_t* parent, int32_t i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];  // path halving
    i = parent[i];
  }
  return i;
}

inline void unite(int32_t* parent, int32_t a, int32_t b) {
  a = find(parent, a);
  b = find(parent, b);
  if (a < b) parent[b] = a;
  else if (b < a) parent[a] = b;
}

/// Joins the runs of row A with those of row B that touch them, x overlap widened by e ∈ {0, 1}.
void connect_rows(int32_t* parent, const RunLabels& rl, int64_t ra, int64_t rb, int e) {
  int64_t i = rl.row_start[(size_t)ra], i1 = rl.row_start[(size_t)ra + 1];
  int64_t j = rl.row_start[(size_t)rb], j1 = rl.row_start[(size_t)rb + 1];
  const int32_t* x0 = rl.x0.data();
  const int32_t* x1 = rl.x1.data();
  // Whichever run ends first cannot touch the other row's later runs (runs of a row are separated
  // by ≥ 1 background voxel and e ≤ 1), so it is the one to step past — branch-free.
  while (i < i1 && j < j1) {
    if (x0[i] < x1[j] + e && x0[j] < x1[i] + e) unite(parent, (int32_t)i, (int32_t)j);
    const bool step_i = x1[i] < x1[j];
    i += step_i;
    j += !step_i;
  }
}

/// Labels the runs of row `row` from the earlier rows nb[0..n) (x overlap widened by e[k]): each
/// run takes the smallest root among the runs it touches, merging the others' roots into it; a run
/// touching none is a new root. The runs of `row` must still be their own roots.
void join_row(int32_t* parent, const RunLabels& rl, int64_t row, const int64_t* nb, const int* e, int n) {
  const int32_t* x0 = rl.x0.data();
  const int32_t* x1 = rl.x1.data();
  int64_t j[4], j1[4];
  for (int k = 0; k < n; ++k) j[k] = rl.row_start[(size_t)nb[k]], j1[k] = rl.row_start[(size_t)nb[k] + 1];
  for (int64_t i = rl.row_start[(size_t)row]; i < rl.row_start[(size_t)row + 1]; ++i) {
    int32_t ri = -1;
    for (int k = 0; k < n; ++k) {
      int64_t q = j[k];
      while (q < j1[k] && x1[q] + e[k] <= x0[i]) ++q;  // runs left of run i are done
      j[k] = q;
      for (; q < j1[k] && x0[q] < x1[i] + e[k]; ++q) {  // every one of these touches run i
        const int32_t rq = find(parent, (int32_t)q);
        if (ri < 0) ri = rq;
        else if (rq < ri) parent[ri] = rq, ri = rq;
        else if (ri < rq) parent[rq] = ri;
      }
    }
    parent[i] = ri < 0 ? (int32_t)i : ri;
  }
}

}  // namespace

RunLabels label_runs(const uint8_t* mask, int64_t nz, int64_t ny, int64_t nx, int connectivity) {
  check(connectivity == 6 || connectivity == 18 || connectivity == 26,
        "label_components: connectivity must be 6, 18 or 26, got ", connectivity);
  RunLabels rl;
  rl.nz = nz, rl.ny = ny, rl.nx = nx;
  const int64_t nrows = nz * ny;
  rl.row_start.assign((size_t)nrows + 1, 0);
  if (nrows == 0 || nx == 0) return rl;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < nrows; ++row) {
    int64_t c = 0;
    scan_row(mask + row * nx, nx, [&](int64_t) { ++c; }, [](int64_t) {});
    rl.row_start[(size_t)row + 1] = c;
  }
  for (int64_t row = 0; row < nrows; ++row) rl.row_start[(size_t)row + 1] += rl.row_start[(size_t)row];
  const int64_t nruns = rl.row_start.back();
  check(nruns < std::numeric_limits<int32_t>::max(), "label_components: too many runs (", nruns, ")");
  rl.x0.resize((size_t)nruns);
  rl.x1.resize((size_t)nruns);
  // Few runs (a thresholded anomaly map has ~10^4): one thread is as fast and has no barriers to
  // wait at when another process holds the second core.
  const bool parallel = nruns > (1 << 17);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t row = 0; row < nrows; ++row) {
    int32_t* a = rl.x0.data() + rl.row_start[(size_t)row];
    int32_t* b = rl.x1.data() + rl.row_start[(size_t)row];
    scan_row(mask + row * nx, nx, [&](int64_t x) { *a++ = (int32_t)x; }, [&](int64_t x) { *b++ = (int32_t)x; });
  }

  std::vector<int32_t> parent((size_t)nruns);
  for (int64_t i = 0; i < nruns; ++i) parent[(size_t)i] = (int32_t)i;
  int32_t* par = parent.data();
  const int e_face = connectivity == 6 ? 0 : 1;            // (0,±1,±1), (±1,0,±1) in 18 and 26
  const int e_diag = connectivity == 26 ? 1 : 0;           // (±1,±1,±1) only in 26
  const bool diag = connectivity != 6;                     // (±1,±1,0) in 18 and 26
  // Row (z, y) joins (z, y−1) and, unless z is the first plane of a thread's chunk (done in the
  // serial seam pass), (z−1, y) and for 18/26 (z−1, y±1).
  auto join = [&](int64_t z, int64_t y, bool previous_plane) {
    const int64_t row = z * ny + y;
    int64_t nb[4];
    int e[4], n = 0;
    if (y > 0) nb[n] = row - 1, e[n++] = e_face;
    if (previous_plane && z > 0) {
      nb[n] = row - ny, e[n++] = e_face;
      if (diag && y > 0) nb[n] = row - ny - 1, e[n++] = e_diag;
      if (diag && y + 1 < ny) nb[n] = row - ny + 1, e[n++] = e_diag;
    }
    join_row(par, rl, row, nb, e, n);
  };
  const int nt = parallel ? std::max(1, std::min<int>(omp_get_max_threads(), (int)nz)) : 1;
  std::vector<int64_t> zstart((size_t)nt + 1);
  for (int t = 0; t <= nt; ++t) zstart[(size_t)t] = nz * t / nt;
#pragma omp parallel for schedule(static, 1) num_threads(nt)
  for (int t = 0; t < nt; ++t)
    for (int64_t z = zstart[(size_t)t]; z < zstart[(size_t)t + 1]; ++z)
      for (int64_t y = 0; y < ny; ++y) join(z, y, z > zstart[(size_t)t]);
  for (int t = 1; t < nt; ++t) {
    const int64_t z = zstart[(size_t)t];
    if (z == 0 || z >= nz) continue;
    for (int64_t y = 0; y < ny; ++y) {
      const int64_t row = z * ny + y;
      connect_rows(par, rl, row, row - ny, e_face);
      if (diag) {
        if (y > 0) connect_rows(par, rl, row, row - ny - 1, e_diag);
        if (y + 1 < ny) connect_rows(par, rl, row, row - ny + 1, e_diag);
      }
    }
  }

  rl.label.resize((size_t)nruns);
  for (int64_t i = 0; i < nruns; ++i) {
    const int32_t root = find(par, (int32_t)i);
    if (root == (int32_t)i) {
      rl.label[(size_t)i] = (int32_t)++rl.count;
      rl.sizes.push_back(0);
    } else {
      rl.label[(size_t)i] = rl.label[(size_t)root];
    }
    rl.sizes[(size_t)rl.label[(size_t)i] - 1] += rl.x1[(size_t)i] - rl.x0[(size_t)i];
  }
  return rl;
}

void write_labels(const RunLabels& rl, int32_t* labels) {
  const int64_t nrows = rl.nz * rl.ny, nx = rl.nx;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < nrows; ++row) {
    int32_t* o = labels + row * nx;
    std::memset(o, 0, sizeof(int32_t) * (size_t)nx);
    for (int64_t k = rl.row_start[(size_t)row]; k < rl.row_start[(size_t)row + 1]; ++k)
      std::fill(o + rl.x0[(size_t)k], o + rl.x1[(size_t)k], rl.label[(size_t)k]);
  }
}

void write_kept(const RunLabels& rl, int64_t min_voxels, uint8_t* out) {
  const int64_t nrows = rl.nz * rl.ny, nx = rl.nx;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < nrows; ++row) {
    uint8_t* o = out + row * nx;
    std::memset(o, 0, (size_t)nx);
    for (int64_t k = rl.row_start[(size_t)row]; k < rl.row_start[(size_t)row + 1]; ++k)
      if (rl.sizes[(size_t)rl.label[(size_t)k] - 1] >= min_voxels)
        std::memset(o + rl.x0[(size_t)k], 1, (size_t)(rl.x1[(size_t)k] - rl.x0[(size_t)k]));
  }
}

}  // namespace uad::cpu
