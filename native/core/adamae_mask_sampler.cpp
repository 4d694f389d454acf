// masking.strategy 'adamae': AdaMAE's sampler behind the session's MaskSampler interface.
//   sample():      p = softmax(g(x)); N_v = N - |M| VISIBLE tokens drawn from p without
//                  replacement (Gumbel-top-k, keyed by the device key prepare_draw() set); the
//                  rest are masked. In training the logits keep their graph for joint_loss().
//                  A captured step holds sample() and joint_loss() (Capture::kInside).
//   joint_loss():  adamaeWeight * L_s, L_s = -mean_b mean_{i in masked} log p_i * sg(e_i), added
//                  to the MAE loss before its backward (AdaMAE's total loss). With detachInput
//                  false the term also reaches the MAE's patch embedding, as in AdaMAE.
//   update():      steps the sampler's own AdamW (lr, weightDecay from config.sampler). AdaMAE puts
//                  the sampler in the MAE's optimiser; ours is separate so that the MAE's
//                  optimiser state holds only VideoMAE names. Under Adam the loss weight mostly
//                  cancels for parameters that only this term reaches, as it does in AdaMAE.
#include "core/adamae_sampler.h"
#include "core/distributed.h"
#include "core/gumbel_topk.h"
#include "core/mask_sampler.h"
#include "core/masking.h"
#include "core/ppo.h"
#include "core/sampler_state.h"

namespace tats::core {

namespace {

class AdaMaeMaskSampler : public MaskSampler {
 public:
  explicit AdaMaeMaskSampler(const SamplerContext& ctx)
      : tokens_(ctx.grid.tokens()),
        masked_(masked_count("adamae", ctx.config.masking.ratio, ctx.grid)),
        weight_(ctx.config.sampler.adamae_weight),
        group_(ctx.group) {
    const auto& s = ctx.config.sampler;
    AdaMaeSamplerOptions o;
    o.input_dim = ctx.embed_dim;
    o.dim = s.dim;
    o.heads = s.heads;
    o.tokens = tokens_;
    module_ = AdaMaeSampler(o);
    optimizer_ = make_sampler_optimizer(*module_, s.lr, s.weight_decay, ctx.config.runtime.legacy_adamw);
    to_device(ctx.device);
  }

  void prepare_draw(torch::Generator& gen) override { key_.next(gen, device_); }

  MaskDraw sample(const torch::Tensor& tokens, int64_t batch, torch::Generator&) override {
    TORCH_CHECK(tokens.size(0) == batch, "adamae sampler: tokens hold ", tokens.size(0), " clips, expected ", batch);
    const auto logits = module_->forward(tokens).logits;  // graph kept when grad mode is on
    const int64_t row_base = group_ ? group_->rank() * batch : 0;  // noise keyed by the global row
    const auto draw = gumbel_topk(logits.detach(), tokens_ - masked_, /*tau=*/1.0, key_, row_base);
    MaskDraw out;
    out.visible = draw.chosen;
    out.masked = draw.rest;
    out.policy = torch::softmax(logits.detach().to(torch::kFloat), -1);
    out.aux["logits"] = logits;
    return out;
  }

  torch::Tensor joint_loss(const MaskDraw& draw, const torch::Tensor& errors) override {
    const auto& logits = draw.aux.at("logits");
    if (!training_ || !logits.requires_grad()) return {};
    const auto loss = adamae_sampling_loss(logits, draw.masked, errors);
    // Written in place: a captured step's replays must leave it where update() reads it.
    if (!last_loss_.defined()) last_loss_ = torch::zeros({}, loss.options().dtype(torch::kFloat));
    last_loss_.copy_(loss.detach());
    return weight_ * loss;
  }

  SamplerMetrics update(const MaskDraw& draw, const torch::Tensor& errors, const torch::Tensor&) override {
    if (!training_) return {};
    if (group_) optimizer_->all_reduce_grads(*group_);  // the joint loss's gradients, averaged over ranks
    optimizer_->step(steps_++);
    optimizer_->zero_grad();
    const auto p = draw.policy;
    SamplerMetrics m;
    m["entropy"] = -(p * torch::log(p.clamp_min(1e-30))).sum(1).mean();
    m["reward"] = errors.to(torch::kFloat).mean();
    if (last_loss_.defined()) m["samplerLoss"] = last_loss_.clone();
    return m;
  }

  bool learned() const override { return true; }
  // Captured with the step only where its own AdamW is the fused one (its gradient buffer and
  // scalars stay in place); the legacy optimiser steps eagerly.
  Capture capture() const override { return optimizer_->fused() ? Capture::kInside : Capture::kNone; }

  std::vector<std::pair<std::string, torch::Tensor>> weights() const override {
    auto out = module_tensors(*module_);
    out.emplace_back("updates", torch::tensor(steps_, torch::kLong).reshape({}));
    return out;
  }
  std::vector<std::pair<std::string, torch::Tensor>> optimizer_state() const override {
    return optimizer_tensors(*optimizer_);
  }
  void load(const std::map<std::string, torch::Tensor>& weights,
            const std::map<std::string, torch::Tensor>& optimizer_state, bool strict) override {
    load_module_tensors(*module_, weights, strict, {"updates"}, "loadStateDict");
    if (const auto it = weights.find("updates"); it != weights.end())
      steps_ = it->second.to(torch::kCPU, torch::kLong).item<int64_t>();
    load_optimizer_tensors(*optimizer_, optimizer_state, strict);
  }
  void broadcast_weights(Collective& group) override { optimizer_->broadcast_params(group); }
  void train(bool on) override {
    training_ = on;
    module_->train(on);
  }
  void to_device(const torch::Device& device) override {
    device_ = device;
    module_->to(device);
    optimizer_->to_device(device);  // its flat buffers and gradient views follow
  }

 private:
  int64_t tokens_, masked_;
  double weight_;
  AdaMaeSampler module_{nullptr};
  std::unique_ptr<MaeOptimizer> optimizer_;
  torch::Tensor last_loss_;  // the last joint_loss() value (samplerLoss)
  DrawKey key_;              // this step's noise key (prepare_draw)
  torch::Device device_{torch::kCPU};
  std::shared_ptr<Collective> group_;
  int64_t steps_ = 0;
  bool training_ = true;
};

[[maybe_unused]] const bool registered =
    register_mask_sampler("adamae", [](const SamplerContext& ctx) -> std::unique_ptr<MaskSampler> {
      return std::make_unique<AdaMaeMaskSampler>(ctx);
    });

}  // namespace

}  // namespace tats::core
