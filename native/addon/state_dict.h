// State dicts across the JS boundary: {name: {dtype, shape, data: Uint8Array}} with safetensors'
// dtype names (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL). Shared by Session and ClassifierSession.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tats::addon {

// The safetensors name of a dtype; throws (c10::Error) for a dtype without one.
const char* safetensors_dtype(torch::ScalarType t);

// Copies contiguous CPU tensors into a JS state dict (JS thread only).
Napi::Object state_to_js(Napi::Env env, const std::vector<std::pair<std::string, torch::Tensor>>& entries);

// Reads a JS state dict into CPU tensors (copied: the JS buffers may be any alignment and may change
// after the call returns). Throws a TypeError naming the entry and field on malformed input.
std::map<std::string, torch::Tensor> state_from_js(Napi::Env env, const Napi::Object& map);

}  // namespace tats::addon
