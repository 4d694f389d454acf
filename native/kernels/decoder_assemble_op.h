// Tensor-level decoder input assembly (see decoder_assemble.h).
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

// vis: [B, Nv, C] float32 or bfloat16 (the encoder_to_decoder output); mask_token: [C] or
// [1, 1, C] float32 or bfloat16 (VideoMAE's parameter shape); pos: float32 [N, C] (fixed, no grad);
// visible: int64 [B, Nv]; masked: int64 [B, Nm] (indices in [0, N)). One device (CPU or CUDA).
// Returns [B, Nv+Nm, C] in vis's dtype: visible rows first (in the order given), then mask rows.
// Differentiable w.r.t. vis and mask_token (autograd); the mask token's gradient has its dtype
// and shape.
torch::Tensor decoder_assemble(const torch::Tensor& vis, const torch::Tensor& mask_token, const torch::Tensor& pos,
                               const torch::Tensor& visible, const torch::Tensor& masked);

// The mask-token half of the backward on its own: fp32 [C] = sum of dout[:, Nv:, :] over rows.
torch::Tensor decoder_assemble_mask_grad(const torch::Tensor& dout, int64_t n_visible);

std::vector<ParityReport> decoder_assemble_parity(uint64_t seed);  // GPU kernel vs CPU reference
std::vector<ParityReport> decoder_assemble_check(uint64_t seed);   // CPU reference vs libtorch + autograd

}  // namespace tats::ops
