// Tensor-level counter-based uniform noise (see counter_uniform.h).
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

// float64 [rows, cols] in (0, 1) on `device` (CPU or CUDA). Never syncs with the host on CUDA.
torch::Tensor counter_uniform(int64_t rows, int64_t cols, uint64_t seed, uint64_t offset, uint64_t row_base,
                              const torch::Device& device);

// GPU kernel vs CPU reference: bit-identical.
std::vector<ParityReport> counter_uniform_parity(uint64_t seed);

}  // namespace tats::ops
