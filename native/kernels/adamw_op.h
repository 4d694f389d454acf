// Tensor-level fused AdamW over flat fp32 buffers (see adamw.h): what native/core's MaeOptimizer
// calls. No autograd; every call runs on the current stream and never syncs with the host, so the
// norm and the step can sit inside a captured CUDA graph (adamw_set_scalars must stay outside).
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

// fp32 [8] scalars buffer on `device` (layout in adamw.h), zeros.
torch::Tensor adamw_scalars(const torch::Device& device);
// fp64 scratch for the norm's partial sums on `device` (empty on CPU).
torch::Tensor adamw_workspace(const torch::Device& device);

// scalars[0..2] = step_size, sqrt_bc2, decay_mul (CPU: written directly; CUDA: a launch on the
// current stream).
void adamw_set_scalars(const torch::Tensor& scalars, double step_size, double sqrt_bc2, double decay_mul);
// scalars[3] = ||grad||_2. grad: fp32 contiguous 1-D.
void adamw_grad_norm(const torch::Tensor& grad, const torch::Tensor& scalars, const torch::Tensor& workspace);
// One AdamW step in place on param, exp_avg, exp_avg_sq (fp32 contiguous 1-D, one length and device);
// elements [0, decay_numel) get weight decay; clipping to max_norm (0 = none) by scalars[3].
void adamw_step(const torch::Tensor& param, const torch::Tensor& grad, const torch::Tensor& exp_avg,
                const torch::Tensor& exp_avg_sq, const torch::Tensor& scalars, int64_t decay_numel, double beta1,
                double beta2, double eps, double max_norm);

std::vector<ParityReport> adamw_parity(uint64_t seed);  // GPU kernels vs CPU reference
// CPU reference vs libtorch composed (clip_grad_norm as in torch.nn.utils + torch::optim::AdamW
// with two parameter groups), 3 steps.
std::vector<ParityReport> adamw_check(uint64_t seed);

}  // namespace tats::ops
