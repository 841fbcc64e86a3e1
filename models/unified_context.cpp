// Context AE and Context VAE of the unified family, and their inpainting masks (models/unified.h).
#include <cmath>

#include "models/unified.h"
#include "tensor/ops.h"

namespace uad::models {

namespace {

/// Inclusive bounding box of the pixels > 0 (over all channels) of sample n; empty when none.
struct Box {
  int64_t r0, r1, c0, c1;
  bool empty;
};

template <class T> Box bounding_box(const T* x, int64_t c, int64_t h, int64_t w) {
  Box b{h, -1, w, -1, true};
  for (int64_t k = 0; k < c; ++k)
    for (int64_t r = 0; r < h; ++r) {
      const T* row = x + (k * h + r) * w;
      for (int64_t q = 0; q < w; ++q)
        if (row[q] > T(0)) {
          b.r0 = std::min(b.r0, r), b.r1 = std::max(b.r1, r);
          b.c0 = std::min(b.c0, q), b.c1 = std::max(b.c1, q);
          b.empty = false;
        }
    }
  return b;
}

/// floor(u·n) for u ∈ [0,1), clamped to n−1 (n ≥ 1).
int64_t pick(double u, int64_t n) { return std::min<int64_t>((int64_t)std::floor(u * (double)n), n - 1); }

void check_mask_options(const ContextMaskOptions& o, const char* who) {
  check(o.size >= 1 && o.min_squares >= 1 && o.min_squares <= o.max_squares, who,
        ": context masks need size ≥ 1 and 1 ≤ min_squares ≤ max_squares, got size ", o.size, ", squares ", o.min_squares,
        "..", o.max_squares);
}

}  // namespace

Tensor context_mask(const Tensor& x, Generator& g, const ContextMaskOptions& o) {
  check(x.defined() && x.dim() == 4 && is_floating(x.dtype()), "context_mask: expected x [N,C,H,W] f32/f64, got ",
        x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("undefined"));
  check(x.device() == Device::cpu, "context_mask: x must be a CPU tensor (the masks are drawn on the host)");
  check_mask_options(o, "context_mask");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  Tensor xc = x.detach().contiguous();
  const int64_t per = 1 + 2 * o.max_squares;
  const std::vector<double> u = rand({n, per}, g, DType::f64).to_vector();
  std::vector<double> m((size_t)(n * h * w), 1.0);
  for (int64_t i = 0; i < n; ++i) {
    Box b = x.dtype() == DType::f32 ? bounding_box(xc.data<float>() + i * c * h * w, c, h, w)
                                    : bounding_box(xc.data<double>() + i * c * h * w, c, h, w);
    const double* ui = u.data() + i * per;
    const int64_t k = o.min_squares + pick(ui[0], o.max_squares - o.min_squares + 1);
    // [SD]: random.randint(lo, hi) inclusive of hi = max − size, only when lo < hi.
    if (b.empty || !(b.r0 < b.r1 - o.size && b.c0 < b.c1 - o.size)) continue;
    double* mi = m.data() + i * h * w;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t r = b.r0 + pick(ui[1 + 2 * j], b.r1 - o.size - b.r0 + 1);
      const int64_t q = b.c0 + pick(ui[2 + 2 * j], b.c1 - o.size - b.c0 + 1);
      for (int64_t rr = r; rr < r + o.size; ++rr)
        for (int64_t qq = q; qq < q + o.size; ++qq) mi[rr * w + qq] = 0.0;
    }
  }
  if (o.last_sample_for_batch && n > 1)
    for (int64_t i = 0; i + 1 < n; ++i) std::copy(m.end() - h * w, m.end(), m.begin() + i * h * w);
  return from_vector(m, {n, 1, h, w}, x.dtype()).to(x.device());
}

// ---- Context AE ------------------------------------------------------------------------------

ContextAE::ContextAE(const UnifiedConfig& cfg, Generator& g, ContextMaskOptions mask)
    : UnifiedAE(cfg, /*spatial=*/false, g), mask_(mask) {
  check_mask_options(mask_, "ContextAE");
}

LossTerms ContextAE::loss(const Tensor& x) {
  check_input(x, "loss");
  // Masks in training only: [SD]'s validation feeds x_ce = x (trainers/CE.py process()).
  Tensor x_in = is_training() ? x * context_mask(x, noise(), mask_) : x;
  Tensor l1 = l1_loss(reconstruct(x_in), x, Reduction::batch_mean);
  return {l1, {{"l1", l1}}};
}

// ---- Context VAE -----------------------------------------------------------------------------

ContextVAE::ContextVAE(const UnifiedConfig& cfg, Generator& g, ContextMaskOptions mask, bool ce_target_masked)
    : UnifiedVAE(cfg, g), mask_(mask), ce_target_masked_(ce_target_masked) {
  check_mask_options(mask_, "ContextVAE");
}

LossTerms ContextVAE::loss(const Tensor& x) {
  check_input(x, "loss");
  Posterior q = encode(x);
  Tensor l1 = l1_loss(decode(sample(q)), x, Reduction::batch_mean);
  Tensor kl = kl_term(q);
  // The masked branch, decoded from μ(x_ce); masks in training only (as the Context AE).
  Tensor x_ce = is_training() ? x * context_mask(x, noise(), mask_) : x;
  Tensor l1_ce = l1_loss(decode(encode_mu(x_ce)), ce_target_masked_ ? x_ce : x, Reduction::batch_mean);
  return {l1 + kl * kl_weight_ + l1_ce, {{"l1", l1}, {"kl", kl}, {"l1_ce", l1_ce}}};
}

}  // namespace uad::models
