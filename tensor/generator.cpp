// Philox-backed random tensors (stream specified in tensor/generator.h).
#include "tensor/generator.h"

#include "kernels/common/philox.h"
#include "kernels/cpu/loops.h"
#include "tensor/backend.h"

namespace uad {

Generator& default_generator() {
  static Generator g(0);
  return g;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

namespace {

/// Fills n values: fill(block_words, first_index, count) per 4-value block, in parallel.
template <class Fill> void for_blocks(int64_t n, Generator& g, Fill fill) {
  const uint64_t seed = g.seed();
  const uint64_t base = g.reserve(n);
  const int64_t nblocks = (n + 3) / 4;
  cpu::parallel_for(nblocks, 16, [&](int64_t j) {
    philox::U4 w = philox::block_words(seed, base + (uint64_t)j);
    fill(w, j * 4, std::min<int64_t>(4, n - j * 4));
  });
}

void check_float(DType t, const char* op) { check(is_floating(t), op, ": dtype must be f32 or f64, got ", dtype_name(t)); }

enum class Dist { uniform, normal, bernoulli };

/// A draw on cuda: the table's Philox fill from g's seed and reserved offset (the CPU's blocks).
Tensor fill_cuda(const char* op, Dist dist, const Shape& shape, double p, Generator& g, DType dtype) {
  const CudaBackend& b = cuda_backend(op);
  OpRange r(b, op);
  Tensor t = empty(shape, dtype, Device::cuda);
  const int64_t n = t.numel();
  const uint64_t seed = g.seed(), first = g.reserve(n);
  switch (dist) {
    case Dist::uniform: b.fill_uniform(dtype, t.raw(), n, seed, first, b.stream()); break;
    case Dist::normal: b.fill_normal(dtype, t.raw(), n, seed, first, b.stream()); break;
    case Dist::bernoulli: b.fill_bernoulli(dtype, t.raw(), n, p, seed, first, b.stream()); break;
  }
  return t;
}

}  // namespace

Tensor rand(const Shape& shape, Generator& g, DType dtype, Device device) {
  check_float(dtype, "rand");
  if (device == Device::cuda) return fill_cuda("rand", Dist::uniform, shape, 0.0, g, dtype);
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  if (dtype == DType::f32) {
    float* p = t.data<float>();
    for_blocks(n, g, [&](const philox::U4& w, int64_t i0, int64_t k) { for (int64_t i = 0; i < k; ++i) p[i0 + i] = philox::to_uniform(w.x[i]); });
  } else {
    double* p = t.data<double>();
    for_blocks(n, g, [&](const philox::U4& w, int64_t i0, int64_t k) { for (int64_t i = 0; i < k; ++i) p[i0 + i] = philox::to_uniform(w.x[i]); });
  }
  return t;
}

Tensor randn(const Shape& shape, Generator& g, DType dtype, Device device) {
  check_float(dtype, "randn");
  if (device == Device::cuda) return fill_cuda("randn", Dist::normal, shape, 0.0, g, dtype);
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  auto fill = [&](auto* p) {
    for_blocks(n, g, [&](const philox::U4& w, int64_t i0, int64_t k) {
      float z[4];
      philox::box_muller(w.x[0], w.x[1], z[0], z[1]);
      philox::box_muller(w.x[2], w.x[3], z[2], z[3]);
      for (int64_t i = 0; i < k; ++i) p[i0 + i] = z[i];
    });
  };
  if (dtype == DType::f32) fill(t.data<float>());
  else fill(t.data<double>());
  return t;
}

Tensor bernoulli(const Shape& shape, double prob, Generator& g, DType dtype, Device device) {
  check_float(dtype, "bernoulli");
  check(prob >= 0.0 && prob <= 1.0, "bernoulli: probability ", prob, " outside [0,1]");
  if (device == Device::cuda) return fill_cuda("bernoulli", Dist::bernoulli, shape, prob, g, dtype);
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  const float pf = (float)prob;
  auto fill = [&](auto* p) {
    for_blocks(n, g, [&](const philox::U4& w, int64_t i0, int64_t k) {
      for (int64_t i = 0; i < k; ++i) p[i0 + i] = philox::to_uniform(w.x[i]) < pf ? 1 : 0;
    });
  };
  if (dtype == DType::f32) fill(t.data<float>());
  else fill(t.data<double>());
  return t;
}

}  // namespace uad
