#include "core/classifier.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>

#include "core/autocast.h"
#include "core/optim.h"
#include "kernels/patchify_op.h"

namespace tats::core {

namespace {

constexpr double kAdamEps = 1e-8;       // VideoMAE's opt_eps
constexpr double kInitStd = 0.02;       // trunc_normal_(std=.02) for Linear weights
constexpr double kHeadInitScale = 1e-3;  // VideoMAE's init_scale for the head

std::mutex& init_mutex() {
  static std::mutex m;
  return m;
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  TORCH_CHECK(name == "cuda", "device must be 'cpu' or 'cuda', got '", name, "'");
  TORCH_CHECK(torch::cuda::is_available(), "device 'cuda' requested but no CUDA device is available to libtorch");
  return {torch::kCUDA, 0};
}

// Clips uint8 [B,T,H,W,3] patchified by hand for a float pixel map of the same layout
// (the cutmix box): [B,T,H,W,C] -> [B, N, C*tt*p*p] in (c, dt, dy, dx) order, as ops::patchify.
torch::Tensor to_patches(const torch::Tensor& x, int64_t tt, int64_t p) {
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2), W = x.size(3), C = x.size(4);
  return x.view({B, T / tt, tt, H / p, p, W / p, p, C})
      .permute({0, 1, 3, 5, 7, 2, 4, 6})
      .reshape({B, (T / tt) * (H / p) * (W / p), C * tt * p * p});
}

double sample_beta(std::mt19937_64& rng, double alpha) {
  std::gamma_distribution<double> g(alpha, 1.0);
  const double a = g(rng), b = g(rng);
  return a / (a + b);
}

// Layer id for layer-wise lr decay (VideoMAE's get_num_layer_for_vit): patch_embed 0, blocks.i
// i + 1, everything else (fc_norm, head) depth + 1.
int64_t layer_id(const std::string& name, int64_t depth) {
  if (name.rfind("patch_embed.", 0) == 0) return 0;
  if (name.rfind("blocks.", 0) == 0) return std::stoll(name.substr(7, name.find('.', 7) - 7)) + 1;
  return depth + 1;
}

}  // namespace

DropPathBlockImpl::DropPathBlockImpl(int64_t dim, int64_t heads, double mlp_ratio, double drop_path_)
    : drop_path(drop_path_) {
  const auto ln = torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps);
  norm1 = register_module("norm1", torch::nn::LayerNorm(ln));
  attn = register_module("attn", Attention(dim, heads));
  norm2 = register_module("norm2", torch::nn::LayerNorm(ln));
  mlp = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * mlp_ratio)));
}

torch::Tensor DropPathBlockImpl::forward(torch::Tensor x, c10::optional<torch::Generator> gen) {
  // timm's drop_path: per-sample keep mask, surviving branches scaled by 1 / keep.
  const auto branch = [&](const torch::Tensor& y) {
    if (!is_training() || drop_path <= 0) return y;
    const double keep = 1.0 - drop_path;
    auto m = torch::empty({y.size(0), 1, 1}, y.options().dtype(torch::kFloat).device(torch::kCPU));
    m.bernoulli_(keep, gen);
    return y * (m.to(y.device(), y.scalar_type()) / keep);
  };
  x = x + branch(attn(norm1(x)));
  return x + branch(mlp(norm2(x)));
}

VideoClassifierImpl::VideoClassifierImpl(const ModelConfig& cfg, int64_t classes, double drop_path) {
  TORCH_CHECK(cfg.channels == 3, "VideoClassifier: channels must be 3, got ", cfg.channels);
  TORCH_CHECK(classes > 0, "VideoClassifier: classes must be positive, got ", classes);
  const auto grid = token_grid(cfg);
  patch_embed = register_module("patch_embed", PatchEmbed(cfg.channels, cfg.encoder_dim, cfg.tubelet, cfg.patch));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.encoder_depth; ++i) {
    // Stochastic depth grows linearly over the blocks (torch.linspace(0, drop_path, depth)).
    const double rate = cfg.encoder_depth > 1 ? drop_path * static_cast<double>(i) / (cfg.encoder_depth - 1) : drop_path;
    blocks->push_back(DropPathBlock(cfg.encoder_dim, cfg.encoder_heads, cfg.mlp_ratio, rate));
  }
  fc_norm = register_module("fc_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.encoder_dim}).eps(kLayerNormEps)));
  head = register_module("head", torch::nn::Linear(cfg.encoder_dim, classes));
  pos = sinusoid_table(grid.tokens(), cfg.encoder_dim).squeeze(0);

  torch::NoGradGuard no_grad;
  // modeling_finetune._init_weights: trunc_normal_(std=.02) Linear weights, zero biases, LayerNorm 1/0;
  // then the head is scaled by init_scale.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* linear = m->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, kInitStd).clamp_(-2.0, 2.0);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* norm = m->as<torch::nn::LayerNorm>()) {
      norm->weight.fill_(1.0);
      norm->bias.zero_();
    }
  }
  head->weight.mul_(kHeadInitScale);
  head->bias.mul_(kHeadInitScale);
}

torch::Tensor VideoClassifierImpl::forward(const torch::Tensor& patches, c10::optional<torch::Generator> gen) {
  auto x = patch_embed(patches);
  x = x + pos.to(x.scalar_type()).unsqueeze(0);
  for (const auto& block : *blocks) x = block->as<DropPathBlock>()->forward(x, gen);
  return head(fc_norm(x.mean(1)));
}

void VideoClassifierImpl::to_device(const torch::Device& device) {
  to(device);
  pos = pos.to(device);
}

ClassifierSession::ClassifierSession(const ClassifierConfig& config)
    : cfg_(config),
      device_(parse_device(config.device)),
      gen_(at::detail::createCPUGenerator(static_cast<uint64_t>(config.seed))),
      mix_rng_(static_cast<uint64_t>(config.seed) * 0x9E3779B97F4A7C15ull + 1) {
  const auto& m = cfg_.model;
  TORCH_CHECK(cfg_.batch_size > 0, "ClassifierSession: batchSize must be positive, got ", cfg_.batch_size);
  TORCH_CHECK(cfg_.precision == "fp32" || cfg_.precision == "bf16", "ClassifierSession: precision must be fp32 or bf16, got '",
              cfg_.precision, "'");
  TORCH_CHECK(m.tubelet > 0 && m.patch > 0 && m.frames % m.tubelet == 0 && m.size % m.patch == 0,
              "ClassifierSession: frames and size must be multiples of tubelet and patch");
  autocast_ = device_.is_cuda() && cfg_.precision == "bf16";
  {
    std::lock_guard<std::mutex> lock(init_mutex());
    torch::manual_seed(static_cast<uint64_t>(cfg_.seed));
    model_ = VideoClassifier(m, cfg_.classes, cfg_.drop_path);
  }
  model_->to_device(device_);
  build_optimizer();
}

void ClassifierSession::build_optimizer() {
  // One group per (layer id, decays?) with lr factor layer_decay^(depth + 1 - id).
  const int64_t depth = cfg_.model.encoder_depth;
  std::map<std::pair<int64_t, bool>, std::vector<torch::Tensor>> groups;
  trainable_.clear();
  for (const auto& item : model_->named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    auto p = item.value();
    const bool frozen = cfg_.linear_probe && name.rfind("fc_norm.", 0) != 0 && name.rfind("head.", 0) != 0;
    p.set_requires_grad(!frozen);
    if (frozen) continue;
    trainable_.push_back(p);
    groups[{layer_id(name, depth), decays(name, p)}].push_back(p);
  }
  std::vector<torch::optim::OptimizerParamGroup> list;
  group_scale_.clear();
  for (auto& [key, params] : groups) {
    const double wd = key.second ? cfg_.optim.weight_decay : 0.0;
    auto opts = std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(cfg_.optim.lr)
                                                                 .betas({cfg_.optim.beta1, cfg_.optim.beta2})
                                                                 .eps(kAdamEps)
                                                                 .weight_decay(wd));
    list.emplace_back(params, std::move(opts));
    group_scale_.push_back(std::pow(cfg_.layer_decay, static_cast<double>(depth + 1 - key.first)));
  }
  adamw_ = std::make_unique<torch::optim::AdamW>(list, torch::optim::AdamWOptions(cfg_.optim.lr));
}

torch::Tensor ClassifierSession::patches(const torch::Tensor& clips) const {
  const auto& m = cfg_.model;
  TORCH_CHECK(clips.dim() == 5 && clips.scalar_type() == torch::kUInt8 && clips.size(1) == m.frames &&
                  clips.size(2) == m.size && clips.size(3) == m.size && clips.size(4) == 3,
              "clips must be uint8 [B, ", m.frames, ", ", m.size, ", ", m.size, ", 3], got ", clips.sizes());
  const auto x = device_.is_cuda() ? clips.contiguous().to(device_) : clips.contiguous();
  return ops::patchify(x, m.tubelet, m.patch, autocast_ ? torch::kBFloat16 : torch::kFloat, /*want_patches=*/true,
                       /*want_targets=*/false)
      .patches;
}

ClassifierStep ClassifierSession::train_step(const torch::Tensor& clips, const torch::Tensor& labels) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t B = clips.size(0), K = cfg_.classes;
  TORCH_CHECK(B == cfg_.batch_size, "trainStep: clips hold ", B, " clips, the batchSize is ", cfg_.batch_size);
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == B, "trainStep: labels must be [", B, "]");
  const auto lab_cpu = labels.to(torch::kLong);
  TORCH_CHECK(lab_cpu.min().item<int64_t>() >= 0 && lab_cpu.max().item<int64_t>() < K, "trainStep: labels must be in [0, ", K,
              ")");
  model_->train();
  auto x = patches(clips).to(torch::kFloat);
  const auto lab = lab_cpu.to(device_);

  // Soft targets with label smoothing (timm's mixup_target: off = s / K, on = 1 - s + s / K).
  const double off = cfg_.label_smoothing / K, on = 1.0 - cfg_.label_smoothing + off;
  const auto one_hot = [&](const torch::Tensor& l) {
    return torch::full({B, K}, off, x.options()).scatter_(1, l.unsqueeze(1), on);
  };
  auto target = one_hot(lab);

  // Mixup / CutMix, once per batch, mixing each clip with the batch flipped (timm's 'batch' mode).
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const bool any_mix = cfg_.mixup > 0 || cfg_.cutmix > 0;
  if (any_mix && unif(mix_rng_) < cfg_.mixup_prob) {
    const bool use_cutmix = cfg_.cutmix > 0 && (cfg_.mixup <= 0 || unif(mix_rng_) < cfg_.switch_prob);
    const auto& m = cfg_.model;
    double lam;
    if (use_cutmix) {
      lam = sample_beta(mix_rng_, cfg_.cutmix);
      // rand_bbox: a box of area (1 - lam) centred uniformly, clipped; lam corrected to the real area.
      const double cut = std::sqrt(1.0 - lam);
      const int64_t ch = static_cast<int64_t>(m.size * cut), cw = ch;
      std::uniform_int_distribution<int64_t> pos(0, m.size - 1);
      const int64_t cy = pos(mix_rng_), cx = pos(mix_rng_);
      const int64_t y0 = std::clamp<int64_t>(cy - ch / 2, 0, m.size), y1 = std::clamp<int64_t>(cy + ch / 2, 0, m.size);
      const int64_t x0 = std::clamp<int64_t>(cx - cw / 2, 0, m.size), x1 = std::clamp<int64_t>(cx + cw / 2, 0, m.size);
      lam = 1.0 - static_cast<double>((y1 - y0) * (x1 - x0)) / static_cast<double>(m.size * m.size);
      // The same box on every frame and channel, in patch layout.
      auto box = torch::zeros({1, m.frames, m.size, m.size, 3}, torch::kFloat);
      box.narrow(2, y0, y1 - y0).narrow(3, x0, x1 - x0).fill_(1.0);
      const auto bp = to_patches(box, m.tubelet, m.patch).to(device_);
      x = x * (1 - bp) + x.flip(0) * bp;
    } else {
      lam = sample_beta(mix_rng_, cfg_.mixup);
      x = x * lam + x.flip(0) * (1.0 - lam);
    }
    target = target * lam + target.flip(0) * (1.0 - lam);
  }

  torch::Tensor logits, loss;
  {
    AutocastScope autocast(autocast_);
    const c10::optional<torch::Generator> g =
        device_.is_cpu() ? c10::optional<torch::Generator>(gen_) : c10::optional<torch::Generator>();
    logits = model_->forward(autocast_ ? x.to(torch::kBFloat16) : x, g).to(torch::kFloat);
    loss = torch::sum(-target * torch::log_softmax(logits, 1), 1).mean();
  }
  loss.backward();
  const double lr = scheduled_lr(cfg_.optim, step_);
  auto& pg = adamw_->param_groups();
  for (size_t i = 0; i < pg.size(); ++i) static_cast<torch::optim::AdamWOptions&>(pg[i].options()).lr(lr * group_scale_[i]);
  const auto norm = clip_grad_norm(trainable_, cfg_.optim.clip_grad);
  adamw_->step();
  for (auto& p : trainable_) p.mutable_grad() = torch::Tensor();
  const auto acc = logits.detach().argmax(1).eq(lab).to(torch::kFloat).mean();
  const auto host = torch::stack({loss.detach(), norm.to(loss.device()), acc}).to(torch::kCPU, torch::kDouble);
  ++step_;
  ClassifierStep out;
  out.step = step_;
  out.loss = host[0].item<double>();
  out.grad_norm = host[1].item<double>();
  out.acc = host[2].item<double>();
  out.lr = lr;
  out.step_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

torch::Tensor ClassifierSession::predict(const torch::Tensor& clips) {
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto x = patches(clips);
  AutocastScope autocast(autocast_);
  return model_->forward(x, c10::nullopt).to(torch::kFloat).to(torch::kCPU).contiguous();
}

std::vector<std::pair<std::string, torch::Tensor>> ClassifierSession::state_dict() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : model_->named_parameters(/*recurse=*/true))
    out.emplace_back(item.key(), item.value().detach().to(torch::kCPU, torch::kFloat));
  out.emplace_back("state.step", torch::tensor(step_, torch::kLong).reshape({}));
  return out;
}

LoadReport ClassifierSession::load_state_dict(const std::map<std::string, torch::Tensor>& entries, bool strict) {
  torch::NoGradGuard no_grad;
  LoadReport report;
  std::map<std::string, torch::Tensor> params;
  for (const auto& item : model_->named_parameters(/*recurse=*/true)) params[item.key()] = item.value();
  for (const auto& [name, t] : entries) {
    if (name == "state.step") continue;
    const auto it = params.find(name);
    if (it == params.end()) {
      report.unexpected.push_back(name);
      continue;
    }
    TORCH_CHECK(t.sizes() == it->second.sizes(), "loadStateDict: '", name, "' has shape ", t.sizes(), ", the model has ",
                it->second.sizes());
  }
  for (const auto& [name, p] : params)
    if (!entries.count(name)) report.missing.push_back(name);
  if (strict) {
    TORCH_CHECK(report.missing.empty(), "loadStateDict: missing weight '", report.missing.empty() ? "" : report.missing[0],
                "' (", report.missing.size(), " missing)");
    TORCH_CHECK(report.unexpected.empty(), "loadStateDict: unknown name '",
                report.unexpected.empty() ? "" : report.unexpected[0], "'");
  }
  for (const auto& [name, t] : entries) {
    const auto it = params.find(name);
    if (it != params.end()) it->second.copy_(t.to(it->second.device(), it->second.scalar_type()));
  }
  const auto s = entries.find("state.step");
  if (s != entries.end()) step_ = s->second.to(torch::kCPU, torch::kLong).item<int64_t>();
  return report;
}

}  // namespace tats::core
