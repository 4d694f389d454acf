#include "core/gumbel_topk.h"

#include <ATen/CPUGeneratorImpl.h>

#include <limits>

#include "kernels/gumbel_topk_op.h"

namespace tats::core {

void DrawKey::next(at::Generator& gen, const torch::Device& device) {
  TORCH_CHECK(gen.device().is_cpu(), "gumbel_topk: the generator must be a CPU generator, got ", gen.device());
  // A host-side draw from the CPU generator: no device work, no sync.
  const auto value = torch::randint(std::numeric_limits<int64_t>::max(), {1}, gen, torch::kLong).item<int64_t>();
  if (!key_.defined() || key_.device() != device)
    key_ = torch::zeros({}, torch::TensorOptions().dtype(torch::kLong).device(device));
  key_.fill_(value);
}

TopkDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, const DrawKey& key, int64_t row_base) {
  TORCH_CHECK(logits.dim() == 2, "gumbel_topk: logits must be [B, N], got ", logits.sizes());
  TORCH_CHECK(key.tensor().defined(), "gumbel_topk: the draw key was never set (DrawKey::next)");
  torch::NoGradGuard no_grad;
  // The key is the kernel's noise stream (its seed), draw number 0.
  const auto draw = ops::gumbel_topk(logits.detach().to(torch::kFloat), k, tau, /*seed=*/0, /*offset=*/0, key.tensor(),
                                     static_cast<uint64_t>(row_base));
  return {draw.masked, draw.visible};
}

TopkDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, at::Generator& gen, int64_t row_base) {
  DrawKey key;
  key.next(gen, logits.device());
  return gumbel_topk(logits, k, tau, key, row_base);
}

at::Generator make_generator(const torch::Device& device, uint64_t seed) {
  TORCH_CHECK(device.is_cpu(), "make_generator: samplers draw from CPU generators");
  return at::detail::createCPUGenerator(seed);
}

}  // namespace tats::core
