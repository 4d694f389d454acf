// The config parts that Session and ClassifierSession share (model, optimiser), read at the native
// boundary from the resolved TypeScript config (config_fields.cpp). Every field is required.
#pragma once
#include <napi.h>

#include "core/config.h"

namespace tats::addon {

// config.model; with decoder, its decoder fields too (the classifier has no decoder).
core::ModelConfig read_model_config(const Napi::Object& m, bool decoder);

// config.optim.
core::OptimConfig read_optim_config(const Napi::Object& o);

}  // namespace tats::addon
