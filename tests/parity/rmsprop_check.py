#!/usr/bin/python3
"""PyTorch side of tests/test_rmsprop.cpp: torch.optim.RMSprop on the same parameters and gradients.

Usage: /usr/bin/python3 rmsprop_check.py <case dir> [<case dir> ...]
Each case dir holds (written by the C++ test with the parity harness' npy writer):
  params.json   {"options": {"lr", "alpha", "eps", "weight_decay", "momentum", "centered"}, "steps": K}
  in_p.npy      the initial parameter (f32 or f64)
  in_g<k>.npy   the gradient fed at step k = 0..K-1
and receives out_<k>.npy, the parameter after step k. One process serves every case (importing
torch costs ~1 s). Prints "ok <n>" on success; on failure prints "error ..." and exits 1.
"""
import json
import os
import sys

sys.dont_write_bytecode = True


def run(d, np, torch):
    with open(os.path.join(d, "params.json")) as f:
        meta = json.load(f)
    o = meta["options"]
    p = torch.from_numpy(np.load(os.path.join(d, "in_p.npy"))).clone().requires_grad_(True)
    opt = torch.optim.RMSprop([p], lr=o["lr"], alpha=o["alpha"], eps=o["eps"], weight_decay=o["weight_decay"],
                              momentum=o["momentum"], centered=o["centered"])
    for k in range(meta["steps"]):
        p.grad = torch.from_numpy(np.load(os.path.join(d, f"in_g{k}.npy"))).clone()
        opt.step()
        np.save(os.path.join(d, f"out_{k}.npy"), p.detach().numpy())


def main():
    try:
        import numpy as np
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure means "install python3-torch"
        print(f"error cannot import torch/numpy ({type(e).__name__}: {e}); "
              "install it: sudo apt-get install -y python3-torch python3-numpy")
        return 1
    torch.set_num_threads(1)
    try:
        for d in sys.argv[1:]:
            run(d, np, torch)
    except Exception as e:  # noqa: BLE001 - reported to the C++ side as a test failure
        print(f"error {type(e).__name__}: {e}".replace("\n", " "))
        return 1
    print(f"ok {len(sys.argv) - 1} torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
