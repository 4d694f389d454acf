#include "core/videomae.h"

#include "core/linear.h"
#include "kernels/decoder_assemble_op.h"
#include "kernels/gather_visible_op.h"

namespace tats::core {

torch::Tensor take_rows(const torch::Tensor& table, const torch::Tensor& index) {
  return table.index_select(0, index.reshape({-1})).view({index.size(0), index.size(1), table.size(1)});
}

torch::Tensor take_tokens(const torch::Tensor& x, const torch::Tensor& index) {
  return torch::gather(x, 1, index.unsqueeze(-1).expand({index.size(0), index.size(1), x.size(2)}));
}

PatchEmbedImpl::PatchEmbedImpl(int64_t channels, int64_t dim, int64_t tubelet, int64_t patch) {
  // Conv3d keeps PyTorch's default init, as in VideoMAE (its _init_weights touches Linear/LayerNorm only).
  proj = register_module(
      "proj", torch::nn::Conv3d(torch::nn::Conv3dOptions(channels, dim, {tubelet, patch, patch}).stride({tubelet, patch, patch})));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& patches) {
  return linear(patches, proj->weight.view({proj->weight.size(0), -1}), proj->bias);
}

namespace {
torch::nn::ModuleList make_blocks(int64_t depth, int64_t dim, int64_t heads, double mlp_ratio) {
  torch::nn::ModuleList blocks;
  for (int64_t i = 0; i < depth; ++i) blocks->push_back(Block(dim, heads, mlp_ratio));
  return blocks;
}
}  // namespace

EncoderImpl::EncoderImpl(const ModelConfig& cfg) {
  const auto grid = token_grid(cfg);
  patch_embed = register_module("patch_embed", PatchEmbed(cfg.channels, cfg.encoder_dim, cfg.tubelet, cfg.patch));
  blocks = register_module("blocks", make_blocks(cfg.encoder_depth, cfg.encoder_dim, cfg.encoder_heads, cfg.mlp_ratio));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.encoder_dim}).eps(kLayerNormEps)));
  pos = sinusoid_table(grid.tokens(), cfg.encoder_dim).squeeze(0);
}

torch::Tensor EncoderImpl::input(const torch::Tensor& patches, const torch::Tensor& tokens,
                                 const torch::Tensor& visible) {
  // VideoMAE adds positions to all tokens and then keeps the visible ones; same thing, one fused
  // gather + add (kernels/gather_visible).
  if (tokens.defined()) return ops::gather_visible(tokens, pos, visible);
  // The patches carry no gradient: a plain gather. The position add follows gather_visible's
  // rule (in fp32, the result in the embedding's dtype: bf16 under autocast).
  const auto x = patch_embed(take_tokens(patches, visible));  // [B, Nv, D]
  return x.to(torch::kFloat).add(take_rows(pos, visible)).to(x.scalar_type());
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& patches, const torch::Tensor& tokens,
                                   const torch::Tensor& visible) {
  auto x = input(patches, tokens, visible);
  for (const auto& block : *blocks) x = block->as<Block>()->forward(x);
  return layer_norm(norm, x);
}

DecoderImpl::DecoderImpl(const ModelConfig& cfg) {
  const int64_t out = cfg.channels * cfg.tubelet * cfg.patch * cfg.patch;
  blocks = register_module("blocks", make_blocks(cfg.decoder_depth, cfg.decoder_dim, cfg.decoder_heads, cfg.mlp_ratio));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.decoder_dim}).eps(kLayerNormEps)));
  head = register_module("head", torch::nn::Linear(cfg.decoder_dim, out));
}

torch::Tensor DecoderImpl::forward(torch::Tensor x, int64_t predict) {
  for (const auto& block : *blocks) x = block->as<Block>()->forward(x);
  return linear(layer_norm(norm, x.narrow(1, x.size(1) - predict, predict)), head);
}

VideoMAEImpl::VideoMAEImpl(const ModelConfig& cfg_) : cfg(cfg_) {
  TORCH_CHECK(cfg.channels == 3, "VideoMAE: channels must be 3, got ", cfg.channels);
  TORCH_CHECK(cfg.frames % cfg.tubelet == 0 && cfg.size % cfg.patch == 0, "VideoMAE: frames (", cfg.frames,
              ") and size (", cfg.size, ") must be multiples of tubelet (", cfg.tubelet, ") and patch (", cfg.patch, ")");
  // Registration order follows VideoMAE's state_dict order.
  mask_token = register_parameter("mask_token", torch::zeros({1, 1, cfg.decoder_dim}));
  encoder = register_module("encoder", Encoder(cfg));
  decoder = register_module("decoder", Decoder(cfg));
  encoder_to_decoder = register_module(
      "encoder_to_decoder", torch::nn::Linear(torch::nn::LinearOptions(cfg.encoder_dim, cfg.decoder_dim).bias(false)));
  pos = sinusoid_table(token_grid(cfg).tokens(), cfg.decoder_dim).squeeze(0);
  init_vit_weights(*this);
  torch::NoGradGuard no_grad;
  // timm trunc_normal_(std=0.02): normal truncated to [-2, 2] (absolute), i.e. +-100 std: a plain normal.
  mask_token.normal_(0.0, 0.02).clamp_(-2.0, 2.0);
}

torch::Tensor VideoMAEImpl::embed(const torch::Tensor& patches) { return encoder->patch_embed(patches); }

torch::Tensor VideoMAEImpl::forward(const torch::Tensor& patches, const torch::Tensor& tokens,
                                    const torch::Tensor& visible, const torch::Tensor& masked) {
  const auto x_vis = linear(encoder(patches, tokens, visible), encoder_to_decoder);  // [B, Nv, Cd]
  // VideoMAE order: [visible + pos ; mask_token + pos], one fused pass (kernels/decoder_assemble);
  // the decoder predicts the last Nm rows.
  const auto x_full = ops::decoder_assemble(x_vis, mask_token, pos, visible, masked);
  return decoder(x_full, masked.size(1));
}

void VideoMAEImpl::to_device(const torch::Device& device) {
  to(device);
  encoder->pos = encoder->pos.to(device);
  pos = pos.to(device);
}

}  // namespace tats::core
