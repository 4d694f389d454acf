// Fused AdamW over flat fp32 buffers, with clipping by the global gradient norm: every parameter
// of a model lives in one contiguous buffer (the optimiser lays them out), so the whole update is
// two passes (sum of squares of the gradient, then the AdamW step) instead of ~10 small kernels
// per parameter, and no value leaves the device (CUDA-graph capturable).
//
// Layout (contiguous fp32, n elements each): param, grad, exp_avg, exp_avg_sq. Elements
// [0, decay_numel) get weight decay, the rest none.
// scalars (fp32, 8 entries, same device as the buffers):
//   [0] step_size = lr / (1 - beta1^t)    [1] sqrt(1 - beta2^t)
//   [2] 1 - lr * weight_decay             [3] global gradient L2 norm (written by adamw_grad_norm)
//   [4] skip: nonzero = the step leaves param, exp_avg and exp_avg_sq untouched (set on the device
//       by the caller, e.g. PPO's early stop on KL, so that a stopped epoch costs no host sync)
// Maths, per element, with coef = min(1, max_norm / (norm + 1e-6)) when max_norm > 0, else 1
// (torch.nn.utils.clip_grad_norm_), in fp32 (torch::optim::AdamW's order of operations):
//   g = grad * coef
//   p *= scalars[2]                         (decay elements only)
//   m = m * beta1 + g * (1 - beta1)
//   v = v * beta2 + g * g * (1 - beta2)
//   p += -step_size * m / (sqrt(v) / scalars[1] + eps)
// grad is read only (clipping does not rewrite it). Preconditions: n >= 0, 0 <= decay_numel <= n.
#pragma once
#include <cstdint>

namespace tats::kernels {

struct AdamWShape {
  int64_t numel = 0, decay_numel = 0;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, max_norm = 0.f;
};

constexpr int kAdamWScalars = 8;

// scalars[3] = sqrt(sum grad^2) (accumulated in double).
void adamw_grad_norm_cpu(const float* grad, int64_t n, float* scalars);
void adamw_step_cpu(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, const float* scalars,
                    const AdamWShape& s);

#ifdef TATS_WITH_CUDA
// Writes scalars[0..2] on the stream (a one-thread kernel, so the values travel as launch
// arguments: nothing on the host must outlive the call; launch it outside a captured graph).
void adamw_set_scalars_cuda(float* scalars, float step_size, float sqrt_bc2, float decay_mul, void* stream);
// Deterministic: a fixed grid of partial sums (double) in `partials` (kAdamWNormBlocks doubles),
// then one block adds them in order.
constexpr int kAdamWNormBlocks = 1024;
void adamw_grad_norm_cuda(const float* grad, int64_t n, double* partials, float* scalars, void* stream);
// Buffers 16-byte aligned (float4 loads) when possible; falls back to scalar loads otherwise.
void adamw_step_cuda(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, const float* scalars,
                     const AdamWShape& s, void* stream);
#endif

}  // namespace tats::kernels
