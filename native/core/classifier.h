// VideoMAE's fine-tuning model (modeling_finetune.py VisionTransformer with use_mean_pooling):
// patch_embed -> + fixed sinusoid positions -> blocks (with drop path) -> mean over tokens ->
// fc_norm -> head. No final `norm` (VideoMAE sets it to Identity when fc_norm is used), no
// cls token, positions are a fixed table. Parameter names follow
// test/fixtures/videomae_finetune_base_keys.txt, so a pretraining encoder's `encoder.*` weights load
// with the prefix removed and a converted VideoMAE fine-tuning checkpoint loads as it is.
//
// ClassifierSession trains it with VideoMAE's fine-tuning recipe: AdamW with layer-wise lr decay,
// label smoothing, optional mixup/cutmix (per batch, the same box on every frame), warmup then
// cosine; `linear_probe` freezes the encoder so that only fc_norm and head train.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/vit.h"
#include "core/videomae.h"

namespace tats::core {

// The resolved fine-tuning configuration (lib/eval fills every field; no defaults here).
struct ClassifierConfig {
  ModelConfig model;  // decoder fields unused
  int64_t classes = 0;
  double drop_path = 0;       // stochastic depth rate of the last block (linear from 0)
  bool linear_probe = false;  // freeze patch_embed and blocks
  double layer_decay = 0;     // lr factor decay^(L + 1 - layer id); 1 = none
  double label_smoothing = 0;
  double mixup = 0, cutmix = 0;  // Beta alphas; 0 = off
  double mixup_prob = 0, switch_prob = 0;
  OptimConfig optim;
  int64_t batch_size = 0;
  std::string device;
  int64_t seed = 0;
  std::string precision;  // fp32 | bf16 (bf16 = autocast on CUDA; CPU runs fp32)
};

// A pre-LN block with stochastic depth on both residual branches, VideoMAE's Block with
// drop_path. Same parameter names as core::Block (norm1, attn, norm2, mlp).
struct DropPathBlockImpl : torch::nn::Module {
  DropPathBlockImpl(int64_t dim, int64_t heads, double mlp_ratio, double drop_path);
  // gen: CPU generator for the drop draws on CPU (undefined on CUDA: the default CUDA one).
  torch::Tensor forward(torch::Tensor x, c10::optional<torch::Generator> gen);

  double drop_path;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(DropPathBlock);

struct VideoClassifierImpl : torch::nn::Module {
  VideoClassifierImpl(const ModelConfig& cfg, int64_t classes, double drop_path);
  // patches: [B, N, 3*tt*p*p] normalised (ops::patchify layout) -> logits [B, classes]
  torch::Tensor forward(const torch::Tensor& patches, c10::optional<torch::Generator> gen);
  void to_device(const torch::Device& device);

  PatchEmbed patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm fc_norm{nullptr};
  torch::nn::Linear head{nullptr};
  torch::Tensor pos;  // [N, D] fixed
};
TORCH_MODULE(VideoClassifier);

struct ClassifierStep {
  int64_t step = 0;
  double loss = 0, acc = 0, lr = 0, grad_norm = 0, step_ms = 0;
};

struct LoadReport {
  std::vector<std::string> missing, unexpected;
};

class ClassifierSession {
 public:
  explicit ClassifierSession(const ClassifierConfig& config);

  // clips uint8 [B, T, H, W, 3] (B = batchSize), labels int64 [B] in [0, classes).
  ClassifierStep train_step(const torch::Tensor& clips, const torch::Tensor& labels);
  // Any whole number of clips -> fp32 CPU logits [B, classes] (eval mode, no drop path).
  torch::Tensor predict(const torch::Tensor& clips);

  // Model weights (fine-tuning names) and state.step.
  std::vector<std::pair<std::string, torch::Tensor>> state_dict() const;
  // strict: every weight present, every name known. Otherwise loads what matches and reports
  // the rest. Shapes must always agree.
  LoadReport load_state_dict(const std::map<std::string, torch::Tensor>& entries, bool strict);

  int64_t step() const { return step_; }
  const ClassifierConfig& config() const { return cfg_; }

 private:
  torch::Tensor patches(const torch::Tensor& clips) const;
  void build_optimizer();

  ClassifierConfig cfg_;
  torch::Device device_;
  bool autocast_ = false;
  VideoClassifier model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> adamw_;
  std::vector<double> group_scale_;  // lr factor per optimiser group (layer decay)
  std::vector<torch::Tensor> trainable_;
  torch::Generator gen_;  // drop path draws (CPU)
  std::mt19937_64 mix_rng_;
  int64_t step_ = 0;
};

}  // namespace tats::core
