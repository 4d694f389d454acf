#include "core/trajectory_attention.h"

#include <cmath>

#include "core/linear.h"
#include "core/sampler_attention.h"
#include "kernels/trajectory_pool_op.h"

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
  // 3 x [B, N, h, d] (unbind: one stack in backward), token n = t*S + s.
  const auto parts = linear(x, qkv).view({B, N, 3, h, d}).unbind(2);
  // Queries: every token once per key frame, [B, T*h, N, d] (index t*h + head; the one copy here).
  const auto q = parts[0].transpose(1, 2).unsqueeze(1).expand({B, T, h, N, d}).reshape({B, T * h, N, d});
  // Keys and values of frame t: [B, T, S, h, d] -> [B, T, h, S, d] -> [B, T*h, S, d].
  const auto per_frame = [&](const torch::Tensor& p) {
    return p.view({B, T, S, h, d}).transpose(2, 3).reshape({B, T * h, S, d});
  };
  const auto o = sampler_attention(q, per_frame(parts[1]), per_frame(parts[2]));  // [B, T*h, N, d]
  // -> [B, N, T*h, d] = [B, N, T, C] with C = (head, d): a view when the kernel wrote [B, N, T*h, d]
  // memory (flash / cuDNN do), a copy otherwise.
  return o.transpose(1, 2).reshape({B, N, T, dim_});
}

TrajectoryAttentionOutput TrajectoryAttentionImpl::forward(const torch::Tensor& x, int64_t frames) {
  const auto yt = trajectories(x, frames);  // [B, N, T, C]
  const int64_t B = yt.size(0), N = yt.size(1), T = yt.size(2), S = N / T, R = B * N, C = dim_, h = heads_,
                d = C / h;
  // The query's own frame: ytilde[b, t*S + s, t] = diagonal of [B, T, S, T, C] over dims 1 and 3.
  const auto own = yt.view({B, T, S, T, C}).diagonal(0, 1, 3).permute({0, 3, 1, 2}).reshape({B, N, C});
  const auto qt = linear(own, proj_q);  // [B, N, C], heads concatenated
  // Stage 2 factored through proj_kv's halves (rows head-major: keys 0..C-1, values C..2C-1), so the
  // [B, N, T, 2C] keys and values never exist (trajectory_pool.h):
  //   q_h . k_{h,t} = (Wk_h^T q_h) . yt_t + q_h . bk_h; the second term is the same for every t and
  //   cancels in the softmax over t, so the key bias bk has no effect and its gradient is exactly 0
  //   (it stays a parameter: checkpoints keep proj_kv.weight [2C, C] and proj_kv.bias [2C]);
  //   y_h = sum_t p_t (Wv_h yt_t + bv_h) = Wv_h z_h + bv_h with z_h = sum_t p_t yt_t, as sum_t p_t = 1.
  const auto wk = proj_kv->weight.narrow(0, 0, C).view({h, d, C});
  const auto wv = proj_kv->weight.narrow(0, C, C).view({h, d, C});
  const auto a = torch::bmm(qt.view({R, h, d}).transpose(0, 1), wk);  // [h, R, C]: a_h = q_h Wk_h
  // One read of yt per token: z [h, R, C] and the variance [R, C] (population, over T).
  const auto pool = ops::trajectory_pool(yt.reshape({R, T, C}), a.to(yt.scalar_type()), 1.0 / std::sqrt(double(d)));
  // [h, R, d]: z_h Wv_h^T + bv_h, the bias in the GEMM (and in bf16 under autocast, like the GEMM).
  const auto bv = proj_kv->bias.narrow(0, C, C).view({h, 1, d});
  const auto y = torch::baddbmm(bv, pool.z, wv.transpose(1, 2)).transpose(0, 1).reshape({B, N, C});
  return {linear(y, proj), linear(pool.var.view({B, N, C}), var_proj)};
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
