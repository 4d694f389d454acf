// Module entry: only the export table. Each concern registers its functions from its own file.
#include <napi.h>

#include "addon/exports.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tats::addon::register_info(env, exports);
  tats::addon::register_kernels(env, exports);
  tats::addon::register_bench(env, exports);
  tats::addon::register_sampler_testing(env, exports);
  tats::addon::register_runtime(env, exports);
  tats::addon::register_session(env, exports);
  tats::addon::register_masking(env, exports);
  tats::addon::register_classifier(env, exports);
  tats::addon::register_distributed(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(tats, Init)
