// The async calls of Session (session_wrap.h): one PromiseWorker per method (stateDict and
// loadStateDict: state_dict_calls.h, shared with ClassifierSession). Each gets plain C++
// values on the JS thread, runs the core session on a pool thread and builds its JS result back
// on the JS thread.
#pragma once
#include <napi.h>

#include "addon/wrap_worker.h"
#include "core/session.h"

namespace tats::addon {

class SessionWrap;

// Base of every async Session call (wrap_worker.h).
using SessionWorker = WrapWorker<SessionWrap, core::Session>;

class SessionTrainWorker : public SessionWorker {
 public:
  SessionTrainWorker(Napi::Env env, SessionWrap* wrap, torch::Tensor clips, torch::Tensor motion, bool stop);

 protected:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;

 private:
  torch::Tensor clips_, motion_;
  bool stop_;
  core::StepMetrics out_;
};

class SessionEvalWorker : public SessionWorker {
 public:
  SessionEvalWorker(Napi::Env env, SessionWrap* wrap, torch::Tensor clips, torch::Tensor motion);

 protected:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;

 private:
  torch::Tensor clips_, motion_;
  core::EvalMetrics out_;
};

class SessionReconstructWorker : public SessionWorker {
 public:
  SessionReconstructWorker(Napi::Env env, SessionWrap* wrap, torch::Tensor clips, torch::Tensor mask);

 protected:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;

 private:
  torch::Tensor clips_, mask_;
  core::Reconstruction out_;
};

}  // namespace tats::addon
