// Tensor-level budget shift of the TATS policy (see budget_shift.h).
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

// s: float32 or float64 [B, N] on CPU or CUDA, N >= 2, 1 <= k < N. Returns c float64 [B, 1] on s's
// device with sum_i sigmoid(s_i - c) = k per row; data, never differentiable (budget_logits adds
// the implicit gradient). One kernel launch on CUDA, no host sync.
torch::Tensor budget_shift(const torch::Tensor& s, int64_t k);

// The same steps composed from libtorch ops on [B, N] fp64 tensors (~7 ops per halving): what the
// TATS sampler ran before the kernel, kept as the formulation the reference is checked against.
torch::Tensor budget_shift_composed(const torch::Tensor& s, int64_t k);

std::vector<ParityReport> budget_shift_parity(uint64_t seed);  // GPU kernel vs CPU reference
std::vector<ParityReport> budget_shift_check(uint64_t seed);   // CPU reference vs the composition

}  // namespace tats::ops
