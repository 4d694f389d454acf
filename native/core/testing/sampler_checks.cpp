#include "core/testing/sampler_checks.h"

#include <algorithm>
#include <cmath>

#include "core/adamae_sampler.h"
#include "core/budgeted_draw.h"
#include "core/gumbel_topk.h"
#include "core/masking.h"
#include "core/ppo.h"
#include "core/trajectory_attention.h"

namespace tats::core::testing {

namespace {

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

}  // namespace

TrajectoryAttentionCheck trajectory_attention_check(uint64_t seed, const torch::Device& device) {
  torch::manual_seed(seed);
  TrajectoryAttentionCheck c{2, 24, 4, 32, 4, 0, 0, 0, 0, 0, 0, 0};
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
  // The key half of proj_kv.bias cancels in the softmax over frames: its gradient is exactly 0.
  TORCH_CHECK(attn->proj_kv->bias.grad().defined(), "trajectory_attention_check: proj_kv.bias got no gradient");
  c.key_bias_grad_max_abs = max_abs(attn->proj_kv->bias.grad().narrow(0, 0, c.dim));
  // The module's parameter gradients, set aside: the reference uses the same parameters.
  const auto params = attn->named_parameters();
  std::vector<torch::Tensor> got_grads;
  for (const auto& p : params) {
    TORCH_CHECK(p.value().grad().defined(), "trajectory_attention_check: ", p.key(), " got no gradient");
    got_grads.push_back(p.value().grad().clone());
    p.value().mutable_grad() = torch::Tensor();
  }

  const auto x2 = x.clone().requires_grad_(true);
  const auto want = trajectory_attention_reference(*attn, x2, c.frames);
  ((want.y * w).sum() + (want.variance * u).sum()).backward();

  c.y_max_abs_diff = max_abs(got.y - want.y);
  c.variance_max_abs_diff = max_abs(got.variance - want.variance);
  c.grad_max_abs_diff = max_abs(x1.grad() - x2.grad());
  c.y_max_abs = max_abs(want.y);
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& ref = params[i].value().grad();
    TORCH_CHECK(ref.defined(), "trajectory_attention_check: the reference gave ", params[i].key(), " no gradient");
    c.param_grad_max_abs_diff = std::max(c.param_grad_max_abs_diff, max_abs(got_grads[i] - ref));
    c.param_grad_max_abs = std::max(c.param_grad_max_abs, max_abs(ref));
  }
  return c;
}

PpoGradCheck ppo_grad_check(uint64_t seed) {
  constexpr int64_t B = 2, N = 8, K = 5;
  constexpr double kStep = 1e-6;  // central differences in fp64: error ~ h^2 f(3) + eps/h ~ 1e-10
  constexpr double kBeta = 0.7;
  const double rho = static_cast<double>(K) / N;
  PpoOptions o;
  o.epochs = 1;
  o.clip_eps = 0.2;
  o.value_coef = 0.5;
  o.temperature = 0.7;
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  auto gen = make_generator(torch::kCPU, seed);
  // Draw a case whose ratios sit at least 0.02 away from 1 - eps and 1 + eps (the min/clip kinks,
  // where the loss has no derivative), with some ratios outside the clip range.
  torch::Tensor logits, values, z_old, action, adv, targets;
  for (int attempt = 0;; ++attempt) {
    TORCH_CHECK(attempt < 1000, "ppo_grad_check: no usable case drawn");
    logits = torch::randn({B, N}, gen, f64);
    values = torch::randn({B, N}, gen, f64);
    // pi_old != pi: the old policy's logits are a perturbation of the current ones.
    z_old = budget_logits(logits + 0.4 * torch::randn({B, N}, gen, f64), K, o.temperature);
    const auto draw = budgeted_draw(torch::sigmoid(z_old), K, gen);
    action = draw.action.to(torch::kDouble);
    adv = ppo_advantages(torch::randn({B, K}, gen, f64), draw.masked, torch::randn({B}, gen, f64), N).to(torch::kDouble);
    targets = torch::randn({B}, gen, f64);
    const auto z = budget_logits(logits, K, o.temperature);
    const auto lp = [&](const torch::Tensor& x) { return action * torch::log_sigmoid(x) + (1 - action) * torch::log_sigmoid(-x); };
    const auto ratio = torch::exp(lp(z) - lp(z_old));
    const double gap = torch::min((ratio - (1 - o.clip_eps)).abs(), (ratio - (1 + o.clip_eps)).abs()).min().item<double>();
    const double outside = ((ratio - 1).abs() > o.clip_eps).to(torch::kDouble).mean().item<double>();
    if (gap > 0.02 && outside > 0.0 && outside < 1.0) break;
  }
  auto loss_of = [&](const torch::Tensor& l, const torch::Tensor& v) {
    return ppo_loss(budget_logits(l, K, o.temperature), v, z_old, action, adv, targets, kBeta, rho, o);
  };
  const auto l1 = logits.clone().requires_grad_(true), v1 = values.clone().requires_grad_(true);
  const auto terms = loss_of(l1, v1);
  terms.loss.backward();
  PpoGradCheck c{0, 0, 0, 0, 0, 0, terms.loss.item<double>(), terms.clip_frac.item<double>()};
  {
    const auto l32 = logits.to(torch::kFloat).requires_grad_(true), v32 = values.to(torch::kFloat).requires_grad_(true);
    ppo_loss(budget_logits(l32, K, o.temperature), v32, z_old.to(torch::kFloat), action.to(torch::kFloat),
             adv.to(torch::kFloat), targets.to(torch::kFloat), kBeta, rho, o)
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

DrawFrequencyCheck draw_frequency_check(uint64_t seed, double ratio, int64_t draws, const torch::Device& device) {
  TORCH_CHECK(ratio > 0 && ratio < 1 && draws >= 1, "draw_frequency_check: ratio in (0, 1) and draws >= 1");
  constexpr int64_t B = 4, T = 8, S = 16, N = T * S;
  const int64_t K = masked_count("tats", ratio, TokenGrid{T, S});
  auto gen = make_generator(torch::kCPU, seed);
  torch::NoGradGuard ng;
  // A policy far from uniform: logits spread over +-3 (after the shift, q from ~0.1 to ~1 at 0.9).
  const auto logits = (torch::randn({B, N}, gen) * 1.5).to(device);
  const auto q = torch::sigmoid(budget_logits(logits, K, 1.0));
  const auto rows = q.repeat({draws, 1});  // [draws * B, N]: row r is clip r % B
  const auto d = budgeted_draw(rows, K, gen);
  const auto freq = d.action.to(torch::kDouble).view({draws, B, N}).mean(0);
  const auto qd = q.to(torch::kDouble);
  DrawFrequencyCheck c{};
  c.tokens = N, c.masked = K, c.draws = draws;
  c.max_abs_diff = max_abs(freq - qd);
  c.max_std_error = torch::sqrt(qd * (1 - qd) / static_cast<double>(draws)).max().item<double>();
  c.q_min = qd.min().item<double>();
  c.q_max = qd.max().item<double>();
  c.budget_max_abs_diff = max_abs(qd.sum(1) - static_cast<double>(K));
  const auto sums_ok = (d.action.sum(1) == static_cast<float>(K)).all().item<bool>();
  const auto masked_ok = (d.action.gather(1, d.masked) == 1.0f).all().item<bool>();
  const auto visible_ok = (d.action.gather(1, d.visible) == 0.0f).all().item<bool>();
  const auto sorted_ok = (d.masked.diff(1) > 0).all().item<bool>() && (d.visible.diff(1) > 0).all().item<bool>();
  c.exact_count = d.masked.size(1) == K && d.visible.size(1) == N - K && sums_ok && masked_ok && visible_ok && sorted_ok;
  return c;
}

BanditCheck sampler_bandit_check(const std::string& strategy, uint64_t seed, int64_t steps,
                                 const torch::Device& device) {
  TORCH_CHECK(strategy == "tats" || strategy == "adamae", "sampler_bandit_check: strategy must be tats or adamae");
  TORCH_CHECK(steps >= 20, "sampler_bandit_check: steps must be >= 20");
  constexpr int64_t B = 4, T = 4, S = 16, N = T * S, C = 32, heads = 2;
  constexpr double kRatio = 0.9;  // the default: ~16 of 64 tokens move, 58 are masked
  torch::manual_seed(seed);
  auto gen = make_generator(torch::kCPU, seed);
  const int64_t M = masked_count("tats", kRatio, TokenGrid{T, S});
  BanditCheck c{};
  std::vector<double> shares, q_moving, q_static;
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
    po.epochs = 4, po.clip_eps = 0.2, po.value_coef = 0.5, po.temperature = 1.0;
    po.beta = 1.0, po.beta_start = 1.0, po.target_kl = 0.01;
    po.lr = 1e-3, po.warmup_steps = 10, po.clip_grad = 1.0, po.weight_decay = 0.05;
    ppo = std::make_unique<PpoTrainer>(tats, po, M);
  } else {
    AdaMaeSamplerOptions ao;
    ao.input_dim = C, ao.dim = C, ao.heads = heads, ao.tokens = N;
    ada = AdaMaeSampler(ao);
    ada->to(device);
    ada_opt = make_sampler_optimizer(*ada, 1e-3, 0.05, /*legacy_adamw=*/false);
  }
  for (int64_t step = 0; step < steps; ++step) {
    // Fresh clips every step: a random quarter of each clip's tokens moves.
    const auto moving = (torch::rand({B, N}, gen) < 0.25).to(torch::kFloat).to(device);
    auto x = torch::randn({B, N, C}, gen).to(device);
    x.select(2, 0).add_(3.0 * (2 * moving - 1));
    torch::Tensor masked;
    if (ppo) {
      torch::Tensor visible;
      const auto rollout = ppo->act(x, gen, &visible);
      masked = rollout.masked;
      const auto q = torch::sigmoid(rollout.z_old);
      q_moving.push_back(((q * moving).sum() / moving.sum().clamp_min(1)).item<double>());
      q_static.push_back(((q * (1 - moving)).sum() / (1 - moving).sum().clamp_min(1)).item<double>());
      const auto reward = 0.2 + 0.8 * moving.gather(1, masked) + 0.05 * torch::randn({B, M}, gen).to(device);
      const auto s = ppo->update(rollout, reward);
      c.last_entropy = s.entropy.item<double>();
      c.last_clip_frac = s.clip_frac.item<double>();
      c.last_kl = s.kl.item<double>();
      c.last_value_loss = s.value_loss.item<double>();
      c.last_epochs = s.epochs.item<double>();
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
    if (!q_moving.empty()) {
      c.last_q_moving += q_moving[steps - 1 - i] / 10.0;
      c.last_q_static += q_static[steps - 1 - i] / 10.0;
    }
  }
  return c;
}

}  // namespace tats::core::testing
