#include "core/tats_sampler.h"

#include "core/linear.h"
#include "core/vit.h"
#include "kernels/budget_shift_op.h"

namespace tats::core {

namespace nn = torch::nn;

namespace {

constexpr double kInitStd = 0.02;       // ViT init for linear weights and position embeddings

nn::Sequential two_layer_mlp(int64_t in, int64_t hidden, int64_t out) {
  return nn::Sequential(nn::Linear(nn::LinearOptions(in, hidden)), nn::GELU(),
                        nn::Linear(nn::LinearOptions(hidden, out)));
}

void init_linears(nn::Module& m) {
  for (auto& mod : m.modules(/*include_self=*/false)) {
    if (auto* lin = mod->as<nn::Linear>()) {
      trunc_normal_(lin->weight, kInitStd);
      if (lin->bias.defined()) {
        torch::NoGradGuard ng;
        lin->bias.zero_();
      }
    }
  }
}

void zero_last_linear(nn::Sequential& seq) {
  torch::NoGradGuard ng;
  auto last = seq->ptr(seq->size() - 1)->as<nn::Linear>();
  last->weight.zero_();
  last->bias.zero_();
}

}  // namespace

void trunc_normal_(torch::Tensor t, double std) {
  torch::NoGradGuard ng;
  t.normal_(0.0, std).clamp_(-2.0 * std, 2.0 * std);
}

torch::Tensor budget_shift(const torch::Tensor& s, int64_t k) {
  TORCH_CHECK(s.dim() == 2 && k >= 1 && k < s.size(1), "budget_shift: s must be [B, N] and k in [1, N), got ",
              s.sizes(), " and k = ", k);
  // One fused solve per row (kernels/budget_shift.h: bisection, then Newton, in fp64); the op reads
  // fp32 or fp64 scores, anything else is widened first.
  const auto st = s.scalar_type();
  const bool read_as_is = st == torch::kFloat || st == torch::kDouble;
  return ops::budget_shift(read_as_is ? s.detach() : s.detach().to(torch::kDouble), k);
}

torch::Tensor budget_logits(const torch::Tensor& logits, int64_t k, double temperature) {
  TORCH_CHECK(temperature > 0.0, "budget_logits: temperature must be > 0, got ", temperature);
  const auto dtype = logits.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const auto s = logits.to(dtype) / temperature;
  const auto c0 = budget_shift(s, k).to(dtype);
  // One Newton step with s live: at the solved c0 its value is c0 (the residual is ~0) and its
  // gradient is the implicit one, dc/ds_j = q_j (1 - q_j) / sum_i q_i (1 - q_i).
  const auto q = torch::sigmoid(s - c0);
  const auto slope = (q * (1.0 - q)).sum(1, /*keepdim=*/true).detach().clamp_min(1e-12);
  const auto c = c0 + (q.sum(1, /*keepdim=*/true) - static_cast<double>(k)) / slope;
  return s - c;
}

TatsSamplerImpl::TatsSamplerImpl(const TatsSamplerOptions& o) : options_(o) {
  TORCH_CHECK(o.input_dim > 0 && o.dim > 0 && o.tokens > 0 && o.frames > 0 && o.tokens % o.frames == 0,
              "TatsSampler: bad options (input_dim ", o.input_dim, ", dim ", o.dim, ", tokens ", o.tokens,
              ", frames ", o.frames, ")");
  const int64_t C = o.dim;
  embed = register_module("embed", nn::Linear(nn::LinearOptions(o.input_dim, C)));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, o.tokens, C}));
  trunc_normal_(pos_embed, kInitStd);
  norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({C}).eps(kLayerNormEps)));
  attn = register_module("attn", TrajectoryAttention(C, o.heads));
  norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({C}).eps(kLayerNormEps)));
  mlp = register_module("mlp", two_layer_mlp(C, o.mlp_ratio * C, C));
  norm_y = register_module("norm_y", nn::LayerNorm(nn::LayerNormOptions({C}).eps(kLayerNormEps)));
  norm_v = register_module("norm_v", nn::LayerNorm(nn::LayerNormOptions({C}).eps(kLayerNormEps)));
  actor = register_module("actor", two_layer_mlp(2 * C, C, 1));
  critic = register_module("critic", two_layer_mlp(2 * C, C, 1));
  init_linears(*this);
  zero_last_linear(actor);
  zero_last_linear(critic);
}

SamplerOutput TatsSamplerImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3 && x.size(1) == options_.tokens && x.size(2) == options_.input_dim,
              "TatsSampler: input must be [B, ", options_.tokens, ", ", options_.input_dim, "], got ", x.sizes());
  // Under bf16 autocast the residual stream stays bf16 (positions cast to the embedding's dtype) and
  // the norms run in bf16 (core/vit.h layer_norm): no fp32 copies of the [B, N, C] activations
  // between the bf16 GEMMs. In fp32 this is the plain computation.
  const auto e = linear(x, embed);
  auto z = e + pos_embed.to(e.scalar_type());
  const auto ta = attn->forward(layer_norm(norm1, z), options_.frames);
  z = z + ta.y;
  z = z + linear_gelu_linear(mlp, layer_norm(norm2, z));
  const auto f = torch::cat({layer_norm(norm_y, z), layer_norm(norm_v, ta.variance)}, -1);  // [B, N, 2C]
  return {linear_gelu_linear(actor, f).squeeze(-1), linear_gelu_linear(critic, f).squeeze(-1)};
}

}  // namespace tats::core
