// PPO for the token sampler (DESIGN.md item 7): one-step episodes (a contextual bandit), one
// action per masked token, no discounting.
//
// Rollout (at sampling time, no grad): the state x, the masked set M, log pi_old(i) and V_old(i)
// for i in M. After the MAE step: raw rewards r_i = e_i (the MAE's detached per-token error).
// Update, K epochs over the whole batch (no minibatches):
//   r~_i   = (r_i - mu) / sqrt(sigma^2 + 1e-8)  with running statistics (RewardNormalizer)
//   A_i    = r~_i - b_old(s), b_old(s) = sum_j pi_old(j) V_old(j), normalised over the batch's
//            B*|M| entries (mean 0, std 1)
//   ratio_i = exp(clamp(log pi(i) - log pi_old(i), -20, 20)),  pi = softmax(l / tau) over the N tokens
//   L = -mean(max(min(ratio A, clip(ratio, 1-eps, 1+eps) A), 3A if A < 0)) + c_v mean((V(i) - r~_i)^2) - c_H H(pi)
// with H(pi) the entropy of the full softmax over N, averaged over clips. theta has its own AdamW.
//
// Deviation from DESIGN.md item 7 (A_i = r_i - V_old(i)): the critic V(i) estimates the error of
// token i itself, i.e. the value of the action, not of the state. Used as the baseline of action
// i it removes exactly the signal the policy learns from: E[r_i - V(i)] = 0 for every token once
// the critic is fitted, so the policy gradient is zero in expectation (and biased before). The
// baseline must not depend on the action; we take the state value under the old policy,
// b_old(s) = sum_j pi_old(j) V_old(j), from the same per-token critic (trained as DESIGN says).
//
// Second deviation: the dual clip (the "3A if A < 0" bound, kernels::kDualClip). With 75-90% of the
// tokens masked most masked tokens have a vanishing pi_old; their ratio can grow to e^20 within the
// K epochs and DESIGN's min(...) keeps ratio * A for A < 0, an unbounded loss that collapsed the
// policy onto one token per clip (docs/finetune.md). Bounded, the policy follows the moving sprite.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "core/optim.h"
#include "core/tats_sampler.h"

namespace tats::core {

class Collective;

struct PpoOptions {
  int64_t epochs = 0;        // K
  double clip_eps = 0;       // eps
  double value_coef = 0;     // c_v
  double entropy_coef = 0;   // c_H
  double temperature = 0;    // tau
  double lr = 0;             // AdamW for theta
  double weight_decay = 0;   // on weight matrices only (not biases, norms, position embedding)
};

// The loss terms of one PPO epoch. All are 0-dim tensors on the logits' device (no host sync).
struct PpoLoss {
  torch::Tensor loss, policy_loss, value_loss, entropy, clip_frac, approx_kl;
};

// logits, values [B, N] (current theta); masked [B, M] int64; old_log_probs [B, M];
// returns (normalised rewards) and advantages (normalised) [B, M]. Differentiable in logits, values.
// Float logits (any float dtype but fp64): computed in fp32 with the ppo_loss kernel op for the
// surrogate and value terms. fp64 logits: the same formula composed from libtorch ops in fp64
// (used by the gradient check, which also compares the fp32 path's gradients with it).
PpoLoss ppo_loss(const torch::Tensor& logits, const torch::Tensor& values, const torch::Tensor& masked,
                 const torch::Tensor& old_log_probs, const torch::Tensor& returns, const torch::Tensor& advantages,
                 const PpoOptions& options);

// A = returns - baseline (broadcast, e.g. [B, M] - [B, 1]), then normalised over all entries:
// (A - mean) / (std + 1e-8). With a group: mean and std over every rank's entries.
torch::Tensor ppo_advantages(const torch::Tensor& returns, const torch::Tensor& baseline,
                             Collective* group = nullptr);

// Running reward statistics. Our choice (DESIGN says "normalised per batch (running mean/std)"):
// the first batch sets mu and sigma^2 to its own mean and (population) variance; every later
// batch moves them by an exponential moving average with momentum 0.9 (mu <- 0.9 mu + 0.1 m_b,
// sigma^2 <- 0.9 sigma^2 + 0.1 (v_b + 0.9 (m_b - mu_old)^2)), so they follow the MAE's error as it
// falls over training with a horizon of ~10 steps, and each batch is normalised after its own
// update. The statistics live on the device as tensors; the step counter lives on the host.
class RewardNormalizer {
 public:
  static constexpr double kMomentum = 0.9;
  static constexpr double kEps = 1e-8;
  // Updates the statistics with `rewards` (any shape) and returns the normalised rewards. With a
  // group, the batch's mean and variance are those of the global batch (every rank's rewards), so
  // the statistics stay identical on every rank.
  torch::Tensor update_and_normalize(const torch::Tensor& rewards, Collective* group = nullptr);
  torch::Tensor mean, var;  // 0-dim fp32, undefined before the first batch
  int64_t batches = 0;
};

// What the sampling step stores for the update (all detached).
struct PpoRollout {
  torch::Tensor state;          // [B, N, C_mae] sampler input at sampling time
  torch::Tensor masked;         // [B, M] int64
  torch::Tensor old_log_probs;  // [B, M]
  torch::Tensor old_values;     // [B, M] V_old(i) on the masked tokens (telemetry)
  torch::Tensor baseline;       // [B, 1] b_old(s) = sum_j pi_old(j) V_old(j), the advantage baseline
  torch::Tensor logits;         // [B, N] fp32, the policy's logits at sampling time (before tau)
  // With keep_graph: act()'s forward with its autograd graph. theta does not change between act()
  // and update(), so PPO's first epoch reuses it instead of running the same forward again.
  SamplerOutput live;
};

// Per-update telemetry: means over the K epochs, 0-dim tensors (read once at the step's end).
struct PpoStats {
  torch::Tensor loss, policy_loss, value_loss, entropy, clip_frac, approx_kl, reward;
};

class StepGraph;

class PpoTrainer {
 public:
  PpoTrainer(TatsSampler sampler, const PpoOptions& options);

  // The action for a batch: masks drawn from pi_old, and the rollout to keep. Returns the rollout;
  // masked/visible index lists sorted ascending. keep_graph (training, grad mode on): the forward
  // keeps its graph for update()'s first epoch (rollout.live); otherwise it runs without grad.
  PpoRollout act(const torch::Tensor& state, int64_t masked_count, at::Generator& gen, torch::Tensor* visible,
                 bool keep_graph = false);

  // K epochs of PPO on theta with raw rewards [B, M] (the MAE's detached errors on rollout.masked).
  PpoStats update(const PpoRollout& rollout, const torch::Tensor& raw_rewards);

  // bf16 autocast for the forward passes of update() (CUDA sessions in bf16); act() runs under
  // the caller's autocast.
  void set_autocast(bool on) { autocast_ = on; }
  // Data parallel: act() keys each clip's noise by its global row, update() uses the global
  // batch's reward statistics and advantages and averages theta's gradients over the group.
  void set_group(std::shared_ptr<Collective> group) { group_ = std::move(group); }

  TatsSampler& sampler() { return sampler_; }
  MaeOptimizer& optimizer() { return *optimizer_; }
  RewardNormalizer& reward_stats() { return rewards_; }
  // Whether update() replays its K epochs as a CUDA graph on `device` (CUDA, fused AdamW, no process
  // group, TATS_GRAPH not 0). act()'s graph is then not reused (the capture needs fixed inputs).
  bool graphed(const torch::Device& device) const;
  // Drops the captured update (after loading weights or moving the sampler).
  void reset_graph() { graph_state_ = {}; }
  // The PPO updates taken; restored from checkpoints.
  int64_t& updates() { return updates_; }
  const PpoOptions& options() const { return options_; }

 private:
  TatsSampler sampler_;
  PpoOptions options_;
  std::unique_ptr<MaeOptimizer> optimizer_;
  RewardNormalizer rewards_;
  PpoStats epochs_eager(const PpoRollout& rollout, const torch::Tensor& returns, const torch::Tensor& advantages);
  PpoStats epochs_graphed(const PpoRollout& rollout, const torch::Tensor& returns, const torch::Tensor& advantages);
  // The captured update and its fixed inputs/outputs (K epochs: ~1800 launches as one replay).
  struct GraphState {
    std::shared_ptr<StepGraph> graph;
    torch::Tensor state, masked, old_log_probs, returns, advantages, stats, adamw_rows;
  } graph_state_;
  bool autocast_ = false;
  int64_t updates_ = 0;
  std::shared_ptr<Collective> group_;
};

// The samplers' own AdamW: the MAE's optimiser class (same parameter groups: no weight decay on
// biases, 1-D tensors and pos_embed) at a constant learning rate, PyTorch's default betas
// (0.9, 0.999) and no gradient clipping. Its state exports as optim.<param>.{exp_avg,exp_avg_sq,step}.
std::unique_ptr<MaeOptimizer> make_sampler_optimizer(torch::nn::Module& module, double lr, double weight_decay);

}  // namespace tats::core
