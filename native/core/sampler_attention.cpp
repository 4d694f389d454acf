#include "core/sampler_attention.h"

#include <torch/version.h>

#include <cmath>

namespace tats::core {

torch::Tensor sampler_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  TORCH_CHECK(q.dim() >= 2 && q.dim() == k.dim() && k.sizes() == v.sizes(),
              "sampler_attention: q, k, v must have the same rank (>= 2) and k, v the same shape; got q ",
              q.sizes(), ", k ", k.sizes(), ", v ", v.sizes());
  TORCH_CHECK(q.size(-1) == k.size(-1), "sampler_attention: q and k head widths differ: ", q.size(-1), " vs ",
              k.size(-1));
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v);
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return torch::softmax(torch::matmul(q * scale, k.transpose(-2, -1)), -1).matmul(v);
#endif
}

}  // namespace tats::core
