// Per-environment addon state (worker threads and multiple contexts each load the addon once):
// class constructors live here instead of in statics. Add a field per class.
#pragma once
#include <napi.h>

namespace tats::addon {

struct Instance {
  Napi::FunctionReference session_ctor;
};

// The environment's Instance, created on first use and freed with the environment.
Instance& instance(Napi::Env env);

}  // namespace tats::addon
