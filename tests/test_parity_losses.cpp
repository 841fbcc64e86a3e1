// PyTorch parity of every loss (tensor/ops_loss.h) under every reduction: value and gradients
// w.r.t. all inputs (targets included). l1/mse/bce_with_logits use torch's own losses; the KL
// terms and the Gaussian NLL are written out in torch with the header's formula
// (tests/parity/cases.py). Tolerances: tests/parity/harness.h.
#include <gtest/gtest.h>

#include "tests/parity/harness.h"

using namespace uad;
using namespace uad::parity;

namespace {

using V = std::vector<Tensor>;

const char* rname(Reduction r) {
  switch (r) {
    case Reduction::none: return "none";
    case Reduction::mean: return "mean";
    case Reduction::sum: return "sum";
    case Reduction::batch_mean: return "batch_mean";
  }
  return "?";
}

const Reduction kAll[] = {Reduction::none, Reduction::mean, Reduction::sum, Reduction::batch_mean};

}  // namespace

TEST(ParityLosses, L1MseBce) {
  const Shape s{4, 3, 5, 6};
  for (Reduction r : kAll) {
    Params p = Params().str("name", "l1").str("reduction", rname(r));
    parity_case("loss", p, {{"x", uniform(s, 500)}, {"y", uniform(s, 501)}},
                [r](const V& v) { return V{l1_loss(v[0], v[1], r)}; }, {}, std::string("l1 ") + rname(r));
    p = Params().str("name", "mse").str("reduction", rname(r));
    parity_case("loss", p, {{"x", uniform(s, 502)}, {"y", uniform(s, 503)}},
                [r](const V& v) { return V{mse_loss(v[0], v[1], r)}; }, {}, std::string("mse ") + rname(r));
    p = Params().str("name", "bce_with_logits").str("reduction", rname(r));
    // Logits up to ±30 exercise the stable form; targets in [0,1] (soft labels too).
    parity_case("loss", p, {{"x", uniform(s, 504, -30, 30)}, {"y", uniform(s, 505, 0, 1)}},
                [r](const V& v) { return V{bce_with_logits(v[0], v[1], r)}; }, {}, std::string("bce_with_logits ") + rname(r));
  }
}

TEST(ParityLosses, KlAndGaussianNll) {
  const Shape s{5, 16};
  for (Reduction r : kAll) {
    Params p = Params().str("name", "kl_normal_std").str("reduction", rname(r));
    parity_case("loss", p, {{"x", uniform(s, 510, -2, 2)}, {"logvar", uniform(s, 511, -3, 2)}},
                [r](const V& v) { return V{kl_normal_std(v[0], v[1], r)}; }, {}, std::string("kl_normal_std ") + rname(r));
    p = Params().str("name", "kl_normal").str("reduction", rname(r));
    parity_case("loss", p,
                {{"x", uniform(s, 512, -2, 2)}, {"logvar", uniform(s, 513, -3, 2)}, {"mu2", uniform(s, 514, -2, 2)},
                 {"logvar2", uniform(s, 515, -3, 2)}},
                [r](const V& v) { return V{kl_normal(v[0], v[1], v[2], v[3], r)}; }, {}, std::string("kl_normal ") + rname(r));
    for (bool full : {false, true}) {
      p = Params().str("name", "gaussian_nll").str("reduction", rname(r)).flag("full", full);
      parity_case("loss", p, {{"x", uniform(s, 516)}, {"y", uniform(s, 517)}, {"logvar", uniform(s, 518, -3, 2)}},
                  [r, full](const V& v) { return V{gaussian_nll(v[0], v[1], v[2], r, full)}; }, {},
                  std::string("gaussian_nll ") + rname(r) + (full ? " full" : ""));
    }
  }
  // The KL with a broadcast prior (μ₂, logvar₂ of shape [16]) as the GMVAE uses it.
  Params p = Params().str("name", "kl_normal").str("reduction", "batch_mean");
  parity_case("loss", p,
              {{"x", uniform(s, 520)}, {"logvar", uniform(s, 521)}, {"mu2", uniform({16}, 522)}, {"logvar2", uniform({16}, 523)}},
              [](const V& v) { return V{kl_normal(v[0], v[1], v[2], v[3], Reduction::batch_mean)}; }, {},
              "kl_normal broadcast prior");
}
