#!/usr/bin/python3
"""scipy.ndimage references for tests/test_preprocess.cpp (float64 .npy in and out, [Z,Y,X]).

Usage: scipy_ref.py OP IN.npy OUT.npy ARGS...
       scipy_ref.py batch FILE            one "OP IN.npy OUT.npy ARGS..." per line (one start-up)
  gaussian   s0 s1 s2 truncate          gaussian_filter(x, (s0,s1,s2), mode='reflect', truncate)
  grid       o0 o1 o2 sc0 sh0 sc1 sh1 sc2 sh2 order
                                        map_coordinates(x, c, order, mode='nearest') with
                                        c_a = sc_a * arange(o_a) + sh_a on a meshgrid
  zoomgrid   o0 o1 o2                   zoom(x, o/n, order=1, mode='nearest', grid_mode=True)
  erode      KIND PARAM iterations      binary_erosion(x != 0, S, iterations, border_value=0)
  dilate     KIND PARAM iterations      binary_dilation(x != 0, S, iterations, border_value=0)
             KIND conn: S = generate_binary_structure(3, {6:1, 18:2, 26:3}[PARAM])
             KIND ball: S = voxels with dz^2+dy^2+dx^2 <= PARAM^2
"""
import sys

import numpy as np
from scipy import ndimage as ndi


def structure(kind, p):
    p = int(p)
    if kind == "conn":
        return ndi.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[p])
    r = np.arange(-p, p + 1)
    z, y, x = np.meshgrid(r, r, r, indexing="ij")
    return (z * z + y * y + x * x) <= p * p


def run(op, src, dst, a):
    x = np.load(src).astype(np.float64)
    if op == "gaussian":
        y = ndi.gaussian_filter(x, [float(v) for v in a[:3]], mode="reflect", truncate=float(a[3]))
    elif op == "grid":
        o = [int(v) for v in a[:3]]
        sc = [float(a[3]), float(a[5]), float(a[7])]
        sh = [float(a[4]), float(a[6]), float(a[8])]
        axes = [sc[k] * np.arange(o[k]) + sh[k] for k in range(3)]
        c = np.stack(np.meshgrid(*axes, indexing="ij"))
        y = ndi.map_coordinates(x, c, order=int(a[9]), mode="nearest")
    elif op == "zoomgrid":
        o = [int(v) for v in a[:3]]
        y = ndi.zoom(x, [o[k] / x.shape[k] for k in range(3)], order=1, mode="nearest", grid_mode=True)
        assert list(y.shape) == o, (y.shape, o)
    elif op in ("erode", "dilate"):
        s = structure(a[0], a[1])
        f = ndi.binary_erosion if op == "erode" else ndi.binary_dilation
        y = f(x != 0, structure=s, iterations=int(a[2]), border_value=0).astype(np.float64)
    else:
        raise SystemExit("unknown op " + op)
    np.save(dst, np.ascontiguousarray(y, dtype=np.float64))


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
