// Sampling k of N tokens without replacement from pi = softmax(logits / tau), per row, by
// Gumbel-top-k: the k largest of logits/tau + G (G i.i.d. standard Gumbel) are distributed as k
// successive draws without replacement (Plackett-Luce). The draw itself is the kernel op
// (kernels/gumbel_topk_op.h: counter-based noise, CPU reference or CUDA kernel, ascending index
// lists, no host sync); this adapter keys it from a torch generator, so that one generator state
// (the session's CPU generator, saved in checkpoints) decides every draw.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace tats::core {

struct TopkDraw {
  torch::Tensor chosen;  // [B, k] int64, ascending within each row
  torch::Tensor rest;    // [B, N - k] int64, ascending within each row
};

// logits [B, N] (any float dtype; drawn in fp32), CPU or CUDA; 0 <= k <= N; tau > 0. `gen` is a
// CPU generator: one 63-bit draw from it seeds the kernel's noise for this call. row_base: the
// global index of row 0 (data parallel: rank * per-rank batch), so that every clip's noise is keyed
// by its place in the global batch and a rank draws what one process would draw for its rows.
TopkDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, at::Generator& gen, int64_t row_base = 0);

// A CPU generator seeded with `seed`, independent of the global one.
at::Generator make_generator(const torch::Device& device, uint64_t seed);

}  // namespace tats::core
