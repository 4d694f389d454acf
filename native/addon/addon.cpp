// Module entry: only the export table. Each concern registers its functions from its own file.
#include <napi.h>

#include "addon/exports.h"
#include "addon/testing/exports.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tats::addon::register_info(env, exports);
  tats::addon::register_kernels(env, exports);
  tats::addon::register_matmul_peak(env, exports);
  tats::addon::register_runtime(env, exports);
  tats::addon::register_session(env, exports);
  tats::addon::register_masking(env, exports);
  tats::addon::register_classifier(env, exports);
  tats::addon::register_distributed(env, exports);

  // Test and bench entry points live on their own object, apart from the product's functions
  // (lib/native-testing.ts types it).
  Napi::Object testing = Napi::Object::New(env);
  tats::addon::testing::register_kernel_checks(env, testing);
  tats::addon::testing::register_sampler_checks(env, testing);
  tats::addon::testing::register_sampler_bench(env, testing);
  exports.Set("testing", testing);
  return exports;
}

}  // namespace

NODE_API_MODULE(tats, Init)
