#include "core/gumbel_topk.h"

#include <ATen/CPUGeneratorImpl.h>

#include <limits>

#include "kernels/gumbel_topk_op.h"

namespace tats::core {

TopkDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, at::Generator& gen, int64_t row_base) {
  TORCH_CHECK(logits.dim() == 2, "gumbel_topk: logits must be [B, N], got ", logits.sizes());
  TORCH_CHECK(gen.device().is_cpu(), "gumbel_topk: the generator must be a CPU generator, got ", gen.device());
  torch::NoGradGuard no_grad;
  // A host-side draw from the CPU generator: no device work, no sync.
  const auto seed = torch::randint(std::numeric_limits<int64_t>::max(), {1}, gen, torch::kLong).item<int64_t>();
  const auto draw = ops::gumbel_topk(logits.detach().to(torch::kFloat), k, tau, static_cast<uint64_t>(seed), 0,
                                       static_cast<uint64_t>(row_base));
  return {draw.masked, draw.visible};
}

at::Generator make_generator(const torch::Device& device, uint64_t seed) {
  TORCH_CHECK(device.is_cpu(), "make_generator: samplers draw from CPU generators");
  return at::detail::createCPUGenerator(seed);
}

}  // namespace tats::core
