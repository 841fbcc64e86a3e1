// Convolution benchmarks at the sizes of the unified autoencoder (batch 8, 5×5, stride 2, pad 2)
// and of the 3-D models (batch 2, 4×4×4, stride 2, pad 1). GFLOP/s counters count 2·multiply-adds
// (the three ops cost the same: 2·N·Cout·Cin·k·out).
//
//   kernel/<op>/<case>/<impl>   one kernel on preallocated contiguous buffers, impl one of
//                               im2col (vol2col + OpenBLAS GEMM), dnnl_any (oneDNN, blocked
//                               layouts + reorders), dnnl_plain (oneDNN on NCHW), auto (the rule
//                               in kernels/cpu/conv.cpp). op: fwd, bwd_in, bwd_w.
//   op/conv2d/<case>            uad::conv2d with bias (allocation and bias included), auto backend
//   op/conv_transpose2d/<case>  uad::conv_transpose2d 5×5 s2 p2 output_padding 1 with bias
//   step/<layer>/<case>         forward + backward (gx, gw, gb) of one layer through autograd
// Keep runs short on the shared machines and read the `_min` rows, e.g.
//   bench_conv --benchmark_min_time=0.05 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//              --benchmark_filter='kernel/.*/dnnl_any'
// (the GFLOP/s counter of the min row is the minimum rate; compute it from the min time.)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_dnnl.h"
#include "kernels/cpu/conv_im2col.h"
#include "tensor/ops.h"

using namespace uad;
using cpu::ConvOp;

namespace {

struct Case {
  std::string name;
  int nd;
  int64_t N, Cin, Cout, S, K, stride, pad;
};

// Convolution geometries (a transposed layer Cin→Cout at S→2S is the backward-input kernel of
// the convolution Cout→Cin at 2S, so the decoder's kernels appear here as 2S cases).
const std::vector<Case> kCases = {
    {"enc1_1to32_128", 2, 8, 1, 32, 128, 5, 2, 2},    {"enc2_32to64_64", 2, 8, 32, 64, 64, 5, 2, 2},
    {"enc3_64to128_32", 2, 8, 64, 128, 32, 5, 2, 2},  {"enc4_128to128_16", 2, 8, 128, 128, 16, 5, 2, 2},
    {"dec4_32to32_128", 2, 8, 32, 32, 128, 5, 2, 2},  {"enc1_1to32_256", 2, 8, 1, 32, 256, 5, 2, 2},
    {"v1_1to64_64c", 3, 2, 1, 64, 64, 4, 2, 1},       {"v2_64to128_32c", 3, 2, 64, 128, 32, 4, 2, 1},
    // the 1×1 convolutions of the unified AE: bottleneck 128→16 and 16→128 at 8², output 32→1 at 128²
    {"mid_128to16_8_1x1", 2, 8, 128, 16, 8, 1, 1, 0}, {"mid2_16to128_8_1x1", 2, 8, 16, 128, 8, 1, 1, 0},
    {"out_32to1_128_1x1", 2, 8, 32, 1, 128, 1, 1, 0},
};

cpu::ConvGeom geom(const Case& c) {
  cpu::ConvGeom g;
  g.nd = c.nd;
  g.N = c.N;
  g.Cin = c.Cin;
  g.Cout = c.Cout;
  for (int d = 3 - c.nd; d < 3; ++d) {
    g.in[d] = c.S;
    g.k[d] = c.K;
    g.stride[d] = c.stride;
    g.pad[d] = c.pad;
    g.out[d] = (c.S + 2 * c.pad - c.K) / c.stride + 1;
  }
  return g;
}

enum class Impl { im2col, dnnl_any, dnnl_plain, automatic };
const char* impl_name(Impl i) {
  switch (i) {
    case Impl::im2col: return "im2col";
    case Impl::dnnl_any: return "dnnl_any";
    case Impl::dnnl_plain: return "dnnl_plain";
    case Impl::automatic: return "auto";
  }
  return "?";
}
const char* op_name(ConvOp op) {
  return op == ConvOp::forward ? "fwd" : op == ConvOp::backward_input ? "bwd_in" : "bwd_w";
}

void set_flops(benchmark::State& st, double flops) {
  st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Kernel(benchmark::State& st, Case c, ConvOp op, Impl impl) {
  const cpu::ConvGeom g = geom(c);
  Generator gen(1);
  Tensor tx = rand({g.N * g.Cin * g.in_size()}, gen), tw = rand({g.Cout * g.Cin * g.k_size()}, gen),
         ty = rand({g.N * g.Cout * g.out_size()}, gen);
  const float *xp = tx.data<float>(), *wp = tw.data<float>(), *yp = ty.data<float>();
  Tensor out = empty({op == ConvOp::forward ? ty.numel() : op == ConvOp::backward_input ? tx.numel() : tw.numel()});
  float* o = out.data<float>();
  using L = cpu::dnnl_conv::Layout;
  auto run = [&] {
    bool ok = true;
    switch (impl) {
      case Impl::im2col:
        if (op == ConvOp::forward) cpu::im2col::forward<float>(g, xp, wp, nullptr, o);
        else if (op == ConvOp::backward_input) cpu::im2col::backward_input<float>(g, yp, wp, nullptr, o);
        else cpu::im2col::backward_weight<float>(g, xp, yp, o);
        break;
      case Impl::dnnl_any:
      case Impl::dnnl_plain: {
        const L l = impl == Impl::dnnl_any ? L::any : L::plain;
        if (op == ConvOp::forward) ok = cpu::dnnl_conv::forward(g, xp, wp, nullptr, o, l);
        else if (op == ConvOp::backward_input) ok = cpu::dnnl_conv::backward_data(g, yp, wp, nullptr, o, l);
        else ok = cpu::dnnl_conv::backward_weights(g, xp, yp, o, l);
        break;
      }
      case Impl::automatic:
        if (op == ConvOp::forward) cpu::conv_forward(g, xp, wp, nullptr, o);
        else if (op == ConvOp::backward_input) cpu::conv_backward_input(g, yp, wp, nullptr, o);
        else cpu::conv_backward_weight(g, xp, yp, o);
        break;
    }
    return ok;
  };
  if (!run()) {
    st.SkipWithError("oneDNN rejected the geometry");
    return;
  }
  for (auto _ : st) {
    run();
    benchmark::ClobberMemory();
  }
  set_flops(st, g.flops());
  if (impl == Impl::dnnl_any || impl == Impl::dnnl_plain)
    st.SetLabel(cpu::dnnl_conv::impl_name(op, g, impl == Impl::dnnl_any ? L::any : L::plain));
}

// ---- op level ----------------------------------------------------------------------------------
struct TCase {  // a transposed layer Cin→Cout, S→2S (5×5, stride 2, pad 2, output_padding 1)
  std::string name;
  int64_t N, Cin, Cout, S;
};
const std::vector<TCase> kTCases = {
    {"dec1_128to128_8", 8, 128, 128, 8},
    {"dec2_128to64_16", 8, 128, 64, 16},
    {"dec3_64to32_32", 8, 64, 32, 32},
    {"dec4_32to32_64", 8, 32, 32, 64},
    {"dec4_32to32_128", 8, 32, 32, 128},  // the 256² decoder's last layer (128² → 256²)
};

double tflops(const TCase& c) { return 2.0 * c.N * c.Cin * c.Cout * 25 * (double)c.S * c.S; }

Tensor conv_layer(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  return c.nd == 2 ? conv2d(x, w, b, {c.stride}, {c.pad}) : conv3d(x, w, b, {c.stride}, {c.pad});
}

void BM_OpConv(benchmark::State& st, Case c, bool train) {
  const cpu::ConvGeom g = geom(c);
  Generator gen(1);
  Shape xs{c.N, c.Cin}, ws{c.Cout, c.Cin};
  for (int d = 0; d < c.nd; ++d) {
    xs.push_back(c.S);
    ws.push_back(c.K);
  }
  Tensor x = rand(xs, gen), w = rand(ws, gen), b = rand({c.Cout}, gen);
  if (train) {
    w.requires_grad_();
    b.requires_grad_();
    x.requires_grad_(c.Cin > 1);  // the first layer's input (an image) needs no gradient
  }
  for (auto _ : st) {
    Tensor y = conv_layer(c, x, w, b);
    if (train) {
      y.backward(ones_like(y));
      w.zero_grad();
      b.zero_grad();
      x.zero_grad();
    }
    benchmark::DoNotOptimize(y.raw());
  }
  set_flops(st, g.flops() * (train ? (c.Cin > 1 ? 3 : 2) : 1));
}

void BM_OpTranspose(benchmark::State& st, TCase c, bool train) {
  Generator gen(1);
  Tensor x = rand({c.N, c.Cin, c.S, c.S}, gen), w = rand({c.Cin, c.Cout, 5, 5}, gen), b = rand({c.Cout}, gen);
  if (train) {
    x.requires_grad_();
    w.requires_grad_();
    b.requires_grad_();
  }
  for (auto _ : st) {
    Tensor y = conv_transpose2d(x, w, b, {2}, {2}, {1});
    if (train) {
      y.backward(ones_like(y));
      w.zero_grad();
      b.zero_grad();
      x.zero_grad();
    }
    benchmark::DoNotOptimize(y.raw());
  }
  set_flops(st, tflops(c) * (train ? 3 : 1));
}

}  // namespace

/// The machines are shared: other jobs preempt our threads at random. With
/// --benchmark_repetitions=N the `min` aggregate is the least disturbed run.
double min_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (const Case& c : kCases)
    for (ConvOp op : {ConvOp::forward, ConvOp::backward_input, ConvOp::backward_weight})
      for (Impl impl : {Impl::im2col, Impl::dnnl_any, Impl::dnnl_plain, Impl::automatic})
        benchmark::RegisterBenchmark(("kernel/" + std::string(op_name(op)) + "/" + c.name + "/" + impl_name(impl)).c_str(),
                                     BM_Kernel, c, op, impl)
            ->ComputeStatistics("min", min_of)->Unit(benchmark::kMillisecond)
            ->UseRealTime();
  for (const Case& c : kCases) {
    if (c.name.rfind("dec", 0) == 0) continue;
    benchmark::RegisterBenchmark(("op/conv/" + c.name).c_str(), BM_OpConv, c, false)->ComputeStatistics("min", min_of)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("step/conv/" + c.name).c_str(), BM_OpConv, c, true)->ComputeStatistics("min", min_of)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  for (const TCase& c : kTCases) {
    benchmark::RegisterBenchmark(("op/conv_transpose2d/" + c.name).c_str(), BM_OpTranspose, c, false)
        ->ComputeStatistics("min", min_of)->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("step/conv_transpose2d/" + c.name).c_str(), BM_OpTranspose, c, true)
        ->ComputeStatistics("min", min_of)->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
