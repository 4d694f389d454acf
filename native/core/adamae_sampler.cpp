#include "core/adamae_sampler.h"

#include "core/linear.h"
#include "core/sampler_attention.h"

namespace tats::core {

namespace nn = torch::nn;

namespace {

constexpr double kLayerNormEps = 1e-6;
constexpr double kInitStd = 0.02;

}  // namespace

AdaMaeSamplerImpl::AdaMaeSamplerImpl(const AdaMaeSamplerOptions& o) : options_(o) {
  TORCH_CHECK(o.input_dim > 0 && o.dim > 0 && o.heads > 0 && o.dim % o.heads == 0 && o.tokens > 0,
              "AdaMaeSampler: bad options (input_dim ", o.input_dim, ", dim ", o.dim, ", heads ", o.heads,
              ", tokens ", o.tokens, ")");
  const int64_t C = o.dim;
  if (C != o.input_dim) embed = register_module("embed", nn::Linear(nn::LinearOptions(o.input_dim, C)));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, o.tokens, C}));
  norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({C}).eps(kLayerNormEps)));
  qkv = register_module("qkv", nn::Linear(nn::LinearOptions(C, 3 * C)));
  proj = register_module("proj", nn::Linear(nn::LinearOptions(C, C)));
  norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({C}).eps(kLayerNormEps)));
  mlp = register_module("mlp", nn::Sequential(nn::Linear(nn::LinearOptions(C, o.mlp_ratio * C)), nn::GELU(),
                                              nn::Linear(nn::LinearOptions(o.mlp_ratio * C, C))));
  head = register_module("head", nn::Linear(nn::LinearOptions(C, 1)));
  for (auto& mod : modules(/*include_self=*/false)) {
    if (auto* lin = mod->as<nn::Linear>()) {
      trunc_normal_(lin->weight, kInitStd);
      torch::NoGradGuard ng;
      lin->bias.zero_();
    }
  }
}

SamplerOutput AdaMaeSamplerImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3 && x.size(1) == options_.tokens && x.size(2) == options_.input_dim,
              "AdaMaeSampler: input must be [B, ", options_.tokens, ", ", options_.input_dim, "], got ", x.sizes());
  const int64_t B = x.size(0), N = x.size(1), C = options_.dim, h = options_.heads, d = C / h;
  auto z = (embed ? linear(x, embed) : x) + pos_embed;
  // 3 x [B, N, h, d] -> [B, h, N, d] views (unbind: one stack in backward)
  const auto parts = linear(norm1->forward(z), qkv).view({B, N, 3, h, d}).unbind(2);
  const auto a = sampler_attention(parts[0].transpose(1, 2), parts[1].transpose(1, 2), parts[2].transpose(1, 2))
                     .transpose(1, 2)
                     .reshape({B, N, C});
  z = z + linear(a, proj);
  z = z + linear_gelu_linear(mlp, norm2->forward(z));
  return {linear(z, head).squeeze(-1), torch::Tensor()};
}

torch::Tensor adamae_sampling_loss(const torch::Tensor& logits, const torch::Tensor& masked,
                                   const torch::Tensor& errors) {
  TORCH_CHECK(logits.dim() == 2 && masked.dim() == 2 && errors.sizes() == masked.sizes() &&
                  masked.size(0) == logits.size(0),
              "adamae_sampling_loss: logits [B, N], masked and errors [B, M] expected");
  const auto dt = logits.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const auto log_p = torch::log_softmax(logits.to(dt), -1).gather(1, masked);
  return -(log_p * errors.detach().to(dt)).mean(1).mean();
}

}  // namespace tats::core
