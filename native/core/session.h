// A training session: the VideoMAE model, its optimiser, the mask sampler and the generators,
// built once from a resolved SessionConfig. One step = patchify -> embed -> draw masks ->
// encoder on visible tokens -> decoder -> loss on masked tokens -> backward -> AdamW -> sampler
// update, with a single host sync at the end (the metrics). Not thread-safe: callers serialise.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/distributed.h"
#include "core/mask_sampler.h"
#include "core/optim.h"
#include "core/step_buffers.h"
#include "core/step_graph.h"
#include "core/videomae.h"
#include "kernels/patchify_op.h"

namespace tats::core {

struct StepMetrics {
  int64_t step = 0;  // steps taken, this one included
  double loss = 0, lr = 0, grad_norm = 0, step_ms = 0;
  // Learned samplers: entropy, clipFrac, approxKl, valueLoss, reward, samplerLoss.
  // With a motion map: maskedMovingShare (share of masked tokens that move), movingShare
  // (share of all tokens that move).
  std::map<std::string, double> extra;
};

struct EvalMetrics {
  double loss = 0;
  std::map<std::string, double> extra;  // maskedMovingShare, movingShare with a motion map
};

struct Reconstruction {
  torch::Tensor pred, target;  // fp32 CPU [B, Nm, P], masked tokens in ascending token order
  torch::Tensor mask;          // uint8 CPU [B, N], 1 = masked
  torch::Tensor policy;        // fp32 CPU [B, N] when the sampler has a policy, else undefined
  int64_t masked_per_clip = 0, tokens = 0, values_per_token = 0;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

class Session {
 public:
  explicit Session(const SessionConfig& config);

  // clips: uint8 [B, T, H, W, 3] on the CPU (B = batchSize); motion: optional uint8 [B, N]
  // (undefined tensor = none). Data parallel: B is this rank's share of the global batch; the
  // gradients are averaged over the ranks before the update, and the returned metrics are means
  // over the ranks (the same on every rank). stop: this rank asks the run to stop after this
  // step; extra["stopRequested"] > 0 then on every rank (data parallel only), so that all ranks
  // stop after the same step.
  StepMetrics train_step(const torch::Tensor& clips, const torch::Tensor& motion, bool stop = false);
  // Loss without an update; masks come from the evaluation generator (rng.eval), so evaluating
  // never changes the training draws.
  EvalMetrics eval_step(const torch::Tensor& clips, const torch::Tensor& motion);
  // mask: optional uint8 [B, N], 1 = masked, same count per clip; without it the sampler draws
  // (from the evaluation generator).
  Reconstruction reconstruct(const torch::Tensor& clips, const torch::Tensor& mask);

  // Everything needed to resume, as CPU tensors (the names: docs/architecture.md, "Checkpoints"): model weights
  // (VideoMAE names), sampler.*, optim.*, sampler_optim.*, rng.cpu, rng.eval, state.step.
  // The tensors may share memory with the live ones: copy them before the next step.
  NamedTensors state_dict() const;
  // strict: every model weight must be present and every name known.
  void load_state_dict(const std::map<std::string, torch::Tensor>& entries, bool strict);

  int64_t step() const { return step_; }
  const SessionConfig& config() const { return cfg_; }
  const TokenGrid& grid() const { return grid_; }
  VideoMAE& model() { return model_; }
  NamedTensors model_parameters() const;

 private:
  torch::Tensor to_device_clips(const torch::Tensor& clips) const;
  // The training step as one CUDA graph when runtime.graph is set (lib/config's default: on) and
  // the step allows it (a fixed strategy, the fused AdamW, CUDA, libtorch >= 2, a single process);
  // otherwise the eager step. Masks drawn on the host as in the eager step and copied into static
  // index buffers, clips uploaded into the static clip buffer (always staged: the graph reads a
  // fixed buffer), then one replay.
  bool use_graph() const;
  StepMetrics train_step_graphed(const torch::Tensor& clips, const torch::Tensor& motion);
  // The MAE's per-token errors on the same clips and masks after its update: undefined unless the
  // sampler wants them (TATS's progress reward); one more forward, no graph kept.
  torch::Tensor errors_after_update(const ops::Patchified& pt, const torch::Tensor& visible, const torch::Tensor& masked);
  // Both step paths' end: counts the step, prints the step's times (TATS_STEP_TIMING), builds the metrics from the
  // host values read for `names` (loss, gradNorm, then the extras).
  StepMetrics finish_step(std::chrono::steady_clock::time_point t0, double issued_ms, double lr,
                          const std::vector<std::string>& names, const std::vector<double>& host, bool graphed);
  // Data parallel: the step's scalars averaged over the ranks (one all-reduce), plus the stop flag.
  void reduce_metrics(std::vector<std::string>& names, std::vector<torch::Tensor>& values, bool stop);
  void check_clips(const torch::Tensor& clips, const char* where) const;
  void check_motion(const torch::Tensor& motion, int64_t batch, const char* where) const;

  SessionConfig cfg_;
  TokenGrid grid_;
  torch::Device device_;
  std::shared_ptr<Collective> group_;  // data parallel: the process-wide group; null otherwise
  bool autocast_ = false;  // bf16 autocast (CUDA + precision bf16)
  torch::ScalarType patch_dtype_ = torch::kFloat;
  VideoMAE model_{nullptr};
  std::unique_ptr<MaeOptimizer> optimizer_;
  std::unique_ptr<MaskSampler> sampler_;
  torch::Generator gen_;       // training mask draws
  torch::Generator eval_gen_;  // evaluation / reconstruction draws
  int64_t step_ = 0;
  // Speed paths of train_step (step_buffers.h, step_graph.h).
  ClipUpload upload_;
  std::shared_ptr<StepGraph> graph_;
  torch::Tensor g_visible_, g_masked_, g_loss_, g_norm_, g_errors_, g_dummy_tokens_;  // the graph's static inputs/outputs
};

}  // namespace tats::core
