// Range checks at the native boundary, before any arithmetic or allocation that depends on the
// value: lib/config validates configs first, but the addon is also called directly (tests, the
// public Session.create with a hand-written config, a hostile caller), and a zero patch divides,
// a huge depth allocates for minutes. Every error names the field and is coded ERR_CONFIG (a
// value out of range) or ERR_OUT_OF_MEMORY (a model that cannot fit this machine's memory).
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "core/config.h"

namespace tats::addon {

// frames, size, tubelet, patch, channels, widths, depths, heads, mlpRatio; `decoder` checks the
// decoder fields too (Session; ClassifierSession has none). `where` prefixes field names
// ("config.model"). Then the estimated bytes of parameters, gradients and AdamW state against the
// memory of `device` ("cpu" or "cuda", CUDA device `device_index`).
void check_model(Napi::Env env, const core::ModelConfig& m, bool decoder, const std::string& where,
                 const std::string& device, int64_t device_index);

// A positive integer field no larger than `max`: "<name> must be an integer in [lo, max], received v".
void check_range(Napi::Env env, const std::string& name, int64_t v, int64_t lo, int64_t max);

// The token grid of drawMasks and the like: frames/tubelet, size/patch as above, plus
// batch * tokens (the draw's uniforms) under a bound. `where` prefixes the field names.
void check_grid(Napi::Env env, int64_t frames, int64_t size, int64_t tubelet, int64_t patch, int64_t batch,
                const std::string& where);

// a * b, or -1 when it would overflow int64 (both non-negative).
int64_t mul_or_neg(int64_t a, int64_t b);

// Bytes of RAM of this machine (sysconf), or of CUDA device `index` when `device` is "cuda" and
// the build has CUDA; 0 when unknown.
uint64_t device_memory_bytes(const std::string& device, int64_t index);

}  // namespace tats::addon
