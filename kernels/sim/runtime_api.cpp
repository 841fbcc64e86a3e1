// The simulator's CUDA runtime API subset (memory, device, streams, errors) and the symbol-table
// lookups: static __shared__ variables (by ABI tag) and kernel names.
#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "kernels/sim/sim_internal.h"

namespace uad::sim {

namespace {

std::mutex g_mu;  // guards everything below
cudaError_t g_last_error = cudaSuccess;
std::string g_last_fault;
std::map<uintptr_t, size_t> g_allocs;  // device allocations: start → bytes
std::unordered_map<const void*, size_t> g_shmem_limit;
std::unordered_map<const void*, std::string> g_names;
constexpr size_t kDefaultShmem = 48 * 1024, kMaxShmem = 227 * 1024;

/// True if [p, p+n) lies inside one live device allocation.
bool is_device_range(const void* p, size_t n) {
  const uintptr_t a = (uintptr_t)p;
  auto it = g_allocs.upper_bound(a);
  if (it == g_allocs.begin()) return false;
  --it;
  return a >= it->first && a + n <= it->first + std::max<size_t>(it->second, 1);
}

// ---- the executable's symbol table ----

struct Symtab {
  std::vector<internal::SharedRange> shared;
  std::vector<std::pair<uintptr_t, std::string_view>> funcs;  // run-time address → mangled name
  bool found = false;
};

int first_object_bias(struct dl_phdr_info* info, size_t, void* out) {
  *static_cast<uintptr_t*>(out) = info->dlpi_addr;
  return 1;  // the first object is the executable itself
}

Symtab load_symtab() {
  Symtab t;
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return t;
  struct stat st {};
  void* m = MAP_FAILED;
  if (fstat(fd, &st) == 0) m = mmap(nullptr, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return t;  // kept mapped for the process's lifetime: names point into it
  const char* base = static_cast<const char*>(m);
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  if ((size_t)st.st_size < sizeof(Elf64_Ehdr) || std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shoff == 0)
    return t;
  uintptr_t bias = 0;
  dl_iterate_phdr(first_object_bias, &bias);
  const auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_SYMTAB) continue;
    t.found = true;
    const char* names = base + sh[sh[i].sh_link].sh_offset;
    const auto* sym = reinterpret_cast<const Elf64_Sym*>(base + sh[i].sh_offset);
    const size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
    for (size_t k = 0; k < n; ++k) {
      const int type = ELF64_ST_TYPE(sym[k].st_info);
      if (sym[k].st_shndx == SHN_UNDEF || sym[k].st_value == 0) continue;
      const char* name = names + sym[k].st_name;
      if (type == STT_OBJECT && sym[k].st_size > 0 && std::strstr(name, UAD_SIM_SHARED_TAG))
        t.shared.push_back({reinterpret_cast<unsigned char*>(bias + sym[k].st_value), (size_t)sym[k].st_size});
      else if (type == STT_FUNC)
        t.funcs.emplace_back(bias + sym[k].st_value, std::string_view(name));
    }
  }
  std::sort(t.shared.begin(), t.shared.end(), [](auto& a, auto& b) { return a.ptr < b.ptr; });
  t.shared.erase(std::unique(t.shared.begin(), t.shared.end(), [](auto& a, auto& b) { return a.ptr == b.ptr; }), t.shared.end());
  std::sort(t.funcs.begin(), t.funcs.end());
  return t;
}

const Symtab& symtab() {
  static const Symtab t = [] {
    Symtab s = load_symtab();
    if (!s.found)
      std::fprintf(stderr, "uad sim: the executable has no symbol table (stripped?): static __shared__ memory "
                           "is not poisoned and kernels are named by address\n");
    return s;
  }();
  return t;
}

std::string demangle(const char* mangled) {
  int status = 0;
  char* d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string out = status == 0 && d ? d : mangled;
  std::free(d);
  return out;
}

}  // namespace

// ---- internal ----

cudaError_t internal::set_error(cudaError_t e, const std::string& text) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_last_error = e;
  if (!text.empty()) g_last_fault = text;
  return e;
}

const std::vector<internal::SharedRange>& internal::static_shared_ranges() { return symtab().shared; }

size_t internal::dynamic_shared_limit(const void* kernel) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_shmem_limit.find(kernel);
  return it == g_shmem_limit.end() ? kDefaultShmem : it->second;
}

// ---- uad::sim ----

const std::string& last_fault() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_last_fault;
}

size_t static_shared_bytes() {
  size_t n = 0;
  for (const auto& r : symtab().shared) n += r.bytes;
  return n;
}

std::string symbol_name(const void* fn) {
  const auto& f = symtab().funcs;
  const uintptr_t a = (uintptr_t)fn;
  auto it = std::lower_bound(f.begin(), f.end(), std::make_pair(a, std::string_view()));
  if (it != f.end() && it->first == a) return demangle(std::string(it->second).c_str());
  Dl_info info{};
  if (dladdr(fn, &info) && info.dli_sname && info.dli_saddr == fn) return demangle(info.dli_sname);
  char buf[32];
  std::snprintf(buf, sizeof buf, "kernel@%p", fn);
  return buf;
}

}  // namespace uad::sim

using uad::sim::g_allocs;
using uad::sim::g_mu;
using uad::sim::internal::set_error;

// ---- CUDA runtime API ----

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return set_error(cudaErrorInvalidValue);
  void* p = nullptr;
  // 256-byte alignment as cudaMalloc guarantees; exactly `bytes` long so ASan sees overruns.
  if (posix_memalign(&p, 256, bytes ? bytes : 1) != 0) {
    *ptr = nullptr;
    return set_error(cudaErrorMemoryAllocation);
  }
  std::lock_guard<std::mutex> lock(g_mu);
  g_allocs[(uintptr_t)p] = bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_allocs.find((uintptr_t)ptr);
    if (it == g_allocs.end()) {
      uad::sim::g_last_error = cudaErrorInvalidValue;
      return cudaErrorInvalidValue;
    }
    g_allocs.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  if (!ptr) return set_error(cudaErrorInvalidValue);
  if (posix_memalign(ptr, 256, bytes ? bytes : 1) != 0) return set_error(cudaErrorMemoryAllocation);
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return set_error(cudaErrorInvalidValue);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) {
      uad::sim::g_last_error = cudaErrorInvalidMemcpyDirection;
      return cudaErrorInvalidMemcpyDirection;
    }
    if ((dst_dev && !uad::sim::is_device_range(dst, bytes)) || (src_dev && !uad::sim::is_device_range(src, bytes))) {
      uad::sim::g_last_error = cudaErrorInvalidValue;
      return cudaErrorInvalidValue;
    }
  }
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!uad::sim::is_device_range(dst, bytes)) {
      uad::sim::g_last_error = cudaErrorInvalidValue;
      return cudaErrorInvalidValue;
    }
  }
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) { return cudaMemset(dst, value, bytes); }

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return set_error(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return set_error(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : set_error(cudaErrorInvalidDevice); }

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!value || device != 0) return set_error(device != 0 ? cudaErrorInvalidDevice : cudaErrorInvalidValue);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxBlockDimX: *value = 1024; break;
    case cudaDevAttrMaxGridDimX: *value = 2147483647; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = (int)uad::sim::kDefaultShmem; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = (int)uad::sim::kMaxShmem; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMultiProcessorCount: *value = 2; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 8; break;  // behaves like sm_80 for feature checks
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    default: return set_error(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  if (!stream) return set_error(cudaErrorInvalidValue);
  *stream = reinterpret_cast<cudaStream_t>(new char(0));
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete reinterpret_cast<char*>(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

cudaError_t cudaGetLastError() {
  std::lock_guard<std::mutex> lock(g_mu);
  return std::exchange(uad::sim::g_last_error, cudaSuccess);
}

cudaError_t cudaPeekAtLastError() {
  std::lock_guard<std::mutex> lock(g_mu);
  return uad::sim::g_last_error;
}

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
#define UAD_SIM_CASE(x) case x: return #x;
    UAD_SIM_CASE(cudaSuccess)
    UAD_SIM_CASE(cudaErrorInvalidValue)
    UAD_SIM_CASE(cudaErrorMemoryAllocation)
    UAD_SIM_CASE(cudaErrorInvalidConfiguration)
    UAD_SIM_CASE(cudaErrorInvalidDevicePointer)
    UAD_SIM_CASE(cudaErrorInvalidMemcpyDirection)
    UAD_SIM_CASE(cudaErrorInvalidDeviceFunction)
    UAD_SIM_CASE(cudaErrorNoDevice)
    UAD_SIM_CASE(cudaErrorInvalidDevice)
    UAD_SIM_CASE(cudaErrorInvalidResourceHandle)
    UAD_SIM_CASE(cudaErrorIllegalAddress)
    UAD_SIM_CASE(cudaErrorLaunchOutOfResources)
    UAD_SIM_CASE(cudaErrorLaunchFailure)
    UAD_SIM_CASE(cudaErrorNotSupported)
#undef UAD_SIM_CASE
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
  }
  return "unknown error";
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || (size_t)value > uad::sim::kMaxShmem)
    return set_error(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g_mu);
  uad::sim::g_shmem_limit[func] = (size_t)value;
  return cudaSuccess;
}

cudaError_t cudaFuncGetName(const char** name, const void* func) {
  if (!name || !func) return set_error(cudaErrorInvalidValue);
  std::string n = uad::sim::symbol_name(func);
  std::lock_guard<std::mutex> lock(g_mu);
  *name = uad::sim::g_names.emplace(func, std::move(n)).first->second.c_str();
  return cudaSuccess;
}
