#include "core/linear.h"

namespace tats::core {

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  TORCH_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input [..., ", weight.size(1), "] expected, got ",
              x.sizes());
  if (x.dim() == 2) return torch::nn::functional::linear(x, weight, bias);
  auto out_sizes = x.sizes().vec();
  out_sizes.back() = weight.size(0);
  // reshape: a view for the contiguous inputs of the hot path, a copy otherwise.
  return torch::nn::functional::linear(x.reshape({-1, x.size(-1)}), weight, bias).view(out_sizes);
}

torch::Tensor linear_gelu_linear(const torch::nn::Sequential& mlp, const torch::Tensor& x) {
  TORCH_CHECK(mlp->size() == 3, "linear_gelu_linear: Sequential(Linear, GELU, Linear) expected, got ", mlp->size(),
              " modules");
  const auto* fc1 = mlp->ptr(0)->as<torch::nn::Linear>();
  const auto* fc2 = mlp->ptr(2)->as<torch::nn::Linear>();
  TORCH_CHECK(fc1 && fc2 && mlp->ptr(1)->as<torch::nn::GELU>(), "linear_gelu_linear: Sequential(Linear, GELU, Linear) expected");
  return linear(torch::gelu(linear(x, fc1->weight, fc1->bias)), fc2->weight, fc2->bias);
}

}  // namespace tats::core
