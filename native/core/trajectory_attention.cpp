#include "core/trajectory_attention.h"

#include <cmath>

#include "core/sampler_attention.h"
#include "kernels/trajectory_temporal_op.h"

namespace tats::core {

namespace nn = torch::nn;

TrajectoryAttentionImpl::TrajectoryAttentionImpl(int64_t dim, int64_t heads) : dim_(dim), heads_(heads) {
  TORCH_CHECK(dim > 0 && heads > 0 && dim % heads == 0, "TrajectoryAttention: dim (", dim,
              ") must be a positive multiple of heads (", heads, ")");
  qkv = register_module("qkv", nn::Linear(nn::LinearOptions(dim, 3 * dim)));
  proj_q = register_module("proj_q", nn::Linear(nn::LinearOptions(dim, dim)));
  proj_kv = register_module("proj_kv", nn::Linear(nn::LinearOptions(dim, 2 * dim)));
  proj = register_module("proj", nn::Linear(nn::LinearOptions(dim, dim)));
  var_proj = register_module("var_proj", nn::Linear(nn::LinearOptions(dim, dim)));
}

torch::Tensor TrajectoryAttentionImpl::trajectories(const torch::Tensor& x, int64_t frames) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == dim_, "TrajectoryAttention: x must be [B, N, ", dim_, "], got ",
              x.sizes());
  const int64_t B = x.size(0), N = x.size(1), T = frames;
  TORCH_CHECK(T > 0 && N % T == 0, "TrajectoryAttention: tokens (", N, ") must be a multiple of frames (", T, ")");
  const int64_t S = N / T, h = heads_, d = dim_ / heads_;
  // [B, N, 3, h, d] -> [3, B, h, N, d]
  const auto qkv_ = qkv->forward(x).view({B, N, 3, h, d}).permute({2, 0, 3, 1, 4}).contiguous();
  const auto q = qkv_[0], k = qkv_[1].view({B, h, T, S, d}), v = qkv_[2].view({B, h, T, S, d});
  // One attention per frame t': all N queries against that frame's S keys. Peak extra memory is
  // one frame's logits, B*h*N*S (none with the fused kernels).
  std::vector<torch::Tensor> per_frame;
  per_frame.reserve(T);
  for (int64_t t = 0; t < T; ++t) per_frame.push_back(sampler_attention(q, k.select(2, t), v.select(2, t)));
  // T x [B, h, N, d] -> [B, h, N, T, d] -> [B, N, T, h, d] -> [B, N, T, C]
  return torch::stack(per_frame, 3).permute({0, 2, 3, 1, 4}).reshape({B, N, T, dim_});
}

TrajectoryAttentionOutput TrajectoryAttentionImpl::forward(const torch::Tensor& x, int64_t frames) {
  const auto yt = trajectories(x, frames);  // [B, N, T, C]
  const int64_t B = yt.size(0), N = yt.size(1), T = yt.size(2), S = N / T, h = heads_, d = dim_ / heads_;
  // The query's own frame: ytilde[b, t*S + s, t] = diagonal of [B, T, S, T, C] over dims 1 and 3.
  const auto own = yt.view({B, T, S, T, dim_}).diagonal(0, 1, 3).permute({0, 3, 1, 2}).reshape({B, N, dim_});
  // Per token and head: one query against its T trajectory keys (kernel op: one warp per row on
  // CUDA, online softmax over T; differentiable).
  const auto qt = proj_q->forward(own).view({B, N, h, d});
  const auto kv = proj_kv->forward(yt).view({B, N, T, 2, h, d}).permute({3, 0, 1, 4, 2, 5});  // [2, B, N, h, T, d]
  const auto y = ops::trajectory_temporal(qt, kv[0].to(qt.scalar_type()), kv[1].to(qt.scalar_type()))
                     .reshape({B, N, dim_});
  const auto var = ops::trajectory_variance(yt);  // [B, N, C], population variance over T
  return {proj->forward(y), var_proj->forward(var)};
}

TrajectoryAttentionOutput trajectory_attention_reference(TrajectoryAttentionImpl& attn, const torch::Tensor& x,
                                                         int64_t frames) {
  const int64_t B = x.size(0), N = x.size(1), C = attn.dim(), h = attn.heads(), d = C / h, T = frames, S = N / T;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto W = attn.qkv->weight, bias = attn.qkv->bias;
  const auto qkv = torch::matmul(x, W.t()) + bias;  // [B, N, 3C], columns q | k | v, head-major inside
  auto yt = torch::zeros({B, N, T, C}, x.options());
  for (int64_t hd = 0; hd < h; ++hd) {
    const auto q = qkv.slice(2, hd * d, (hd + 1) * d);                  // [B, N, d]
    const auto k = qkv.slice(2, C + hd * d, C + (hd + 1) * d);
    const auto v = qkv.slice(2, 2 * C + hd * d, 2 * C + (hd + 1) * d);
    const auto logits = torch::bmm(q, k.transpose(1, 2)) * scale;       // [B, N, N]: everything
    for (int64_t t = 0; t < T; ++t) {
      const auto a = torch::softmax(logits.slice(2, t * S, (t + 1) * S), 2);      // [B, N, S]
      yt.select(2, t).slice(2, hd * d, (hd + 1) * d).copy_(torch::bmm(a, v.slice(1, t * S, (t + 1) * S)));
    }
  }
  auto y = torch::zeros({B, N, C}, x.options());
  for (int64_t n = 0; n < N; ++n) {
    const int64_t own_t = n / S;
    const auto qt = attn.proj_q->forward(yt.select(1, n).select(1, own_t));       // [B, C]
    const auto kv = attn.proj_kv->forward(yt.select(1, n));                       // [B, T, 2C]
    for (int64_t hd = 0; hd < h; ++hd) {
      const auto qh = qt.slice(1, hd * d, (hd + 1) * d);                          // [B, d]
      const auto kh = kv.slice(2, hd * d, (hd + 1) * d);                          // [B, T, d]
      const auto vh = kv.slice(2, C + hd * d, C + (hd + 1) * d);
      const auto w = torch::softmax((kh * qh.unsqueeze(1)).sum(2) * scale, 1);    // [B, T]
      y.select(1, n).slice(1, hd * d, (hd + 1) * d).copy_((w.unsqueeze(2) * vh).sum(1));
    }
  }
  const auto mean = yt.mean(2, /*keepdim=*/true);
  const auto var = (yt - mean).pow(2).mean(2);
  return {attn.proj->forward(y), attn.var_proj->forward(var)};
}

}  // namespace tats::core
