#!/usr/bin/python3
"""PyTorch twins of the uad model registry (`uad models`), for the model table of issue 5
(bench/model_table.py): each twin has the layers of the uad model (models/*.h, whose header
comments are the layer tables; domain_spec §1-5) and performs one *logged training step* of the
uad trainer that `uad train` runs for that model — the same loss, optimisers (Adam, lr 1e-4, the
β of train/config.h or of the model's loop), batch size and inner-step counts:

  reconstruction   loss(x) → backward → Adam(β 0.5, 0.999)       (train/trainer.h)
  vae_gan          AnoVAEGAN: AE step, generator step, 5 WGAN-GP critic steps;
                   sAE-/sVAE-GAN: 1 BCE critic step (lr ×0.1) then AE step with adversarial term
                   (train/adversarial_loop.h vaegan_step)
  latent_adv.      Constrained AAE, epoch 1 (warm-up): 20 AE steps, 20 latent-critic steps,
                   1 encoder step (aae_step)
  wgan_gp          AnoGAN: 5 critic steps on the batch + 1 generator step
  wgan_gp_izif     f-AnoGAN: phase "gan" = one WGAN-GP iteration (n_critic critic steps, one real
                   batch each, + 1 generator step); phase "encoder" = one izi_f step (G, D frozen)
                   (train/gan_trainer.h)

Parameter counts are printed next to uad's (`uad models`); a mismatch is reported, not hidden.
Initialisation is PyTorch's default (irrelevant for timing). Data: the first slices (or volumes)
of the prepared dataset's train split when --data is given (else U[0,1) noise).

    /usr/bin/python3 bench/torch_models.py --list
    /usr/bin/python3 bench/torch_models.py --model ae_dense [--batch 8] [--steps 5] [--threads 2]
        [--data /tmp/evdata] [--n-critic 5] [--json]
--json prints one JSON object per phase: {"model", "phase", "params", "batch", "times": [...],
"median", "min"} (seconds per step; the first, warm-up step excluded from median/min).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

LR = 1e-4


# ---- losses (tensor/ops_loss.h reductions) ----------------------------------------------------------

def l1_sum_batch_mean(a, b):
    """Σ|a − b| / N (Reduction::batch_mean); the shapes must agree (no silent broadcasting)."""
    assert a.shape == b.shape, f"l1: {tuple(a.shape)} vs {tuple(b.shape)}"
    return (a - b).abs().sum() / a.shape[0]


def kl_std_batch_mean(mu, logvar):
    """½Σ(μ² + e^{logvar} − logvar − 1) / N (kl_normal_std, batch_mean)."""
    return 0.5 * (mu * mu + logvar.exp() - logvar - 1).sum() / mu.shape[0]


def gradient_penalty(critic, real, fake, eps, lam):
    """λ·mean_n(‖∇D(x̂)_n‖ − 1)², x̂ = ε·real + (1 − ε)·fake, norm over all non-batch dims
    (train/wgan_gp.h gradient_penalty). critic(x) → [N,1]."""
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    d = critic(x_hat)
    (g,) = torch.autograd.grad(d, x_hat, torch.ones_like(d), create_graph=True)
    return lam * ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def adam(params, betas):
    return torch.optim.Adam(params, lr=LR, betas=betas)


def minimise(opt, loss):
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


class Frozen:
    """Context: the given parameters get no gradients (requires_grad restored)."""

    def __init__(self, params):
        self.ps = list(params)

    def __enter__(self):
        self.flags = [p.requires_grad for p in self.ps]
        for p in self.ps:
            p.requires_grad_(False)

    def __exit__(self, *a):
        for p, f in zip(self.ps, self.flags):
            p.requires_grad_(f)


# ---- unified family (models/unified.h) ---------------------------------------------------------------

def unified_levels(s, b=8):
    return int(round(math.log2(s // b)))


def unified_norm(kind, c, s):
    if kind == "ln":
        return nn.LayerNorm([s, s], eps=1e-3)  # Keras LayerNormalization([1,2]): γ, β of shape [H,W]
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)  # Keras constants


class UnifiedEncoder(nn.Sequential):
    """n × [Conv 5×5 s2 p2 → Norm → LeakyReLU(0.3)], channels min(128, 32·2^i)."""

    def __init__(self, s=128, norm="bn", b=8):
        n = unified_levels(s, b)
        ch = [1] + [min(128, 32 << i) for i in range(n)]
        layers = []
        for i in range(n):
            s //= 2
            layers.append(nn.Sequential(nn.Conv2d(ch[i], ch[i + 1], 5, 2, 2), unified_norm(norm, ch[i + 1], s),
                                        nn.LeakyReLU(0.3)))
        super().__init__(*layers)


class UnifiedDecoder(nn.Sequential):
    """D0 Norm → ReLU, n × [ConvT 5×5 s2 p2 op1 → Norm → LeakyReLU(0.3)], Conv1×1 → 1."""

    def __init__(self, s=128, norm="bn", b=8):
        n = unified_levels(s, b)
        cin = min(128, 32 << (n - 1))
        ch = [cin] + [max(32, 128 >> i) for i in range(n)]
        layers = [unified_norm(norm, ch[0], b), nn.ReLU()]
        sz = b
        for i in range(n):
            sz *= 2
            layers.append(nn.Sequential(nn.ConvTranspose2d(ch[i], ch[i + 1], 5, 2, 2, output_padding=1),
                                        unified_norm(norm, ch[i + 1], sz), nn.LeakyReLU(0.3)))
        layers.append(nn.Conv2d(ch[-1], 1, 1))
        super().__init__(*layers)


class DenseBottleneck(nn.Module):
    def __init__(self, s=128, variational=False, zdim=128, b=8, dropout=0.2):
        super().__init__()
        c = min(128, 32 << (unified_levels(s, b) - 1))
        self.mid, self.b = c // 8, b
        flat = self.mid * b * b
        self.conv_in = nn.Conv2d(c, self.mid, 1)
        self.fc_z = nn.Linear(flat, zdim)
        self.fc_log_sigma = nn.Linear(flat, zdim) if variational else None
        self.fc_dec = nn.Linear(zdim, flat)
        self.conv_out = nn.Conv2d(self.mid, c, 1)
        self.dropout = nn.Dropout(dropout)

    def features(self, h):
        return self.conv_in(h).flatten(1)

    def head_z(self, f):
        return self.dropout(self.fc_z(f))

    def head_log_sigma(self, f):
        return self.dropout(self.fc_log_sigma(f))

    def decode(self, z):
        h = self.dropout(self.fc_dec(z)).view(z.shape[0], self.mid, self.b, self.b)
        return self.conv_out(h)


class UnifiedAE(nn.Module):
    def __init__(self, spatial=False, s=128):
        super().__init__()
        self.spatial = spatial
        self.encoder = UnifiedEncoder(s)
        if spatial:
            self.dropout = nn.Dropout(0.2)
        else:
            self.bottleneck = DenseBottleneck(s)
        self.decoder = UnifiedDecoder(s)

    def encode(self, x):
        h = self.encoder(x)
        return self.dropout(h) if self.spatial else self.bottleneck.head_z(self.bottleneck.features(h))

    def decode(self, z):
        return self.decoder(z if self.spatial else self.bottleneck.decode(z))

    def reconstruct(self, x):
        return self.decode(self.encode(x))

    def loss(self, x):
        return l1_sum_batch_mean(self.reconstruct(x), x)


def context_mask(x, size=20, kmin=1, kmax=3):
    """models/unified.h context_mask: per sample 1-3 zeroed size×size squares inside the bounding
    box of x > 0 (none when the box is too small)."""
    n, _, h, w = x.shape
    m = torch.ones(n, 1, h, w)
    u = torch.rand(n, 1 + 2 * kmax).tolist()
    pos = (x > 0).any(1)
    for i in range(n):
        rows = pos[i].any(1).nonzero().flatten()
        cols = pos[i].any(0).nonzero().flatten()
        if len(rows) == 0:
            continue
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
        k = kmin + min(int(u[i][0] * (kmax - kmin + 1)), kmax - kmin)
        if not (r0 < r1 - size and c0 < c1 - size):
            continue
        for j in range(k):
            r = r0 + min(int(u[i][1 + 2 * j] * (r1 - size - r0 + 1)), r1 - size - r0)
            q = c0 + min(int(u[i][2 + 2 * j] * (c1 - size - c0 + 1)), c1 - size - c0)
            m[i, :, r:r + size, q:q + size] = 0
    return m


class ContextAE(UnifiedAE):
    def loss(self, x):
        return l1_sum_batch_mean(self.reconstruct(x * context_mask(x)), x)


class ConstrainedAE(UnifiedAE):
    def loss(self, x):
        z = self.encode(x)
        x_hat = self.decode(z)
        z_rec = self.encode(x_hat)
        return F.mse_loss(x_hat, x) + F.mse_loss(z, z_rec)


class UnifiedVAE(nn.Module):
    def __init__(self, s=128):
        super().__init__()
        self.encoder = UnifiedEncoder(s)
        self.bottleneck = DenseBottleneck(s, variational=True)
        self.decoder = UnifiedDecoder(s)

    def encode(self, x):
        f = self.bottleneck.features(self.encoder(x))
        return self.bottleneck.head_z(f), self.bottleneck.head_log_sigma(f)

    def decode(self, z):
        return self.decoder(self.bottleneck.decode(z))

    def loss(self, x):
        mu, ls = self.encode(x)
        l1 = l1_sum_batch_mean(self.decode(mu + torch.randn_like(mu) * ls.exp()), x)
        return l1 + kl_std_batch_mean(mu, 2 * ls)


class ContextVAE(UnifiedVAE):
    def loss(self, x):
        total = super().loss(x)
        x_ce = x * context_mask(x)
        mu_ce = self.bottleneck.head_z(self.bottleneck.features(self.encoder(x_ce)))
        return total + l1_sum_batch_mean(self.decode(mu_ce), x)


# ---- GMVAE (models/gmvae.h) ---------------------------------------------------------------------------

class GMVAE(nn.Module):
    def __init__(self, spatial, K=9, dim_w=1, hidden=64, c_lambda=1.0):
        super().__init__()
        self.spatial, self.K, self.dw, self.cl = spatial, K, dim_w, c_lambda
        self.dz = 1 if spatial else 128
        zk = self.dz * K
        self.encoder = UnifiedEncoder(128)
        if not spatial:
            self.conv_in = nn.Conv2d(128, 16, 1)
            self.fc_w_mu, self.fc_w_logvar = nn.Linear(1024, dim_w), nn.Linear(1024, dim_w)
            self.fc_z_mu, self.fc_z_logvar = nn.Linear(1024, self.dz), nn.Linear(1024, self.dz)
            self.fc_dec, self.conv_out = nn.Linear(self.dz, 1024), nn.Conv2d(16, 128, 1)
            self.dropout = nn.Dropout(0.2)
            self.pzwc_mu, self.pzwc_logprec = nn.Linear(dim_w, zk), nn.Linear(dim_w, zk)
        else:
            self.w_mu, self.w_logvar = nn.Conv2d(128, dim_w, 1), nn.Conv2d(128, dim_w, 1)
            self.z_mu, self.z_logvar = nn.Conv2d(128, self.dz, 1), nn.Conv2d(128, self.dz, 1)
            self.conv_dec = nn.Conv2d(self.dz, 128, 1)
            self.pzwc_hidden = nn.Conv2d(dim_w, hidden, 1)
            self.pzwc_mu, self.pzwc_logprec = nn.Conv2d(hidden, zk, 1), nn.Conv2d(hidden, zk, 1)
        self.pzwc_logprec_bias = nn.Parameter(torch.full((zk,), 0.1))
        self.decoder = UnifiedDecoder(128)

    def loss(self, x):
        n, K, dz, dw = x.shape[0], self.K, self.dz, self.dw
        h = self.encoder(x)
        if not self.spatial:
            f = self.conv_in(h).flatten(1)
            w_mu, w_lv = self.dropout(self.fc_w_mu(f)).view(n, dw, 1), self.dropout(self.fc_w_logvar(f)).view(n, dw, 1)
            z_mu, z_lv = self.dropout(self.fc_z_mu(f)).view(n, dz, 1), self.fc_z_logvar(f).view(n, dz, 1)
            L = 1
        else:
            L = 64
            w_mu, w_lv = self.w_mu(h).view(n, dw, L), self.w_logvar(h).view(n, dw, L)
            z_mu, z_lv = self.z_mu(h).view(n, dz, L), self.z_logvar(h).view(n, dz, L)
        w = w_mu + torch.randn_like(w_mu) * (0.5 * w_lv).exp()
        z = z_mu + torch.randn_like(z_mu) * (0.5 * z_lv).exp()
        if not self.spatial:
            mu = self.pzwc_mu(w.view(n, dw)).view(n, dz, K, 1)
            lp = (self.pzwc_logprec(w.view(n, dw)) + self.pzwc_logprec_bias).view(n, dz, K, 1)
            hd = self.dropout(self.fc_dec(z.view(n, dz)))
            x_hat = self.decoder(self.conv_out(hd.view(n, 16, 8, 8)))
        else:
            hid = F.relu(self.pzwc_hidden(w.view(n, dw, 8, 8)))
            mu = self.pzwc_mu(hid).view(n, dz, K, L)
            lp = (self.pzwc_logprec(hid) + self.pzwc_logprec_bias.view(1, -1, 1, 1)).view(n, dz, K, L)
            x_hat = self.decoder(self.conv_dec(z.view(n, dz, 8, 8)))
        logits = ((z.unsqueeze(2) - mu) ** 2 * lp.exp() * (-0.5) - lp + math.log(math.pi)).sum(1)
        pc = torch.softmax(logits, 1)  # [N,K,L]
        m, lv = z_mu.unsqueeze(2), z_lv.unsqueeze(2)
        kl = ((lv.exp() + (m - mu) ** 2) * (lp.exp() + 1e-6) - lp - lv - 1) * 0.5
        kl_z = (kl * pc.unsqueeze(1)).sum() / n
        kl_w = kl_std_batch_mean(w_mu, w_lv)
        cp = (pc * torch.log(pc * K + 1e-8)).sum(1)
        c_prior = torch.maximum(cp, torch.full_like(cp, self.cl)).sum() / n
        return l1_sum_batch_mean(x_hat, x) + kl_z + kl_w + c_prior


# ---- Skip-AE and scale-space AE (models/skip_ae.h, models/scale_space_ae.h) ---------------------------

class SkipAE(nn.Module):
    def __init__(self, width=0.5):
        super().__init__()
        c = [max(1, round(width * b)) for b in (64, 128, 256, 512, 64)]
        enc = [1] + c

        def block(conv, co):
            return nn.Sequential(conv, nn.BatchNorm2d(co), nn.ReLU())
        self.down = nn.ModuleList([block(nn.Conv2d(enc[i], enc[i + 1], 5, 1 if i == 0 else 2, 2), enc[i + 1])
                                   for i in range(5)])
        self.up = nn.ModuleList([block(nn.ConvTranspose2d(enc[5 - i], enc[4 - i], 5, 2, 2, output_padding=1), enc[4 - i])
                                 for i in range(4)])
        self.drop = nn.ModuleList([nn.Dropout(0.1) for _ in range(3)])
        self.out = nn.Conv2d(c[0], 1, 1)

    def loss(self, x):
        e, h = [], x
        for d in self.down:
            h = d(h)
            e.append(h)
        y = self.up[0](e[4]) + e[3]
        y = self.drop[0](self.up[1](y) + e[2])
        y = self.drop[1](self.up[2](y) + e[1])
        y = self.drop[2](self.up[3](y) + e[0])
        return l1_sum_batch_mean(torch.sigmoid(self.out(y)), x)


class ScaleSpaceAE(nn.Module):
    def __init__(self, levels=3):
        super().__init__()
        self.levels = nn.ModuleList([UnifiedAE(False, 128 >> l) for l in range(levels)])

    def loss(self, x):
        p, g = [], x
        for _ in range(len(self.levels) - 1):
            nxt = F.avg_pool2d(g, 2, 2)
            p.append(g - F.interpolate(nxt, size=g.shape[2:], mode="bilinear", align_corners=False))
            g = nxt
        p.append(g)
        return sum(l1_sum_batch_mean(ae.reconstruct(t), t) for ae, t in zip(self.levels, p))


# ---- Baur 2018 (models/baur2018.h) and its GANs (models/adversarial.h) --------------------------------

def keras_bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class Baur2018(nn.Module):
    def __init__(self, latent, variational):
        super().__init__()
        ec, dc, zc = [64, 128, 256, 256], [256, 128, 64, 32], 64
        self.latent, self.variational = latent, variational
        zs = 1 if latent == "spatial16" else 2
        self.zsz = 16 // zs
        self.encoder = nn.Sequential(*[nn.Sequential(nn.Conv2d(1 if i == 0 else ec[i - 1], ec[i], 5, 2, 2), keras_bn(ec[i]),
                                                     nn.ReLU()) for i in range(4)])
        self.z_conv = nn.Conv2d(256, zc, 5, zs, 2)
        if variational and latent != "dense":
            self.z_log_sigma_conv = nn.Conv2d(256, zc, 5, zs, 2)
        if latent == "dense":
            flat = zc * self.zsz * self.zsz
            self.fc_z = nn.Linear(flat, 512)
            if variational:
                self.fc_log_sigma = nn.Linear(flat, 512)
            self.fc_dec = nn.Linear(512, flat)
        layers = [nn.ConvTranspose2d(zc, 256, 5, zs, 2, output_padding=zs - 1), keras_bn(256), nn.ReLU()]
        for i in range(4):
            layers.append(nn.Sequential(nn.ConvTranspose2d(256 if i == 0 else dc[i - 1], dc[i], 5, 2, 2, output_padding=1),
                                        keras_bn(dc[i]), nn.ReLU()))
        layers.append(nn.Conv2d(32, 1, 5, 1, 2))
        self.decoder = nn.Sequential(*layers)

    def encode(self, x):
        h = self.encoder(x)
        m = self.z_conv(h)
        if self.latent != "dense":
            return m, (self.z_log_sigma_conv(h) if self.variational else None)
        f = m.flatten(1)
        return self.fc_z(f), (self.fc_log_sigma(f) if self.variational else None)

    def decode(self, z):
        if self.latent == "dense":
            z = self.fc_dec(z).view(z.shape[0], 64, self.zsz, self.zsz)
        return self.decoder(z)

    def forward_loss(self, x):
        """(reconstruction loss, x̂) on a sampled z for a VAE (VaeGanModel::vae_forward)."""
        mu, ls = self.encode(x)
        if not self.variational:
            x_hat = self.decode(mu)
            return l1_sum_batch_mean(x_hat, x), x_hat
        x_hat = self.decode(mu + torch.randn_like(mu) * ls.exp())
        return l1_sum_batch_mean(x_hat, x) + kl_std_batch_mean(mu, 2 * ls), x_hat

    def loss(self, x):
        return self.forward_loss(x)[0]


class Baur2018Discriminator(nn.Module):
    def __init__(self, channels=(32, 64, 128, 256)):
        super().__init__()
        layers, cin = [], 1
        for c in channels:
            layers.append(nn.Sequential(nn.Conv2d(cin, c, 5, 2, 2), nn.LeakyReLU(0.2)))
            cin = c
        self.net, self.head = nn.Sequential(*layers), nn.Conv2d(cin, 1, 1)

    def forward(self, x):
        return self.head(self.net(x)).mean((2, 3))


class Baur2018Gan(nn.Module):
    """sAE-GAN / sVAE-GAN: per batch one BCE critic step (lr ×0.1) then the AE step with
    + BCE(D(x̂), 1); Adam β (0.9, 0.999) (models/adversarial.h registry options)."""

    def __init__(self, variational):
        super().__init__()
        self.vae = Baur2018("spatial16", variational)
        self.critic = Baur2018Discriminator()

    def make_step(self):
        opt_ae = adam(self.vae.parameters(), (0.9, 0.999))
        opt_d = torch.optim.Adam(self.critic.parameters(), lr=LR * 0.1, betas=(0.9, 0.999))
        bce = F.binary_cross_entropy_with_logits

        def step(x):
            with torch.no_grad():
                fake = self.vae.forward_loss(x)[1]
            lr_, lf = self.critic(x), self.critic(fake)
            minimise(opt_d, bce(lr_, torch.ones_like(lr_)) + bce(lf, torch.zeros_like(lf)))
            with Frozen(self.critic.parameters()):
                rec, x_hat = self.vae.forward_loss(x)
                l = self.critic(x_hat)
                total = rec + bce(l, torch.ones_like(l))
                minimise(opt_ae, total)
            return total.item()
        return step


class Critic2d(nn.Module):
    """Unified encoder with LayerNorm → per-location Conv1×1 → mean: (score [N,1], features)."""

    def __init__(self):
        super().__init__()
        self.net, self.head = UnifiedEncoder(128, "ln"), nn.Conv2d(128, 1, 1)

    def forward(self, x):
        return self.head(self.net(x)).mean((2, 3))


class AnoVAEGAN(nn.Module):
    """VAE step (L1sum + KL), generator step (−E D(x̂)), 5 WGAN-GP critic steps; Adam (0.5, 0.9)."""

    def __init__(self):
        super().__init__()
        self.encoder = UnifiedEncoder(128)
        self.bottleneck = DenseBottleneck(128, variational=True)
        self.generator = UnifiedDecoder(128, "ln")
        self.critic = Critic2d()

    def vae_forward(self, x):
        f = self.bottleneck.features(self.encoder(x))
        mu, ls = self.bottleneck.head_z(f), self.bottleneck.head_log_sigma(f)
        x_hat = self.generator(self.bottleneck.decode(mu + torch.randn_like(mu) * ls.exp()))
        return l1_sum_batch_mean(x_hat, x) + kl_std_batch_mean(mu, 2 * ls), x_hat

    def make_step(self, n_critic=5, lam=10.0):
        b = (0.5, 0.9)
        ae_params = list(self.encoder.parameters()) + list(self.bottleneck.parameters()) + list(self.generator.parameters())
        gen_params = (list(self.bottleneck.fc_dec.parameters()) + list(self.bottleneck.conv_out.parameters())
                      + list(self.generator.parameters()))
        gen_ids = {id(p) for p in gen_params}
        opt_ae, opt_g, opt_d = adam(ae_params, b), adam(gen_params, b), adam(self.critic.parameters(), b)
        D = self.critic

        def step(x):
            with Frozen(D.parameters()):
                rec, _ = self.vae_forward(x)
                minimise(opt_ae, rec)
            with Frozen(list(D.parameters()) + [p for p in ae_params if id(p) not in gen_ids]):
                minimise(opt_g, -D(self.vae_forward(x)[1]).mean())
            for _ in range(n_critic):
                with torch.no_grad():
                    fake = self.vae_forward(x)[1]
                eps = torch.rand(x.shape[0], 1, 1, 1)
                loss = D(fake).mean() - D(x).mean() + gradient_penalty(D, x, fake, eps, lam)
                minimise(opt_d, loss)
            return rec.item()
        return step


class LatentCritic(nn.Sequential):
    def __init__(self, zdim=128, hidden=(100, 50)):
        layers, cin = [], zdim
        for h in hidden:
            layers += [nn.Linear(cin, h), nn.LeakyReLU(0.2)]
            cin = h
        layers.append(nn.Linear(cin, 1))
        super().__init__(*layers)


class ConstrainedAAE(ConstrainedAE):
    """Epoch-1 step of aae_step: 20 AE steps (warm-up), 20 latent-critic steps, 1 encoder step."""

    def __init__(self):
        super().__init__(False, 128)
        self.latent_critic = LatentCritic()

    def make_step(self, ae_steps=20, critic_steps=20, lam=10.0):
        b = (0.5, 0.9)
        enc_params = (list(self.encoder.parameters()) + list(self.bottleneck.conv_in.parameters())
                      + list(self.bottleneck.fc_z.parameters()))
        ae_params = list(self.encoder.parameters()) + list(self.bottleneck.parameters()) + list(self.decoder.parameters())
        D = self.latent_critic
        opt_ae, opt_d, opt_e = adam(ae_params, b), adam(D.parameters(), b), adam(enc_params, b)

        def step(x):
            for _ in range(ae_steps):
                l = self.loss(x)
                minimise(opt_ae, l)
            n = x.shape[0]
            for _ in range(critic_steps):
                with torch.no_grad():
                    z = self.encode(x)
                z_p, eps = torch.randn(n, 128), torch.rand(n, 1)
                loss = D(z).mean() - D(z_p).mean() + gradient_penalty(D, z_p, z, eps, lam)
                minimise(opt_d, loss)
            with Frozen(D.parameters()):
                minimise(opt_e, -D(self.encode(x)).mean())
            return l.item()
        return step


# ---- MOOD VAE (models/mood_vae.h) ----------------------------------------------------------------------

class MoodVAE(nn.Module):
    def __init__(self, s=256, fmaps=(16, 64, 256, 1024), zdim=256):
        super().__init__()
        k, self.z = s >> len(fmaps), zdim
        enc, cin = [], 1
        for f in fmaps:
            enc.append(nn.Sequential(nn.Conv2d(cin, f, 3, 2, 1, bias=False), nn.LeakyReLU(0.01)))
            cin = f
        enc.append(nn.Conv2d(cin, 2 * zdim, k, 1, 0, bias=False))
        self.encoder = nn.Sequential(*enc)
        dec = [nn.Sequential(nn.ConvTranspose2d(zdim, fmaps[-1], k, 1, 0, bias=False), nn.LeakyReLU(0.01))]
        for i in range(len(fmaps) - 1, 0, -1):
            dec.append(nn.Sequential(nn.ConvTranspose2d(fmaps[i], fmaps[i - 1], 4, 2, 1, bias=False), nn.LeakyReLU(0.01)))
        dec.append(nn.ConvTranspose2d(fmaps[0], 1, 4, 2, 1, bias=False))
        self.decoder = nn.Sequential(*dec)

    def loss(self, x):
        y = self.encoder(x)
        mu, ls = y[:, :self.z], y[:, self.z:]
        x_hat = self.decoder(mu + torch.randn_like(mu) * ls.exp())
        return l1_sum_batch_mean(x_hat, x) + kl_std_batch_mean(mu, 2 * ls)


# ---- GAN models: f-AnoGAN 2-D/3-D (bench/fanogan_torch.py) and AnoGAN (models/anogan.h) ---------------

class DcganGenerator(nn.Module):
    def __init__(self, latent=64, ch=(512, 256, 128, 64, 32, 16)):
        super().__init__()
        self.c0 = ch[0]
        self.fc, self.bn0 = nn.Linear(latent, ch[0] * 16), nn.BatchNorm2d(ch[0])
        self.blocks = nn.Sequential(*[nn.Sequential(nn.ConvTranspose2d(ch[i - 1], ch[i], 4, 2, 1), nn.BatchNorm2d(ch[i]),
                                                    nn.ReLU()) for i in range(1, len(ch))])
        self.out = nn.ConvTranspose2d(ch[-1], 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn0(self.fc(z).view(z.shape[0], self.c0, 4, 4)))
        return torch.sigmoid(self.out(self.blocks(h)))


class DcganCritic(nn.Module):
    """→ (score [N,1], features [N, 512·16]) as fanogan_torch's critics."""

    def __init__(self, ch=(16, 32, 64, 128, 256, 512)):
        super().__init__()
        layers, cin = [], 1
        for c in ch:
            layers.append(nn.Sequential(nn.Conv2d(cin, c, 4, 2, 1), nn.LeakyReLU(0.2)))
            cin = c
        self.net, self.head = nn.Sequential(*layers), nn.Linear(cin * 16, 1)

    def forward(self, x):
        f = self.net(x).flatten(1)
        return self.head(f), f


class GanTwin(nn.Module):
    """Holder of G, D (and E) so that the parameter count covers the whole registry model."""

    def __init__(self, G, D, E=None):
        super().__init__()
        self.G, self.D = G, D
        if E is not None:
            self.E = E


# ---- the registry of twins ---------------------------------------------------------------------------

def reconstruction_step(model):
    opt = adam(model.parameters(), (0.5, 0.999))  # train/config.h: Adam(lr 1e-4, β 0.5, 0.999)

    def step(x):
        loss = model.loss(x)
        minimise(opt, loss)
        return loss.item()
    return step


def fanogan_twin(three_d, n_critic):
    """f-AnoGAN (2-D unified at 128², or 3-D 001 at 64³): phases {"gan", "encoder"}."""
    import fanogan_torch as ft
    if three_d:
        latent, E, G, D, beta1 = 2500, ft.Enc3d(2500), ft.Gen3d(2500), ft.Critic3d(), 0.0
    else:
        latent, E, G, D, beta1 = 128, ft.Enc2d(), ft.Gen2d(), ft.Critic2d(), 0.5
    model = GanTwin(G, D, E)
    opt_d, opt_g = adam(D.parameters(), (beta1, 0.9)), adam(G.parameters(), (beta1, 0.9))
    opt_e = adam(E.parameters(), (0.5, 0.999))  # phase 2: Adam(lr, β1, β2) of train/config.h
    to_net = (lambda x: 2 * x - 1) if three_d else (lambda x: x)

    def gan(batches):
        for x in batches:
            ft.critic_step(G, D, opt_d, to_net(x), latent)
        ft.generator_step(G, D, opt_g, batches[-1].shape[0], latent)

    def enc(x):
        ft.izif_step(E, G, D, opt_e, to_net(x))
    return model, {"gan": (gan, n_critic), "encoder": (enc, 1)}


def anogan_twin():
    import fanogan_torch as ft
    G, D = DcganGenerator(), DcganCritic()
    opt_d, opt_g = adam(D.parameters(), (0.0, 0.9)), adam(G.parameters(), (0.0, 0.9))

    def step(x):
        for _ in range(5):
            ft.critic_step(G, D, opt_d, x, 64)
        ft.generator_step(G, D, opt_g, x.shape[0], 64)
    return GanTwin(G, D), {"step": (step, 1)}


def single(model):
    step = model.make_step() if hasattr(model, "make_step") else reconstruction_step(model)
    return model, {"step": (step, 1)}


# name → (input "view", builder(n_critic) → (module, {phase: (fn, batches per call)}))
TWINS = {
    "ae_dense": ("slices128", lambda nc: single(UnifiedAE(False))),
    "ae_spatial": ("slices128", lambda nc: single(UnifiedAE(True))),
    "vae": ("slices128", lambda nc: single(UnifiedVAE())),
    "context_ae": ("slices128", lambda nc: single(ContextAE(False))),
    "context_vae": ("slices128", lambda nc: single(ContextVAE())),
    "constrained_ae": ("slices128", lambda nc: single(ConstrainedAE(False))),
    "fanogan": ("slices128", lambda nc: fanogan_twin(False, nc)),
    "gmvae_dense": ("slices128", lambda nc: single(GMVAE(False))),
    "gmvae_spatial": ("slices128", lambda nc: single(GMVAE(True))),
    "skip_ae": ("slices128", lambda nc: single(SkipAE())),
    "scale_space_ae": ("slices128", lambda nc: single(ScaleSpaceAE())),
    "dae": ("slices256", lambda nc: single(Baur2018("dense", False))),
    "sae_8": ("slices256", lambda nc: single(Baur2018("spatial8", False))),
    "sae_16": ("slices256", lambda nc: single(Baur2018("spatial16", False))),
    "dvae": ("slices256", lambda nc: single(Baur2018("dense", True))),
    "svae": ("slices256", lambda nc: single(Baur2018("spatial16", True))),
    "anovaegan": ("slices128", lambda nc: single(AnoVAEGAN())),
    "sae_gan": ("slices256", lambda nc: single(Baur2018Gan(False))),
    "svae_gan": ("slices256", lambda nc: single(Baur2018Gan(True))),
    "constrained_aae": ("slices128", lambda nc: single(ConstrainedAAE())),
    "anogan": ("slices256", lambda nc: anogan_twin()),
    "fanogan3d": ("vol64", lambda nc: fanogan_twin(True, nc)),
    "mood_vae": ("slices256", lambda nc: single(MoodVAE())),
}


def load_batches(data, view, batch, count):
    """`count` batches [B,1,S,S] (or [B,1,64,64,64]) from the train split of a prepared dataset
    (the slices with the most brain first), or U[0,1) noise without a dataset."""
    shape = {"slices128": (1, 128, 128), "slices256": (1, 256, 256), "vol64": (1, 64, 64, 64)}[view]
    need = batch * count
    items = []
    if data:
        import glob
        import nibabel as nib
        import numpy as np
        for f in sorted(glob.glob(os.path.join(data, view, "train", "*_image.nii.gz"))):
            a = np.asarray(nib.load(f).dataobj, dtype=np.float32)
            if view == "vol64":
                items.append(torch.from_numpy(a.copy()).view(*shape))
            else:  # [S,S,slices]: slice k = a[:,:,k]
                order = np.argsort(-(a > 0).sum((0, 1)))
                items += [torch.from_numpy(np.ascontiguousarray(a[:, :, k])).view(*shape) for k in order[:need]]
            if len(items) >= need:
                break
    while len(items) < need:
        items.append(items[len(items) % len(items)] if items else torch.rand(*shape))
    return [torch.stack(items[i * batch:(i + 1) * batch]) for i in range(count)]


def count_params(m):
    return sum(p.numel() for p in m.parameters())


def run(name, batch, steps, data, n_critic, budget=float("inf"), seed=0):
    """Builds the twin of `name` and times steps+1 calls of each phase (the first is a warm-up),
    stopping early once a phase has used `budget` seconds and has at least one timed call.
    Returns [{"model", "phase", "params", "batch", "times", "median", "min"}]."""
    view, build = TWINS[name]
    torch.manual_seed(seed)
    model, phases = build(n_critic)
    model.train()
    params = count_params(model)
    out = []
    for phase, (fn, per_call) in phases.items():
        batches = load_batches(data, view, batch, per_call)
        times = []
        for _ in range(steps + 1):
            t0 = time.perf_counter()
            fn(batches) if phase == "gan" else fn(batches[0])
            times.append(time.perf_counter() - t0)
            if len(times) >= 2 and sum(times) > budget:
                break
        timed = sorted(times[1:])
        med = timed[len(timed) // 2] if len(timed) % 2 else 0.5 * (timed[len(timed) // 2 - 1] + timed[len(timed) // 2])
        out.append({"model": name, "phase": phase, "params": params, "batch": batch, "n_critic": per_call,
                    "times": times, "median": med, "min": timed[0]})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="registry name (--list shows the twins)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--params-only", action="store_true", help="print the twin's parameter count and exit")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step (>= 1)")
    ap.add_argument("--budget", type=float, default=float("inf"),
                    help="seconds per phase after which timing stops (at least warm-up + 1 timed step)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="", help="prepared dataset folder (default: random inputs)")
    ap.add_argument("--n-critic", type=int, default=5, help="f-AnoGAN: real batches (critic steps) per WGAN-GP iteration")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.list:
        print("\n".join(f"{k} ({v[0]})" for k, v in TWINS.items()))
        return
    if a.steps < 1:
        sys.exit("torch_models.py: --steps must be >= 1")
    if a.model not in TWINS:
        sys.exit(f"torch_models.py: no twin for '{a.model}'; twins: {', '.join(TWINS)}")
    torch.set_num_threads(a.threads)
    if a.params_only:
        torch.manual_seed(0)
        print(count_params(TWINS[a.model][1](a.n_critic)[0]))
        return
    for r in run(a.model, a.batch, a.steps, a.data, a.n_critic, a.budget):
        if a.json:
            print(json.dumps(r))
        else:
            print(f"{r['model']} [{r['phase']}] params {r['params']:,}, batch {r['batch']}: median {r['median']:.3f} s, "
                  f"min {r['min']:.3f} s per step ({len(r['times']) - 1} timed)")


if __name__ == "__main__":
    main()
