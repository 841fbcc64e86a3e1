// A minimal .npy reader/writer for f32/f64 tensors (tests and parity harness only).
//
// Format (NumPy NEP 1, version 1.0): the 6 magic bytes "\x93NUMPY", the version bytes 1 0, a
// little-endian uint16 header length, then an ASCII Python-dict header
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a final '\n' so that the data starts at a multiple of 64 bytes, then the
// raw little-endian values in C (row-major) order. Supported descr: '<f4' (f32), '<f8' (f64).
// Version 2.0 files (uint32 header length) are read too. Fortran order and other dtypes throw.
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tensor/ops.h"

namespace uad::test {

/// Writes t (any layout; written contiguous, f32 or f64) to `path`. Throws uad::Error on I/O
/// failure or a non-floating dtype.
inline void write_npy(const std::string& path, const Tensor& t) {
  check(t.dtype() == DType::f32 || t.dtype() == DType::f64, "write_npy: ", path, ": dtype ", dtype_name(t.dtype()),
        " not supported (f32/f64 only)");
  Tensor c = t.detach().contiguous();
  std::string shape = "(";
  for (size_t i = 0; i < c.shape().size(); ++i) shape += std::to_string(c.shape()[i]) + (c.shape().size() == 1 ? "," : (i + 1 < c.shape().size() ? ", " : ""));
  shape += ")";
  std::string header = std::string("{'descr': '") + (c.dtype() == DType::f32 ? "<f4" : "<f8") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  check((bool)f, "write_npy: cannot open ", path);
  const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  f.write(magic, 8);
  uint16_t hl = (uint16_t)header.size();
  f.write(reinterpret_cast<const char*>(&hl), 2);  // x86-64 is little-endian
  f.write(header.data(), (std::streamsize)header.size());
  f.write(static_cast<const char*>(c.raw()), (std::streamsize)(c.numel() * dtype_size(c.dtype())));
  check((bool)f, "write_npy: write failed for ", path);
}

/// Reads an f32/f64 .npy file into a new contiguous tensor of the file's dtype and shape.
/// Throws uad::Error naming the file when it is missing, truncated or of an unsupported kind.
inline Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  check((bool)f, "read_npy: cannot open ", path);
  char magic[8];
  f.read(magic, 8);
  check(f && std::memcmp(magic, "\x93NUMPY", 6) == 0, "read_npy: ", path, " is not a .npy file");
  uint32_t hl = 0;
  if (magic[6] == 1) {
    uint16_t h16;
    f.read(reinterpret_cast<char*>(&h16), 2);
    hl = h16;
  } else {
    f.read(reinterpret_cast<char*>(&hl), 4);
  }
  std::string header(hl, '\0');
  f.read(header.data(), hl);
  check((bool)f, "read_npy: truncated header in ", path);
  DType dt;
  if (header.find("'<f4'") != std::string::npos) dt = DType::f32;
  else if (header.find("'<f8'") != std::string::npos) dt = DType::f64;
  else fail("read_npy: ", path, ": unsupported descr in header ", header);
  check(header.find("'fortran_order': False") != std::string::npos, "read_npy: ", path, ": Fortran order not supported");
  size_t s0 = header.find("'shape': (");
  check(s0 != std::string::npos, "read_npy: ", path, ": no shape in header");
  s0 += 10;
  size_t s1 = header.find(')', s0);
  Shape shape;
  std::string dims = header.substr(s0, s1 - s0);
  size_t p = 0;
  while (p < dims.size()) {
    while (p < dims.size() && (dims[p] == ' ' || dims[p] == ',')) ++p;
    if (p >= dims.size()) break;
    size_t q = p;
    while (q < dims.size() && dims[q] >= '0' && dims[q] <= '9') ++q;
    check(q > p, "read_npy: ", path, ": bad shape '", dims, "'");
    shape.push_back(std::stoll(dims.substr(p, q - p)));
    p = q;
  }
  Tensor t = empty(shape, dt);
  f.read(static_cast<char*>(t.raw()), (std::streamsize)(t.numel() * dtype_size(dt)));
  check((bool)f, "read_npy: truncated data in ", path, " (shape ", shape, ")");
  return t;
}

}  // namespace uad::test
