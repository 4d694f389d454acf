// TATS, the trajectory-aware token sampler g_theta (DESIGN.md, "TATS (g_theta)").
//
//   x [B, N, C_mae] (MAE tubelet embeddings, detached by the caller by default)
//   -> Linear(C_mae, C) + own learnable position embedding [1, N, C]
//   -> pre-LN residual block: h = z + TA(LN z) (trajectory attention, which also returns the
//      trajectory variance v), h = h + MLP(LN h)
//   -> features f = [LN_y(h), LN_v(v)] (2C per token)
//   -> actor MLP(f) -> logits l [B, N];  critic MLP(f) -> values V [B, N].
// The policy is pi = softmax(l / tau) over the N tokens of a clip (tau applied by the caller,
// see policy_log_probs). The actor's last layer starts at zero, so the first policy is uniform
// and the first masks are random; the critic's last layer starts at zero too (V = 0 = the mean of
// normalised rewards).
#pragma once
#include <torch/torch.h>

#include "core/trajectory_attention.h"

namespace tats::core {

struct TatsSamplerOptions {
  int64_t input_dim = 0;  // C_mae, the MAE encoder width
  int64_t dim = 0;        // C, the sampler width
  int64_t heads = 0;
  int64_t tokens = 0;     // N = T * S
  int64_t frames = 0;     // T, temporal token slots (frames / tubelet)
  int64_t mlp_ratio = 4;
};

struct SamplerOutput {
  torch::Tensor logits;  // [B, N], before the temperature
  torch::Tensor values;  // [B, N] (undefined for samplers without a critic)
};

class TatsSamplerImpl : public torch::nn::Module {
 public:
  explicit TatsSamplerImpl(const TatsSamplerOptions& options);
  SamplerOutput forward(const torch::Tensor& x);
  const TatsSamplerOptions& options() const { return options_; }

  torch::nn::Linear embed{nullptr};
  torch::Tensor pos_embed;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm_y{nullptr}, norm_v{nullptr};
  TrajectoryAttention attn{nullptr};
  torch::nn::Sequential mlp{nullptr}, actor{nullptr}, critic{nullptr};

 private:
  TatsSamplerOptions options_;
};
TORCH_MODULE(TatsSampler);

// log pi = log_softmax(logits / tau) over the last dim.
torch::Tensor policy_log_probs(const torch::Tensor& logits, double temperature);

// Truncated-normal(0, std) init in [-2 std, 2 std], as timm's trunc_normal_ for ViT weights.
void trunc_normal_(torch::Tensor t, double std);

}  // namespace tats::core
