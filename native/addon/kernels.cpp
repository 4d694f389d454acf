// Kernel entry points: preprocessing ops usable on their own (their checks against the references
// are test entry points, addon/testing/kernel_checks.cpp).
#include <cstring>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/exports.h"
#include "addon/limits.h"
#include "kernels/gumbel_topk_op.h"
#include "kernels/patchify_op.h"

namespace tats::addon {

namespace {

// patchify(clips: Uint8Array, shape: {batch, frames, height, width, tubelet, patch}) ->
//   {patches: Float32Array [B,N,3*tt*p*p], targets: Float32Array [B,N,tt*p*p*3], tokens: N}
Napi::Value Patchify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object shape = arg_object(info, 1, "shape");
  const int64_t B = get_int(shape, "batch", "shape"), T = get_int(shape, "frames", "shape");
  const int64_t H = get_int(shape, "height", "shape"), W = get_int(shape, "width", "shape");
  const int64_t tt = get_int_or(shape, "tubelet", 2, "shape"), p = get_int_or(shape, "patch", 16, "shape");
  if (info.Length() < 1) throw_type_error(env, "clips must be a Uint8Array or Buffer, received undefined");
  const torch::Tensor clips = uint8_view(env, info[0], {B, T, H, W, 3}, "clips");
  return guarded(env, "patchify", [&]() -> Napi::Value {
    const auto out = ops::patchify(clips, tt, p);
    Napi::Object result = Napi::Object::New(env);
    result.Set("patches", to_float32_array(env, out.patches));
    result.Set("targets", to_float32_array(env, out.targets));
    result.Set("tokens", Napi::Number::New(env, static_cast<double>(out.patches.size(1))));
    return result;
  });
}

// A Float32Array of `numel` elements seen as a float tensor of `shape` (no copy).
torch::Tensor float32_view(Napi::Env env, const Napi::Value& value, const std::vector<int64_t>& shape,
                           const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type_error(env, std::string(name) + " must be a Float32Array");
  auto arr = value.As<Napi::Float32Array>();
  int64_t numel = 1;
  for (const int64_t d : shape)
    if ((numel = mul_or_neg(numel, d)) < 0) throw_type_error(env, std::string(name) + " shape is too large");
  if (static_cast<int64_t>(arr.ElementLength()) != numel)
    throw_type_error(env, std::string(name) + " must have " + std::to_string(numel) + " elements, got " +
                              std::to_string(arr.ElementLength()));
  return torch::from_blob(static_cast<void*>(arr.Data()), shape, torch::kFloat);
}

Napi::Int32Array to_int32_array(Napi::Env env, const torch::Tensor& t) {
  const auto src = t.to(torch::kCPU, torch::kInt).contiguous();
  auto out = Napi::Int32Array::New(env, static_cast<size_t>(src.numel()));
  if (src.numel() > 0) std::memcpy(out.Data(), src.data_ptr<int32_t>(), sizeof(int32_t) * src.numel());
  return out;
}

// gumbelTopk(logits: Float32Array [B*N], {batch, tokens, k, tau, seed, offset, rowBase?}) ->
//   {masked: Int32Array [B*k], visible: Int32Array [B*(N-k)]}, each row ascending (CPU reference).
Napi::Value GumbelTopk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object opts = arg_object(info, 1, "options");
  const int64_t B = get_int(opts, "batch", "options"), N = get_int(opts, "tokens", "options");
  const int64_t k = get_int(opts, "k", "options");
  const double tau = get_number(opts, "tau", "options");
  const int64_t seed = get_int(opts, "seed", "options"), offset = get_int(opts, "offset", "options");
  const int64_t row_base = get_int_or(opts, "rowBase", 0, "options");
  if (B < 1 || N < 1) throw_type_error(env, "options.batch and options.tokens must be positive");
  if (seed < 0 || offset < 0 || row_base < 0)
    throw_type_error(env, "options.seed, options.offset and options.rowBase must be non-negative");
  const torch::Tensor logits = float32_view(env, info[0], {B, N}, "logits");
  return guarded(env, "gumbelTopk", [&]() -> Napi::Value {
    const auto draw = ops::gumbel_topk(logits, k, tau, static_cast<uint64_t>(seed), static_cast<uint64_t>(offset),
                                       static_cast<uint64_t>(row_base));
    Napi::Object result = Napi::Object::New(env);
    result.Set("masked", to_int32_array(env, draw.masked));
    result.Set("visible", to_int32_array(env, draw.visible));
    return result;
  });
}

}  // namespace

void register_kernels(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "patchify", Patchify);
  export_function(env, exports, "gumbelTopk", GumbelTopk);
}

}  // namespace tats::addon
