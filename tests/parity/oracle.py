#!/usr/bin/python3
"""PyTorch side of the uad parity tests (see tests/parity/harness.h for the protocol).

Started once per C++ test process as `/usr/bin/python3 -u oracle.py`. It imports torch, prints
"ready torch <version>" (or "error ..." when torch cannot be imported), then serves requests, one
per stdin line: "<kind>\t<case dir>". For each request it reads <dir>/params.json and the inputs
<dir>/in_<name>.npy, runs CASES[kind](inputs, p) in the inputs' precision (float32, or float64
when the C++ side asks) with torch.set_num_threads(2), and
writes out_<i>.npy for every returned output and grad_<name>.npy (d outputs[0] / d input, seeded
with <dir>/gy.npy or 1 for a scalar) for every input listed in params["grad"]. It answers "ok", or
"error <message>" (one line) when the case fails.

A kind "gg_<kind>" is the second-order variant (see second_order below and
harness.h parity_second_order).

It can also be run by hand on a kept case directory (UAD_PARITY_KEEP=1):
    /usr/bin/python3 tests/parity/oracle.py --once <case dir>
"""
import json
import os
import sys
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    try:
        import numpy as np
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure means "install python3-torch"
        print(f"error cannot import torch/numpy ({type(e).__name__}: {e})", flush=True)
        return 1
    torch.set_num_threads(2)
    torch.set_default_dtype(torch.float32)
    from cases import CASES

    def run_case(kind, d):
        with open(os.path.join(d, "params.json")) as f:
            meta = json.load(f)
        base = kind[3:] if kind.startswith("gg_") else kind
        if base not in CASES:
            raise KeyError(f"unknown parity case kind '{kind}'")
        grad_names = meta["grad"]
        inputs = {}
        for name in meta["inputs"]:
            t = torch.from_numpy(np.load(os.path.join(d, f"in_{name}.npy")))  # f32, or f64 on request
            inputs[name] = t.requires_grad_(name in grad_names)
        if kind.startswith("gg_"):
            outs = second_order(CASES[base], inputs, meta["p"])
        else:
            outs = CASES[kind](inputs, meta["p"])
        if isinstance(outs, torch.Tensor):
            outs = [outs]
        if len(outs) != meta["n_out"]:
            raise ValueError(f"{kind}: torch returned {len(outs)} outputs, uad {meta['n_out']}")
        if grad_names:
            gy_path = os.path.join(d, "gy.npy")
            gy = torch.from_numpy(np.load(gy_path)) if os.path.exists(gy_path) else None
            grads = torch.autograd.grad(outs[0], [inputs[n] for n in grad_names], grad_outputs=gy, allow_unused=True)
            for n, g in zip(grad_names, grads):
                g = torch.zeros_like(inputs[n]) if g is None else g
                np.save(os.path.join(d, f"grad_{n}.npy"), g.detach().numpy())
        for i, o in enumerate(outs):
            np.save(os.path.join(d, f"out_{i}.npy"), o.detach().numpy())

    def second_order(case, inputs, p):
        """gg_<kind>: g = ∂(Σ f(inputs)[0]·__gy)/∂inputs[p["__wrt"]] with create_graph, and
        h = Σ g·__v; returns [h, g] (oracle then differentiates h: gradients of gradients)."""
        gy, v = inputs.pop("__gy"), inputs.pop("__v")
        out = case(inputs, p)[0]
        (g,) = torch.autograd.grad(out, inputs[p["__wrt"]], grad_outputs=gy, create_graph=True)
        return [(g * v).sum(), g]

    if len(sys.argv) == 3 and sys.argv[1] == "--once":
        d = sys.argv[2]
        with open(os.path.join(d, "params.json")) as f:
            run_case(json.load(f)["kind"], d)
        print("ok")
        return 0

    print(f"ready torch {torch.__version__}", flush=True)
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        kind, _, d = line.partition("\t")
        try:
            run_case(kind, d)
            print("ok", flush=True)
        except Exception as e:  # noqa: BLE001 - reported to the C++ side as a test failure
            traceback.print_exc(file=sys.stderr)
            msg = f"{type(e).__name__}: {e}".replace("\n", " ")
            print(f"error in case {kind}: {msg}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
