// oneDNN convolution primitives with a per-geometry cache (see conv_dnnl.h).
#include "kernels/cpu/conv_dnnl.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

namespace uad::cpu::dnnl_conv {

namespace {

using dnnl::memory;
using tag = memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

/// One primitive argument: the plain layout the caller's buffer has, the layout the primitive
/// wants, and the reorder between them when they differ (direction given by `output`).
struct Arg {
  int id = 0;
  memory::desc plain, used;
  bool reorder = false;
  dnnl::reorder r;
};

/// The blocked copy of the most recent weights an entry reordered, with the plain values it was
/// made from: a call whose weights (same address) still hold exactly those values (memcmp) reuses
/// it instead of reordering again. A WGAN-GP critic step uses each weight ~12 times between two
/// optimiser steps (3 forwards, the gradient penalty's double backward); the 512×256×4³ weight's
/// reorder costs ≈ 5 ms, its comparison ≈ 0.5 ms. Exact: any change of a value misses.
struct WeightCache {
  std::mutex mu;
  const void* src = nullptr;
  std::vector<char> plain;
  void* blocked = nullptr;
  size_t blocked_bytes = 0;
  ~WeightCache() { std::free(blocked); }
};
/// Weights smaller than this are reordered every time (the reorder is cheaper than the bookkeeping).
constexpr size_t kCachedWeightBytes = 256 << 10;

struct Entry {
  bool ok = false;
  std::string impl = "unsupported";
  dnnl::primitive prim;
  Arg in0, in1, out;  // forward: src, weights → dst; bwd data: diff_dst, weights → diff_src;
                      // bwd weights: src, diff_dst → diff_weights
  memory::desc bias, scratch;
  bool weights_in1 = false;  // in1 is the weights (forward, backward data): WeightCache applies
  WeightCache wcache;
};

using Key = std::array<int64_t, 26>;

Key make_key(ConvOp op, const ConvGeom& g, Layout l, bool bias) {
  Key k{};
  int i = 0;
  k[i++] = (int64_t)op;
  k[i++] = (int64_t)l;
  k[i++] = bias;
  k[i++] = g.nd;
  k[i++] = g.N;
  k[i++] = g.Cin;
  k[i++] = g.Cout;
  k[i++] = omp_get_max_threads();  // oneDNN (OpenMP runtime) fixes the thread count at creation
  for (int d = 0; d < 3; ++d) {
    k[i++] = g.in[d];
    k[i++] = g.k[d];
    k[i++] = g.out[d];
    k[i++] = g.stride[d];
    k[i++] = g.pad[d];
    k[i++] = g.dil[d];
  }
  return k;
}

memory::dims spatial(const ConvGeom& g, const int64_t* v) {
  return g.nd == 2 ? memory::dims{v[1], v[2]} : memory::dims{v[0], v[1], v[2]};
}

memory::dims with_nc(int64_t a, int64_t b, const memory::dims& sp) {
  memory::dims d{a, b};
  d.insert(d.end(), sp.begin(), sp.end());
  return d;
}

Arg make_arg(int id, const memory::desc& plain, const memory::desc& used, bool output) {
  Arg a;
  a.id = id;
  a.plain = plain;
  a.used = used;
  a.reorder = plain != used;
  if (a.reorder) {
    a.r = output ? dnnl::reorder(dnnl::reorder::primitive_desc(engine(), used, engine(), plain))
                 : dnnl::reorder(dnnl::reorder::primitive_desc(engine(), plain, engine(), used));
  }
  return a;
}

std::shared_ptr<Entry> build(ConvOp op, const ConvGeom& g, Layout l, bool with_bias) {
  auto e = std::make_shared<Entry>();
  const bool any = l == Layout::any;
  const tag act = g.nd == 2 ? tag::nchw : tag::ncdhw, wt = g.nd == 2 ? tag::oihw : tag::oidhw;
  const memory::dims xd = with_nc(g.N, g.Cin, spatial(g, g.in)), wd = with_nc(g.Cout, g.Cin, spatial(g, g.k)),
                     yd = with_nc(g.N, g.Cout, spatial(g, g.out));
  memory::dims strides = spatial(g, g.stride), dil = spatial(g, g.dil), pl = spatial(g, g.pad), pr = pl;
  for (size_t i = 0; i < dil.size(); ++i) dil[i] -= 1;  // oneDNN counts dilation from 0
  const int off = g.nd == 2 ? 1 : 0;
  for (int d = off; d < 3; ++d)  // right padding that makes the output size exact (may be < pad)
    pr[d - off] = (g.out[d] - 1) * g.stride[d] + (g.k[d] - 1) * g.dil[d] + 1 - g.in[d] - g.pad[d];
  const auto f32 = memory::data_type::f32;
  const memory::desc px(xd, f32, act), pw(wd, f32, wt), py(yd, f32, act);
  const memory::desc ax = any ? memory::desc(xd, f32, tag::any) : px, aw = any ? memory::desc(wd, f32, tag::any) : pw,
                     ay = any ? memory::desc(yd, f32, tag::any) : py;
  const memory::desc bd({g.Cout}, f32, tag::x);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto alg = dnnl::algorithm::convolution_direct;
  try {
    using fwd = dnnl::convolution_forward;
    if (op == ConvOp::forward) {
      auto desc = with_bias ? fwd::desc(dnnl::prop_kind::forward_training, alg, ax, aw, bd, ay, strides, dil, pl, pr)
                            : fwd::desc(dnnl::prop_kind::forward_training, alg, ax, aw, ay, strides, dil, pl, pr);
      fwd::primitive_desc pd(desc, attr, engine());
      e->prim = fwd(pd);
      e->in0 = make_arg(DNNL_ARG_SRC, px, pd.src_desc(), false);
      e->in1 = make_arg(DNNL_ARG_WEIGHTS, pw, pd.weights_desc(), false);
      e->out = make_arg(DNNL_ARG_DST, py, pd.dst_desc(), true);
      e->bias = bd;
      e->scratch = pd.scratchpad_desc();
      e->impl = pd.impl_info_str();
      e->weights_in1 = true;
    } else {
      fwd::primitive_desc hint(fwd::desc(dnnl::prop_kind::forward_training, alg, ax, aw, ay, strides, dil, pl, pr), engine());
      if (op == ConvOp::backward_input) {
        using bwd = dnnl::convolution_backward_data;
        bwd::primitive_desc pd(bwd::desc(alg, ax, aw, ay, strides, dil, pl, pr), attr, engine(), hint);
        e->prim = bwd(pd);
        e->in0 = make_arg(DNNL_ARG_DIFF_DST, py, pd.diff_dst_desc(), false);
        e->in1 = make_arg(DNNL_ARG_WEIGHTS, pw, pd.weights_desc(), false);
        e->out = make_arg(DNNL_ARG_DIFF_SRC, px, pd.diff_src_desc(), true);
        e->scratch = pd.scratchpad_desc();
        e->impl = pd.impl_info_str();
        e->weights_in1 = true;
      } else {
        using bwd = dnnl::convolution_backward_weights;
        bwd::primitive_desc pd(bwd::desc(alg, ax, aw, ay, strides, dil, pl, pr), attr, engine(), hint);
        e->prim = bwd(pd);
        e->in0 = make_arg(DNNL_ARG_SRC, px, pd.src_desc(), false);
        e->in1 = make_arg(DNNL_ARG_DIFF_DST, py, pd.diff_dst_desc(), false);
        e->out = make_arg(DNNL_ARG_DIFF_WEIGHTS, pw, pd.diff_weights_desc(), true);
        e->scratch = pd.scratchpad_desc();
        e->impl = pd.impl_info_str();
      }
    }
    e->ok = true;
  } catch (const dnnl::error&) {
    e->ok = false;  // unsupported geometry: the caller falls back to im2col
  }
  return e;
}

std::shared_ptr<Entry> lookup(ConvOp op, const ConvGeom& g, Layout l, bool bias) {
  static std::mutex mu;
  static std::map<Key, std::shared_ptr<Entry>> cache;
  const Key k = make_key(op, g, l, bias);
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(k);
    if (it != cache.end()) return it->second;
  }
  auto e = build(op, g, l, bias);  // outside the lock: primitive creation takes milliseconds
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(k, e).first->second;
}

/// Runs a cached entry: reorders inputs into scratch slots 1–2 when needed (the weights through
/// the entry's WeightCache when they are large), runs the primitive into slot 3 (or straight into
/// `out`), reorders back, uses slot 4 as oneDNN's scratchpad.
void run(Entry& e, const void* in0, const void* in1, const float* bias, void* out) {
  dnnl::stream& s = stream();
  std::unordered_map<int, memory> args;
  auto input = [&](const Arg& a, const void* p, int slot) {
    memory user(a.plain, engine(), const_cast<void*>(p));
    if (!a.reorder) return user;
    memory m(a.used, engine(), conv_scratch(slot, a.used.get_size()));
    a.r.execute(s, user, m);
    return m;
  };
  args[e.in0.id] = input(e.in0, in0, 1);
  std::unique_lock<std::mutex> wlock;  // held while the primitive reads the cached blocked weights
  const size_t wbytes = e.in1.plain.get_size();
  if (e.weights_in1 && e.in1.reorder && wbytes >= kCachedWeightBytes) {
    WeightCache& c = e.wcache;
    wlock = std::unique_lock<std::mutex>(c.mu);
    const size_t bbytes = e.in1.used.get_size();
    const bool hit = c.src == in1 && c.plain.size() == wbytes && std::memcmp(c.plain.data(), in1, wbytes) == 0;
    if (!hit) {
      if (c.blocked_bytes < bbytes) {
        std::free(c.blocked);
        c.blocked_bytes = 0;
        c.blocked = std::aligned_alloc(64, (bbytes + 63) / 64 * 64);
        if (!c.blocked) throw std::bad_alloc();
        c.blocked_bytes = bbytes;
      }
      memory user(e.in1.plain, engine(), const_cast<void*>(in1));
      memory m(e.in1.used, engine(), c.blocked);
      e.in1.r.execute(s, user, m);
      c.plain.assign(static_cast<const char*>(in1), static_cast<const char*>(in1) + wbytes);
      c.src = in1;
    }
    args[e.in1.id] = memory(e.in1.used, engine(), c.blocked);
  } else {
    args[e.in1.id] = input(e.in1, in1, 2);
  }
  memory user_out(e.out.plain, engine(), out);
  memory prim_out = e.out.reorder ? memory(e.out.used, engine(), conv_scratch(3, e.out.used.get_size())) : user_out;
  args[e.out.id] = prim_out;
  if (bias) args[DNNL_ARG_BIAS] = memory(e.bias, engine(), const_cast<float*>(bias));
  if (e.scratch.get_size()) args[DNNL_ARG_SCRATCHPAD] = memory(e.scratch, engine(), conv_scratch(4, e.scratch.get_size()));
  e.prim.execute(s, args);
  if (e.out.reorder) e.out.r.execute(s, prim_out, user_out);
  s.wait();
  note_conv_backend(ConvBackend::dnnl);
}

}  // namespace

bool forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y, Layout l) {
  auto e = lookup(ConvOp::forward, g, l, bias != nullptr);
  if (!e->ok) return false;
  run(*e, x, w, bias, y);
  return true;
}

bool backward_data(const ConvGeom& g, const float* gy, const float* w, const float* bias, float* gx, Layout l) {
  auto e = lookup(ConvOp::backward_input, g, l, false);
  if (!e->ok) return false;
  run(*e, gy, w, nullptr, gx);
  if (bias) add_channel_bias(gx, bias, g.N, g.Cin, g.in_size());
  return true;
}

bool backward_weights(const ConvGeom& g, const float* x, const float* gy, float* gw, Layout l) {
  auto e = lookup(ConvOp::backward_weight, g, l, false);
  if (!e->ok) return false;
  run(*e, x, gy, nullptr, gw);
  return true;
}

std::string impl_name(ConvOp op, const ConvGeom& g, Layout l) { return lookup(op, g, l, false)->impl; }

}  // namespace uad::cpu::dnnl_conv
