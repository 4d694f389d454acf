// TATS, the trajectory-aware token sampler g_theta (docs/tats.md: revision 2 of its formulation).
//
//   x [B, N, C_mae] (MAE tubelet embeddings, detached by the caller by default)
//   -> Linear(C_mae, C) + own learnable position embedding [1, N, C]
//   -> pre-LN residual block: h = z + TA(LN z) (trajectory attention, which also returns the
//      trajectory variance v), h = h + MLP(LN h)
//   -> features f = [LN_y(h), LN_v(v)] (2C per token)
//   -> actor MLP(f) -> logits l [B, N];  critic MLP(f) -> values V [B, N].
// The policy is a budgeted per-token Bernoulli: token i is masked with probability
// q_i = sigmoid(z_i), z_i = l_i / tau - c, the per-clip shift c solved so that sum_i q_i = k (the
// masked count); budget_logits computes z, core/budgeted_draw.h draws exactly k tokens with those
// marginals. The actor's last layer starts at zero, so the first policy is uniform (q_i = k / N)
// and the first masks are random. The critic's per-token outputs are averaged into V(s), a value
// of the state only; its last layer starts at zero too (V = 0 = the mean of normalised rewards).
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

// The per-clip shift c [B, 1] (fp64, no grad) with sum_i sigmoid(s_i - c) = k for scores s [B, N],
// 1 <= k < N: bisection, then Newton (static shapes, no host sync).
torch::Tensor budget_shift(const torch::Tensor& s, int64_t k);
// z = logits / tau - c [B, N] (fp32, or fp64 for fp64 logits), the policy's per-token log-odds
// with sum_i sigmoid(z_i) = k; differentiable in logits through c's implicit gradient.
torch::Tensor budget_logits(const torch::Tensor& logits, int64_t k, double temperature);

// Truncated-normal(0, std) init in [-2 std, 2 std], as timm's trunc_normal_ for ViT weights.
void trunc_normal_(torch::Tensor t, double std);

}  // namespace tats::core
