#!/usr/bin/python3
"""The full-size 3-D f-AnoGAN critic in PyTorch: the reference of tests/test_parity_fanogan3d_critic.cpp.

Usage: /usr/bin/python3 tests/parity/fanogan3d_critic.py <case dir>

The critic is built here from its layer table, independently of uad (domain_spec §4, Kwon et al.'s
3-D brain GAN [3DB] as adopted by 001_ee3d74e7538cde67.txt, with LayerNorm where Kwon has
BatchNorm — the decision documented in models/fanogan3d.h), at the paper's size c = 64:
    conv1 Conv3d 1→64    (k4 s2 p1) → LeakyReLU 0.2                          [N,64,32³]
    conv2 Conv3d 64→128  (k4 s2 p1) → LayerNorm(C,D,H,W) → LeakyReLU 0.2      [N,128,16³]
    conv3 Conv3d 128→256 (k4 s2 p1) → LayerNorm → LeakyReLU 0.2               [N,256,8³]
    conv4 Conv3d 256→512 (k4 s2 p1) → LayerNorm → LeakyReLU 0.2               [N,512,4³]
    conv5 Conv3d 512→1   (k4 s1 p0), flattened                                [N,1]
LayerNorm: statistics over (C,D,H,W) with eps 1e-5, then one scale and offset per channel
(tflib's layernorm of the 2-D f-AnoGAN critic, domain_spec §3).

The case directory holds (written by the C++ test): params.json = {"names": [...], "lambda": λ},
in_<name>.npy for every critic parameter (uad's state-dict names, e.g. net.conv1.weight,
net.norm2.weight), in_x.npy (real [N,1,64³]), in_fake.npy, in_eps.npy ([N,1,1,1,1]).
It writes out_d_real.npy = D(x), out_d_fake.npy = D(x̃), out_penalty.npy, out_loss.npy and
grad_<name>.npy = ∂L_D/∂θ for every parameter, where (001 Eq. 2, Gulrajani et al. 2017)
    L_D = mean D(x̃) − mean D(x) + λ·mean_n (‖∇_x̂ D(x̂)_n‖₂ − 1)²,  x̂ = ε·x + (1 − ε)·x̃,
with ∇_x̂ D from torch.autograd.grad(create_graph=True) (the penalty's parameter gradient is a
gradient of a gradient).
"""
import json
import os
import sys

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def critic(p, x):
    h = F.leaky_relu(F.conv3d(x, p["net.conv1.weight"], p["net.conv1.bias"], stride=2, padding=1), 0.2)
    for i in (2, 3, 4):
        h = F.conv3d(h, p[f"net.conv{i}.weight"], p[f"net.conv{i}.bias"], stride=2, padding=1)
        c = h.shape[1]
        h = F.layer_norm(h, h.shape[1:], None, None, eps=1e-5)
        h = h * p[f"net.norm{i}.weight"].view(c, 1, 1, 1) + p[f"net.norm{i}.bias"].view(c, 1, 1, 1)
        h = F.leaky_relu(h, 0.2)
    return F.conv3d(h, p["net.conv5.weight"], p["net.conv5.bias"], stride=1, padding=0).flatten(1)


def main(d):
    torch.set_num_threads(2)
    with open(os.path.join(d, "params.json")) as f:
        meta = json.load(f)
    load = lambda n: torch.from_numpy(np.load(os.path.join(d, f"in_{n}.npy")))  # noqa: E731
    p = {n: load(n).requires_grad_(True) for n in meta["names"]}
    x, fake, eps = load("x"), load("fake"), load("eps")
    lam = meta["lambda"]
    d_real = critic(p, x)
    d_fake = critic(p, fake)
    x_hat = (eps * x + (1 - eps) * fake).detach().requires_grad_(True)
    d_hat = critic(p, x_hat)
    (g,) = torch.autograd.grad(d_hat, x_hat, grad_outputs=torch.ones_like(d_hat), create_graph=True)
    penalty = lam * ((g.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
    loss = d_fake.mean() - d_real.mean() + penalty
    grads = torch.autograd.grad(loss, [p[n] for n in meta["names"]])
    save = lambda n, t: np.save(os.path.join(d, n + ".npy"), t.detach().numpy())  # noqa: E731
    save("out_d_real", d_real)
    save("out_d_fake", d_fake)
    save("out_penalty", penalty)
    save("out_loss", loss)
    for n, gr in zip(meta["names"], grads):
        save(f"grad_{n}", gr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
