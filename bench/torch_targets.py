#!/usr/bin/python3
"""PyTorch twins of the three training steps of bench/bench_target_steps.cpp (issue 5's speed
targets), float32 on the CPU:

  vae   the unified VAE (models/unified.h UnifiedVAE, registry "vae") at 128², batch 8:
        encoder 4 × [Conv2d 5×5 s2 p2 → BatchNorm(eps 1e-3, momentum 0.01) → LeakyReLU(0.3)],
        channels 1→32→64→128→128; bottleneck Conv1×1 128→16 → flatten 1024 → Linear→128 twice
        (μ, log σ), each with dropout 0.2; z = μ + ε·exp(log σ); Linear 128→1024 → dropout →
        [N,16,8,8] → Conv1×1 16→128; decoder BN → ReLU, 4 × [ConvT 5×5 s2 p2 op1 → BN →
        LeakyReLU(0.3)] 128→128→64→32→32, Conv1×1 32→1.
        Loss = (Σ|x − x̂| + ½Σ(μ² + σ² − log σ² − 1)) / N (domain_spec §1.3).
  svae  Baur et al. 2018 sVAE (models/baur2018.h, registry "svae") at 256², batch 8:
        encoder 4 × [Conv2d 5×5 s2 p2 → BN → ReLU] 1→64→128→256→256 (16²); μ and log σ = two
        Conv2d 5×5 s1 p2 256→64; decoder ConvT 5×5 s1 p2 64→256 → BN → ReLU, 4 × [ConvT 5×5 s2 p2
        op1 → BN → ReLU] 256→256→128→64→32, Conv2d 5×5 p2 32→1. Same loss as vae.
  critic3d  one WGAN-GP critic update of the 3-D f-AnoGAN (models/fanogan3d.h, registry
        "fanogan3d") at 64³, batch 2, λ = 10: the networks and the step of bench/fanogan_torch.py
        (Critic3d, Gen3d with latent 2500, critic_step), Adam(1e-4, β = (0, 0.9)).
Both reconstruction steps use the trainer's Adam (lr 1e-4, β = (0.5, 0.999), eps 1e-8) and run in
training mode (batch statistics, dropout). Parameter counts are printed so that they can be
compared with uad's (bench/compare_targets.py asserts equality).

    /usr/bin/python3 bench/torch_targets.py [--threads 2] [--case vae|svae|critic3d|all] [--iters 3]
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fanogan_torch  # noqa: E402  (the 3-D f-AnoGAN twin: Critic3d, Gen3d, critic_step)


def bn2d(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)  # Keras constants (nn::BatchNormOptions::keras)


def kl_std(mu, log_sigma):
    """½Σ(μ² + σ² − log σ² − 1) / N with log σ² = 2·log σ (UnifiedVAE::kl_term)."""
    return 0.5 * (mu * mu + torch.exp(2 * log_sigma) - 2 * log_sigma - 1).sum() / mu.shape[0]


class UnifiedVAE(nn.Module):
    def __init__(self):
        super().__init__()
        enc, c = [], [1, 32, 64, 128, 128]
        for i in range(4):
            enc += [nn.Conv2d(c[i], c[i + 1], 5, 2, 2), bn2d(c[i + 1]), nn.LeakyReLU(0.3)]
        self.encoder = nn.Sequential(*enc)
        self.conv_in, self.fc_z, self.fc_log_sigma = nn.Conv2d(128, 16, 1), nn.Linear(1024, 128), nn.Linear(1024, 128)
        self.fc_dec, self.conv_out = nn.Linear(128, 1024), nn.Conv2d(16, 128, 1)
        self.drop = nn.Dropout(0.2)
        dec, d = [bn2d(128), nn.ReLU()], [128, 128, 64, 32, 32]
        for i in range(4):
            dec += [nn.ConvTranspose2d(d[i], d[i + 1], 5, 2, 2, output_padding=1), bn2d(d[i + 1]), nn.LeakyReLU(0.3)]
        dec += [nn.Conv2d(32, 1, 1)]
        self.decoder = nn.Sequential(*dec)

    def loss(self, x):
        f = self.conv_in(self.encoder(x)).flatten(1)
        mu, ls = self.drop(self.fc_z(f)), self.drop(self.fc_log_sigma(f))
        z = mu + torch.randn_like(mu) * torch.exp(ls)
        h = self.conv_out(self.drop(self.fc_dec(z)).view(-1, 16, 8, 8))
        x_hat = self.decoder(h)
        return (x_hat - x).abs().sum() / x.shape[0] + kl_std(mu, ls)


class BaurSVAE(nn.Module):
    def __init__(self):
        super().__init__()
        enc, c = [], [1, 64, 128, 256, 256]
        for i in range(4):
            enc += [nn.Conv2d(c[i], c[i + 1], 5, 2, 2), bn2d(c[i + 1]), nn.ReLU()]
        self.encoder = nn.Sequential(*enc)
        self.z_conv, self.z_log_sigma_conv = nn.Conv2d(256, 64, 5, 1, 2), nn.Conv2d(256, 64, 5, 1, 2)
        dec, d = [nn.ConvTranspose2d(64, 256, 5, 1, 2), bn2d(256), nn.ReLU()], [256, 256, 128, 64, 32]
        for i in range(4):
            dec += [nn.ConvTranspose2d(d[i], d[i + 1], 5, 2, 2, output_padding=1), bn2d(d[i + 1]), nn.ReLU()]
        dec += [nn.Conv2d(32, 1, 5, 1, 2)]
        self.decoder = nn.Sequential(*dec)

    def loss(self, x):
        h = self.encoder(x)
        mu, ls = self.z_conv(h), self.z_log_sigma_conv(h)
        x_hat = self.decoder(mu + torch.randn_like(mu) * torch.exp(ls))
        return (x_hat - x).abs().sum() / x.shape[0] + kl_std(mu, ls)


def count(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def make_case(name):
    """Returns (step, params, description): step() runs one training step; params is the trainable
    parameter count of the trained network (the critic for critic3d)."""
    torch.manual_seed(0)
    if name in ("vae", "svae"):
        model, side = (UnifiedVAE(), 128) if name == "vae" else (BaurSVAE(), 256)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.5, 0.999), eps=1e-8)
        x = torch.rand(8, 1, side, side)

        def step():
            loss = model.loss(x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss.item()
        return step, count(model), f"{name} {side}² batch 8"
    if name == "critic3d":
        G, D = fanogan_torch.Gen3d(2500), fanogan_torch.Critic3d()
        G.train(), D.train()
        opt_d = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
        real = torch.rand(2, 1, 64, 64, 64) * 2 - 1

        def step():
            fanogan_torch.critic_step(G, D, opt_d, real, 2500, lam=10.0)
        return step, count(D), "3-D f-AnoGAN critic step + GP 64³ batch 2"
    raise ValueError(f"unknown case {name!r} (vae, svae, critic3d)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--case", default="all", choices=["vae", "svae", "critic3d", "all"])
    ap.add_argument("--iters", type=int, default=3, help="timed steps after one warm-up step")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for name in (["vae", "svae", "critic3d"] if a.case == "all" else [a.case]):
        step, params, desc = make_case(name)
        step()
        times = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        print(f"{desc}: {params} parameters, {min(times):.3f} s/step (min of {len(times)}), "
              f"mean {sum(times) / len(times):.3f} s; threads {a.threads}")


if __name__ == "__main__":
    main()
