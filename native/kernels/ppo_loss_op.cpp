#include "kernels/ppo_loss_op.h"

#include <cmath>

#include "kernels/op_util.h"
#include "kernels/ppo_loss.h"

namespace tats::ops {

namespace {

void check_args(const torch::Tensor& zn, const torch::Tensor& zo, const torch::Tensor& a, const torch::Tensor& adv,
                const PpoLossParams& p) {
  const char* names[] = {"z_new", "z_old", "action", "advantages"};
  const torch::Tensor* ts[] = {&zn, &zo, &a, &adv};
  for (int i = 0; i < 4; ++i) {
    TORCH_CHECK(ts[i]->scalar_type() == torch::kFloat, "ppo_loss: ", names[i], " must be float32, got ",
                ts[i]->scalar_type());
    TORCH_CHECK(ts[i]->sizes() == zn.sizes(), "ppo_loss: ", names[i], " has shape ", ts[i]->sizes(), ", z_new ",
                zn.sizes());
  }
  TORCH_CHECK(zn.numel() >= 1, "ppo_loss: no elements");
  TORCH_CHECK(p.clip_eps >= 0 && std::isfinite(p.clip_eps), "ppo_loss: clip_eps must be >= 0, got ", p.clip_eps);
  TORCH_CHECK(p.beta >= 0 && std::isfinite(p.beta), "ppo_loss: beta must be >= 0, got ", p.beta);
  TORCH_CHECK(p.rho > 0 && p.rho < 1, "ppo_loss: rho must be in (0, 1), got ", p.rho);
  detail::check_same_device("ppo_loss", {&zn, &zo, &a, &adv});
}

struct Flat {
  torch::Tensor zn, zo, a, adv;
  Flat(const torch::Tensor& w, const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& z)
      : zn(w.detach().contiguous()), zo(x.detach().contiguous()), a(y.detach().contiguous()), adv(z.detach().contiguous()) {}
};

kernels::PpoLossShape shape_of(const Flat& f, const PpoLossParams& p) {
  return {f.zn.numel(), static_cast<float>(p.clip_eps), static_cast<float>(p.beta), static_cast<float>(p.rho)};
}

torch::Tensor forward_stats(const Flat& f, const PpoLossParams& p) {
  auto stats = torch::empty({kernels::kPpoStats}, f.zn.options());
  const auto s = shape_of(f, p);
  if (f.zn.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("ppo_loss");
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(f.zn.device());
    kernels::ppo_loss_cuda(f.zn.data_ptr<float>(), f.zo.data_ptr<float>(), f.a.data_ptr<float>(),
                           f.adv.data_ptr<float>(), stats.data_ptr<float>(), s, detail::current_stream());
#endif
    return stats;
  }
  kernels::ppo_loss_cpu(f.zn.data_ptr<float>(), f.zo.data_ptr<float>(), f.a.data_ptr<float>(), f.adv.data_ptr<float>(),
                        stats.data_ptr<float>(), s);
  return stats;
}

struct PpoLossFn : public torch::autograd::Function<PpoLossFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& zn,
                                                const torch::Tensor& zo, const torch::Tensor& a,
                                                const torch::Tensor& adv, double eps, double beta, double rho) {
    ctx->save_for_backward({zn, zo, a, adv});
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["beta"] = beta;
    ctx->saved_data["rho"] = rho;
    const auto stats = forward_stats(Flat(zn, zo, a, adv), {eps, beta, rho});
    // Separate tensors (not two views of one buffer) for autograd's output bookkeeping.
    auto total = stats[0].clone(), rest = stats.slice(0, 1).clone();
    ctx->mark_non_differentiable({rest});
    return {total, rest};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto t = ctx->get_saved_variables();
    const PpoLossParams p{ctx->saved_data["eps"].toDouble(), ctx->saved_data["beta"].toDouble(),
                          ctx->saved_data["rho"].toDouble()};
    auto d = ppo_loss_backward(t[0], t[1], t[2], t[3], grads[0], p);
    return {d, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

PpoLoss ppo_loss(const torch::Tensor& z_new, const torch::Tensor& z_old, const torch::Tensor& action,
                 const torch::Tensor& advantages, const PpoLossParams& p) {
  check_args(z_new, z_old, action, advantages, p);
  const auto out = PpoLossFn::apply(z_new, z_old.detach(), action.detach(), advantages.detach(), p.clip_eps, p.beta,
                                    p.rho);
  const auto& rest = out[1];
  return {out[0], rest[0], rest[1], rest[2], rest[3], rest[4]};
}

torch::Tensor ppo_loss_backward(const torch::Tensor& z_new, const torch::Tensor& z_old, const torch::Tensor& action,
                                const torch::Tensor& advantages, const torch::Tensor& g_total,
                                const PpoLossParams& p) {
  check_args(z_new, z_old, action, advantages, p);
  const Flat f(z_new, z_old, action, advantages);
  torch::Tensor g;
  if (g_total.defined()) {
    TORCH_CHECK(g_total.numel() == 1, "ppo_loss_backward: g_total must be a scalar, got ", g_total.sizes());
    g = g_total.detach().to(f.zn.device(), torch::kFloat).contiguous();
  }
  auto d = torch::empty_like(f.zn);
  const auto s = shape_of(f, p);
  const float* gp = g.defined() ? g.data_ptr<float>() : nullptr;
  if (f.zn.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("ppo_loss_backward");
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(f.zn.device());
    kernels::ppo_loss_backward_cuda(f.zn.data_ptr<float>(), f.zo.data_ptr<float>(), f.a.data_ptr<float>(),
                                    f.adv.data_ptr<float>(), gp, d.data_ptr<float>(), s, detail::current_stream());
#endif
    return d;
  }
  kernels::ppo_loss_backward_cpu(f.zn.data_ptr<float>(), f.zo.data_ptr<float>(), f.a.data_ptr<float>(),
                                 f.adv.data_ptr<float>(), gp, d.data_ptr<float>(), s);
  return d;
}

PpoLoss ppo_loss_composed(const torch::Tensor& z_new, const torch::Tensor& z_old, const torch::Tensor& action,
                          const torch::Tensor& advantages, const PpoLossParams& p) {
  const auto dt = z_new.scalar_type();
  const auto zo = z_old.detach().to(dt), a = action.detach().to(dt), adv = advantages.detach().to(dt);
  const auto ls = [](const torch::Tensor& x) { return torch::log_sigmoid(x); };
  const auto lq = ls(z_new), l1q = ls(-z_new), q = torch::sigmoid(z_new);
  const auto lq_o = ls(zo), l1q_o = ls(-zo), q_o = torch::sigmoid(zo);
  const auto log_ratio =
      (a * lq + (1 - a) * l1q - (a * lq_o + (1 - a) * l1q_o)).clamp(-kernels::kPpoMaxLogRatio, kernels::kPpoMaxLogRatio);
  const auto ratio = torch::exp(log_ratio);
  const auto surrogate = torch::min(ratio * adv, ratio.clamp(1 - p.clip_eps, 1 + p.clip_eps) * adv);
  PpoLoss out;
  out.policy = -surrogate.mean();
  out.prior = (q * (lq - std::log(p.rho)) + (1 - q) * (l1q - std::log1p(-p.rho))).mean();
  out.loss = out.policy + p.beta * out.prior;
  torch::NoGradGuard ng;
  out.policy = out.policy.detach();
  out.prior = out.prior.detach();
  out.clip_frac = ((ratio - 1).abs() > p.clip_eps).to(dt).mean();
  out.kl = (q_o * (lq_o - lq) + (1 - q_o) * (l1q_o - l1q)).mean();
  out.entropy = (-(q * lq + (1 - q) * l1q)).mean();
  return out;
}

namespace {

struct PpoInputs {
  torch::Tensor zn, zo, a, adv;
};

// Log-odds around logit(0.9) (90% masking) with a spread, new = old + a shift, so that both clip
// sides and the inside occur; ratios within 1e-3 of 1 +- eps are pushed away, so that float
// rounding (or the GPU's fast exp) cannot flip an element between branches. Advantages 0 on the
// visible tokens, as the trainer gives them.
PpoInputs random_inputs(std::vector<int64_t> shape, double eps, torch::Generator& gen) {
  PpoInputs in;
  in.zo = torch::randn(shape, gen) * 1.5 + 2.2;
  in.a = (torch::rand(shape, gen) < torch::sigmoid(in.zo)).to(torch::kFloat);
  in.zn = in.zo + torch::randn(shape, gen) * 0.6;
  for (int pass = 0; pass < 4; ++pass) {
    const auto lp = [&](const torch::Tensor& z) { return in.a * torch::log_sigmoid(z) + (1 - in.a) * torch::log_sigmoid(-z); };
    const auto ratio = torch::exp(lp(in.zn) - lp(in.zo));
    const auto near = ((ratio - (1 - eps)).abs() < 1e-3) | ((ratio - (1 + eps)).abs() < 1e-3);
    in.zn = torch::where(near, in.zn + 0.01, in.zn);
  }
  in.adv = torch::randn(shape, gen) * in.a;
  return in;
}

}  // namespace

std::vector<ParityReport> ppo_loss_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const PpoLossParams p{0.2, 0.7, 0.9};
  const auto in = random_inputs({4, 1568}, p.clip_eps, gen);  // 4 base clips
  const auto g = torch::rand({}, gen) + 0.5;
  const torch::Device cuda(torch::kCUDA);
  const auto want = ppo_loss(in.zn, in.zo, in.a, in.adv, p);
  const auto got = ppo_loss(in.zn.to(cuda), in.zo.to(cuda), in.a.to(cuda), in.adv.to(cuda), p);
  const auto want_d = ppo_loss_backward(in.zn, in.zo, in.a, in.adv, g, p);
  const auto got_d = ppo_loss_backward(in.zn.to(cuda), in.zo.to(cuda), in.a.to(cuda), in.adv.to(cuda), g.to(cuda), p);
  // Means of 6272 terms of size ~1 summed in float (tree) vs double, plus the GPU's fast exp/log
  // (~2 ulp): ~1e-6 absolute. clip_frac counts the same elements (no ratio near the edges).
  std::vector<ParityReport> r;
  r.push_back(compare("ppo_loss", "loss", got.loss, want.loss, 1e-5, 1e-5));
  r.push_back(compare("ppo_loss", "policy", got.policy, want.policy, 1e-5, 1e-5));
  r.push_back(compare("ppo_loss", "prior", got.prior, want.prior, 1e-5, 1e-5));
  r.push_back(compare("ppo_loss", "clip_frac", got.clip_frac, want.clip_frac, 1e-7, 0));
  r.push_back(compare("ppo_loss", "kl", got.kl, want.kl, 1e-6, 1e-4));
  r.push_back(compare("ppo_loss", "entropy", got.entropy, want.entropy, 1e-5, 1e-5));
  // Elementwise gradients ~1/M: a few ulp.
  r.push_back(compare("ppo_loss", "d_z_new", got_d, want_d, 1e-9, 1e-4));
  return r;
}

std::vector<ParityReport> ppo_loss_check(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const PpoLossParams p{0.2, 0.7, 0.9};
  const auto in = random_inputs({3, 50}, p.clip_eps, gen);
  const auto w = torch::rand({}, gen, torch::kDouble) + 0.5;
  auto za = in.zn.to(torch::kDouble).requires_grad_(true);
  const auto want = ppo_loss_composed(za, in.zo.to(torch::kDouble), in.a.to(torch::kDouble), in.adv.to(torch::kDouble), p);
  (w * want.loss).backward();
  auto zb = in.zn.clone().requires_grad_(true);
  const auto got = ppo_loss(zb, in.zo, in.a, in.adv, p);
  (w.to(torch::kFloat) * got.loss).backward();
  // The kernel computes per-token terms in float from float inputs: ~1e-7 relative per term.
  return {compare("ppo_loss", "loss", got.loss, want.loss, 1e-6, 1e-5),
          compare("ppo_loss", "policy", got.policy, want.policy, 1e-6, 1e-5),
          compare("ppo_loss", "prior", got.prior, want.prior, 1e-6, 1e-5),
          compare("ppo_loss", "clip_frac", got.clip_frac, want.clip_frac, 1e-7, 0),
          compare("ppo_loss", "kl", got.kl, want.kl, 1e-6, 1e-4),
          compare("ppo_loss", "entropy", got.entropy, want.entropy, 1e-6, 1e-5),
          compare("ppo_loss", "d_z_new", zb.grad(), za.grad(), 1e-8, 1e-4)};
}

}  // namespace tats::ops
