// ClassifierSession: the JS face of tats::core::ClassifierSession (fine-tuning and linear
// probing). Same shape as Session: the constructor reads the resolved config on the JS thread,
// every computing method runs in a PromiseWorker, one call at a time (ERR_BUSY otherwise).
#include "core/classifier.h"

#include <cstring>
#include <memory>
#include <string>

#include "addon/call_guard.h"
#include "addon/config_fields.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/limits.h"
#include "addon/state_dict_calls.h"
#include "addon/wrap_worker.h"
#include "addon/exports.h"

namespace tats::addon {

namespace {

// Every field is required: defaults live in the TypeScript config (lib/eval).
core::ClassifierConfig read_config(const Napi::Object& c) {
  core::ClassifierConfig cfg;
  const Napi::Object m = get_object(c, "model", "config");
  cfg.model = read_model_config(m, /*decoder=*/false);
  cfg.classes = get_int(c, "classes", "config");
  cfg.drop_path = get_number(c, "dropPath", "config");
  cfg.linear_probe = get_bool(c, "linearProbe", "config");
  cfg.layer_decay = get_number(c, "layerDecay", "config");
  cfg.label_smoothing = get_number(c, "labelSmoothing", "config");
  cfg.mixup = get_number(c, "mixup", "config");
  cfg.cutmix = get_number(c, "cutmix", "config");
  cfg.mixup_prob = get_number(c, "mixupProb", "config");
  cfg.switch_prob = get_number(c, "switchProb", "config");
  cfg.optim = read_optim_config(get_object(c, "optim", "config"));
  cfg.batch_size = get_int(c, "batchSize", "config");
  cfg.device = get_string(c, "device", "config");
  cfg.seed = get_int(c, "seed", "config");
  cfg.precision = get_string(c, "precision", "config");
  // The ranges the core trusts, checked before it divides or allocates (addon/limits.h).
  check_model(c.Env(), cfg.model, /*decoder=*/false, "config.model", cfg.device, 0);
  check_range(c.Env(), "config.batchSize", cfg.batch_size, 1, int64_t{1} << 20);
  check_range(c.Env(), "config.classes", cfg.classes, 1, int64_t{1} << 24);
  return cfg;
}

class ClassifierWrap;
using ClassifierCall = CallGuard<ClassifierWrap, core::ClassifierSession>;

// Base of every async ClassifierSession call (wrap_worker.h).
using ClassifierWorker = WrapWorker<ClassifierWrap, core::ClassifierSession>;

class ClassifierWrap : public Napi::ObjectWrap<ClassifierWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ClassifierSession",
                       {InstanceMethod<&ClassifierWrap::TrainStep>("trainStep"),
                        InstanceMethod<&ClassifierWrap::Predict>("predict"),
                        InstanceMethod<&ClassifierWrap::StateDict>("stateDict"),
                        InstanceMethod<&ClassifierWrap::LoadStateDict>("loadStateDict"),
                        InstanceMethod<&ClassifierWrap::Dispose>("dispose"),
                        InstanceAccessor<&ClassifierWrap::Step>("step"),
                        InstanceAccessor<&ClassifierWrap::Disposed>("disposed")});
  }

  explicit ClassifierWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClassifierWrap>(info) {
    Napi::Env env = info.Env();
    guarded(env, "ClassifierSession", [&]() -> Napi::Value {
      const auto cfg = read_config(arg_object(info, 0, "config"));
      session_ = std::make_shared<core::ClassifierSession>(cfg);
      return env.Undefined();
    });
  }

  std::shared_ptr<core::ClassifierSession> session() const { return session_; }
  bool busy() const { return busy_; }
  void set_busy(bool busy) { busy_ = busy; }
  void set_step(int64_t step) { step_ = step; }

 private:
  static torch::Tensor clip_view(const Napi::CallbackInfo& info, const ClassifierCall& call, const char* what,
                                 bool any_batch) {
    const auto& c = call.session()->config();
    return clips_view(info, what, c.model.frames, c.model.size, c.batch_size, any_batch, &call.wrap()->clip_buffer_);
  }


  Napi::Value TrainStep(const Napi::CallbackInfo& info);
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value StateDict(const Napi::CallbackInfo& info);
  Napi::Value LoadStateDict(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    session_.reset();
    return info.Env().Undefined();
  }
  Napi::Value Step(const Napi::CallbackInfo& info) {
    if (!session_) throw_error(info.Env(), "ERR_DISPOSED", "ClassifierSession.step: the session has been disposed");
    return Napi::Number::New(info.Env(), static_cast<double>(step_));
  }
  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !session_); }

  std::shared_ptr<core::ClassifierSession> session_;
  torch::Tensor clip_buffer_;  // the last clip copy, reused (convert.h: uint8_input)
  bool busy_ = false;
  int64_t step_ = 0;
};

class TrainWorker : public ClassifierWorker {
 public:
  TrainWorker(Napi::Env env, ClassifierWrap* wrap, torch::Tensor clips, torch::Tensor labels)
      : ClassifierWorker(env, "ClassifierSession.trainStep", wrap), clips_(std::move(clips)), labels_(std::move(labels)) {}

 protected:
  void Run() override { out_ = session_->train_step(clips_, labels_); }
  Napi::Value Result(Napi::Env env) override {
    wrap_->set_step(out_.step);
    Napi::Object o = Napi::Object::New(env);
    o.Set("step", Napi::Number::New(env, static_cast<double>(out_.step)));
    o.Set("loss", Napi::Number::New(env, out_.loss));
    o.Set("acc", Napi::Number::New(env, out_.acc));
    o.Set("lr", Napi::Number::New(env, out_.lr));
    o.Set("gradNorm", Napi::Number::New(env, out_.grad_norm));
    o.Set("stepMs", Napi::Number::New(env, out_.step_ms));
    return o;
  }

 private:
  torch::Tensor clips_, labels_;
  core::ClassifierStep out_;
};

class PredictWorker : public ClassifierWorker {
 public:
  PredictWorker(Napi::Env env, ClassifierWrap* wrap, torch::Tensor clips)
      : ClassifierWorker(env, "ClassifierSession.predict", wrap), clips_(std::move(clips)) {}

 protected:
  void Run() override { out_ = session_->predict(clips_); }
  Napi::Value Result(Napi::Env env) override { return to_float32_array(env, out_); }

 private:
  torch::Tensor clips_, out_;
};

// Every method: check, take the busy mark, read every argument into C++ values (JS may run
// here: getters), make sure the session was not disposed meanwhile, then queue the worker.
Napi::Value ClassifierWrap::TrainStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "ClassifierSession.trainStep", [&]() -> Napi::Value {
    if (auto busy = check_ready(env, *this, "ClassifierSession.trainStep"); !busy.IsEmpty()) return busy;
    ClassifierCall call(this);
    auto clips = clip_view(info, call, "trainStep", /*any_batch=*/false);
    const int64_t b = clips.size(0);
    if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw_type_error(env, "trainStep: labels must be an Int32Array");
    const auto arr = info[1].As<Napi::Int32Array>();
    if (static_cast<int64_t>(arr.ElementLength()) != b)
      throw_type_error(env, "trainStep: labels has " + std::to_string(arr.ElementLength()) + " entries, expected " +
                                std::to_string(b));
    const int64_t classes = call.session()->config().classes;
    for (size_t i = 0; i < arr.ElementLength(); ++i)
      if (arr[i] < 0 || arr[i] >= classes)
        throw_type_error(env, "trainStep: labels[" + std::to_string(i) + "] = " + std::to_string(arr[i]) +
                                  " is outside [0, " + std::to_string(classes) + ")");
    auto labels = torch::from_blob(const_cast<int32_t*>(arr.Data()), {b}, torch::kInt).clone();
    call.check_alive(env, "ClassifierSession.trainStep");
    auto* worker = new TrainWorker(env, this, clips, labels);
    call.hand_over();
    worker->keep(info[0]);
    worker->Queue();
    return worker->Promise();
  });
}

Napi::Value ClassifierWrap::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "ClassifierSession.predict", [&]() -> Napi::Value {
    if (auto busy = check_ready(env, *this, "ClassifierSession.predict"); !busy.IsEmpty()) return busy;
    ClassifierCall call(this);
    auto clips = clip_view(info, call, "predict", /*any_batch=*/true);
    call.check_alive(env, "ClassifierSession.predict");
    auto* worker = new PredictWorker(env, this, clips);
    call.hand_over();
    worker->keep(info[0]);
    worker->Queue();
    return worker->Promise();
  });
}

Napi::Value ClassifierWrap::StateDict(const Napi::CallbackInfo& info) {
  return state_dict_call<core::ClassifierSession>(info, this, "ClassifierSession.stateDict");
}

Napi::Value ClassifierWrap::LoadStateDict(const Napi::CallbackInfo& info) {
  return load_state_dict_call<core::ClassifierSession>(info, this, "ClassifierSession.loadStateDict");
}

}  // namespace

void register_classifier(Napi::Env env, Napi::Object exports) {
  exports.Set("ClassifierSession", ClassifierWrap::Define(env));
}

}  // namespace tats::addon
