#!/usr/bin/python3
"""An independent safetensors reader/writer in plain Python (struct + json + numpy), used by
tests/test_safetensors.cpp to verify uad's files against a second implementation of the format
(https://github.com/huggingface/safetensors, "Format"; the `safetensors` package is not in
Debian 12).

Usage: /usr/bin/python3 safetensors_check.py <in.safetensors> <out.safetensors>
  1. reads <in> with its own parser and checks the format rules: 8-byte little-endian header
     length, a JSON object header, known dtypes, data_offsets that tile the byte buffer exactly
     and match each shape's byte size, string metadata;
  2. prints one JSON line: {"metadata": {...}, "header_len": N, "tensors": {name: {"dtype",
     "shape", "sum", "first"}}} (sum and first element as float64, for the C++ side to compare);
  3. writes every tensor back to <out> with its own writer, in REVERSE name order in the byte
     buffer, with an unpadded header and the metadata plus {"writer": "python"}, so the C++
     reader is exercised on a file it did not produce.
Exit status 0 on success; a format violation prints "error ..." and exits 1.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "U8": "u1"}


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"header length {n} exceeds the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    buf = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    if not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("non-string metadata")
    spans, tensors = [], {}
    for name, info in header.items():
        dt = np.dtype(DTYPES[info["dtype"]])
        shape = tuple(int(s) for s in info["shape"])
        b, e = info["data_offsets"]
        if e - b != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ValueError(f"{name}: offsets [{b},{e}) do not match shape {shape}")
        spans.append((b, e, name))
        tensors[name] = (info["dtype"], np.frombuffer(buf[b:e], dtype=dt).reshape(shape))
    pos = 0
    for b, e, name in sorted(spans):
        if b != pos:
            raise ValueError(f"{name}: offsets not contiguous at {pos} (begins at {b})")
        pos = e
    if pos != len(buf):
        raise ValueError(f"byte buffer has {len(buf)} bytes, tensors cover {pos}")
    return n, meta, tensors


def write(path, meta, tensors):
    header, chunks, pos = {}, [], 0
    for name in sorted(tensors, reverse=True):
        dtype, arr = tensors[name]
        data = np.ascontiguousarray(arr, dtype=np.dtype(DTYPES[dtype])).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [pos, pos + len(data)]}
        chunks.append(data)
        pos += len(data)
    header["__metadata__"] = dict(meta, writer="python")
    h = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


def main():
    try:
        n, meta, tensors = read(sys.argv[1])
    except Exception as e:  # noqa: BLE001 - reported to the C++ side
        print(f"error {type(e).__name__}: {e}")
        return 1
    summary = {name: {"dtype": dt, "shape": list(a.shape), "sum": float(a.astype(np.float64).sum()),
                      "first": float(a.reshape(-1)[0]) if a.size else 0.0}
               for name, (dt, a) in tensors.items()}
    print(json.dumps({"metadata": meta, "header_len": n, "tensors": summary}))
    write(sys.argv[2], meta, tensors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
