// The simulator's synchronisation intrinsics: __syncthreads (and its count/and/or forms) and the
// warp operations, on top of the block scheduler (kernels/sim/scheduler.h). Rules: sim_device.h.
#include "kernels/sim/scheduler.h"

namespace uad::sim {

using namespace sched;

void sched::suspend(State& s, Thread& t) {
  asan_start(&t.fake_stack, t.sched_lo, t.sched_size);
  t.sched = std::move(t.sched).resume();
  asan_finish(t.fake_stack, &t.sched_lo, &t.sched_size);
  if (t.unwind) throw Unwind{};
}

void sched::release(State& s, Thread& self) {
  if (s.seed) {
    s.released.push_back(self.linear);
    s.rng.shuffle(s.released, 0, s.released.size());
  }
  for (unsigned r : s.released) push(s, r);
  s.released.clear();
  if (s.seed) suspend(s, self);
}

namespace {

/// Computes the results of a warp operation once all 32 lanes of `warp` arrived.
void complete_warp(State& s, unsigned warp) {
  Thread* lanes = &s.th[warp * 32];
  const Thread& a = lanes[0];
  for (int l = 1; l < 32; ++l) {
    const Thread& b = lanes[l];
    if (b.op != a.op || b.size != a.size || b.width != a.width)
      fault("the lanes of warp ", warp, " execute different warp operations: lane 0 ", op_name(a.op), "(", a.size,
            "-byte value, width ", a.width, ") at ", where(a.loc), ", lane ", l, " ", op_name(b.op), "(", b.size,
            "-byte value, width ", b.width, ") at ", where(b.loc));
  }
  uint64_t res[32];
  uint32_t ballot = 0;
  for (int l = 0; l < 32; ++l) ballot |= (lanes[l].value != 0 ? 1u : 0u) << l;
  for (int l = 0; l < 32; ++l) {
    const Thread& t = lanes[l];
    const int w = t.width, base = l & ~(w - 1), sub = l & (w - 1);
    int src = l;
    switch (t.op) {
      case WarpOp::syncwarp: break;
      case WarpOp::shfl: src = base + (t.param & (w - 1)); break;
      case WarpOp::shfl_up: src = (unsigned)t.param > (unsigned)sub ? l : l - t.param; break;
      case WarpOp::shfl_down: src = (unsigned)sub + (unsigned)t.param >= (unsigned)w ? l : l + t.param; break;
      case WarpOp::shfl_xor: {
        int x = l ^ t.param;  // later groups are out of reach: own value (CUDA Programming Guide)
        src = (x < 0 || x >= 32 || x >= base + w) ? l : x;
        break;
      }
      case WarpOp::ballot:
      case WarpOp::all:
      case WarpOp::any: break;
    }
    switch (t.op) {
      case WarpOp::ballot: res[l] = ballot; break;
      case WarpOp::all: res[l] = ballot == 0xffffffffu; break;
      case WarpOp::any: res[l] = ballot != 0; break;
      default: res[l] = lanes[src].value;
    }
  }
  for (int l = 0; l < 32; ++l) {
    lanes[l].result = res[l];
    lanes[l].wait = Wait::none;
  }
}

}  // namespace

int detail::block_barrier(BarrierOp op, int pred, const std::source_location& loc) {
  State& s = state();
  Thread& t = *s.cur;
  const char* name = barrier_name(op);
  if (s.exited > 0)
    fault(name, " at ", where(loc), " reached after thread ", thread_str(s, s.first_exited),
          " exited without reaching it — every thread of the block must reach every barrier (divergent barrier)");
  WarpState& w = s.warps[t.warp];
  if (w.arrived > 0)
    fault(name, " at ", where(loc), " reached while other lanes of warp ", t.warp, " wait at a warp operation (deadlock)");
  if (s.at_barrier == 0) {
    s.bar_op = op;
    s.bar_loc = loc;
    s.bar_first = t.linear;
    s.bar_acc = op == BarrierOp::all ? 1 : 0;
  } else if (op != s.bar_op) {
    fault(name, " at ", where(loc), " while other threads wait at ", barrier_name(s.bar_op), " (", where(s.bar_loc), ")");
  }
  switch (op) {
    case BarrierOp::sync: break;
    case BarrierOp::count: s.bar_acc += pred != 0; break;
    case BarrierOp::all: s.bar_acc &= pred != 0; break;
    case BarrierOp::any: s.bar_acc |= pred != 0; break;
  }
  t.wait = Wait::barrier;
  t.loc = loc;
  ++w.at_barrier;
  if (++s.at_barrier == s.nthreads) {
    s.bar_result = s.bar_acc;
    s.at_barrier = 0;
    ++s.stats.barriers;
    for (WarpState& ws : s.warps) ws.at_barrier = 0;
    for (unsigned i : s.order)
      if (i != t.linear && s.th[i].wait == Wait::barrier) {
        s.th[i].wait = Wait::none;
        s.released.push_back(i);
      }
    t.wait = Wait::none;
    release(s, t);
    return s.bar_result;
  }
  suspend(s, t);
  return s.bar_result;  // valid: the next barrier cannot complete before this thread arrives there
}

uint64_t detail::warp_op(WarpOp op, unsigned mask, uint64_t value, unsigned size, int param, int width,
                         const std::source_location& loc) {
  State& s = state();
  Thread& t = *s.cur;
  const char* name = op_name(op);
  if (mask != 0xffffffffu) {
    char m[16];
    std::snprintf(m, sizeof m, "0x%08x", mask);
    fault(name, " at ", where(loc), " with mask ", m, ": the simulator supports the full-warp mask 0xffffffff only");
  }
  const unsigned lanes = std::min(32u, s.nthreads - t.warp * 32);
  if (lanes != 32)
    fault(name, " at ", where(loc), " in warp ", t.warp, ", which has only ", lanes, " thread(s) (block of ", s.nthreads,
          "): warp operations need complete warps");
  if (width < 1 || width > 32 || (width & (width - 1)))
    fault(name, " at ", where(loc), ": width ", width, " is not a power of 2 in [1,32]");
  WarpState& w = s.warps[t.warp];
  if (w.exited > 0)
    fault(name, " at ", where(loc), " reached after lane ", w.first_exited % 32, " of warp ", t.warp,
          " exited without reaching it — every lane named in the mask must take part");
  if (w.at_barrier > 0)
    fault(name, " at ", where(loc), " reached while other lanes of warp ", t.warp, " wait at ", barrier_name(s.bar_op),
          " (", where(s.bar_loc), ") (deadlock)");
  t.wait = Wait::warp;
  t.op = op;
  t.value = value;
  t.size = size;
  t.param = param;
  t.width = width;
  t.loc = loc;
  if (++w.arrived == 32) {
    complete_warp(s, t.warp);
    w.arrived = 0;
    ++s.stats.warp_ops;
    for (unsigned l = t.warp * 32; l < t.warp * 32 + 32; ++l)
      if (l != t.linear) s.released.push_back(l);
    release(s, t);
    return t.result;
  }
  suspend(s, t);
  return t.result;
}

}  // namespace uad::sim
