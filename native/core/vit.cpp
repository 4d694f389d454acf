#include "core/vit.h"

#include <torch/version.h>

#include <c10/core/impl/LocalDispatchKeySet.h>

#include <cmath>

#include "core/linear.h"

namespace tats::core {

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads_) : heads(heads_) {
  TORCH_CHECK(heads > 0 && dim % heads == 0, "Attention: dim (", dim, ") must be a multiple of heads (", heads, ")");
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(false)));
  q_bias = register_parameter("q_bias", torch::zeros({dim}));
  v_bias = register_parameter("v_bias", torch::zeros({dim}));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), L = x.size(1), C = x.size(2), hd = C / heads;
  const auto bias = torch::cat({q_bias, torch::zeros_like(v_bias), v_bias});
  // [B, L, 3C] -> 3 x [B, L, heads, hd] -> [B, heads, L, hd] views. unbind's backward is one stack;
  // indexing a permuted [3, B, heads, L, hd] cost a zero-fill, a copy and an add per part.
  const auto parts = linear(x, qkv->weight, bias).view({B, L, 3, heads, hd}).unbind(2);
  const auto q = parts[0].transpose(1, 2), k = parts[1].transpose(1, 2), v = parts[2].transpose(1, 2);
#if TORCH_VERSION_MAJOR >= 2
  // Flash / memory-efficient kernels where the device has them; default scale 1/sqrt(hd).
  auto out = at::scaled_dot_product_attention(q, k, v);
#else
  const auto attn = torch::softmax(torch::matmul(q * (1.0 / std::sqrt(static_cast<double>(hd))), k.transpose(-2, -1)),
                                   /*dim=*/-1);
  auto out = torch::matmul(attn, v);
#endif
  return linear(out.transpose(1, 2).reshape({B, L, C}), proj);
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) { return linear(torch::gelu(linear(x, fc1)), fc2); }

BlockImpl::BlockImpl(int64_t dim, int64_t heads, double mlp_ratio) {
  const auto ln = torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps);
  norm1 = register_module("norm1", torch::nn::LayerNorm(ln));
  attn = register_module("attn", Attention(dim, heads));
  norm2 = register_module("norm2", torch::nn::LayerNorm(ln));
  mlp = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * mlp_ratio)));
}

namespace {
thread_local bool layer_norm_bf16 = false;  // LayerNormBf16Scope
}  // namespace

LayerNormBf16Scope::LayerNormBf16Scope(bool enabled) : prev_(layer_norm_bf16) { layer_norm_bf16 = enabled; }
LayerNormBf16Scope::~LayerNormBf16Scope() { layer_norm_bf16 = prev_; }

torch::Tensor layer_norm(torch::nn::LayerNorm ln, const torch::Tensor& x) {
  if (layer_norm_bf16 && x.is_cuda() && x.scalar_type() == torch::kBFloat16) {
    const c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCUDA);
    // Weight and bias cast to bf16 too (the CUDA kernel takes one dtype; statistics stay fp32).
    return at::layer_norm(x, ln->options.normalized_shape(), ln->weight.to(torch::kBFloat16),
                          ln->bias.to(torch::kBFloat16), ln->options.eps());
  }
  return ln(x);
}

torch::Tensor BlockImpl::forward(torch::Tensor x) {
  x = x + attn(layer_norm(norm1, x));
  return x + mlp(layer_norm(norm2, x));
}

torch::Tensor sinusoid_table(int64_t positions, int64_t dim) {
  // Computed in double as VideoMAE does (numpy), then stored as fp32.
  auto table = torch::empty({positions, dim}, torch::kDouble);
  auto a = table.accessor<double, 2>();
  for (int64_t pos = 0; pos < positions; ++pos) {
    for (int64_t j = 0; j < dim; ++j) {
      const double angle = pos / std::pow(10000.0, 2.0 * static_cast<double>(j / 2) / static_cast<double>(dim));
      a[pos][j] = (j % 2 == 0) ? std::sin(angle) : std::cos(angle);
    }
  }
  return table.to(torch::kFloat).unsqueeze(0);
}

void init_vit_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* linear = m->as<torch::nn::Linear>()) {
      torch::nn::init::xavier_uniform_(linear->weight);
      if (linear->bias.defined()) torch::nn::init::zeros_(linear->bias);
    } else if (auto* norm = m->as<torch::nn::LayerNorm>()) {
      torch::nn::init::ones_(norm->weight);
      torch::nn::init::zeros_(norm->bias);
    }
  }
}

}  // namespace tats::core
