// VideoMAE's pretraining model (PretrainVisionTransformer): encoder on visible tokens only,
// Linear encoder->decoder, learnable mask token, decoder predicting the masked tokens.
// named_parameters() gives exactly VideoMAE's state_dict names (test/fixtures lists them for
// ViT-B); the position tables are fixed tensors outside the state dict, as in VideoMAE.
#pragma once
#include <torch/torch.h>

#include "core/config.h"
#include "core/vit.h"

namespace tats::core {

// patch_embed.proj is VideoMAE's Conv3d(3, D, kernel = stride = (tt, p, p)). Its stride equals
// its kernel, so it is a matmul on patchify's output: patches [B, N, 3*tt*p*p] in (c, dt, dy, dx)
// order, which is the order of weight.view(D, -1).
struct PatchEmbedImpl : torch::nn::Module {
  PatchEmbedImpl(int64_t channels, int64_t dim, int64_t tubelet, int64_t patch);
  torch::Tensor forward(const torch::Tensor& patches);  // [B, N, 3*tt*p*p] -> [B, N, D]

  torch::nn::Conv3d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

struct EncoderImpl : torch::nn::Module {
  EncoderImpl(const ModelConfig& cfg);
  // The blocks' input [B, Nv, D]: the visible tokens' patch embeddings plus their positions.
  // patches: patchify's [B, N, 3*tt*p*p]; visible: int64 [B, Nv] ascending. tokens: the patch
  // embeddings of all N tokens [B, N, D] (embed()) when a sampler needed them, else undefined.
  // With tokens: their visible rows are gathered and the positions added, one fused pass
  // (kernels/gather_visible), as VideoMAE does (positions on all tokens, then keep the visible).
  // Without: the visible patches are gathered and only they are embedded: the same rows of the
  // same matmul as embedding all of them, at Nv/N of its work (forward and weight gradient).
  torch::Tensor input(const torch::Tensor& patches, const torch::Tensor& tokens, const torch::Tensor& visible);
  // blocks and norm on input(patches, tokens, visible) -> [B, Nv, D]
  torch::Tensor forward(const torch::Tensor& patches, const torch::Tensor& tokens, const torch::Tensor& visible);

  PatchEmbed patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::Tensor pos;  // [N, D] fixed sinusoid table, not a parameter
};
TORCH_MODULE(Encoder);

struct DecoderImpl : torch::nn::Module {
  DecoderImpl(const ModelConfig& cfg);
  // x: [B, L, Cd]; returns head(norm(x[:, -predict:])) -> [B, predict, 3*tt*p*p]
  torch::Tensor forward(torch::Tensor x, int64_t predict);

  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(Decoder);

struct VideoMAEImpl : torch::nn::Module {
  explicit VideoMAEImpl(const ModelConfig& cfg);

  // Patch embeddings of every token, [B, N, D] (a learned sampler's input, before positions).
  // Only for samplers that read them (MaskSampler::reads_tokens): forward() embeds the visible
  // patches itself otherwise.
  torch::Tensor embed(const torch::Tensor& patches);
  // Predictions for the masked tokens, [B, Nm, 3*tt*p*p], in the order of `masked`.
  // patches: patchify's [B, N, 3*tt*p*p]; tokens: embed(patches) if the caller has it (a sampler
  // read it; then it is gathered, and gradients reach patch_embed through it), undefined
  // otherwise (only the visible patches are embedded: Encoder::input). visible [B, Nv] and
  // masked [B, Nm]: int64, ascending, disjoint.
  torch::Tensor forward(const torch::Tensor& patches, const torch::Tensor& tokens, const torch::Tensor& visible,
                        const torch::Tensor& masked);
  // Moves the module and its fixed position tables.
  void to_device(const torch::Device& device);

  ModelConfig cfg;
  Encoder encoder{nullptr};
  torch::nn::Linear encoder_to_decoder{nullptr};
  torch::Tensor mask_token;  // [1, 1, Cd]
  Decoder decoder{nullptr};
  torch::Tensor pos;  // decoder position table [N, Cd], fixed
};
TORCH_MODULE(VideoMAE);

// Rows of `table` [N, C] picked by `index` [B, K] -> [B, K, C].
torch::Tensor take_rows(const torch::Tensor& table, const torch::Tensor& index);
// Tokens of `x` [B, N, C] picked per clip by `index` [B, K] -> [B, K, C].
torch::Tensor take_tokens(const torch::Tensor& x, const torch::Tensor& index);

}  // namespace tats::core
