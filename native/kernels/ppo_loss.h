// PPO loss of the budgeted per-token Bernoulli policy (docs/tats.md, TATS revision 2): every
// token of every clip is an action, masked (a = 1) with probability q = sigmoid(z) or visible
// (a = 0); log p(a) = a log q + (1 - a) log(1 - q). One-step episodes (a contextual bandit).
//
// Inputs: M = B*N elements each, fp32, contiguous (any logical shape, read flat):
//   z_new   the policy's log-odds now          z_old   the log-odds that drew the mask
//   action  1 masked, 0 visible                adv     advantages (0 for visible tokens: they earn no reward)
// Per element, with l(x) = log sigmoid(x), q = sigmoid(z):
//   logp = a l(z) + (1 - a) l(-z);  log_ratio = clamp(logp_new - logp_old, -20, 20);  ratio = exp(log_ratio)
//   s = min(ratio A, clamp(ratio, 1 - eps, 1 + eps) A)                  (ratios are bounded by 1 / p_old)
//   prior = KL(q_new || rho) = q (l(z) - log rho) + (1 - q) (l(-z) - log(1 - rho))   (rho = k / N, uniform masking)
//   kl    = KL(q_old || q_new) = q_o (l(z_o) - l(z)) + (1 - q_o) (l(-z_o) - l(-z))    (exact, per token)
//   H     = -(q l(z) + (1 - q) l(-z))
// Outputs, stats fp32 [6]:
//   [0] loss = policy + beta * prior     [1] policy = -mean(s)     [2] prior = mean(prior)
//   [3] clip_frac = mean(|ratio - 1| > eps)   [4] kl = mean(kl)   [5] entropy = mean(H)   (nats per token)
// Backward of loss, scaled by g (device pointer; null = 1):
//   d z_new = g/M [ -(s == ratio A ? ratio A : 0) (a - q) + beta q (1 - q) (z - logit rho) ]
// (d logp/dz = a - q; d prior/dz = q (1 - q) (z - logit rho)). Preconditions: M >= 1, eps >= 0,
// 0 < rho < 1, beta >= 0.
#pragma once
#include <cstdint>

namespace tats::kernels {

// |log ratio| beyond this is saturated (no gradient): only reachable for a token whose old
// probability of the action taken was below e^-20, which the draw practically never takes.
constexpr float kPpoMaxLogRatio = 20.0f;
constexpr int kPpoStats = 6;

struct PpoLossShape {
  int64_t count;  // M
  float clip_eps, beta, rho;
};

void ppo_loss_cpu(const float* z_new, const float* z_old, const float* action, const float* adv, float* stats,
                  const PpoLossShape& s);
void ppo_loss_backward_cpu(const float* z_new, const float* z_old, const float* action, const float* adv,
                           const float* g_total, float* d_z_new, const PpoLossShape& s);

#ifdef TATS_WITH_CUDA
// Forward: one block reduces the six sums in a fixed order (deterministic; M = B*N is tens of
// thousands). Backward: one thread per element.
void ppo_loss_cuda(const float* z_new, const float* z_old, const float* action, const float* adv, float* stats,
                   const PpoLossShape& s, void* stream);
void ppo_loss_backward_cuda(const float* z_new, const float* z_old, const float* action, const float* adv,
                            const float* g_total, float* d_z_new, const PpoLossShape& s, void* stream);
#endif

}  // namespace tats::kernels
