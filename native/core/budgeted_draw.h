// The TATS mask draw (docs/tats.md, principle 1): exactly k of a clip's N tokens are
// masked, and token i is masked with probability exactly q_i, the policy's own per-token
// probability (sum_i q_i = k, each q_i in [0, 1]).
//
// Systematic sampling over a random token order: the tokens are laid out in a uniformly random
// order as consecutive intervals of lengths q_i on [0, k); the points u, u + 1, ..., u + k - 1
// (u uniform in (0, 1)) each fall into one interval, and the tokens hit are masked. Every interval
// is hit at most once (q_i <= 1), exactly k are hit, and interval i is hit with probability q_i.
// The joint distribution is not that of independent Bernoullis (the count is fixed at k), but the
// marginals are, and PPO scores each token by them: log p(a_i) = a_i log q_i + (1 - a_i) log(1 - q_i).
// Static shapes, no host sync: a sort, a cumulative sum, a scatter.
#pragma once
#include <torch/torch.h>

namespace tats::core {

struct BudgetedDraw {
  torch::Tensor action;   // float [B, N]: 1 = masked, 0 = visible (exactly k ones per row)
  torch::Tensor masked;   // int64 [B, k], ascending
  torch::Tensor visible;  // int64 [B, N - k], ascending
};

// q: [B, N] probabilities with rows summing to k (any float dtype, any device). The noise comes from
// the counter generator (kernels/counter_uniform.h) seeded by one draw from the CPU generator `gen`,
// keyed by global row (row_base + b) as the other samplers are.
BudgetedDraw budgeted_draw(const torch::Tensor& q, int64_t k, at::Generator& gen, int64_t row_base = 0);

}  // namespace tats::core
