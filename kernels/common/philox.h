// Philox-4x32-10 (Salmon et al. 2011, Random123), shared by CPU and CUDA.
#pragma once
#include <cstdint>
#include <cmath>

#include "kernels/common/host_device.h"

namespace uad::philox {

struct U4 { uint32_t x[4]; };

UAD_HD inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = (uint64_t)a * (uint64_t)b;
  hi = (uint32_t)(p >> 32);
  lo = (uint32_t)p;
}

/// Ten Philox rounds on counter c with key k (constants from Random123's philox.h).
UAD_HD inline U4 philox4x32_10(U4 c, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(M0, c.x[0], hi0, lo0);
    mulhilo(M1, c.x[2], hi1, lo1);
    U4 n;
    n.x[0] = hi1 ^ c.x[1] ^ k0;
    n.x[1] = lo1;
    n.x[2] = hi0 ^ c.x[3] ^ k1;
    n.x[3] = lo0;
    c = n;
    k0 += W0;
    k1 += W1;
  }
  return c;
}

/// The four words of stream block `block` for `seed` (see tensor/generator.h for the spec).
UAD_HD inline U4 block_words(uint64_t seed, uint64_t block) {
  U4 c{{(uint32_t)block, (uint32_t)(block >> 32), 0u, 0u}};
  return philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

/// Uniform in [0,1) with 24 random bits.
UAD_HD inline float to_uniform(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }
/// Uniform in (0,1] (safe for log).
UAD_HD inline float to_uniform_open0(uint32_t w) { return (float)((w >> 8) + 1) * (1.0f / 16777216.0f); }

/// Box–Muller: two standard normals from two words.
UAD_HD inline void box_muller(uint32_t w0, uint32_t w1, float& z0, float& z1) {
  float u1 = to_uniform_open0(w0), u2 = to_uniform(w1);
  float r = sqrtf(-2.0f * logf(u1));
  float t = 6.283185307179586f * u2;
  z0 = r * cosf(t);
  z1 = r * sinf(t);
}

}  // namespace uad::philox
