#include "kernels/trajectory_temporal_op.h"

#include "kernels/op_util.h"
#include "kernels/trajectory_temporal.h"

namespace tats::ops {

namespace {

kernels::TrajectoryShape check_qkv(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  TORCH_CHECK(q.dim() >= 1 && k.dim() == q.dim() + 1, "trajectory_temporal: q must be [...,d] and k [...,T,d], got ",
              q.sizes(), " and ", k.sizes());
  TORCH_CHECK(v.sizes() == k.sizes(), "trajectory_temporal: v ", v.sizes(), " must match k ", k.sizes());
  const int64_t d = q.size(-1), T = k.size(-2);
  TORCH_CHECK(k.size(-1) == d && k.sizes().slice(0, q.dim() - 1) == q.sizes().slice(0, q.dim() - 1),
              "trajectory_temporal: k ", k.sizes(), " does not match q ", q.sizes());
  TORCH_CHECK(d >= 1 && T >= 1 && q.numel() >= 1, "trajectory_temporal: empty input q ", q.sizes(), ", k ", k.sizes());
  TORCH_CHECK(detail::is_float_or_bf16(q) && k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type(),
              "trajectory_temporal: q, k, v must all be float32 or all bfloat16, got ", q.scalar_type(), ", ",
              k.scalar_type(), ", ", v.scalar_type());
  detail::check_same_device("trajectory_temporal", {&q, &k, &v});
  TORCH_CHECK(!q.is_cuda() || d <= kernels::kTrajectoryMaxDim, "trajectory_temporal: the CUDA kernel takes d <= ",
              kernels::kTrajectoryMaxDim, ", got ", d);
  return {q.numel() / d, T, d};
}

kernels::TrajectoryShape check_yt(const torch::Tensor& yt) {
  TORCH_CHECK(yt.dim() >= 2 && yt.numel() >= 1, "trajectory_variance: ytilde must be [...,T,d], got ", yt.sizes());
  TORCH_CHECK(detail::is_float_or_bf16(yt), "trajectory_variance: ytilde must be float32 or bfloat16, got ",
              yt.scalar_type());
  const int64_t T = yt.size(-2), d = yt.size(-1);
  return {yt.numel() / (T * d), T, d};
}

// q [..., h, d], kv [..., T, 2*h*d] -> the packed layout of TrajectoryShape.
kernels::TrajectoryShape check_packed(const torch::Tensor& q, const torch::Tensor& kv) {
  TORCH_CHECK(q.dim() >= 2 && kv.dim() == q.dim(), "trajectory_temporal_packed: q must be [..., h, d] and kv [..., T, 2*h*d], got ",
              q.sizes(), " and ", kv.sizes());
  const int64_t h = q.size(-2), d = q.size(-1), T = kv.size(-2);
  TORCH_CHECK(h >= 1 && d >= 1 && T >= 1 && q.numel() >= 1 && kv.size(-1) == 2 * h * d &&
                  kv.sizes().slice(0, kv.dim() - 2) == q.sizes().slice(0, q.dim() - 2),
              "trajectory_temporal_packed: kv ", kv.sizes(), " does not match q ", q.sizes(), " (want [..., T, ", 2 * h * d,
              "])");
  TORCH_CHECK(detail::is_float_or_bf16(q) && kv.scalar_type() == q.scalar_type(),
              "trajectory_temporal_packed: q and kv must both be float32 or both bfloat16, got ", q.scalar_type(), ", ",
              kv.scalar_type());
  detail::check_same_device("trajectory_temporal_packed", {&q, &kv});
  TORCH_CHECK(!q.is_cuda() || d <= kernels::kTrajectoryMaxDim, "trajectory_temporal_packed: the CUDA kernel takes d <= ",
              kernels::kTrajectoryMaxDim, ", got ", d);
  kernels::TrajectoryShape s{q.numel() / d, T, d};
  s.heads = h;
  s.group_stride = T * 2 * h * d;
  s.head_stride = d;
  s.frame_stride = 2 * h * d;
  return s;
}

bool bf16(const torch::Tensor& t) { return t.scalar_type() == torch::kBFloat16; }
// Element offset `n` into a tensor's storage as a raw pointer (the values half of a packed kv).
void* at_element(const torch::Tensor& t, int64_t n) { return static_cast<char*>(t.data_ptr()) + n * t.element_size(); }
torch::Tensor f32(const torch::Tensor& t) { return t.to(torch::kFloat).contiguous(); }

torch::Tensor temporal_forward(const torch::Tensor& q_in, const torch::Tensor& k_in, const torch::Tensor& v_in) {
  const auto s = check_qkv(q_in, k_in, v_in);
  const auto q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  if (q.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("trajectory_temporal");
    auto y = torch::empty_like(q);
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(q.device());
    kernels::trajectory_temporal_cuda(q.data_ptr(), k.data_ptr(), v.data_ptr(), y.data_ptr(), bf16(q), s,
                                      detail::current_stream());
#endif
    return y;
  }
  const auto q32 = f32(q), k32 = f32(k), v32 = f32(v);
  auto y = torch::empty_like(q32);
  kernels::trajectory_temporal_cpu(q32.data_ptr<float>(), k32.data_ptr<float>(), v32.data_ptr<float>(),
                                   y.data_ptr<float>(), s);
  return y.to(q.scalar_type());
}

torch::Tensor variance_forward(const torch::Tensor& yt_in) {
  const auto s = check_yt(yt_in);
  const auto yt = yt_in.contiguous();
  auto out_shape = yt.sizes().vec();
  out_shape.erase(out_shape.end() - 2);
  if (yt.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("trajectory_variance");
    auto var = torch::empty(out_shape, yt.options());
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(yt.device());
    kernels::trajectory_variance_cuda(yt.data_ptr(), var.data_ptr(), bf16(yt), s, detail::current_stream());
#endif
    return var;
  }
  const auto y32 = f32(yt);
  auto var = torch::empty(out_shape, y32.options());
  kernels::trajectory_variance_cpu(y32.data_ptr<float>(), var.data_ptr<float>(), s);
  return var.to(yt.scalar_type());
}

struct TemporalFn : public torch::autograd::Function<TemporalFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                                                const torch::Tensor& k, const torch::Tensor& v) {
    ctx->save_for_backward({q, k, v});
    return {temporal_forward(q, k, v)};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto t = ctx->get_saved_variables();
    return trajectory_temporal_backward(t[0], t[1], t[2], grads[0]);
  }
};

torch::Tensor packed_forward(const torch::Tensor& q_in, const torch::Tensor& kv_in) {
  const auto s = check_packed(q_in, kv_in);
  const auto q = q_in.contiguous(), kv = kv_in.contiguous();
  const int64_t hd = s.heads * s.dim;
  if (q.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("trajectory_temporal_packed");
    auto y = torch::empty_like(q);
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(q.device());
    kernels::trajectory_temporal_cuda(q.data_ptr(), kv.data_ptr(), at_element(kv, hd), y.data_ptr(), bf16(q), s,
                                      detail::current_stream());
#endif
    return y;
  }
  const auto q32 = f32(q), kv32 = f32(kv);
  auto y = torch::empty_like(q32);
  kernels::trajectory_temporal_cpu(q32.data_ptr<float>(), kv32.data_ptr<float>(), kv32.data_ptr<float>() + hd,
                                   y.data_ptr<float>(), s);
  return y.to(q.scalar_type());
}

struct PackedTemporalFn : public torch::autograd::Function<PackedTemporalFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                                                const torch::Tensor& kv) {
    ctx->save_for_backward({q, kv});
    return {packed_forward(q, kv)};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto t = ctx->get_saved_variables();
    return trajectory_temporal_packed_backward(t[0], t[1], grads[0]);
  }
};

struct VarianceFn : public torch::autograd::Function<VarianceFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& yt) {
    ctx->save_for_backward({yt});
    return {variance_forward(yt)};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    return {trajectory_variance_backward(ctx->get_saved_variables()[0], grads[0])};
  }
};

}  // namespace

torch::Tensor trajectory_temporal(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  check_qkv(q, k, v);
  return TemporalFn::apply(q, k, v)[0];
}

torch::Tensor trajectory_temporal_packed(const torch::Tensor& q, const torch::Tensor& kv) {
  check_packed(q, kv);
  return PackedTemporalFn::apply(q, kv)[0];
}

std::vector<torch::Tensor> trajectory_temporal_packed_backward(const torch::Tensor& q_in, const torch::Tensor& kv_in,
                                                               const torch::Tensor& dy_in) {
  const auto s = check_packed(q_in, kv_in);
  TORCH_CHECK(dy_in.sizes() == q_in.sizes(), "trajectory_temporal_packed_backward: dy ", dy_in.sizes(),
              " must match q ", q_in.sizes());
  const auto q = q_in.detach().contiguous(), kv = kv_in.detach().contiguous();
  const auto dy = dy_in.detach().to(q.device(), q.scalar_type()).contiguous();
  const int64_t hd = s.heads * s.dim;
  if (q.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("trajectory_temporal_packed_backward");
    // Every key and value slot is written (each (row, t) once): no zero fill needed.
    auto dq = torch::empty_like(q), dkv = torch::empty_like(kv);
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(q.device());
    kernels::trajectory_temporal_backward_cuda(q.data_ptr(), kv.data_ptr(), at_element(kv, hd), dy.data_ptr(),
                                               dq.data_ptr(), dkv.data_ptr(), at_element(dkv, hd), bf16(q), s,
                                               detail::current_stream());
#endif
    return {dq, dkv};
  }
  const auto q32 = f32(q), kv32 = f32(kv), dy32 = f32(dy);
  auto dq = torch::empty_like(q32), dkv = torch::empty_like(kv32);
  kernels::trajectory_temporal_backward_cpu(q32.data_ptr<float>(), kv32.data_ptr<float>(), kv32.data_ptr<float>() + hd,
                                            dy32.data_ptr<float>(), dq.data_ptr<float>(), dkv.data_ptr<float>(),
                                            dkv.data_ptr<float>() + hd, s);
  const auto dt = q.scalar_type();
  return {dq.to(dt), dkv.to(dt)};
}

torch::Tensor trajectory_variance(const torch::Tensor& ytilde) {
  check_yt(ytilde);
  return VarianceFn::apply(ytilde)[0];
}

std::vector<torch::Tensor> trajectory_temporal_backward(const torch::Tensor& q_in, const torch::Tensor& k_in,
                                                        const torch::Tensor& v_in, const torch::Tensor& dy_in) {
  const auto s = check_qkv(q_in, k_in, v_in);
  TORCH_CHECK(dy_in.sizes() == q_in.sizes(), "trajectory_temporal_backward: dy ", dy_in.sizes(), " must match q ",
              q_in.sizes());
  const auto q = q_in.detach().contiguous(), k = k_in.detach().contiguous(), v = v_in.detach().contiguous();
  const auto dy = dy_in.detach().to(q.device(), q.scalar_type()).contiguous();
  if (q.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("trajectory_temporal_backward");
    auto dq = torch::empty_like(q), dk = torch::empty_like(k), dv = torch::empty_like(v);
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(q.device());
    kernels::trajectory_temporal_backward_cuda(q.data_ptr(), k.data_ptr(), v.data_ptr(), dy.data_ptr(), dq.data_ptr(),
                                               dk.data_ptr(), dv.data_ptr(), bf16(q), s, detail::current_stream());
#endif
    return {dq, dk, dv};
  }
  const auto q32 = f32(q), k32 = f32(k), v32 = f32(v), dy32 = f32(dy);
  auto dq = torch::empty_like(q32), dk = torch::empty_like(k32), dv = torch::empty_like(v32);
  kernels::trajectory_temporal_backward_cpu(q32.data_ptr<float>(), k32.data_ptr<float>(), v32.data_ptr<float>(),
                                            dy32.data_ptr<float>(), dq.data_ptr<float>(), dk.data_ptr<float>(),
                                            dv.data_ptr<float>(), s);
  const auto dt = q.scalar_type();
  return {dq.to(dt), dk.to(dt), dv.to(dt)};
}

torch::Tensor trajectory_variance_backward(const torch::Tensor& yt_in, const torch::Tensor& dvar_in) {
  const auto s = check_yt(yt_in);
  const auto yt = yt_in.detach().contiguous();
  const auto dvar = dvar_in.detach().to(yt.device(), yt.scalar_type()).contiguous();
  TORCH_CHECK(dvar.numel() == s.rows * s.dim, "trajectory_variance_backward: dvar ", dvar.sizes(),
              " does not match ytilde ", yt.sizes());
  if (yt.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("trajectory_variance_backward");
    auto dyt = torch::empty_like(yt);
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(yt.device());
    kernels::trajectory_variance_backward_cuda(yt.data_ptr(), dvar.data_ptr(), dyt.data_ptr(), bf16(yt), s,
                                               detail::current_stream());
#endif
    return dyt;
  }
  const auto y32 = f32(yt), d32 = f32(dvar);
  auto dyt = torch::empty_like(y32);
  kernels::trajectory_variance_backward_cpu(y32.data_ptr<float>(), d32.data_ptr<float>(), dyt.data_ptr<float>(), s);
  return dyt.to(yt.scalar_type());
}

std::vector<ParityReport> trajectory_temporal_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<ParityReport> r;
  const torch::Device cuda(torch::kCUDA);
  // (B*h, N, T, d): the default sampler's head (d = 64, T = 8 tubelet frames), and an odd shape
  // with d not a multiple of 32 and d = 256 (the largest the kernel takes).
  const struct { int64_t bh, n, t, d; } shapes[] = {{4, 98, 8, 64}, {3, 7, 5, 40}, {2, 9, 3, 256}};
  for (const auto& sh : shapes) {
    const std::string tag = "_T" + std::to_string(sh.t) + "_d" + std::to_string(sh.d);
    // Logits of size ~2-3 (q, k ~ N(0,1) times 1.5): peaked but not one-hot softmaxes.
    const auto q = torch::randn({sh.bh, sh.n, sh.d}, gen) * 1.5, k = torch::randn({sh.bh, sh.n, sh.t, sh.d}, gen) * 1.5;
    const auto v = torch::randn({sh.bh, sh.n, sh.t, sh.d}, gen), dy = torch::randn({sh.bh, sh.n, sh.d}, gen);
    const auto yt = torch::randn({sh.bh, sh.n, sh.t, sh.d}, gen), dvar = torch::randn({sh.bh, sh.n, sh.d}, gen);
    const auto want_y = trajectory_temporal(q, k, v);
    const auto want_g = trajectory_temporal_backward(q, k, v, dy);
    const auto got_y = trajectory_temporal(q.to(cuda), k.to(cuda), v.to(cuda));
    const auto got_g = trajectory_temporal_backward(q.to(cuda), k.to(cuda), v.to(cuda), dy.to(cuda));
    // fp32: d-long dots in float (vs double), the fast exp (~2 ulp) and the online rescaling:
    // ~1e-6 relative on logits of size ~3; outputs are O(1).
    r.push_back(compare("trajectory_temporal", "y" + tag, got_y, want_y, 2e-5, 1e-4));
    r.push_back(compare("trajectory_temporal", "dq" + tag, got_g[0], want_g[0], 2e-5, 1e-4));
    r.push_back(compare("trajectory_temporal", "dk" + tag, got_g[1], want_g[1], 2e-5, 1e-4));
    r.push_back(compare("trajectory_temporal", "dv" + tag, got_g[2], want_g[2], 2e-5, 1e-4));
    // Variance: T-long sums in float vs double: ~1e-7 relative.
    r.push_back(compare("trajectory_variance", "var" + tag, trajectory_variance(yt.to(cuda)), trajectory_variance(yt),
                        1e-6, 1e-5));
    r.push_back(compare("trajectory_variance", "dyt" + tag, trajectory_variance_backward(yt.to(cuda), dvar.to(cuda)),
                        trajectory_variance_backward(yt, dvar), 1e-6, 1e-5));
    {
      // The packed layout (heads 2 or 3 per group, keys and values interleaved per frame).
      const int64_t h = sh.bh % 2 ? 3 : 2, g = sh.n;
      const auto qp = torch::randn({g, h, sh.d}, gen) * 1.5, kvp = torch::randn({g, sh.t, 2 * h * sh.d}, gen);
      const auto dyp = torch::randn({g, h, sh.d}, gen);
      r.push_back(compare("trajectory_temporal", "packed_y" + tag, trajectory_temporal_packed(qp.to(cuda), kvp.to(cuda)),
                          trajectory_temporal_packed(qp, kvp), 2e-5, 1e-4));
      const auto want_p = trajectory_temporal_packed_backward(qp, kvp, dyp);
      const auto got_p = trajectory_temporal_packed_backward(qp.to(cuda), kvp.to(cuda), dyp.to(cuda));
      r.push_back(compare("trajectory_temporal", "packed_dq" + tag, got_p[0], want_p[0], 2e-5, 1e-4));
      r.push_back(compare("trajectory_temporal", "packed_dkv" + tag, got_p[1], want_p[1], 2e-5, 1e-4));
    }
    if (sh.d == 64) {
      // bf16: the same bf16 inputs on both sides, fp32 math, outputs rounded to bf16 (2^-8
      // relative): a rounding boundary may fall differently, so 1 bf16 ulp plus a small atol for
      // values near zero (gradients are sums of terms of both signs).
      const auto b = [](const torch::Tensor& t) { return t.to(torch::kBFloat16); };
      const auto want16 = trajectory_temporal(b(q), b(k), b(v));
      const auto got16 = trajectory_temporal(b(q).to(cuda), b(k).to(cuda), b(v).to(cuda));
      r.push_back(compare("trajectory_temporal", "y_bf16" + tag, got16, want16, 1e-2, 1e-2));
      const auto want16_g = trajectory_temporal_backward(b(q), b(k), b(v), b(dy));
      const auto got16_g = trajectory_temporal_backward(b(q).to(cuda), b(k).to(cuda), b(v).to(cuda), b(dy).to(cuda));
      r.push_back(compare("trajectory_temporal", "dq_bf16" + tag, got16_g[0], want16_g[0], 1e-2, 1e-2));
      r.push_back(compare("trajectory_temporal", "dk_bf16" + tag, got16_g[1], want16_g[1], 1e-2, 1e-2));
      r.push_back(compare("trajectory_temporal", "dv_bf16" + tag, got16_g[2], want16_g[2], 1e-2, 1e-2));
      r.push_back(compare("trajectory_variance", "var_bf16" + tag, trajectory_variance(b(yt).to(cuda)),
                          trajectory_variance(b(yt)), 1e-2, 1e-2));
    }
  }
  return r;
}

std::vector<ParityReport> trajectory_temporal_check(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t BH = 3, N = 5, T = 4, d = 12;
  const auto q = torch::randn({BH, N, d}, gen) * 1.5, k = torch::randn({BH, N, T, d}, gen) * 1.5;
  const auto v = torch::randn({BH, N, T, d}, gen), w = torch::randn({BH, N, d}, gen);
  const auto yt = torch::randn({BH, N, T, d}, gen), wv = torch::randn({BH, N, d}, gen);
  const auto dbl = [](const torch::Tensor& t) { return t.to(torch::kDouble).requires_grad_(true); };
  // Composed in double: logits by einsum-free broadcasting, softmax over T, weighted sum; the
  // variance with torch::var (unbiased = false); autograd for every gradient.
  auto qa = dbl(q), ka = dbl(k), va = dbl(v), ya = dbl(yt);
  const auto p = ((qa.unsqueeze(-2) * ka).sum(-1) / std::sqrt(double(d))).softmax(-1);  // [BH, N, T]
  const auto want_y = (p.unsqueeze(-1) * va).sum(-2);
  const auto want_var = ya.var(-2, /*unbiased=*/false);
  ((want_y * w.to(torch::kDouble)).sum() + (want_var * wv.to(torch::kDouble)).sum()).backward();
  auto qb = q.clone().requires_grad_(true), kb = k.clone().requires_grad_(true), vb = v.clone().requires_grad_(true);
  auto yb = yt.clone().requires_grad_(true);
  const auto got_y = trajectory_temporal(qb, kb, vb);
  const auto got_var = trajectory_variance(yb);
  ((got_y * w).sum() + (got_var * wv).sum()).backward();
  // The packed layout against the contiguous one on the same numbers: kv [G, T, 2, h, d] ->
  // k, v [G*h, T, d]; y and both gradients must agree (the same reference loops, other addressing).
  const int64_t G = 4, h = 3;
  const auto qp = torch::randn({G, h, d}, gen) * 1.5, kvp = torch::randn({G, T, 2 * h * d}, gen) * 1.2;
  const auto wp = torch::randn({G, h, d}, gen);
  auto qp1 = qp.clone().requires_grad_(true), kvp1 = kvp.clone().requires_grad_(true);
  const auto y_packed = trajectory_temporal_packed(qp1, kvp1);
  (y_packed * wp).sum().backward();
  auto qp2 = qp.clone().requires_grad_(true), kvp2 = kvp.clone().requires_grad_(true);
  const auto kv5 = kvp2.view({G, T, 2, h, d});
  const auto kc = kv5.select(2, 0).permute({0, 2, 1, 3}).reshape({G * h, T, d});
  const auto vc = kv5.select(2, 1).permute({0, 2, 1, 3}).reshape({G * h, T, d});
  const auto y_contig = trajectory_temporal(qp2.reshape({G * h, d}), kc, vc).view({G, h, d});
  (y_contig * wp).sum().backward();
  // fp32 inputs, double sums inside the reference, outputs rounded to float: ~1e-7 relative.
  return {compare("trajectory_temporal", "packed_y", y_packed, y_contig, 1e-6, 1e-5),
          compare("trajectory_temporal", "packed_dq", qp1.grad(), qp2.grad(), 1e-6, 1e-5),
          compare("trajectory_temporal", "packed_dkv", kvp1.grad(), kvp2.grad(), 1e-6, 1e-5),
          compare("trajectory_temporal", "y", got_y, want_y, 1e-6, 1e-5),
          compare("trajectory_temporal", "dq", qb.grad(), qa.grad(), 1e-6, 1e-5),
          compare("trajectory_temporal", "dk", kb.grad(), ka.grad(), 1e-6, 1e-5),
          compare("trajectory_temporal", "dv", vb.grad(), va.grad(), 1e-6, 1e-5),
          compare("trajectory_variance", "var", got_var, want_var, 1e-6, 1e-5),
          compare("trajectory_variance", "dyt", yb.grad(), ya.grad(), 1e-6, 1e-5)};
}

}  // namespace tats::ops
