#include "kernels/trajectory_pool_op.h"

#include <cmath>

#include "kernels/op_util.h"
#include "kernels/trajectory_pool.h"

namespace tats::ops {

namespace {

// Shapes, device and scale; any one floating dtype (the composed path takes double too).
kernels::TrajectoryPoolShape check_pool(const torch::Tensor& yt, const torch::Tensor& a, double scale) {
  TORCH_CHECK(yt.dim() >= 2 && a.dim() == yt.dim(), "trajectory_pool: yt must be [..., T, C] and a [H, ..., C], got ",
              yt.sizes(), " and ", a.sizes());
  const int64_t T = yt.size(-2), C = yt.size(-1), H = a.size(0);
  TORCH_CHECK(a.size(-1) == C && a.sizes().slice(1, yt.dim() - 2) == yt.sizes().slice(0, yt.dim() - 2),
              "trajectory_pool: a ", a.sizes(), " does not match yt ", yt.sizes(), " (want [H, ..., ", C, "])");
  TORCH_CHECK(T >= 1 && C >= 1 && H >= 1 && yt.numel() >= 1, "trajectory_pool: empty input yt ", yt.sizes(), ", a ",
              a.sizes());
  TORCH_CHECK(yt.is_floating_point() && a.scalar_type() == yt.scalar_type(),
              "trajectory_pool: yt and a must have one floating dtype, got ", yt.scalar_type(), ", ", a.scalar_type());
  TORCH_CHECK(std::isfinite(scale), "trajectory_pool: scale must be finite, got ", scale);
  detail::check_same_device("trajectory_pool", {&yt, &a});
  return {yt.numel() / (T * C), T, C, H, scale};
}

// The kernels' own conditions: fp32 or bf16 storage; on CUDA, the warp's register tile.
void check_kernel(const torch::Tensor& yt, const kernels::TrajectoryPoolShape& s) {
  TORCH_CHECK(detail::is_float_or_bf16(yt), "trajectory_pool: yt and a must both be float32 or both bfloat16, got ",
              yt.scalar_type());
  TORCH_CHECK(!yt.is_cuda() || kernels::trajectory_pool_cuda_fits(s.frames, s.channels, s.heads),
              "trajectory_pool: the CUDA kernel keeps a token's T x C trajectory in one warp's registers and takes "
              "T <= 8 with C <= 512, or T <= 16 with C <= 256, and H <= ",
              kernels::kTrajectoryPoolMaxHeads, " heads; got T = ", s.frames, ", C = ", s.channels, ", H = ", s.heads);
}

std::vector<int64_t> var_shape(const torch::Tensor& yt) {  // [..., T, C] -> [..., C]
  auto shape = yt.sizes().vec();
  shape.erase(shape.end() - 2);
  return shape;
}

torch::Tensor f32(const torch::Tensor& t) { return t.to(torch::kFloat).contiguous(); }

TrajectoryPool pool_forward(const torch::Tensor& yt_in, const torch::Tensor& a_in, double scale) {
  const auto s = check_pool(yt_in, a_in, scale);
  check_kernel(yt_in, s);
  const auto yt = yt_in.contiguous(), a = a_in.contiguous();
  if (yt.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("trajectory_pool");
    auto z = torch::empty_like(a), var = torch::empty(var_shape(yt), yt.options());
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(yt.device());
    kernels::trajectory_pool_cuda(yt.data_ptr(), a.data_ptr(), z.data_ptr(), var.data_ptr(),
                                  yt.scalar_type() == torch::kBFloat16, s, detail::current_stream());
#endif
    return {z, var};
  }
  const auto y32 = f32(yt), a32 = f32(a);
  auto z = torch::empty_like(a32), var = torch::empty(var_shape(yt), y32.options());
  kernels::trajectory_pool_cpu(y32.data_ptr<float>(), a32.data_ptr<float>(), z.data_ptr<float>(),
                               var.data_ptr<float>(), s);
  const auto dt = yt.scalar_type();
  return {z.to(dt), var.to(dt)};
}

struct PoolFn : public torch::autograd::Function<PoolFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& yt,
                                                const torch::Tensor& a, double scale) {
    ctx->save_for_backward({yt, a});
    ctx->saved_data["scale"] = scale;
    auto out = pool_forward(yt, a, scale);
    return {out.z, out.var};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto t = ctx->get_saved_variables();
    auto g = trajectory_pool_backward(t[0], t[1], grads[0], grads[1], ctx->saved_data["scale"].toDouble());
    return {g[0], g[1], torch::Tensor()};  // no gradient for scale
  }
};

}  // namespace

TrajectoryPool trajectory_pool(const torch::Tensor& yt, const torch::Tensor& a, double scale) {
  const auto s = check_pool(yt, a, scale);
  TORCH_CHECK(detail::is_float_or_bf16(yt), "trajectory_pool: yt and a must both be float32 or both bfloat16, got ",
              yt.scalar_type());
  // Trajectories longer or wider than the CUDA kernel's register tile (non-default sampler sizes):
  // the same maths in libtorch ops rather than an error.
  if (yt.is_cuda() && !kernels::trajectory_pool_cuda_fits(s.frames, s.channels, s.heads))
    return trajectory_pool_composed(yt, a, scale);
  const auto out = PoolFn::apply(yt, a, scale);
  return {out[0], out[1]};
}

TrajectoryPool trajectory_pool_composed(const torch::Tensor& yt, const torch::Tensor& a, double scale) {
  const auto s = check_pool(yt, a, scale);
  const int64_t R = s.rows, T = s.frames, C = s.channels, H = s.heads;
  const auto y3 = yt.reshape({R, T, C}), a3 = a.reshape({H, R, C});
  const auto p = (torch::einsum("hrc,rtc->hrt", {a3, y3}) * scale).softmax(-1);  // [H, R, T]
  const auto z = torch::einsum("hrt,rtc->hrc", {p, y3}).view(a.sizes());
  return {z, yt.var(-2, /*unbiased=*/false)};
}

std::vector<torch::Tensor> trajectory_pool_backward(const torch::Tensor& yt_in, const torch::Tensor& a_in,
                                                    const torch::Tensor& dz_in, const torch::Tensor& dvar_in,
                                                    double scale) {
  const auto s = check_pool(yt_in, a_in, scale);
  check_kernel(yt_in, s);
  const auto yt = yt_in.detach().contiguous(), a = a_in.detach().contiguous();
  // An output the loss does not use may come back undefined: its gradient is zero.
  const auto dz = dz_in.defined() ? dz_in.detach().to(a.device(), a.scalar_type()).contiguous() : torch::zeros_like(a);
  const auto dvar = dvar_in.defined() ? dvar_in.detach().to(yt.device(), yt.scalar_type()).contiguous()
                                      : torch::zeros(var_shape(yt), yt.options());
  TORCH_CHECK(dz.sizes() == a.sizes(), "trajectory_pool_backward: dz ", dz.sizes(), " must match a ", a.sizes());
  TORCH_CHECK(dvar.sizes() == torch::IntArrayRef(var_shape(yt)), "trajectory_pool_backward: dvar ", dvar.sizes(),
              " does not match yt ", yt.sizes());
  if (yt.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("trajectory_pool_backward");
    // Every element of dyt and da is written once: no zero fill.
    auto dyt = torch::empty_like(yt), da = torch::empty_like(a);
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(yt.device());
    kernels::trajectory_pool_backward_cuda(yt.data_ptr(), a.data_ptr(), dz.data_ptr(), dvar.data_ptr(),
                                           dyt.data_ptr(), da.data_ptr(), yt.scalar_type() == torch::kBFloat16, s,
                                           detail::current_stream());
#endif
    return {dyt, da};
  }
  const auto y32 = f32(yt), a32 = f32(a), dz32 = f32(dz), dv32 = f32(dvar);
  auto dyt = torch::empty_like(y32), da = torch::empty_like(a32);
  kernels::trajectory_pool_backward_cpu(y32.data_ptr<float>(), a32.data_ptr<float>(), dz32.data_ptr<float>(),
                                        dv32.data_ptr<float>(), dyt.data_ptr<float>(), da.data_ptr<float>(), s);
  const auto dt = yt.scalar_type();
  return {dyt.to(dt), da.to(dt)};
}

namespace {

struct PoolCase {
  std::vector<int64_t> lead;  // leading dims of yt (rows)
  int64_t frames, heads, channels;
  std::string tag() const {
    return "_T" + std::to_string(frames) + "_H" + std::to_string(heads) + "_C" + std::to_string(channels);
  }
};

// Random yt [lead..., T, C], a [H, lead..., C], dz like a, dvar [lead..., C], and the sampler's
// scale 1/sqrt(C/H). a is drawn so the logits have a standard deviation of ~2.5: peaked but not
// one-hot softmaxes, whatever C.
struct PoolInputs {
  torch::Tensor yt, a, dz, dvar;
  double scale;
};
PoolInputs draw(const PoolCase& c, torch::Generator& gen) {
  auto yshape = c.lead, ashape = c.lead, vshape = c.lead;
  yshape.push_back(c.frames);
  yshape.push_back(c.channels);
  ashape.insert(ashape.begin(), c.heads);
  ashape.push_back(c.channels);
  vshape.push_back(c.channels);
  const double scale = 1.0 / std::sqrt(double(c.channels) / double(c.heads));
  const double a_std = 2.5 / std::sqrt(double(c.heads));
  return {torch::randn(yshape, gen), torch::randn(ashape, gen) * a_std, torch::randn(ashape, gen),
          torch::randn(vshape, gen), scale};
}

// z, var and the gradients of yt and a for the loss sum(z * dz) + sum(var * dvar), through autograd
// (the kernels' backward, or the composed path's).
struct PoolRun {
  torch::Tensor z, var, dyt, da;
};
PoolRun run_pool(const PoolInputs& in, const torch::Device& device, torch::ScalarType dtype) {
  const auto on = [&](const torch::Tensor& t) { return t.to(device, dtype, /*non_blocking=*/false, /*copy=*/true); };
  auto yt = on(in.yt).requires_grad_(true), a = on(in.a).requires_grad_(true);
  const auto out = trajectory_pool(yt, a, in.scale);
  ((out.z * on(in.dz)).sum() + (out.var * on(in.dvar)).sum()).backward();
  return {out.z, out.var, yt.grad(), a.grad()};
}

}  // namespace

std::vector<ParityReport> trajectory_pool_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<ParityReport> r;
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA);
  // The base sampler (T 8, H 6, C 384: 3 chunks of 32 channels a warp), then every register tile of the
  // kernel with C not a multiple of 32, T below the tile, T = 1, the most heads (64); last, two
  // shapes past the tile (T 20; C 640), which run as composed libtorch ops on CUDA.
  const PoolCase cases[] = {{{2, 196}, 8, 6, 384}, {{37}, 5, 3, 100}, {{3, 3}, 16, 4, 256}, {{5}, 12, 2, 33},
                            {{7}, 8, 8, 512},      {{6}, 1, 2, 200},  {{9}, 7, 64, 70},     {{6}, 20, 3, 40},
                            {{4}, 8, 5, 640}};
  for (const auto& c : cases) {
    const auto in = draw(c, gen);
    const auto tag = c.tag();
    const auto want = run_pool(in, cpu, torch::kFloat), got = run_pool(in, cuda, torch::kFloat);
    // fp32: C-long dots in float (vs double), the fast exp and division of --use_fast_math: ~1e-6
    // relative on logits of size ~3; outputs are O(1). The variance: T-long float sums, ~1e-7.
    r.push_back(compare("trajectory_pool", "z" + tag, got.z, want.z, 2e-5, 1e-4));
    r.push_back(compare("trajectory_pool", "var" + tag, got.var, want.var, 1e-6, 1e-5));
    r.push_back(compare("trajectory_pool", "dyt" + tag, got.dyt, want.dyt, 2e-5, 1e-4));
    r.push_back(compare("trajectory_pool", "da" + tag, got.da, want.da, 2e-5, 1e-4));
    if (c.channels == 384 || c.channels == 100) {
      // bf16: the same bf16 inputs on both sides, fp32 math, outputs rounded to bf16 (2^-8
      // relative): a rounding boundary may fall differently, so 1 bf16 ulp plus a small atol for
      // values near zero (gradients are sums of terms of both signs).
      const auto want16 = run_pool(in, cpu, torch::kBFloat16), got16 = run_pool(in, cuda, torch::kBFloat16);
      r.push_back(compare("trajectory_pool", "z_bf16" + tag, got16.z, want16.z, 1e-2, 1e-2));
      r.push_back(compare("trajectory_pool", "var_bf16" + tag, got16.var, want16.var, 1e-2, 1e-2));
      r.push_back(compare("trajectory_pool", "dyt_bf16" + tag, got16.dyt, want16.dyt, 1e-2, 1e-2));
      r.push_back(compare("trajectory_pool", "da_bf16" + tag, got16.da, want16.da, 1e-2, 1e-2));
    }
  }
  return r;
}

std::vector<ParityReport> trajectory_pool_check(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<ParityReport> r;
  // The base sampler's head layout with two leading dims, and odd small shapes (one head, T = 1).
  const PoolCase cases[] = {{{2, 3}, 8, 6, 384}, {{5}, 3, 1, 13}, {{4}, 5, 4, 37}, {{3}, 1, 2, 6}};
  for (const auto& c : cases) {
    const auto in = draw(c, gen);
    const auto w = torch::randn(in.a.sizes(), gen), u = torch::randn(in.dvar.sizes(), gen);
    // Composed in double (trajectory_pool_composed: einsum, softmax, einsum, torch::var), autograd
    // for every gradient.
    auto ya = in.yt.to(torch::kDouble).requires_grad_(true), aa = in.a.to(torch::kDouble).requires_grad_(true);
    const auto want = trajectory_pool_composed(ya, aa, in.scale);
    ((want.z * w.to(torch::kDouble)).sum() + (want.var * u.to(torch::kDouble)).sum()).backward();
    auto yb = in.yt.clone().requires_grad_(true), ab = in.a.clone().requires_grad_(true);
    const auto got = trajectory_pool(yb, ab, in.scale);
    ((got.z * w).sum() + (got.var * u).sum()).backward();
    // fp32 inputs, double sums inside the reference, outputs rounded to float: ~1e-7 relative.
    const auto tag = c.tag();
    r.push_back(compare("trajectory_pool", "z" + tag, got.z, want.z, 1e-6, 1e-5));
    r.push_back(compare("trajectory_pool", "var" + tag, got.var, want.var, 1e-6, 1e-5));
    r.push_back(compare("trajectory_pool", "dyt" + tag, yb.grad(), ya.grad(), 1e-6, 1e-5));
    r.push_back(compare("trajectory_pool", "da" + tag, ab.grad(), aa.grad(), 1e-6, 1e-5));
  }
  {
    // CPU bf16 storage is the fp32 reference on the upcast inputs, rounded: exactly equal.
    const auto in = draw(cases[2], gen);
    const auto b = [](const torch::Tensor& t) { return t.to(torch::kBFloat16); };
    const auto f = [](const torch::Tensor& t) { return t.to(torch::kFloat); };
    const auto got = trajectory_pool(b(in.yt), b(in.a), in.scale);
    const auto want = trajectory_pool(f(b(in.yt)), f(b(in.a)), in.scale);
    const auto got_g = trajectory_pool_backward(b(in.yt), b(in.a), b(in.dz), b(in.dvar), in.scale);
    const auto want_g = trajectory_pool_backward(f(b(in.yt)), f(b(in.a)), f(b(in.dz)), f(b(in.dvar)), in.scale);
    r.push_back(compare("trajectory_pool", "z_bf16", got.z, b(want.z), 0, 0));
    r.push_back(compare("trajectory_pool", "var_bf16", got.var, b(want.var), 0, 0));
    r.push_back(compare("trajectory_pool", "dyt_bf16", got_g[0], b(want_g[0]), 0, 0));
    r.push_back(compare("trajectory_pool", "da_bf16", got_g[1], b(want_g[1]), 0, 0));
  }
  return r;
}

}  // namespace tats::ops
