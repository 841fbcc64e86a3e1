// Voxel-level metrics over a 20 M-voxel test set (about 80 volumes of 128×128×20 brain voxels):
// AUROC, average precision, the one-sort summary (AUROC + AUPRC + best Dice), confusion at a
// threshold and the 98th percentile. Data: a residual-like map (70 % exact zeros, small residuals
// elsewhere, 2 % positives with larger residuals) and uniform continuous scores.
//
// With UAD_BENCH_SKLEARN=1 in the environment, BM_sklearn_reference writes the residual-like data
// to .npy files under $TMPDIR and reports the time of one sklearn roc_auc_score and one
// average_precision_score call on it (tests/eval_ref/sklearn_ref.py, /usr/bin/python3) as counters,
// with the relative differences of our AUROC and AP from sklearn's values on the same 20 M voxels.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "eval/metrics.h"
#include "eval/operating_point.h"

using namespace uad;
using namespace uad::eval;

namespace {

constexpr int64_t kN = 20'000'000;

struct Data {
  std::vector<float> s;
  std::vector<uint8_t> l;
};

const Data& residual_data() {
  static Data d = [] {
    Data r;
    r.s.resize(kN);
    r.l.resize(kN);
    std::mt19937_64 g(42);
    auto u = [&] { return (float)((g() >> 40) * (1.0 / 16777216.0)); };
    for (int64_t i = 0; i < kN; ++i) {
      const bool pos = u() < 0.02f;
      const bool zero = u() < (pos ? 0.2f : 0.7f);
      r.l[i] = pos;
      r.s[i] = zero ? 0.f : (pos ? 0.3f * u() + 0.05f : 0.1f * u() * u());
    }
    return r;
  }();
  return d;
}

const Data& uniform_data() {
  static Data d = [] {
    Data r;
    r.s.resize(kN);
    r.l.resize(kN);
    std::mt19937_64 g(7);
    for (int64_t i = 0; i < kN; ++i) {
      r.l[i] = (g() & 15) == 0;
      r.s[i] = (float)((g() >> 11) * (1.0 / 9007199254740992.0)) + (r.l[i] ? 0.2f : 0.f);
    }
    return r;
  }();
  return d;
}

void BM_auroc_residual_20M(benchmark::State& st) {
  const Data& d = residual_data();
  for (auto _ : st) benchmark::DoNotOptimize(auroc(d.s.data(), d.l.data(), kN));
  st.SetItemsProcessed(st.iterations() * kN);
}
BENCHMARK(BM_auroc_residual_20M)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_auroc_uniform_20M(benchmark::State& st) {
  const Data& d = uniform_data();
  for (auto _ : st) benchmark::DoNotOptimize(auroc(d.s.data(), d.l.data(), kN));
  st.SetItemsProcessed(st.iterations() * kN);
}
BENCHMARK(BM_auroc_uniform_20M)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_average_precision_residual_20M(benchmark::State& st) {
  const Data& d = residual_data();
  for (auto _ : st) benchmark::DoNotOptimize(average_precision(d.s.data(), d.l.data(), kN));
  st.SetItemsProcessed(st.iterations() * kN);
}
BENCHMARK(BM_average_precision_residual_20M)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_summary_residual_20M(benchmark::State& st) {
  const Data& d = residual_data();
  VoxelScores vs;
  vs.add(d.s.data(), d.l.data(), kN);
  for (auto _ : st) benchmark::DoNotOptimize(vs.summary(3));
  st.SetItemsProcessed(st.iterations() * kN);
}
BENCHMARK(BM_summary_residual_20M)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_at_threshold_20M(benchmark::State& st) {
  const Data& d = residual_data();
  VoxelScores vs;
  vs.add(d.s.data(), d.l.data(), kN);
  for (auto _ : st) benchmark::DoNotOptimize(vs.at_threshold(0.05));
  st.SetItemsProcessed(st.iterations() * kN);
}
BENCHMARK(BM_at_threshold_20M)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_percentile98_20M(benchmark::State& st) {
  const Data& d = uniform_data();
  for (auto _ : st) benchmark::DoNotOptimize(percentile_threshold(d.s, 98.0));
  st.SetItemsProcessed(st.iterations() * kN);
}
BENCHMARK(BM_percentile98_20M)->Unit(benchmark::kMillisecond)->UseRealTime();

void write_f32_npy(const std::string& path, const float* p, int64_t n) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(n) + ",), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const uint16_t hl = (uint16_t)header.size();
  std::fwrite(magic, 1, 8, f);
  std::fwrite(&hl, 2, 1, f);
  std::fwrite(header.data(), 1, header.size(), f);
  std::fwrite(p, 4, (size_t)n, f);
  std::fclose(f);
}

void BM_sklearn_reference(benchmark::State& st) {
  const Data& d = residual_data();
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string s = dir + "/uad_bench_metrics_s.npy", l = dir + "/uad_bench_metrics_l.npy";
  const std::string jobs = dir + "/uad_bench_metrics_jobs.txt", out = dir + "/uad_bench_metrics_out.txt";
  write_f32_npy(s, d.s.data(), kN);
  std::vector<float> lf(d.l.begin(), d.l.end());
  write_f32_npy(l, lf.data(), kN);
  if (FILE* f = std::fopen(jobs.c_str(), "w")) {
    std::fprintf(f, "time %s %s\nauc %s %s\nap %s %s\n", s.c_str(), l.c_str(), s.c_str(), l.c_str(), s.c_str(),
                 l.c_str());
    std::fclose(f);
  }
  double t_auc = 0, t_ap = 0, v_auc = 0, v_ap = 0;
  for (auto _ : st) {
    // The source tree from this file's path (CMake compiles it by absolute path).
    const std::string src = std::filesystem::path(__FILE__).parent_path().parent_path().string();
    const std::string cmd = "/usr/bin/python3 " + src + "/tests/eval_ref/sklearn_ref.py " + jobs + " " + out;
    if (std::system(cmd.c_str()) != 0) {
      st.SkipWithError("sklearn_ref.py failed");
      break;
    }
    if (FILE* f = std::fopen(out.c_str(), "r")) {
      if (std::fscanf(f, "%lf %lf %lf %lf", &t_auc, &t_ap, &v_auc, &v_ap) != 4)
        st.SkipWithError("bad sklearn_ref.py output");
      std::fclose(f);
    }
  }
  st.counters["sklearn_roc_auc_s"] = t_auc;
  st.counters["sklearn_ap_s"] = t_ap;
  // Agreement on the 20 M voxels (relative differences of ours against sklearn's values).
  st.counters["rel_diff_auroc"] = std::fabs(auroc(d.s.data(), d.l.data(), kN) - v_auc) / v_auc;
  st.counters["rel_diff_ap"] = std::fabs(average_precision(d.s.data(), d.l.data(), kN) - v_ap) / v_ap;
  for (const auto& p : {s, l, jobs, out}) std::filesystem::remove(p);
}

[[maybe_unused]] const bool kSklearnRegistered = [] {
  const char* e = std::getenv("UAD_BENCH_SKLEARN");
  if (e && std::string(e) == "1")
    benchmark::RegisterBenchmark("BM_sklearn_reference", BM_sklearn_reference)
        ->Iterations(1)
        ->Unit(benchmark::kSecond)
        ->UseRealTime();
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
