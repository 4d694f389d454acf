// Tensor-level PPO loss (see ppo_loss.h): clipped surrogate + value loss with the telemetry.
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

struct PpoLoss {
  torch::Tensor loss;       // fp32 0-dim: policy + value_coef * value_loss (differentiable)
  torch::Tensor policy;     // fp32 0-dim, detached: -mean(min(ratio*A, clip(ratio)*A))
  torch::Tensor value;      // fp32 0-dim, detached: mean((V - R)^2)
  torch::Tensor clip_frac;  // fp32 0-dim, detached: share of |ratio - 1| > eps
  torch::Tensor approx_kl;  // fp32 0-dim, detached: mean((ratio - 1) - log ratio)
};

// All five tensors float32, the same shape (e.g. [B, Nm]), one device (CPU or CUDA).
// logp_old, advantages and returns are data (no gradient); loss is differentiable w.r.t.
// logp_new and value_new (autograd). No host sync on CUDA.
PpoLoss ppo_loss(const torch::Tensor& logp_new, const torch::Tensor& logp_old, const torch::Tensor& advantages,
                 const torch::Tensor& value_new, const torch::Tensor& returns, double clip_eps, double value_coef);

// The backward on its own: {d logp_new, d value_new} for an upstream gradient g_total (0-dim,
// undefined = 1).
std::pair<torch::Tensor, torch::Tensor> ppo_loss_backward(const torch::Tensor& logp_new, const torch::Tensor& logp_old,
                                                          const torch::Tensor& advantages,
                                                          const torch::Tensor& value_new,
                                                          const torch::Tensor& returns, const torch::Tensor& g_total,
                                                          double clip_eps, double value_coef);

std::vector<ParityReport> ppo_loss_parity(uint64_t seed);  // GPU kernel vs CPU reference
std::vector<ParityReport> ppo_loss_check(uint64_t seed);   // CPU reference vs composed libtorch + autograd

}  // namespace tats::ops
