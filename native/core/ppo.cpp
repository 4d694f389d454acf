#include "core/ppo.h"

#include "core/gumbel_topk.h"
#include "core/autocast.h"
#include "core/distributed.h"
#include "core/step_buffers.h"
#include "core/step_graph.h"
#include "core/step_trace.h"
#include "kernels/ppo_loss.h"
#include "kernels/ppo_loss_op.h"

namespace tats::core {

namespace {

constexpr double kAdvantageEps = 1e-8;
// |log ratio| is clamped here before exp: Gumbel-top-k must fill |M| slots, so a peaked policy puts
// tokens with vanishing pi_old (log pi_old ~ -100) into M, and a later epoch can raise them by more
// than fp32's exp range (ratio = inf, loss = NaN). Beyond e^20 the ratio is saturated: no gradient.
constexpr double kMaxLogRatio = 20.0;
constexpr double kSamplerBeta1 = 0.9, kSamplerBeta2 = 0.999;  // torch.optim.AdamW's defaults

}  // namespace

PpoLoss ppo_loss(const torch::Tensor& logits, const torch::Tensor& values, const torch::Tensor& masked,
                 const torch::Tensor& old_log_probs, const torch::Tensor& returns, const torch::Tensor& advantages,
                 const PpoOptions& o) {
  TORCH_CHECK(logits.dim() == 2 && values.sizes() == logits.sizes(), "ppo_loss: logits and values must be [B, N]; got ",
              logits.sizes(), " and ", values.sizes());
  TORCH_CHECK(masked.dim() == 2 && masked.size(0) == logits.size(0) && old_log_probs.sizes() == masked.sizes() &&
                  returns.sizes() == masked.sizes() && advantages.sizes() == masked.sizes(),
              "ppo_loss: masked, old_log_probs, returns, advantages must all be [B, M]");
  const auto log_pi_of = [&](const torch::Tensor& l) { return policy_log_probs(l, o.temperature); };
  PpoLoss out;
  if (logits.scalar_type() != torch::kDouble) {
    // Training path, fp32 whatever the autocast: the clipped surrogate, value loss and their
    // telemetry in the ppo_loss kernel op (one reduction, no host sync); the entropy in libtorch.
    const auto log_pi = log_pi_of(logits.to(torch::kFloat));  // [B, N]
    const auto old_lp = old_log_probs.to(torch::kFloat);
    const auto new_lp = old_lp + (log_pi.gather(1, masked) - old_lp).clamp(-kMaxLogRatio, kMaxLogRatio);
    const auto k = ops::ppo_loss(new_lp, old_lp,
                                 advantages.to(torch::kFloat), values.to(torch::kFloat).gather(1, masked),
                                 returns.to(torch::kFloat), o.clip_eps, o.value_coef);
    out.entropy = -(torch::exp(log_pi) * log_pi).sum(1).mean();
    out.loss = k.loss - o.entropy_coef * out.entropy;
    out.policy_loss = k.policy;
    out.value_loss = k.value;
    out.clip_frac = k.clip_frac;
    out.approx_kl = k.approx_kl;
    return out;
  }
  // fp64 (gradient checks): the same loss composed from libtorch ops, differentiated by autograd.
  const auto log_pi = log_pi_of(logits);                                   // [B, N]
  const auto log_ratio =
      (log_pi.gather(1, masked) - old_log_probs.to(torch::kDouble)).clamp(-kMaxLogRatio, kMaxLogRatio);
  const auto ratio = torch::exp(log_ratio);
  const auto adv = advantages.to(torch::kDouble);
  const auto clipped = torch::min(ratio * adv, torch::clamp(ratio, 1.0 - o.clip_eps, 1.0 + o.clip_eps) * adv);
  const auto surrogate = torch::where(adv < 0, torch::max(clipped, kernels::kDualClip * adv), clipped);  // dual clip
  out.policy_loss = -surrogate.mean();
  out.value_loss = (values.to(torch::kDouble).gather(1, masked) - returns.to(torch::kDouble)).pow(2).mean();
  out.entropy = -(torch::exp(log_pi) * log_pi).sum(1).mean();
  out.loss = out.policy_loss + o.value_coef * out.value_loss - o.entropy_coef * out.entropy;
  {
    torch::NoGradGuard ng;
    out.clip_frac = ((ratio - 1.0).abs() > o.clip_eps).to(torch::kDouble).mean();
    out.approx_kl = ((ratio - 1.0) - log_ratio).mean();
  }
  return out;
}

torch::Tensor ppo_advantages(const torch::Tensor& returns, const torch::Tensor& baseline, Collective* group) {
  const auto a = returns - baseline;
  if (group && group->world_size() > 1) {
    const auto [mean, var] = group->mean_var(a);
    return (a - mean) / (torch::sqrt(var) + kAdvantageEps);
  }
  return (a - a.mean()) / (a.std(/*unbiased=*/false) + kAdvantageEps);
}

torch::Tensor RewardNormalizer::update_and_normalize(const torch::Tensor& rewards, Collective* group) {
  torch::NoGradGuard ng;
  const auto r = rewards.to(torch::kFloat);
  torch::Tensor m_b, v_b;
  if (group && group->world_size() > 1) std::tie(m_b, v_b) = group->mean_var(r);
  else m_b = r.mean(), v_b = r.var(/*unbiased=*/false);
  if (batches == 0) {
    mean = m_b.clone();
    var = v_b.clone();
  } else {
    const double a = 1.0 - kMomentum;
    const auto delta = m_b - mean;
    var = kMomentum * var + a * v_b + a * kMomentum * delta * delta;
    mean = mean + a * delta;
  }
  ++batches;
  return (r - mean) / torch::sqrt(var + kEps);
}

std::unique_ptr<MaeOptimizer> make_sampler_optimizer(torch::nn::Module& module, double lr, double weight_decay) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) named.emplace_back(item.key(), item.value());
  OptimConfig cfg;
  cfg.lr = lr;
  cfg.min_lr = lr;  // constant: the cosine runs from lr to lr
  cfg.warmup_steps = 0;
  cfg.total_steps = 1;
  cfg.weight_decay = weight_decay;
  cfg.beta1 = kSamplerBeta1;
  cfg.beta2 = kSamplerBeta2;
  cfg.clip_grad = 0.0;
  return std::make_unique<MaeOptimizer>(named, cfg);
}

PpoTrainer::PpoTrainer(TatsSampler sampler, const PpoOptions& options)
    : sampler_(std::move(sampler)), options_(options) {
  TORCH_CHECK(options.epochs >= 1 && options.temperature > 0.0 && options.clip_eps > 0.0,
              "PpoTrainer: epochs must be >= 1 and temperature, clipEps positive");
  optimizer_ = make_sampler_optimizer(*sampler_, options.lr, options.weight_decay);
}

PpoRollout PpoTrainer::act(const torch::Tensor& state, int64_t masked_count, at::Generator& gen,
                           torch::Tensor* visible, bool keep_graph) {
  PpoRollout r;
  r.state = state.detach();
  keep_graph = keep_graph && torch::GradMode::is_enabled();
  if (keep_graph) {
    sampler_->train();
    r.live = sampler_->forward(r.state);
  }
  torch::NoGradGuard ng;
  const auto out = keep_graph ? SamplerOutput{r.live.logits.detach(), r.live.values.detach()} : sampler_->forward(r.state);
  const auto logits = out.logits.to(torch::kFloat);
  const int64_t row_base = group_ ? group_->rank() * state.size(0) : 0;
  auto draw = gumbel_topk(logits, masked_count, options_.temperature, gen, row_base);
  r.masked = draw.chosen;
  r.logits = logits;
  r.old_log_probs = policy_log_probs(logits, options_.temperature).gather(1, r.masked);
  const auto values = out.values.to(torch::kFloat);
  r.old_values = values.gather(1, r.masked);
  r.baseline = (torch::softmax(logits / options_.temperature, -1) * values).sum(1, /*keepdim=*/true);
  if (visible) *visible = draw.rest;
  return r;
}

PpoStats PpoTrainer::update(const PpoRollout& rollout, const torch::Tensor& raw_rewards) {
  TORCH_CHECK(raw_rewards.sizes() == rollout.masked.sizes(), "PpoTrainer::update: rewards must be [B, M] = ",
              rollout.masked.sizes(), ", got ", raw_rewards.sizes());
  torch::Tensor returns, advantages;
  {
    torch::NoGradGuard ng;
    returns = rewards_.update_and_normalize(raw_rewards.detach(), group_.get());
    advantages = ppo_advantages(returns, rollout.baseline, group_.get());
  }
  sampler_->train();
  PpoStats s = graphed(rollout.state.device()) ? epochs_graphed(rollout, returns, advantages)
                                               : epochs_eager(rollout, returns, advantages);
  optimizer_->zero_grad();
  ++updates_;
  s.reward = raw_rewards.detach().to(torch::kFloat).mean();
  return s;
}

bool PpoTrainer::graphed(const torch::Device& device) const {
  // Opt-in (TATS_PPO_GRAPH=1): it matches the eager update step for step in the GPU tests (8 steps),
  // but a 700-step tiny run on the H100 with it (and the MAE-part graph) diverged by step 50
  // (approx_kl 1.6e7, then NaN telemetry) where the eager step stayed finite
  // (bench/records/2026-11-24-gpu-final.md). Not yet understood.
  return env_opt_in("PPO_GRAPH") && env_enabled("GRAPH") && StepGraph::supported() && device.is_cuda() &&
         optimizer_->fused() && !group_;
}

PpoStats PpoTrainer::epochs_eager(const PpoRollout& rollout, const torch::Tensor& returns,
                                  const torch::Tensor& advantages) {
  PpoStats s;
  auto acc = [](torch::Tensor& sum, const torch::Tensor& x) { sum = sum.defined() ? sum + x.detach() : x.detach(); };
  for (int64_t epoch = 0; epoch < options_.epochs; ++epoch) {
    SamplerOutput out;
    PpoLoss terms;
    {
      TATS_SCOPE("tats.ppo_forward");
      if (epoch == 0 && rollout.live.logits.defined() && rollout.live.logits.requires_grad()) {
        out = rollout.live;  // theta is still theta_old: act()'s forward, graph included
      } else {
        AutocastScope autocast(autocast_);
        out = sampler_->forward(rollout.state);
      }
      terms = ppo_loss(out.logits, out.values, rollout.masked, rollout.old_log_probs, returns, advantages, options_);
    }
    {
      TATS_SCOPE("tats.ppo_backward");
      optimizer_->zero_grad();
      terms.loss.backward();
    }
    {
      TATS_SCOPE("tats.ppo_optimizer");
      if (group_) optimizer_->all_reduce_grads(*group_);
      optimizer_->step(updates_);
    }
    acc(s.loss, terms.loss);
    acc(s.policy_loss, terms.policy_loss);
    acc(s.value_loss, terms.value_loss);
    acc(s.entropy, terms.entropy);
    acc(s.clip_frac, terms.clip_frac);
    acc(s.approx_kl, terms.approx_kl);
  }
  const double k = static_cast<double>(options_.epochs);
  for (auto* t : {&s.loss, &s.policy_loss, &s.value_loss, &s.entropy, &s.clip_frac, &s.approx_kl}) *t = *t / k;
  return s;
}

PpoStats PpoTrainer::epochs_graphed(const PpoRollout& rollout, const torch::Tensor& returns,
                                    const torch::Tensor& advantages) {
  auto& g = graph_state_;
  if (!g.graph || !g.state.sizes().equals(rollout.state.sizes()) || g.state.scalar_type() != rollout.state.scalar_type()) {
    g.graph = std::make_shared<StepGraph>(rollout.state.device(), /*warmup=*/2);
    g.state = torch::empty_like(rollout.state);
    g.masked = torch::empty_like(rollout.masked);
    g.old_log_probs = torch::empty_like(rollout.old_log_probs);
    g.returns = torch::empty_like(returns);
    g.advantages = torch::empty_like(advantages);
    g.stats = torch::zeros({6}, rollout.state.options().dtype(torch::kFloat));
    g.adamw_rows = optimizer_->scalar_rows(options_.epochs);  // one AdamW step per epoch
  }
  g.graph->run(
      [&] {  // eager: this update's inputs into the static buffers, the AdamW scalars onto the device
        g.state.copy_(rollout.state);
        g.masked.copy_(rollout.masked);
        g.old_log_probs.copy_(rollout.old_log_probs);
        g.returns.copy_(returns);
        g.advantages.copy_(advantages);
        optimizer_->prepare_rows(updates_, g.adamw_rows);
      },
      [&] {  // captured: K epochs of forward, loss, backward and AdamW on fixed buffers
        torch::Tensor sums;
        for (int64_t epoch = 0; epoch < options_.epochs; ++epoch) {
          SamplerOutput out;
          {
            AutocastScope autocast(autocast_, /*cache=*/false);
            out = sampler_->forward(g.state);
          }
          const auto terms =
              ppo_loss(out.logits, out.values, g.masked, g.old_log_probs, g.returns, g.advantages, options_);
          optimizer_->zero_grad();
          terms.loss.backward();
          optimizer_->apply(g.adamw_rows.select(0, epoch));
          std::vector<torch::Tensor> row;
          for (const auto& t : {terms.loss, terms.policy_loss, terms.value_loss, terms.entropy, terms.clip_frac,
                                terms.approx_kl})
            row.push_back(t.detach().to(torch::kFloat).reshape({}));
          const auto r = torch::stack(row);
          sums = sums.defined() ? sums + r : r;
        }
        g.stats.copy_(sums / static_cast<double>(options_.epochs));
      },
      [] {});
  const auto st = g.stats.clone();  // the next replay overwrites the buffer
  PpoStats s;
  s.loss = st[0];
  s.policy_loss = st[1];
  s.value_loss = st[2];
  s.entropy = st[3];
  s.clip_frac = st[4];
  s.approx_kl = st[5];
  return s;
}

}  // namespace tats::core
