// Session's config at the native boundary (session_config.cpp).
#pragma once
#include <napi.h>

#include "core/config.h"

namespace tats::addon {

// The resolved config (lib/config) as a core::SessionConfig. Every field is required (defaults
// live in the TypeScript config); deviceIndex and dataParallel are optional. Throws a JS error
// naming the field on a missing or mistyped one.
core::SessionConfig read_session_config(const Napi::Object& config);

// The ranges the core trusts (model sizes and memory, batch size, the sampler's counts, reward and
// sdpa names), checked before the core divides or allocates: ERR_CONFIG / ERR_INVALID_ARG.
void check_session_config(Napi::Env env, const core::SessionConfig& cfg);

}  // namespace tats::addon
