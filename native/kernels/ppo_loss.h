// PPO clipped-surrogate + value loss over the selected (masked) tokens, one-step episodes.
//
// Inputs: M = B*Nm elements each, fp32, contiguous (any logical shape, read flat):
//   logp_new  log pi_theta(i) now            logp_old  log pi_old(i) at sampling time
//   adv       advantages A_i (normalised by the caller)
//   value     V_theta(i) now                 ret       returns R_i (the normalised rewards)
// Per element: ratio = exp(logp_new - logp_old); s1 = ratio*A; s2 = clamp(ratio, 1-eps, 1+eps)*A;
// s = min(s1, s2), and for A < 0 s = max(s, kDualClip * A) (dual-clip PPO, Ye et al. 2020): with
// 75-90% of the tokens masked, most masked tokens have a vanishing pi_old, their ratio can grow by
// e^20 in one update, and plain PPO keeps ratio * A for a negative A: an unbounded loss that blew
// the sampler up within 100 steps (docs/finetune.md, "Known problem").
// Outputs, stats fp32 [5]:
//   [0] total     = policy + value_coef * value_loss
//   [1] policy    = -mean(s)
//   [2] value_loss = mean((value - ret)^2)
//   [3] clip_frac = mean(|ratio - 1| > eps)
//   [4] approx_kl = mean((ratio - 1) - (logp_new - logp_old))   (the k3 estimator: >= 0, low variance)
// Backward of total, scaled by g_total (device pointer; null = 1):
//   d logp_new = -g/M * (s == s1 ? A*ratio : 0)   (where the clamp or the dual clip is active: no gradient)
//   d value    =  g * value_coef * 2 (value - ret) / M
// (The entropy bonus stays in libtorch.) Preconditions: M >= 1, eps >= 0.
#pragma once
#include <cstdint>

namespace tats::kernels {

// Dual-clip bound for negative advantages: the policy term never goes below kDualClip * A.
constexpr float kDualClip = 3.0f;

struct PpoLossShape {
  int64_t count;  // M
  float clip_eps, value_coef;
};

void ppo_loss_cpu(const float* logp_new, const float* logp_old, const float* adv, const float* value,
                  const float* ret, float* stats, const PpoLossShape& s);
void ppo_loss_backward_cpu(const float* logp_new, const float* logp_old, const float* adv, const float* value,
                           const float* ret, const float* g_total, float* d_logp_new, float* d_value,
                           const PpoLossShape& s);

#ifdef TATS_WITH_CUDA
// Forward: one block reduces the four sums in a fixed order (M is a few thousand per batch).
// Backward: elementwise. Either gradient output may be null.
void ppo_loss_cuda(const float* logp_new, const float* logp_old, const float* adv, const float* value,
                   const float* ret, float* stats, const PpoLossShape& s, void* stream);
void ppo_loss_backward_cuda(const float* logp_new, const float* logp_old, const float* adv, const float* value,
                            const float* ret, const float* g_total, float* d_logp_new, float* d_value,
                            const PpoLossShape& s, void* stream);
#endif

}  // namespace tats::kernels
