// The base of every async call on a wrapped core session (Session, ClassifierSession): keeps the
// core session, the wrapper and the JS arguments it reads alive until the promise settles, then
// clears the busy mark that CallGuard handed over (call_guard.h).
#pragma once
#include <napi.h>

#include <memory>
#include <vector>

#include "addon/errors.h"

namespace tats::addon {

// Wrap needs session(), set_busy() and Value() (an ObjectWrap); Core is the core session type.
template <typename Wrap, typename Core>
class WrapWorker : public PromiseWorker {
 public:
  // `name` must outlive the worker (a string literal): PromiseWorker keeps the pointer.
  WrapWorker(Napi::Env env, const char* name, Wrap* wrap)
      : PromiseWorker(env, name), session_(wrap->session()), wrap_(wrap), self_(Napi::Persistent(wrap->Value())) {
    wrap_->set_busy(true);
  }
  // Keeps a JS argument (a clip or mask buffer the worker reads without copying) alive.
  void keep(const Napi::Value& v) { refs_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

 protected:
  void Cleanup() override {
    wrap_->set_busy(false);
    refs_.clear();
    self_.Reset();
  }
  // The env is being torn down (a worker_thread terminated mid-call): the wrapper may be gone and
  // no N-API call is safe. The JS references are left to the env; the core session is released.
  void Abandon() override {
    for (auto& r : refs_) r.SuppressDestruct();
    self_.SuppressDestruct();
  }

  std::shared_ptr<Core> session_;
  Wrap* wrap_;

 private:
  Napi::ObjectReference self_;
  std::vector<Napi::ObjectReference> refs_;
};

}  // namespace tats::addon
