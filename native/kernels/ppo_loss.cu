// CUDA version of ppo_loss.h. The forward is a reduction of M = B*N elements (tens of thousands):
// one block of 1024 threads, six block sums in a fixed order (deterministic); the backward is one
// thread per element. Latency-bound, not bandwidth-bound: the point is to keep the PPO epoch on
// the GPU without host syncs.
#include <cuda_runtime.h>

#include "kernels/cuda_util.cuh"
#include "kernels/ppo_loss.h"

namespace tats::kernels {

namespace {

constexpr int kReduceThreads = 1024;
constexpr int kThreads = 256;

__device__ __forceinline__ float log_sigmoid(float x) { return fminf(x, 0.f) - log1pf(expf(-fabsf(x))); }

struct Token {
  float q, lq, l1q, ratio, s1, s2;
  bool clipped, saturated;
};

__device__ __forceinline__ Token token(float z_new, float z_old, float a, float adv, float eps) {
  Token t;
  t.lq = log_sigmoid(z_new);
  t.l1q = log_sigmoid(-z_new);
  t.q = expf(t.lq);
  const float logp_new = a * t.lq + (1.f - a) * t.l1q;
  const float logp_old = a * log_sigmoid(z_old) + (1.f - a) * log_sigmoid(-z_old);
  const float raw = logp_new - logp_old;
  t.saturated = fabsf(raw) >= kPpoMaxLogRatio;
  t.ratio = expf(fminf(fmaxf(raw, -kPpoMaxLogRatio), kPpoMaxLogRatio));
  t.s1 = t.ratio * adv;
  t.s2 = fminf(fmaxf(t.ratio, 1.f - eps), 1.f + eps) * adv;
  t.clipped = fabsf(t.ratio - 1.f) > eps;
  return t;
}

__global__ void ppo_loss_kernel(const float* __restrict__ z_new, const float* __restrict__ z_old,
                                const float* __restrict__ action, const float* __restrict__ adv,
                                float* __restrict__ stats, PpoLossShape s) {
  __shared__ float scratch[32];
  const float log_rho = logf(s.rho), log_1m_rho = log1pf(-s.rho);
  float surr = 0.f, prior = 0.f, clipped = 0.f, kl = 0.f, entropy = 0.f;
  for (int64_t i = threadIdx.x; i < s.count; i += blockDim.x) {
    const Token t = token(z_new[i], z_old[i], action[i], adv[i], s.clip_eps);
    surr += fminf(t.s1, t.s2);
    prior += t.q * (t.lq - log_rho) + (1.f - t.q) * (t.l1q - log_1m_rho);
    clipped += t.clipped ? 1.f : 0.f;
    const float lq_o = log_sigmoid(z_old[i]), l1q_o = log_sigmoid(-z_old[i]), q_o = expf(lq_o);
    kl += q_o * (lq_o - t.lq) + (1.f - q_o) * (l1q_o - t.l1q);
    entropy += -(t.q * t.lq + (1.f - t.q) * t.l1q);
  }
  surr = cuda::block_sum(surr, scratch);
  prior = cuda::block_sum(prior, scratch);
  clipped = cuda::block_sum(clipped, scratch);
  kl = cuda::block_sum(kl, scratch);
  entropy = cuda::block_sum(entropy, scratch);
  if (threadIdx.x == 0) {
    const float M = (float)s.count;
    const float policy = -surr / M;
    stats[0] = policy + s.beta * (prior / M);
    stats[1] = policy;
    stats[2] = prior / M;
    stats[3] = clipped / M;
    stats[4] = kl / M;
    stats[5] = entropy / M;
  }
}

__global__ void ppo_loss_backward_kernel(const float* __restrict__ z_new, const float* __restrict__ z_old,
                                         const float* __restrict__ action, const float* __restrict__ adv,
                                         const float* __restrict__ g_total, float* __restrict__ d_z_new,
                                         PpoLossShape s) {
  const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i >= s.count) return;
  const float g = g_total ? *g_total : 1.f;
  const float logit_rho = logf(s.rho) - log1pf(-s.rho);
  const Token t = token(z_new[i], z_old[i], action[i], adv[i], s.clip_eps);
  const float d_policy = (t.s1 <= t.s2 && !t.saturated) ? -t.s1 * (action[i] - t.q) : 0.f;
  const float d_prior = s.beta * t.q * (1.f - t.q) * (z_new[i] - logit_rho);
  d_z_new[i] = g * (d_policy + d_prior) / (float)s.count;
}

}  // namespace

void ppo_loss_cuda(const float* z_new, const float* z_old, const float* action, const float* adv, float* stats,
                   const PpoLossShape& s, void* stream) {
  if (s.count < 1) throw std::runtime_error("ppo_loss_cuda: need at least one element");
  ppo_loss_kernel<<<1, kReduceThreads, 0, static_cast<cudaStream_t>(stream)>>>(z_new, z_old, action, adv, stats, s);
  cuda::check_launch("ppo_loss_cuda");
}

void ppo_loss_backward_cuda(const float* z_new, const float* z_old, const float* action, const float* adv,
                            const float* g_total, float* d_z_new, const PpoLossShape& s, void* stream) {
  if (s.count < 1) return;
  const unsigned blocks = (unsigned)((s.count + kThreads - 1) / kThreads);
  ppo_loss_backward_kernel<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(z_new, z_old, action, adv,
                                                                                       g_total, d_z_new, s);
  cuda::check_launch("ppo_loss_backward_cuda");
}

}  // namespace tats::kernels
