// The MAE's optimiser, VideoMAE's recipe: AdamW with two parameter groups (weight decay on
// matrices only; none on biases, 1-D parameters such as norms and q/v biases, or the mask
// token), a per-step learning rate (linear warmup, then cosine to minLr), and clipping by the
// global gradient norm, all without host syncs.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "core/config.h"

namespace tats::core {

// Learning rate for 0-based step s:
//   s < warmup:  lr * (s + 1) / warmup
//   otherwise:   minLr + (lr - minLr) * (1 + cos(pi * min(s - warmup, T - warmup) / (T - warmup))) / 2,
//                T = totalSteps (after T the rate stays at minLr).
double scheduled_lr(const OptimConfig& cfg, int64_t step);

// VideoMAE's get_parameter_groups rule: no weight decay for 1-D tensors, names ending in
// ".bias", and the skip list (mask_token, pos_embed, cls_token).
bool decays(const std::string& name, const torch::Tensor& param);

// Clips gradients to max_norm (0 = no clipping) and returns the global L2 norm before clipping as
// a 0-d fp32 tensor on the parameters' device (no .item()).
torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

class MaeOptimizer {
 public:
  MaeOptimizer(const std::vector<std::pair<std::string, torch::Tensor>>& named, const OptimConfig& cfg);

  // Sets the scheduled lr for `step` on both groups, then clips and steps. Returns {lr, gradNorm}.
  std::pair<double, torch::Tensor> step(int64_t step);
  void zero_grad();

  // optim.<param>.exp_avg / .exp_avg_sq (fp32) and .step (int64 0-d), for parameters that have state.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  // Restores state(); strict: every parameter's three entries must be present (when any is).
  void load(const std::map<std::string, torch::Tensor>& entries, bool strict);

 private:
  torch::optim::OptimizerParamState* find_state(const torch::Tensor& param) const;
  void set_state(const torch::Tensor& param, std::unique_ptr<torch::optim::AdamWParamState> state);

  OptimConfig cfg_;
  std::vector<std::pair<std::string, torch::Tensor>> named_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::AdamW> adamw_;
};

}  // namespace tats::core
