// Per-environment addon state (worker threads and multiple contexts each load the addon once):
// class constructors live here instead of in statics. Add a field per class.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>

namespace tats::addon {

struct Instance {
  Napi::FunctionReference session_ctor;
  // True until the env's cleanup hooks run (worker_thread terminated, process exit). Shared with
  // the async calls in flight, which may outlive the Instance.
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
};

// The environment's Instance, created on first use and freed with the environment.
Instance& instance(Napi::Env env);

}  // namespace tats::addon
