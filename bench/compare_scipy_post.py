#!/usr/bin/python3
"""uad post-processing vs scipy.ndimage on this machine, on the very same volumes.

Runs bench_postprocess (bench/bench_postprocess.cpp) from a build directory with
UAD_POST_DUMP=<tmp> (it writes its synthetic 181×217×181 volumes and its own results there as
.npy) and --benchmark_format=json, then times the reference pipeline's scipy.ndimage calls
(domain_spec §1.4) on the dumped volumes, checks that the results are identical, and prints
    case | uad ms | scipy ms | scipy/uad
Times are wall-clock per call; each is the minimum over up to --repetitions runs (scipy: as many
as fit in --min-time, at least one — its 5³ median takes seconds). scipy.ndimage is single-
threaded; uad gets OMP_NUM_THREADS=--threads. On these shared 2-core machines another process's
load inflates the 2-thread timings a lot: check `uptime` first (the load average is printed).

Cases (names as in the benchmark):
  Median/realistic      median_filter(r, 5, mode='reflect'), r = max(x − x̂, 0) × eroded brain mask
  Median/random         the same on uniform noise (every window nonzero: the worst case)
  Median3/random        size 3 on the noise
  LabelFilter/residual  label(r > 0.1, 26-connected) + bincount + keep sizes ≥ 8
  LabelFilter/map       the same on the median-filtered map > 0.1
  LabelFilter/random30  the same on noise > 0.7 (30 % of all voxels)
  Label/residual        label(r > 0.1) alone
  ErodedMask            binary_erosion(brain, [1,3,3] cross, iterations=12, border_value=0)
  Pipeline              residual × eroded mask → median 5 → > 0.1 → label + size filter

Usage: /usr/bin/python3 bench/compare_scipy_post.py --build build [--threads 2] [--min-time 0.5]
           [--repetitions 3]         (about a minute, most of it scipy's medians)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import ndimage as ndi

S26 = ndi.generate_binary_structure(3, 3)
CROSS = ndi.generate_binary_structure(2, 1)[None]


def drop_small(mask, min_voxels=8):
    lab, n = ndi.label(mask, S26)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    keep = sizes >= min_voxels
    keep[0] = False
    return keep[lab]


def above(v, t):
    return v.astype(np.float64) > t  # uad compares in double


def timed(fn, min_time, reps):
    best, spent, n, out = float("inf"), 0.0, 0, None
    while n < 1 or (spent < min_time and n < reps):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best, spent, n = min(best, dt), spent + dt, n + 1
    return best * 1e3, out


def run_bench(binary, dump, threads, min_time, reps):
    env = dict(os.environ, UAD_POST_DUMP=dump, OMP_NUM_THREADS=str(threads))
    cmd = [binary, "--benchmark_format=json", f"--benchmark_min_time={min_time}",
           f"--benchmark_repetitions={reps}"]
    res = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    best = {}
    for b in json.loads(res.stdout)["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = b["run_name"].replace("/real_time", "")
        ms = b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
        best[name] = min(best.get(name, float("inf")), ms)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="CMake build directory (with bench/bench_postprocess)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--repetitions", type=int, default=3)
    a = ap.parse_args()
    binary = os.path.join(a.build, "bench", "bench_postprocess")
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: build the bench_postprocess target first")
    with tempfile.TemporaryDirectory(prefix="uad_post_") as dump:
        uad = run_bench(binary, dump, a.threads, a.min_time, a.repetitions)
        ld = {k: np.load(os.path.join(dump, k + ".npy")) for k in
              ("x", "recon", "brain", "realistic", "random", "uad_median_realistic", "uad_median_random",
               "uad_filter_residual", "uad_pipeline")}
    x, recon, brain, real, rnd = ld["x"], ld["recon"], ld["brain"] != 0, ld["realistic"], ld["random"]
    mt, R = a.min_time, a.repetitions
    sp, checks = {}, []

    sp["Median/realistic"], med_real = timed(lambda: ndi.median_filter(real, 5, mode="reflect"), mt, R)
    sp["Median/random"], med_rnd = timed(lambda: ndi.median_filter(rnd, 5, mode="reflect"), mt, R)
    sp["Median3/random"], _ = timed(lambda: ndi.median_filter(rnd, 3, mode="reflect"), mt, R)
    checks.append(("median realistic bit-identical", np.array_equal(med_real.view(np.uint32),
                                                                     ld["uad_median_realistic"].view(np.uint32))))
    checks.append(("median random bit-identical", np.array_equal(med_rnd.view(np.uint32),
                                                                  ld["uad_median_random"].view(np.uint32))))
    m_res, m_map, m_rnd = above(real, 0.1), above(med_real, 0.1), above(rnd, 0.7)
    sp["LabelFilter/residual"], kept = timed(lambda: drop_small(m_res), mt, R)
    checks.append(("size filter identical", np.array_equal(kept, ld["uad_filter_residual"] != 0)))
    sp["LabelFilter/map"], _ = timed(lambda: drop_small(m_map), mt, R)
    sp["LabelFilter/random30"], _ = timed(lambda: drop_small(m_rnd), mt, R)
    sp["Label/residual"], _ = timed(lambda: ndi.label(m_res, S26), mt, R)
    sp["ErodedMask"], _ = timed(lambda: ndi.binary_erosion(brain, CROSS, iterations=12, border_value=0), mt, R)

    def pipeline():
        er = ndi.binary_erosion(brain, CROSS, iterations=12, border_value=0)
        r = np.maximum(x - recon, 0) * er
        return drop_small(above(ndi.median_filter(r, 5, mode="reflect"), 0.1))

    sp["Pipeline"], seg = timed(pipeline, mt, 1)
    checks.append(("pipeline segmentation identical", np.array_equal(seg, ld["uad_pipeline"] != 0)))

    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; uad threads {a.threads}; scipy single-threaded")
    print(f"{'case':24s} {'uad ms':>10s} {'scipy ms':>10s} {'scipy/uad':>10s}")
    for name, s_ms in sp.items():
        u = uad.get(name)
        if u is None:
            print(f"{name:24s} {'missing':>10s} {s_ms:10.1f}")
        else:
            print(f"{name:24s} {u:10.1f} {s_ms:10.1f} {s_ms / u:9.1f}x")
    for what, ok in checks:
        print(f"{'OK      ' if ok else 'MISMATCH'} {what}")
    if not all(ok for _, ok in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
