// ViT building blocks with VideoMAE's layout and parameter names (modeling_pretrain.py /
// modeling_finetune.py): Attention (qkv without bias + q_bias/v_bias), Mlp, pre-LN Block,
// and the fixed sinusoidal position table.
#pragma once
#include <torch/torch.h>

namespace tats::core {

// VideoMAE's LayerNorm epsilon.
constexpr double kLayerNormEps = 1e-6;

// Multi-head self-attention. qkv is one Linear without bias; its bias is (q_bias, 0, v_bias),
// as VideoMAE does it (no key bias). Scale 1/sqrt(head_dim).
struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int64_t dim, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);  // [B, L, dim] -> [B, L, dim]

  int64_t heads;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  torch::Tensor q_bias, v_bias;
};
TORCH_MODULE(Attention);

struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

// LayerNorm as VideoMAE applies it. Inside a LayerNormBf16Scope(true) (the pretraining session
// opens one from runtime.layerNormBf16, on by default; measured -3 ms per base step,
// bench/records/2026-11-24-gpu-call-3.md), a bf16 CUDA input skips autocast's fp32 policy for
// layer_norm: the kernel runs on bf16 input, weight and bias (statistics in fp32) and writes bf16,
// which is what the next Linear would cast autocast's fp32 output to anyway: two cast passes and
// an fp32 activation fewer per norm, forward and backward; the affine uses bf16-rounded weight and
// bias (2^-9 relative). Anything else (and outside such a scope): ln(x).
torch::Tensor layer_norm(torch::nn::LayerNorm ln, const torch::Tensor& x);

// Sets, for this thread and the scope's lifetime, whether layer_norm() takes the bf16 path above
// (restored on exit; thread-local like autocast, because async calls run on pool threads).
class LayerNormBf16Scope {
 public:
  explicit LayerNormBf16Scope(bool enabled);
  ~LayerNormBf16Scope();
  LayerNormBf16Scope(const LayerNormBf16Scope&) = delete;
  LayerNormBf16Scope& operator=(const LayerNormBf16Scope&) = delete;

 private:
  bool prev_;
};

// Pre-LN transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).
struct BlockImpl : torch::nn::Module {
  BlockImpl(int64_t dim, int64_t heads, double mlp_ratio);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

// get_sinusoid_encoding_table(n_position, d_hid) of VideoMAE: [1, positions, dim], fp32;
// even channels sin(pos / 10000^(2*(j/2)/dim)), odd channels cos of the same angle.
torch::Tensor sinusoid_table(int64_t positions, int64_t dim);

// VideoMAE's _init_weights for every Linear and LayerNorm below `module`: xavier-uniform
// weights, zero biases, LayerNorm weight 1 and bias 0.
void init_vit_weights(torch::nn::Module& module);

}  // namespace tats::core
