#include "addon/session_workers.h"

#include <map>
#include <string>
#include <utility>

#include "addon/convert.h"
#include "addon/session_wrap.h"

namespace tats::addon {

namespace {

Napi::Object metrics_object(Napi::Env env, const std::map<std::string, double>& extra) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [k, v] : extra) o.Set(k, Napi::Number::New(env, v));
  return o;
}

}  // namespace

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

}  // namespace tats::addon
