#!/usr/bin/python3
"""scikit-learn / numpy references for tests/test_metrics.cpp and bench/bench_metrics.cpp.

Usage: sklearn_ref.py JOBS OUT   one job per line of JOBS, one result line per job in OUT
                                 (repr of a Python float, i.e. 17 significant digits)
  auc   S.npy L.npy              sklearn.metrics.roc_auc_score(L != 0, S)
  ap    S.npy L.npy              sklearn.metrics.average_precision_score(L != 0, S)
  pct   V.npy q                  numpy.percentile(V, q)   (default method 'linear')
  chi2  A.npy B.npy bins lo hi   ½ Σ (p − q)²/(p + q) over bins with p + q > 0, where p, q are
                                 numpy.histogram(clip(x, lo, hi) as float64, bins, (lo, hi))
                                 normalised to sum 1 (the definition of eval/metrics.h)
  time  S.npy L.npy              "seconds_auc seconds_ap" of one roc_auc_score and one
                                 average_precision_score call (bench/bench_metrics.cpp)
S, V, A, B are float32 .npy files, L float32 0/1.
"""
import sys
import time

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def labels(path):
    return (np.load(path) != 0).astype(np.int64)


def chi2(a, b, bins, lo, hi):
    def h(x):
        x = np.clip(np.asarray(x, dtype=np.float64), lo, hi)
        c, _ = np.histogram(x, bins=bins, range=(lo, hi))
        return c / c.sum()

    p, q = h(a), h(b)
    s = p + q
    m = s > 0
    return 0.5 * float(np.sum((p[m] - q[m]) ** 2 / s[m]))


def run(w):
    op = w[0]
    if op == "auc":
        return repr(float(roc_auc_score(labels(w[2]), np.load(w[1]))))
    if op == "ap":
        return repr(float(average_precision_score(labels(w[2]), np.load(w[1]))))
    if op == "pct":
        return repr(float(np.percentile(np.load(w[1]), float(w[2]))))
    if op == "chi2":
        return repr(chi2(np.load(w[1]), np.load(w[2]), int(w[3]), float(w[4]), float(w[5])))
    if op == "time":
        s, y = np.load(w[1]), labels(w[2])
        t0 = time.perf_counter()
        roc_auc_score(y, s)
        t1 = time.perf_counter()
        average_precision_score(y, s)
        t2 = time.perf_counter()
        return "%.4f %.4f" % (t1 - t0, t2 - t1)
    raise SystemExit("sklearn_ref.py: unknown job " + op)


def main():
    with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
        for line in f:
            w = line.split()
            if w:
                out.write(run(w) + "\n")


if __name__ == "__main__":
    main()
