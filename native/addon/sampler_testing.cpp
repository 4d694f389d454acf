// Test and benchmark entry points for the samplers (trajectory attention, PPO loss, the mask
// draw's frequencies, a bandit, the sampler's cost). They run the real core code; the checks
// themselves live in core/sampler_checks, the timing in core/sampler_bench.
#include <cmath>
#include <cstring>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/exports.h"
#include "core/sampler_bench.h"
#include "core/sampler_checks.h"

namespace tats::addon {

namespace {

// Optional device argument: 'cpu' (default) or 'cuda' (rejected without a CUDA device).
torch::Device arg_device(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return torch::kCPU;
  const std::string name = arg_string(info, index, "device");
  if (name == "cpu") return torch::kCPU;
  if (name != "cuda") throw_error(info.Env(), "ERR_INVALID_ARG", "device must be 'cpu' or 'cuda', received '" + name + "'");
  if (!torch::cuda::is_available()) throw_error(info.Env(), "ERR_NO_CUDA", "device 'cuda' requested but no CUDA device is available");
  return {torch::kCUDA, 0};
}

uint64_t arg_seed(const Napi::CallbackInfo& info, size_t index) {
  const int64_t seed = arg_int(info, index, "seed");
  if (seed < 0) throw_type_error(info.Env(), "seed must be a non-negative integer");
  return static_cast<uint64_t>(seed);
}

class TrajectoryAttentionCheckWorker : public PromiseWorker {
 public:
  TrajectoryAttentionCheckWorker(Napi::Env env, uint64_t seed, torch::Device device)
      : PromiseWorker(env, "trajectoryAttentionCheck"), seed_(seed), device_(device) {}

 protected:
  void Run() override { c_ = core::trajectory_attention_check(seed_, device_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("batch", Napi::Number::New(env, static_cast<double>(c_.batch)));
    o.Set("tokens", Napi::Number::New(env, static_cast<double>(c_.tokens)));
    o.Set("frames", Napi::Number::New(env, static_cast<double>(c_.frames)));
    o.Set("dim", Napi::Number::New(env, static_cast<double>(c_.dim)));
    o.Set("heads", Napi::Number::New(env, static_cast<double>(c_.heads)));
    o.Set("yMaxAbsDiff", c_.y_max_abs_diff);
    o.Set("varianceMaxAbsDiff", c_.variance_max_abs_diff);
    o.Set("gradMaxAbsDiff", c_.grad_max_abs_diff);
    o.Set("yMaxAbs", c_.y_max_abs);
    return o;
  }

 private:
  uint64_t seed_;
  torch::Device device_;
  core::TrajectoryAttentionCheck c_{};
};

class PpoGradCheckWorker : public PromiseWorker {
 public:
  PpoGradCheckWorker(Napi::Env env, uint64_t seed) : PromiseWorker(env, "ppoGradCheck"), seed_(seed) {}

 protected:
  void Run() override { c_ = core::ppo_grad_check(seed_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("logitsMaxAbsDiff", c_.logits_max_abs_diff);
    o.Set("valuesMaxAbsDiff", c_.values_max_abs_diff);
    o.Set("kernelLogitsMaxAbsDiff", c_.kernel_logits_max_abs_diff);
    o.Set("kernelValuesMaxAbsDiff", c_.kernel_values_max_abs_diff);
    o.Set("logitsMaxAbsGrad", c_.logits_max_abs_grad);
    o.Set("valuesMaxAbsGrad", c_.values_max_abs_grad);
    o.Set("loss", c_.loss);
    o.Set("clipFrac", c_.clip_frac);
    return o;
  }

 private:
  uint64_t seed_;
  core::PpoGradCheck c_{};
};

// trajectoryAttentionCheck(seed, device?) -> Promise<{yMaxAbsDiff, varianceMaxAbsDiff, gradMaxAbsDiff, ...}>
Napi::Value TrajectoryAttentionCheckFn(const Napi::CallbackInfo& info) {
  const uint64_t seed = arg_seed(info, 0);
  auto* worker = new TrajectoryAttentionCheckWorker(info.Env(), seed, arg_device(info, 1));
  worker->Queue();
  return worker->Promise();
}

// ppoGradCheck(seed) -> Promise<{logitsMaxAbsDiff, valuesMaxAbsDiff, ...}>
Napi::Value PpoGradCheckFn(const Napi::CallbackInfo& info) {
  auto* worker = new PpoGradCheckWorker(info.Env(), arg_seed(info, 0));
  worker->Queue();
  return worker->Promise();
}

class DrawFrequencyCheckWorker : public PromiseWorker {
 public:
  DrawFrequencyCheckWorker(Napi::Env env, uint64_t seed, double ratio, int64_t draws, torch::Device device)
      : PromiseWorker(env, "drawFrequencyCheck"), seed_(seed), ratio_(ratio), draws_(draws), device_(device) {}

 protected:
  void Run() override { c_ = core::draw_frequency_check(seed_, ratio_, draws_, device_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("tokens", Napi::Number::New(env, static_cast<double>(c_.tokens)));
    o.Set("masked", Napi::Number::New(env, static_cast<double>(c_.masked)));
    o.Set("draws", Napi::Number::New(env, static_cast<double>(c_.draws)));
    o.Set("maxAbsDiff", c_.max_abs_diff);
    o.Set("maxStdError", c_.max_std_error);
    o.Set("qMin", c_.q_min);
    o.Set("qMax", c_.q_max);
    o.Set("budgetMaxAbsDiff", c_.budget_max_abs_diff);
    o.Set("exactCount", Napi::Boolean::New(env, c_.exact_count));
    return o;
  }

 private:
  uint64_t seed_;
  double ratio_;
  int64_t draws_;
  torch::Device device_;
  core::DrawFrequencyCheck c_{};
};

// drawFrequencyCheck(seed, ratio, draws, device?) -> Promise<{maxAbsDiff, exactCount, ...}>
Napi::Value DrawFrequencyCheckFn(const Napi::CallbackInfo& info) {
  const uint64_t seed = arg_seed(info, 0);
  const double ratio = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1.0;
  if (!(ratio > 0 && ratio < 1)) throw_error(info.Env(), "ERR_INVALID_ARG", "ratio must be in (0, 1)");
  const int64_t draws = arg_int(info, 2, "draws");
  if (draws < 1 || draws > 1000000) throw_error(info.Env(), "ERR_INVALID_ARG", "draws must be an integer in [1, 1000000]");
  auto* worker = new DrawFrequencyCheckWorker(info.Env(), seed, ratio, draws, arg_device(info, 3));
  worker->Queue();
  return worker->Promise();
}

class BanditCheckWorker : public PromiseWorker {
 public:
  BanditCheckWorker(Napi::Env env, std::string strategy, uint64_t seed, int64_t steps, torch::Device device)
      : PromiseWorker(env, "samplerBanditCheck"),
        strategy_(std::move(strategy)),
        seed_(seed),
        steps_(steps),
        device_(device) {}

 protected:
  void Run() override { c_ = core::sampler_bandit_check(strategy_, seed_, steps_, device_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("movingShare", c_.moving_share);
    o.Set("firstMaskedMovingShare", c_.first_masked_moving);
    o.Set("lastMaskedMovingShare", c_.last_masked_moving);
    o.Set("qMoving", c_.last_q_moving);
    o.Set("qStatic", c_.last_q_static);
    o.Set("entropy", c_.last_entropy);
    o.Set("clipFrac", c_.last_clip_frac);
    o.Set("kl", c_.last_kl);
    o.Set("valueLoss", c_.last_value_loss);
    o.Set("ppoEpochs", c_.last_epochs);
    return o;
  }

 private:
  std::string strategy_;
  uint64_t seed_;
  int64_t steps_;
  torch::Device device_;
  core::BanditCheck c_{};
};

// samplerBanditCheck(strategy: 'tats'|'adamae', seed, steps, device?) -> Promise<{movingShare, ...}>
Napi::Value BanditCheckFn(const Napi::CallbackInfo& info) {
  const std::string strategy = arg_string(info, 0, "strategy");
  if (strategy != "tats" && strategy != "adamae")
    throw_error(info.Env(), "ERR_INVALID_ARG", "strategy must be 'tats' or 'adamae', received '" + strategy + "'");
  const uint64_t seed = arg_seed(info, 1);
  const int64_t steps = arg_int(info, 2, "steps");
  if (steps < 20 || steps > 10000) throw_type_error(info.Env(), "steps must be an integer in [20, 10000]");
  auto* worker = new BanditCheckWorker(info.Env(), strategy, seed, steps, arg_device(info, 3));
  worker->Queue();
  return worker->Promise();
}

class SamplerBenchWorker : public PromiseWorker {
 public:
  SamplerBenchWorker(Napi::Env env, core::SamplerBenchOptions options, torch::Device device)
      : PromiseWorker(env, "samplerBench"), options_(options), device_(device) {}

 protected:
  void Run() override { r_ = core::sampler_bench(options_, device_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("actMs", r_.act_ms);
    o.Set("updateMs", r_.update_ms);
    o.Set("peakMiB", r_.peak_mib);
    return o;
  }

 private:
  core::SamplerBenchOptions options_;
  torch::Device device_;
  core::SamplerBenchResult r_{};
};

// samplerBench({batch, slots, perSlot, inputDim, dim, heads, epochs, steps, ratio, bf16?}, device?)
//   -> Promise<{actMs, updateMs, peakMiB}>
Napi::Value SamplerBenchFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object opts = arg_object(info, 0, "options");
  core::SamplerBenchOptions o;
  o.batch = get_int(opts, "batch", "options");
  o.slots = get_int(opts, "slots", "options");
  o.per_slot = get_int(opts, "perSlot", "options");
  o.input_dim = get_int(opts, "inputDim", "options");
  o.dim = get_int(opts, "dim", "options");
  o.heads = get_int(opts, "heads", "options");
  o.epochs = get_int(opts, "epochs", "options");
  o.steps = get_int(opts, "steps", "options");
  o.ratio = get_number(opts, "ratio", "options");
  o.bf16 = get_bool_or(opts, "bf16", false, "options");
  const torch::Device device = arg_device(info, 1);
  // Upper bounds too: steps and epochs are loop counts (an unbounded one hangs the worker).
  const bool ok = o.batch >= 1 && o.batch <= 1024 && o.slots >= 1 && o.slots <= 64 && o.per_slot >= 1 &&
                  o.per_slot <= 4096 && o.input_dim >= 1 && o.input_dim <= 4096 && o.dim >= 1 && o.dim <= 4096 &&
                  o.heads >= 1 && o.heads <= 64 && o.dim % o.heads == 0 && o.epochs >= 1 && o.epochs <= 64 &&
                  o.steps >= 3 && o.steps <= 10000 && o.ratio > 0 && o.ratio < 1;
  if (!ok)
    throw_error(env, "ERR_INVALID_ARG",
                "samplerBench: sizes must be positive (batch <= 1024, slots <= 64, perSlot <= 4096, inputDim and dim <= 4096, heads <= 64), dim a multiple of heads, epochs in [1, 64], steps in [3, 10000], ratio in (0, 1)");
  if (o.bf16 && !device.is_cuda()) throw_error(env, "ERR_INVALID_ARG", "samplerBench: bf16 needs device 'cuda'");
  auto* worker = new SamplerBenchWorker(env, o, device);
  worker->Queue();
  return worker->Promise();
}

}  // namespace

void register_sampler_testing(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "trajectoryAttentionCheck", TrajectoryAttentionCheckFn);
  export_function(env, exports, "ppoGradCheck", PpoGradCheckFn);
  export_function(env, exports, "drawFrequencyCheck", DrawFrequencyCheckFn);
  export_function(env, exports, "samplerBanditCheck", BanditCheckFn);
  export_function(env, exports, "samplerBench", SamplerBenchFn);
}

}  // namespace tats::addon
