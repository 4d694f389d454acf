#include "addon/instance.h"

namespace tats::addon {

Instance& instance(Napi::Env env) {
  if (auto* found = env.GetInstanceData<Instance>()) return *found;
  auto* created = new Instance();
  env.SetInstanceData<Instance>(created);  // deleted by node-addon-api when the env goes away
  return *created;
}

}  // namespace tats::addon
