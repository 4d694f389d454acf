// CPU reference for gumbel_topk.h: keys, a full sort of each row, then the two index lists.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/counter_rng.h"
#include "kernels/gumbel_topk.h"

namespace tats::kernels {

double gumbel_key(float logit, const GumbelTopkShape& s, int64_t row, int64_t i) {
  const double u =
      counter_uniform(counter_bits(s.seed, s.offset, s.row_base + static_cast<uint64_t>(row), static_cast<uint64_t>(i)));
  return static_cast<double>(logit) / s.tau - std::log(-std::log(u));
}

void gumbel_topk_cpu(const float* logits, int64_t* masked, int64_t* visible, const GumbelTopkShape& s) {
  const int64_t N = s.tokens, k = s.k;
  std::vector<double> key(N);
  std::vector<int64_t> order(N);
  std::vector<char> chosen(N);
  for (int64_t b = 0; b < s.batch; ++b) {
    // key[i] for the N tokens of row b
    for (int64_t i = 0; i < N; ++i) key[i] = gumbel_key(logits[b * N + i], s, b, i);
    // order: tokens by key, largest first; equal keys by token index
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t x, int64_t y) { return key[x] > key[y] || (key[x] == key[y] && x < y); });
    std::fill(chosen.begin(), chosen.end(), 0);
    for (int64_t r = 0; r < k; ++r) chosen[order[r]] = 1;
    // masked[b, :] and visible[b, :], ascending token index
    int64_t m = 0, v = 0;
    for (int64_t i = 0; i < N; ++i) {
      if (chosen[i]) masked[b * k + m++] = i;
      else visible[b * (N - k) + v++] = i;
    }
  }
}

}  // namespace tats::kernels
