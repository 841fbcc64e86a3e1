#!/usr/bin/python3
"""PyTorch side of tests/test_safetensors.cpp `Safetensors.PyTorchLoadsTheSameModule`: the uad layers'
state dicts load into the same torch.nn modules, and give the same outputs.

Usage: /usr/bin/python3 module_check.py <case dir>
The dir holds model.safetensors (uad's state dict of the two nets below, read here with the plain
Python reader of safetensors_check.py), x2.npy [2,1,8,8] and x3.npy [1,1,4,4,4]. The script
 - builds the nets with torch.nn, loads the state dict (strict: only PyTorch's
   num_batches_tracked buffers may be missing, nothing may be unexpected),
 - writes eval-mode outputs eval2.npy, eval3.npy,
 - then one train-mode forward each: train2.npy, train3.npy and the updated running statistics
   <key>.npy for every running_mean/running_var (momentum conventions).
Prints "ok torch <version>", or "error ..." and exits 1.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def nets(nn):
    net2 = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1),
        nn.BatchNorm2d(4, eps=1e-3, momentum=0.01),  # Keras constants
        nn.LeakyReLU(0.3),
        nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
        nn.InstanceNorm2d(3, affine=True),
        nn.ELU(),
        nn.LayerNorm([3, 8, 8]),
        nn.Flatten(),
        nn.Linear(192, 5),
        nn.Tanh(),
    )
    net3 = nn.Sequential(
        nn.Conv3d(1, 2, 3, padding=1, bias=False),
        nn.BatchNorm3d(2),
        nn.ReLU(),
        nn.ConvTranspose3d(2, 1, 4, stride=2, padding=1),
        nn.Sigmoid(),
        nn.Softplus(),
    )
    return net2, net3


def main():
    try:
        import numpy as np
        import torch
        from torch import nn
    except Exception as e:  # noqa: BLE001
        print(f"error cannot import torch/numpy ({type(e).__name__}: {e}); "
              "install it: sudo apt-get install -y python3-torch python3-numpy")
        return 1
    from safetensors_check import read
    torch.set_num_threads(1)
    d = sys.argv[1]
    try:
        _, _, tensors = read(os.path.join(d, "model.safetensors"))
        sd = {k: torch.from_numpy(a.copy()) for k, (_, a) in tensors.items()}
        net2, net3 = nets(nn)
        for prefix, net in (("net2.", net2), ("net3.", net3)):
            part = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
            res = net.load_state_dict(part, strict=False)
            missing = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
            if missing or res.unexpected_keys:
                raise ValueError(f"{prefix}: missing {missing}, unexpected {res.unexpected_keys}")
        x2 = torch.from_numpy(np.load(os.path.join(d, "x2.npy")))
        x3 = torch.from_numpy(np.load(os.path.join(d, "x3.npy")))
        with torch.no_grad():
            net2.eval()
            net3.eval()
            np.save(os.path.join(d, "eval2.npy"), net2(x2).numpy())
            np.save(os.path.join(d, "eval3.npy"), net3(x3).numpy())
            net2.train()
            net3.train()
            np.save(os.path.join(d, "train2.npy"), net2(x2).numpy())
            np.save(os.path.join(d, "train3.npy"), net3(x3).numpy())
        for prefix, net in (("net2.", net2), ("net3.", net3)):
            for k, v in net.state_dict().items():
                if "running_" in k:
                    np.save(os.path.join(d, prefix + k + ".npy"), v.numpy())
    except Exception as e:  # noqa: BLE001
        print(f"error {type(e).__name__}: {e}".replace("\n", " "))
        return 1
    print(f"ok torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
