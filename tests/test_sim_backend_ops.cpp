// The backend test suite, part 1 (issue 3): elementwise, comparison, where, cast, reductions,
// views and copies — every op on the CUDA backend (simulated here; a real GPU when present)
// against the CPU, with guard bytes, NaN/Inf checks, normalised MSE and gradients
// (tests/backend_ops.h). Other op families: tests/test_sim_backend_ops_*.cpp.
#include "tests/backend_ops.h"

using namespace uad;
using namespace uad::backendtest;

namespace {

using In = std::vector<Tensor>;

TEST_F(BackendOps, UnaryOps) {
  const Shape s{3, 5, 7};
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string t = dt == DType::f32 ? " f32" : " f64";
    run_case({"neg" + t, {s}, [](const In& x) { return neg(x[0]); }, dt});
    run_case({"abs" + t, {s}, [](const In& x) { return abs(x[0]); }, dt});
    run_case({"sign" + t, {s}, [](const In& x) { return sign(x[0]); }, dt, -1, 1, -1, false});
    run_case({"exp" + t, {s}, [](const In& x) { return exp(x[0]); }, dt, -3, 3});
    run_case({"log" + t, {s}, [](const In& x) { return log(x[0]); }, dt, 0.1, 4});
    run_case({"sqrt" + t, {s}, [](const In& x) { return sqrt(x[0]); }, dt, 0.1, 4});
    run_case({"square" + t, {s}, [](const In& x) { return square(x[0]); }, dt});
    run_case({"clamp" + t, {s}, [](const In& x) { return clamp(x[0], -0.3, 0.4); }, dt});
    run_case({"relu" + t, {s}, [](const In& x) { return relu(x[0]); }, dt});
    run_case({"leaky_relu" + t, {s}, [](const In& x) { return leaky_relu(x[0], 0.2); }, dt});
    run_case({"elu" + t, {s}, [](const In& x) { return elu(x[0], 1.3); }, dt});
    run_case({"tanh" + t, {s}, [](const In& x) { return tanh(x[0]); }, dt, -3, 3});
    run_case({"sigmoid" + t, {s}, [](const In& x) { return sigmoid(x[0]); }, dt, -5, 5});
    run_case({"softplus" + t, {s}, [](const In& x) { return softplus(x[0]); }, dt, -5, 5});
    run_case({"pow 3.5" + t, {s}, [](const In& x) { return pow(x[0], 3.5); }, dt, 0.1, 2});
    run_case({"pow 2" + t, {s}, [](const In& x) { return pow(x[0], 2.0); }, dt});
    run_case({"pow 0.5" + t, {s}, [](const In& x) { return pow(x[0], 0.5); }, dt, 0.1, 2});
  }
}

TEST_F(BackendOps, UnaryOnStridedViews) {
  run_case({"tanh of a transpose", {{6, 9}}, [](const In& x) { return tanh(x[0].transpose(0, 1)); }});
  run_case({"exp of a strided slice", {{4, 10, 6}}, [](const In& x) { return exp(x[0].slice(1, 1, 9, 3)); }});
  run_case({"relu of an expand", {{4, 1, 6}}, [](const In& x) { return relu(x[0].expand({4, 5, 6})); }});
}

TEST_F(BackendOps, BinaryOpsWithBroadcasting) {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string t = dt == DType::f32 ? " f32" : " f64";
    run_case({"add" + t, {{4, 5, 6}, {4, 5, 6}}, [](const In& x) { return add(x[0], x[1]); }, dt});
    run_case({"sub bcast" + t, {{4, 5, 6}, {5, 1}}, [](const In& x) { return sub(x[0], x[1]); }, dt});
    run_case({"mul bcast" + t, {{4, 1, 6}, {1, 5, 1}}, [](const In& x) { return mul(x[0], x[1]); }, dt});
    run_case({"div" + t, {{3, 8}, {8}}, [](const In& x) { return div(x[0], x[1]); }, dt, 0.5, 2});
    run_case({"pow" + t, {{3, 8}, {3, 8}}, [](const In& x) { return pow(x[0], x[1]); }, dt, 0.5, 2});
    run_case({"maximum" + t, {{3, 8}, {3, 1}}, [](const In& x) { return maximum(x[0], x[1]); }, dt});
    run_case({"minimum" + t, {{3, 8}, {8}}, [](const In& x) { return minimum(x[0], x[1]); }, dt});
  }
  run_case({"scalar operators", {{7, 3}}, [](const In& x) { return 2.0 - (x[0] * 3.0 + 1.0) / 4.0; }});
  run_case({"CPU scalar tensor meets device", {{7, 3}}, [](const In& x) { return mul(x[0], scalar_tensor(-1.5)); }});
  run_case({"binary on transposed operands", {{5, 7}, {7, 5}}, [](const In& x) { return add(x[0], x[1].transpose(0, 1)); }});
}

TEST_F(BackendOps, ComparisonsWhereAndCast) {
  run_case({"eq", {{4, 6}, {4, 6}}, [](const In& x) { return eq(x[0], maximum(x[0], x[1])); }, DType::f32, -1, 1, 0.0, false});
  for (auto& [name, f] : std::vector<std::pair<std::string, Tensor (*)(const Tensor&, const Tensor&)>>{
           {"ne", &ne}, {"lt", &lt}, {"le", &le}, {"gt", &gt}, {"ge", &ge}})
    run_case({name, {{4, 6}, {6}}, [f](const In& x) { return f(x[0], x[1]); }, DType::f32, -1, 1, 0.0, false});
  run_case({"where", {{4, 6}, {4, 6}, {6}}, [](const In& x) { return where(gt(x[0].detach(), zeros({})), x[1], x[2]); }});
  run_case({"cast f32→f64", {{5, 3}}, [](const In& x) { return cast(x[0], DType::f64); }});
  run_case({"cast f64→f32", {{5, 3}}, [](const In& x) { return cast(x[0], DType::f32); }, DType::f64, -1, 1, 1e-9});
  run_case({"cast f32→i32", {{5, 3}}, [](const In& x) { return cast(x[0] * 10.0, DType::i32); }, DType::f32, -1, 1, 0.0, false});
  run_case({"cast u8→f32", {{5, 3}}, [](const In& x) { return cast(gt(x[0], zeros({})), DType::f32); }, DType::f32, -1, 1, 0.0, false});
}

TEST_F(BackendOps, Reductions) {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string t = dt == DType::f32 ? " f32" : " f64";
    run_case({"sum all" + t, {{6, 7, 8}}, [](const In& x) { return sum(x[0]); }, dt});
    run_case({"sum dim 1" + t, {{6, 7, 8}}, [](const In& x) { return sum(x[0], {1}); }, dt});
    run_case({"sum dims 0,2 keepdim" + t, {{6, 7, 8}}, [](const In& x) { return sum(x[0], {0, 2}, true); }, dt});
    run_case({"mean dims 1,2" + t, {{2, 3, 40, 5}}, [](const In& x) { return mean(x[0], {1, 2}); }, dt});
    run_case({"amax dim 2" + t, {{6, 7, 8}}, [](const In& x) { return amax(x[0], {2}); }, dt});
    run_case({"amin all" + t, {{6, 7, 8}}, [](const In& x) { return amin(x[0]); }, dt});
    run_case({"var" + t, {{5, 9}}, [](const In& x) { return var(x[0], {1}); }, dt});
    run_case({"norm" + t, {{5, 9}}, [](const In& x) { return norm(x[0], 2.0, {0}); }, dt});
  }
  run_case({"sum of a permuted view", {{4, 5, 6}}, [](const In& x) { return sum(x[0].permute({2, 0, 1}), {1}); }});
  run_case({"sum_to (broadcast gradient)", {{4, 5, 6}}, [](const In& x) { return sum_to(x[0], {5, 1}); }});
  run_case({"large sum", {{3, 70000}}, [](const In& x) { return sum(x[0], {1}); }});
}

TEST_F(BackendOps, ViewsAndCopies) {
  run_case({"contiguous of a permute", {{3, 4, 5}}, [](const In& x) { return contiguous(x[0].permute({2, 0, 1})); }});
  run_case({"clone", {{3, 4, 5}}, [](const In& x) { return clone(x[0]); }});
  run_case({"reshape of a transpose", {{6, 4}}, [](const In& x) { return x[0].transpose(0, 1).reshape({3, 8}); }});
  run_case({"slice with step (and its backward)", {{5, 12}}, [](const In& x) { return x[0].slice(1, 2, 11, 3) * 2.0; }});
  run_case({"expand", {{3, 1}}, [](const In& x) { return x[0].expand({3, 4}) * 1.0; }});
  run_case({"squeeze/unsqueeze/flatten", {{2, 1, 3, 4}}, [](const In& x) { return x[0].squeeze(1).unsqueeze(0).flatten(1) * 1.0; }});
}

TEST_F(BackendOps, FactoriesAndTransfers) {
  Tensor z = zeros({3, 4}, DType::f32, Device::cuda);
  EXPECT_EQ(z.device(), Device::cuda);
  for (double v : z.to_vector()) EXPECT_EQ(v, 0.0);
  Tensor f = full({5}, -2.5, DType::f64, Device::cuda);
  for (double v : f.to_vector()) EXPECT_EQ(v, -2.5);
  Tensor o = ones_like(f);
  EXPECT_EQ(o.device(), Device::cuda);
  EXPECT_EQ(o.to_vector(), std::vector<double>(5, 1.0));
  // Empty tensors: no allocation problem, no launch.
  Tensor e = zeros({0, 3}, DType::f32, Device::cuda);
  EXPECT_TRUE(e.to_vector().empty());
  EXPECT_EQ(sum(e).item(), 0.0);
  EXPECT_TRUE(add(e, e).to_vector().empty());
  // Round trip and the gradient of the transfer itself.
  Tensor x = from_vector({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  Tensor xd = x.to(Device::cuda);
  EXPECT_EQ(xd.device(), Device::cuda);
  EXPECT_EQ(xd.to(Device::cpu).to_vector(), x.to_vector());
  sum(mul(xd, xd)).backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().device(), Device::cpu);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2, 4, 6, 8, 10, 12}));
  // A CPU scalar that needs a gradient is moved to the device (recorded), and its gradient
  // comes back to the CPU: ∂/∂s Σ(xd·s) = Σ x = 21. Scalars without one are passed by value.
  Tensor s = scalar_tensor(2.0).requires_grad_();
  sum(mul(xd.detach(), s)).backward();
  ASSERT_TRUE(s.grad().defined());
  EXPECT_EQ(s.grad().device(), Device::cpu);
  EXPECT_EQ(s.grad().item(), 21.0);
  EXPECT_EQ((3.0 - xd.detach() / 2.0).to_vector(), (std::vector<double>{2.5, 2, 1.5, 1, 0.5, 0}));
  // A device tensor mixed with a non-scalar CPU tensor is an error naming both devices.
  try {
    add(xd, from_vector({1, 2, 3}, {3}));
    ADD_FAILURE() << "no error for a device mix";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("device mix"), std::string::npos) << e.what();
  }
}

TEST_F(BackendOps, SecondOrderThroughTheDevice) {
  // ∂/∂x of ‖∂(Σ tanh(x)·w)/∂x‖² — the double backward a gradient penalty takes, on both backends.
  run_case({"grad of grad of tanh", {{4, 5}}, [](const In& x) {
              Tensor y = sum(tanh(x[0]) * 0.7);
              Tensor g = grad({y}, {x[0]}, {}, /*create_graph=*/true)[0];
              return sum(square(g), {1});
            }});
}

}  // namespace
