#include "addon/convert.h"


#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "addon/errors.h"
#include "core/step_buffers.h"

namespace tats::addon {

namespace {

std::string field(const char* where, const char* key) { return std::string(where) + "." + key; }

const char* type_name(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_object: return "object";
    case napi_function: return "function";
    case napi_external: return "external";
    case napi_bigint: return "bigint";
  }
  return "unknown";
}

int64_t as_int(Napi::Env env, const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) throw_type_error(env, name + " must be an integer, received " + type_name(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9007199254740991.0)
    throw_type_error(env, name + " must be an integer, received " + std::to_string(d));
  return static_cast<int64_t>(d);
}

}  // namespace

Napi::Object arg_object(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsObject() || info[index].IsArray())
    throw_type_error(info.Env(), std::string(name) + " must be an object, received " +
                                     (info.Length() <= index ? "undefined" : type_name(info[index])));
  return info[index].As<Napi::Object>();
}

std::string arg_string(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsString())
    throw_type_error(info.Env(), std::string(name) + " must be a string, received " +
                                     (info.Length() <= index ? "undefined" : type_name(info[index])));
  return info[index].As<Napi::String>().Utf8Value();
}

int64_t arg_int(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index) throw_type_error(info.Env(), std::string(name) + " must be an integer, received undefined");
  return as_int(info.Env(), info[index], name);
}

int64_t get_int(const Napi::Object& obj, const char* key, const char* where) {
  return as_int(obj.Env(), obj.Get(key), field(where, key));
}

int64_t get_int_or(const Napi::Object& obj, const char* key, int64_t fallback, const char* where) {
  const Napi::Value v = obj.Get(key);
  return v.IsUndefined() ? fallback : as_int(obj.Env(), v, field(where, key));
}

double get_number(const Napi::Object& obj, const char* key, const char* where) {
  const Napi::Value v = obj.Get(key);
  if (!v.IsNumber()) throw_type_error(obj.Env(), field(where, key) + " must be a number, received " + type_name(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_type_error(obj.Env(), field(where, key) + " must be finite");
  // The core keeps these settings in 32-bit floats: a larger magnitude would overflow later, mid-step.
  if (std::fabs(d) > std::numeric_limits<float>::max()) {
    char got[32];
    std::snprintf(got, sizeof got, "%g", d);
    throw_error(obj.Env(), "ERR_CONFIG", field(where, key) + " must be within +-3.4e38 (a 32-bit float), received " + got);
  }
  return d;
}

double get_number_or(const Napi::Object& obj, const char* key, double fallback, const char* where) {
  return obj.Get(key).IsUndefined() ? fallback : get_number(obj, key, where);
}

bool get_bool_or(const Napi::Object& obj, const char* key, bool fallback, const char* where) {
  const Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw_type_error(obj.Env(), field(where, key) + " must be a boolean, received " + type_name(v));
  return v.As<Napi::Boolean>().Value();
}

Napi::Object get_object(const Napi::Object& obj, const char* key, const std::string& where) {
  const Napi::Value v = obj.Get(key);
  if (!v.IsObject() || v.IsArray()) throw_type_error(obj.Env(), where + "." + key + " must be an object");
  return v.As<Napi::Object>();
}

bool get_bool(const Napi::Object& obj, const char* key, const char* where) {
  const Napi::Value v = obj.Get(key);
  if (!v.IsBoolean()) throw_type_error(obj.Env(), std::string(where) + "." + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

torch::Tensor clips_view(const Napi::CallbackInfo& info, const char* what, int64_t frames, int64_t size, int64_t batch,
                         bool any_batch, torch::Tensor* reuse, bool pinned) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw_type_error(env, std::string(what) + ": clips must be a Uint8Array, received undefined");
  const int64_t clip_bytes = frames * size * size * 3;  // the session checked these (addon/limits.h)
  if (clip_bytes <= 0) throw_type_error(env, std::string(what) + ": bad clip shape");
  int64_t b = batch;
  if (any_batch && info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    const auto bytes = static_cast<int64_t>(info[0].As<Napi::Uint8Array>().ElementLength());
    if (bytes == 0 || bytes % clip_bytes != 0)
      throw_type_error(env, std::string(what) + ": clips has " + std::to_string(bytes) +
                                " bytes, expected a positive multiple of " + std::to_string(clip_bytes) + " (one clip)");
    b = bytes / clip_bytes;
  }
  return uint8_input(env, info[0], {b, frames, size, size, 3}, "clips", reuse, pinned);
}

std::string get_string(const Napi::Object& obj, const char* key, const char* where) {
  const Napi::Value v = obj.Get(key);
  if (!v.IsString()) throw_type_error(obj.Env(), field(where, key) + " must be a string, received " + type_name(v));
  return v.As<Napi::String>().Utf8Value();
}

std::string get_string_or(const Napi::Object& obj, const char* key, const std::string& fallback, const char* where) {
  return obj.Get(key).IsUndefined() ? fallback : get_string(obj, key, where);
}

namespace {

Napi::Uint8Array checked_uint8(Napi::Env env, const Napi::Value& value, const std::vector<int64_t>& shape,
                               const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_type_error(env, std::string(name) + " must be a Uint8Array or Buffer, received " + type_name(value));
  auto arr = value.As<Napi::Uint8Array>();
  int64_t expected = 1;
  for (int64_t d : shape) {
    if (d <= 0) throw_type_error(env, std::string(name) + " shape must be positive in every dimension");
    if (expected > std::numeric_limits<int64_t>::max() / d) throw_type_error(env, std::string(name) + " is too large");
    expected *= d;
  }
  if (static_cast<int64_t>(arr.ElementLength()) != expected)
    throw_type_error(env, std::string(name) + " has " + std::to_string(arr.ElementLength()) +
                              " bytes, expected " + std::to_string(expected) + " for its shape");
  return arr;
}

}  // namespace

bool is_shared_memory(Napi::Env env, const Napi::TypedArray& array) {
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  if (napi_get_typedarray_info(env, array, &type, &length, &data, &buffer, &offset) != napi_ok || !buffer) return false;
  bool plain = true;
  // napi_is_arraybuffer is false for a SharedArrayBuffer (V8's IsArrayBuffer excludes shared ones).
  if (napi_is_arraybuffer(env, buffer, &plain) != napi_ok) return false;
  return !plain;
}

torch::Tensor uint8_view(Napi::Env env, const Napi::Value& value, const std::vector<int64_t>& shape,
                         const char* name) {
  auto arr = checked_uint8(env, value, shape, name);
  return torch::from_blob(arr.Data(), shape, torch::dtype(torch::kUInt8));
}

torch::Tensor uint8_input(Napi::Env env, const Napi::Value& value, const std::vector<int64_t>& shape,
                          const char* name, torch::Tensor* reuse, bool pinned) {
  auto arr = checked_uint8(env, value, shape, name);
  const auto view = torch::from_blob(arr.Data(), shape, torch::dtype(torch::kUInt8));
  if (is_shared_memory(env, arr)) return view;
  torch::Tensor copy;
  try {
    if (reuse && reuse->defined() && reuse->numel() == view.numel() && reuse->storage().use_count() == 1 &&
        reuse->is_pinned() == pinned) {
      copy = reuse->view(shape);
    } else {
      copy = torch::empty(shape, torch::dtype(torch::kUInt8).pinned_memory(pinned));
      if (reuse) *reuse = copy;
    }
  } catch (...) {
    throw_error(env, "ERR_OUT_OF_MEMORY", std::string(name) + ": out of host memory copying " +
                                             std::to_string(arr.ByteLength()) + " bytes");
  }
  core::parallel_copy(copy.data_ptr<uint8_t>(), arr.Data(), static_cast<int64_t>(arr.ByteLength()));
  return copy;
}

Napi::Float32Array to_float32_array(Napi::Env env, const torch::Tensor& tensor) {
  const auto t = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
  auto out = Napi::Float32Array::New(env, static_cast<size_t>(t.numel()));
  if (t.numel() > 0) std::memcpy(out.Data(), t.data_ptr<float>(), sizeof(float) * t.numel());
  return out;
}

Napi::Uint8Array to_uint8_array(Napi::Env env, const torch::Tensor& tensor) {
  const auto c = tensor.contiguous();
  const size_t bytes = static_cast<size_t>(c.numel()) * c.element_size();
  auto out = Napi::Uint8Array::New(env, bytes);
  if (bytes > 0) std::memcpy(out.Data(), c.data_ptr(), bytes);
  return out;
}

}  // namespace tats::addon
