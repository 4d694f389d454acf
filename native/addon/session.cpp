// Session's bindings: the class definition and, per method, the argument reading on the JS thread
// before its worker is queued (session_workers.cpp). The config: session_config.cpp.
#include "addon/session_wrap.h"

#include <string>
#include <utility>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/exports.h"
#include "addon/instance.h"
#include "addon/session_config.h"
#include "addon/session_workers.h"
#include "addon/state_dict_calls.h"

namespace tats::addon {

Napi::Function SessionWrap::Define(Napi::Env env) {
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

SessionWrap::SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
  Napi::Env env = info.Env();
  guarded(env, "Session", [&]() -> Napi::Value {
    const auto cfg = read_session_config(arg_object(info, 0, "config"));
    check_session_config(env, cfg);
    session_ = std::make_shared<core::Session>(cfg);
    tokens_ = session_->grid().tokens();
    return env.Undefined();
  });
}

torch::Tensor SessionWrap::clip_view(const Napi::CallbackInfo& info, const SessionCall& call, const char* what,
                                     bool any_batch) {
  const auto& c = call.session()->config();
  // CUDA with runtime.staging: the copy lands in pinned memory, the upload's DMA source.
  const bool pinned = c.device == "cuda" && c.runtime.staging;
  return clips_view(info, what, c.model.frames, c.model.size, c.batch_size, any_batch, &call.wrap()->clip_buffer_, pinned);
}

torch::Tensor SessionWrap::token_map(const Napi::CallbackInfo& info, size_t index, int64_t b, const char* name) {
  if (info.Length() <= index || info[index].IsUndefined()) return {};
  return uint8_input(info.Env(), info[index], {b, tokens_}, name);
}

Napi::Value SessionWrap::Dispose(const Napi::CallbackInfo& info) {
  // A running worker holds its own reference: the session is freed when that call settles.
  session_.reset();
  return info.Env().Undefined();
}

Napi::Value SessionWrap::Step(const Napi::CallbackInfo& info) {
  if (!session_) throw_error(info.Env(), "ERR_DISPOSED", "Session.step: the session has been disposed");
  return Napi::Number::New(info.Env(), static_cast<double>(step_));
}

Napi::Value SessionWrap::Tokens(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(tokens_));
}

Napi::Value SessionWrap::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !session_); }

// Every method: check, take the busy mark, read every argument into C++ values (JS may run
// here: getters), make sure the session was not disposed meanwhile, then queue the worker.
Napi::Value SessionWrap::TrainStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "Session.trainStep", [&]() -> Napi::Value {
    if (auto busy = check_ready(env, *this, "Session.trainStep"); !busy.IsEmpty()) return busy;
    SessionCall call(this);
    // Optional third argument {stop: boolean}: this rank asks every rank to stop after this step.
    // Read first: its getters may run JS.
    bool stop = false;
    if (info.Length() > 2 && !info[2].IsUndefined()) stop = get_bool(arg_object(info, 2, "options"), "stop", "options");
    auto clips = clip_view(info, call, "trainStep", /*any_batch=*/false);
    auto motion = token_map(info, 1, clips.size(0), "motion");
    call.check_alive(env, "Session.trainStep");
    auto* worker = new SessionTrainWorker(env, this, clips, motion, stop);
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
    if (auto busy = check_ready(env, *this, "Session.evalStep"); !busy.IsEmpty()) return busy;
    SessionCall call(this);
    auto clips = clip_view(info, call, "evalStep", /*any_batch=*/true);
    auto motion = token_map(info, 1, clips.size(0), "motion");
    call.check_alive(env, "Session.evalStep");
    auto* worker = new SessionEvalWorker(env, this, clips, motion);
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
    if (auto busy = check_ready(env, *this, "Session.reconstruct"); !busy.IsEmpty()) return busy;
    SessionCall call(this);
    auto clips = clip_view(info, call, "reconstruct", /*any_batch=*/true);
    auto mask = token_map(info, 1, clips.size(0), "mask");
    call.check_alive(env, "Session.reconstruct");
    auto* worker = new SessionReconstructWorker(env, this, clips, mask);
    call.hand_over();
    worker->keep(info[0]);
    if (mask.defined()) worker->keep(info[1]);
    worker->Queue();
    return worker->Promise();
  });
}

Napi::Value SessionWrap::StateDict(const Napi::CallbackInfo& info) {
  return state_dict_call<core::Session>(info, this, "Session.stateDict");
}

Napi::Value SessionWrap::LoadStateDict(const Napi::CallbackInfo& info) {
  return load_state_dict_call<core::Session>(info, this, "Session.loadStateDict");
}

void register_session(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = SessionWrap::Define(env);
  instance(env).session_ctor = Napi::Persistent(ctor);
  exports.Set("Session", ctor);
}

}  // namespace tats::addon
