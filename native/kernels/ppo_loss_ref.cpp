// CPU reference for ppo_loss.h: one loop, sums in double.
#include <algorithm>
#include <cmath>

#include "kernels/ppo_loss.h"

namespace tats::kernels {

void ppo_loss_cpu(const float* logp_new, const float* logp_old, const float* adv, const float* value,
                  const float* ret, float* stats, const PpoLossShape& s) {
  const int64_t M = s.count;
  const float eps = s.clip_eps;
  double surr = 0, vl = 0, clipped = 0, kl = 0;
  for (int64_t i = 0; i < M; ++i) {
    const float log_ratio = logp_new[i] - logp_old[i];
    const float ratio = std::exp(log_ratio);
    const float s1 = ratio * adv[i];
    const float s2 = std::min(std::max(ratio, 1.0f - eps), 1.0f + eps) * adv[i];
    const float s = std::min(s1, s2);
    surr += adv[i] < 0.0f ? std::max(s, kDualClip * adv[i]) : s;
    const double dv = double(value[i]) - ret[i];
    vl += dv * dv;
    clipped += std::fabs(ratio - 1.0f) > eps ? 1.0 : 0.0;
    kl += (double(ratio) - 1.0) - log_ratio;
  }
  const double policy = -surr / M, value_loss = vl / M;
  stats[0] = static_cast<float>(policy + s.value_coef * value_loss);
  stats[1] = static_cast<float>(policy);
  stats[2] = static_cast<float>(value_loss);
  stats[3] = static_cast<float>(clipped / M);
  stats[4] = static_cast<float>(kl / M);
}

void ppo_loss_backward_cpu(const float* logp_new, const float* logp_old, const float* adv, const float* value,
                           const float* ret, const float* g_total, float* d_logp_new, float* d_value,
                           const PpoLossShape& s) {
  const int64_t M = s.count;
  const float eps = s.clip_eps;
  const double g = g_total ? *g_total : 1.0;
  for (int64_t i = 0; i < M; ++i) {
    const float ratio = std::exp(logp_new[i] - logp_old[i]);
    const float s1 = ratio * adv[i];
    const float s2 = std::min(std::max(ratio, 1.0f - eps), 1.0f + eps) * adv[i];
    const bool dual = adv[i] < 0.0f && kDualClip * adv[i] > s1;  // the bound kDualClip * A is constant
    if (d_logp_new) d_logp_new[i] = static_cast<float>(s1 <= s2 && !dual ? -g * s1 / M : 0.0);  // d(ratio*A)/dlogp = ratio*A
    if (d_value) d_value[i] = static_cast<float>(g * s.value_coef * 2.0 * (double(value[i]) - ret[i]) / M);
  }
}

}  // namespace tats::kernels
