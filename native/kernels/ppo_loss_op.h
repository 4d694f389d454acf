// Tensor-level PPO loss of the budgeted per-token Bernoulli policy (see ppo_loss.h), with its
// telemetry: exact per-token KL between old and new policy, entropy, KL to uniform masking.
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

struct PpoLossParams {
  double clip_eps = 0.2;
  double beta = 0;  // weight of KL(q || rho)
  double rho = 0;   // the uniform masking rate k / N, in (0, 1)
};

struct PpoLoss {
  torch::Tensor loss;       // fp32 0-dim: policy + beta * prior (differentiable in z_new)
  torch::Tensor policy;     // the rest fp32 0-dim, detached: -mean(min(ratio A, clip(ratio) A))
  torch::Tensor prior;      // mean KL(q_new || rho), nats per token
  torch::Tensor clip_frac;  // share of |ratio - 1| > eps
  torch::Tensor kl;         // mean KL(q_old || q_new), nats per token (exact)
  torch::Tensor entropy;    // mean Bernoulli entropy of q_new, nats per token
};

// z_new, z_old, action, advantages: float32, one shape (e.g. [B, N]), one device (CPU or CUDA).
// z_old, action and advantages are data (no gradient); loss is differentiable w.r.t. z_new
// (autograd). No host sync on CUDA.
PpoLoss ppo_loss(const torch::Tensor& z_new, const torch::Tensor& z_old, const torch::Tensor& action,
                 const torch::Tensor& advantages, const PpoLossParams& p);

// The backward on its own: d z_new for an upstream gradient g_total (0-dim, undefined = 1).
torch::Tensor ppo_loss_backward(const torch::Tensor& z_new, const torch::Tensor& z_old, const torch::Tensor& action,
                                const torch::Tensor& advantages, const torch::Tensor& g_total,
                                const PpoLossParams& p);

// The same loss and telemetry composed from libtorch ops in z's dtype (fp64 for gradient checks),
// differentiated by autograd: the formulation the kernel is checked against.
PpoLoss ppo_loss_composed(const torch::Tensor& z_new, const torch::Tensor& z_old, const torch::Tensor& action,
                          const torch::Tensor& advantages, const PpoLossParams& p);

std::vector<ParityReport> ppo_loss_parity(uint64_t seed);  // GPU kernel vs CPU reference
std::vector<ParityReport> ppo_loss_check(uint64_t seed);   // CPU reference vs composed libtorch + autograd (fp64)

}  // namespace tats::ops
