// The caching device allocator of kernels/cuda/caching_allocator.h (rules and their rationale
// there). Compiled by nvcc (uad_cuda) or by g++ against the simulator (uad_sim), where cudaMalloc
// is host memory.
#include "kernels/cuda/portable.cuh"  // first: the CUDA runtime or the simulator

#include <cstdlib>
#include <set>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/caching_allocator.h"
#include "tensor/error.h"

namespace uad::cuda {

namespace {

/// A contiguous piece of a segment. Blocks of one segment form a doubly linked list in address
/// order; a block with neither neighbour is a whole segment.
struct Block {
  char* ptr = nullptr;
  size_t size = 0;
  size_t requested = 0;   // bytes asked for (live blocks)
  void* stream = nullptr;
  bool small = false;     // pool of its segment
  bool allocated = false;
  bool uncached = false;  // caching off: its own cudaMalloc of exactly `size` bytes
  Block* prev = nullptr;
  Block* next = nullptr;
};

/// Free-list order: by stream, then size, then address — lower_bound({stream, size, 0}) is the
/// best fit on that stream.
struct BlockLess {
  bool operator()(const Block* a, const Block* b) const {
    if (a->stream != b->stream) return std::less<void*>()(a->stream, b->stream);
    if (a->size != b->size) return a->size < b->size;
    return std::less<char*>()(a->ptr, b->ptr);
  }
};

size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

}  // namespace

struct CachingAllocator::Impl {
  std::set<Block*, BlockLess> small_free, large_free;
  std::unordered_map<void*, Block*> live;
  DeviceAllocStats st;
  size_t limit = 0;
  bool caching = true;

  std::set<Block*, BlockLess>& pool(bool small) { return small ? small_free : large_free; }

  /// cudaMalloc of a segment, honouring the limit; nullptr on failure (error cleared).
  char* segment_malloc(size_t bytes) {
    if (limit && st.reserved + bytes > limit) return nullptr;
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      (void)cudaGetLastError();
      return nullptr;
    }
    ++st.device_mallocs;
    ++st.segments;
    st.reserved += bytes;
    if (st.reserved > st.peak_reserved) st.peak_reserved = st.reserved;
    return static_cast<char*>(p);
  }

  /// Releases every fully free segment; returns the bytes released.
  size_t release_free_segments() {
    size_t released = 0;
    for (auto* set : {&small_free, &large_free}) {
      for (auto it = set->begin(); it != set->end();) {
        Block* b = *it;
        if (b->prev || b->next) {
          ++it;
          continue;
        }
        it = set->erase(it);
        (void)cudaFree(b->ptr);  // synchronises the device on a GPU (pending work on it finishes)
        ++st.device_frees;
        --st.segments;
        st.reserved -= b->size;
        released += b->size;
        delete b;
      }
    }
    return released;
  }
};

CachingAllocator::CachingAllocator(int device) : device_(device), impl_(std::make_unique<Impl>()) {}

CachingAllocator::~CachingAllocator() {
  // Collect every block (free or live), free each segment at its head, delete the blocks.
  std::vector<Block*> all;
  for (auto* set : {&impl_->small_free, &impl_->large_free}) all.insert(all.end(), set->begin(), set->end());
  for (auto& kv : impl_->live) all.push_back(kv.second);
  for (Block* b : all)
    if (!b->prev) (void)cudaFree(b->ptr);
  for (Block* b : all) delete b;
  impl_->small_free.clear();
  impl_->large_free.clear();
  impl_->live.clear();
}

size_t CachingAllocator::round_size(size_t bytes) { return bytes == 0 ? kRound : round_up(bytes, kRound); }

void* CachingAllocator::allocate(size_t bytes, void* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  Impl& m = *impl_;
  ++m.st.allocations;
  if (!m.caching) {  // exactly `bytes` (at least 1), straight from cudaMalloc
    char* p = m.segment_malloc(bytes ? bytes : 1);
    if (!p) fail("CachingAllocator: out of memory on device ", device_, " allocating ", bytes, " bytes (caching off): in use ", m.st.in_use, " bytes");
    Block* b = new Block;
    b->ptr = p;
    b->size = bytes ? bytes : 1;
    b->stream = stream;
    b->uncached = b->allocated = true;
    b->requested = bytes;
    m.live.emplace(p, b);
    m.st.in_use += b->size;
    m.st.requested_in_use += bytes;
    if (m.st.in_use > m.st.peak_in_use) m.st.peak_in_use = m.st.in_use;
    return p;
  }
  const size_t r = round_size(bytes);
  const bool small = r <= kSmallSize;
  auto& pool = m.pool(small);

  // Best fit on this stream.
  Block key;
  key.stream = stream;
  key.size = r;
  Block* b = nullptr;
  auto it = pool.lower_bound(&key);
  if (it != pool.end() && (*it)->stream == stream) {
    b = *it;
    pool.erase(it);
    ++m.st.cache_hits;
  } else {
    const size_t seg = small ? kSmallSegment : round_up(r, kLargeRound);
    char* p = m.segment_malloc(seg);
    if (!p) {  // out of memory (or over the limit): give the cache back and retry once
      ++m.st.oom_retries;
      m.release_free_segments();
      p = m.segment_malloc(seg);
    }
    if (!p) {
      const DeviceAllocStats& s = m.st;
      fail("CachingAllocator: out of memory on device ", device_, " allocating ", bytes, " bytes (a ", seg,
           "-byte segment): in use ", s.in_use, " bytes, reserved ", s.reserved, " bytes after releasing the cache",
           m.limit ? ", limit " + std::to_string(m.limit) + " bytes" : std::string());
    }
    b = new Block;
    b->ptr = p;
    b->size = seg;
    b->stream = stream;
    b->small = small;
  }

  // Split off the remainder when it is worth keeping.
  const size_t rest = b->size - r;
  if (small ? rest >= kRound : rest > kSmallSize) {
    Block* t = new Block;
    t->ptr = b->ptr + r;
    t->size = rest;
    t->stream = stream;
    t->small = b->small;
    t->prev = b;
    t->next = b->next;
    if (b->next) b->next->prev = t;
    b->next = t;
    b->size = r;
    pool.insert(t);
    ++m.st.splits;
  }

  b->allocated = true;
  b->requested = bytes;
  m.live.emplace(b->ptr, b);
  m.st.in_use += b->size;
  m.st.requested_in_use += bytes;
  if (m.st.in_use > m.st.peak_in_use) m.st.peak_in_use = m.st.in_use;
  return b->ptr;
}

void CachingAllocator::deallocate(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  Impl& m = *impl_;
  auto it = m.live.find(p);
  check(it != m.live.end(), "CachingAllocator::deallocate: ", p, " was not allocated by this allocator (or was already freed)");
  Block* b = it->second;
  m.live.erase(it);
  ++m.st.frees;
  m.st.in_use -= b->size;
  m.st.requested_in_use -= b->requested;
  b->allocated = false;
  b->requested = 0;
  if (b->uncached) {
    (void)cudaFree(b->ptr);
    ++m.st.device_frees;
    --m.st.segments;
    m.st.reserved -= b->size;
    delete b;
    return;
  }
  auto& pool = m.pool(b->small);
  if (b->prev && !b->prev->allocated) {  // merge into the free predecessor
    Block* a = b->prev;
    pool.erase(a);
    a->size += b->size;
    a->next = b->next;
    if (b->next) b->next->prev = a;
    delete b;
    b = a;
    ++m.st.merges;
  }
  if (b->next && !b->next->allocated) {  // absorb the free successor
    Block* c = b->next;
    pool.erase(c);
    b->size += c->size;
    b->next = c->next;
    if (c->next) c->next->prev = b;
    delete c;
    ++m.st.merges;
  }
  pool.insert(b);
}

size_t CachingAllocator::block_size(void* p) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = impl_->live.find(p);
  check(it != impl_->live.end(), "CachingAllocator::block_size: ", p, " is not a live block of this allocator");
  return it->second->size;
}

size_t CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  return impl_->release_free_segments();
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  impl_->st.peak_in_use = impl_->st.in_use;
  impl_->st.peak_reserved = impl_->st.reserved;
}

DeviceAllocStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  DeviceAllocStats s = impl_->st;
  s.cached = s.reserved - s.in_use;
  return s;
}

void CachingAllocator::set_caching(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  impl_->caching = on;
  if (!on) impl_->release_free_segments();
}

bool CachingAllocator::caching() const {
  std::lock_guard<std::mutex> lock(mu_);
  return impl_->caching;
}

void CachingAllocator::set_limit(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  impl_->limit = bytes;
}

size_t CachingAllocator::limit() const {
  std::lock_guard<std::mutex> lock(mu_);
  return impl_->limit;
}

std::string CachingAllocator::describe() const {
  std::lock_guard<std::mutex> lock(mu_);
  const Impl& m = *impl_;
  std::vector<Block*> heads;
  for (const auto* set : {&m.small_free, &m.large_free})
    for (Block* b : *set)
      if (!b->prev) heads.push_back(b);
  for (const auto& kv : m.live)
    if (!kv.second->prev) heads.push_back(kv.second);
  std::ostringstream os;
  os << "CachingAllocator(device " << device_ << "): " << heads.size() << " segments, in use " << m.st.in_use << " B, reserved "
     << m.st.reserved << " B\n";
  for (Block* h : heads) {
    os << "  segment " << static_cast<void*>(h->ptr) << (h->small ? " small" : " large") << " stream " << h->stream << ":";
    for (Block* b = h; b; b = b->next) os << " [" << b->size << (b->allocated ? " used]" : " free]");
    os << "\n";
  }
  return os.str();
}

CachingAllocator& device_allocator(int device) {
  check(device >= 0 && device < 64, "device_allocator: device index ", device, " out of range");
  static std::mutex mu;
  static CachingAllocator* allocators[64] = {};
  std::lock_guard<std::mutex> lock(mu);
  if (!allocators[device]) {
    allocators[device] = new CachingAllocator(device);  // never destroyed (see header)
    const char* env = std::getenv("UAD_CUDA_NO_CACHING");
    if (env && env[0] && std::string(env) != "0") allocators[device]->set_caching(false);
  }
  return *allocators[device];
}

}  // namespace uad::cuda
