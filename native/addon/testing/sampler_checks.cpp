// Self-checks of the sampler pieces, for the test suites: trajectory attention against its naive
// reference, the PPO loss's gradients, the budgeted draw's frequencies and a bandit. They run the
// real core code; the checks themselves live in core/testing/sampler_checks.
#include "addon/errors.h"
#include "addon/testing/args.h"
#include "addon/testing/exports.h"
#include "core/testing/sampler_checks.h"

namespace tats::addon::testing {

namespace {

class TrajectoryAttentionCheckWorker : public PromiseWorker {
 public:
  TrajectoryAttentionCheckWorker(Napi::Env env, uint64_t seed, torch::Device device)
      : PromiseWorker(env, "trajectoryAttentionCheck"), seed_(seed), device_(device) {}

 protected:
  void Run() override { c_ = core::testing::trajectory_attention_check(seed_, device_); }
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
    o.Set("paramGradMaxAbsDiff", c_.param_grad_max_abs_diff);
    o.Set("paramGradMaxAbs", c_.param_grad_max_abs);
    o.Set("keyBiasGradMaxAbs", c_.key_bias_grad_max_abs);
    return o;
  }

 private:
  uint64_t seed_;
  torch::Device device_;
  core::testing::TrajectoryAttentionCheck c_{};
};

class PpoGradCheckWorker : public PromiseWorker {
 public:
  PpoGradCheckWorker(Napi::Env env, uint64_t seed) : PromiseWorker(env, "ppoGradCheck"), seed_(seed) {}

 protected:
  void Run() override { c_ = core::testing::ppo_grad_check(seed_); }
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
  core::testing::PpoGradCheck c_{};
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
  void Run() override { c_ = core::testing::draw_frequency_check(seed_, ratio_, draws_, device_); }
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
  core::testing::DrawFrequencyCheck c_{};
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
  void Run() override { c_ = core::testing::sampler_bandit_check(strategy_, seed_, steps_, device_); }
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
  core::testing::BanditCheck c_{};
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

}  // namespace

void register_sampler_checks(Napi::Env env, Napi::Object testing) {
  export_function(env, testing, "trajectoryAttentionCheck", TrajectoryAttentionCheckFn);
  export_function(env, testing, "ppoGradCheck", PpoGradCheckFn);
  export_function(env, testing, "drawFrequencyCheck", DrawFrequencyCheckFn);
  export_function(env, testing, "samplerBanditCheck", BanditCheckFn);
}

}  // namespace tats::addon::testing
