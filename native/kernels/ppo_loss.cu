// CUDA version of ppo_loss.h. The forward is a reduction of M (~1400 per clip) elements: one
// block of 1024 threads, four block sums in a fixed order (deterministic); the backward is one
// thread per element. Both are latency-bound, not bandwidth-bound: the point is to keep the PPO
// epoch on the GPU without host syncs, not speed.
#include <cuda_runtime.h>

#include "kernels/cuda_util.cuh"
#include "kernels/ppo_loss.h"

namespace tats::kernels {

namespace {

constexpr int kReduceThreads = 1024;
constexpr int kThreads = 256;

__global__ void ppo_loss_kernel(const float* __restrict__ logp_new, const float* __restrict__ logp_old,
                                const float* __restrict__ adv, const float* __restrict__ value,
                                const float* __restrict__ ret, float* __restrict__ stats, int64_t M, float eps,
                                float value_coef) {
  __shared__ float scratch[32];
  float surr = 0.f, vl = 0.f, clipped = 0.f, kl = 0.f;
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    const float log_ratio = logp_new[i] - logp_old[i];
    const float ratio = expf(log_ratio);
    const float s1 = ratio * adv[i];
    const float s2 = fminf(fmaxf(ratio, 1.f - eps), 1.f + eps) * adv[i];
    const float s = fminf(s1, s2);
    surr += adv[i] < 0.f ? fmaxf(s, kDualClip * adv[i]) : s;
    const float dv = value[i] - ret[i];
    vl += dv * dv;
    clipped += fabsf(ratio - 1.f) > eps ? 1.f : 0.f;
    kl += (ratio - 1.f) - log_ratio;
  }
  surr = cuda::block_sum(surr, scratch);
  vl = cuda::block_sum(vl, scratch);
  clipped = cuda::block_sum(clipped, scratch);
  kl = cuda::block_sum(kl, scratch);
  if (threadIdx.x == 0) {
    const float policy = -surr / M, value_loss = vl / M;
    stats[0] = policy + value_coef * value_loss;
    stats[1] = policy;
    stats[2] = value_loss;
    stats[3] = clipped / M;
    stats[4] = kl / M;
  }
}

__global__ void ppo_loss_backward_kernel(const float* __restrict__ logp_new, const float* __restrict__ logp_old,
                                         const float* __restrict__ adv, const float* __restrict__ value,
                                         const float* __restrict__ ret, const float* __restrict__ g_total,
                                         float* __restrict__ d_logp_new, float* __restrict__ d_value, int64_t M,
                                         float eps, float value_coef) {
  const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i >= M) return;
  const float g = g_total ? *g_total : 1.f;
  if (d_logp_new) {
    const float ratio = expf(logp_new[i] - logp_old[i]);
    const float s1 = ratio * adv[i];
    const float s2 = fminf(fmaxf(ratio, 1.f - eps), 1.f + eps) * adv[i];
    const bool dual = adv[i] < 0.f && kDualClip * adv[i] > s1;
    d_logp_new[i] = s1 <= s2 && !dual ? -g * s1 / M : 0.f;
  }
  if (d_value) d_value[i] = g * value_coef * 2.f * (value[i] - ret[i]) / M;
}

}  // namespace

void ppo_loss_cuda(const float* logp_new, const float* logp_old, const float* adv, const float* value,
                   const float* ret, float* stats, const PpoLossShape& s, void* stream) {
  if (s.count < 1) throw std::runtime_error("ppo_loss_cuda: need at least one element");
  ppo_loss_kernel<<<1, kReduceThreads, 0, static_cast<cudaStream_t>(stream)>>>(logp_new, logp_old, adv, value, ret,
                                                                                stats, s.count, s.clip_eps,
                                                                                s.value_coef);
  cuda::check_launch("ppo_loss_cuda");
}

void ppo_loss_backward_cuda(const float* logp_new, const float* logp_old, const float* adv, const float* value,
                            const float* ret, const float* g_total, float* d_logp_new, float* d_value,
                            const PpoLossShape& s, void* stream) {
  if (s.count < 1) return;
  const unsigned blocks = (unsigned)((s.count + kThreads - 1) / kThreads);
  ppo_loss_backward_kernel<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      logp_new, logp_old, adv, value, ret, g_total, d_logp_new, d_value, s.count, s.clip_eps, s.value_coef);
  cuda::check_launch("ppo_loss_backward_cuda");
}

}  // namespace tats::kernels
