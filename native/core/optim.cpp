#include "core/optim.h"

#include "core/distributed.h"
#include "kernels/adamw_op.h"

#include <cmath>
#include <sstream>
#include <type_traits>

namespace tats::core {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kAdamEps = 1e-8;  // VideoMAE's opt_eps
constexpr int64_t kSkipSlot = 4;    // kernels/adamw.h: scalars[4], the skip flag
}  // namespace

double scheduled_lr(const OptimConfig& cfg, int64_t step) {
  if (step < cfg.warmup_steps) return cfg.lr * static_cast<double>(step + 1) / static_cast<double>(cfg.warmup_steps);
  const int64_t span = std::max<int64_t>(1, cfg.total_steps - cfg.warmup_steps);
  const double t = static_cast<double>(std::min(step - cfg.warmup_steps, span)) / static_cast<double>(span);
  return cfg.min_lr + (cfg.lr - cfg.min_lr) * 0.5 * (1.0 + std::cos(kPi * t));
}

bool decays(const std::string& name, const torch::Tensor& param) {
  const auto ends_with = [&](const std::string& s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (param.dim() == 1 || ends_with(".bias")) return false;
  return name != "mask_token" && name != "pos_embed" && name != "cls_token";
}

torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(torch::kFloat).norm(2));
  if (norms.empty()) return torch::zeros({});
  auto total = torch::stack(norms).norm(2);
  if (max_norm > 0) {
    // As torch.nn.utils.clip_grad_norm_: scale by min(1, max / (norm + 1e-6)), on the device.
    const auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().detach().mul_(coef.to(p.grad().scalar_type()));
  }
  return total;
}

MaeOptimizer::MaeOptimizer(const std::vector<std::pair<std::string, torch::Tensor>>& named, const OptimConfig& cfg)
    : cfg_(cfg), named_(named) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& [name, p] : named_) {
    params_.push_back(p);
    (decays(name, p) ? decay : no_decay).push_back(p);
  }
  fused_ = !cfg.legacy_adamw;
  for (const auto& p : params_)
    if (p.scalar_type() != torch::kFloat || p.device() != params_.front().device()) fused_ = false;
  if (!fused_) {
    auto options = [&](double wd) {
      return std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(cfg.lr).betas({cfg.beta1, cfg.beta2}).eps(kAdamEps).weight_decay(wd));
    };
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, options(cfg.weight_decay));
    groups.emplace_back(no_decay, options(0.0));
    adamw_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(cfg.lr));
    return;
  }
  // Flat layout: decay parameters first (in model order), then the rest; each start rounded up
  // to 4 floats so every view and the float4 loads stay 16-byte aligned (padding stays zero).
  std::vector<std::pair<torch::Tensor, int64_t>> layout;
  int64_t total = 0;
  for (const auto* group : {&decay, &no_decay}) {
    for (const auto& p : *group) {
      layout.emplace_back(p, total);
      total += (p.numel() + 3) / 4 * 4;
    }
    if (group == &decay) decay_numel_ = total;
  }
  const auto device = params_.empty() ? torch::Device(torch::kCPU) : params_.front().device();
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(device);
  flat_param_ = torch::zeros({total}, opts);
  flat_grad_ = torch::zeros({total}, opts);
  exp_avg_ = torch::zeros({total}, opts);
  exp_avg_sq_ = torch::zeros({total}, opts);
  scalars_ = ops::adamw_scalars(device);
  workspace_ = ops::adamw_workspace(device);
  std::map<const void*, int64_t> offset_of;
  torch::NoGradGuard no_grad;
  for (auto& [p, off] : layout) {
    auto view = flat_param_.narrow(0, off, p.numel()).view(p.sizes());
    view.copy_(p.detach());
    p.set_data(view);
    p.mutable_grad() = flat_grad_.narrow(0, off, p.numel()).view(p.sizes());
    offset_of[p.unsafeGetTensorImpl()] = off;
  }
  for (const auto& p : params_) offsets_.push_back(offset_of.at(p.unsafeGetTensorImpl()));
}

std::pair<double, torch::Tensor> MaeOptimizer::step(int64_t step) {
  const double lr = prepare(step);
  return {lr, apply()};
}

double MaeOptimizer::prepare(int64_t step) {
  const double lr = scheduled_lr(cfg_, step);
  if (!fused_) {
    for (auto& group : adamw_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    return lr;
  }
  const double t = static_cast<double>(++updates_);
  const double bc1 = 1.0 - std::pow(cfg_.beta1, t), bc2 = 1.0 - std::pow(cfg_.beta2, t);
  ops::adamw_set_scalars(scalars_, lr / bc1, std::sqrt(bc2), 1.0 - lr * cfg_.weight_decay);
  return lr;
}

torch::Tensor MaeOptimizer::apply() {
  if (fused_) return apply(scalars_);
  if (skip_.defined() && skip_.item<float>() != 0.f) return torch::zeros({}, skip_.options().dtype(torch::kFloat));
  auto norm = clip_grad_norm(params_, cfg_.clip_grad);
  adamw_->step();
  return norm;
}

void MaeOptimizer::set_skip(const torch::Tensor& flag) {
  if (!fused_) {
    skip_ = flag.defined() ? flag.detach() : torch::Tensor();
    return;
  }
  if (flag.defined()) set_skip(flag, scalars_);
  else scalars_.narrow(0, kSkipSlot, 1).zero_();
}

void MaeOptimizer::set_skip(const torch::Tensor& flag, const torch::Tensor& row) const {
  TORCH_CHECK(fused_ && flag.defined(), "MaeOptimizer::set_skip(flag, row): fused optimiser and a flag only");
  torch::NoGradGuard no_grad;
  row.narrow(0, kSkipSlot, 1).copy_(flag.detach().reshape({1}));
}

torch::Tensor MaeOptimizer::apply(const torch::Tensor& scalars) {
  TORCH_CHECK(fused_, "MaeOptimizer::apply: fused optimiser only");
  ops::adamw_grad_norm(flat_grad_, scalars, workspace_);
  ops::adamw_step(flat_param_, flat_grad_, exp_avg_, exp_avg_sq_, scalars, decay_numel_, cfg_.beta1, cfg_.beta2,
                  kAdamEps, cfg_.clip_grad);
  return scalars.select(0, 3);
}

torch::Tensor MaeOptimizer::scalar_rows(int64_t k) const {
  TORCH_CHECK(fused_ && k >= 1, "MaeOptimizer::scalar_rows: fused optimiser and k >= 1 only");
  return scalars_.unsqueeze(0).repeat({k, 1}).contiguous();
}

double MaeOptimizer::prepare_rows(int64_t step, const torch::Tensor& rows) {
  TORCH_CHECK(fused_, "MaeOptimizer::prepare_rows: fused optimiser only");
  TORCH_CHECK(rows.dim() == 2 && rows.size(1) == scalars_.size(0), "MaeOptimizer::prepare_rows: rows must be [K, ",
              scalars_.size(0), "], got ", rows.sizes());
  const double lr = scheduled_lr(cfg_, step);
  for (int64_t k = 0; k < rows.size(0); ++k) {
    const double t = static_cast<double>(++updates_);
    const double bc1 = 1.0 - std::pow(cfg_.beta1, t), bc2 = 1.0 - std::pow(cfg_.beta2, t);
    ops::adamw_set_scalars(rows.select(0, k), lr / bc1, std::sqrt(bc2), 1.0 - lr * cfg_.weight_decay);
  }
  return lr;
}

void MaeOptimizer::to_device(const torch::Device& device) {
  if (!fused_ || flat_param_.device() == device) return;
  torch::NoGradGuard no_grad;
  flat_param_ = flat_param_.to(device);
  flat_grad_ = flat_grad_.to(device);
  exp_avg_ = exp_avg_.to(device);
  exp_avg_sq_ = exp_avg_sq_.to(device);
  scalars_ = scalars_.to(device);
  workspace_ = ops::adamw_workspace(device);
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    auto view = flat_param_.narrow(0, offsets_[i], p.numel()).view(p.sizes());
    view.copy_(p.detach());  // the module's current values, wherever Module::to put them
    p.set_data(view);
    p.mutable_grad() = flat_grad_.narrow(0, offsets_[i], p.numel()).view(p.sizes());
  }
}

void MaeOptimizer::all_reduce_grads(Collective& group) {
  if (group.world_size() == 1) return;
  if (fused_) {
    group.all_reduce_mean_(flat_grad_);
    return;
  }
  for (auto& p : params_) {
    TORCH_CHECK(p.grad().defined(), "all_reduce_grads: a parameter has no gradient (every rank must reach every one)");
    auto g = p.mutable_grad();
    if (!g.is_contiguous()) p.mutable_grad() = g = g.contiguous();
    group.all_reduce_mean_(g);
  }
}

void MaeOptimizer::broadcast_params(Collective& group) {
  if (group.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  if (fused_) {
    group.broadcast_(flat_param_, 0);
    return;
  }
  for (auto& p : params_) {
    auto t = p.detach().contiguous();
    group.broadcast_(t, 0);
    if (!t.is_same(p)) p.detach().copy_(t);
  }
}

void MaeOptimizer::zero_grad() {
  if (fused_) {
    flat_grad_.zero_();
    return;
  }
  // Drop the gradients (set_to_none), so the next backward writes fresh ones.
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

namespace {
// The optimiser keys its state by the parameter's TensorImpl: a string in libtorch 1.x, the
// pointer itself in 2.x. Build whichever this libtorch uses.
template <typename Map>
typename Map::key_type state_key(const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    // c10::guts::to_string of the pointer, which libtorch 1.x uses: operator<< of a pointer.
    std::ostringstream key;
    key << p.unsafeGetTensorImpl();
    return key.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}
using StateMap = std::remove_reference_t<decltype(std::declval<torch::optim::AdamW&>().state())>;
}  // namespace

torch::optim::OptimizerParamState* MaeOptimizer::find_state(const torch::Tensor& param) const {
  auto& map = adamw_->state();
  const auto it = map.find(state_key<StateMap>(param));
  return it == map.end() ? nullptr : it->second.get();
}

void MaeOptimizer::set_state(const torch::Tensor& param, std::unique_ptr<torch::optim::AdamWParamState> state) {
  adamw_->state()[state_key<StateMap>(param)] = std::move(state);
}

std::vector<std::pair<std::string, torch::Tensor>> MaeOptimizer::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  if (fused_) {
    if (updates_ == 0) return out;  // as torch::optim::AdamW: no state before the first step
    for (size_t i = 0; i < named_.size(); ++i) {
      const auto& [name, p] = named_[i];
      out.emplace_back("optim." + name + ".exp_avg", exp_avg_.narrow(0, offsets_[i], p.numel()).view(p.sizes()));
      out.emplace_back("optim." + name + ".exp_avg_sq", exp_avg_sq_.narrow(0, offsets_[i], p.numel()).view(p.sizes()));
      out.emplace_back("optim." + name + ".step", torch::tensor(updates_, torch::kLong).reshape({}));
    }
    return out;
  }
  for (const auto& [name, p] : named_) {
    auto* raw = find_state(p);
    if (!raw) continue;
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*raw);
    out.emplace_back("optim." + name + ".exp_avg", s.exp_avg());
    out.emplace_back("optim." + name + ".exp_avg_sq", s.exp_avg_sq());
    out.emplace_back("optim." + name + ".step", torch::tensor(s.step(), torch::kLong).reshape({}));
  }
  return out;
}

void MaeOptimizer::load(const std::map<std::string, torch::Tensor>& entries, bool strict) {
  torch::NoGradGuard no_grad;
  int64_t loaded_step = -1;
  for (size_t i = 0; i < named_.size(); ++i) {
    const auto& [name, p] = named_[i];
    const std::string base = "optim." + name + ".";
    const auto a = entries.find(base + "exp_avg"), b = entries.find(base + "exp_avg_sq"), c = entries.find(base + "step");
    const int present = (a != entries.end()) + (b != entries.end()) + (c != entries.end());
    if (present == 0) continue;
    TORCH_CHECK(present == 3 || !strict, "optimizer state for '", name, "' is incomplete (needs exp_avg, exp_avg_sq, step)");
    if (present != 3) continue;
    TORCH_CHECK(a->second.sizes() == p.sizes() && b->second.sizes() == p.sizes(), "optimizer state for '", name,
                "' has shape ", a->second.sizes(), ", the parameter has ", p.sizes());
    TORCH_CHECK(c->second.numel() == 1, "optimizer step for '", name, "' must be a scalar");
    if (fused_) {
      // One step count for all parameters (they are updated together): the largest loaded.
      exp_avg_.narrow(0, offsets_[i], p.numel()).view(p.sizes()).copy_(a->second);
      exp_avg_sq_.narrow(0, offsets_[i], p.numel()).view(p.sizes()).copy_(b->second);
      loaded_step = std::max(loaded_step, c->second.to(torch::kCPU, torch::kLong).item<int64_t>());
      continue;
    }
    auto state = std::make_unique<torch::optim::AdamWParamState>();
    state->exp_avg(a->second.to(p.device(), torch::kFloat).clone());
    state->exp_avg_sq(b->second.to(p.device(), torch::kFloat).clone());
    state->step(c->second.to(torch::kCPU, torch::kLong).item<int64_t>());
    set_state(p, std::move(state));
  }
  if (fused_ && loaded_step >= 0) updates_ = loaded_step;
}

}  // namespace tats::core
