#include "addon/state_dict.h"

#include <cstring>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/limits.h"

namespace tats::addon {

namespace {

struct DtypeName {
  const char* name;
  torch::ScalarType type;
};
// safetensors' dtype names.
constexpr DtypeName kDtypes[] = {{"F64", torch::kDouble}, {"F32", torch::kFloat},  {"F16", torch::kHalf},
                                 {"BF16", torch::kBFloat16}, {"I64", torch::kLong}, {"I32", torch::kInt},
                                 {"I16", torch::kShort},   {"I8", torch::kChar},    {"U8", torch::kByte},
                                 {"BOOL", torch::kBool}};

constexpr uint32_t kMaxRank = 64;

}  // namespace

const char* safetensors_dtype(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  TORCH_CHECK(false, "stateDict: no safetensors name for dtype ", t);
}

Napi::Object state_to_js(Napi::Env env, const std::vector<std::pair<std::string, torch::Tensor>>& entries) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [name, t] : entries) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("dtype", Napi::String::New(env, safetensors_dtype(t.scalar_type())));
    Napi::Array shape = Napi::Array::New(env, t.dim());
    for (int64_t i = 0; i < t.dim(); ++i)
      shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.size(i))));
    e.Set("shape", shape);
    e.Set("data", to_uint8_array(env, t));
    o.Set(name, e);
  }
  return o;
}

std::map<std::string, torch::Tensor> state_from_js(Napi::Env env, const Napi::Object& map) {
  std::map<std::string, torch::Tensor> out;
  const Napi::Array keys = map.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string name = keys.Get(i).As<Napi::String>().Utf8Value();
    const std::string where = "state['" + name + "']";
    const Napi::Value v = map.Get(name);
    if (!v.IsObject()) throw_type_error(env, where + " must be an object {dtype, shape, data}");
    const Napi::Object e = v.As<Napi::Object>();
    const Napi::Value dv = e.Get("dtype");
    if (!dv.IsString()) throw_type_error(env, where + ".dtype must be a string");
    const std::string dtype = dv.As<Napi::String>().Utf8Value();
    const DtypeName* found = nullptr;
    for (const auto& d : kDtypes)
      if (dtype == d.name) found = &d;
    if (!found) throw_type_error(env, where + ".dtype '" + dtype + "' is not one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL");
    const Napi::Value sv = e.Get("shape");
    if (!sv.IsArray()) throw_type_error(env, where + ".shape must be an array of integers");
    const Napi::Array sa = sv.As<Napi::Array>();
    const uint32_t rank = sa.Length();
    if (rank > kMaxRank) throw_type_error(env, where + ".shape has " + std::to_string(rank) + " dimensions, at most " + std::to_string(kMaxRank) + " are allowed");
    std::vector<int64_t> shape;
    for (uint32_t j = 0; j < rank; ++j) {
      const Napi::Value d = sa.Get(j);
      const double x = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1.0;
      if (!(x >= 0 && x <= 9007199254740991.0) || x != static_cast<double>(static_cast<int64_t>(x)))
        throw_type_error(env, where + ".shape must hold non-negative integers");
      shape.push_back(static_cast<int64_t>(x));
    }
    const Napi::Value data = e.Get("data");
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw_type_error(env, where + ".data must be a Uint8Array");
    // No JS runs from here to the copy. The byte count of the shape, overflow-safe (every
    // dimension, zeros included, as torch computes it), is checked against the buffer before
    // anything is allocated.
    const auto bytes = data.As<Napi::Uint8Array>();
    int64_t want = static_cast<int64_t>(c10::elementSize(found->type));
    for (const int64_t d : shape)
      if (d != 0 && (want = mul_or_neg(want, d)) < 0)
        throw_type_error(env, where + ".shape is too large: its byte count overflows 64 bits");
    for (const int64_t d : shape)
      if (d == 0) want = 0;
    if (static_cast<int64_t>(bytes.ByteLength()) != want)
      throw_type_error(env, where + ".data has " + std::to_string(bytes.ByteLength()) + " bytes, its dtype and shape need " +
                                std::to_string(want));
    torch::Tensor t;
    try {
      t = torch::empty(shape, torch::dtype(found->type));
    } catch (...) {
      const NativeFailure f = current_failure("loadStateDict");
      throw_error(env, f.code == "ERR_OUT_OF_MEMORY" ? f.code : "ERR_INVALID_ARG",
                  where + ": cannot allocate its " + std::to_string(want) + " bytes (" + f.message + ")");
    }
    if (want > 0) std::memcpy(t.data_ptr(), bytes.Data(), static_cast<size_t>(want));
    out[name] = t;
  }
  return out;
}

}  // namespace tats::addon
