// Philox-4x32-10 counter-based random numbers (Salmon et al., SC'11, "Parallel random numbers:
// as easy as 1, 2, 3"), specified so the CUDA backend reproduces the identical stream.
//
// Stream specification (one definition, kernels/common/philox.h):
//   key = (lo32(seed), hi32(seed)); a draw of n values at generator offset o uses blocks
//   j = 0..ceil(n/4)-1 with counter (lo32(o+j), hi32(o+j), 0, 0); value i comes from word i%4
//   of block i/4. After the draw, offset += ceil(n/4).
//   uniform f32: (w >> 8) · 2^-24 ∈ [0,1);  uniform f64: (w >> 8) · 2^-24 too (same stream);
//   normal: Box–Muller on word pairs (w0,w1),(w2,w3) of a block: u1 = (w0>>8+1)·2^-24 ∈ (0,1],
//   u2 = (w1>>8)·2^-24, z0 = sqrt(-2 ln u1)·cos(2π u2), z1 = ... sin(2π u2);
//   bernoulli(p): 1 where uniform < p.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace uad {

/// A seeded Philox generator. Not thread-safe: one per training loop / thread.
class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
  /// Reserves ceil(n/4) counter blocks and returns the first block index.
  uint64_t reserve(int64_t n) { uint64_t o = offset_; offset_ += (uint64_t)((n + 3) / 4); return o; }
 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

/// The process-wide default generator (seed 0 until manual_seed).
Generator& default_generator();
void manual_seed(uint64_t seed);

// Each draw reserves ceil(numel/4) blocks of g whatever the device: on Device::cuda the values
// are filled on the device (kernels/cuda/random.cu via the backend table, tensor/backend.h) from
// the same seed and offset, so a device draw equals the CPU draw of the same generator state
// (uniform and bernoulli bit for bit; normal to the device's logf/sinf/cosf, bit for bit under the
// simulator) and leaves g in the same state. Throws uad::Error for a non-float dtype, or a cuda
// device in a binary without a CUDA backend.

/// Uniform [0,1) values. shape: any; dtype f32 or f64; device: where the tensor is made.
Tensor rand(const Shape& shape, Generator& g = default_generator(), DType dtype = DType::f32, Device device = Device::cpu);
/// Standard normal values (Box–Muller on Philox words).
Tensor randn(const Shape& shape, Generator& g = default_generator(), DType dtype = DType::f32, Device device = Device::cpu);
/// 1 with probability p, else 0 (dtype f32/f64 so it can multiply activations). Throws for p
/// outside [0,1].
Tensor bernoulli(const Shape& shape, double p, Generator& g = default_generator(), DType dtype = DType::f32,
                 Device device = Device::cpu);

}  // namespace uad
