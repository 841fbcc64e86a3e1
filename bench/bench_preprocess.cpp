// Preprocessing benchmarks on Colin27 (mricron-data, 181×217×181 uint8, 1 mm): reading the
// .nii.gz, resampling to 64³ with anti-aliasing (paper 001's volumes), Gaussian smoothing, 26-
// connected erosion ×3 of the brain mask, reorientation and writing. Skipped with a message when
// the file is absent. Suggested run: bench_preprocess --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <filesystem>

#include "io/preprocess.h"

using namespace uad;
using namespace uad::io;

namespace {

const char* kColin = "/usr/share/mricron/templates/ch2bet.nii.gz";

const NiftiVolume* colin() {
  static const NiftiVolume* v = [] {
    return std::filesystem::exists(kColin) ? new NiftiVolume(read_nifti(kColin)) : nullptr;
  }();
  return v;
}

#define NEED_COLIN(st)                                                        \
  if (!colin()) {                                                             \
    st.SkipWithError("Colin27 absent: apt-get install mricron-data");         \
    return;                                                                   \
  }

}  // namespace

static void BM_ReadColin(benchmark::State& st) {
  NEED_COLIN(st);
  for (auto _ : st) benchmark::DoNotOptimize(read_nifti(kColin).data.raw());
}
BENCHMARK(BM_ReadColin)->Unit(benchmark::kMillisecond);

static void BM_ResampleColinTo64Smoothed(benchmark::State& st) {
  NEED_COLIN(st);
  for (auto _ : st) benchmark::DoNotOptimize(resample_to_shape(*colin(), {64, 64, 64}).data.raw());
}
BENCHMARK(BM_ResampleColinTo64Smoothed)->Unit(benchmark::kMillisecond);

static void BM_ResampleColinTo64NoSmoothing(benchmark::State& st) {
  NEED_COLIN(st);
  for (auto _ : st)
    benchmark::DoNotOptimize(resample_to_shape(*colin(), {64, 64, 64}, Interp::linear, false).data.raw());
}
BENCHMARK(BM_ResampleColinTo64NoSmoothing)->Unit(benchmark::kMillisecond);

static void BM_GaussianColinSigma1(benchmark::State& st) {
  NEED_COLIN(st);
  for (auto _ : st) benchmark::DoNotOptimize(gaussian_smooth(colin()->data, {1, 1, 1}).raw());
}
BENCHMARK(BM_GaussianColinSigma1)->Unit(benchmark::kMillisecond);

static void BM_ErosionColin26x3(benchmark::State& st) {
  NEED_COLIN(st);
  Tensor mask = mask_from_image(colin()->data);
  const auto se = StructuringElement::connectivity(26);
  for (auto _ : st) benchmark::DoNotOptimize(binary_erosion(mask, se, 3).raw());
}
BENCHMARK(BM_ErosionColin26x3)->Unit(benchmark::kMillisecond);

static void BM_DilationColinBall3(benchmark::State& st) {
  NEED_COLIN(st);
  Tensor mask = mask_from_image(colin()->data);
  const auto se = StructuringElement::ball(3);
  for (auto _ : st) benchmark::DoNotOptimize(binary_dilation(mask, se, 1).raw());
}
BENCHMARK(BM_DilationColinBall3)->Unit(benchmark::kMillisecond);

static void BM_ReorientColinFlipX(benchmark::State& st) {
  NEED_COLIN(st);
  Reorientation r;
  r.flip = {true, false, false};
  for (auto _ : st) benchmark::DoNotOptimize(apply_reorientation(colin()->data, r).raw());
}
BENCHMARK(BM_ReorientColinFlipX)->Unit(benchmark::kMillisecond);

static void BM_WriteColinNiiGz(benchmark::State& st) {
  NEED_COLIN(st);
  const std::string path = (std::filesystem::temp_directory_path() / "uad_bench_colin.nii.gz").string();
  for (auto _ : st) write_nifti(path, *colin(), NiftiWriteType::u8);
  std::filesystem::remove(path);
}
BENCHMARK(BM_WriteColinNiiGz)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
