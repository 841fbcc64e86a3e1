// layers/ and checkpoint benchmarks.
//
// Encoder*: the unified encoder (domain_spec §1.2: 4 × [Conv2d 5×5 stride 2 pad 2 → BatchNorm →
// LeakyReLU(0.3)], 1→32→64→128→128 channels) on [8,1,128,128], one training forward + backward,
// written once with nn::Sequential and once as plain op calls on the same tensors — the
// difference is the Module layer's overhead (virtual forward, shared_ptr handles), expected ≈ 0.
// Safetensors*: saving (temp file + fsync + rename) and loading a 64 MiB f32 state dict of 16
// tensors, the size class of the 3-D f-AnoGAN checkpoints; bytes/s reported.
// Run e.g.: bench_layers --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "io/safetensors.h"
#include "layers/layers.h"
#include "tensor/ops.h"

using namespace uad;
using namespace uad::nn;

namespace {

std::shared_ptr<Sequential> unified_encoder(Generator& g) {
  auto s = std::make_shared<Sequential>();
  const int64_t ch[5] = {1, 32, 64, 128, 128};
  for (int i = 0; i < 4; ++i) {
    s->push_back(std::make_shared<Conv2d>(ch[i], ch[i + 1], 5, ConvOptions{.stride = {2}, .padding = {2}}, g));
    s->push_back(std::make_shared<BatchNorm>(ch[i + 1], BatchNormOptions::keras(), g));
    s->push_back(std::make_shared<LeakyReLU>(0.3));
  }
  return s;
}

void BM_EncoderModules(benchmark::State& st) {
  Generator g(1);
  auto enc = unified_encoder(g);
  Tensor x = rand({8, 1, 128, 128}, g);
  for (auto _ : st) {
    sum((*enc)(x)).backward();
    enc->zero_grad();
  }
}
BENCHMARK(BM_EncoderModules)->Unit(benchmark::kMillisecond);

void BM_EncoderFunctional(benchmark::State& st) {
  Generator g(1);
  auto enc = unified_encoder(g);
  std::vector<Tensor> p = enc->parameters();  // w, b, γ, β per block
  std::vector<Tensor> buf;
  for (auto& [_, t] : enc->named_buffers()) buf.push_back(t);
  Tensor x = rand({8, 1, 128, 128}, g);
  for (auto _ : st) {
    Tensor h = x;
    for (int i = 0; i < 4; ++i) {
      h = conv2d(h, p[4 * i], p[4 * i + 1], {2}, {2});
      h = batch_norm(h, p[4 * i + 2], p[4 * i + 3], buf[2 * i], buf[2 * i + 1], true, 0.01, 1e-3);
      h = leaky_relu(h, 0.3);
    }
    sum(h).backward();
    for (Tensor& t : p) t.zero_grad();
  }
}
BENCHMARK(BM_EncoderFunctional)->Unit(benchmark::kMillisecond);

std::map<std::string, Tensor> big_state() {
  Generator g(2);
  std::map<std::string, Tensor> m;
  for (int i = 0; i < 16; ++i) m["layer" + std::to_string(i) + ".weight"] = rand({1024, 1024}, g);  // 4 MiB each
  return m;
}

std::string bench_path() {
  return (std::filesystem::temp_directory_path() / ("uad_bench_" + std::to_string(::getpid()) + ".safetensors")).string();
}

void BM_SafetensorsSave(benchmark::State& st) {
  auto m = big_state();
  const std::string path = bench_path();
  for (auto _ : st) io::save_safetensors(path, m, {{"epoch", "1"}});
  st.SetBytesProcessed(st.iterations() * 16 * 1024 * 1024 * 4);
  std::filesystem::remove(path);
}
BENCHMARK(BM_SafetensorsSave)->Unit(benchmark::kMillisecond)->UseRealTime();  // fsync: wall time

void BM_SafetensorsLoad(benchmark::State& st) {
  const std::string path = bench_path();
  io::save_safetensors(path, big_state());
  for (auto _ : st) benchmark::DoNotOptimize(io::load_safetensors(path));
  st.SetBytesProcessed(st.iterations() * 16 * 1024 * 1024 * 4);
  std::filesystem::remove(path);
}
BENCHMARK(BM_SafetensorsLoad)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
