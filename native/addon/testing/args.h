// Arguments shared by the test and bench entry points: an optional device and a seed.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "addon/convert.h"
#include "addon/errors.h"

namespace tats::addon::testing {

// Optional device argument: 'cpu' (default) or 'cuda' (rejected without a CUDA device).
inline torch::Device arg_device(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return torch::kCPU;
  const std::string name = arg_string(info, index, "device");
  if (name == "cpu") return torch::kCPU;
  if (name != "cuda") throw_error(info.Env(), "ERR_INVALID_ARG", "device must be 'cpu' or 'cuda', received '" + name + "'");
  if (!torch::cuda::is_available()) throw_error(info.Env(), "ERR_NO_CUDA", "device 'cuda' requested but no CUDA device is available");
  return {torch::kCUDA, 0};
}

inline uint64_t arg_seed(const Napi::CallbackInfo& info, size_t index) {
  const int64_t seed = arg_int(info, index, "seed");
  if (seed < 0) throw_type_error(info.Env(), "seed must be a non-negative integer");
  return static_cast<uint64_t>(seed);
}

}  // namespace tats::addon::testing
