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

class Collective;

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

// Two implementations behind one interface:
// - fused (default): the parameters are moved into one flat fp32 buffer (decay group first), their
//   .grad are views of one flat gradient buffer that backward accumulates into, and one clip-norm
//   pass plus one AdamW pass (kernels/adamw) update everything: 3 launches instead of ~10 per
//   parameter, nothing read on the host, capturable in a CUDA graph (prepare() outside, apply()
//   inside). The parameters stay the same tensors (set_data onto views); build the optimiser after
//   the model has reached its device and never move the model afterwards.
// - legacy (OptimConfig::legacy_adamw, the config field runtime.legacyAdamw, for before/after
//   timings; also taken when the parameters are not all fp32 on one device): torch::optim::AdamW
//   and per-parameter clipping.
class MaeOptimizer {
 public:
  MaeOptimizer(const std::vector<std::pair<std::string, torch::Tensor>>& named, const OptimConfig& cfg);

  // Sets the scheduled lr for `step` on both groups, then clips and steps. Returns {lr, gradNorm}.
  // = prepare(step) then apply().
  std::pair<double, torch::Tensor> step(int64_t step);
  // The two halves of step(), so that a training step can prepare before its forward and apply
  // after its backward. prepare: the step's lr; fused, also its scalars (lr, bias corrections) onto
  // the device (a launch whose values are its arguments: keep it outside a captured graph); legacy,
  // the lr onto both groups. Returns lr. apply: clip norm + AdamW; fused, from those scalars with no
  // host values (capturable), returning the 0-d norm tensor (a view of the scalars buffer: read it
  // before the next step); legacy, torch::optim::AdamW's step (not capturable).
  double prepare(int64_t step);
  torch::Tensor apply();
  // Fused only, for a graph that takes K optimiser steps (TATS's PPO epochs): rows [K, 8] on the
  // device (scalar_rows(K)) get what K consecutive prepare(step) calls would set, row k for the
  // k-th (each call advances the bias-correction count); apply(rows[k]) then steps with row k.
  torch::Tensor scalar_rows(int64_t k) const;
  double prepare_rows(int64_t step, const torch::Tensor& rows);
  torch::Tensor apply(const torch::Tensor& scalars);
  // fused: zeroes the flat gradient buffer (the .grad views stay); legacy: drops the gradients.
  void zero_grad();
  // Skips the following steps while `flag` (0-dim, nonzero = skip) is nonzero: the parameters and
  // moments stay as they are (the bias-correction count still advances). Fused: the flag is copied
  // into the AdamW scalars on the device (kernels/adamw.h, scalars[4]; no host sync); legacy: it is
  // read on the host at step(). PPO's early stop on KL sets it; an undefined flag clears it.
  void set_skip(const torch::Tensor& flag);
  // Fused only: the same flag written into one row of scalar_rows() (a device copy, capturable).
  void set_skip(const torch::Tensor& flag, const torch::Tensor& row) const;
  bool fused() const { return fused_; }
  // Data parallel: every gradient <- its mean over the group's ranks (the loss is a mean over the
  // batch, so the mean of the ranks' gradients is the gradient of the global batch). Fused: one
  // all-reduce of the flat buffer; legacy: one per parameter. Call between backward and step.
  void all_reduce_grads(Collective& group);
  // Every rank's parameters <- rank 0's (one broadcast of the flat buffer when fused).
  void broadcast_params(Collective& group);
  // Follows a module that was moved with Module::to(device) after this optimiser was built: moves
  // the flat buffers and re-binds every parameter and gradient to views of them (the fused layout
  // would otherwise leave CPU gradient views behind CUDA parameters). No-op for the legacy path.
  void to_device(const torch::Device& device);

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
  bool fused_ = true;
  // legacy
  std::unique_ptr<torch::optim::AdamW> adamw_;
  // fused: flat buffers, each parameter's [offset, offset + numel) (offsets 16-byte aligned)
  torch::Tensor flat_param_, flat_grad_, exp_avg_, exp_avg_sq_, scalars_, workspace_;
  std::vector<int64_t> offsets_;
  int64_t decay_numel_ = 0;
  torch::Tensor skip_;    // legacy: the flag set_skip() gave
  int64_t updates_ = 0;  // AdamW steps taken (the "step" of every parameter's state)
};

}  // namespace tats::core
