#include "core/gumbel_topk.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace tats::core {

TopkDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, at::Generator& gen) {
  TORCH_CHECK(logits.dim() == 2, "gumbel_topk: logits must be [B, N], got ", logits.sizes());
  const int64_t N = logits.size(1);
  TORCH_CHECK(k >= 0 && k <= N, "gumbel_topk: k (", k, ") must be in [0, ", N, "]");
  TORCH_CHECK(tau > 0.0, "gumbel_topk: temperature must be positive, got ", tau);
  torch::NoGradGuard no_grad;
  const auto l = logits.scalar_type() == torch::kDouble ? logits : logits.to(torch::kFloat);
  // G = -log(E) with E ~ Exp(1) is standard Gumbel. E = 0 (probability ~2^-24 in fp32) gives a
  // score of +inf: that token is simply drawn first.
  torch::Tensor e;
  if (gen.device().type() == l.device().type()) {
    e = torch::empty_like(l).exponential_(1.0, gen);
  } else {
    // A CPU generator for device logits (the session keeps one CPU generator, so checkpoints
    // hold one RNG state): draw on the host, then queue a pinned, non-blocking copy.
    TORCH_CHECK(gen.device().is_cpu(), "gumbel_topk: generator on ", gen.device(), ", logits on ", l.device());
    e = torch::empty(l.sizes(), l.options().device(torch::kCPU)).exponential_(1.0, gen);
    e = e.pin_memory().to(l.device(), /*non_blocking=*/true);
  }
  const auto scores = l / tau - torch::log(e);
  // One sort gives both sets: the first k of the order are the draws, the rest the complement.
  const auto order = std::get<1>(scores.sort(/*dim=*/1, /*descending=*/true));
  auto chosen = std::get<0>(order.slice(1, 0, k).sort(1));
  auto rest = std::get<0>(order.slice(1, k, N).sort(1));
  return {chosen, rest};
}

int64_t masked_count(int64_t tokens, double ratio) {
  return static_cast<int64_t>(std::llround(ratio * static_cast<double>(tokens)));
}

at::Generator make_generator(const torch::Device& device, uint64_t seed) {
  at::Generator gen = device.is_cpu() ? at::detail::createCPUGenerator(seed)
                                      : at::globalContext().defaultGenerator(device).clone();
  gen.set_current_seed(seed);
  return gen;
}

}  // namespace tats::core
