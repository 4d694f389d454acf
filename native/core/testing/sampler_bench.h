// Timing of the TATS sampler alone (no MAE): one act (forward + the budgeted mask draw) and one
// PPO update (K epochs of forward + backward + AdamW, then the KL forward; eager, or as a CUDA
// graph with `graph`) per step on random embeddings, with a device sync bracketing each phase. For the GPU tests, through the addon's `testing` object (not
// part of the training path: namespace tats::core::testing).
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace tats::core::testing {

struct SamplerBenchOptions {
  int64_t batch = 0, slots = 0, per_slot = 0, input_dim = 0, dim = 0, heads = 0, epochs = 0, steps = 0;
  double ratio = 0;
  bool bf16 = false;  // bf16 autocast (CUDA only)
  bool graph = false;  // the PPO update as a CUDA graph where it can be (runtime.ppoGraph; CUDA only)
};

struct SamplerBenchResult {
  double act_ms = 0, update_ms = 0;  // medians over the timed steps (the first two are warm-up)
  double peak_mib = 0;               // CUDA peak allocated during the run (0 on the CPU)
};

SamplerBenchResult sampler_bench(const SamplerBenchOptions& options, const torch::Device& device);

}  // namespace tats::core::testing
