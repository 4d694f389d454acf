// Typed readers for JS arguments. They check types and throw a TypeError naming the field;
// the lib layer validates ranges and meaning before it calls native code.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tats::addon {

Napi::Object arg_object(const Napi::CallbackInfo& info, size_t index, const char* name);
std::string arg_string(const Napi::CallbackInfo& info, size_t index, const char* name);
int64_t arg_int(const Napi::CallbackInfo& info, size_t index, const char* name);

int64_t get_int(const Napi::Object& obj, const char* key, const char* where);
int64_t get_int_or(const Napi::Object& obj, const char* key, int64_t fallback, const char* where);
double get_number(const Napi::Object& obj, const char* key, const char* where);
double get_number_or(const Napi::Object& obj, const char* key, double fallback, const char* where);
bool get_bool_or(const Napi::Object& obj, const char* key, bool fallback, const char* where);
std::string get_string(const Napi::Object& obj, const char* key, const char* where);
// Required fields of the session configs (no "received ..." suffix: their messages predate the above).
Napi::Object get_object(const Napi::Object& obj, const char* key, const std::string& where);
bool get_bool(const Napi::Object& obj, const char* key, const char* where);
std::string get_string_or(const Napi::Object& obj, const char* key, const std::string& fallback, const char* where);

// A Uint8Array/Buffer seen as a uint8 tensor of `shape` without copying. Throws a TypeError when
// the value is not a Uint8Array or its length is not the product of `shape`. For synchronous use
// only (no JS may run while the tensor is used: JS can detach or shrink the buffer).
torch::Tensor uint8_view(Napi::Env env, const Napi::Value& value, const std::vector<int64_t>& shape,
                         const char* name);

// The same checks, for a tensor used after the call returns (async work): a view of a
// SharedArrayBuffer's bytes (which can be neither detached nor shrunk; the caller keeps the JS
// value referenced for as long as the tensor is used), else a copy, since any other ArrayBuffer
// can be transferred, detached or (resizable) shrunk by JS while the work runs. `reuse` (optional)
// keeps the copy's buffer between calls: it is written again when no one else holds it (fresh
// pages cost more than the copy itself). `pinned` (CUDA sessions): the copy goes to page-locked
// memory, which the clip upload then copies to the GPU from directly (core/step_buffers.h): one
// host copy per step instead of two. The copy runs on threads of its own (core::parallel_copy).
torch::Tensor uint8_input(Napi::Env env, const Napi::Value& value, const std::vector<int64_t>& shape,
                          const char* name, torch::Tensor* reuse = nullptr, bool pinned = false);

// True when the typed array's memory is a SharedArrayBuffer's.
bool is_shared_memory(Napi::Env env, const Napi::TypedArray& array);

// info[0] as clips [B, frames, size, size, 3] (uint8_input: shared memory is not copied):
// B = `batch`, or with `any_batch` any whole number of clips. `what` names the call in errors
// (Session and ClassifierSession).
torch::Tensor clips_view(const Napi::CallbackInfo& info, const char* what, int64_t frames, int64_t size, int64_t batch,
                         bool any_batch, torch::Tensor* reuse = nullptr, bool pinned = false);

// Copies a float tensor (any device, any float dtype) into a new Float32Array.
Napi::Float32Array to_float32_array(Napi::Env env, const torch::Tensor& tensor);

// Copies the raw bytes of a CPU tensor into a new Uint8Array.
Napi::Uint8Array to_uint8_array(Napi::Env env, const torch::Tensor& tensor);

}  // namespace tats::addon
