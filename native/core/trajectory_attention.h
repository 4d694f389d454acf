// Motionformer trajectory attention (Patrick et al., NeurIPS 2021) with the paper's projected
// values, plus the trajectory variance that TATS feeds to its actor.
//
// Tokens are frame-major: x [B, N, C] with N = T*S, token n = t*S + s (t: temporal slot, s: spatial
// position), exactly VideoMAE's flatten order. With h heads of width d = C/h:
//   stage 1 (space, per frame): for every query token n and every frame t', a softmax over the S
//     keys of frame t' pools that frame's values: ytilde[b,n,t',:] = sum_s' softmax_s'(q_n.k_{s't'}
//     / sqrt(d)) v_{s't'}, heads concatenated -> ytilde [B, N, T, C]. It runs as one attention call
//     over B x T x h (frame, head) pairs, each with the N queries and that frame's S keys, so the
//     N x N logits never exist at once (on libtorch 2.x the fused SDPA kernels keep no logits at
//     all). One call instead of T: no per-frame slicing, whose backward zero-filled and summed
//     the full key/value gradients once per frame.
//   stage 2 (time, per token): qt = proj_q(ytilde[n, t(n)]) (the query's own frame), kt, vt =
//     proj_kv(ytilde[n, t']); y_n = sum_t' softmax_t'(qt.kt / sqrt(d)) vt per head; out = proj(y).
//     The per-token softmax over T runs in the trajectory_temporal kernel op, which reads proj_kv's
//     output [B, N, T, 2C] in place (trajectory_temporal_packed).
//   variance: var_t'(ytilde[n, t', c]) per channel (population variance over the T frames; the
//     trajectory_variance kernel op), then var_proj (Linear C -> C): how much a token's content
//     moves along its trajectory.
#pragma once
#include <torch/torch.h>

namespace tats::core {

struct TrajectoryAttentionOutput {
  torch::Tensor y;         // [B, N, C] after the output projection
  torch::Tensor variance;  // [B, N, C] after var_proj
};

class TrajectoryAttentionImpl : public torch::nn::Module {
 public:
  TrajectoryAttentionImpl(int64_t dim, int64_t heads);

  // x [B, N, C], frames = T (N must be a multiple of T).
  TrajectoryAttentionOutput forward(const torch::Tensor& x, int64_t frames);

  // Stage 1 alone: ytilde [B, N, T, C] (heads concatenated). Exposed for tests.
  torch::Tensor trajectories(const torch::Tensor& x, int64_t frames);

  int64_t dim() const { return dim_; }
  int64_t heads() const { return heads_; }

  torch::nn::Linear qkv{nullptr}, proj_q{nullptr}, proj_kv{nullptr}, proj{nullptr}, var_proj{nullptr};

 private:
  int64_t dim_, heads_;
};
TORCH_MODULE(TrajectoryAttention);

// The plainest version: full N x N logits per head, softmax per frame slice, explicit loops for
// the diagonal query and the temporal softmax. Same weights as `attn`. For tests only (memory
// O(B h N^2)).
TrajectoryAttentionOutput trajectory_attention_reference(TrajectoryAttentionImpl& attn, const torch::Tensor& x,
                                                         int64_t frames);

}  // namespace tats::core
