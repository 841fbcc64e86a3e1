// Healthy augmentation and every synthetic anomaly type on Colin27 (mricron-data, 181×217×181 at
// 1 mm, normalised by its 98th brain percentile). Skipped with a message when the file is absent.
// Suggested run: bench_augment --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <filesystem>

#include "io/anomaly.h"
#include "io/augment.h"
#include "io/intensity.h"
#include "io/nifti.h"

using namespace uad;
using namespace uad::io;

namespace {

struct Colin {
  Tensor image, brain;
};

const Colin* colin() {
  static const Colin* c = []() -> const Colin* {
    const char* path = "/usr/share/mricron/templates/ch2bet.nii.gz";
    if (!std::filesystem::exists(path)) return nullptr;
    NiftiVolume v = read_nifti(path);
    Tensor brain = mask_from_image(v.data);
    return new Colin{normalize_percentile(v.data, brain, 98.0), brain};
  }();
  return c;
}

#define NEED_COLIN(st)                                                \
  if (!colin()) {                                                     \
    st.SkipWithError("Colin27 absent: apt-get install mricron-data"); \
    return;                                                           \
  }

}  // namespace

static void BM_AugmentHealthy(benchmark::State& st) {
  NEED_COLIN(st);
  Generator g(1);
  for (auto _ : st) benchmark::DoNotOptimize(augment_healthy(colin()->image, colin()->brain, {1, 1, 1}, AugmentOptions{}, g));
}
BENCHMARK(BM_AugmentHealthy)->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_SmoothRandomFieldSigma12(benchmark::State& st) {
  Generator g(1);
  for (auto _ : st) benchmark::DoNotOptimize(smooth_random_field({181, 217, 181}, {1, 1, 1}, 12.0, g));
}
BENCHMARK(BM_SmoothRandomFieldSigma12)->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_Anomaly(benchmark::State& st) {
  NEED_COLIN(st);
  const AnomalyType t = (AnomalyType)st.range(0);
  st.SetLabel(anomaly_name(t));
  Generator g(1);
  for (auto _ : st) benchmark::DoNotOptimize(make_anomaly(colin()->image, colin()->brain, t, {1, 1, 1}, g));
}
BENCHMARK(BM_Anomaly)->DenseRange(0, kAnomalyTypeCount - 1)->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_EstimateWhiteMatter(benchmark::State& st) {
  NEED_COLIN(st);
  for (auto _ : st) benchmark::DoNotOptimize(estimate_white_matter(colin()->image, colin()->brain));
}
BENCHMARK(BM_EstimateWhiteMatter)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
