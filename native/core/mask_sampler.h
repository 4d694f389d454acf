// Where masks come from. A MaskSampler turns the MAE's patch embeddings into index lists of
// visible and masked tokens with fixed counts per clip (static shapes: no host sync, no boolean
// indexing). Fixed strategies (random, tube, frame; masking.h) ignore the embeddings (and are
// given none: reads_tokens); learned samplers (TATS, AdaMAE) read them and learn from the
// per-token reconstruction errors.
//
// To add a sampler: implement this interface in native/core/<name>_sampler.cpp and register a
// factory with register_mask_sampler("<name>", ...) from a static initialiser in that file.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"

namespace tats::core {

class Collective;  // core/distributed.h

struct MaskDraw {
  torch::Tensor visible;  // int64 [B, Nv], ascending per clip
  torch::Tensor masked;   // int64 [B, Nm], ascending per clip; visible ∪ masked = 0..N-1
  torch::Tensor policy;   // optional: float [B, N] per-token mask probabilities (learned samplers)
  std::map<std::string, torch::Tensor> aux;  // sampler-private data carried to update() (log-probs, values...)
};

// Scalar metrics a sampler reports after update(), as 0-d tensors (read once at the end of the
// step, together with the MAE's). Known names: entropy, clipFrac, approxKl, valueLoss, reward,
// samplerLoss.
using SamplerMetrics = std::map<std::string, torch::Tensor>;

class MaskSampler {
 public:
  virtual ~MaskSampler() = default;

  // tokens: the MAE's patch embeddings [B, N, C] before positions (detached unless the sampler's
  // config asks otherwise), on the session's device; an empty [B, N, 0] unless reads_tokens().
  // gen: the CPU generator to draw from.
  virtual MaskDraw sample(const torch::Tensor& tokens, int64_t batch, torch::Generator& gen) = 0;

  // After the MAE step: errors = the MAE's per-token reconstruction error for draw.masked,
  // [B, Nm], detached; errors_after = the same after the MAE's update (same clips and masks),
  // computed only when wants_errors_after(), undefined otherwise. Learned samplers train here;
  // fixed ones do nothing.
  virtual SamplerMetrics update(const MaskDraw& draw, const torch::Tensor& errors, const torch::Tensor& errors_after) {
    return {};
  }
  // Whether update() needs errors_after: one more MAE forward per step (TATS's progress reward).
  virtual bool wants_errors_after() const { return false; }

  // A loss term added to the MAE's loss before its backward (AdaMAE's REINFORCE term); undefined = none.
  virtual torch::Tensor joint_loss(const MaskDraw& draw, const torch::Tensor& errors) { return {}; }

  virtual bool learned() const { return false; }
  // Whether sample() reads the embeddings of every token (TATS and AdaMAE: their policies see all
  // N tokens). When it does not, the session passes an empty [B, N, 0] placeholder and the MAE
  // embeds only the visible patches (VideoMAE::forward): Nv/N of the patch embedding's work.
  virtual bool reads_tokens() const { return learned(); }
  // How a captured (CUDA graph) training step may hold this sampler (Session::use_graph).
  enum class Capture {
    kNone,    // not at all: the step runs eagerly
    kBefore,  // masks drawn eagerly before the captured MAE step and copied into it: the sampler
              // adds nothing to the MAE's loss and reads detached embeddings or none (fixed
              // strategies, TATS)
    kInside,  // sample() and joint_loss() captured with the step (AdaMAE: its loss backpropagates
              // through the draw's logits). Its noise comes from a device key that prepare_draw()
              // sets eagerly before each step, and update() reads only the draw's index lists and
              // its policy [B, N] float, which the session keeps in static buffers.
  };
  virtual Capture capture() const { return learned() ? Capture::kNone : Capture::kBefore; }
  // Eager, before each sample() of a sampler whose noise comes from a device key (kInside): the
  // key from `gen`. Such a sampler's sample() ignores its `gen`; the others draw there and do
  // nothing here.
  virtual void prepare_draw(torch::Generator& gen) {}

  // Extra state for checkpoints: weights (saved as sampler.<name>) and optimizer state (saved as
  // sampler_optim.<name>). Fixed strategies have none.
  virtual std::vector<std::pair<std::string, torch::Tensor>> weights() const { return {}; }
  virtual std::vector<std::pair<std::string, torch::Tensor>> optimizer_state() const { return {}; }
  // Restores what weights()/optimizer_state() exported (names without the prefix). Throws on a
  // shape mismatch; with strict, also on a missing or unknown name.
  virtual void load(const std::map<std::string, torch::Tensor>& weights,
                    const std::map<std::string, torch::Tensor>& optimizer_state, bool strict) {}
  virtual void train(bool on) {}
  virtual void to_device(const torch::Device& device) {}
  // Data parallel: every rank's weights <- rank 0's (learned samplers; once, after construction).
  virtual void broadcast_weights(Collective& group) {}
};

struct SamplerContext {
  const SessionConfig& config;
  TokenGrid grid;
  int64_t embed_dim;  // C of the tokens passed to sample()
  torch::Device device;
  // Data parallel: the group (null in a single process). sample() then draws the masks of this
  // rank's rows [rank * batch, (rank + 1) * batch) of the global batch, exactly as one process
  // would draw them for the whole global batch (the generator advances alike on every rank), and
  // learned samplers average their gradients and reward statistics over the group.
  std::shared_ptr<Collective> group;
};

using MaskSamplerFactory = std::function<std::unique_ptr<MaskSampler>(const SamplerContext&)>;

// Registers a strategy name; returns true so it can initialise a static.
bool register_mask_sampler(const std::string& name, MaskSamplerFactory factory);
// Builds the sampler for config.masking.strategy; throws listing the known names otherwise.
std::unique_ptr<MaskSampler> make_mask_sampler(const SamplerContext& ctx);
std::vector<std::string> mask_sampler_names();

}  // namespace tats::core
