#include "addon/instance.h"

#include "addon/errors.h"

namespace tats::addon {

namespace {
void mark_closing(void* arg) {
  auto* flag = static_cast<std::shared_ptr<std::atomic<bool>>*>(arg);
  (*flag)->store(false);
  delete flag;
}
}  // namespace

Instance& instance(Napi::Env env) {
  if (auto* found = env.GetInstanceData<Instance>()) return *found;
  auto* created = new Instance();
  env.SetInstanceData<Instance>(created);  // deleted by node-addon-api when the env goes away
  // Runs when the env starts tearing down (before the instance data is freed).
  napi_add_env_cleanup_hook(env, mark_closing, new std::shared_ptr<std::atomic<bool>>(created->alive));
  return *created;
}

std::shared_ptr<std::atomic<bool>> env_alive(Napi::Env env) { return instance(env).alive; }

}  // namespace tats::addon
