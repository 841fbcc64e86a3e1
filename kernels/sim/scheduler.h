// Internal to the simulator runtime (kernels/sim/scheduler.cpp, sync.cpp): the block scheduler's
// state — fiber stacks, threads, warps, the run queue — and small helpers shared by the two files.
// Not for kernels or tests.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <boost/context/fiber.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/sim/sim_internal.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

namespace uad::sim::sched {

namespace ctx = boost::context;
using detail::BarrierOp;
using detail::WarpOp;

// AddressSanitizer is told about every stack switch (no-ops otherwise).
inline void asan_start(void** fake_stack, const void* bottom, size_t size) {
#ifdef __SANITIZE_ADDRESS__
  __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#else
  (void)fake_stack, (void)bottom, (void)size;
#endif
}
inline void asan_finish(void* fake_stack, const void** bottom_old, size_t* size_old) {
#ifdef __SANITIZE_ADDRESS__
  __sanitizer_finish_switch_fiber(fake_stack, bottom_old, size_old);
#else
  (void)fake_stack, (void)bottom_old, (void)size_old;
#endif
}

/// Fiber stacks: mmap'd once (with a guard page below each), reused by every later fiber.
/// Size: UAD_SIM_STACK_KB, else 64 KiB (256 KiB under AddressSanitizer, whose frames are larger).
struct StackPool {
  size_t size = 0, page = 0;
  std::vector<char*> free, all;  // lowest usable address of each stack
  char* last = nullptr;          // the stack handed out last
  StackPool() {
    page = (size_t)sysconf(_SC_PAGESIZE);
#ifdef __SANITIZE_ADDRESS__
    size_t kb = 256;
#else
    size_t kb = 64;
#endif
    if (const char* e = std::getenv("UAD_SIM_STACK_KB")) kb = std::max<size_t>(16, std::strtoull(e, nullptr, 10));
    size = (kb * 1024 + page - 1) / page * page;
  }
  ~StackPool() {
    for (char* p : all) munmap(p - page, size + page);
  }
  char* get() {
    if (free.empty()) {
      void* m = mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (m == MAP_FAILED) throw std::bad_alloc();
      mprotect(m, page, PROT_NONE);  // guard page: a stack overflow faults instead of corrupting
      all.push_back(static_cast<char*>(m) + page);
      free.push_back(all.back());
    }
    last = free.back();
    free.pop_back();
    return last;
  }
};

/// Boost.Context StackAllocator over the pool.
struct PooledStack {
  StackPool* pool;
  ctx::stack_context allocate() {
    ctx::stack_context sc;
    sc.size = pool->size;
    sc.sp = pool->get() + pool->size;
    return sc;
  }
  void deallocate(ctx::stack_context& sc) noexcept { pool->free.push_back(static_cast<char*>(sc.sp) - sc.size); }
};

enum class Wait : uint8_t { none, barrier, warp };

struct Thread {
  ::uint3 idx{};
  unsigned linear = 0, warp = 0, lane = 0;
  bool started = false, done = false, unwind = false;
  Wait wait = Wait::none;
  ctx::fiber fib;    // this thread's continuation while it waits (empty when not on a fiber)
  ctx::fiber sched;  // the scheduler's continuation while this thread runs on its fiber
  char* stack_lo = nullptr;
  size_t stack_size = 0;
  void* fake_stack = nullptr;
  const void* sched_lo = nullptr;
  size_t sched_size = 0;
  std::source_location loc;  // where it waits
  // warp operation operands and result
  WarpOp op = WarpOp::syncwarp;
  unsigned size = 0;
  int param = 0, width = 32;
  uint64_t value = 0, result = 0;
};

struct WarpState {
  int arrived = 0, exited = 0, at_barrier = 0;
  unsigned first_exited = 0;
};

struct Launch {
  const void* kernel;
  dim3 grid, block;
  size_t shmem;
  detail::Thunk run;
  void* frame;
};

/// Misuse found on a thread's own stack (thrown there, caught where the thread started).
struct Fault {
  std::string what;
};
/// Thrown into a waiting thread to unwind it when its block failed.
struct Unwind {};
/// The current block failed; s.fault holds the message.
struct BlockFailed {};

/// splitmix64 (Steele et al. 2014): a small seedable generator for the shuffled orders.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  template <class V> void shuffle(V& v, size_t b, size_t e) {
    for (size_t i = e; i > b + 1; --i) std::swap(v[i - 1], v[b + next() % (i - b)]);
  }
};

struct State {
  std::mutex mu;
  StackPool pool;
  const Launch* L = nullptr;
  unsigned nthreads = 0;
  std::vector<Thread> th;
  std::vector<WarpState> warps;
  std::vector<unsigned> order;      // start order of the current block
  std::vector<unsigned> queue;      // ring buffer of runnable threads (each at most once)
  size_t qhead = 0, qsize = 0;
  std::vector<unsigned> released;   // scratch for releases
  Thread* cur = nullptr;
  void* sched_fake = nullptr;
  // block barrier
  unsigned exited = 0, at_barrier = 0, first_exited = 0, bar_first = 0;
  BarrierOp bar_op = BarrierOp::sync;
  int bar_acc = 0, bar_result = 0;
  std::source_location bar_loc;
  // faults
  bool faulted = false;
  std::string fault;
  // shuffle
  bool seed_read = false;
  std::optional<uint64_t> seed;
  Rng rng{0};
  uint64_t launch_no = 0;
  Stats stats;
};

/// The scheduler's state (one per process; launches are serialised by its mutex).
State& state();

inline const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::syncwarp: return "__syncwarp";
    case WarpOp::shfl: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::all: return "__all_sync";
    case WarpOp::any: return "__any_sync";
  }
  return "?";
}
inline const char* barrier_name(BarrierOp op) {
  switch (op) {
    case BarrierOp::sync: return "__syncthreads";
    case BarrierOp::count: return "__syncthreads_count";
    case BarrierOp::all: return "__syncthreads_and";
    case BarrierOp::any: return "__syncthreads_or";
  }
  return "?";
}

inline std::string where(const std::source_location& l) {
  std::ostringstream o;
  o << l.file_name() << ':' << l.line() << " in " << l.function_name();
  return o.str();
}
inline std::string idx3(unsigned x, unsigned y, unsigned z) {
  char b[40];
  std::snprintf(b, sizeof b, "(%u,%u,%u)", x, y, z);
  return b;
}
inline std::string thread_str(const State& s, unsigned linear) {
  const ::uint3& i = s.th[linear].idx;
  return idx3(i.x, i.y, i.z);
}

template <class... A> [[noreturn]] void fault(const A&... a) {
  std::ostringstream o;
  (o << ... << a);
  throw Fault{o.str()};
}

inline void record_fault(State& s, const Thread& t, const std::string& what) {
  if (s.faulted) return;
  s.faulted = true;
  s.fault = "block " + idx3(detail::g_block_idx.x, detail::g_block_idx.y, detail::g_block_idx.z) + ", thread " +
            idx3(t.idx.x, t.idx.y, t.idx.z) + ": " + what;
}

inline void push(State& s, unsigned tid) {
  s.queue[(s.qhead + s.qsize) % s.nthreads] = tid;
  ++s.qsize;
}
inline bool pop(State& s, unsigned& tid) {
  if (s.qsize == 0) return false;
  tid = s.queue[s.qhead];
  s.qhead = (s.qhead + 1) % s.nthreads;
  --s.qsize;
  return true;
}

/// Switches from the running thread back to the scheduler; returns when the thread is resumed
/// (throws Unwind into it when its block failed). sync.cpp.
void suspend(State& s, Thread& t);
/// Makes the threads in s.released runnable (shuffled when shuffling; the releasing thread then
/// queues and yields too, so it does not always run first). sync.cpp.
void release(State& s, Thread& self);

}  // namespace uad::sim::sched
