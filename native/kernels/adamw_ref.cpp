// CPU reference of adamw.h: the plainest loops, fp32 arithmetic in the same order as the kernel.
#include <cmath>

#include "kernels/adamw.h"

namespace tats::kernels {

void adamw_grad_norm_cpu(const float* grad, int64_t n, float* scalars) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(grad[i]) * static_cast<double>(grad[i]);
  scalars[3] = static_cast<float>(std::sqrt(sum));
}

void adamw_step_cpu(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, const float* scalars,
                    const AdamWShape& s) {
  if (scalars[4] != 0.f) return;
  const float step_size = scalars[0], sqrt_bc2 = scalars[1], decay_mul = scalars[2], norm = scalars[3];
  const float coef = s.max_norm > 0.f ? std::fmin(1.f, s.max_norm / (norm + 1e-6f)) : 1.f;
  for (int64_t i = 0; i < s.numel; ++i) {
    const float g = grad[i] * coef;
    float p = param[i];
    if (i < s.decay_numel) p *= decay_mul;
    const float m = exp_avg[i] * s.beta1 + g * (1.f - s.beta1);
    const float v = exp_avg_sq[i] * s.beta2 + g * g * (1.f - s.beta2);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = p + (-step_size) * (m / (std::sqrt(v) / sqrt_bc2 + s.eps));
  }
}

}  // namespace tats::kernels
