// PPO for the token sampler (docs/tats.md: revision 2 of the TATS formulation): one-step episodes
// (a contextual bandit), every token an action.
//
// Policy: q_i = sigmoid(z_i), z = l / tau - c with sum_i q_i = k (tats_sampler.h, budget_logits);
// exactly k tokens masked with marginals q (budgeted_draw.h).
// Rollout (no grad): the state x, the action a [B, N] (1 = masked), z_old, V_old(s).
// After the MAE step: raw rewards e_i (the MAE's detached per-token error) on the masked tokens.
// Update:
//   r~_i = (e_i - mu) / sqrt(sigma^2 + 1e-8), running statistics (RewardNormalizer)
//   A_i  = r~_i - V_old(s) on masked tokens, normalised over the batch's masked entries; 0 on
//          visible ones (they earn no reward; a per-clip constant would cancel anyway, since
//          sum_i (a_i - q_i) = k - k = 0)
//   V(s) = mean_i critic_i(x), a value of the state only, fitted to the clip's mean r~ over its
//          masked tokens
//   L = ppo_loss(z, z_old, a, A; eps, beta, rho) (kernels/ppo_loss.h: clipped surrogate of the
//       per-token Bernoulli ratios + beta KL(q || rho), rho = k / N) + c_v mean_b (V(s_b) - R_b)^2
// K epochs over the whole batch with the sampler's own AdamW (lr, warmup, gradient clipping).
// Early stop: an epoch whose forward measures KL(q_old || q_theta) > 1.5 targetKl skips its
// AdamW step and every later one, on the device (kernels/adamw.h scalars[4]; no host sync).
// The reported KL (telemetry only): with exact_kl, one more forward without grad after the epochs
// measures the update's exact KL; without, the last epoch's forward's KL, before its step.
// beta: constant, or log-linear from betaStart to beta over betaSteps updates (a curriculum from
// near-random masking to motion-centric).
// Graphed (set_graph, runtime.ppoGraph: CUDA, the fused AdamW, one process, beta constant from
// here on): the rewards' statistics and advantages run eagerly, then the K epochs (and the KL
// forward, with exact_kl) are one CUDA graph (StepGraph) over static copies of the rollout; AdamW takes one row of
// device scalars per epoch (MaeOptimizer::prepare_rows). The eager update runs the same code.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "core/optim.h"
#include "core/step_graph.h"
#include "core/tats_sampler.h"

namespace tats::core {

class Collective;

struct PpoOptions {
  int64_t epochs = 0;        // K
  double clip_eps = 0;       // eps
  double value_coef = 0;     // c_v
  double temperature = 0;    // tau
  double beta = 0;           // weight of KL(q || rho), after the curriculum
  double beta_start = 0;     // beta at update 0 (= beta: no curriculum)
  int64_t beta_steps = 0;    // updates of the log-linear curriculum (0: constant beta)
  double target_kl = 0;      // nats per token; early stop past 1.5x
  double lr = 0;             // the sampler's AdamW
  int64_t warmup_steps = 0;  // linear warmup of lr over the first updates
  double clip_grad = 0;      // max global gradient norm (0: none)
  double weight_decay = 0;   // on weight matrices only (not biases, norms, position embedding)
  bool legacy_adamw = false;  // the sampler's AdamW unfused (runtime.legacyAdamw, OptimConfig::legacy_adamw)
  bool exact_kl = false;      // PpoStats::kl from one more forward after the epochs (sampler.exactKl)
};

// beta for 0-based update t: beta_start * (beta / beta_start)^(t / beta_steps) while t < beta_steps,
// then beta.
double scheduled_beta(const PpoOptions& o, int64_t update);

// The loss terms of one PPO epoch: 0-dim tensors on the device (no host sync).
struct PpoLoss {
  torch::Tensor loss, policy_loss, prior, value_loss, clip_frac, kl, entropy;
};

// z [B, N] (current theta's log-odds, budget_logits), values [B, N] (per-token critic outputs,
// averaged into V(s)); z_old, action, advantages [B, N]; value_targets [B]. Float z: the
// ppo_loss kernel op in fp32; fp64 z: the same loss composed from libtorch ops (gradient checks).
PpoLoss ppo_loss(const torch::Tensor& z, const torch::Tensor& values, const torch::Tensor& z_old,
                 const torch::Tensor& action, const torch::Tensor& advantages, const torch::Tensor& value_targets,
                 double beta, double rho, const PpoOptions& options);

// Advantages [B, N]: (r~ - baseline) on the masked tokens (rewards [B, k] in the order of masked
// [B, k], baseline [B]), normalised over all masked entries (with a group: every rank's), 0 elsewhere.
torch::Tensor ppo_advantages(const torch::Tensor& rewards, const torch::Tensor& masked, const torch::Tensor& baseline,
                             int64_t tokens, Collective* group = nullptr);

// Running reward statistics: the first batch sets mu and sigma^2 to its own mean and (population)
// variance; every later batch moves them by an exponential moving average with momentum 0.9
// (mu <- 0.9 mu + 0.1 m_b, sigma^2 <- 0.9 sigma^2 + 0.1 (v_b + 0.9 (m_b - mu_old)^2)), so they
// follow the MAE's error as it falls with a horizon of ~10 steps, and each batch is normalised after
// its own update. On the device; with a group, the global batch's mean and variance.
class RewardNormalizer {
 public:
  static constexpr double kMomentum = 0.9;
  static constexpr double kEps = 1e-8;
  torch::Tensor update_and_normalize(const torch::Tensor& rewards, Collective* group = nullptr);
  torch::Tensor mean, var;  // 0-dim fp32, undefined before the first batch
  int64_t batches = 0;
};

// What the sampling step keeps for the update (all detached).
struct PpoRollout {
  torch::Tensor state;      // [B, N, C_mae] sampler input at sampling time
  torch::Tensor masked;     // [B, k] int64, ascending
  torch::Tensor action;     // [B, N] float, 1 = masked
  torch::Tensor z_old;      // [B, N] fp32 log-odds that drew the mask
  torch::Tensor value_old;  // [B] fp32 V_old(s), the advantage baseline
  // With keep_graph: act()'s forward with its autograd graph. theta does not change between act()
  // and update(), so PPO's first epoch reuses it instead of running the same forward again.
  SamplerOutput live;
};

// Per-update telemetry, 0-dim tensors on the device (read once at the step's end).
struct PpoStats {
  torch::Tensor loss;        // mean over the epochs taken
  torch::Tensor policy_loss, value_loss, clip_frac;  // means over the epochs taken
  torch::Tensor kl;          // exact KL(q_old || q_new) after the update, nats per token
  torch::Tensor entropy;     // Bernoulli entropy of the policy that drew the masks, nats per token
  torch::Tensor prior;       // KL(q_old || rho) of that policy, nats per token
  torch::Tensor epochs;      // PPO epochs whose step was taken (early stop)
  torch::Tensor reward;      // mean raw reward (masked-token error)
  double beta = 0;           // the beta of this update
};

class PpoTrainer {
 public:
  PpoTrainer(TatsSampler sampler, const PpoOptions& options, int64_t masked_count);

  // The action for a batch: exactly k masked tokens drawn with marginals q_old. keep_graph
  // (training, grad mode on): the forward keeps its graph for update()'s first epoch (rollout.live).
  PpoRollout act(const torch::Tensor& state, at::Generator& gen, torch::Tensor* visible, bool keep_graph = false);

  // K epochs of PPO on theta with raw rewards [B, k] (the MAE's detached errors on rollout.masked).
  PpoStats update(const PpoRollout& rollout, const torch::Tensor& raw_rewards);

  // bf16 autocast for the forward passes of update() (CUDA sessions in bf16); act() runs under
  // the caller's autocast.
  void set_autocast(bool on) { autocast_ = on; }
  // runtime.ppoGraph: update() captures its epochs once as a CUDA graph and replays them, where it
  // can (graph_possible()). Turning it off, or reset_graph(), drops a captured graph.
  void set_graph(bool on);
  bool graph_possible() const;
  // Whether the next update() runs graphed: graph_possible() and beta constant from that update on.
  bool graphs_next_update() const;
  // Drops the captured update and the AdamW scalar rows (after a load or a move: its buffers may
  // have been replaced, the rows may sit on the old device).
  void reset_graph() {
    graph_.reset();
    rows_ = torch::Tensor();
  }
  // Data parallel: act() keys each clip's noise by its global row, update() uses the global
  // batch's reward statistics and advantages and averages theta's gradients over the group.
  void set_group(std::shared_ptr<Collective> group) { group_ = std::move(group); }

  TatsSampler& sampler() { return sampler_; }
  MaeOptimizer& optimizer() { return *optimizer_; }
  RewardNormalizer& reward_stats() { return rewards_; }
  // The PPO updates taken; restored from checkpoints (it drives the lr warmup and beta's curriculum).
  int64_t& updates() { return updates_; }
  const PpoOptions& options() const { return options_; }
  int64_t masked_count() const { return masked_; }
  // The policy's log-odds for a state (budget_logits of the actor's logits).
  torch::Tensor log_odds(const SamplerOutput& out) const;

 private:
  TatsSampler sampler_;
  PpoOptions options_;
  int64_t masked_;
  double rho_;
  std::unique_ptr<MaeOptimizer> optimizer_;
  RewardNormalizer rewards_;
  bool autocast_ = false;
  int64_t updates_ = 0;
  std::shared_ptr<Collective> group_;
  bool graph_on_ = false;

  // One update's inputs to its epochs (the rollout's, or their static copies when graphed).
  struct EpochInputs {
    torch::Tensor state, z_old, action, advantages, targets;
    SamplerOutput live;  // eager only: act()'s forward for epoch 0
  };
  // The K epochs and the KL forward: the same code eager and captured. rows: fused AdamW's scalars,
  // one row per epoch (prepare_rows done); undefined: the legacy optimiser's step().
  PpoStats epochs(const EpochInputs& in, double beta, const torch::Tensor& rows);
  PpoStats epochs_graphed(const EpochInputs& in, double beta);
  struct GraphState {
    std::unique_ptr<StepGraph> graph;
    EpochInputs in;      // static copies of the update's inputs
    torch::Tensor stats;  // [8] fp32: the PpoStats the captured epochs write
  };
  std::unique_ptr<GraphState> graph_;
  // Fused AdamW: [K, 8] scalars, one row per epoch (prepare_rows), read by the eager epochs and by
  // the captured ones at this address; dropped with the graph (reset_graph) so a device move
  // allocates them anew.
  torch::Tensor rows_;
};

// The samplers' own AdamW: the MAE's optimiser class (same parameter groups: no weight decay on
// biases, 1-D tensors and pos_embed), PyTorch's default betas (0.9, 0.999), lr warmed up linearly
// over warmup_steps then constant, clipping at clip_grad (0: none); legacy_adamw as
// OptimConfig::legacy_adamw (runtime.legacyAdamw). Its state exports as
// optim.<param>.{exp_avg,exp_avg_sq,step}.
std::unique_ptr<MaeOptimizer> make_sampler_optimizer(torch::nn::Module& module, double lr, double weight_decay,
                                                     bool legacy_adamw, int64_t warmup_steps = 0,
                                                     double clip_grad = 0.0);

}  // namespace tats::core
