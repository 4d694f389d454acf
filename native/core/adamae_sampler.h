// AdaMAE's adaptive token sampler (Bandara et al., CVPR 2023), the learned baseline.
//
//   x [B, N, C_mae] -> Linear(C_mae, C) (identity when C == C_mae, as in AdaMAE) + own learnable
//   position embedding (zero-initialised, as AdaMAE) -> one pre-LN transformer block (joint
//   space-time multi-head self-attention over all N tokens, MLP ratio 4) -> Linear(C, 1) ->
//   logits [B, N]; p = softmax(logits) (AdaMAE uses no temperature).
// Action: N_v = N - round(rho N) VISIBLE tokens drawn from p without replacement (Gumbel-top-k,
// the same distribution as torch.multinomial(p, N_v, replacement=False)); the rest are masked.
// Loss (REINFORCE, no baseline): L_s = -mean_b mean_{i in masked(b)} log p_i * sg(e_i), weighted
// by adamaeWeight (1e-4 in AdaMAE) and added to the MAE loss.
#pragma once
#include <torch/torch.h>

#include "core/tats_sampler.h"

namespace tats::core {

struct AdaMaeSamplerOptions {
  int64_t input_dim = 0;  // C_mae
  int64_t dim = 0;        // C
  int64_t heads = 0;
  int64_t tokens = 0;     // N
  int64_t mlp_ratio = 4;
};

class AdaMaeSamplerImpl : public torch::nn::Module {
 public:
  explicit AdaMaeSamplerImpl(const AdaMaeSamplerOptions& options);
  // Returns logits [B, N] (values undefined: no critic).
  SamplerOutput forward(const torch::Tensor& x);
  const AdaMaeSamplerOptions& options() const { return options_; }

  torch::nn::Linear embed{nullptr};  // null when dim == input_dim
  torch::Tensor pos_embed;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  torch::nn::Sequential mlp{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  AdaMaeSamplerOptions options_;
};
TORCH_MODULE(AdaMaeSampler);

// -mean_b mean_{i in masked(b)} log p_i * errors_i, p = softmax(logits). logits [B, N],
// masked [B, M], errors [B, M] (detached here).
torch::Tensor adamae_sampling_loss(const torch::Tensor& logits, const torch::Tensor& masked,
                                   const torch::Tensor& errors);

}  // namespace tats::core
