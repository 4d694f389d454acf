// masking.strategy 'tats': the TATS sampler behind the session's MaskSampler interface
// (core/ppo.h, docs/tats.md). One training step (Session::train_step) runs the joint loop:
//   sample():  exactly k tokens masked with marginals q_old (budgeted per-token Bernoulli), no grad;
//              the rollout (state, action, z_old, V_old) rides in MaskDraw::aux;
//   (session)  MAE forward / backward / update on those masks, per-token errors e_i;
//   update():  rewards on the masked tokens (config.sampler.reward: e_i, -e_i, or e_i - e_i' with
//              e_i' after the MAE's update), up to K PPO epochs on theta (its own AdamW).
// The sampler always reads detached embeddings: PPO trains theta only, with its own optimiser,
// so detachInput does not apply to it (it does to AdaMAE).
#include <cmath>
#include <string>

#include "core/mask_sampler.h"
#include "core/masking.h"
#include "core/ppo.h"
#include "core/sampler_state.h"
#include "core/tats_sampler.h"

namespace tats::core {

namespace {

const char* const kRewardMean = "reward_norm.mean";
const char* const kRewardVar = "reward_norm.var";
const char* const kRewardBatches = "reward_norm.batches";
const char* const kUpdates = "ppo.updates";

class TatsMaskSampler : public MaskSampler {
 public:
  explicit TatsMaskSampler(const SamplerContext& ctx)
      : precision_bf16_(ctx.config.precision == "bf16"),
        masked_(masked_count("tats", ctx.config.masking.ratio, ctx.grid)),
        reward_(ctx.config.sampler.reward),
        rollout_graph_(ctx.config.runtime.rollout_graph) {
    const auto& s = ctx.config.sampler;
    TORCH_CHECK(reward_ == "error" || reward_ == "negError" || reward_ == "progress",
                "tats sampler: config.sampler.reward must be 'error', 'negError' or 'progress', got '", reward_, "'");
    TatsSamplerOptions so;
    so.input_dim = ctx.embed_dim;
    so.dim = s.dim;
    so.heads = s.heads;
    so.tokens = ctx.grid.tokens();
    so.frames = ctx.grid.slots;
    PpoOptions po;
    po.epochs = s.ppo_epochs;
    po.clip_eps = s.clip_eps;
    po.value_coef = s.value_coef;
    po.temperature = s.temperature;
    po.beta = s.beta;
    po.beta_start = s.beta_start;
    po.beta_steps = s.beta_steps;
    po.target_kl = s.target_kl;
    po.exact_kl = s.exact_kl;
    po.lr = s.lr;
    po.warmup_steps = s.warmup_steps;
    po.clip_grad = s.clip_grad;
    po.weight_decay = s.weight_decay;
    po.legacy_adamw = ctx.config.runtime.legacy_adamw;
    ppo_ = std::make_unique<PpoTrainer>(TatsSampler(so), po, masked_);
    if (ctx.group) ppo_->set_group(ctx.group);
    ppo_->set_graph(ctx.config.runtime.ppo_graph);
    to_device(ctx.device);
  }

  MaskDraw sample(const torch::Tensor& tokens, int64_t batch, torch::Generator& gen) override {
    TORCH_CHECK(tokens.size(0) == batch, "tats sampler: tokens hold ", tokens.size(0), " clips, expected ", batch);
    torch::Tensor visible;
    // Training with runtime.rolloutGraph: act()'s forward keeps its graph for the first PPO epoch
    // (one sampler forward fewer; its activations live through the MAE step). A graphed update
    // (runtime.ppoGraph) runs its own first forward on its static copy of the state.
    const bool keep_graph = training_ && rollout_graph_ && !ppo_->graphs_next_update();
    const auto rollout = ppo_->act(tokens, gen, &visible, keep_graph);
    MaskDraw draw;
    draw.visible = visible;
    draw.masked = rollout.masked;
    draw.policy = torch::sigmoid(rollout.z_old);  // each token's probability of being masked
    draw.aux["state"] = rollout.state;
    draw.aux["action"] = rollout.action;
    draw.aux["z_old"] = rollout.z_old;
    draw.aux["value_old"] = rollout.value_old;
    if (rollout.live.logits.defined()) {
      draw.aux["live_logits"] = rollout.live.logits;
      draw.aux["live_values"] = rollout.live.values;
    }
    return draw;
  }

  bool wants_errors_after() const override { return reward_ == "progress"; }

  SamplerMetrics update(const MaskDraw& draw, const torch::Tensor& errors, const torch::Tensor& errors_after) override {
    if (!training_) return {};
    torch::Tensor rewards;
    if (reward_ == "progress") {
      TORCH_CHECK(errors_after.defined() && errors_after.sizes() == errors.sizes(),
                  "tats sampler: the progress reward needs the errors after the MAE's update, [B, Nm]");
      rewards = errors.to(torch::kFloat) - errors_after.to(torch::kFloat);  // how much this step taught the MAE
    } else {
      rewards = reward_ == "negError" ? -errors.to(torch::kFloat) : errors;
    }
    PpoRollout rollout;
    rollout.state = draw.aux.at("state");
    rollout.masked = draw.masked;
    rollout.action = draw.aux.at("action");
    rollout.z_old = draw.aux.at("z_old");
    rollout.value_old = draw.aux.at("value_old");
    if (const auto it = draw.aux.find("live_logits"); it != draw.aux.end())
      rollout.live = SamplerOutput{it->second, draw.aux.at("live_values")};
    const auto s = ppo_->update(rollout, rewards);
    return {{"kl", s.kl},
            {"entropy", s.entropy},
            {"clipFrac", s.clip_frac},
            {"valueLoss", s.value_loss},
            {"reward", s.reward},
            {"beta", torch::full({}, s.beta, s.kl.options())},
            {"ppoEpochs", s.epochs},
            {"samplerLoss", s.loss}};
  }

  bool learned() const override { return true; }
  // Detached embeddings and no joint loss: the session draws before the captured MAE step.
  Capture capture() const override { return Capture::kBefore; }

  std::vector<std::pair<std::string, torch::Tensor>> weights() const override {
    auto out = module_tensors(*ppo_->sampler());
    const auto& r = ppo_->reward_stats();
    if (r.batches > 0) {
      out.emplace_back(kRewardMean, r.mean);
      out.emplace_back(kRewardVar, r.var);
    }
    out.emplace_back(kRewardBatches, torch::tensor(r.batches, torch::kLong).reshape({}));
    out.emplace_back(kUpdates, torch::tensor(ppo_->updates(), torch::kLong).reshape({}));
    return out;
  }

  std::vector<std::pair<std::string, torch::Tensor>> optimizer_state() const override {
    return optimizer_tensors(ppo_->optimizer());
  }

  void load(const std::map<std::string, torch::Tensor>& weights,
            const std::map<std::string, torch::Tensor>& optimizer_state, bool strict) override {
    load_module_tensors(*ppo_->sampler(), weights, strict, {kRewardMean, kRewardVar, kRewardBatches, kUpdates},
                        "loadStateDict");
    auto& r = ppo_->reward_stats();
    const auto batches = weights.find(kRewardBatches);
    if (batches != weights.end()) {
      r.batches = batches->second.to(torch::kCPU, torch::kLong).item<int64_t>();
      if (r.batches > 0) {
        TORCH_CHECK(weights.count(kRewardMean) && weights.count(kRewardVar),
                    "loadStateDict: sampler.reward_norm.mean and .var are missing");
        r.mean = weights.at(kRewardMean).to(device_, torch::kFloat).reshape({}).clone();
        r.var = weights.at(kRewardVar).to(device_, torch::kFloat).reshape({}).clone();
      }
    } else {
      TORCH_CHECK(!strict, "loadStateDict: sampler.", kRewardBatches, " is missing");
    }
    if (const auto it = weights.find(kUpdates); it != weights.end())
      ppo_->updates() = it->second.to(torch::kCPU, torch::kLong).item<int64_t>();
    load_optimizer_tensors(ppo_->optimizer(), optimizer_state, strict);
    ppo_->reset_graph();  // never replay over tensors the load may have replaced
  }

  void broadcast_weights(Collective& group) override { ppo_->optimizer().broadcast_params(group); }

  void train(bool on) override {
    training_ = on;
    ppo_->sampler()->train(on);
  }

  void to_device(const torch::Device& device) override {
    device_ = device;
    ppo_->reset_graph();
    ppo_->sampler()->to(device);  // in place: the optimiser's parameter handles stay valid
    ppo_->optimizer().to_device(device);  // its flat buffers and gradient views follow
    ppo_->set_autocast(device.is_cuda() && precision_bf16_);
    auto& r = ppo_->reward_stats();
    if (r.batches > 0) {
      r.mean = r.mean.to(device);
      r.var = r.var.to(device);
    }
  }

 private:
  bool precision_bf16_;
  int64_t masked_;
  std::string reward_;  // config.sampler.reward
  bool rollout_graph_;  // config.runtime.rolloutGraph
  std::unique_ptr<PpoTrainer> ppo_;
  torch::Device device_{torch::kCPU};
  bool training_ = true;
};

[[maybe_unused]] const bool registered = register_mask_sampler(
    "tats", [](const SamplerContext& ctx) -> std::unique_ptr<MaskSampler> { return std::make_unique<TatsMaskSampler>(ctx); });

}  // namespace

}  // namespace tats::core
