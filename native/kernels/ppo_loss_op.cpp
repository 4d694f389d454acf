#include "kernels/ppo_loss_op.h"

#include <cmath>

#include "kernels/op_util.h"
#include "kernels/ppo_loss.h"

namespace tats::ops {

namespace {

void check_args(const torch::Tensor& lpn, const torch::Tensor& lpo, const torch::Tensor& adv, const torch::Tensor& v,
                const torch::Tensor& ret, double clip_eps, double value_coef) {
  const char* names[] = {"logp_new", "logp_old", "advantages", "value_new", "returns"};
  const torch::Tensor* ts[] = {&lpn, &lpo, &adv, &v, &ret};
  for (int i = 0; i < 5; ++i) {
    TORCH_CHECK(ts[i]->scalar_type() == torch::kFloat, "ppo_loss: ", names[i], " must be float32, got ",
                ts[i]->scalar_type());
    TORCH_CHECK(ts[i]->sizes() == lpn.sizes(), "ppo_loss: ", names[i], " has shape ", ts[i]->sizes(),
                ", logp_new ", lpn.sizes());
  }
  TORCH_CHECK(lpn.numel() >= 1, "ppo_loss: no elements");
  TORCH_CHECK(clip_eps >= 0 && std::isfinite(clip_eps), "ppo_loss: clip_eps must be >= 0, got ", clip_eps);
  TORCH_CHECK(std::isfinite(value_coef), "ppo_loss: value_coef must be finite, got ", value_coef);
  detail::check_same_device("ppo_loss", {&lpn, &lpo, &adv, &v, &ret});
}

struct Flat {
  torch::Tensor lpn, lpo, adv, v, ret;
  explicit Flat(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c, const torch::Tensor& d,
                const torch::Tensor& e)
      : lpn(a.detach().contiguous()),
        lpo(b.detach().contiguous()),
        adv(c.detach().contiguous()),
        v(d.detach().contiguous()),
        ret(e.detach().contiguous()) {}
};

torch::Tensor forward_stats(const Flat& f, double eps, double coef) {
  auto stats = torch::empty({5}, f.lpn.options());
  const kernels::PpoLossShape s{f.lpn.numel(), static_cast<float>(eps), static_cast<float>(coef)};
  if (f.lpn.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("ppo_loss");
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(f.lpn.device());
    kernels::ppo_loss_cuda(f.lpn.data_ptr<float>(), f.lpo.data_ptr<float>(), f.adv.data_ptr<float>(),
                           f.v.data_ptr<float>(), f.ret.data_ptr<float>(), stats.data_ptr<float>(), s,
                           detail::current_stream());
#endif
    return stats;
  }
  kernels::ppo_loss_cpu(f.lpn.data_ptr<float>(), f.lpo.data_ptr<float>(), f.adv.data_ptr<float>(),
                        f.v.data_ptr<float>(), f.ret.data_ptr<float>(), stats.data_ptr<float>(), s);
  return stats;
}

struct PpoLossFn : public torch::autograd::Function<PpoLossFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& lpn,
                                                const torch::Tensor& lpo, const torch::Tensor& adv,
                                                const torch::Tensor& v, const torch::Tensor& ret, double eps,
                                                double coef) {
    ctx->save_for_backward({lpn, lpo, adv, v, ret});
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["coef"] = coef;
    const auto stats = forward_stats(Flat(lpn, lpo, adv, v, ret), eps, coef);
    // Separate tensors (not two views of one buffer) for autograd's output bookkeeping.
    auto total = stats[0].clone(), rest = stats.slice(0, 1).clone();
    ctx->mark_non_differentiable({rest});
    return {total, rest};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto t = ctx->get_saved_variables();
    auto [d_lp, d_v] = ppo_loss_backward(t[0], t[1], t[2], t[3], t[4], grads[0], ctx->saved_data["eps"].toDouble(),
                                         ctx->saved_data["coef"].toDouble());
    return {d_lp, torch::Tensor(), torch::Tensor(), d_v, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

PpoLoss ppo_loss(const torch::Tensor& logp_new, const torch::Tensor& logp_old, const torch::Tensor& advantages,
                 const torch::Tensor& value_new, const torch::Tensor& returns, double clip_eps, double value_coef) {
  check_args(logp_new, logp_old, advantages, value_new, returns, clip_eps, value_coef);
  const auto out = PpoLossFn::apply(logp_new, logp_old.detach(), advantages.detach(), value_new, returns.detach(),
                                    clip_eps, value_coef);
  const auto& rest = out[1];
  return {out[0], rest[0], rest[1], rest[2], rest[3]};
}

std::pair<torch::Tensor, torch::Tensor> ppo_loss_backward(const torch::Tensor& logp_new, const torch::Tensor& logp_old,
                                                          const torch::Tensor& advantages,
                                                          const torch::Tensor& value_new,
                                                          const torch::Tensor& returns, const torch::Tensor& g_total,
                                                          double clip_eps, double value_coef) {
  check_args(logp_new, logp_old, advantages, value_new, returns, clip_eps, value_coef);
  const Flat f(logp_new, logp_old, advantages, value_new, returns);
  torch::Tensor g;
  if (g_total.defined()) {
    TORCH_CHECK(g_total.numel() == 1, "ppo_loss_backward: g_total must be a scalar, got ", g_total.sizes());
    g = g_total.detach().to(f.lpn.device(), torch::kFloat).contiguous();
  }
  auto d_lp = torch::empty_like(f.lpn), d_v = torch::empty_like(f.v);
  const kernels::PpoLossShape s{f.lpn.numel(), static_cast<float>(clip_eps), static_cast<float>(value_coef)};
  const float* gp = g.defined() ? g.data_ptr<float>() : nullptr;
  if (f.lpn.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("ppo_loss_backward");
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(f.lpn.device());
    kernels::ppo_loss_backward_cuda(f.lpn.data_ptr<float>(), f.lpo.data_ptr<float>(), f.adv.data_ptr<float>(),
                                    f.v.data_ptr<float>(), f.ret.data_ptr<float>(), gp, d_lp.data_ptr<float>(),
                                    d_v.data_ptr<float>(), s, detail::current_stream());
#endif
    return {d_lp, d_v};
  }
  kernels::ppo_loss_backward_cpu(f.lpn.data_ptr<float>(), f.lpo.data_ptr<float>(), f.adv.data_ptr<float>(),
                                 f.v.data_ptr<float>(), f.ret.data_ptr<float>(), gp, d_lp.data_ptr<float>(),
                                 d_v.data_ptr<float>(), s);
  return {d_lp, d_v};
}

namespace {

struct PpoInputs {
  torch::Tensor lpn, lpo, adv, v, ret;
};

// Log-probabilities of ~1/N-probable tokens, ratios spread over [0.5, 2] so that both clip sides
// and the inside occur; ratios within 1e-3 of 1 +- eps are pushed away, so that float rounding
// (or the GPU's fast exp) cannot flip an element between branches.
PpoInputs random_inputs(std::vector<int64_t> shape, double eps, torch::Generator& gen) {
  PpoInputs in;
  in.lpo = torch::randn(shape, gen) * 0.5 - 7.0;
  auto delta = (torch::rand(shape, gen) * 1.4 - 0.7);
  for (const double edge : {std::log(1 - eps), std::log(1 + eps)}) {
    const auto near = (delta - edge).abs() < 1e-3;
    delta = torch::where(near, delta + 3e-3, delta);
  }
  // One element in eight far above the clip (ratio 4 to 12), where dual clipping binds for A < 0
  // (kDualClip * A > ratio * A); kept away from ratio = kDualClip, the branch edge.
  const auto far = torch::rand(shape, gen) < 0.125;
  delta = torch::where(far, torch::rand(shape, gen) * 1.1 + 1.4, delta);
  in.lpn = in.lpo + delta;
  in.adv = torch::randn(shape, gen);
  in.v = torch::randn(shape, gen);
  in.ret = torch::randn(shape, gen);
  return in;
}

}  // namespace

std::vector<ParityReport> ppo_loss_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const double eps = 0.2, coef = 0.5;
  const auto in = random_inputs({4, 1411}, eps, gen);  // 4 base clips at 90% masking
  const auto g = torch::rand({}, gen) + 0.5;
  const torch::Device cuda(torch::kCUDA);
  const auto want = ppo_loss(in.lpn, in.lpo, in.adv, in.v, in.ret, eps, coef);
  const auto got =
      ppo_loss(in.lpn.to(cuda), in.lpo.to(cuda), in.adv.to(cuda), in.v.to(cuda), in.ret.to(cuda), eps, coef);
  const auto [want_lp, want_v] = ppo_loss_backward(in.lpn, in.lpo, in.adv, in.v, in.ret, g, eps, coef);
  const auto [got_lp, got_v] = ppo_loss_backward(in.lpn.to(cuda), in.lpo.to(cuda), in.adv.to(cuda), in.v.to(cuda),
                                                 in.ret.to(cuda), g.to(cuda), eps, coef);
  // Means of 5644 terms of size ~1 summed in float (tree) vs double, plus the GPU's fast exp
  // (~2 ulp): ~1e-6 absolute. clip_frac counts the same elements (no ratio near the edges): exact
  // up to the division's rounding.
  std::vector<ParityReport> r;
  r.push_back(compare("ppo_loss", "loss", got.loss, want.loss, 1e-5, 1e-5));
  r.push_back(compare("ppo_loss", "policy", got.policy, want.policy, 1e-5, 1e-5));
  r.push_back(compare("ppo_loss", "value", got.value, want.value, 1e-5, 1e-5));
  r.push_back(compare("ppo_loss", "clip_frac", got.clip_frac, want.clip_frac, 1e-7, 0));
  r.push_back(compare("ppo_loss", "approx_kl", got.approx_kl, want.approx_kl, 1e-6, 1e-5));
  // Elementwise gradients ~1/M: a few ulp from the fast exp.
  r.push_back(compare("ppo_loss", "d_logp_new", got_lp, want_lp, 1e-9, 1e-5));
  r.push_back(compare("ppo_loss", "d_value", got_v, want_v, 1e-9, 1e-5));
  return r;
}

std::vector<ParityReport> ppo_loss_check(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const double eps = 0.2, coef = 0.5;
  const auto in = random_inputs({3, 50}, eps, gen);
  const auto w = torch::rand({}, gen, torch::kDouble) + 0.5;
  // Composed as the PPO paper / common implementations write it, in double, with autograd.
  auto lpa = in.lpn.to(torch::kDouble).requires_grad_(true), va = in.v.to(torch::kDouble).requires_grad_(true);
  const auto lpo = in.lpo.to(torch::kDouble), adv = in.adv.to(torch::kDouble), ret = in.ret.to(torch::kDouble);
  const auto log_ratio = lpa - lpo;
  const auto ratio = log_ratio.exp();
  const auto clipped = torch::min(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv);
  const auto policy = -torch::where(adv < 0, torch::max(clipped, kernels::kDualClip * adv), clipped).mean();
  const auto value = (va - ret).pow(2).mean();
  const auto total = policy + coef * value;
  const auto clip_frac = ((ratio - 1).abs() > eps).to(torch::kDouble).mean();
  const auto kl = ((ratio - 1) - log_ratio).mean();
  (w * total).backward();
  auto lpb = in.lpn.clone().requires_grad_(true), vb = in.v.clone().requires_grad_(true);
  const auto got = ppo_loss(lpb, in.lpo, in.adv, vb, in.ret, eps, coef);
  (w.to(torch::kFloat) * got.loss).backward();
  // The reference computes ratio in float from float inputs: ~1e-7 relative per term.
  return {compare("ppo_loss", "loss", got.loss, total, 1e-6, 1e-5),
          compare("ppo_loss", "policy", got.policy, policy, 1e-6, 1e-5),
          compare("ppo_loss", "value", got.value, value, 1e-6, 1e-5),
          compare("ppo_loss", "clip_frac", got.clip_frac, clip_frac, 1e-7, 0),
          compare("ppo_loss", "approx_kl", got.approx_kl, kl, 1e-6, 1e-5),
          compare("ppo_loss", "d_logp_new", lpb.grad(), lpa.grad(), 1e-8, 1e-5),
          compare("ppo_loss", "d_value", vb.grad(), va.grad(), 1e-8, 1e-5)};
}

}  // namespace tats::ops
