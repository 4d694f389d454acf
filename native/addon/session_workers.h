// The async calls of Session (session_wrap.h): one PromiseWorker per method. Each gets plain C++
// values on the JS thread, runs the core session on a pool thread and builds its JS result back
// on the JS thread.
#pragma once
#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "addon/errors.h"
#include "core/session.h"

namespace tats::addon {

class SessionWrap;

// Base of every async Session call: keeps the core session and the JS objects it reads alive
// until the promise settles, then frees the session for the next call.
class SessionWorker : public PromiseWorker {
 public:
  SessionWorker(Napi::Env env, const char* name, SessionWrap* wrap);
  // Keeps a JS argument (a clip or mask buffer the worker reads without copying) alive.
  void keep(const Napi::Value& v) { refs_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

 protected:
  void Cleanup() override;
  void Abandon() override;
  std::shared_ptr<core::Session> session_;
  SessionWrap* wrap_;

 private:
  Napi::ObjectReference self_;
  std::vector<Napi::ObjectReference> refs_;
};

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

class SessionStateDictWorker : public SessionWorker {
 public:
  SessionStateDictWorker(Napi::Env env, SessionWrap* wrap);

 protected:
  void Run() override;
  // The session is still marked busy here, so the tensors (which may alias live CPU weights)
  // cannot change while they are copied.
  Napi::Value Result(Napi::Env env) override;

 private:
  core::NamedTensors entries_;
};

class SessionLoadStateWorker : public SessionWorker {
 public:
  SessionLoadStateWorker(Napi::Env env, SessionWrap* wrap, std::map<std::string, torch::Tensor> entries, bool strict);

 protected:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;

 private:
  std::map<std::string, torch::Tensor> entries_;
  bool strict_;
  int64_t step_ = 0;
};

}  // namespace tats::addon
