// The process group for data-parallel training (core/distributed.h), one per process:
//   initProcessGroup({rank, worldSize, masterAddr, masterPort, backend, timeoutMs, device})
//       -> Promise<{rank, worldSize, backend}>: the rendezvous runs on a worker thread (it waits
//          for every rank, up to timeoutMs);
//   processGroup() -> {rank, worldSize, backend} | null;
//   destroyProcessGroup(): drops the process's reference (sessions keep theirs until disposed);
//   distributedBackends() -> the backends this binary can create.
// lib/train/distributed.ts validates the environment; the core checks again and names the field.
#include "core/distributed.h"

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/exports.h"

namespace tats::addon {

namespace {

Napi::Object group_object(Napi::Env env, const core::Collective& g) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", Napi::Number::New(env, static_cast<double>(g.rank())));
  o.Set("worldSize", Napi::Number::New(env, static_cast<double>(g.world_size())));
  o.Set("backend", Napi::String::New(env, g.backend()));
  return o;
}

class InitWorker : public PromiseWorker {
 public:
  InitWorker(Napi::Env env, core::DistOptions options)
      : PromiseWorker(env, "initProcessGroup"), options_(std::move(options)) {}

 protected:
  void Run() override { group_ = core::Collective::init(options_); }
  Napi::Value Result(Napi::Env env) override { return group_object(env, *group_); }

 private:
  core::DistOptions options_;
  std::shared_ptr<core::Collective> group_;
};

Napi::Value InitProcessGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object o = arg_object(info, 0, "options");
  core::DistOptions d;
  d.rank = get_int(o, "rank", "options");
  d.world_size = get_int(o, "worldSize", "options");
  d.master_addr = get_string(o, "masterAddr", "options");
  d.master_port = get_int(o, "masterPort", "options");
  d.backend = get_string(o, "backend", "options");
  d.timeout_ms = get_int(o, "timeoutMs", "options");
  d.device = get_string(o, "device", "options");
  auto* worker = new InitWorker(env, std::move(d));
  worker->Queue();
  return worker->Promise();
}

Napi::Value ProcessGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto g = core::Collective::current();
  if (!g) return env.Null();
  return group_object(env, *g);
}

Napi::Value DestroyProcessGroup(const Napi::CallbackInfo& info) {
  core::Collective::shutdown();
  return info.Env().Undefined();
}

Napi::Value DistributedBackends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto names = core::available_backends();
  Napi::Array out = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::String::New(env, names[i]));
  return out;
}

}  // namespace

void register_distributed(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "initProcessGroup", InitProcessGroup);
  export_function(env, exports, "processGroup", ProcessGroup);
  export_function(env, exports, "destroyProcessGroup", DestroyProcessGroup);
  export_function(env, exports, "distributedBackends", DistributedBackends);
}

}  // namespace tats::addon
