// drawMasks(): the fixed masking strategies on their own, for tests and visualisation.
#include "core/masking.h"

#include <cstring>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/exports.h"
#include "addon/limits.h"

namespace tats::addon {

namespace {

Napi::Int32Array to_int32_array(Napi::Env env, const torch::Tensor& t) {
  const auto c = t.to(torch::kCPU, torch::kInt).contiguous();
  auto out = Napi::Int32Array::New(env, static_cast<size_t>(c.numel()));
  if (c.numel() > 0) std::memcpy(out.Data(), c.data_ptr<int32_t>(), sizeof(int32_t) * c.numel());
  return out;
}

// drawMasks({strategy: 'random'|'tube'|'frame', ratio, frames, size, tubelet, patch, batch, seed}) ->
//   {visible: Int32Array [B*Nv], masked: Int32Array [B*Nm], visibleCount: Nv, maskedCount: Nm, tokens: N}
Napi::Value DrawMasks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object o = arg_object(info, 0, "options");
  const std::string strategy = get_string(o, "strategy", "options");
  const double ratio = get_number(o, "ratio", "options");
  const int64_t frames = get_int(o, "frames", "options"), size = get_int(o, "size", "options");
  const int64_t tubelet = get_int(o, "tubelet", "options"), patch = get_int(o, "patch", "options");
  const int64_t batch = get_int(o, "batch", "options"), seed = get_int(o, "seed", "options");
  if (strategy != "random" && strategy != "tube" && strategy != "frame")
    throw_error(env, "ERR_INVALID_ARG", "options.strategy must be 'random', 'tube' or 'frame', received '" + strategy + "'");
  if (tubelet <= 0 || patch <= 0 || frames <= 0 || size <= 0 || frames % tubelet != 0 || size % patch != 0)
    throw_error(env, "ERR_INVALID_ARG", "options: frames and size must be positive multiples of tubelet and patch");
  if (batch <= 0 || seed < 0) throw_error(env, "ERR_INVALID_ARG", "options: batch must be positive and seed non-negative");
  // Bounds before any product: the grid and the draw's batch x tokens uniforms (addon/limits.h).
  check_grid(env, frames, size, tubelet, patch, batch, "options");
  return guarded(env, "drawMasks", [&]() -> Napi::Value {
    const core::TokenGrid grid{frames / tubelet, (size / patch) * (size / patch)};
    torch::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
    const core::MaskDraw draw = strategy == "random" ? core::draw_random(batch, ratio, grid, gen)
                                : strategy == "tube" ? core::draw_tube(batch, ratio, grid, gen)
                                                     : core::draw_frame(batch, ratio, grid, gen);
    Napi::Object out = Napi::Object::New(env);
    out.Set("visible", to_int32_array(env, draw.visible));
    out.Set("masked", to_int32_array(env, draw.masked));
    out.Set("visibleCount", Napi::Number::New(env, static_cast<double>(draw.visible.size(1))));
    out.Set("maskedCount", Napi::Number::New(env, static_cast<double>(draw.masked.size(1))));
    out.Set("tokens", Napi::Number::New(env, static_cast<double>(grid.tokens())));
    return out;
  });
}

}  // namespace

void register_masking(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "drawMasks", DrawMasks);
}

}  // namespace tats::addon
