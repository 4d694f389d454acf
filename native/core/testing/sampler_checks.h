// Self-checks of the sampler pieces, run from tests through the addon's `testing` object (not part
// of the training path: namespace tats::core::testing). Each runs the real module
// code against an independent formulation: a naive trajectory attention, central finite
// differences of the PPO loss, and many budgeted draws for frequency tests.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace tats::core::testing {

struct TrajectoryAttentionCheck {
  int64_t batch, tokens, frames, dim, heads;
  double y_max_abs_diff;         // module forward vs trajectory_attention_reference, fp32
  double variance_max_abs_diff;
  double grad_max_abs_diff;      // d(sum(w*y) + sum(u*var))/dx, chunked vs reference (autograd on both)
  double y_max_abs;              // scale of the outputs, for context
  double param_grad_max_abs_diff;  // the same loss's gradients w.r.t. every parameter, max over all
  double param_grad_max_abs;       // their scale (the reference's), for context
  double key_bias_grad_max_abs;    // module: proj_kv.bias's key half (cancels in the softmax: exactly 0)
};
// B=2, T=4, S=6 (N=24), C=32, 4 heads, random weights and input from `seed`, on `device` (on CUDA
// with libtorch 2.x the chunked version runs the fused SDPA kernels). The module computes stage 2
// factored through proj_kv (the trajectory_pool kernel op); the reference projects every
// trajectory token to its key and value.
TrajectoryAttentionCheck trajectory_attention_check(uint64_t seed, const torch::Device& device);

struct PpoGradCheck {
  double logits_max_abs_diff, values_max_abs_diff;  // autograd vs central differences, fp64
  double kernel_logits_max_abs_diff, kernel_values_max_abs_diff;  // fp32 kernel path vs fp64 autograd
  double logits_max_abs_grad, values_max_abs_grad;
  double loss, clip_frac;                           // clip_frac > 0: the clipped branch is exercised
};
// B=2, N=8, k=5, tau 0.7, eps 0.2, c_v 0.5, beta 0.7. The loss is differentiated w.r.t. the
// actor's logits through the budget shift c (budget_logits) and w.r.t. the critic's outputs: the
// fp64 loss (libtorch ops) against central differences of the whole function (c re-solved at
// every point), the fp32 training path (ppo_loss kernel op) against the fp64 gradients. Ratios
// are kept away from the clip kinks.
PpoGradCheck ppo_grad_check(uint64_t seed);

// Principle 1 of the design: draws of the budgeted Bernoulli mask (budgeted_draw) from a policy q
// (random logits through budget_logits, B=4 clips of N=128 tokens at `ratio`), `draws` times
// (one call on draws x B rows). Reports the largest |empirical masking frequency - q_i| over the
// tokens, and whether every draw masked exactly k tokens with consistent index lists.
struct DrawFrequencyCheck {
  int64_t tokens, masked, draws;
  double max_abs_diff;      // max_i |freq_i - q_i|
  double max_std_error;     // max_i sqrt(q_i (1 - q_i) / draws), for scale
  double q_min, q_max;      // the spread of the policy tested
  double budget_max_abs_diff;  // max over clips |sum_i q_i - k|
  bool exact_count;         // every row: k masked, N - k visible, disjoint, action consistent
};
DrawFrequencyCheck draw_frequency_check(uint64_t seed, double ratio, int64_t draws, const torch::Device& device);

// A contextual bandit with the real samplers and updates, no MAE: B clips of N = T*S tokens whose
// embeddings carry a "moving" signature on a quarter of the tokens; the reward of a masked token is
// 1 if it moves, 0.2 if not (plus noise), standing in for the MAE error. strategy "tats" runs
// PpoTrainer (act, update) at mask ratio 0.9 (the default); "adamae" runs AdaMaeSampler with
// adamae_sampling_loss and its own AdamW. Reports the share of masked tokens that move over the
// first and last 10 steps and, for tats, the policy's mean masking probability on moving and on
// static tokens over the last 10 steps.
struct BanditCheck {
  double moving_share;            // share of all tokens that move
  double first_masked_moving;     // mean over the first 10 steps
  double last_masked_moving;      // mean over the last 10 steps
  double last_q_moving, last_q_static;  // tats: mean q on moving / static tokens, last 10 steps
  double last_entropy;            // tats: policy entropy at the end (nats per token)
  double last_clip_frac, last_kl, last_value_loss, last_epochs;
};
// The samplers run on `device`; the draws come from a CPU generator, as in the session.
BanditCheck sampler_bandit_check(const std::string& strategy, uint64_t seed, int64_t steps,
                                 const torch::Device& device);

}  // namespace tats::core::testing
