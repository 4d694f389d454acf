// Session: the JS face of tats::core::Session. The constructor reads the resolved config into a
// plain struct on the JS thread (session_config.h); every method that computes runs in a
// PromiseWorker (session_workers.h). One call at a time per session: a second call while one runs
// rejects with ERR_BUSY.
#pragma once
#include <napi.h>

#include <memory>

#include "addon/call_guard.h"
#include "core/session.h"

namespace tats::addon {

class SessionWrap;
using SessionCall = CallGuard<SessionWrap, core::Session>;

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit SessionWrap(const Napi::CallbackInfo& info);

  std::shared_ptr<core::Session> session() const { return session_; }
  bool busy() const { return busy_; }
  void set_busy(bool busy) { busy_ = busy; }
  void set_step(int64_t step) { step_ = step; }
  int64_t tokens() const { return tokens_; }

 private:
  // clips as [B, T, H, W, 3]: B = batchSize for training; any whole number of clips otherwise.
  // Copied unless in shared memory (convert.h: uint8_input).
  static torch::Tensor clip_view(const Napi::CallbackInfo& info, const SessionCall& call, const char* what,
                                 bool any_batch);
  // Optional [B, N] uint8 argument (motion or mask); undefined tensor when absent.
  torch::Tensor token_map(const Napi::CallbackInfo& info, size_t index, int64_t b, const char* name);

  Napi::Value TrainStep(const Napi::CallbackInfo& info);
  Napi::Value EvalStep(const Napi::CallbackInfo& info);
  Napi::Value Reconstruct(const Napi::CallbackInfo& info);
  Napi::Value StateDict(const Napi::CallbackInfo& info);
  Napi::Value LoadStateDict(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Tokens(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);

  std::shared_ptr<core::Session> session_;
  torch::Tensor clip_buffer_;  // the last clip copy, reused (convert.h: uint8_input)
  bool busy_ = false;
  int64_t step_ = 0;
  int64_t tokens_ = 0;
};

}  // namespace tats::addon
