// Linear layers on token tensors [..., in] through one 2-D GEMM with the bias in its epilogue.
// libtorch's at::linear fuses the bias (addmm, cuBLASLt epilogue) only for 2-D inputs and
// contiguous 3-D ones; under autocast and for 4-D inputs it runs matmul and then a separate,
// non-vectorised broadcast add_ over the whole output (the GPU trace of a TATS step: ~2.6 ms per
// sampler forward, ~5 ms per MAE step). Flattening the leading dims first always takes the fused path.
#pragma once
#include <torch/torch.h>

namespace tats::core {

// y = x W^T + b over the last dim of x; b may be undefined.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);
inline torch::Tensor linear(const torch::Tensor& x, const torch::nn::Linear& layer) {
  return linear(x, layer->weight, layer->bias);
}

// A Sequential(Linear, GELU, Linear) (the samplers' MLPs, state-dict names mlp.0.* / mlp.2.*)
// applied with the fused linear above.
torch::Tensor linear_gelu_linear(const torch::nn::Sequential& mlp, const torch::Tensor& x);

}  // namespace tats::core
