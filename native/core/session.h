// A training session: the VideoMAE model, its optimiser, the mask sampler and the generators,
// built once from a resolved SessionConfig. One step = patchify -> [embed all tokens, for a
// sampler that reads them] -> draw masks -> encoder on visible tokens (embedding only the visible
// patches when nothing embedded them all) -> decoder -> loss on masked tokens -> backward -> AdamW -> sampler
// update, with a single host sync at the end (the metrics). That step is one function in three
// phases (train_step.cpp); where runtime.graph allows it (on by default: CUDA, a fixed strategy or TATS),
// its middle phase is captured once as a CUDA graph and replayed. Not thread-safe: callers serialise.
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

  // One training step, in three phases that train_step runs one after the other, or hands to
  // StepGraph::run when use_graph(): then mae_step is what gets captured and replayed, and the
  // step's tensors are the graph's static buffers (graph_io_). There is no second copy of the step.
  struct StepIO {
    torch::Tensor clips;  // uint8 [B, T, H, W, 3] on the device
    // Eager: undefined until mae_step draws the masks from the step's own embeddings. Graphed:
    // drawn by begin_step, the index lists copied into static buffers (Capture::kBefore), or drawn
    // by the captured mae_step and copied there (kInside: index lists and policy).
    MaskDraw draw;
    bool drawn = false;  // the masks were drawn before mae_step (graphed, kBefore)
    torch::Tensor loss, grad_norm, errors, errors_after;  // mae_step's outputs (errors_after: see below)
    double lr = 0;                                        // the optimiser's rate for this step
  };
  // The graph's static inputs and outputs (fixed shapes and addresses), allocated with the graph.
  StepIO graph_buffers(int64_t batch) const;
  // Eager, every step: the clips onto the device (graphed: always through the staging upload, the
  // graph reads its fixed buffer); graphed: the masks drawn and copied into the static buffers
  // (kBefore) or the sampler's noise key set (kInside); then the optimiser's host-valued scalars
  // for this step (MaeOptimizer::prepare).
  StepIO begin_step(const torch::Tensor& clips, bool graphed);
  // The step itself: patchify -> (eager: sampler_tokens, draw the masks) -> encoder/decoder
  // (VideoMAE::forward) -> loss (+ the sampler's joint loss) -> backward -> [all-reduce] -> AdamW (MaeOptimizer::apply) -> zero_grad ->
  // errors after the update. Reads and writes only io's tensors; outputs already defined in io (the
  // graph's static buffers) are written in place, otherwise io takes the step's own tensors.
  // capturable: autocast's weight-cast cache off (required while capturing).
  void mae_step(StepIO& io, bool capturable);
  // Eager, every step: the sampler's update on the step's errors, the metrics' one host sync,
  // the step count, TATS_STEP_TIMING's print.
  StepMetrics end_step(const StepIO& io, const torch::Tensor& motion, bool stop,
                       std::chrono::steady_clock::time_point t0, bool graphed);
  // The step runs as a CUDA graph when runtime.graph is set (lib/config's default: on) and the
  // step allows it: a sampler that can be captured (MaskSampler::capture: fixed strategies and TATS
  // draw before the step, AdaMAE inside it), the fused AdamW, CUDA, libtorch >= 2, a single
  // process. Otherwise eagerly.
  bool use_graph() const;
  // The MAE's per-token errors on the same clips and masks after its update: undefined unless the
  // sampler wants them (TATS's progress reward); one more forward, no graph kept.
  torch::Tensor errors_after_update(const ops::Patchified& pt, const torch::Tensor& visible, const torch::Tensor& masked,
                                    bool capturable);
  // The patch embeddings of every token [B, N, D] when the sampler reads them
  // (MaskSampler::reads_tokens: TATS, AdaMAE), else undefined: VideoMAE::forward then embeds only
  // the visible patches.
  torch::Tensor sampler_tokens(const torch::Tensor& patches);
  // The sampler's draw from `tokens` (sampler_tokens; detached per sampler.detachInput), or from
  // an empty [B, N, 0] placeholder when they are undefined. key_ready: a captured step's
  // begin_step already set the sampler's noise key (MaskSampler::prepare_draw); otherwise it is set
  // here from `gen`.
  MaskDraw draw_masks(const torch::Tensor& tokens, int64_t batch, torch::Generator& gen, bool key_ready = false);
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
  StepIO graph_io_;                // the graph's static buffers (graph_buffers)
};

}  // namespace tats::core
