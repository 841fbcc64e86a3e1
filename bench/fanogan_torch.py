#!/usr/bin/python3
"""PyTorch timing twin of the f-AnoGAN training steps (models/fanogan2d.h, models/fanogan3d.h,
train/wgan_gp.h): seconds per WGAN-GP iteration (n_critic = 5 critic steps with the gradient
penalty of 001 Eq. 2, then one generator step, Eq. 3) and per izi_f encoder step (Eq. 4-6),
with torch.set_num_threads(2), float32, CPU.

    /usr/bin/python3 bench/fanogan_torch.py [--model fanogan|fanogan3d|both] [--iters N]

The networks follow the C++ layer tables (parameter counts are printed to compare with
tests/test_fanogan2d.cpp / test_fanogan3d.cpp): 2-D unified f-AnoGAN at 128², batch 8
(encoder BN, generator/critic LayerNorm over (H,W), sigmoid output, per-location critic head);
3-D f-AnoGAN of 001 at 64³, batch 2, latent 2500.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- 2-D unified f-AnoGAN ([SD] fanogan.py; domain_spec §1.2-1.3) --------------------------------

def enc_blocks(norm):
    layers, c, s = [], [1, 32, 64, 128, 128], 128
    for i in range(4):
        s //= 2
        layers += [nn.Conv2d(c[i], c[i + 1], 5, 2, 2),
                   nn.BatchNorm2d(c[i + 1], eps=1e-3, momentum=0.01) if norm == "bn" else nn.LayerNorm([s, s], eps=1e-3),
                   nn.LeakyReLU(0.3)]
    return nn.Sequential(*layers)


class Enc2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.net, self.conv_in = enc_blocks("bn"), nn.Conv2d(128, 16, 1)
        self.fc, self.drop = nn.Linear(1024, 128), nn.Dropout(0.2)

    def forward(self, x):
        return torch.tanh(self.drop(self.fc(self.conv_in(self.net(x)).flatten(1))))


class Gen2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.drop, self.conv_out = nn.Linear(128, 1024), nn.Dropout(0.2), nn.Conv2d(16, 128, 1)
        layers, c, s = [nn.LayerNorm([8, 8], eps=1e-3), nn.ReLU()], [128, 128, 64, 32, 32], 8
        for i in range(4):
            s *= 2
            layers += [nn.ConvTranspose2d(c[i], c[i + 1], 5, 2, 2, output_padding=1), nn.LayerNorm([s, s], eps=1e-3),
                       nn.LeakyReLU(0.3)]
        layers += [nn.Conv2d(32, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return torch.sigmoid(self.net(self.conv_out(self.drop(self.fc(z)).view(-1, 16, 8, 8))))


class Critic2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.net, self.head = enc_blocks("ln"), nn.Conv2d(128, 1, 1)

    def forward(self, x):
        f = self.net(x)
        return self.head(f).mean(dim=(2, 3)), f.flatten(1)


# ---- 3-D f-AnoGAN (001; [3DB] Model_alphaWGAN.py; models/fanogan3d.h) ----------------------------

class ChannelLN(nn.Module):
    """LayerNorm over (C,D,H,W) with one scale and offset per channel (tflib's layernorm)."""

    def __init__(self, c):
        super().__init__()
        self.w, self.b = nn.Parameter(torch.ones(c)), nn.Parameter(torch.zeros(c))

    def forward(self, x):
        y = F.layer_norm(x, x.shape[1:], eps=1e-5)
        return y * self.w.view(1, -1, 1, 1, 1) + self.b.view(1, -1, 1, 1, 1)


class Stack3d(nn.Module):
    def __init__(self, bn, out):
        super().__init__()
        c = [1, 64, 128, 256, 512]
        self.convs = nn.ModuleList([nn.Conv3d(c[i], c[i + 1], 4, 2, 1) for i in range(4)])
        self.norms = nn.ModuleList([nn.BatchNorm3d(c[i + 1]) if bn else ChannelLN(c[i + 1]) for i in range(1, 4)])
        self.head = nn.Conv3d(512, out, 4, 1, 0)

    def forward(self, x):
        h = F.leaky_relu(self.convs[0](x), 0.2)
        for i in range(1, 4):
            h = F.leaky_relu(self.norms[i - 1](self.convs[i](h)), 0.2)
        return self.head(h).flatten(1), h.flatten(1)


class Critic3d(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = Stack3d(False, 1)

    def forward(self, x):
        return self.net(x)


class Enc3d(nn.Module):
    def __init__(self, latent):
        super().__init__()
        self.net = Stack3d(True, latent)

    def forward(self, x):
        return torch.tanh(self.net(x)[0])


class Gen3d(nn.Module):
    def __init__(self, latent):
        super().__init__()
        self.latent = latent
        self.t1, self.bn1 = nn.ConvTranspose3d(latent, 512, 4, 1, 0, bias=False), nn.BatchNorm3d(512)
        c = [512, 256, 128, 64, 1]
        self.convs = nn.ModuleList([nn.Conv3d(c[i], c[i + 1], 3, 1, 1, bias=False) for i in range(4)])
        self.bns = nn.ModuleList([nn.BatchNorm3d(c[i + 1]) for i in range(3)])

    def forward(self, z):
        h = F.relu(self.bn1(self.t1(z.view(-1, self.latent, 1, 1, 1))))
        for i in range(4):
            h = self.convs[i](F.interpolate(h, scale_factor=2, mode="nearest"))
            h = F.relu(self.bns[i](h)) if i < 3 else torch.tanh(h)
        return h


# ---- steps (train/wgan_gp.cpp) --------------------------------------------------------------------

def critic_step(G, D, opt_d, real, latent, lam=10.0):
    n = real.shape[0]
    z = torch.randn(n, latent)
    eps = torch.rand(n, *([1] * (real.dim() - 1)))
    with torch.no_grad():
        fake = G(z)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    d_hat = D(x_hat)[0]
    (g,) = torch.autograd.grad(d_hat, x_hat, torch.ones_like(d_hat), create_graph=True)
    pen = lam * ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    loss = D(fake)[0].mean() - D(real)[0].mean() + pen
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()


def generator_step(G, D, opt_g, n, latent):
    for p in D.parameters():
        p.requires_grad_(False)
    loss = -D(G(torch.randn(n, latent)))[0].mean()
    opt_g.zero_grad()
    loss.backward()
    opt_g.step()
    for p in D.parameters():
        p.requires_grad_(True)


def izif_step(E, G, D, opt_e, x, kappa=1.0):
    G.eval(), D.eval()
    for p in list(G.parameters()) + list(D.parameters()):
        p.requires_grad_(False)
    with torch.no_grad():
        fx = D(x)[1]
    rec = G(E(x))
    loss = F.mse_loss(rec, x) + kappa * F.mse_loss(D(rec)[1], fx)
    opt_e.zero_grad()
    loss.backward()
    opt_e.step()
    for p in list(G.parameters()) + list(D.parameters()):
        p.requires_grad_(True)
    G.train(), D.train()


def count(m):
    return sum(p.numel() for p in m.parameters())


def bench(name, iters):
    torch.manual_seed(0)
    if name == "fanogan":
        E, G, D, latent, shape, beta1 = Enc2d(), Gen2d(), Critic2d(), 128, (8, 1, 128, 128), 0.5
        reals = [torch.rand(shape) for _ in range(5)]
    else:
        E, G, D, latent, shape, beta1 = Enc3d(2500), Gen3d(2500), Critic3d(), 2500, (2, 1, 64, 64, 64), 0.0
        reals = [torch.rand(shape) * 2 - 1 for _ in range(5)]
    print(f"{name}: parameters G {count(G)}, D {count(D)}, E {count(E)}")
    opt_d = torch.optim.Adam(D.parameters(), 1e-4, betas=(beta1, 0.9))
    opt_g = torch.optim.Adam(G.parameters(), 1e-4, betas=(beta1, 0.9))
    opt_e = torch.optim.Adam(E.parameters(), 1e-4, betas=(0.5, 0.999))
    times = []
    for it in range(iters + 1):  # the first is a warm-up
        t0 = time.perf_counter()
        for x in reals:
            critic_step(G, D, opt_d, x, latent)
        generator_step(G, D, opt_g, shape[0], latent)
        if it:
            times.append(time.perf_counter() - t0)
    print(f"{name}: WGAN-GP iteration (5 critic + 1 generator step), batch {shape[0]}: "
          f"{min(times):.3f} s (min of {len(times)}), mean {sum(times) / len(times):.3f} s")
    t0 = time.perf_counter()
    izif_step(E, G, D, opt_e, reals[0])
    print(f"{name}: izi_f encoder step, batch {shape[0]}: {time.perf_counter() - t0:.3f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fanogan", choices=["fanogan", "fanogan3d", "both"])
    ap.add_argument("--iters", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(2)
    for name in (["fanogan", "fanogan3d"] if a.model == "both" else [a.model]):
        bench(name, a.iters)


if __name__ == "__main__":
    main()
