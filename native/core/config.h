// The resolved session configuration, as plain C++ data. The TypeScript config (lib/config) owns
// every default and validates ranges (lib/config/resolve.ts); native code trusts what it is given.
#pragma once
#include <cstdint>
#include <string>

namespace tats::core {

struct ModelConfig {
  std::string preset;  // tiny | small | base | large (informational; the sizes below decide)
  int64_t frames = 0, size = 0;  // clip frames and square frame side in pixels
  int64_t tubelet = 0, patch = 0, channels = 0;
  int64_t encoder_dim = 0, encoder_depth = 0, encoder_heads = 0;
  int64_t decoder_dim = 0, decoder_depth = 0, decoder_heads = 0;
  double mlp_ratio = 0;
};

struct MaskingConfig {
  std::string strategy;  // random | tube | frame | adamae | tats
  double ratio = 0;      // share of tokens masked
};

// The learned sampler's settings (TATS / AdaMAE); unused by the fixed strategies.
struct SamplerConfig {
  int64_t dim = 0, heads = 0;
  double temperature = 0;
  int64_t ppo_epochs = 0;
  double clip_eps = 0, value_coef = 0;
  double beta = 0, beta_start = 0;  // KL(q || uniform) weight: log-linear from beta_start over beta_steps
  int64_t beta_steps = 0;
  double target_kl = 0;             // PPO early stop (nats per token)
  // TATS's per-token reward on the masked tokens (docs/tats.md): "error" e_i (adversarial),
  // "negError" -e_i, "progress" e_i - e_i' (e_i' after the MAE's update on the same masks).
  std::string reward;
  double lr = 0, clip_grad = 0, weight_decay = 0;
  int64_t warmup_steps = 0;
  bool detach_input = true;
  bool exact_kl = false;  // telemetry kl: one more forward after the PPO epochs (PpoOptions::exact_kl)
  double adamae_weight = 0;
};

struct OptimConfig {
  double lr = 0, min_lr = 0;
  int64_t warmup_steps = 0, total_steps = 0;
  double weight_decay = 0, beta1 = 0, beta2 = 0;
  double clip_grad = 0;  // max global gradient norm; 0 = no clipping
  // runtime.legacyAdamw: torch::optim::AdamW with per-parameter clipping instead of the fused
  // flat-buffer AdamW (core/optim.h). The session sets it from RuntimeConfig.
  bool legacy_adamw = false;
};

// How the step runs (lib/config's `runtime` section, written into the run's config.json): paths
// that change speed and the rounding of the results, not the model, the data or the schedule.
// Every field is set by lib/config (its defaults: lib/config/defaults.ts).
struct RuntimeConfig {
  bool graph = false;            // runtime.graph: the training step as one CUDA graph where it can be (session.h)
  bool staging = false;          // runtime.staging: the clips' upload through a pinned staging buffer (step_buffers.h)
  std::string sdpa;              // runtime.sdpa: auto | flash | efficient | cudnn | math (configure_sdpa)
  bool layer_norm_bf16 = false;  // runtime.layerNormBf16: LayerNorm on bf16 input under bf16 autocast (vit.h)
  bool legacy_adamw = false;     // runtime.legacyAdamw: torch::optim::AdamW instead of the fused one (optim.h)
  bool rollout_graph = false;    // runtime.rolloutGraph: TATS's first PPO epoch reuses act()'s forward (ppo.h)
  bool ppo_graph = false;        // runtime.ppoGraph: TATS's PPO update as one CUDA graph where it can be (ppo.h)
};

struct SessionConfig {
  ModelConfig model;
  MaskingConfig masking;
  SamplerConfig sampler;
  OptimConfig optim;
  int64_t batch_size = 0;
  std::string device;     // cpu | cuda
  int64_t seed = 0;
  std::string precision;  // fp32 | bf16 (bf16 = autocast on CUDA; CPU always runs fp32)
  int64_t device_index = 0;  // the CUDA device (LOCAL_RANK under data parallelism); unused on CPU
  // Data parallel over the process-wide group (core/distributed.h): batch_size is this rank's
  // share of a global batch of batch_size * world_size clips; gradients, reward statistics and
  // the step's metrics are averaged over the ranks, and masks are drawn for the global batch.
  bool data_parallel = false;
  RuntimeConfig runtime;
};

// Token grid of a clip: N = slots * per_slot tokens in (t, h, w) order.
struct TokenGrid {
  int64_t slots = 0;     // frames / tubelet
  int64_t per_slot = 0;  // (size / patch)^2
  int64_t tokens() const { return slots * per_slot; }
};

inline TokenGrid token_grid(const ModelConfig& m) {
  const int64_t side = m.size / m.patch;
  return {m.frames / m.tubelet, side * side};
}

}  // namespace tats::core
