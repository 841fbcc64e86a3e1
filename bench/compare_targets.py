#!/usr/bin/python3
"""uad vs PyTorch on the issue's speed targets (issue 5, benchmarks): seconds per training step.

  case                         uad (bench/bench_target_steps.cpp)   PyTorch (bench/torch_targets.py)   target
  VAE 128² b8                  BM_VaeStep128/batch:8                 vae                                 ≥ 3×
  sVAE (Baur 2018) 256² b8     BM_SvaeStep256/batch:8                svae                                ≥ 3×
  f-AnoGAN 3-D critic+GP 64³ b2 BM_Fanogan3dCriticGpStep/batch:2     critic3d                            ≥ 1.5×

The engines alternate, case by case and repetition by repetition; each keeps the fastest of
--repetitions runs (the least disturbed on a shared 2-core machine, see bench/compare_torch.py).
uad: one run of the benchmark binary per repetition (its real_time: the mean over the steps of
≥ --min-time seconds, after an untimed warm-up step); torch: the mean over the steps of ≥
--min-time seconds (at least one) after one warm-up step. Beside the wall time, the CPU time of the
whole process (all threads; uad: the benchmark's MeasureProcessCPUTime, torch: time.process_time)
per step, also the fastest run: with OMP_WAIT_POLICY=PASSIVE (no spinning) it is the work done,
which other processes' load inflates less than the wall time — its ratio is a load-robust
estimate of the speed-up (on an idle machine wall ≈ CPU / threads). The parameter counts of the uad models
(the benchmark's `params` counter) must equal the twins' — a mismatch is an error (the networks
would not be twins). Prints
    case | uad s/step | torch s/step | ratio (torch/uad) | target | met | CPU s/step uad, torch, ratio
and the load average before and after. Both engines get --threads threads (uad: OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS; torch: torch.set_num_threads); --passive sets OMP_WAIT_POLICY=PASSIVE for both.
Use --passive for the fair comparison: with the default (spinning) policy PyTorch's OpenMP threads
spin next to its OpenBLAS pthreads (its transposed convolutions are im2col + OpenBLAS) and its
2-D steps ran 2.5× slower here (VAE 0.52 s instead of 0.21 s), which flatters the ratio; under
other processes' load spinning threads slow both engines down further.

    /usr/bin/python3 bench/compare_targets.py --build <build dir> [--threads 2] [--repetitions 3]
        [--min-time 0.5] [--filter REGEX] [--passive] [--json out.json]
(about 1-2 minutes at 3 repetitions on an idle machine). Needs the build's bench_target_steps.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

# (label, uad benchmark name without /real_time, torch case, target ratio torch/uad)
CASES = [
    ("VAE 128² b8", "BM_VaeStep128/batch:8", "vae", 3.0),
    ("sVAE (Baur 2018) 256² b8", "BM_SvaeStep256/batch:8", "svae", 3.0),
    ("f-AnoGAN 3-D critic+GP 64³ b2", "BM_Fanogan3dCriticGpStep/batch:2", "critic3d", 1.5),
]


def run_uad(build, name, threads, min_time):
    """One run of bench_target_steps for benchmark `name`: ((wall s, process CPU s) per step,
    params, error)."""
    path = os.path.join(build, "bench", "bench_target_steps")
    if not os.path.exists(path):
        return None, None, f"{path} not found (cmake --build {build} --target bench_target_steps)"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    cmd = [path, "--benchmark_format=json", f"--benchmark_min_time={min_time}",
           "--benchmark_filter=^" + re.escape(name) + "(/process_time)?(/real_time)?$"]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, None, f"bench_target_steps: {e}"
    if r.returncode != 0:
        return None, None, f"bench_target_steps exited with {r.returncode}: {r.stderr.strip()[-300:]}"
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        return None, None, f"bench_target_steps: cannot parse JSON output ({e})"
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") == "iteration" and not b.get("error_occurred"):
            sc = scale[b.get("time_unit", "ns")]
            return (b["real_time"] * sc, b["cpu_time"] * sc), int(round(b.get("params", -1))), None
    return None, None, f"bench_target_steps: no result for {name}"


def time_torch_once(step, min_time):
    """(wall s, process CPU s) per step, means over the steps of one run of ≥ min_time seconds
    (at least one step)."""
    import time
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        step()
        n += 1
        el = time.perf_counter() - t0
        if el >= min_time:
            return el / n, (time.process_time() - c0) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="uad build directory (default: build)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both engines (default 2)")
    ap.add_argument("--repetitions", type=int, default=3, help="runs per case and engine; the fastest counts")
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds per run (default 0.5)")
    ap.add_argument("--filter", default="", help="regex on case labels or torch case names")
    ap.add_argument("--passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE for both engines")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    if args.passive:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # before torch starts its OpenMP runtime
    cases = [c for c in CASES if re.search(args.filter, c[0]) or re.search(args.filter, c[2])]
    if not cases:
        sys.exit(f"no case matches --filter {args.filter!r}")
    try:
        import torch
    except ImportError as e:
        sys.exit(f"cannot import torch ({e}); run with /usr/bin/python3")
    torch.set_num_threads(args.threads)
    import torch_targets

    load0 = os.getloadavg()
    rows, errors = [], []
    for label, bname, tcase, target in cases:
        step, tparams, _ = torch_targets.make_case(tcase)
        step()  # warm-up
        inf = float("inf")
        u_best, t_best, uc_best, tc_best = inf, inf, inf, inf
        uparams = None
        for _ in range(args.repetitions):
            u, p, err = run_uad(args.build, bname, args.threads, args.min_time)
            if err:
                errors.append(err)
                print(f"uad: {err}", file=sys.stderr)
            else:
                u_best, uc_best, uparams = min(u_best, u[0]), min(uc_best, u[1]), p
            t = time_torch_once(step, args.min_time)
            t_best, tc_best = min(t_best, t[0]), min(tc_best, t[1])
        del step
        if uparams is not None and uparams != tparams:
            errors.append(f"{label}: parameter counts differ, uad {uparams} vs torch {tparams}")
        u = u_best if u_best < inf else None
        uc = uc_best if uc_best < inf else None
        rows.append({"case": label, "uad_benchmark": bname, "torch_case": tcase, "uad_s": u, "torch_s": t_best,
                     "ratio": (t_best / u) if u else None, "target": target,
                     "met": bool(u and t_best / u >= target), "uad_cpu_s": uc, "torch_cpu_s": tc_best,
                     "cpu_ratio": (tc_best / uc) if uc else None, "uad_params": uparams, "torch_params": tparams})
    load1 = os.getloadavg()

    print(f"threads {args.threads}{', OMP_WAIT_POLICY=PASSIVE' if args.passive else ''}; wall-clock s per "
          f"step, fastest of {args.repetitions} alternating runs of ≥ {args.min_time} s; load average "
          f"(1/5/15 min) {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f} before, "
          f"{load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f} after")
    print(f"| {'case':<30} | {'uad s/step':>10} | {'torch s/step':>12} | {'torch/uad':>9} | {'target':>6} | met |"
          f" {'CPU s uad':>9} | {'CPU s torch':>11} | {'CPU ratio':>9} | {'params uad / torch':<21} |")
    print(f"|{'-' * 32}|{'-' * 11}:|{'-' * 13}:|{'-' * 10}:|{'-' * 7}:|:---:|{'-' * 10}:|{'-' * 12}:|{'-' * 10}:|"
          f"{'-' * 23}|")
    fmt = lambda v, w, d=3: f"{v:{w}.{d}f}" if v else f"{'-':>{w}}"  # noqa: E731
    for r in rows:
        ratio = f"{r['ratio']:8.2f}×" if r["ratio"] else f"{'-':>9}"
        cratio = f"{r['cpu_ratio']:8.2f}×" if r["cpu_ratio"] else f"{'-':>9}"
        params = f"{r['uad_params']} / {r['torch_params']}"
        print(f"| {r['case']:<30} | {fmt(r['uad_s'], 10)} | {r['torch_s']:12.3f} | {ratio} | {r['target']:5.1f}× | "
              f"{'yes' if r['met'] else 'NO':^3} | {fmt(r['uad_cpu_s'], 9)} | {r['torch_cpu_s']:11.3f} | {cratio} | "
              f"{params:<21} |")
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "repetitions": args.repetitions, "min_time": args.min_time,
                       "passive": args.passive, "load_before": load0, "load_after": load1, "rows": rows,
                       "errors": errors}, f, indent=2)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
