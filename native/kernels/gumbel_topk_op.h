// Tensor-level Gumbel-top-k mask sampling (see gumbel_topk.h). No gradient: the sampler's
// log-probabilities of the chosen set are computed from the logits with libtorch.
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

struct MaskDraw {
  torch::Tensor masked;   // int64 [B, k], ascending token index, on logits' device
  torch::Tensor visible;  // int64 [B, N - k], ascending token index
};

// logits: float32 [B, N] (any strides; made contiguous), CPU or CUDA (N <= 4096 on CUDA).
// k in [0, N], tau > 0. The same (seed, offset) gives the same sets on CPU and CUDA; use a new
// offset (e.g. the step number) for each draw. Never syncs with the host on CUDA.
// row_base: the noise key of row b is row_base + b (gumbel_topk.h), for a slice of a larger batch.
MaskDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, uint64_t seed, uint64_t offset,
                     uint64_t row_base = 0);

// The same draw with part of the seed read from an int64 scalar tensor on logits' device when the
// kernel runs (stream = seed + *device_seed): for CUDA graphs, whose replays must not bake in a
// host value. On CPU the tensor is read directly.
MaskDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, uint64_t seed, uint64_t offset,
                     const torch::Tensor& device_seed, uint64_t row_base = 0);

// GPU kernel vs CPU reference (index sets must match exactly).
std::vector<ParityReport> gumbel_topk_parity(uint64_t seed);

}  // namespace tats::ops
