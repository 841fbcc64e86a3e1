// safetensors reader and writer (format and validation rules in io/safetensors.h).
#include "io/safetensors.h"

// GCC 12 reports false -Wmaybe-uninitialized warnings inside nlohmann::json's iterators.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "io/atomic_file.h"
#include "tensor/autograd.h"

namespace uad::io {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit

bool dtype_from_name(const std::string& s, DType& t) {
  if (s == "F32") t = DType::f32;
  else if (s == "F64") t = DType::f64;
  else if (s == "I32") t = DType::i32;
  else if (s == "U8") t = DType::u8;
  else return false;
  return true;
}

/// Closes an fd on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// Writes all n bytes or returns false (errno set).
bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (w == 0) {
      errno = EIO;
      return false;
    }
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/// Reads exactly n bytes at offset or returns false.
bool read_all(int fd, char* p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, std::min<size_t>(n, size_t(1) << 30), (off_t)off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (r == 0) return false;
    p += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return true;
}

}  // namespace

const char* safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i32: return "I32";
    case DType::u8: return "U8";
  }
  return "?";
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Header and contiguous data first, so an invalid tensor fails before any file is touched.
  std::vector<Tensor> data;
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    check(!name.empty() && name != "__metadata__", "save_safetensors: ", path, ": invalid tensor name '", name, "'");
    check(t.defined(), "save_safetensors: ", path, ": tensor '", name, "' is undefined");
    Tensor c;
    {
      NoGradGuard ng;
      c = t.device() == Device::cpu ? t.detach().contiguous() : t.detach().to(Device::cpu);  // device tensors: copied back
    }
    const uint64_t nbytes = (uint64_t)c.numel() * dtype_size(c.dtype());
    header[name] = {{"dtype", safetensors_dtype_name(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    data.push_back(c);
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    fail("save_safetensors: ", path, ": cannot encode the header (", e.what(), "); names and metadata must be UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t n = text.size();

  const std::string tmp = temp_path_for(path);
  std::string error;
  {
    Fd f;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f.fd < 0) {
      fail("save_safetensors: ", path, ": cannot create the temporary file ", tmp, ": ", std::strerror(errno));
    }
    bool ok = write_all(f.fd, reinterpret_cast<const char*>(&n), 8) && write_all(f.fd, text.data(), text.size());
    for (size_t i = 0; ok && i < data.size(); ++i)
      ok = write_all(f.fd, static_cast<const char*>(data[i].raw()), (size_t)data[i].numel() * dtype_size(data[i].dtype()));
    ok = ok && ::fsync(f.fd) == 0;
    if (!ok) error = std::string("write failed: ") + std::strerror(errno);
    if (::close(f.fd) != 0 && ok) error = std::string("close failed: ") + std::strerror(errno);
    f.fd = -1;
  }
  if (!error.empty()) {
    commit_temp(tmp, path, false);
    fail("save_safetensors: ", path, ": ", error, " (the previous file, if any, is unchanged)");
  }
  check(commit_temp(tmp, path, true), "save_safetensors: ", path, ": cannot rename ", tmp, " over it");
}

SafetensorsFile load_safetensors(const std::string& path) {
  const std::string where = "load_safetensors: " + path + ": ";
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  check(f.fd >= 0, where, "cannot open: ", std::strerror(errno));
  struct stat st;
  check(::fstat(f.fd, &st) == 0, where, "cannot stat: ", std::strerror(errno));
  check(S_ISREG(st.st_mode), where, "not a regular file");
  const uint64_t size = (uint64_t)st.st_size;
  check(size >= 8, where, "truncated: ", size, " bytes, fewer than the 8-byte header length");
  uint64_t n = 0;
  check(read_all(f.fd, reinterpret_cast<char*>(&n), 8, 0), where, "cannot read the header length");
  check(n <= size - 8, where, "truncated: the header length ", n, " exceeds the ", size - 8, " bytes after it");
  check(n <= kMaxHeader, where, "header length ", n, " exceeds the limit of ", kMaxHeader, " bytes");
  std::string text(n, '\0');
  check(read_all(f.fd, text.data(), n, 8), where, "cannot read the header");

  // Parse, rejecting duplicate top-level keys (nlohmann would silently keep one).
  json header;
  std::string duplicate;
  try {
    int depth = 0;
    std::set<std::string> keys;
    header = json::parse(text, [&](int d, json::parse_event_t ev, json& parsed) {
      (void)d;
      if (ev == json::parse_event_t::object_start) ++depth;
      else if (ev == json::parse_event_t::object_end) --depth;
      else if (ev == json::parse_event_t::key && depth == 1 && !keys.insert(parsed.get<std::string>()).second && duplicate.empty())
        duplicate = parsed.get<std::string>();
      return true;
    });
  } catch (const json::exception& e) {
    fail(where, "the header is not valid JSON (", e.what(), ")");
  }
  check(header.is_object(), where, "the header is not a JSON object");
  check(duplicate.empty(), where, "the header names '", duplicate, "' twice");

  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  SafetensorsFile out;
  const uint64_t buffer = size - 8 - n;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      check(info.is_object(), where, "__metadata__ is not an object");
      for (auto& [k, v] : info.items()) {
        check(v.is_string(), where, "__metadata__ value of '", k, "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string tw = where + "tensor '" + name + "': ";
    check(info.is_object(), tw, "entry is not an object");
    check(info.contains("dtype") && info["dtype"].is_string(), tw, "missing or non-string dtype");
    Entry e{name, DType::f32, {}, 0, 0};
    const std::string dt = info["dtype"].get<std::string>();
    check(dtype_from_name(dt, e.dtype), tw, "unknown dtype '", dt, "' (supported: F32, F64, I32, U8)");
    check(info.contains("shape") && info["shape"].is_array(), tw, "missing or non-array shape");
    uint64_t numel = 1;
    for (auto& d : info["shape"]) {
      check(d.is_number_unsigned(), tw, "shape ", info["shape"].dump(), " must hold non-negative integers");
      const uint64_t v = d.get<uint64_t>();
      check(v <= (uint64_t)INT64_MAX && !__builtin_mul_overflow(numel, v, &numel), tw, "shape ", info["shape"].dump(), " is too large");
      e.shape.push_back((int64_t)v);
    }
    check(e.shape.size() <= 8, tw, "shape ", info["shape"].dump(), " has more than 8 dims");
    const json& off = info.contains("data_offsets") ? info["data_offsets"] : json();
    check(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), tw,
          "data_offsets must be two non-negative integers, got ", off.dump());
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    check(e.begin <= e.end && e.end <= buffer, tw, "data_offsets [", e.begin, ", ", e.end, ") out of range of the ", buffer,
          "-byte data buffer");
    uint64_t nbytes = 0;
    check(!__builtin_mul_overflow(numel, (uint64_t)dtype_size(e.dtype), &nbytes) && nbytes == e.end - e.begin, tw,
          "data_offsets [", e.begin, ", ", e.end, ") hold ", e.end - e.begin, " bytes but ", dt, " ", Shape(e.shape), " needs ", nbytes);
    entries.push_back(std::move(e));
  }
  // The entries must tile the buffer: no overlap, no gap (the reference implementation's rule).
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    check(e.begin >= covered, where, "tensors '", prev ? prev->name : "", "' [", prev ? prev->begin : 0, ", ", covered,
          ") and '", e.name, "' [", e.begin, ", ", e.end, ") overlap");
    check(e.begin == covered, where, "gap in the data buffer: bytes [", covered, ", ", e.begin, ") belong to no tensor (before '",
          e.name, "')");
    covered = e.end;
    prev = &e;
  }
  check(covered == buffer, where, "the data buffer has ", buffer, " bytes but the tensors cover ", covered);

  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, e.dtype);
    const uint64_t nbytes = e.end - e.begin;
    check(nbytes == 0 || read_all(f.fd, static_cast<char*>(t.raw()), nbytes, 8 + n + e.begin), where, "tensor '", e.name,
          "': cannot read its ", nbytes, " bytes (file truncated while reading?)");
    out.tensors[e.name] = t;
  }
  return out;
}

}  // namespace uad::io
