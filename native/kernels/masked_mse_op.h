// Tensor-level masked MSE (see masked_mse.h): the MAE loss over masked tokens with the per-token
// errors (the sampler's reward), fused with the gather of the masked targets.
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

struct MaskedMse {
  torch::Tensor loss;  // fp32 scalar (0-dim): mean of err
  torch::Tensor err;   // fp32 [B, Nm]: mean over P of the squared error of each masked token
};

// pred: [B, Nm, P] float32 or bfloat16 (bf16 computed in fp32); target: float32 [B, N, P];
// masked: int64 [B, Nm] (token of each pred row, in [0, N)). All on one device (CPU or CUDA).
// Differentiable w.r.t. pred through both outputs (autograd); target and masked get no gradient.
// Callers that use err as a reward should detach it.
MaskedMse masked_mse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& masked);

// The backward on its own: d pred (dtype of pred) for upstream grads g_loss (0-dim, may be
// undefined) and g_err ([B, Nm], may be undefined).
torch::Tensor masked_mse_backward(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& masked,
                                  const torch::Tensor& g_loss, const torch::Tensor& g_err);

std::vector<ParityReport> masked_mse_parity(uint64_t seed);  // GPU kernel vs CPU reference
std::vector<ParityReport> masked_mse_check(uint64_t seed);   // CPU reference vs composed libtorch + autograd

}  // namespace tats::ops
