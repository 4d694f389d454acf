// Session's training step: one step in three phases (session.h: begin_step, mae_step, end_step),
// run one after the other, or by StepGraph (step_graph.h), which captures mae_step once and
// replays it. The rest of the session (construction, evaluation, state): session.cpp.
#include "core/session.h"

#include <chrono>
#include <cstdio>

#include "core/autocast.h"
#include "core/mae_loss.h"
#include "core/masking.h"
#include "core/session_common.h"
#include "core/step_trace.h"
#include "core/vit.h"
#include "kernels/patchify_op.h"

namespace tats::core {

using detail::motion_shares;
using detail::read_scalars;
using detail::SessionDeviceGuard;

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

StepMetrics Session::train_step(const torch::Tensor& clips, const torch::Tensor& motion, bool stop) {
  const auto t0 = std::chrono::steady_clock::now();
  const SessionDeviceGuard device_guard(device_);
  check_clips(clips, "trainStep");
  const int64_t B = clips.size(0);
  TORCH_CHECK(B == cfg_.batch_size, "trainStep: clips hold ", B, " clips, the session's batchSize is ", cfg_.batch_size);
  check_motion(motion, B, "trainStep");
  model_->train();
  sampler_->train(true);
  configure_sdpa(cfg_.runtime.sdpa);
  const LayerNormBf16Scope ln_bf16(cfg_.runtime.layer_norm_bf16);
  StepTrace trace(step_);  // TATS_TRACE: this step on the profiler's timeline

  const bool graphed = use_graph();
  StepIO io;
  StepMetrics out;
  const auto before = [&] { io = begin_step(clips, graphed); };
  const auto mae = [&] { mae_step(io, /*capturable=*/graphed); };
  const auto after = [&] { out = end_step(io, motion, stop, t0, graphed); };
  if (!graphed) {
    before();
    mae();
    after();
    return out;
  }
  if (!graph_) {
    graph_ = std::make_shared<StepGraph>(device_, /*warmup=*/2);
    graph_io_ = graph_buffers(B);
  }
  graph_->run(before, mae, after);  // the same three phases; `mae` captured once, then replayed
  return out;
}

Session::StepIO Session::graph_buffers(int64_t batch) const {
  const auto nm = masked_count(cfg_.masking.strategy, cfg_.masking.ratio, grid_);
  const auto lopts = torch::TensorOptions().dtype(torch::kLong).device(device_);
  const auto fopts = lopts.dtype(torch::kFloat);
  StepIO io;  // clips: the staging upload's device buffer, fixed once allocated (step_buffers.h)
  io.draw.visible = torch::empty({batch, grid_.tokens() - nm}, lopts);
  io.draw.masked = torch::empty({batch, nm}, lopts);
  if (sampler_->capture() == MaskSampler::Capture::kInside) io.draw.policy = torch::zeros({batch, grid_.tokens()}, fopts);
  io.loss = torch::zeros({}, fopts);
  io.grad_norm = torch::zeros({}, fopts);
  io.errors = torch::zeros({batch, nm}, fopts);
  if (sampler_->wants_errors_after()) io.errors_after = torch::zeros({batch, nm}, fopts);
  return io;
}

Session::StepIO Session::begin_step(const torch::Tensor& clips, bool graphed) {
  StepIO io;
  if (graphed) {
    io = graph_io_;
    io.clips = upload_.upload(clips, device_);
  } else {
    // Pinned staging + reused device buffer (runtime.staging false: the pageable copy).
    io.clips = device_.is_cuda() && cfg_.runtime.staging ? upload_.upload(clips, device_) : to_device_clips(clips);
  }
  if (graphed && sampler_->capture() == MaskSampler::Capture::kInside) {
    sampler_->prepare_draw(gen_);  // the captured mae_step draws with this step's key
  } else if (graphed) {
    io.drawn = true;
    // The masks are drawn here, eagerly, and copied into the captured step's static buffers. A
    // sampler that reads the embeddings (TATS: detached, no joint loss) gets them from an eager
    // patchify + embed without grad; the captured forward then embeds only the visible patches.
    MaskDraw draw;
    {
      TATS_SCOPE("tats.sample");
      const AutocastScope autocast(autocast_);  // the sampler draws under autocast, as in mae_step
      torch::Tensor tokens;
      if (sampler_->reads_tokens()) {
        const torch::NoGradGuard no_grad;
        tokens = sampler_tokens(ops::patchify(io.clips, cfg_.model.tubelet, cfg_.model.patch, patch_dtype_,
                                              /*want_patches=*/true, /*want_targets=*/false)
                                    .patches);
      }
      draw = draw_masks(tokens, clips.size(0), gen_);
    }
    io.draw.visible.copy_(draw.visible, /*non_blocking=*/true);
    io.draw.masked.copy_(draw.masked, /*non_blocking=*/true);
    io.draw.policy = draw.policy;
    io.draw.aux = draw.aux;
  }
  io.lr = optimizer_->prepare(step_);
  return io;
}

void Session::mae_step(StepIO& io, bool capturable) {
  // A static buffer (graphed) is written in place: the captured step's outputs must stay where the
  // graph wrote them. Eager, io takes the step's own tensor.
  const auto put = [](torch::Tensor& slot, const torch::Tensor& value) {
    if (slot.defined()) slot.copy_(value);
    else slot = value;
  };
  const auto pt = ops::patchify(io.clips, cfg_.model.tubelet, cfg_.model.patch, patch_dtype_);
  MaeLoss loss;
  torch::Tensor total;
  {
    AutocastScope autocast(autocast_, /*cache=*/!capturable);
    // Undefined unless the sampler reads them and has not drawn yet (begin_step draws when graphed
    // with Capture::kBefore).
    const auto tokens = io.drawn ? torch::Tensor() : sampler_tokens(pt.patches);
    if (!io.drawn) {
      TATS_SCOPE("tats.sample");
      auto draw = draw_masks(tokens, io.clips.size(0), gen_, /*key_ready=*/capturable);
      put(io.draw.visible, draw.visible);
      put(io.draw.masked, draw.masked);
      if (draw.policy.defined()) put(io.draw.policy, draw.policy);
      io.draw.aux = std::move(draw.aux);
    }
    TATS_SCOPE("tats.mae_forward");
    const auto pred = model_->forward(pt.patches, tokens, io.draw.visible, io.draw.masked);
    loss = mae_loss(pred, pt.targets, io.draw.masked);
    total = loss.loss;
    const auto extra = sampler_->joint_loss(io.draw, loss.errors);
    if (extra.defined()) total = total + extra;
  }
  {
    TATS_SCOPE("tats.mae_backward");
    total.backward();
  }
  torch::Tensor grad_norm;
  {
    TATS_SCOPE("tats.optimizer");
    if (group_) optimizer_->all_reduce_grads(*group_);  // mean over ranks = the global batch's gradient
    grad_norm = optimizer_->apply();                    // with the scalars begin_step prepared
    optimizer_->zero_grad();
  }
  put(io.loss, loss.loss.detach());
  put(io.grad_norm, grad_norm);
  put(io.errors, loss.errors);
  const auto after = errors_after_update(pt, io.draw.visible, io.draw.masked, capturable);
  if (after.defined()) put(io.errors_after, after);
}

StepMetrics Session::end_step(const StepIO& io, const torch::Tensor& motion, bool stop,
                              std::chrono::steady_clock::time_point t0, bool graphed) {
  SamplerMetrics sampler_metrics;
  {
    TATS_SCOPE("tats.sampler_update");
    sampler_metrics = sampler_->update(io.draw, io.errors, io.errors_after);
  }
  std::vector<std::string> names{"loss", "gradNorm"};
  std::vector<torch::Tensor> values{io.loss, io.grad_norm};
  for (const auto& [name, value] : sampler_metrics) {
    names.push_back(name);
    values.push_back(value);
  }
  // Before the motion map's copy: a pageable host-to-device copy waits for the stream to drain.
  const double issued_ms = elapsed_ms(t0);  // the host has queued the whole step
  if (motion.defined()) motion_shares(motion, io.draw.masked, names, values);
  reduce_metrics(names, values, stop);
  const auto host = read_scalars(values);  // the step's one host sync

  ++step_;
  if (step_timing_enabled())  // is the step bound by the host's dispatch or by the GPU?
    std::fprintf(stderr, "tats: step %lld%s issued in %.2f ms, done in %.2f ms (clip copy %.2f ms)\n",
                 static_cast<long long>(step_), graphed ? " (graph)" : "", issued_ms, elapsed_ms(t0),
                 upload_.last_copy_ms());
  StepMetrics out;
  out.step = step_;
  out.lr = io.lr;
  out.loss = host[0];
  out.grad_norm = host[1];
  for (size_t i = 2; i < names.size(); ++i) out.extra[names[i]] = host[i];
  out.step_ms = elapsed_ms(t0);
  return out;
}

torch::Tensor Session::errors_after_update(const ops::Patchified& pt, const torch::Tensor& visible,
                                           const torch::Tensor& masked, bool capturable) {
  if (!sampler_->wants_errors_after()) return {};
  TATS_SCOPE("tats.errors_after");
  torch::NoGradGuard no_grad;
  AutocastScope autocast(autocast_, /*cache=*/!capturable);
  // No sampler reads these: only the visible patches are embedded.
  return mae_loss(model_->forward(pt.patches, {}, visible, masked), pt.targets, masked).errors.detach();
}

torch::Tensor Session::sampler_tokens(const torch::Tensor& patches) {
  return sampler_->reads_tokens() ? model_->embed(patches) : torch::Tensor();
}

MaskDraw Session::draw_masks(const torch::Tensor& tokens, int64_t batch, torch::Generator& gen, bool key_ready) {
  if (!key_ready) sampler_->prepare_draw(gen);
  if (!tokens.defined())
    return sampler_->sample(torch::empty({batch, grid_.tokens(), 0}, torch::TensorOptions().dtype(torch::kFloat).device(device_)),
                            batch, gen);
  return sampler_->sample(cfg_.sampler.detach_input ? tokens.detach() : tokens, batch, gen);
}

bool Session::use_graph() const {
  // Not under data parallelism yet: the graph's step has no all-reduce.
  return cfg_.runtime.graph && StepGraph::supported() && device_.is_cuda() && optimizer_->fused() &&
         sampler_->capture() != MaskSampler::Capture::kNone && !group_;
}

void Session::reduce_metrics(std::vector<std::string>& names, std::vector<torch::Tensor>& values, bool stop) {
  if (!group_) return;
  names.emplace_back("stopRequested");
  values.push_back(torch::full({}, stop ? 1.0 : 0.0, values.front().options().dtype(torch::kFloat)));
  std::vector<torch::Tensor> flat;
  for (const auto& v : values) flat.push_back(v.detach().to(torch::kFloat).reshape({1}));
  auto packed = torch::cat(flat);
  group_->all_reduce_mean_(packed);
  values = {packed};
}

}  // namespace tats::core
