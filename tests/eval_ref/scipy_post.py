#!/usr/bin/python3
"""scipy.ndimage references for tests/test_postprocess.cpp (.npy in and out, [Z,Y,X]).

Usage: scipy_post.py OP IN.npy OUT.npy ARGS...
       scipy_post.py batch FILE           one "OP IN.npy OUT.npy ARGS..." per line (one start-up)
  median  size             median_filter(x, size, mode='reflect'), dtype kept
  label   conn             label(x != 0, generate_binary_structure(3, {6:1, 18:2, 26:3}[conn]))
                           as float64 labels
  small   conn min         x != 0 without the components (label as above) of < min voxels
  close   iterations       binary_closing(x != 0, generate_binary_structure(3, 3), iterations)
  erode2d iterations       binary_erosion(x != 0, generate_binary_structure(2, 1)[None],
                           iterations, border_value=0): per-slice erosion with the 2-D cross
"""
import sys

import numpy as np
from scipy import ndimage as ndi

RANK = {6: 1, 18: 2, 26: 3}


def run(op, src, dst, a):
    x = np.load(src)
    if op == "median":
        y = ndi.median_filter(x, size=int(a[0]), mode="reflect")
    elif op == "label":
        y, _ = ndi.label(x != 0, ndi.generate_binary_structure(3, RANK[int(a[0])]))
    elif op == "small":
        lab, n = ndi.label(x != 0, ndi.generate_binary_structure(3, RANK[int(a[0])]))
        sizes = np.bincount(lab.ravel(), minlength=n + 1)
        keep = sizes >= int(a[1])
        keep[0] = False
        y = keep[lab]
    elif op == "close":
        y = ndi.binary_closing(x != 0, ndi.generate_binary_structure(3, 3), iterations=int(a[0]))
    elif op == "erode2d":
        s = ndi.generate_binary_structure(2, 1)[None]
        y = ndi.binary_erosion(x != 0, structure=s, iterations=int(a[0]), border_value=0)
    else:
        raise SystemExit("unknown op " + op)
    out_dtype = x.dtype if op == "median" else np.float64
    np.save(dst, np.ascontiguousarray(y, dtype=out_dtype))


def main():
    if sys.argv[1] == "batch":
        with open(sys.argv[2]) as f:
            for line in f:
                w = line.split()
                if w:
                    run(w[0], w[1], w[2], w[3:])
    else:
        run(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])


if __name__ == "__main__":
    main()
