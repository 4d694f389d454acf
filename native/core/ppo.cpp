#include "core/ppo.h"

#include <cmath>
#include <limits>

#include "core/autocast.h"
#include "core/budgeted_draw.h"
#include "core/distributed.h"
#include "core/step_trace.h"
#include "kernels/ppo_loss_op.h"

namespace tats::core {

namespace {

constexpr double kAdvantageEps = 1e-8;
constexpr double kSamplerBeta1 = 0.9, kSamplerBeta2 = 0.999;  // torch.optim.AdamW's defaults
// An epoch whose forward finds KL(q_old || q_theta) above this multiple of targetKl skips its step
// and the later ones (Spinning Up's PPO uses 1.5 likewise).
constexpr double kKlStopFactor = 1.5;

}  // namespace

double scheduled_beta(const PpoOptions& o, int64_t update) {
  if (o.beta_steps <= 0 || update >= o.beta_steps) return o.beta;
  const double t = static_cast<double>(update) / static_cast<double>(o.beta_steps);
  return o.beta_start * std::pow(o.beta / o.beta_start, t);
}

PpoLoss ppo_loss(const torch::Tensor& z, const torch::Tensor& values, const torch::Tensor& z_old,
                 const torch::Tensor& action, const torch::Tensor& advantages, const torch::Tensor& value_targets,
                 double beta, double rho, const PpoOptions& o) {
  TORCH_CHECK(z.dim() == 2 && values.sizes() == z.sizes() && z_old.sizes() == z.sizes() &&
                  action.sizes() == z.sizes() && advantages.sizes() == z.sizes(),
              "ppo_loss: z, values, z_old, action and advantages must all be [B, N]; got ", z.sizes(), ", ",
              values.sizes(), ", ", z_old.sizes(), ", ", action.sizes(), ", ", advantages.sizes());
  TORCH_CHECK(value_targets.dim() == 1 && value_targets.size(0) == z.size(0), "ppo_loss: value_targets must be [B]");
  const ops::PpoLossParams p{o.clip_eps, beta, rho};
  const bool f64 = z.scalar_type() == torch::kDouble;
  const auto dt = f64 ? torch::kDouble : torch::kFloat;
  // The fp32 training path goes through the kernel op; fp64 (gradient checks) through libtorch ops.
  const auto terms = f64 ? ops::ppo_loss_composed(z, z_old.to(dt), action.to(dt), advantages.to(dt), p)
                         : ops::ppo_loss(z.to(dt), z_old.to(dt), action.to(dt), advantages.to(dt), p);
  const auto v = values.to(dt).mean(1);  // V(s): the state's value, whatever the action
  PpoLoss out;
  out.value_loss = (v - value_targets.to(dt)).pow(2).mean();
  out.loss = terms.loss + o.value_coef * out.value_loss;
  out.policy_loss = terms.policy;
  out.prior = terms.prior;
  out.clip_frac = terms.clip_frac;
  out.kl = terms.kl;
  out.entropy = terms.entropy;
  return out;
}

torch::Tensor ppo_advantages(const torch::Tensor& rewards, const torch::Tensor& masked, const torch::Tensor& baseline,
                             int64_t tokens, Collective* group) {
  TORCH_CHECK(rewards.dim() == 2 && masked.sizes() == rewards.sizes() && baseline.dim() == 1 &&
                  baseline.size(0) == rewards.size(0),
              "ppo_advantages: rewards and masked must be [B, k] and baseline [B]; got ", rewards.sizes(), ", ",
              masked.sizes(), ", ", baseline.sizes());
  torch::NoGradGuard ng;
  auto a = rewards.to(torch::kFloat) - baseline.to(torch::kFloat).unsqueeze(1);
  if (group && group->world_size() > 1) {
    const auto [mean, var] = group->mean_var(a);
    a = (a - mean) / (torch::sqrt(var) + kAdvantageEps);
  } else {
    a = (a - a.mean()) / (a.std(/*unbiased=*/false) + kAdvantageEps);
  }
  return torch::zeros({rewards.size(0), tokens}, a.options()).scatter_(1, masked, a);
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

std::unique_ptr<MaeOptimizer> make_sampler_optimizer(torch::nn::Module& module, double lr, double weight_decay,
                                                     bool legacy_adamw, int64_t warmup_steps, double clip_grad) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) named.emplace_back(item.key(), item.value());
  OptimConfig cfg;
  cfg.lr = lr;
  cfg.min_lr = lr;  // constant after the warmup: the cosine runs from lr to lr
  cfg.warmup_steps = warmup_steps;
  cfg.total_steps = warmup_steps + 1;
  cfg.weight_decay = weight_decay;
  cfg.beta1 = kSamplerBeta1;
  cfg.beta2 = kSamplerBeta2;
  cfg.clip_grad = clip_grad;
  cfg.legacy_adamw = legacy_adamw;
  return std::make_unique<MaeOptimizer>(named, cfg);
}

PpoTrainer::PpoTrainer(TatsSampler sampler, const PpoOptions& options, int64_t masked_count)
    : sampler_(std::move(sampler)), options_(options), masked_(masked_count) {
  const int64_t n = sampler_->options().tokens;
  TORCH_CHECK(options.epochs >= 1 && options.temperature > 0.0 && options.clip_eps > 0.0,
              "PpoTrainer: epochs must be >= 1 and temperature, clipEps positive");
  TORCH_CHECK(masked_count >= 1 && masked_count < n, "PpoTrainer: the masked count must be in [1, ", n, "), got ",
              masked_count);
  TORCH_CHECK(options.beta >= 0.0 && options.target_kl > 0.0, "PpoTrainer: beta must be >= 0 and targetKl > 0");
  TORCH_CHECK(options.beta_steps == 0 || (options.beta > 0.0 && options.beta_start > 0.0),
              "PpoTrainer: a beta curriculum (betaSteps > 0) needs beta and betaStart > 0");
  rho_ = static_cast<double>(masked_count) / static_cast<double>(n);
  optimizer_ = make_sampler_optimizer(*sampler_, options.lr, options.weight_decay, options.legacy_adamw,
                                      options.warmup_steps, options.clip_grad);
}

torch::Tensor PpoTrainer::log_odds(const SamplerOutput& out) const {
  return budget_logits(out.logits, masked_, options_.temperature);
}

PpoRollout PpoTrainer::act(const torch::Tensor& state, at::Generator& gen, torch::Tensor* visible, bool keep_graph) {
  PpoRollout r;
  r.state = state.detach();
  keep_graph = keep_graph && torch::GradMode::is_enabled();
  if (keep_graph) {
    sampler_->train();
    r.live = sampler_->forward(r.state);
  }
  torch::NoGradGuard ng;
  const auto out = keep_graph ? SamplerOutput{r.live.logits.detach(), r.live.values.detach()} : sampler_->forward(r.state);
  r.z_old = log_odds(out).to(torch::kFloat);
  const int64_t row_base = group_ ? group_->rank() * state.size(0) : 0;
  auto draw = budgeted_draw(torch::sigmoid(r.z_old), masked_, gen, row_base);
  r.masked = draw.masked;
  r.action = draw.action;
  r.value_old = out.values.to(torch::kFloat).mean(1);
  if (visible) *visible = draw.visible;
  return r;
}

void PpoTrainer::set_graph(bool on) {
  graph_on_ = on;
  if (!on) graph_.reset();
}

bool PpoTrainer::graph_possible() const {
  return graph_on_ && StepGraph::supported() && optimizer_->fused() && !group_ &&
         sampler_->parameters().front().is_cuda();
}

bool PpoTrainer::graphs_next_update() const {
  // A captured update bakes beta in.
  return graph_possible() && (options_.beta_steps == 0 || updates_ >= options_.beta_steps);
}

PpoStats PpoTrainer::update(const PpoRollout& rollout, const torch::Tensor& raw_rewards) {
  TORCH_CHECK(raw_rewards.sizes() == rollout.masked.sizes(), "PpoTrainer::update: rewards must be [B, k] = ",
              rollout.masked.sizes(), ", got ", raw_rewards.sizes());
  const int64_t N = rollout.action.size(1);
  const double beta = scheduled_beta(options_, updates_);
  EpochInputs in{rollout.state, rollout.z_old, rollout.action, {}, {}, rollout.live};
  {
    torch::NoGradGuard ng;
    const auto returns = rewards_.update_and_normalize(raw_rewards.detach(), group_.get());  // [B, k]
    in.targets = returns.mean(1);                                                            // [B]
    in.advantages = ppo_advantages(returns, rollout.masked, rollout.value_old, N, group_.get());
  }
  sampler_->train();
  if (optimizer_->fused()) {  // this update's AdamW scalars, one row per epoch, eager or graphed
    if (!rows_.defined()) rows_ = optimizer_->scalar_rows(options_.epochs);
    optimizer_->prepare_rows(updates_, rows_);
  }
  PpoStats s = graphs_next_update() ? epochs_graphed(in, beta) : epochs(in, beta, rows_);
  s.beta = beta;
  optimizer_->zero_grad();
  ++updates_;
  s.reward = raw_rewards.detach().to(torch::kFloat).mean();
  return s;
}

PpoStats PpoTrainer::epochs(const EpochInputs& in, double beta, const torch::Tensor& rows) {
  PpoStats s;
  auto acc = [](torch::Tensor& sum, const torch::Tensor& x) { sum = sum.defined() ? sum + x : x; };
  torch::Tensor stop = torch::zeros({}, in.z_old.options());  // 1 once an epoch passed the KL limit
  torch::Tensor taken = torch::zeros({}, in.z_old.options());
  if (!rows.defined()) optimizer_->set_skip(stop);
  for (int64_t epoch = 0; epoch < options_.epochs; ++epoch) {
    SamplerOutput out;
    PpoLoss terms;
    {
      TATS_SCOPE("tats.ppo_forward");
      if (epoch == 0 && in.live.logits.defined() && in.live.logits.requires_grad()) {
        out = in.live;  // theta is still theta_old: act()'s forward, graph included
      } else {
        // No autocast cache: a capture must not keep cached casts in its pool (autocast.h).
        AutocastScope autocast(autocast_, /*cache=*/false);
        out = sampler_->forward(in.state);
      }
      terms = ppo_loss(log_odds(out), out.values, in.z_old, in.action, in.advantages, in.targets, beta, rho_,
                       options_);
    }
    if (epoch > 0) {
      // theta has taken `epoch` steps: past the limit, this step and every later one are skipped.
      // With a group, every rank decides on the global batch's KL, so that all take the same steps.
      auto kl = terms.kl.detach().to(torch::kFloat).clone();
      if (group_ && group_->world_size() > 1) group_->all_reduce_mean_(kl);
      stop = torch::maximum(stop, (kl > kKlStopFactor * options_.target_kl).to(stop.scalar_type()));
      if (!rows.defined()) optimizer_->set_skip(stop);
    }
    {
      TATS_SCOPE("tats.ppo_backward");
      optimizer_->zero_grad();
      terms.loss.backward();
    }
    {
      TATS_SCOPE("tats.ppo_optimizer");
      if (group_) optimizer_->all_reduce_grads(*group_);
      if (rows.defined()) {
        const auto row = rows.select(0, epoch);
        optimizer_->set_skip(stop, row);
        optimizer_->apply(row);
      } else {
        optimizer_->step(updates_);
      }
    }
    const auto keep = 1.0 - stop;  // this epoch's terms count when its step was taken
    acc(taken, keep);
    acc(s.loss, terms.loss.detach() * keep);
    acc(s.policy_loss, terms.policy_loss.detach() * keep);
    acc(s.value_loss, terms.value_loss.detach() * keep);
    acc(s.clip_frac, terms.clip_frac.detach() * keep);
    if (epoch == 0) {
      s.entropy = terms.entropy.detach();  // epoch 0 runs theta_old: the policy that drew the masks
      s.prior = terms.prior.detach();
    }
    if (epoch == options_.epochs - 1) s.kl = terms.kl.detach().to(torch::kFloat);  // before its step
  }
  if (!rows.defined()) optimizer_->set_skip({});
  for (auto* t : {&s.loss, &s.policy_loss, &s.value_loss, &s.clip_frac}) *t = *t / taken;  // taken >= 1
  s.epochs = taken;
  if (options_.exact_kl) {
    // The update's exact KL: one more forward of the new theta.
    torch::NoGradGuard ng;
    AutocastScope autocast(autocast_, /*cache=*/false);
    const auto z = log_odds(sampler_->forward(in.state)).to(torch::kFloat);
    const auto lq = torch::log_sigmoid(z), l1q = torch::log_sigmoid(-z);
    const auto lq_o = torch::log_sigmoid(in.z_old), l1q_o = torch::log_sigmoid(-in.z_old);
    const auto q_o = torch::sigmoid(in.z_old);
    s.kl = (q_o * (lq_o - lq) + (1 - q_o) * (l1q_o - l1q)).mean();
  }
  return s;
}

PpoStats PpoTrainer::epochs_graphed(const EpochInputs& in, double beta) {
  if (!graph_ || !graph_->in.state.sizes().equals(in.state.sizes()) ||
      graph_->in.state.scalar_type() != in.state.scalar_type()) {
    graph_ = std::make_unique<GraphState>();
    auto& g = *graph_;
    g.graph = std::make_unique<StepGraph>(in.state.device(), /*warmup=*/2);
    g.in = EpochInputs{torch::empty_like(in.state),      torch::empty_like(in.z_old),
                       torch::empty_like(in.action),     torch::empty_like(in.advantages),
                       torch::empty_like(in.targets),    {}};
    g.stats = torch::zeros({8}, in.z_old.options().dtype(torch::kFloat));
  }
  auto& g = *graph_;
  PpoStats s;
  g.graph->run(
      [&] {  // eager: this update's inputs into the static buffers (update() wrote rows_)
        g.in.state.copy_(in.state);
        g.in.z_old.copy_(in.z_old);
        g.in.action.copy_(in.action);
        g.in.advantages.copy_(in.advantages);
        g.in.targets.copy_(in.targets);
      },
      [&] {  // captured once, then replayed: K epochs and the KL forward on the static buffers
        const auto r = epochs(g.in, beta, rows_);
        torch::NoGradGuard ng;
        g.stats.copy_(torch::stack({r.loss, r.policy_loss, r.value_loss, r.clip_frac, r.kl, r.entropy, r.prior,
                                    r.epochs})
                          .to(torch::kFloat));
      },
      [&] {  // eager: a copy of the statistics, which the next replay overwrites
        const auto c = g.stats.clone();
        s.loss = c[0];
        s.policy_loss = c[1];
        s.value_loss = c[2];
        s.clip_frac = c[3];
        s.kl = c[4];
        s.entropy = c[5];
        s.prior = c[6];
        s.epochs = c[7];
      });
  return s;
}

}  // namespace tats::core
