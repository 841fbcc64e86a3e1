// Checkpoints in the safetensors format (Hugging Face, https://github.com/huggingface/safetensors,
// "Format" section), readable by Python's `safetensors` and by tests/parity/safetensors_check.py:
//
//   8 bytes        N, the header size, unsigned 64-bit little-endian
//   N bytes        a UTF-8 JSON object: for each tensor
//                    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
//                  and optionally "__metadata__": {"key": "string value", ...}; padded with
//                  trailing spaces to a multiple of 8 bytes (as the reference writer does)
//   rest           the byte buffer: every tensor's row-major little-endian data; offsets are
//                  relative to the buffer's start, end exclusive
//
// Supported dtypes: F32, F64, I32, U8 (uad's DType set). The writer stores tensors in name
// order, back to back (no holes). The reader validates like the reference implementation: the
// header fits in the file (and is ≤ 100 MB), parses as a JSON object, each entry has exactly a
// known dtype, a non-negative shape and two offsets with end − begin = numel·element size, the
// entries tile the byte buffer exactly (sorted by offset: no overlap, no gap, last end = buffer
// size), metadata values are strings.
#pragma once
#include <map>
#include <string>

#include "tensor/tensor.h"

namespace uad::io {

/// The contents of a safetensors file.
struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;          // contiguous CPU tensors, name → tensor
  std::map<std::string, std::string> metadata;    // the "__metadata__" object (may be empty)
};

/// Writes `tensors` (any layout, CPU or cuda — device tensors are copied back —, dtypes f32/f64/i32/u8; names non-empty and not
/// "__metadata__") and `metadata` to `path` atomically: the file is written to a temporary file
/// in the same directory, flushed to disk (fsync) and renamed over `path`, so a failed or
/// interrupted save leaves any previous file at `path` untouched. Throws uad::Error naming the
/// file (and the tensor) on an invalid tensor or an I/O failure (e.g. a missing or read-only
/// directory); the temporary file is removed.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads and validates a safetensors file (see the file header). Throws one uad::Error naming
/// the file and the problem: missing/unreadable file, truncated header or data, header that is
/// not a JSON object, unknown dtype, bad shape, offsets out of range, overlapping or leaving a
/// gap, non-string metadata.
SafetensorsFile load_safetensors(const std::string& path);

/// The dtype's name in the format ("F32", "F64", "I32", "U8").
const char* safetensors_dtype_name(DType t);

}  // namespace uad::io
