// Tensor-level trajectory attention temporal stage and trajectory variance
// (see trajectory_temporal.h).
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

// q: [..., d] (e.g. [B*h, N, d], the query from each token's own frame); k, v: [..., T, d]
// (e.g. [B*h, N, T, d], the trajectory tokens' keys and values), leading dims equal to q's.
// All float32, or all bfloat16 (computed in fp32); one device (CPU or CUDA); CUDA: d <= 256.
// Returns y [..., d] = sum_t softmax_t(q . k_t / sqrt(d)) v_t. Differentiable w.r.t. q, k, v.
torch::Tensor trajectory_temporal(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// The same with the keys and values packed as the TATS sampler's proj_kv writes them: q [..., h, d]
// (h heads), kv [..., T, 2*h*d] with kv[..., t, :h*d] the keys and kv[..., t, h*d:] the values of
// trajectory token t, heads concatenated. Returns y [..., h, d]; the gradient of kv comes back in
// kv's layout, so no transposed copies are made either way.
torch::Tensor trajectory_temporal_packed(const torch::Tensor& q, const torch::Tensor& kv);
// Its backward on its own: {dq, dkv}.
std::vector<torch::Tensor> trajectory_temporal_packed_backward(const torch::Tensor& q, const torch::Tensor& kv,
                                                               const torch::Tensor& dy);

// ytilde: [..., T, d] float32 or bfloat16 -> [..., d], the population variance over T (divisor T)
// per channel. Differentiable w.r.t. ytilde.
torch::Tensor trajectory_variance(const torch::Tensor& ytilde);

// The backwards on their own.
std::vector<torch::Tensor> trajectory_temporal_backward(const torch::Tensor& q, const torch::Tensor& k,
                                                        const torch::Tensor& v, const torch::Tensor& dy);  // {dq,dk,dv}
torch::Tensor trajectory_variance_backward(const torch::Tensor& ytilde, const torch::Tensor& dvar);

std::vector<ParityReport> trajectory_temporal_parity(uint64_t seed);  // GPU kernels vs CPU references
std::vector<ParityReport> trajectory_temporal_check(uint64_t seed);   // CPU references vs libtorch + autograd

}  // namespace tats::ops
