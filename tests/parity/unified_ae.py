"""The unified dense autoencoder of the Baur/Denner comparative study, functional PyTorch version.

The twin of bench/unified_ae.h (same parameter names, same layer order and constants); used by the
parity test (whole-network output, loss and every parameter gradient) and by bench/compare_torch.py.
Architecture (domain_spec.md §1.2; layer order as in [SD] models/customlayers.py, i.e. Conv → BN →
LeakyReLU; see bench/unified_ae.h for the discussion), input [N,1,128,128]:
  encoder  4 × [Conv2d 5×5 s2 p2 → BatchNorm → LeakyReLU(0.3)]   1→32→64→128→128, 128² → 8²
  bottleneck Conv1×1 128→16 → flatten (1024) → Linear 1024→128 = z → dropout
             → Linear 128→1024 → dropout → reshape [16,8,8] → Conv1×1 16→128
  D0       BatchNorm → ReLU
  decoder  4 × [ConvTranspose2d 5×5 s2 p2 op1 → BatchNorm → LeakyReLU(0.3)]  128→128→64→32→32
  out      Conv1×1 32→1 (identity)
Loss: L1 summed over pixels, averaged over the batch.
"""
import math

import torch
import torch.nn.functional as F

SLOPE = 0.3          # Keras LeakyReLU() default α
BN_EPS = 1e-3        # Keras/TF BatchNormalization default epsilon
BN_MOMENTUM = 0.01   # TF momentum 0.99 in PyTorch's convention (weight of the new statistic)
ENC_CH = [1, 32, 64, 128, 128]
DEC_CH = [128, 128, 64, 32, 32]
MID_CH = 16
ZDIM = 128


def bn_names(prefix):
    return [f"{prefix}_bn_w", f"{prefix}_bn_b", f"{prefix}_bn_rm", f"{prefix}_bn_rv"]


def buffer_names():
    """Running statistics, in the order the parity case returns them."""
    names = []
    for i in range(4):
        names += bn_names(f"enc{i}")[2:]
    names += bn_names("d0")[2:]
    for i in range(4):
        names += bn_names(f"dec{i}")[2:]
    return names


def _bn(h, p, prefix, training):
    return F.batch_norm(h, p[f"{prefix}_bn_rm"], p[f"{prefix}_bn_rv"], p[f"{prefix}_bn_w"], p[f"{prefix}_bn_b"],
                        training=training, momentum=BN_MOMENTUM, eps=BN_EPS)


def forward(p, x, training, dropout=0.2):
    """x: [N,1,S,S] → x̂ [N,1,S,S]. training: batch statistics (running buffers in p updated) and
    dropout active."""
    h = x
    for i in range(4):
        h = F.conv2d(h, p[f"enc{i}_w"], p[f"enc{i}_b"], stride=2, padding=2)
        h = F.leaky_relu(_bn(h, p, f"enc{i}", training), SLOPE)
    h = F.conv2d(h, p["mid_w"], p["mid_b"])
    n, mid_shape = h.shape[0], h.shape[1:]
    z = F.dropout(F.linear(h.flatten(1), p["fcz_w"], p["fcz_b"]), dropout, training)
    h = F.dropout(F.linear(z, p["fcd_w"], p["fcd_b"]), dropout, training)
    h = F.conv2d(h.reshape(n, *mid_shape), p["mid2_w"], p["mid2_b"])
    h = F.relu(_bn(h, p, "d0", training))
    for i in range(4):
        h = F.conv_transpose2d(h, p[f"dec{i}_w"], p[f"dec{i}_b"], stride=2, padding=2, output_padding=1)
        h = F.leaky_relu(_bn(h, p, f"dec{i}", training), SLOPE)
    return F.conv2d(h, p["out_w"], p["out_b"])


def loss_fn(x_hat, x):
    """L1 summed over pixels, averaged over the batch (domain_spec §1.1)."""
    return (x_hat - x).abs().sum() / x.shape[0]


def param_shapes(size=128, bottleneck=8):
    """name → shape of every tensor (parameters and running buffers)."""
    s = {}
    for i in range(4):
        s[f"enc{i}_w"] = (ENC_CH[i + 1], ENC_CH[i], 5, 5)
        s[f"enc{i}_b"] = (ENC_CH[i + 1],)
        for n in bn_names(f"enc{i}"):
            s[n] = (ENC_CH[i + 1],)
    s["mid_w"], s["mid_b"] = (MID_CH, ENC_CH[4], 1, 1), (MID_CH,)
    flat = MID_CH * bottleneck * bottleneck
    s["fcz_w"], s["fcz_b"] = (ZDIM, flat), (ZDIM,)
    s["fcd_w"], s["fcd_b"] = (flat, ZDIM), (flat,)
    s["mid2_w"], s["mid2_b"] = (DEC_CH[0], MID_CH, 1, 1), (DEC_CH[0],)
    for n in bn_names("d0"):
        s[n] = (DEC_CH[0],)
    for i in range(4):
        s[f"dec{i}_w"] = (DEC_CH[i], DEC_CH[i + 1], 5, 5)   # ConvTranspose: [Cin, Cout, k, k]
        s[f"dec{i}_b"] = (DEC_CH[i + 1],)
        for n in bn_names(f"dec{i}"):
            s[n] = (DEC_CH[i + 1],)
    s["out_w"], s["out_b"] = (1, DEC_CH[4], 1, 1), (1,)
    return s


def init_params(seed=0, size=128, bottleneck=8):
    """PyTorch-default-like init (uniform ±1/√fan_in; BN γ=1, β=0, mean 0, var 1). Parameters
    require grad; buffers do not. (Used by the benchmark; the parity test gets uad's values.)"""
    g = torch.Generator().manual_seed(seed)
    p = {}
    for n, shp in param_shapes(size, bottleneck).items():
        if n.endswith("_bn_w") or n.endswith("_bn_rv"):
            t = torch.ones(shp)
        elif n.endswith("_bn_b") or n.endswith("_bn_rm"):
            t = torch.zeros(shp)
        else:
            wshape = param_shapes(size, bottleneck)[n[:-2] + "_w"]
            fan_in = wshape[1] * math.prod(wshape[2:])
            bound = 1.0 / math.sqrt(fan_in)
            t = (torch.rand(shp, generator=g) * 2 - 1) * bound
        p[n] = t.requires_grad_(not (n.endswith("_rm") or n.endswith("_rv")))
    return p


def parity_case(i, p):
    """Inputs: x, target y (= x for a plain AE) and every tensor of param_shapes(); dropout off.
    Outputs: [loss, x̂, running buffers in buffer_names() order]."""
    params = {k: v for k, v in i.items() if k not in ("x", "y")}
    for n in buffer_names():
        params[n] = params[n].detach().clone()
    x_hat = forward(params, i["x"], p["training"], dropout=0.0)
    out = [loss_fn(x_hat, i["y"]), x_hat]
    return out + [params[n] for n in buffer_names()]
