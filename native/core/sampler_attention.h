// Softmax attention for the samplers: one call, two libtorch generations.
// libtorch >= 2.0 runs at::scaled_dot_product_attention (flash / memory-efficient kernels on CUDA,
// which keep only a logsumexp per query for backward); libtorch 1.13 has no fused kernel, so the
// plain softmax(q k^T / sqrt(d)) v is written out.
#pragma once
#include <torch/torch.h>

namespace tats::core {

// q [..., Lq, d], k and v [..., Lk, d] (same leading dims) -> [..., Lq, d]; scale 1/sqrt(d), no mask.
torch::Tensor sampler_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

}  // namespace tats::core
