// Session: the JS face of tats::core::Session. The constructor reads the resolved config into a
// plain struct on the JS thread; every method that computes runs in a PromiseWorker. One call at
// a time per session: a second call while one runs rejects with ERR_BUSY.
#include "core/session.h"

#include <cstring>
#include <memory>

#include "addon/call_guard.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/limits.h"
#include "addon/state_dict.h"
#include "addon/exports.h"
#include "addon/instance.h"

namespace tats::addon {

namespace {

// Every field is required: defaults live in the TypeScript config.
core::SessionConfig read_config(const Napi::Object& c) {
  core::SessionConfig cfg;
  const Napi::Object m = get_object(c, "model", "config");
  cfg.model.preset = get_string(m, "preset", "config.model");
  cfg.model.frames = get_int(m, "frames", "config.model");
  cfg.model.size = get_int(m, "size", "config.model");
  cfg.model.tubelet = get_int(m, "tubelet", "config.model");
  cfg.model.patch = get_int(m, "patch", "config.model");
  cfg.model.channels = get_int(m, "channels", "config.model");
  cfg.model.encoder_dim = get_int(m, "encoderDim", "config.model");
  cfg.model.encoder_depth = get_int(m, "encoderDepth", "config.model");
  cfg.model.encoder_heads = get_int(m, "encoderHeads", "config.model");
  cfg.model.decoder_dim = get_int(m, "decoderDim", "config.model");
  cfg.model.decoder_depth = get_int(m, "decoderDepth", "config.model");
  cfg.model.decoder_heads = get_int(m, "decoderHeads", "config.model");
  cfg.model.mlp_ratio = get_number(m, "mlpRatio", "config.model");
  const Napi::Object k = get_object(c, "masking", "config");
  cfg.masking.strategy = get_string(k, "strategy", "config.masking");
  cfg.masking.ratio = get_number(k, "ratio", "config.masking");
  const Napi::Object s = get_object(c, "sampler", "config");
  cfg.sampler.dim = get_int(s, "dim", "config.sampler");
  cfg.sampler.heads = get_int(s, "heads", "config.sampler");
  cfg.sampler.temperature = get_number(s, "temperature", "config.sampler");
  cfg.sampler.ppo_epochs = get_int(s, "ppoEpochs", "config.sampler");
  cfg.sampler.clip_eps = get_number(s, "clipEps", "config.sampler");
  cfg.sampler.value_coef = get_number(s, "valueCoef", "config.sampler");
  cfg.sampler.beta = get_number(s, "beta", "config.sampler");
  cfg.sampler.beta_start = get_number(s, "betaStart", "config.sampler");
  cfg.sampler.beta_steps = get_int(s, "betaSteps", "config.sampler");
  cfg.sampler.target_kl = get_number(s, "targetKl", "config.sampler");
  cfg.sampler.reward = get_string(s, "reward", "config.sampler");
  cfg.sampler.lr = get_number(s, "lr", "config.sampler");
  cfg.sampler.warmup_steps = get_int(s, "warmupSteps", "config.sampler");
  cfg.sampler.clip_grad = get_number(s, "clipGrad", "config.sampler");
  cfg.sampler.weight_decay = get_number(s, "weightDecay", "config.sampler");
  cfg.sampler.detach_input = get_bool(s, "detachInput", "config.sampler");
  cfg.sampler.adamae_weight = get_number(s, "adamaeWeight", "config.sampler");
  const Napi::Object o = get_object(c, "optim", "config");
  cfg.optim.lr = get_number(o, "lr", "config.optim");
  cfg.optim.min_lr = get_number(o, "minLr", "config.optim");
  cfg.optim.warmup_steps = get_int(o, "warmupSteps", "config.optim");
  cfg.optim.total_steps = get_int(o, "totalSteps", "config.optim");
  cfg.optim.weight_decay = get_number(o, "weightDecay", "config.optim");
  cfg.optim.beta1 = get_number(o, "beta1", "config.optim");
  cfg.optim.beta2 = get_number(o, "beta2", "config.optim");
  cfg.optim.clip_grad = get_number(o, "clipGrad", "config.optim");
  cfg.batch_size = get_int(c, "batchSize", "config");
  cfg.device = get_string(c, "device", "config");
  cfg.seed = get_int(c, "seed", "config");
  cfg.precision = get_string(c, "precision", "config");
  const Napi::Object r = get_object(c, "runtime", "config");
  cfg.runtime.graph = get_bool(r, "graph", "config.runtime");
  cfg.runtime.staging = get_bool(r, "staging", "config.runtime");
  cfg.runtime.sdpa = get_string(r, "sdpa", "config.runtime");
  cfg.runtime.layer_norm_bf16 = get_bool(r, "layerNormBf16", "config.runtime");
  cfg.runtime.legacy_adamw = get_bool(r, "legacyAdamw", "config.runtime");
  // Optional (single process on device 0 when absent): lib/config always sets them.
  cfg.device_index = get_int_or(c, "deviceIndex", 0, "config");
  const Napi::Value dp = c.Get("dataParallel");
  if (!dp.IsUndefined()) cfg.data_parallel = get_bool(c, "dataParallel", "config");
  return cfg;
}

class SessionWrap;
using SessionCall = CallGuard<SessionWrap, core::Session>;

// Base of every async Session call: keeps the core session and the JS objects it reads alive
// until the promise settles, then frees the session for the next call.
class SessionWorker : public PromiseWorker {
 public:
  SessionWorker(Napi::Env env, const char* name, SessionWrap* wrap);

 protected:
  void Cleanup() override;
  void Abandon() override;
  std::shared_ptr<core::Session> session_;
  SessionWrap* wrap_;
  void keep(const Napi::Value& v) { refs_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

 private:
  Napi::ObjectReference self_;
  std::vector<Napi::ObjectReference> refs_;
};

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Session",
                       {InstanceMethod<&SessionWrap::TrainStep>("trainStep"),
                        InstanceMethod<&SessionWrap::EvalStep>("evalStep"),
                        InstanceMethod<&SessionWrap::Reconstruct>("reconstruct"),
                        InstanceMethod<&SessionWrap::StateDict>("stateDict"),
                        InstanceMethod<&SessionWrap::LoadStateDict>("loadStateDict"),
                        InstanceMethod<&SessionWrap::Dispose>("dispose"),
                        InstanceAccessor<&SessionWrap::Step>("step"),
                        InstanceAccessor<&SessionWrap::Tokens>("tokens"),
                        InstanceAccessor<&SessionWrap::Disposed>("disposed")});
  }

  explicit SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
    Napi::Env env = info.Env();
    guarded(env, "Session", [&]() -> Napi::Value {
      const auto cfg = read_config(arg_object(info, 0, "config"));
      check_session_config(env, cfg);
      session_ = std::make_shared<core::Session>(cfg);
      tokens_ = session_->grid().tokens();
      return env.Undefined();
    });
  }

  std::shared_ptr<core::Session> session() const { return session_; }
  void set_busy(bool busy) { busy_ = busy; }
  void set_step(int64_t step) { step_ = step; }
  int64_t tokens() const { return tokens_; }
  int64_t batch() const { return session_->config().batch_size; }
  const core::SessionConfig& config() const { return session_->config(); }

 private:
  // Throws ERR_DISPOSED after dispose(); returns a rejected promise (else undefined) while busy.
  Napi::Value check_ready(Napi::Env env, const char* what) {
    if (!session_) throw_error(env, "ERR_DISPOSED", std::string("Session.") + what + ": the session has been disposed");
    if (busy_) return rejected_busy(env, std::string("Session.") + what);
    return Napi::Value();
  }

  // The ranges the core trusts, checked before it divides or allocates (addon/limits.h).
  static void check_session_config(Napi::Env env, const core::SessionConfig& cfg) {
    check_model(env, cfg.model, /*decoder=*/true, "config.model", cfg.device, cfg.device_index);
    check_range(env, "config.batchSize", cfg.batch_size, 1, int64_t{1} << 20);
    // The sampler's counts drive loops (PPO epochs per step) and allocations: lib/config's ranges.
    check_range(env, "config.sampler.ppoEpochs", cfg.sampler.ppo_epochs, 1, 64);
    check_range(env, "config.sampler.dim", cfg.sampler.dim, 1, 16384);
    check_range(env, "config.sampler.heads", cfg.sampler.heads, 1, 256);
    check_range(env, "config.sampler.betaSteps", cfg.sampler.beta_steps, 0, 1000000000);
    check_range(env, "config.sampler.warmupSteps", cfg.sampler.warmup_steps, 0, 1000000000);
    const auto& reward = cfg.sampler.reward;
    if (reward != "error" && reward != "negError" && reward != "progress")
      throw_error(env, "ERR_INVALID_ARG",
                  "config.sampler.reward must be 'error', 'negError' or 'progress', received '" + reward + "'");
    const auto& sdpa = cfg.runtime.sdpa;
    if (sdpa != "auto" && sdpa != "flash" && sdpa != "efficient" && sdpa != "cudnn" && sdpa != "math")
      throw_error(env, "ERR_INVALID_ARG",
                  "config.runtime.sdpa must be 'auto', 'flash', 'efficient', 'cudnn' or 'math', received '" + sdpa + "'");
  }

  // clips as [B, T, H, W, 3]: B = batchSize for training; any whole number of clips otherwise.
  // Copied unless in shared memory (convert.h: uint8_input).
  static torch::Tensor clip_view(const Napi::CallbackInfo& info, const SessionCall& call, const char* what,
                                 bool any_batch) {
    const auto& c = call.session()->config();
    return clips_view(info, what, c.model.frames, c.model.size, c.batch_size, any_batch, &call.wrap()->clip_buffer_);
  }

  // Optional [B, N] uint8 argument (motion or mask); undefined tensor when absent.
  torch::Tensor token_map(const Napi::CallbackInfo& info, size_t index, int64_t b, const char* name) {
    if (info.Length() <= index || info[index].IsUndefined()) return {};
    return uint8_input(info.Env(), info[index], {b, tokens_}, name);
  }

  Napi::Value TrainStep(const Napi::CallbackInfo& info);
  Napi::Value EvalStep(const Napi::CallbackInfo& info);
  Napi::Value Reconstruct(const Napi::CallbackInfo& info);
  Napi::Value StateDict(const Napi::CallbackInfo& info);
  Napi::Value LoadStateDict(const Napi::CallbackInfo& info);

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    // A running worker holds its own reference: the session is freed when that call settles.
    session_.reset();
    return info.Env().Undefined();
  }
  Napi::Value Step(const Napi::CallbackInfo& info) {
    if (!session_) throw_error(info.Env(), "ERR_DISPOSED", "Session.step: the session has been disposed");
    return Napi::Number::New(info.Env(), static_cast<double>(step_));
  }
  Napi::Value Tokens(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(tokens_)); }
  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !session_); }

  std::shared_ptr<core::Session> session_;
  torch::Tensor clip_buffer_;  // the last clip copy, reused (convert.h: uint8_input)
  bool busy_ = false;
  int64_t step_ = 0;
  int64_t tokens_ = 0;
};

SessionWorker::SessionWorker(Napi::Env env, const char* name, SessionWrap* wrap)
    : PromiseWorker(env, name), session_(wrap->session()), wrap_(wrap), self_(Napi::Persistent(wrap->Value())) {
  wrap_->set_busy(true);
}

void SessionWorker::Cleanup() {
  wrap_->set_busy(false);
  refs_.clear();
  self_.Reset();
}

// The env is being torn down (a worker_thread terminated mid-call): the wrapper may be gone and
// no N-API call is safe. The JS references are left to the env; the core session is released.
void SessionWorker::Abandon() {
  for (auto& r : refs_) r.SuppressDestruct();
  self_.SuppressDestruct();
}

Napi::Object metrics_object(Napi::Env env, const std::map<std::string, double>& extra) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [k, v] : extra) o.Set(k, Napi::Number::New(env, v));
  return o;
}

class TrainWorker : public SessionWorker {
 public:
  TrainWorker(Napi::Env env, SessionWrap* wrap, torch::Tensor clips, torch::Tensor motion, bool stop)
      : SessionWorker(env, "Session.trainStep", wrap), clips_(std::move(clips)), motion_(std::move(motion)),
        stop_(stop) {}
  using SessionWorker::keep;

 protected:
  void Run() override { out_ = session_->train_step(clips_, motion_, stop_); }
  Napi::Value Result(Napi::Env env) override {
    wrap_->set_step(out_.step);
    Napi::Object o = metrics_object(env, out_.extra);
    o.Set("step", Napi::Number::New(env, static_cast<double>(out_.step)));
    o.Set("loss", Napi::Number::New(env, out_.loss));
    o.Set("lr", Napi::Number::New(env, out_.lr));
    o.Set("gradNorm", Napi::Number::New(env, out_.grad_norm));
    o.Set("stepMs", Napi::Number::New(env, out_.step_ms));
    return o;
  }

 private:
  torch::Tensor clips_, motion_;
  bool stop_;
  core::StepMetrics out_;
};

class EvalWorker : public SessionWorker {
 public:
  EvalWorker(Napi::Env env, SessionWrap* wrap, torch::Tensor clips, torch::Tensor motion)
      : SessionWorker(env, "Session.evalStep", wrap), clips_(std::move(clips)), motion_(std::move(motion)) {}
  using SessionWorker::keep;

 protected:
  void Run() override { out_ = session_->eval_step(clips_, motion_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = metrics_object(env, out_.extra);
    o.Set("loss", Napi::Number::New(env, out_.loss));
    return o;
  }

 private:
  torch::Tensor clips_, motion_;
  core::EvalMetrics out_;
};

class ReconstructWorker : public SessionWorker {
 public:
  ReconstructWorker(Napi::Env env, SessionWrap* wrap, torch::Tensor clips, torch::Tensor mask)
      : SessionWorker(env, "Session.reconstruct", wrap), clips_(std::move(clips)), mask_(std::move(mask)) {}
  using SessionWorker::keep;

 protected:
  void Run() override { out_ = session_->reconstruct(clips_, mask_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("pred", to_float32_array(env, out_.pred));
    o.Set("target", to_float32_array(env, out_.target));
    o.Set("mask", to_uint8_array(env, out_.mask));
    o.Set("maskedPerClip", Napi::Number::New(env, static_cast<double>(out_.masked_per_clip)));
    o.Set("tokens", Napi::Number::New(env, static_cast<double>(out_.tokens)));
    o.Set("valuesPerToken", Napi::Number::New(env, static_cast<double>(out_.values_per_token)));
    if (out_.policy.defined()) o.Set("policy", to_float32_array(env, out_.policy));
    return o;
  }

 private:
  torch::Tensor clips_, mask_;
  core::Reconstruction out_;
};

class StateDictWorker : public SessionWorker {
 public:
  StateDictWorker(Napi::Env env, SessionWrap* wrap) : SessionWorker(env, "Session.stateDict", wrap) {}

 protected:
  void Run() override {
    entries_ = session_->state_dict();
    for (auto& [name, t] : entries_) {
      safetensors_dtype(t.scalar_type());  // fail here, off the JS thread, on a dtype without a name
      t = t.contiguous();
    }
  }
  // The session is still marked busy here, so the tensors (which may alias live CPU weights)
  // cannot change while they are copied.
  Napi::Value Result(Napi::Env env) override { return state_to_js(env, entries_); }

 private:
  core::NamedTensors entries_;
};

class LoadStateWorker : public SessionWorker {
 public:
  LoadStateWorker(Napi::Env env, SessionWrap* wrap, std::map<std::string, torch::Tensor> entries, bool strict)
      : SessionWorker(env, "Session.loadStateDict", wrap), entries_(std::move(entries)), strict_(strict) {}

 protected:
  void Run() override {
    session_->load_state_dict(entries_, strict_);
    step_ = session_->step();
  }
  Napi::Value Result(Napi::Env env) override {
    wrap_->set_step(step_);
    return env.Undefined();
  }

 private:
  std::map<std::string, torch::Tensor> entries_;
  bool strict_;
  int64_t step_ = 0;
};

// Every method: check, take the busy mark, read every argument into C++ values (JS may run
// here: getters), make sure the session was not disposed meanwhile, then queue the worker.
Napi::Value SessionWrap::TrainStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "Session.trainStep", [&]() -> Napi::Value {
    if (auto busy = check_ready(env, "trainStep"); !busy.IsEmpty()) return busy;
    SessionCall call(this);
    // Optional third argument {stop: boolean}: this rank asks every rank to stop after this step.
    // Read first: its getters may run JS.
    bool stop = false;
    if (info.Length() > 2 && !info[2].IsUndefined()) stop = get_bool(arg_object(info, 2, "options"), "stop", "options");
    auto clips = clip_view(info, call, "trainStep", /*any_batch=*/false);
    auto motion = token_map(info, 1, clips.size(0), "motion");
    call.check_alive(env, "Session.trainStep");
    auto* worker = new TrainWorker(env, this, clips, motion, stop);
    call.hand_over();
    worker->keep(info[0]);
    if (motion.defined()) worker->keep(info[1]);
    worker->Queue();
    return worker->Promise();
  });
}

Napi::Value SessionWrap::EvalStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "Session.evalStep", [&]() -> Napi::Value {
    if (auto busy = check_ready(env, "evalStep"); !busy.IsEmpty()) return busy;
    SessionCall call(this);
    auto clips = clip_view(info, call, "evalStep", /*any_batch=*/true);
    auto motion = token_map(info, 1, clips.size(0), "motion");
    call.check_alive(env, "Session.evalStep");
    auto* worker = new EvalWorker(env, this, clips, motion);
    call.hand_over();
    worker->keep(info[0]);
    if (motion.defined()) worker->keep(info[1]);
    worker->Queue();
    return worker->Promise();
  });
}

Napi::Value SessionWrap::Reconstruct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "Session.reconstruct", [&]() -> Napi::Value {
    if (auto busy = check_ready(env, "reconstruct"); !busy.IsEmpty()) return busy;
    SessionCall call(this);
    auto clips = clip_view(info, call, "reconstruct", /*any_batch=*/true);
    auto mask = token_map(info, 1, clips.size(0), "mask");
    call.check_alive(env, "Session.reconstruct");
    auto* worker = new ReconstructWorker(env, this, clips, mask);
    call.hand_over();
    worker->keep(info[0]);
    if (mask.defined()) worker->keep(info[1]);
    worker->Queue();
    return worker->Promise();
  });
}

Napi::Value SessionWrap::StateDict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "Session.stateDict", [&]() -> Napi::Value {
    if (auto busy = check_ready(env, "stateDict"); !busy.IsEmpty()) return busy;
    SessionCall call(this);
    auto* worker = new StateDictWorker(env, this);
    call.hand_over();
    worker->Queue();
    return worker->Promise();
  });
}

Napi::Value SessionWrap::LoadStateDict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "Session.loadStateDict", [&]() -> Napi::Value {
    if (auto busy = check_ready(env, "loadStateDict"); !busy.IsEmpty()) return busy;
    SessionCall call(this);
    const Napi::Object map = arg_object(info, 0, "state");
    const Napi::Object opts = arg_object(info, 1, "options");
    const Napi::Value strict = opts.Get("strict");
    if (!strict.IsBoolean()) throw_type_error(env, "options.strict must be a boolean");
    const bool strict_value = strict.As<Napi::Boolean>().Value();
    auto entries = state_from_js(env, map);
    call.check_alive(env, "Session.loadStateDict");
    auto* worker = new LoadStateWorker(env, this, std::move(entries), strict_value);
    call.hand_over();
    worker->Queue();
    return worker->Promise();
  });
}

}  // namespace

void register_session(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = SessionWrap::Define(env);
  instance(env).session_ctor = Napi::Persistent(ctor);
  exports.Set("Session", ctor);
}

}  // namespace tats::addon
