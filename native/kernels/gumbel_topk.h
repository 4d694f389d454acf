// Gumbel-top-k mask sampling: draw k tokens per row without replacement from softmax(logits/tau).
//
// Layout (contiguous, row-major):
//   logits  float   [B, N]       the sampler's per-token logits l_i
//   masked  int64   [B, k]       the k chosen tokens, ascending token index
//   visible int64   [B, N - k]   the other tokens, ascending token index
// Per element: key_i = (double)l_i / (double)tau + g_i, g_i = -log(-log(u_i)) in double, with
//   u_i = counter_uniform(counter_bits(seed, offset, row_base + b, i)) (counter_rng.h): keyed by the row and
//   the token, so the CPU reference and the kernel draw the same noise and pick the same sets.
// masked = the k largest keys; ties go to the smaller token index (a total order, so the set is
// unique). Top-k of l/tau + Gumbel is a draw without replacement from softmax(l/tau).
// Preconditions: B >= 1, N >= 1, 0 <= k <= N, tau > 0, logits finite. CUDA: N <= kGumbelTopkMaxTokens.
// Either output may be null when its size is zero.
#pragma once
#include <cstdint>

namespace tats::kernels {

constexpr int64_t kGumbelTopkMaxTokens = 4096;  // one block sorts a row in 48 KB of shared memory

struct GumbelTopkShape {
  int64_t batch, tokens, k;
  double tau;
  uint64_t seed, offset;  // noise stream and draw number (advance offset once per draw)
  // Noise key of row b is row_base + b: a data-parallel rank holding rows [r*B, (r+1)*B) of a
  // global batch passes r*B and draws exactly the noise one process would draw for those rows.
  uint64_t row_base = 0;
};

// The perturbed key of one element (shared by the reference and the tests).
double gumbel_key(float logit, const GumbelTopkShape& s, int64_t row, int64_t i);

// Plain loops: keys, a full sort per row, then the two ascending lists.
void gumbel_topk_cpu(const float* logits, int64_t* masked, int64_t* visible, const GumbelTopkShape& s);

#ifdef TATS_WITH_CUDA
// One block per row: keys in shared memory, bitonic sort, then a block scan writes both lists.
// `device_seed` (nullable): an int64 on the device added to s.seed when the kernel runs, so a
// captured CUDA graph draws anew on each replay once the seed has been written before it.
void gumbel_topk_cuda(const float* logits, int64_t* masked, int64_t* visible, const GumbelTopkShape& s,
                      const int64_t* device_seed, void* stream);
#endif

}  // namespace tats::kernels
