// WGAN-GP against PyTorch: the gradient penalty and the gradients of the full critic loss w.r.t.
// every critic parameter, which need gradients of gradients through conv3d, leaky_relu,
// layer_norm, flatten and linear.
//
// Critic loss, Eq. 2 of 001_ee3d74e7538cde67.txt (Gulrajani et al. 2017 penalty):
//   L_D = E[D(x̃)] − E[D(x)] + λ·E[(‖∇_x̂ D(x̂)‖₂ − 1)²],  x̂ = ε·x + (1 − ε)·x̃,  λ = 10,
// ε ~ U[0,1] per sample, exchanged with PyTorch as a file (tests/parity/wgan_gp.py is the twin).
// Compared: L_D, the penalty, ∇_x̂ D(x̂) itself, and ∂L_D/∂θ for all 8 critic tensors.
// ∇_x̂ D(x̂) comes from uad::grad(outputs, inputs, grad_outputs, create_graph=true), so L_D is
// differentiable w.r.t. the critic parameters; PyTorch uses torch.autograd.grad(create_graph=True).
#include <gtest/gtest.h>

#include "tests/parity/harness.h"

using namespace uad;
using namespace uad::parity;

namespace {

using V = std::vector<Tensor>;

/// The small 3-D critic: conv3d 1→4 (k3 s2 p1) → leaky_relu(0.2) → layer_norm over (C,D,H,W)
/// → conv3d 4→8 (k3 s2 p1) → flatten → linear 64→1. x: [N,1,8,8,8] → [N,1].
/// p = {c1_w, c1_b, ln_w, ln_b, c2_w, c2_b, fc_w, fc_b}.
Tensor critic(const V& p, const Tensor& x) {
  Tensor h = conv3d(x, p[0], p[1], {2}, {1});
  h = leaky_relu(h, 0.2);
  h = layer_norm(h, 4, p[2], p[3], 1e-5);
  h = conv3d(h, p[4], p[5], {2}, {1});
  return linear(flatten(h, 1), p[6], p[7]);
}

/// λ·E[(‖∇_x̂ D(x̂)‖₂ − 1)²] with x̂ = ε·x + (1−ε)·x̃ (Eq. 2). eps: [N,1,1,1,1]. Also returns
/// ∇_x̂ D(x̂) (in *g_out) when asked.
Tensor gradient_penalty(const V& p, const Tensor& x, const Tensor& x_fake, const Tensor& eps, double lambda,
                        Tensor* g_out = nullptr) {
  Tensor x_hat = (eps * x + (1.0 - eps) * x_fake).detach();
  x_hat.requires_grad_();
  Tensor d = critic(p, x_hat);
  Tensor g = grad({d}, {x_hat}, {ones_like(d)}, /*create_graph=*/true)[0];
  if (g_out) *g_out = g;
  Tensor gn = norm(g, 2.0, {1, 2, 3, 4});
  return mean(square(gn - 1.0)) * lambda;
}

}  // namespace

TEST(ParityWganGp, CriticLossAndParameterGradients) {
  const double lambda = 10.0;
  const int64_t n = 4;
  std::vector<Input> in{
      {"c1_w", uniform({4, 1, 3, 3, 3}, 700, -0.5, 0.5)}, {"c1_b", uniform({4}, 701, -0.3, 0.3)},
      {"ln_w", uniform({4, 4, 4, 4}, 702, 0.5, 1.5)},    {"ln_b", uniform({4, 4, 4, 4}, 703, -0.2, 0.2)},
      {"c2_w", uniform({8, 4, 3, 3, 3}, 704, -0.2, 0.2)}, {"c2_b", uniform({8}, 705, -0.2, 0.2)},
      {"fc_w", uniform({1, 64}, 706, -0.15, 0.15)},      {"fc_b", uniform({1}, 707, -0.1, 0.1)},
      {"x", uniform({n, 1, 8, 8, 8}, 710, -1, 1), false}, {"x_fake", uniform({n, 1, 8, 8, 8}, 711, -1, 1), false},
      {"eps", uniform({n, 1, 1, 1, 1}, 712, 0, 1), false},
  };
  // A sanity check that the case is not degenerate: the penalty must actually depend on the
  // parameters (‖∇D‖ away from 1), otherwise its second-order terms would not be exercised.
  {
    V p;
    for (int k = 0; k < 8; ++k) p.push_back(in[k].value);
    double pen = gradient_penalty(p, in[8].value, in[9].value, in[10].value, lambda).item();
    ASSERT_GT(pen, 1e-2) << "degenerate test setup";
  }
  parity_case("wgan_gp", Params().num("lambda", lambda), in,
              [lambda](const V& v) {
                V p(v.begin(), v.begin() + 8);
                const Tensor &x = v[8], &xf = v[9], &eps = v[10];
                Tensor g;
                Tensor pen = gradient_penalty(p, x, xf, eps, lambda, &g);
                Tensor loss = mean(critic(p, xf)) - mean(critic(p, x)) + pen;
                return V{loss, pen, g};
              },
              {}, "wgan_gp critic loss (λ=10) [4,1,8,8,8]");
}
