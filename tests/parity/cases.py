"""PyTorch reference implementations of the uad parity cases.

Each case is `fn(inputs: dict[str, Tensor], p: dict) -> list[Tensor]`; inputs are float32 leaves
named as on the C++ side, p holds the case parameters (tests/parity/harness.h `Params`). The
gradient of outputs[0] is taken by oracle.py. Layers use torch.nn.functional (PyTorch semantics are
what the uad headers promise); the KL terms and the Gaussian NLL have no torch op with the same
convention and are written out with the formula of tensor/ops_loss.h.
"""
import math

import torch
import torch.nn.functional as F

import unified_ae
import wgan_gp


def _opt(inputs, name):
    return inputs.get(name)


# ---- linear algebra ------------------------------------------------------------------------
def linear(i, p):
    return [F.linear(i["x"], i["w"], _opt(i, "b"))]


def matmul(i, p):
    return [torch.matmul(i["a"], i["b"])]


# ---- convolutions --------------------------------------------------------------------------
def _conv(fn):
    def run(i, p):
        return [fn(i["x"], i["w"], _opt(i, "b"), stride=_one(p["stride"]), padding=_one(p["padding"]),
                   dilation=_one(p["dilation"]))]
    return run


def _conv_t(fn):
    def run(i, p):
        return [fn(i["x"], i["w"], _opt(i, "b"), stride=_one(p["stride"]), padding=_one(p["padding"]),
                   output_padding=_one(p["output_padding"]), dilation=_one(p["dilation"]))]
    return run


# ---- normalisation -------------------------------------------------------------------------
def batch_norm(i, p):
    rm = i["running_mean"].detach().clone()
    rv = i["running_var"].detach().clone()
    y = F.batch_norm(i["x"], rm, rv, _opt(i, "weight"), _opt(i, "bias"), training=p["training"],
                     momentum=p["momentum"], eps=p["eps"])
    return [y, rm, rv]


def layer_norm(i, p):
    x = i["x"]
    shape = x.shape[x.dim() - p["normalized_ndim"]:]
    return [F.layer_norm(x, shape, _opt(i, "weight"), _opt(i, "bias"), eps=p["eps"])]


def instance_norm(i, p):
    return [F.instance_norm(i["x"], weight=_opt(i, "weight"), bias=_opt(i, "bias"), eps=p["eps"])]


def group_norm(i, p):
    return [F.group_norm(i["x"], p["groups"], _opt(i, "weight"), _opt(i, "bias"), eps=p["eps"])]


# ---- pooling, upsampling, padding ----------------------------------------------------------
def _one(v):
    """uad's single-entry geometry lists apply to every spatial dim; torch wants an int then."""
    return v[0] if isinstance(v, list) and len(v) == 1 else v


def _pool(fn):
    def run(i, p):
        stride = _one(p["stride"]) if p["stride"] else None
        return [fn(i["x"], _one(p["kernel"]), stride=stride, padding=_one(p["padding"]))]
    return run


def upsample_nearest(i, p):
    return [F.interpolate(i["x"], size=p["size"], mode="nearest")]


def upsample_linear(i, p):
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(p["size"])]
    return [F.interpolate(i["x"], size=p["size"], mode=mode, align_corners=p["align_corners"])]


def pad(i, p):
    mode = {"zero": "constant", "replicate": "replicate"}[p["mode"]]
    return [F.pad(i["x"], p["pads"], mode=mode)]


# ---- softmax and activations ---------------------------------------------------------------
def softmax(i, p):
    return [F.softmax(i["x"], dim=p["dim"])]


def log_softmax(i, p):
    return [F.log_softmax(i["x"], dim=p["dim"])]


def activation(i, p):
    x, n = i["x"], p["name"]
    if n == "relu":
        return [F.relu(x)]
    if n == "leaky_relu":
        return [F.leaky_relu(x, p["slope"])]
    if n == "elu":
        return [F.elu(x, p["alpha"])]
    if n == "tanh":
        return [torch.tanh(x)]
    if n == "sigmoid":
        return [torch.sigmoid(x)]
    if n == "softplus":
        return [F.softplus(x)]
    raise KeyError(f"unknown activation {n}")


# ---- losses --------------------------------------------------------------------------------
def reduce(l, r):
    """tensor/ops_loss.h Reduction: batch_mean = sum over each sample, mean over dim 0."""
    if r == "none":
        return l
    if r == "mean":
        return l.mean()
    if r == "sum":
        return l.sum()
    if r == "batch_mean":
        return l.sum() / l.shape[0]
    raise KeyError(r)


def _torch_reduction(r):
    return r if r in ("none", "mean", "sum") else "sum"


def loss(i, p):
    n, r = p["name"], p["reduction"]
    # torch's own losses for the three it has, rescaled for batch_mean.
    scale = 1.0 / i["x"].shape[0] if r == "batch_mean" else 1.0
    if n == "l1":
        return [F.l1_loss(i["x"], i["y"], reduction=_torch_reduction(r)) * scale]
    if n == "mse":
        return [F.mse_loss(i["x"], i["y"], reduction=_torch_reduction(r)) * scale]
    if n == "bce_with_logits":
        return [F.binary_cross_entropy_with_logits(i["x"], i["y"], reduction=_torch_reduction(r)) * scale]
    if n == "kl_normal_std":
        # ½ Σ (μ² + e^{logvar} − logvar − 1), Kingma & Welling 2014 App. B
        mu, lv = i["x"], i["logvar"]
        return [reduce(0.5 * (mu * mu + torch.exp(lv) - lv - 1.0), r)]
    if n == "kl_normal":
        # ½ (lv₂ − lv₁ + (e^{lv₁} + (μ₁−μ₂)²)/e^{lv₂} − 1)
        mu1, lv1, mu2, lv2 = i["x"], i["logvar"], i["mu2"], i["logvar2"]
        return [reduce(0.5 * (lv2 - lv1 + (torch.exp(lv1) + (mu1 - mu2) ** 2) / torch.exp(lv2) - 1.0), r)]
    if n == "gaussian_nll":
        # ½ (logvar + (x−μ)²/e^{logvar}) [+ ½ log 2π]
        x, mu, lv = i["x"], i["y"], i["logvar"]
        l = 0.5 * (lv + (x - mu) ** 2 / torch.exp(lv))
        if p["full"]:
            l = l + 0.5 * math.log(2 * math.pi)
        return [reduce(l, r)]
    raise KeyError(f"unknown loss {n}")


CASES = {
    "linear": linear,
    "matmul": matmul,
    "conv2d": _conv(F.conv2d),
    "conv3d": _conv(F.conv3d),
    "conv_transpose2d": _conv_t(F.conv_transpose2d),
    "conv_transpose3d": _conv_t(F.conv_transpose3d),
    "batch_norm": batch_norm,
    "layer_norm": layer_norm,
    "instance_norm": instance_norm,
    "group_norm": group_norm,
    "avg_pool2d": _pool(F.avg_pool2d),
    "avg_pool3d": _pool(F.avg_pool3d),
    "max_pool2d": _pool(F.max_pool2d),
    "max_pool3d": _pool(F.max_pool3d),
    "upsample_nearest": upsample_nearest,
    "upsample_linear": upsample_linear,
    "pad": pad,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "activation": activation,
    "loss": loss,
    "unified_ae": unified_ae.parity_case,
    "wgan_gp": wgan_gp.parity_case,
}
