#include "core/budgeted_draw.h"

#include <limits>

#include "kernels/counter_uniform_op.h"

namespace tats::core {

BudgetedDraw budgeted_draw(const torch::Tensor& q, int64_t k, at::Generator& gen, int64_t row_base) {
  TORCH_CHECK(q.dim() == 2, "budgeted_draw: q must be [B, N], got ", q.sizes());
  const int64_t B = q.size(0), N = q.size(1);
  TORCH_CHECK(k >= 1 && k < N, "budgeted_draw: k must be in [1, N) = [1, ", N, "), got ", k);
  TORCH_CHECK(gen.device().is_cpu(), "budgeted_draw: the generator must be a CPU generator, got ", gen.device());
  torch::NoGradGuard no_grad;
  // A host-side draw from the CPU generator: no device work, no sync.
  const auto seed = torch::randint(std::numeric_limits<int64_t>::max(), {1}, gen, torch::kLong).item<int64_t>();
  const auto noise = ops::counter_uniform(B, N + 1, static_cast<uint64_t>(seed), 0, static_cast<uint64_t>(row_base),
                                          q.device());  // fp64: N order keys, then the offset u
  const auto order = std::get<1>(noise.narrow(1, 0, N).sort(/*dim=*/1));  // a uniformly random permutation per clip
  const auto u = noise.narrow(1, N, 1);                 // [B, 1]
  const auto qd = q.detach().to(torch::kDouble).clamp(0.0, 1.0).gather(1, order);
  auto ends = qd.cumsum(1);
  // Rows sum to k up to rounding: rescale so that the last interval ends at k exactly.
  ends = (ends * (static_cast<double>(k) / ends.narrow(1, N - 1, 1))).clamp_max(static_cast<double>(k));
  ends.narrow(1, N - 1, 1).fill_(static_cast<double>(k));
  const std::vector<torch::Tensor> parts{torch::zeros({B, 1}, ends.options()), ends.narrow(1, 0, N - 1)};
  const auto starts = torch::cat(parts, /*dim=*/1);
  // Points u + j inside [start, end): floor(end - u) - floor(start - u) of them (0 or 1).
  const auto hit = (torch::floor(ends - u) - torch::floor(starts - u)) > 0.5;
  // Ascending index lists with static shapes: masked tokens keep their index, visible ones get
  // N + index, one sort, split at k. (A hit count off by rounding still yields k masked tokens.)
  const auto key = torch::zeros({B, N}, order.options()).scatter_(1, order, torch::where(hit, order, order + N));
  const auto sorted = std::get<0>(key.sort(1));
  BudgetedDraw d;
  d.masked = sorted.narrow(1, 0, k).contiguous();
  d.visible = (sorted.narrow(1, k, N - k) - N).contiguous();
  d.action = torch::zeros({B, N}, q.options().dtype(torch::kFloat)).scatter_(1, d.masked, 1.0f);
  return d;
}

}  // namespace tats::core
