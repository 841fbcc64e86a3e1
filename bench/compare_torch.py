#!/usr/bin/python3
"""uad vs PyTorch on this machine: the same cases, the same number of threads.

Runs the uad Google Benchmark binaries (bench_train_step, bench_conv) from a build directory with
--benchmark_format=json, times the same cases in PyTorch (CPU, float32), and prints a table
    case | uad ms | torch ms | torch/uad
(a ratio > 1 means uad is faster). Times are wall-clock per iteration (uad: the benchmarks'
real_time, they use UseRealTime; torch: the mean of timed iterations after warm-up), each the
minimum over --repetitions runs of ≥ --min-time seconds, the two engines alternating case by
case and repetition by repetition. On these shared 2-core machines another process's load
inflates 2-thread OpenMP timings by up to ~80× (a parallel region waits for a descheduled
thread), so the minimum of alternating runs is the least disturbed and fairest estimate; the
load average is printed with the table. Check `uptime` first.

Cases:
  train_step      the unified dense AE (bench/unified_ae.h, tests/parity/unified_ae.py) at 128²,
                  batch 8: forward (BN training mode, dropout 0.2), L1-sum loss, backward,
                  Adam(lr 1e-4, β = (0.5, 0.999))
  inference       the same AE, eval mode, no grad, batch 8 (also shown per slice)
  conv cases      (bench/bench_conv.cpp op/… forward and step/… forward+backward, same names):
                  conv2d 5×5 stride 2 and its transpose at 128² and 256², batch 8; conv3d 4×4×4
                  stride 2 at 64³, batch 2

Usage (use /usr/bin/python3: it has torch):
    /usr/bin/python3 bench/compare_torch.py --build build [--threads 2] [--min-time 0.3] [--repetitions 5]
        [--filter REGEX] [--json out.json]          (the whole table takes about a minute)
The uad binaries get OMP_NUM_THREADS and OPENBLAS_NUM_THREADS = --threads; torch gets
torch.set_num_threads(--threads). A missing binary or benchmark is reported in the table, not
fatal. Reference (the issue, PyTorch + OpenBLAS, 2 threads on these machines): ≈0.95 s per
training step and ≈22 ms per slice at inference.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "tests", "parity"))


# ---- cases -------------------------------------------------------------------------------------
# Each case: name, uad binary, uad benchmark name (as in its JSON, minus "/real_time"), and a torch
# setup function returning a zero-argument callable that runs one iteration.
def torch_train_step(torch, F, batch=8):
    import unified_ae as ae
    p = ae.init_params(seed=1)
    params = [t for n, t in p.items() if t.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-4, betas=(0.5, 0.999))
    x = torch.rand(batch, 1, 128, 128)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ae.loss_fn(ae.forward(p, x, training=True, dropout=0.2), x)
        loss.backward()
        opt.step()
    return step


def torch_inference(torch, F, batch=8):
    import unified_ae as ae
    p = ae.init_params(seed=1)
    x = torch.rand(batch, 1, 128, 128)

    def run():
        with torch.no_grad():
            ae.forward(p, x, training=False)
    return run


def torch_conv(torch, F, x_shape, w_shape, stride, padding, output_padding=None, train=False):
    """One bench_conv op/ or step/ case: a conv (or transposed conv, when output_padding is
    given) with bias; with train, forward + backward of Σ y (ones as the output gradient) into
    w, b and x — x only when it has more than one channel (an image needs no gradient), exactly
    as bench_conv's BM_OpConv / BM_OpTranspose."""
    rank = len(x_shape) - 2
    transposed = output_padding is not None
    x = torch.rand(*x_shape)
    w = torch.rand(*w_shape)
    b = torch.rand(w_shape[1] if transposed else w_shape[0])
    if train:
        w.requires_grad_()
        b.requires_grad_()
        x.requires_grad_(transposed or x_shape[1] > 1)
    if transposed:
        fn = F.conv_transpose2d if rank == 2 else F.conv_transpose3d
        f = lambda: fn(x, w, b, stride=stride, padding=padding, output_padding=output_padding)  # noqa: E731
    else:
        fn = F.conv2d if rank == 2 else F.conv3d
        f = lambda: fn(x, w, b, stride=stride, padding=padding)  # noqa: E731

    def run():
        if train:
            y = f()
            y.backward(torch.ones_like(y))
            x.grad = w.grad = b.grad = None
        else:
            with torch.no_grad():
                f()
    return run


def make_cases():
    cases = [
        ("train_step AE 128² b8", "bench_train_step", "BM_TrainStep/batch:8", torch_train_step),
        ("inference AE 128² b8", "bench_train_step", "BM_Inference/batch:8", torch_inference),
    ]
    # Conv cases of the issue, named as in bench/bench_conv.cpp (op/… = forward with bias,
    # step/… = forward + backward): conv2d 5×5 s2 p2 1→32 at 128² and 256², batch 8; its
    # transpose 32→32 (s2 p2 output_padding 1) to 128² and 256², batch 8; conv3d 4×4×4 s2 p1
    # 1→64 at 64³, batch 2.
    conv = [
        ("conv2d 5x5 s2 1→32 128²", "conv/enc1_1to32_128", [8, 1, 128, 128], [32, 1, 5, 5], 2, 2, None),
        ("conv2d 5x5 s2 1→32 256²", "conv/enc1_1to32_256", [8, 1, 256, 256], [32, 1, 5, 5], 2, 2, None),
        ("convT2d 5x5 s2 32→32 →128²", "conv_transpose2d/dec4_32to32_64", [8, 32, 64, 64], [32, 32, 5, 5], 2, 2, 1),
        ("convT2d 5x5 s2 32→32 →256²", "conv_transpose2d/dec4_32to32_128", [8, 32, 128, 128], [32, 32, 5, 5], 2, 2, 1),
        ("conv3d 4³ s2 1→64 64³ b2", "conv/v1_1to64_64c", [2, 1, 64, 64, 64], [64, 1, 4, 4, 4], 2, 1, None),
    ]
    for label, bname, xs, ws, st, pd, op in conv:
        for prefix, train in (("op", False), ("step", True)):
            setup = (lambda a, t: (lambda torch, F: torch_conv(torch, F, *a, train=t)))((xs, ws, st, pd, op), train)
            cases.append((f"{label} {'fwd+bwd' if train else 'fwd'}", "bench_conv", f"{prefix}/{bname}", setup))
    return cases


# ---- timing ------------------------------------------------------------------------------------
def time_torch(run, min_time, repetitions, warmup=1, min_iters=2):
    """Mean wall time per iteration (ms) of each of `repetitions` runs of ≥ min_time seconds;
    returns the minimum over the repetitions (robust to other load on a shared machine)."""
    for _ in range(warmup):
        run()
    best = float("inf")
    for _ in range(repetitions):
        n, t0 = 0, time.perf_counter()
        while True:
            run()
            n += 1
            el = time.perf_counter() - t0
            if n >= min_iters and el >= min_time:
                break
        best = min(best, el / n * 1e3)
    return best


def run_uad(build, binary, names, threads, min_time, repetitions):
    """Runs one uad benchmark binary for the given benchmark names. Returns (results, error,
    fatal): results maps name → the minimum over the repetitions of the mean wall time per
    iteration (ms); error explains a missing result; fatal means the binary itself is unusable
    (missing or crashing), so further calls are pointless."""
    path = os.path.join(build, "bench", binary)
    if not os.path.exists(path):
        return {}, f"{path} not found (build it: cmake --build {build} --target {binary})", True
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    cmd = [path, "--benchmark_format=json", f"--benchmark_min_time={min_time}",
           f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=false",
           "--benchmark_filter=^(" + "|".join(re.escape(n) for n in names) + ")(/real_time)?$"]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {}, f"{binary}: {e}", True
    if "Failed to match any benchmarks" in r.stderr:
        return {}, f"{binary} has no benchmark {', '.join(names)}", False
    if r.returncode != 0:
        return {}, f"{binary} exited with {r.returncode}: {r.stderr.strip()[-300:]}", True
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        return {}, f"{binary}: cannot parse JSON output ({e})", True
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    out = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") == "iteration" and not b.get("error_occurred"):
            name = b["name"][:-len("/real_time")] if b["name"].endswith("/real_time") else b["name"]
            ms = b["real_time"] * scale[b.get("time_unit", "ns")]
            out[name] = min(ms, out.get(name, float("inf")))
    return out, None if out else f"{binary}: no result for {', '.join(names)}", False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="uad build directory (default: build)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both engines (default 2)")
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per repetition (default 0.3)")
    ap.add_argument("--repetitions", type=int, default=5,
                    help="repetitions per case and engine; the fastest is reported (default 5)")
    ap.add_argument("--filter", default="", help="regex on case names")
    ap.add_argument("--no-torch", action="store_true", help="only run uad")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    cases = [c for c in make_cases() if re.search(args.filter, c[0])]
    if not cases:
        sys.exit(f"no case matches --filter {args.filter!r}")

    torch = F = None
    if not args.no_torch:
        try:
            import torch
            import torch.nn.functional as F
        except ImportError as e:
            sys.exit(f"cannot import torch ({e}); run with /usr/bin/python3 (apt-get install python3-torch)")
        torch.set_num_threads(args.threads)
        torch.manual_seed(0)

    # The engines alternate, case by case and repetition by repetition, so that both see the
    # same machine load; each keeps its fastest repetition.
    load0 = os.getloadavg()[0]
    uad, torch_ms, errors, dead = {}, {}, {}, set()
    for name, binary, bname, setup in cases:
        run = setup(torch, F) if torch is not None else None
        for _ in range(args.repetitions):
            if binary not in dead and bname not in errors:
                res, err, fatal = run_uad(args.build, binary, [bname], args.threads, args.min_time, 1)
                if err:
                    errors[bname] = err
                    print(f"uad: {err}", file=sys.stderr)
                if fatal:
                    dead.add(binary)
                if bname in res:
                    uad[bname] = min(res[bname], uad.get(bname, float("inf")))
            if run is not None:
                torch_ms[name] = min(time_torch(run, args.min_time, 1), torch_ms.get(name, float("inf")))
        run = None

    rows = []
    print(f"threads {args.threads}; wall-clock ms per iteration, fastest of {args.repetitions} "
          f"repetitions of ≥ {args.min_time} s; load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"| {'case':<34} | {'uad ms':>10} | {'torch ms':>10} | {'torch/uad':>9} |")
    print(f"|{'-' * 36}|{'-' * 11}:|{'-' * 11}:|{'-' * 10}:|")
    for name, binary, bname, _ in cases:
        u = uad.get(bname)
        t = torch_ms.get(name)
        us = f"{u:10.2f}" if u is not None else f"{'missing':>10}"
        ts = f"{t:10.2f}" if t is not None else f"{'-':>10}"
        ratio = f"{t / u:9.2f}" if (u and t) else f"{'-':>9}"
        print(f"| {name:<34} | {us} | {ts} | {ratio} |")
        rows.append({"case": name, "uad_benchmark": f"{binary}:{bname}", "uad_ms": u, "torch_ms": t})
        if name.startswith("inference") and (u or t):
            per = lambda v: f"{v / 8:10.2f}" if v else f"{'-':>10}"  # noqa: E731
            print(f"| {'  per slice':<34} | {per(u)} | {per(t)} | {ratio} |")
    missing = [r["uad_benchmark"] for r in rows if r["uad_ms"] is None]
    if missing:
        print("\nuad results missing for: " + ", ".join(missing), file=sys.stderr)
        for b, e in errors.items():
            print(f"  {b}: {e}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "repetitions": args.repetitions, "min_time": args.min_time,
                       "rows": rows, "errors": errors}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
