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
//     Computed factored through proj_kv's key and value halves (exact algebra, only rounding
//     differs): a_h = Wk_h^T qt_h, p = softmax_t'(a_h . ytilde_t' / sqrt(d)) (the key bias cancels),
//     z_h = sum_t' p ytilde_t', y_h = Wv_h z_h + bv_h. The keys and values [B, N, T, 2C] are never
//     formed: two small GEMMs batched over heads and the trajectory_pool kernel op, which reads
//     ytilde once per token.
//   variance: var_t'(ytilde[n, t', c]) per channel (population variance over the T frames, from
//     the same trajectory_pool pass), then var_proj (Linear C -> C): how much a token's content
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
// the diagonal query and the temporal softmax over proj_kv's keys and values (the unfactored
// definition of stage 2). Same weights as `attn`. For tests only (memory
// O(B h N^2)).
TrajectoryAttentionOutput trajectory_attention_reference(TrajectoryAttentionImpl& attn, const torch::Tensor& x,
                                                         int64_t frames);

}  // namespace tats::core
