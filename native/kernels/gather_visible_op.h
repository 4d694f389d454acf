// Tensor-level gather of visible tokens + position add (see gather_visible.h): the encoder input.
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

// x: [B, N, C] float32 or bfloat16; pos: float32 [N, C] (fixed table, no gradient);
// visible: int64 [B, Nv], distinct within a row, in [0, N). All on one device (CPU or CUDA).
// Returns [B, Nv, C] in x's dtype: x[b, visible[b,j]] + pos[visible[b,j]] (added in fp32).
// Differentiable w.r.t. x (autograd): the gradient scatters back to the visible rows.
torch::Tensor gather_visible(const torch::Tensor& x, const torch::Tensor& pos, const torch::Tensor& visible);

// The backward on its own: dx [B, N, C] (dtype of dout), zero outside the visible rows.
torch::Tensor gather_visible_backward(const torch::Tensor& dout, const torch::Tensor& visible, int64_t tokens);

std::vector<ParityReport> gather_visible_parity(uint64_t seed);  // GPU kernel vs CPU reference
std::vector<ParityReport> gather_visible_check(uint64_t seed);   // CPU reference vs composed libtorch + autograd

}  // namespace tats::ops
