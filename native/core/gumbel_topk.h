// Sampling k of N tokens without replacement from pi = softmax(logits / tau), per row, by
// Gumbel-top-k: the k largest of logits/tau + G (G i.i.d. standard Gumbel) are distributed as k
// successive draws without replacement (Plackett-Luce). Shapes are static and nothing is read
// back to the host, so the draw can sit inside a CUDA graph.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace tats::core {

struct TopkDraw {
  torch::Tensor chosen;  // [B, k] int64, ascending within each row
  torch::Tensor rest;    // [B, N - k] int64, ascending within each row
};

// logits [B, N] (any float dtype, any device); 0 <= k <= N; tau > 0. `gen` lives on the device of
// `logits`, or on the CPU (the noise is then drawn there and copied over without a sync). Scores
// are computed in fp32 (fp64 for fp64 logits).
TopkDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, at::Generator& gen);

// |M| = round(rho * N), the masked-token count every strategy uses.
int64_t masked_count(int64_t tokens, double ratio);

// A generator for `device` seeded with `seed`, independent of the global one.
at::Generator make_generator(const torch::Device& device, uint64_t seed);

}  // namespace tats::core
