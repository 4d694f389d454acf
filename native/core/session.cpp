// Session: construction, evaluation, reconstruction, state export and import. The training step:
// train_step.cpp.
#include "core/session.h"

#include <mutex>

#include "core/autocast.h"
#include "core/mae_loss.h"
#include "core/masking.h"
#include "core/session_common.h"
#include "core/vit.h"
#include "kernels/patchify_op.h"

namespace tats::core {

using detail::motion_shares;
using detail::read_scalars;
using detail::SessionDeviceGuard;

namespace {

// The evaluation generator's seed is derived from the session seed (a fixed odd offset).
constexpr uint64_t kEvalSeedOffset = 0x9E3779B97F4A7C15ull;

// torch::manual_seed is process-wide: serialise model construction so two sessions built at
// once still get the weights their seeds promise.
std::mutex& init_mutex() {
  static std::mutex m;
  return m;
}

torch::Device parse_device(const std::string& name, int64_t index) {
  if (name == "cpu") return torch::kCPU;
  TORCH_CHECK(name == "cuda", "device must be 'cpu' or 'cuda', got '", name, "'");
  TORCH_CHECK(torch::cuda::is_available(), "device 'cuda' requested but no CUDA device is available to libtorch");
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  TORCH_CHECK(index >= 0 && index < count, "deviceIndex ", index, " is not a CUDA device here (", count,
              " visible; under data parallelism LOCAL_RANK picks the device)");
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(index)};
}

}  // namespace

Session::Session(const SessionConfig& config)
    : cfg_(config),
      grid_(token_grid(config.model)),
      device_(parse_device(config.device, config.device_index)),
      gen_(at::detail::createCPUGenerator(static_cast<uint64_t>(config.seed))),
      eval_gen_(at::detail::createCPUGenerator(static_cast<uint64_t>(config.seed) + kEvalSeedOffset)) {
  TORCH_CHECK(cfg_.batch_size > 0, "Session: batchSize must be positive, got ", cfg_.batch_size);
  TORCH_CHECK(cfg_.precision == "fp32" || cfg_.precision == "bf16", "Session: precision must be fp32 or bf16, got '",
              cfg_.precision, "'");
  TORCH_CHECK(cfg_.model.tubelet > 0 && cfg_.model.patch > 0 && cfg_.model.frames % cfg_.model.tubelet == 0 &&
                  cfg_.model.size % cfg_.model.patch == 0,
              "Session: frames and size must be multiples of tubelet and patch");
  autocast_ = device_.is_cuda() && cfg_.precision == "bf16";
  patch_dtype_ = autocast_ ? torch::kBFloat16 : torch::kFloat;
  if (cfg_.data_parallel) {
    group_ = Collective::current();
    TORCH_CHECK(group_, "Session: dataParallel needs this process's group: initialise it first (initProcessGroup)");
    TORCH_CHECK(group_->device().type() == device_.type() &&
                    (!device_.is_cuda() || group_->device().index() == device_.index()),
                "Session: the process group's backend '", group_->backend(), "' works on ", group_->device(),
                ", the session runs on ", device_, " (nccl for cuda, gloo for cpu)");
  }
  const SessionDeviceGuard device_guard(device_);
  {
    std::lock_guard<std::mutex> lock(init_mutex());
    torch::manual_seed(static_cast<uint64_t>(cfg_.seed));
    model_ = VideoMAE(cfg_.model);
    sampler_ = make_mask_sampler({cfg_, grid_, cfg_.model.encoder_dim, torch::kCPU, group_});
  }
  model_->to_device(device_);
  sampler_->to_device(device_);
  OptimConfig optim = cfg_.optim;
  optim.legacy_adamw = cfg_.runtime.legacy_adamw;
  optimizer_ = std::make_unique<MaeOptimizer>(model_parameters(), optim);
  if (group_) {
    // Same seed, same weights on every rank already; the broadcast makes it a guarantee.
    optimizer_->broadcast_params(*group_);
    sampler_->broadcast_weights(*group_);
  }
}

NamedTensors Session::model_parameters() const {
  NamedTensors out;
  for (const auto& item : model_->named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

void Session::check_clips(const torch::Tensor& clips, const char* where) const {
  const auto& m = cfg_.model;
  TORCH_CHECK(clips.dim() == 5 && clips.scalar_type() == torch::kUInt8, where, ": clips must be uint8 [B,T,H,W,3]");
  TORCH_CHECK(clips.size(1) == m.frames && clips.size(2) == m.size && clips.size(3) == m.size && clips.size(4) == 3,
              where, ": clips must be [B, ", m.frames, ", ", m.size, ", ", m.size, ", 3], got ", clips.sizes());
}

void Session::check_motion(const torch::Tensor& motion, int64_t batch, const char* where) const {
  if (!motion.defined()) return;
  TORCH_CHECK(motion.dim() == 2 && motion.size(0) == batch && motion.size(1) == grid_.tokens(), where,
              ": motion must be [", batch, ", ", grid_.tokens(), "], got ", motion.sizes());
}

torch::Tensor Session::to_device_clips(const torch::Tensor& clips) const {
  return device_.is_cuda() ? clips.contiguous().to(device_) : clips.contiguous();
}

EvalMetrics Session::eval_step(const torch::Tensor& clips, const torch::Tensor& motion) {
  const SessionDeviceGuard device_guard(device_);
  check_clips(clips, "evalStep");
  const int64_t B = clips.size(0);
  check_motion(motion, B, "evalStep");
  torch::NoGradGuard no_grad;
  const LayerNormBf16Scope ln_bf16(cfg_.runtime.layer_norm_bf16);
  model_->eval();
  sampler_->train(false);
  const auto x = to_device_clips(clips);
  const auto pt = ops::patchify(x, cfg_.model.tubelet, cfg_.model.patch, patch_dtype_);
  MaskDraw draw;
  MaeLoss loss;
  {
    AutocastScope autocast(autocast_);
    const auto tokens = sampler_tokens(pt.patches);
    draw = draw_masks(tokens, B, eval_gen_);
    loss = mae_loss(model_->forward(pt.patches, tokens, draw.visible, draw.masked), pt.targets, draw.masked);
  }
  std::vector<std::string> names{"loss"};
  std::vector<torch::Tensor> values{loss.loss};
  if (motion.defined()) motion_shares(motion, draw.masked, names, values);
  const auto host = read_scalars(values);
  EvalMetrics out;
  out.loss = host[0];
  for (size_t i = 1; i < names.size(); ++i) out.extra[names[i]] = host[i];
  return out;
}

Reconstruction Session::reconstruct(const torch::Tensor& clips, const torch::Tensor& mask) {
  const SessionDeviceGuard device_guard(device_);
  check_clips(clips, "reconstruct");
  const int64_t B = clips.size(0), N = grid_.tokens();
  if (mask.defined())
    TORCH_CHECK(mask.dim() == 2 && mask.size(0) == B && mask.size(1) == N, "reconstruct: mask must be [", B, ", ", N,
                "], got ", mask.sizes());
  torch::NoGradGuard no_grad;
  const LayerNormBf16Scope ln_bf16(cfg_.runtime.layer_norm_bf16);
  model_->eval();
  sampler_->train(false);
  const auto x = to_device_clips(clips);
  const auto pt = ops::patchify(x, cfg_.model.tubelet, cfg_.model.patch, patch_dtype_);
  MaskDraw draw;
  torch::Tensor pred;
  {
    AutocastScope autocast(autocast_);
    torch::Tensor tokens;  // every token's embedding only for a sampler that reads them
    if (mask.defined()) {
      draw = draw_from_mask(mask);
      draw.visible = draw.visible.to(device_);
      draw.masked = draw.masked.to(device_);
    } else {
      tokens = sampler_tokens(pt.patches);
      draw = draw_masks(tokens, B, eval_gen_);
    }
    pred = model_->forward(pt.patches, tokens, draw.visible, draw.masked);
  }
  Reconstruction out;
  out.pred = pred.to(torch::kCPU, torch::kFloat).contiguous();
  out.target = take_tokens(pt.targets, draw.masked).to(torch::kCPU).contiguous();
  out.mask = mask_from_draw(draw.masked, N).to(torch::kCPU).contiguous();
  if (draw.policy.defined()) out.policy = draw.policy.detach().to(torch::kCPU, torch::kFloat).contiguous();
  out.masked_per_clip = draw.masked.size(1);
  out.tokens = N;
  out.values_per_token = pred.size(2);
  return out;
}

NamedTensors Session::state_dict() const {
  const SessionDeviceGuard device_guard(device_);
  NamedTensors out;
  for (const auto& [name, p] : model_parameters()) out.emplace_back(name, p.detach().to(torch::kCPU));
  for (const auto& [name, t] : sampler_->weights()) out.emplace_back("sampler." + name, t.detach().to(torch::kCPU));
  for (const auto& [name, t] : optimizer_->state()) out.emplace_back(name, t.detach().to(torch::kCPU));
  for (const auto& [name, t] : sampler_->optimizer_state())
    out.emplace_back("sampler_optim." + name, t.detach().to(torch::kCPU));
  out.emplace_back("rng.cpu", gen_.get_state());
  out.emplace_back("rng.eval", eval_gen_.get_state());
  out.emplace_back("state.step", torch::tensor(step_, torch::kLong).reshape({}));
  return out;
}

void Session::load_state_dict(const std::map<std::string, torch::Tensor>& entries, bool strict) {
  graph_.reset();  // a captured step must never replay over tensors a load may have replaced
  const SessionDeviceGuard device_guard(device_);
  const auto starts_with = [](const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; };
  std::map<std::string, torch::Tensor> optim, sampler_weights, sampler_optim;
  std::vector<std::string> unknown;
  const auto params = model_parameters();
  std::map<std::string, torch::Tensor> by_name(params.begin(), params.end());
  for (const auto& [name, t] : entries) {
    if (starts_with(name, "optim.")) optim[name] = t;
    else if (starts_with(name, "sampler_optim.")) sampler_optim[name.substr(14)] = t;
    else if (starts_with(name, "sampler.")) sampler_weights[name.substr(8)] = t;
    else if (!by_name.count(name) && name != "rng.cpu" && name != "rng.eval" && name != "state.step") unknown.push_back(name);
  }
  if (strict && !unknown.empty()) {
    std::string list;
    for (size_t i = 0; i < unknown.size() && i < 5; ++i) list += (i ? ", " : "") + unknown[i];
    TORCH_CHECK(false, "loadStateDict: ", unknown.size(), " unknown name(s): ", list, unknown.size() > 5 ? ", ..." : "");
  }
  // Check everything before changing anything.
  for (const auto& [name, p] : params) {
    const auto it = entries.find(name);
    if (it == entries.end()) {
      TORCH_CHECK(!strict, "loadStateDict: model weight '", name, "' is missing");
      continue;
    }
    TORCH_CHECK(it->second.sizes() == p.sizes(), "loadStateDict: '", name, "' has shape ", it->second.sizes(),
                ", the model has ", p.sizes());
    TORCH_CHECK(it->second.is_floating_point(), "loadStateDict: '", name, "' must be a float tensor, got ",
                it->second.scalar_type());
  }
  const auto step_it = entries.find("state.step");
  if (step_it != entries.end())
    TORCH_CHECK(step_it->second.numel() == 1 && !step_it->second.is_floating_point(),
                "loadStateDict: state.step must be an integer scalar");
  {
    torch::NoGradGuard no_grad;
    for (const auto& [name, p] : params) {
      const auto it = entries.find(name);
      if (it != entries.end()) p.copy_(it->second);
    }
  }
  optimizer_->load(optim, strict);
  sampler_->load(sampler_weights, sampler_optim, strict);
  if (const auto it = entries.find("rng.cpu"); it != entries.end()) gen_.set_state(it->second.to(torch::kCPU).contiguous());
  if (const auto it = entries.find("rng.eval"); it != entries.end())
    eval_gen_.set_state(it->second.to(torch::kCPU).contiguous());
  if (step_it != entries.end()) step_ = step_it->second.to(torch::kCPU, torch::kLong).item<int64_t>();
}

}  // namespace tats::core
