"""WGAN-GP critic loss in PyTorch, the reference for tests/test_parity_wgan_gp.cpp.

Critic (a small 3-D critic): conv3d 1→4 (k3 s2 p1) → leaky_relu(0.2) → layer_norm over (C,D,H,W)
→ conv3d 4→8 (k3 s2 p1) → flatten → linear 64→1. Input [4,1,8,8,8].
Critic loss, Eq. 2 of 001_ee3d74e7538cde67.txt (Gulrajani et al. 2017):
    L_D = E[D(x̃)] − E[D(x)] + λ E[(‖∇_x̂ D(x̂)‖₂ − 1)²],  x̂ = ε x + (1 − ε) x̃,  λ = 10,
with ε ~ U[0,1] per sample (exchanged as a file) and the gradient taken with create_graph=True so
that L_D can be differentiated w.r.t. the critic parameters.
"""
import torch
import torch.nn.functional as F

PARAMS = ["c1_w", "c1_b", "ln_w", "ln_b", "c2_w", "c2_b", "fc_w", "fc_b"]


def critic(p, x):
    h = F.conv3d(x, p["c1_w"], p["c1_b"], stride=2, padding=1)
    h = F.leaky_relu(h, 0.2)
    h = F.layer_norm(h, h.shape[1:], p["ln_w"], p["ln_b"], eps=1e-5)
    h = F.conv3d(h, p["c2_w"], p["c2_b"], stride=2, padding=1)
    return F.linear(h.flatten(1), p["fc_w"], p["fc_b"])


def gradient_penalty(p, x, x_fake, eps, lam):
    x_hat = (eps * x + (1 - eps) * x_fake).detach().requires_grad_(True)
    d = critic(p, x_hat)
    (g,) = torch.autograd.grad(d, x_hat, grad_outputs=torch.ones_like(d), create_graph=True)
    gn = g.flatten(1).norm(2, dim=1)
    return lam * ((gn - 1.0) ** 2).mean(), g


def parity_case(i, p):
    """Inputs: the critic parameters, x, x_fake, eps [N,1,1,1,1].
    Outputs: [L_D, penalty, ∇_x̂ D(x̂)]."""
    pen, g = gradient_penalty(i, i["x"], i["x_fake"], i["eps"], p["lambda"])
    loss = critic(i, i["x_fake"]).mean() - critic(i, i["x"]).mean() + pen
    return [loss, pen, g]
