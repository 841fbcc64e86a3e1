// PyTorch parity harness: an outside oracle (PyTorch 1.13, CPU, float32, 2 threads) that no one
// here wrote (DESIGN.md §5 "External oracle").
//
// How a case runs (parity_case):
//   1. The inputs (named f32 tensors; f64 on request) are written as `in_<name>.npy` into a fresh case directory
//      under one per-process temp dir (mkdtemp; removed at exit unless UAD_PARITY_KEEP=1), with
//      `params.json` = {"kind", "inputs", "grad", "n_out", "p": {case parameters}}.
//   2. uad computes the case's outputs with the C++ function; the gradients of outputs[0] w.r.t.
//      the inputs marked `grad` are taken with uad::grad, seeded with a random `gy.npy` of the
//      output's shape (or 1 for a scalar output).
//   3. The Python oracle (tests/parity/oracle.py, started ONCE per test process and kept alive:
//      importing torch costs ~1 s; ctest runs each TEST in its own process, so the test files
//      group many cases per TEST) is sent one line "<kind>\t<dir>"; it runs the same case in
//      PyTorch and writes `out_<i>.npy` and `grad_<name>.npy`, then answers "ok" or "error ...".
//   4. Every output and gradient is compared (compare_tensors):
//        norm-wise   ‖a − b‖₂ ≤ rel·‖b‖₂ + abs          (rel = 1e-4, abs = 0 by default)
//        elementwise |aᵢ − bᵢ| ≤ elem_rel·|bᵢ| + elem_floor·max|b|   (1e-4, 1e-4)
//      where a = uad, b = PyTorch. The norm-wise bound is the "1e-4 relative" criterion; the
//      elementwise bound (with its small absolute floor scaled by the tensor's magnitude, so that
//      values that cancel to ~0 are not judged relatively) catches a localised error (a wrong
//      border pixel) that a norm over a large tensor would hide.
// parity_second_order wraps a case into gradients of gradients (g = ∂(Σf·gy)/∂x with
// create_graph, h = Σ g·v, then ∂h/∂inputs), the Python kind being "gg_<kind>".
// Torch missing → the test FAILS (never skips) with a message to install python3-torch.
// Environment: UAD_PARITY_PYTHON overrides /usr/bin/python3; UAD_PARITY_KEEP=1 keeps the files
// (and adds uad's results as uad_*.npy; a kept case re-runs with `oracle.py --once <dir>`);
// UAD_PARITY_VERBOSE=0 silences the one summary line printed per case.
#pragma once
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tests/npy.h"

#ifndef UAD_SOURCE_DIR
#error "UAD_SOURCE_DIR must be defined (tests/CMakeLists.txt does it)"
#endif

namespace uad::parity {

/// Case parameters, serialised as a flat JSON object for the Python side.
class Params {
 public:
  Params& num(const std::string& k, double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.17g", v);
    kv_.emplace_back(k, b);
    return *this;
  }
  Params& ints(const std::string& k, const Shape& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(v[i]);
    }
    kv_.emplace_back(k, s + "]");
    return *this;
  }
  Params& str(const std::string& k, const std::string& v) {
    kv_.emplace_back(k, "\"" + v + "\"");
    return *this;
  }
  Params& flag(const std::string& k, bool v) {
    kv_.emplace_back(k, v ? "true" : "false");
    return *this;
  }
  std::string json() const {
    std::string s = "{";
    for (size_t i = 0; i < kv_.size(); ++i) s += (i ? ", " : "") + ("\"" + kv_[i].first + "\": ") + kv_[i].second;
    return s + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
};

/// The per-process temp dir holding every case's files.
class Workdir {
 public:
  static Workdir& get() {
    static Workdir w;
    return w;
  }
  /// A fresh sub-directory for one case.
  std::string new_case(const std::string& kind) {
    std::string d = root_ + "/" + std::to_string(counter_++) + "_" + kind;
    std::filesystem::create_directories(d);
    return d;
  }
  ~Workdir() {
    const char* keep = std::getenv("UAD_PARITY_KEEP");
    if (!root_.empty() && !(keep && std::string(keep) == "1")) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
  }

 private:
  Workdir() {
    std::string base = std::filesystem::temp_directory_path().string() + "/uad_parity_XXXXXX";
    std::vector<char> buf(base.begin(), base.end());
    buf.push_back('\0');
    check(mkdtemp(buf.data()) != nullptr, "parity: mkdtemp failed for ", base);
    root_ = buf.data();
  }
  std::string root_;
  int counter_ = 0;
};

/// The long-lived Python/PyTorch process (one per test process, started on first use).
class Oracle {
 public:
  static Oracle& get() {
    static Oracle o;
    return o;
  }
  /// Runs one case; returns "" on success, else the error text (includes how to install torch
  /// when the import failed).
  std::string run(const std::string& kind, const std::string& dir) {
    if (!start_error_.empty()) return start_error_;
    std::string line = kind + "\t" + dir + "\n";
    if (std::fputs(line.c_str(), to_) < 0 || std::fflush(to_) != 0) return "parity oracle: write to python failed";
    std::string reply = read_line();
    if (reply == "ok") return "";
    if (reply.empty()) return "parity oracle: python exited unexpectedly (see stderr above)";
    return "parity oracle: " + reply;
  }
  ~Oracle() {
    if (to_) std::fclose(to_);
    if (from_) std::fclose(from_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }

 private:
  Oracle() {
    signal(SIGPIPE, SIG_IGN);
    const char* env = std::getenv("UAD_PARITY_PYTHON");
    std::string python = env ? env : "/usr/bin/python3";
    std::string script = std::string(UAD_SOURCE_DIR) + "/tests/parity/oracle.py";
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
      start_error_ = "parity oracle: pipe() failed";
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]); close(in[1]); close(out[0]); close(out[1]);
      execl(python.c_str(), python.c_str(), "-u", script.c_str(), (char*)nullptr);
      std::fprintf(stderr, "parity oracle: cannot exec %s\n", python.c_str());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    std::string hello = read_line();
    if (hello.rfind("ready", 0) != 0)
      start_error_ = "parity oracle: PyTorch is not available to " + python + " (" +
                     (hello.empty() ? std::string("python did not start") : hello) +
                     "). Install it: sudo apt-get install -y python3-torch python3-numpy";
  }
  std::string read_line() {
    std::string s;
    int c;
    while ((c = std::fgetc(from_)) != EOF && c != '\n') s += (char)c;
    return s;
  }
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  std::string start_error_;
};

/// Tolerances of compare_tensors (see the file header).
struct Tol {
  double rel = 1e-4;         // norm-wise relative bound
  double abs = 0.0;          // norm-wise absolute floor (for gradients that are mathematically ~0)
  double elem_rel = 1e-4;    // elementwise relative bound
  double elem_floor = 1e-4;  // elementwise absolute floor, as a fraction of max|ref|
};

/// UAD_PARITY_KEEP=1: keep the case files (and write uad's results as uad_out_<i>.npy,
/// uad_grad_<name>.npy next to torch's).
inline bool keep_files() {
  const char* k = std::getenv("UAD_PARITY_KEEP");
  return k && std::string(k) == "1";
}

inline bool verbose() {
  const char* v = std::getenv("UAD_PARITY_VERBOSE");
  return !(v && std::string(v) == "0");
}

/// Compares uad's `got` with PyTorch's `ref` (shape, norm-wise and elementwise bounds).
inline ::testing::AssertionResult compare_tensors(const std::string& what, const Tensor& got, const Tensor& ref,
                                                  const Tol& tol, double* rel_out = nullptr) {
  if (got.shape() != ref.shape())
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(got.shape()) << " vs torch "
                                         << shape_str(ref.shape());
  std::vector<double> a = got.to_vector(), b = ref.to_vector();
  double d2 = 0, b2 = 0, bmax = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d2 += (a[i] - b[i]) * (a[i] - b[i]);
    b2 += b[i] * b[i];
    bmax = std::max(bmax, std::fabs(b[i]));
  }
  double dn = std::sqrt(d2), bn = std::sqrt(b2);
  double rel = bn > 0 ? dn / bn : dn;
  if (rel_out) *rel_out = rel;
  if (!std::isfinite(dn) || dn > tol.rel * bn + tol.abs)
    return ::testing::AssertionFailure() << what << ": norm-wise error ‖uad−torch‖=" << dn << " ‖torch‖=" << bn
                                         << " relative " << rel << " > " << tol.rel << " (abs floor " << tol.abs << ")";
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double e = std::fabs(a[i] - b[i]), lim = tol.elem_rel * std::fabs(b[i]) + tol.elem_floor * bmax;
    if (!(e <= lim)) {
      if (!bad) first = i;
      ++bad;
      worst = std::max(worst, e);
    }
  }
  if (bad)
    return ::testing::AssertionFailure() << what << ": " << bad << " of " << a.size()
                                         << " elements outside the elementwise bound; first at flat index " << first
                                         << ": uad " << a[first] << " torch " << b[first] << "; worst |diff| " << worst
                                         << " (max|torch| " << bmax << ")";
  return ::testing::AssertionSuccess();
}

/// One named input of a case. `grad`: compare the gradient w.r.t. it.
struct Input {
  std::string name;
  Tensor value;
  bool grad = true;
};

using CaseFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

/// Both engines' results of a case, for checks of the caller's own: uad/torch map
/// "out<i>" and "grad_<name>" to tensors. `ran` is false when the case could not run.
struct CaseResult {
  bool ran = false;
  std::map<std::string, Tensor> uad, torch;
};

/// Runs `kind` in uad (fn, on leaves made from `inputs` in order) and in PyTorch
/// (tests/parity/cases.py, kind → function of the same inputs by name and `p`), and compares
/// every output and the gradient of outputs[0] w.r.t. each `grad` input, except the gradients
/// named in `own_check` (returned for the caller to check). `label` names the case in messages
/// (defaults to kind). `dtype`: the precision of both engines (f32 by default; f64 separates
/// formula errors from float32 conditioning). Failures are reported with ADD_FAILURE (the test
/// continues).
inline CaseResult parity_case(const std::string& kind, const Params& p, const std::vector<Input>& inputs, const CaseFn& fn,
                              const Tol& tol = {}, const std::string& label = "",
                              const std::set<std::string>& own_check = {}, DType dtype = DType::f32) {
  CaseResult res;
  const std::string name = label.empty() ? kind : label;
  SCOPED_TRACE("parity case " + name);
  std::string dir = Workdir::get().new_case(kind);
  std::vector<Tensor> leaves, gin;
  std::vector<std::string> gnames;
  std::string in_list = "[", g_list = "[";
  for (const Input& in : inputs) {
    Tensor v = in.value.detach().to(dtype).contiguous().clone();
    test::write_npy(dir + "/in_" + in.name + ".npy", v);
    if (in.grad) {
      v.requires_grad_();
      gin.push_back(v);
      gnames.push_back(in.name);
      g_list += std::string(g_list.size() > 1 ? "," : "") + "\"" + in.name + "\"";
    }
    in_list += std::string(in_list.size() > 1 ? "," : "") + "\"" + in.name + "\"";
    leaves.push_back(v);
  }
  std::vector<Tensor> outs, grads;
  try {
    outs = fn(leaves);
    if (!gin.empty()) {
      Tensor gy;
      if (outs[0].numel() != 1 || outs[0].dim() != 0) {
        Generator g(4242);
        gy = rand(outs[0].shape(), g, dtype) * 2.0 - 1.0;
        test::write_npy(dir + "/gy.npy", gy);
      }
      grads = uad::grad({outs[0]}, gin, gy.defined() ? std::vector<Tensor>{gy} : std::vector<Tensor>{}, false, -1, true);
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << ": uad threw: " << e.what();
    return res;
  }
  {
    std::ofstream f(dir + "/params.json");
    f << "{\"kind\": \"" << kind << "\", \"inputs\": " << in_list << "], \"grad\": " << g_list
      << "], \"n_out\": " << outs.size() << ", \"p\": " << p.json() << "}\n";
  }
  if (keep_files()) {  // uad's results next to torch's, for debugging a failure by hand
    for (size_t i = 0; i < outs.size(); ++i) test::write_npy(dir + "/uad_out_" + std::to_string(i) + ".npy", outs[i]);
    for (size_t k = 0; k < gin.size(); ++k)
      if (grads[k].defined()) test::write_npy(dir + "/uad_grad_" + gnames[k] + ".npy", grads[k]);
  }
  std::string err = Oracle::get().run(kind, dir);
  if (!err.empty()) {
    ADD_FAILURE() << name << ": " << err;
    return res;
  }
  std::ostringstream summary;
  summary << "[parity] " << name;
  double worst = 0;
  for (size_t i = 0; i < outs.size(); ++i) {
    double r = 0;
    Tensor ref = test::read_npy(dir + "/out_" + std::to_string(i) + ".npy");
    res.uad["out" + std::to_string(i)] = outs[i];
    res.torch["out" + std::to_string(i)] = ref;
    EXPECT_TRUE(compare_tensors(name + " output " + std::to_string(i), outs[i], ref, tol, &r));
    worst = std::max(worst, r);
  }
  summary << " outputs " << outs.size() << " (max rel " << worst << ")";
  worst = 0;
  for (size_t k = 0; k < gin.size(); ++k) {
    double r = 0;
    Tensor ref = test::read_npy(dir + "/grad_" + gnames[k] + ".npy");
    Tensor got = grads[k].defined() ? grads[k] : zeros(gin[k].shape());
    res.uad["grad_" + gnames[k]] = got;
    res.torch["grad_" + gnames[k]] = ref;
    if (own_check.count(gnames[k])) continue;
    EXPECT_TRUE(compare_tensors(name + " d/d" + gnames[k], got, ref, tol, &r));
    worst = std::max(worst, r);
  }
  if (!gin.empty()) summary << ", gradients " << gin.size() << " (max rel " << worst << ")";
  if (!own_check.empty()) summary << " (" << own_check.size() << " checked by the test)";
  if (verbose()) std::printf("%s\n", summary.str().c_str());
  res.ran = true;
  return res;
}

/// Uniform [lo, hi) f32 values from a fixed Philox seed.
inline Tensor uniform(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Generator g(seed);
  return rand(s, g) * (hi - lo) + lo;
}

/// Second-order parity (gradients of gradients, what the WGAN-GP critic needs): for the case
/// `kind` (same Python function), with fixed random gy (shape of outputs[0]) and v (shape of
/// input `wrt`), both engines compute
///   g = ∂(Σ f(inputs)[0]·gy)/∂inputs[wrt]   (create_graph)   and   h = Σ g·v,
/// and the harness compares h, g and ∂h/∂(every `grad` input). The Python kind is "gg_<kind>".
/// f must be non-linear in some `grad` input given the others (otherwise h has no graph).
inline CaseResult parity_second_order(const std::string& kind, Params p, std::vector<Input> inputs, const CaseFn& fn,
                                      size_t wrt, const Tol& tol = {}, const std::string& label = "") {
  Shape out_shape;
  try {
    NoGradGuard ng;
    std::vector<Tensor> vals;
    for (const Input& in : inputs) vals.push_back(in.value.detach().to(DType::f32).contiguous());
    out_shape = fn(vals)[0].shape();
  } catch (const std::exception& e) {
    ADD_FAILURE() << (label.empty() ? kind : label) << ": uad threw: " << e.what();
    return {};
  }
  const size_t n_base = inputs.size();
  p.str("__wrt", inputs.at(wrt).name);
  inputs.push_back({"__gy", uniform(out_shape, 9001), false});
  inputs.push_back({"__v", uniform(inputs[wrt].value.shape(), 9002), false});
  CaseFn fn2 = [fn, n_base, wrt](const std::vector<Tensor>& all) {
    std::vector<Tensor> base(all.begin(), all.begin() + n_base);
    std::vector<Tensor> outs = fn(base);
    Tensor g = uad::grad({outs[0]}, {base[wrt]}, {all[n_base]}, /*create_graph=*/true)[0];
    return std::vector<Tensor>{sum(mul(g, all[n_base + 1])), g};
  };
  return parity_case("gg_" + kind, p, inputs, fn2, tol, "second order: " + (label.empty() ? kind : label));
}

}  // namespace uad::parity
