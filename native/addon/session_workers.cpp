#include "addon/session_workers.h"

#include <utility>

#include "addon/convert.h"
#include "addon/session_wrap.h"
#include "addon/state_dict.h"

namespace tats::addon {

namespace {

Napi::Object metrics_object(Napi::Env env, const std::map<std::string, double>& extra) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [k, v] : extra) o.Set(k, Napi::Number::New(env, v));
  return o;
}

}  // namespace

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

SessionTrainWorker::SessionTrainWorker(Napi::Env env, SessionWrap* wrap, torch::Tensor clips, torch::Tensor motion,
                                       bool stop)
    : SessionWorker(env, "Session.trainStep", wrap), clips_(std::move(clips)), motion_(std::move(motion)),
      stop_(stop) {}

void SessionTrainWorker::Run() { out_ = session_->train_step(clips_, motion_, stop_); }

Napi::Value SessionTrainWorker::Result(Napi::Env env) {
  wrap_->set_step(out_.step);
  Napi::Object o = metrics_object(env, out_.extra);
  o.Set("step", Napi::Number::New(env, static_cast<double>(out_.step)));
  o.Set("loss", Napi::Number::New(env, out_.loss));
  o.Set("lr", Napi::Number::New(env, out_.lr));
  o.Set("gradNorm", Napi::Number::New(env, out_.grad_norm));
  o.Set("stepMs", Napi::Number::New(env, out_.step_ms));
  return o;
}

SessionEvalWorker::SessionEvalWorker(Napi::Env env, SessionWrap* wrap, torch::Tensor clips, torch::Tensor motion)
    : SessionWorker(env, "Session.evalStep", wrap), clips_(std::move(clips)), motion_(std::move(motion)) {}

void SessionEvalWorker::Run() { out_ = session_->eval_step(clips_, motion_); }

Napi::Value SessionEvalWorker::Result(Napi::Env env) {
  Napi::Object o = metrics_object(env, out_.extra);
  o.Set("loss", Napi::Number::New(env, out_.loss));
  return o;
}

SessionReconstructWorker::SessionReconstructWorker(Napi::Env env, SessionWrap* wrap, torch::Tensor clips,
                                                   torch::Tensor mask)
    : SessionWorker(env, "Session.reconstruct", wrap), clips_(std::move(clips)), mask_(std::move(mask)) {}

void SessionReconstructWorker::Run() { out_ = session_->reconstruct(clips_, mask_); }

Napi::Value SessionReconstructWorker::Result(Napi::Env env) {
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

SessionStateDictWorker::SessionStateDictWorker(Napi::Env env, SessionWrap* wrap)
    : SessionWorker(env, "Session.stateDict", wrap) {}

void SessionStateDictWorker::Run() {
  entries_ = session_->state_dict();
  for (auto& [name, t] : entries_) {
    safetensors_dtype(t.scalar_type());  // fail here, off the JS thread, on a dtype without a name
    t = t.contiguous();
  }
}

Napi::Value SessionStateDictWorker::Result(Napi::Env env) { return state_to_js(env, entries_); }

SessionLoadStateWorker::SessionLoadStateWorker(Napi::Env env, SessionWrap* wrap,
                                               std::map<std::string, torch::Tensor> entries, bool strict)
    : SessionWorker(env, "Session.loadStateDict", wrap), entries_(std::move(entries)), strict_(strict) {}

void SessionLoadStateWorker::Run() {
  session_->load_state_dict(entries_, strict_);
  step_ = session_->step();
}

Napi::Value SessionLoadStateWorker::Result(Napi::Env env) {
  wrap_->set_step(step_);
  return env.Undefined();
}

}  // namespace tats::addon
