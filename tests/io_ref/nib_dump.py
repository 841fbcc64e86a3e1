#!/usr/bin/python3
"""Reference dump of a NIfTI file with nibabel, for tests/test_nifti.cpp.

Usage: nib_dump.py IN.nii[.gz] OUT_DIR
Writes into OUT_DIR:
  data.npy          float32 [Z,Y,X] = get_fdata() (scl_slope/inter applied in float64, then cast),
                    transposed from nibabel's [X,Y,Z] to uad's [Z,Y,X] layout
  affine.npy        float64 4x4, img.affine (sform if sform_code > 0, else qform, else fallback)
  canon_data.npy    float32 [Z,Y,X] of nib.as_closest_canonical(img) (RAS)
  canon_affine.npy  float64 4x4 of the canonical image
  meta.txt          "key value..." lines: shape, pixdim, orientation, qform_code, sform_code
"""
import os
import sys

import nibabel as nib
import numpy as np


def zyx(img):
    a = np.asarray(img.get_fdata(dtype=np.float64))
    while a.ndim > 3 and a.shape[-1] == 1:
        a = a[..., 0]
    return np.ascontiguousarray(a.astype(np.float32).T)


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    img = nib.load(src)
    np.save(os.path.join(out, "data.npy"), zyx(img))
    np.save(os.path.join(out, "affine.npy"), np.asarray(img.affine, dtype=np.float64))
    canon = nib.as_closest_canonical(img)
    np.save(os.path.join(out, "canon_data.npy"), zyx(canon))
    np.save(os.path.join(out, "canon_affine.npy"), np.asarray(canon.affine, dtype=np.float64))
    h = img.header
    with open(os.path.join(out, "meta.txt"), "w") as f:
        f.write("shape %d %d %d\n" % tuple(img.shape[:3]))
        f.write("pixdim %.9g %.9g %.9g\n" % tuple(h.get_zooms()[:3]))
        f.write("orientation %s\n" % "".join(nib.aff2axcodes(img.affine)))
        f.write("qform_code %d\n" % int(h["qform_code"]))
        f.write("sform_code %d\n" % int(h["sform_code"]))


if __name__ == "__main__":
    main()
