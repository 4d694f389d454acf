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

// A draw's noise key, held in an int64 scalar on the draw's device: the kernel reads it when it
// runs, so a CUDA graph that captured the draw draws anew on each replay once next() has set the
// step's key before it.
class DrawKey {
 public:
  // One 63-bit draw from the CPU generator `gen` (host only), written into the device scalar with
  // a fill (no host sync). Allocates the scalar on first use or on a new device.
  void next(at::Generator& gen, const torch::Device& device);
  // Undefined until next() has run.
  const torch::Tensor& tensor() const { return key_; }

 private:
  torch::Tensor key_;
};

// logits [B, N] (any float dtype; drawn in fp32), CPU or CUDA; 0 <= k <= N; tau > 0; key: a
// DrawKey's tensor on logits' device. row_base: the global index of row 0 (data parallel:
// rank * per-rank batch), so that every clip's noise is keyed by its place in the global batch and
// a rank draws what one process would draw for its rows.
TopkDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, const DrawKey& key, int64_t row_base = 0);
// The same with a fresh key from `gen` (a CPU generator): for one-off eager draws.
TopkDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, at::Generator& gen, int64_t row_base = 0);

// A CPU generator seeded with `seed`, independent of the global one.
at::Generator make_generator(const torch::Device& device, uint64_t seed);

}  // namespace tats::core
