// Tensor-level trajectory pooling: the trajectory attention's temporal softmax over the raw
// trajectory tokens, with the trajectory variance (see trajectory_pool.h for the maths and why).
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

struct TrajectoryPool {
  torch::Tensor z;    // [H, ..., C]: sum_t softmax_t(scale * a_h . yt_t) yt_t per head
  torch::Tensor var;  // [..., C]: population variance of yt over T (divisor T)
};

// yt: [..., T, C] (e.g. [B*N, T, C], each token's trajectory); a: [H, ..., C] with the same
// leading dims after H (heads first: a_h = Wk_h^T q_h from a GEMM batched over heads). Both
// float32 or both bfloat16 (computed in fp32), one device (CPU or CUDA). Differentiable w.r.t. yt
// and a (p is recomputed in backward). On CUDA the kernels take H <= 64 and T <= 8 with C <= 512,
// or T <= 16 with C <= 256 (the base sampler: T 8, C 384, H 6); other shapes run
// trajectory_pool_composed (same maths, libtorch ops, several passes over yt).
TrajectoryPool trajectory_pool(const torch::Tensor& yt, const torch::Tensor& a, double scale);

// The same maths composed of libtorch ops (einsum, softmax, einsum, var; autograd backward), any
// floating dtype: the CUDA path for shapes past the kernels' tile, and the CPU check's reference.
TrajectoryPool trajectory_pool_composed(const torch::Tensor& yt, const torch::Tensor& a, double scale);

// The kernels' backward on its own (the CUDA shape limits above apply): {dyt, da}. An undefined
// dz or dvar counts as zero.
std::vector<torch::Tensor> trajectory_pool_backward(const torch::Tensor& yt, const torch::Tensor& a,
                                                    const torch::Tensor& dz, const torch::Tensor& dvar, double scale);

std::vector<ParityReport> trajectory_pool_parity(uint64_t seed);  // GPU kernels vs CPU reference
std::vector<ParityReport> trajectory_pool_check(uint64_t seed);   // CPU reference vs libtorch + autograd

}  // namespace tats::ops
