#include "core/sampler_checks.h"

#include <cmath>

#include "core/adamae_sampler.h"
#include "core/gumbel_topk.h"
#include "core/masking.h"
#include "core/ppo.h"
#include "core/trajectory_attention.h"

namespace tats::core {

namespace {

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

}  // namespace

TrajectoryAttentionCheck trajectory_attention_check(uint64_t seed, const torch::Device& device) {
  torch::manual_seed(seed);
  TrajectoryAttentionCheck c{2, 24, 4, 32, 4, 0, 0, 0, 0};
  TrajectoryAttention attn(c.dim, c.heads);
  {
    // Larger weights than the default init, so the softmaxes are far from uniform.
    torch::NoGradGuard ng;
    for (auto& p : attn->parameters()) p.normal_(0.0, 0.2);
  }
  attn->to(device);
  const auto x = torch::randn({c.batch, c.tokens, c.dim}).to(device);
  const auto w = torch::randn({c.batch, c.tokens, c.dim}).to(device);
  const auto u = torch::randn({c.batch, c.tokens, c.dim}).to(device);

  const auto x1 = x.clone().requires_grad_(true);
  const auto got = attn->forward(x1, c.frames);
  ((got.y * w).sum() + (got.variance * u).sum()).backward();

  const auto x2 = x.clone().requires_grad_(true);
  const auto want = trajectory_attention_reference(*attn, x2, c.frames);
  ((want.y * w).sum() + (want.variance * u).sum()).backward();

  c.y_max_abs_diff = max_abs(got.y - want.y);
  c.variance_max_abs_diff = max_abs(got.variance - want.variance);
  c.grad_max_abs_diff = max_abs(x1.grad() - x2.grad());
  c.y_max_abs = max_abs(want.y);
  return c;
}

PpoGradCheck ppo_grad_check(uint64_t seed) {
  constexpr int64_t B = 2, N = 6, M = 3;
  constexpr double kStep = 1e-6;  // central differences in fp64: error ~ h^2 f''' + eps/h ~ 1e-10
  PpoOptions o;
  o.epochs = 1;
  o.clip_eps = 0.2;
  o.value_coef = 0.5;
  o.entropy_coef = 0.01;
  o.temperature = 0.7;
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  auto gen = make_generator(torch::kCPU, seed);
  // Draw a case whose ratios sit at least 0.02 away from 1 - eps and 1 + eps (the min/clip kinks,
  // where the loss has no derivative), with some ratios outside the clip range.
  torch::Tensor logits, values, masked, old_lp, returns, adv;
  for (int attempt = 0;; ++attempt) {
    TORCH_CHECK(attempt < 1000, "ppo_grad_check: no usable case drawn");
    logits = torch::randn({B, N}, gen, f64);
    values = torch::randn({B, N}, gen, f64);
    masked = gumbel_topk(logits, M, o.temperature, gen).chosen;
    const auto lp = policy_log_probs(logits, o.temperature).gather(1, masked);
    old_lp = lp + 0.3 * torch::randn({B, M}, gen, f64);  // pi_old != pi: ratios spread around 1
    returns = torch::randn({B, M}, gen, f64);
    adv = ppo_advantages(returns, torch::randn({B, M}, gen, f64));
    const auto ratio = torch::exp(lp - old_lp);
    const double gap = torch::min((ratio - (1 - o.clip_eps)).abs(), (ratio - (1 + o.clip_eps)).abs()).min().item<double>();
    const double outside = ((ratio - 1).abs() > o.clip_eps).to(torch::kDouble).mean().item<double>();
    if (gap > 0.02 && outside > 0.0 && outside < 1.0) break;
  }
  auto loss_of = [&](const torch::Tensor& l, const torch::Tensor& v) {
    return ppo_loss(l, v, masked, old_lp, returns, adv, o);
  };
  const auto l1 = logits.clone().requires_grad_(true), v1 = values.clone().requires_grad_(true);
  const auto terms = loss_of(l1, v1);
  terms.loss.backward();
  PpoGradCheck c{0, 0, 0, 0, 0, 0, terms.loss.item<double>(), terms.clip_frac.item<double>()};
  {
    const auto l32 = logits.to(torch::kFloat).requires_grad_(true), v32 = values.to(torch::kFloat).requires_grad_(true);
    ppo_loss(l32, v32, masked, old_lp.to(torch::kFloat), returns.to(torch::kFloat), adv.to(torch::kFloat), o)
        .loss.backward();
    c.kernel_logits_max_abs_diff = max_abs(l32.grad().to(torch::kDouble) - l1.grad());
    c.kernel_values_max_abs_diff = max_abs(v32.grad().to(torch::kDouble) - v1.grad());
  }
  auto fd = [&](const torch::Tensor& base, bool is_logits) {
    auto g = torch::zeros_like(base);
    for (int64_t i = 0; i < base.numel(); ++i) {
      auto plus = base.clone(), minus = base.clone();
      plus.view(-1)[i] += kStep;
      minus.view(-1)[i] -= kStep;
      const double fp = (is_logits ? loss_of(plus, values) : loss_of(logits, plus)).loss.item<double>();
      const double fm = (is_logits ? loss_of(minus, values) : loss_of(logits, minus)).loss.item<double>();
      g.view(-1)[i] = (fp - fm) / (2 * kStep);
    }
    return g;
  };
  torch::NoGradGuard ng;
  const auto gl = fd(logits, true), gv = fd(values, false);
  c.logits_max_abs_diff = max_abs(l1.grad() - gl);
  c.values_max_abs_diff = max_abs(v1.grad() - gv);
  c.logits_max_abs_grad = max_abs(gl);
  c.values_max_abs_grad = max_abs(gv);
  return c;
}

BanditCheck sampler_bandit_check(const std::string& strategy, uint64_t seed, int64_t steps,
                                 const torch::Device& device) {
  TORCH_CHECK(strategy == "tats" || strategy == "adamae", "sampler_bandit_check: strategy must be tats or adamae");
  TORCH_CHECK(steps >= 20, "sampler_bandit_check: steps must be >= 20");
  constexpr int64_t B = 4, T = 4, S = 16, N = T * S, C = 32, heads = 2;
  constexpr double kRatio = 0.5;  // 32 of 64 masked, ~16 moving: all-moving-masked gives 0.5
  torch::manual_seed(seed);
  auto gen = make_generator(torch::kCPU, seed);
  const int64_t M = masked_count("tats", kRatio, TokenGrid{T, S});
  BanditCheck c{};
  std::vector<double> shares;
  TatsSampler tats{nullptr};
  std::unique_ptr<PpoTrainer> ppo;
  AdaMaeSampler ada{nullptr};
  std::unique_ptr<MaeOptimizer> ada_opt;
  if (strategy == "tats") {
    TatsSamplerOptions so;
    so.input_dim = C, so.dim = C, so.heads = heads, so.tokens = N, so.frames = T;
    tats = TatsSampler(so);
    tats->to(device);
    PpoOptions po;
    po.epochs = 4, po.clip_eps = 0.2, po.value_coef = 0.5, po.entropy_coef = 0.01, po.temperature = 1.0;
    po.lr = 1e-3, po.weight_decay = 0.05;
    ppo = std::make_unique<PpoTrainer>(tats, po);
  } else {
    AdaMaeSamplerOptions ao;
    ao.input_dim = C, ao.dim = C, ao.heads = heads, ao.tokens = N;
    ada = AdaMaeSampler(ao);
    ada->to(device);
    ada_opt = make_sampler_optimizer(*ada, 1e-3, 0.05);
  }
  for (int64_t step = 0; step < steps; ++step) {
    // Fresh clips every step: a random quarter of each clip's tokens moves.
    const auto moving = (torch::rand({B, N}, gen) < 0.25).to(torch::kFloat).to(device);
    auto x = torch::randn({B, N, C}, gen).to(device);
    x.select(2, 0).add_(3.0 * (2 * moving - 1));
    torch::Tensor masked;
    std::function<void(const torch::Tensor&)> learn;
    if (ppo) {
      torch::Tensor visible;
      const auto rollout = ppo->act(x, M, gen, &visible);
      masked = rollout.masked;
      const auto reward = 0.2 + 0.8 * moving.gather(1, masked) + 0.05 * torch::randn({B, M}, gen).to(device);
      const auto s = ppo->update(rollout, reward);
      c.last_entropy = s.entropy.item<double>();
      c.last_clip_frac = s.clip_frac.item<double>();
      c.last_approx_kl = s.approx_kl.item<double>();
      c.last_value_loss = s.value_loss.item<double>();
    } else {
      const auto out = ada->forward(x);
      const auto draw = gumbel_topk(out.logits.detach(), N - M, 1.0, gen);  // visible tokens from p
      masked = draw.rest;
      const auto reward = 0.2 + 0.8 * moving.gather(1, masked) + 0.05 * torch::randn({B, M}, gen).to(device);
      const auto loss = adamae_sampling_loss(out.logits, masked, reward);
      ada_opt->zero_grad();
      loss.backward();
      ada_opt->step(step);
    }
    shares.push_back(moving.gather(1, masked).mean().item<double>());
    c.moving_share += moving.mean().item<double>() / static_cast<double>(steps);
  }
  for (int64_t i = 0; i < 10; ++i) {
    c.first_masked_moving += shares[i] / 10.0;
    c.last_masked_moving += shares[steps - 1 - i] / 10.0;
  }
  return c;
}

}  // namespace tats::core
