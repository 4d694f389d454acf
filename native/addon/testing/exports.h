// The test and bench entry points: exported as the addon's `testing` object, apart from the
// product's functions (typed as NativeTesting in lib/native-testing.ts). Each file registers its
// functions on that object.
#pragma once
#include <napi.h>

namespace tats::addon::testing {

void register_kernel_checks(Napi::Env env, Napi::Object testing);
void register_sampler_checks(Napi::Env env, Napi::Object testing);
void register_sampler_bench(Napi::Env env, Napi::Object testing);

}  // namespace tats::addon::testing
