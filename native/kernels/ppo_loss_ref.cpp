// CPU reference for ppo_loss.h: one loop over the tokens, per-token terms in float as the kernel
// computes them, sums in double.
#include <algorithm>
#include <cmath>

#include "kernels/ppo_loss.h"

namespace tats::kernels {

namespace {

// log sigmoid(x) without overflow: min(x, 0) - log1p(exp(-|x|)).
float log_sigmoid(float x) { return std::fmin(x, 0.f) - std::log1p(std::exp(-std::fabs(x))); }

struct Token {
  float q, lq, l1q, ratio, s1, s2;
  bool clipped, saturated;
};

Token token(float z_new, float z_old, float a, float adv, float eps) {
  Token t;
  t.lq = log_sigmoid(z_new);
  t.l1q = log_sigmoid(-z_new);
  t.q = std::exp(t.lq);
  const float logp_new = a * t.lq + (1.f - a) * t.l1q;
  const float logp_old = a * log_sigmoid(z_old) + (1.f - a) * log_sigmoid(-z_old);
  const float raw = logp_new - logp_old;
  t.saturated = std::fabs(raw) >= kPpoMaxLogRatio;
  const float log_ratio = std::min(std::max(raw, -kPpoMaxLogRatio), kPpoMaxLogRatio);
  t.ratio = std::exp(log_ratio);
  t.s1 = t.ratio * adv;
  t.s2 = std::min(std::max(t.ratio, 1.f - eps), 1.f + eps) * adv;
  t.clipped = std::fabs(t.ratio - 1.f) > eps;
  return t;
}

}  // namespace

void ppo_loss_cpu(const float* z_new, const float* z_old, const float* action, const float* adv, float* stats,
                  const PpoLossShape& s) {
  const int64_t M = s.count;
  const float log_rho = std::log(s.rho), log_1m_rho = std::log1p(-s.rho);
  double surr = 0, prior = 0, clipped = 0, kl = 0, entropy = 0;
  for (int64_t i = 0; i < M; ++i) {
    const Token t = token(z_new[i], z_old[i], action[i], adv[i], s.clip_eps);
    surr += std::min(t.s1, t.s2);
    prior += t.q * (t.lq - log_rho) + (1.f - t.q) * (t.l1q - log_1m_rho);
    clipped += t.clipped ? 1.0 : 0.0;
    const float lq_o = log_sigmoid(z_old[i]), l1q_o = log_sigmoid(-z_old[i]), q_o = std::exp(lq_o);
    kl += q_o * (lq_o - t.lq) + (1.f - q_o) * (l1q_o - t.l1q);
    entropy += -(t.q * t.lq + (1.f - t.q) * t.l1q);
  }
  const double policy = -surr / M;
  stats[0] = static_cast<float>(policy + s.beta * (prior / M));
  stats[1] = static_cast<float>(policy);
  stats[2] = static_cast<float>(prior / M);
  stats[3] = static_cast<float>(clipped / M);
  stats[4] = static_cast<float>(kl / M);
  stats[5] = static_cast<float>(entropy / M);
}

void ppo_loss_backward_cpu(const float* z_new, const float* z_old, const float* action, const float* adv,
                           const float* g_total, float* d_z_new, const PpoLossShape& s) {
  const int64_t M = s.count;
  const double g = g_total ? *g_total : 1.0;
  const float logit_rho = std::log(s.rho) - std::log1p(-s.rho);
  for (int64_t i = 0; i < M; ++i) {
    const Token t = token(z_new[i], z_old[i], action[i], adv[i], s.clip_eps);
    const float d_policy = (t.s1 <= t.s2 && !t.saturated) ? -t.s1 * (action[i] - t.q) : 0.f;
    const float d_prior = s.beta * t.q * (1.f - t.q) * (z_new[i] - logit_rho);
    d_z_new[i] = static_cast<float>(g * (d_policy + d_prior) / M);
  }
}

}  // namespace tats::kernels
