// VideoMAE's reconstruction loss on the masked tokens. The target is patchify's normalised-pixel
// output (per tubelet and channel, unbiased std, eps 1e-6), gathered at the masked tokens.
#pragma once
#include <torch/torch.h>

namespace tats::core {

struct MaeLoss {
  torch::Tensor loss;    // 0-d fp32: mean of `errors` (= MSE over every masked value)
  torch::Tensor errors;  // [B, Nm] fp32, detached: per-token MSE over its 3*tt*p*p values
};

// pred: [B, Nm, P] (any float dtype); targets: all tokens' targets [B, N, P] fp32;
// masked: int64 [B, Nm] (the order of pred's rows).
MaeLoss mae_loss(const torch::Tensor& pred, const torch::Tensor& targets, const torch::Tensor& masked);

}  // namespace tats::core
