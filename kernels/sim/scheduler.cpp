// The simulator's block scheduler: runs the threads of each block as lazily started fibers
// (Boost.Context on pooled, guard-paged stacks) and turns misuse into launch errors; the barriers
// and warp operations themselves are in sync.cpp. Model and rules: kernels/sim/sim.h, sim_device.h.
//
// Per block: a FIFO of runnable threads, initially all threads in index order (or shuffled).
// Running a thread = starting it (first time) or resuming its fiber; it runs until it exits or
// waits at a barrier / warp operation (then it switches back here). When the last thread arrives
// at a barrier (the last lane at a warp op), the waiters become runnable again. A thread is
// started WITHOUT a fiber when a lane of its warp has already exited: such a thread can never
// legally wait (the exited lane would never arrive), so if it reaches a barrier that is an error
// reported on the spot — this is what makes barrier-free kernels cost one fiber per warp only.
//
// AddressSanitizer: every stack switch is announced with __sanitizer_{start,finish}_switch_fiber
// (Boost 1.74 does so only in its ucontext variant), and a launch that fails unwinds its waiting
// threads by resuming them into an exception, so no fiber is ever dropped mid-stack.
#include <memory>

#include "kernels/sim/scheduler.h"

namespace uad::sim {

namespace detail {
::uint3 g_thread_idx{0, 0, 0};
::uint3 g_block_idx{0, 0, 0};
::dim3 g_block_dim;
::dim3 g_grid_dim;
unsigned char* g_dynamic_shared = nullptr;
}  // namespace detail

sched::State& sched::state() {
  static State* s = new State();  // never destroyed: fibers' stacks may outlive static destruction order
  return *s;
}

using namespace sched;

namespace {

/// The shuffle seed from UAD_SIM_SHUFFLE, read once unless set_shuffle_seed came first.
void read_seed(State& s) {
  if (s.seed_read) return;
  s.seed_read = true;
  const char* e = std::getenv("UAD_SIM_SHUFFLE");
  if (e && *e) s.seed = std::strtoull(e, nullptr, 10);
}

/// Resumes (or first enters) thread t's fiber from the scheduler.
void resume(State& s, Thread& t) {
  ++s.stats.switches;
  asan_start(&s.sched_fake, t.stack_lo, t.stack_size);
  t.fib = std::move(t.fib).resume();
  asan_finish(s.sched_fake, nullptr, nullptr);
}

/// Bookkeeping when a thread finishes its kernel; an error if others wait for it.
void on_exit(State& s, Thread& t) {
  t.done = true;
  WarpState& w = s.warps[t.warp];
  if (s.exited++ == 0) s.first_exited = t.linear;
  if (w.exited++ == 0) w.first_exited = t.linear;
  if (s.at_barrier > 0)
    fault("exited while ", s.at_barrier, " thread(s) wait at ", barrier_name(s.bar_op), " (", where(s.bar_loc),
          "; first to arrive: thread ", thread_str(s, s.bar_first),
          ") — every thread of the block must reach every barrier (divergent barrier)");
  if (w.arrived > 0) {
    for (unsigned l = t.warp * 32; l < t.warp * 32 + 32; ++l)
      if (s.th[l].wait == Wait::warp)
        fault("exited while ", w.arrived, " lane(s) of warp ", t.warp, " wait at ", op_name(s.th[l].op), " (",
              where(s.th[l].loc), "; lane ", l % 32, ") — every lane named in the mask must take part");
  }
}

ctx::fiber fiber_main(State& s, Thread& t, ctx::fiber&& sched) {
  t.sched = std::move(sched);
  asan_finish(nullptr, &t.sched_lo, &t.sched_size);
  try {
    s.L->run(s.L->frame);
    on_exit(s, t);
  } catch (const Unwind&) {
  } catch (const Fault& f) {
    record_fault(s, t, f.what);
  } catch (const ctx::detail::forced_unwind&) {
    throw;
  } catch (const std::exception& e) {
    record_fault(s, t, std::string("the kernel threw: ") + e.what());
  } catch (...) {
    record_fault(s, t, "the kernel threw an unknown exception");
  }
  t.done = true;
  asan_start(nullptr, t.sched_lo, t.sched_size);  // this fiber ends: no fake stack to keep
  return std::move(t.sched);
}

/// Fills shared memory with 0xFF bytes (NaN in f32/f64).
void poison_shared(const Launch& L) {
  for (const internal::SharedRange& r : internal::static_shared_ranges()) std::memset(r.ptr, 0xFF, r.bytes);
  if (L.shmem) std::memset(detail::g_dynamic_shared, 0xFF, L.shmem);
}

std::string describe_stall(const State& s) {
  std::ostringstream o;
  o << "the block stalled: " << s.nthreads - s.exited << " thread(s) wait and none can proceed:";
  for (const Thread& t : s.th)
    if (!t.done && t.wait != Wait::none)
      o << " thread " << idx3(t.idx.x, t.idx.y, t.idx.z) << " at "
        << (t.wait == Wait::barrier ? barrier_name(s.bar_op) : op_name(t.op)) << " (" << where(t.loc) << ");";
  return o.str();
}

void run_block(State& s, unsigned bx, unsigned by, unsigned bz) {
  const Launch& L = *s.L;
  detail::g_block_idx = ::uint3{bx, by, bz};
  poison_shared(L);
  ++s.stats.blocks;
  for (Thread& t : s.th) {
    t.started = t.done = t.unwind = false;
    t.wait = Wait::none;
  }
  for (WarpState& w : s.warps) w = WarpState{};
  s.exited = s.at_barrier = 0;
  s.faulted = false;
  if (s.seed) {
    s.rng = Rng{*s.seed ^ (s.launch_no * 0xD1B54A32D192ED03ull) ^ (((uint64_t)bz << 42) ^ ((uint64_t)by << 21) ^ bx)};
    s.rng.shuffle(s.order, 0, s.order.size());
  }
  s.qhead = s.qsize = 0;
  for (unsigned i : s.order) push(s, i);
  unsigned tid;
  while (!s.faulted && pop(s, tid)) {
    Thread& t = s.th[tid];
    s.cur = &t;
    detail::g_thread_idx = t.idx;
    if (!t.started) {
      t.started = true;
      ++s.stats.threads;
      if (s.warps[t.warp].exited > 0) {  // fast path: no fiber (see the file comment)
        ++s.stats.plain_threads;
        try {
          L.run(L.frame);
          on_exit(s, t);
        } catch (const Fault& f) {
          record_fault(s, t, f.what);
        } catch (const std::exception& e) {
          record_fault(s, t, std::string("the kernel threw: ") + e.what());
        } catch (...) {
          record_fault(s, t, "the kernel threw an unknown exception");
        }
        continue;
      }
      ++s.stats.fibers;
      t.fib = ctx::fiber(std::allocator_arg, PooledStack{&s.pool},
                         [&s, &t](ctx::fiber&& sched) { return fiber_main(s, t, std::move(sched)); });
      t.stack_lo = s.pool.last;
      t.stack_size = s.pool.size;
    }
    resume(s, t);
  }
  if (!s.faulted && s.exited < s.nthreads) {
    s.faulted = true;
    s.fault = "block " + idx3(bx, by, bz) + ": " + describe_stall(s);
  }
  if (s.faulted) {
    for (Thread& t : s.th)
      if (t.fib) {  // waiting on its fiber: unwind it (suspend() throws Unwind)
        t.unwind = true;
        s.cur = &t;
        detail::g_thread_idx = t.idx;
        resume(s, t);
      }
    throw BlockFailed{};
  }
}

std::string config_str(const Launch& L) {
  return symbol_name(L.kernel) + "<<<" + idx3(L.grid.x, L.grid.y, L.grid.z) + ", " + idx3(L.block.x, L.block.y, L.block.z) +
         ", " + std::to_string(L.shmem) + ">>>";
}

std::string check_config(const Launch& L) {
  const dim3 g = L.grid, b = L.block;
  const uint64_t nt = (uint64_t)b.x * b.y * b.z;
  if (b.x == 0 || b.y == 0 || b.z == 0 || g.x == 0 || g.y == 0 || g.z == 0) return "a grid or block dimension is 0";
  if (b.x > 1024 || b.y > 1024 || b.z > 64) return "block dimensions exceed (1024,1024,64)";
  if (nt > 1024) return "more than 1024 threads per block";
  if (g.x > 2147483647u || g.y > 65535 || g.z > 65535) return "grid dimensions exceed (2^31-1,65535,65535)";
  if (L.shmem > internal::dynamic_shared_limit(L.kernel))
    return std::to_string(L.shmem) + " bytes of dynamic shared memory exceed the kernel's limit of " +
           std::to_string(internal::dynamic_shared_limit(L.kernel)) + " (raise it with cudaFuncSetAttribute)";
  return {};
}

}  // namespace

// ---- launch ----

cudaError_t detail::launch(const void* kernel, dim3 grid, dim3 block, size_t shmem, cudaStream_t stream, Thunk run, void* frame) {
  (void)stream;  // every launch runs to completion here, so stream order holds trivially
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  read_seed(s);
  const Launch L{kernel, grid, block, shmem, run, frame};
  if (std::string bad = check_config(L); !bad.empty())
    return internal::set_error(cudaErrorInvalidConfiguration, "kernel " + config_str(L) + ": invalid configuration: " + bad);
  ++s.stats.launches;
  ++s.launch_no;
  s.L = &L;
  s.nthreads = block.x * block.y * block.z;
  s.th.resize(s.nthreads);
  s.warps.assign((s.nthreads + 31) / 32, WarpState{});
  s.order.resize(s.nthreads);
  s.queue.resize(s.nthreads);
  for (unsigned z = 0, i = 0; z < block.z; ++z)
    for (unsigned y = 0; y < block.y; ++y)
      for (unsigned x = 0; x < block.x; ++x, ++i) {
        Thread& t = s.th[i];
        t.idx = ::uint3{x, y, z};
        t.linear = i;
        t.warp = i / 32;
        t.lane = i % 32;
        s.order[i] = i;
      }
  detail::g_grid_dim = grid;
  detail::g_block_dim = block;
  void* dyn = nullptr;
  if (posix_memalign(&dyn, 128, shmem ? shmem : 1) != 0) return internal::set_error(cudaErrorMemoryAllocation);
  std::unique_ptr<void, void (*)(void*)> dyn_owner(dyn, std::free);
  detail::g_dynamic_shared = static_cast<unsigned char*>(dyn);
  // Block order: linear (x fastest), or a shuffled permutation for grids up to 2^22 blocks.
  const uint64_t nblocks = (uint64_t)grid.x * grid.y * grid.z;
  std::vector<uint64_t> border;
  if (s.seed && nblocks <= (1u << 22)) {
    border.resize(nblocks);
    for (uint64_t i = 0; i < nblocks; ++i) border[i] = i;
    Rng r{*s.seed + s.launch_no};
    r.shuffle(border, 0, border.size());
  }
  cudaError_t result = cudaSuccess;
  try {
    for (uint64_t b = 0; b < nblocks; ++b) {
      const uint64_t lin = border.empty() ? b : border[b];
      run_block(s, (unsigned)(lin % grid.x), (unsigned)(lin / grid.x % grid.y), (unsigned)(lin / grid.x / grid.y));
    }
  } catch (const BlockFailed&) {
    result = internal::set_error(cudaErrorLaunchFailure, "kernel " + config_str(L) + ": " + s.fault);
  }
  detail::g_dynamic_shared = nullptr;
  s.L = nullptr;
  s.cur = nullptr;
  return result;
}

void set_shuffle_seed(std::optional<uint64_t> seed) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.seed_read = true;
  s.seed = seed;
}

std::optional<uint64_t> shuffle_seed() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  read_seed(s);
  return s.seed;
}

Stats stats() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.stats;
}

void reset_stats() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.stats = Stats{};
}

}  // namespace uad::sim
